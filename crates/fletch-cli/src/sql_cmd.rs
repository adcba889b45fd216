//! `fletch sql`: SQL files, inline SQL or an interactive prompt, embedded or on a cluster.

use std::io::{BufRead, IsTerminal, Read, Write};

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use fletch_engine::params::Params;
use fletch_engine::progress::Progress;
use fletch_engine::script::Script;
use fletch_engine::remote::{self, Cluster};
use fletch_engine::session::{self, Mode};
use fletch_engine::{Error, Location, Result, catalog};

use crate::args::{Format, SqlArgs};

pub async fn run(args: SqlArgs, quiet: bool) -> Result<()> {
    let mut params = Params::default();
    for p in &args.param {
        params.set_assignment(p)?;
    }
    let flag = |name: &str| match name {
        "scheduler" => args.scheduler.clone(),
        "auth-token-file" => args.auth_token_file.clone(),
        "executor-wait" => args.executor_wait.map(|s| s.to_string()),
        "stall-timeout" => args.stall_timeout.map(|s| s.to_string()),
        _ => None,
    };
    let mode = Cluster::from_flags(&flag)?.map_or(Mode::Embedded, Mode::Cluster);
    let data_root = args.data_root.as_deref().map(|r| Location::parse("--data-root", r)).transpose()?;
    crate::confine(&data_root.iter().collect::<Vec<_>>(), &args.allowed_roots)?;
    let ctx = session::connect(&mode).await?;
    if let Some(root) = &data_root {
        let unreadable = if args.skip_unreadable_files { catalog::Unreadable::Skip } else { catalog::Unreadable::Fail };
        for t in catalog::register_all_inputs(&ctx, root, unreadable).await? {
            if !quiet {
                eprintln!("table {} ({} files under {})", t.name, t.files, t.location);
            }
        }
    }
    let shell = Shell { ctx, params, format: args.format, progress: Progress::new(quiet) };
    if args.file.is_empty() && args.command.is_empty() {
        return shell.interactive().await;
    }
    for path in &args.file {
        let sql = std::fs::read_to_string(path)
            .map_err(|e| Error::input(format!("-f: cannot read {}: {e}", path.display())))?;
        shell.run_script(&path.display().to_string(), &sql).await?;
    }
    for (i, sql) in args.command.iter().enumerate() {
        shell.run_script(&format!("-c #{}", i + 1), sql).await?;
    }
    Ok(())
}

struct Shell {
    ctx: SessionContext,
    params: Params,
    format: Format,
    progress: Progress,
}

impl Shell {
    async fn run_script(&self, source: &str, sql: &str) -> Result<()> {
        let script = Script::parse(source, sql)?;
        for i in 0..script.len() {
            let step = self.progress.step(&format!("{source} statement {}", i + 1));
            let batches = remote::collect(script.statement(&self.ctx, i, &self.params).await?).await?;
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            print_batches(&batches, self.format)?;
            step.done(Some(rows as u64));
        }
        Ok(())
    }

    /// Reads statements ending in `;`; errors are shown and the prompt continues.
    async fn interactive(&self) -> Result<()> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            let mut sql = String::new();
            stdin.lock().read_to_string(&mut sql).map_err(|e| Error::io(format!("stdin: {e}")))?;
            return self.run_script("stdin", &sql).await;
        }
        let mut buffer = String::new();
        prompt(&buffer);
        for line in stdin.lock().lines() {
            let line = line.map_err(|e| Error::io(format!("stdin: {e}")))?;
            if buffer.is_empty() && matches!(line.trim(), "\\q" | "quit" | "exit") {
                break;
            }
            buffer.push_str(&line);
            buffer.push('\n');
            if line.trim_end().ends_with(';') {
                if let Err(e) = self.run_script("input", &buffer).await {
                    eprintln!("error: {e}");
                }
                buffer.clear();
            }
            prompt(&buffer);
        }
        Ok(())
    }
}

fn prompt(buffer: &str) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", if buffer.is_empty() { "fletch> " } else { "   ...> " });
    let _ = out.flush();
}

/// CSV has no lists or structs: write them as the table format shows them.
fn nested_as_text(batch: &RecordBatch) -> Result<RecordBatch> {
    let options = FormatOptions::default();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type().is_nested() {
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            let text: StringArray = (0..column.len())
                .map(|i| column.is_valid(i).then(|| formatter.value(i).to_string()))
                .collect();
            fields.push(Field::new(field.name(), DataType::Utf8, true));
            columns.push(Arc::new(text));
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// Writes `batches` to stdout in `format`; rendered whole first, so a closed
/// pipe is one typed error ([`Error::Stdout`]).
fn print_batches(batches: &[RecordBatch], format: Format) -> Result<()> {
    let mut text = Vec::new();
    match format {
        Format::Table => {
            if batches.iter().any(|b| b.num_columns() > 0) {
                text = format!("{}\n", pretty_format_batches(batches)?).into_bytes();
            }
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::Writer::new(&mut text);
            for b in batches {
                w.write(&nested_as_text(b)?)?;
            }
        }
        Format::Json => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(&mut text);
            w.write_batches(&batches.iter().collect::<Vec<_>>())?;
            w.finish()?;
            text.push(b'\n');
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&text).and_then(|()| out.flush()).map_err(Error::Stdout)
}
