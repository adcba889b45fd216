//! `fletch sql`: SQL files, inline SQL or an interactive prompt, embedded or on a cluster.

use std::io::{IsTerminal, Read, Write};

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
    let maxrows = match args.maxrows {
        Some(0) => None,
        Some(n) => Some(n),
        None => std::io::stdout().is_terminal().then_some(40),
    };
    let interactive = args.file.is_empty() && args.command.is_empty();
    if interactive && std::io::stdin().is_terminal() {
        let mut shell = Shell { ctx, params, format: args.format, maxrows, progress: Progress::new(true), footer: true };
        return crate::repl::run(&mut shell).await;
    }
    let shell = Shell { ctx, params, format: args.format, maxrows, progress: Progress::new(quiet), footer: false };
    if interactive {
        let mut sql = String::new();
        std::io::stdin().lock().read_to_string(&mut sql).map_err(|e| Error::io(format!("stdin: {e}")))?;
        return shell.run_script("stdin", &sql).await;
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

pub struct Shell {
    pub ctx: SessionContext,
    params: Params,
    format: Format,
    /// Rows printed per result; `None`: all.
    pub maxrows: Option<usize>,
    progress: Progress,
    /// After each result, its row count (and, with `timing`, its time), as psql does.
    footer: bool,
}

impl Shell {
    /// Runs each statement of `sql` (from `source`) and prints its result;
    /// with `timing`, also how long each took.
    pub async fn run_script(&self, source: &str, sql: &str) -> Result<()> {
        self.run_timed(source, sql, false).await
    }

    pub async fn run_timed(&self, source: &str, sql: &str, timing: bool) -> Result<()> {
        let script = Script::parse(source, sql)?;
        for i in 0..script.len() {
            let step = self.progress.step(&format!("{source} statement {}", i + 1));
            let batches = remote::collect(script.statement(&self.ctx, i, &self.params).await?).await?;
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            print_batches(&batches, self.format, self.maxrows)?;
            let took = step.done(Some(rows as u64));
            if self.footer {
                let shown = self.maxrows.filter(|m| *m < rows).map_or(String::new(), |m| format!(", {m} shown (\\maxrows N to change)"));
                let time = if timing { format!("; {:.3} s", took.as_secs_f64()) } else { String::new() };
                eprintln!("({rows} row{}{shown}{time})", if rows == 1 { "" } else { "s" });
            }
        }
        Ok(())
    }
}

/// The first `max` rows of `batches`.
fn first_rows(batches: &[RecordBatch], max: usize) -> Vec<RecordBatch> {
    let mut left = max;
    let mut kept = Vec::new();
    for b in batches {
        if left == 0 {
            break;
        }
        let n = b.num_rows().min(left);
        kept.push(b.slice(0, n));
        left -= n;
    }
    // Keep the schema (and so the header) of a result cut to nothing.
    if kept.is_empty() && let Some(b) = batches.first() {
        kept.push(b.slice(0, 0));
    }
    kept
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

/// Writes the first `maxrows` rows of `batches` to stdout in `format`;
/// rendered whole first, so a closed pipe is one typed error ([`Error::Stdout`]).
fn print_batches(batches: &[RecordBatch], format: Format, maxrows: Option<usize>) -> Result<()> {
    let limited;
    let batches = match maxrows {
        Some(max) => {
            limited = first_rows(batches, max);
            &limited[..]
        }
        None => batches,
    };
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
