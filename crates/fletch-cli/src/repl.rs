//! `fletch sql` at a terminal: line editing and history
//! (`~/.fletch_history`), statements over several lines, backslash
//! commands, completion of tables, columns and functions, and Ctrl-C that
//! cancels the running statement instead of the shell.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use datafusion::prelude::SessionContext;
use fletch_engine::{Error, Result, remote};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::sql_cmd::Shell;

const HELP: &str = "\
End a statement with `;` (it may span lines). Ctrl-C cancels a running
statement or drops an unfinished one; Ctrl-D or \\q quits.
  \\d            list the tables
  \\d TABLE      the columns of TABLE
  \\timing       show how long each statement takes (toggle)
  \\maxrows N    rows printed per result (0: all)
  \\?            this help";

const KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "JOIN", "LEFT JOIN", "ON", "AS", "AND", "OR", "NOT", "DISTINCT",
    "UNION ALL", "WITH", "CASE", "WHEN", "THEN", "ELSE", "END", "EXPLAIN", "ANALYZE", "CREATE", "TABLE", "VIEW", "INSERT", "VALUES", "COPY",
];

pub async fn run(shell: &mut Shell) -> Result<()> {
    let failed = |e: ReadlineError| Error::io(format!("terminal: {e}"));
    let mut editor: Editor<Words, DefaultHistory> = Editor::new().map_err(failed)?;
    let words = Words::default();
    editor.set_helper(Some(words.clone()));
    let history = history_file();
    if let Some(file) = &history {
        // A first session has no history yet.
        let _ = editor.load_history(file);
    }
    eprintln!("fletch SQL: end statements with `;`; \\? for help, \\q to quit");
    let (mut buffer, mut timing) = (String::new(), false);
    loop {
        words.refresh(&shell.ctx).await;
        let prompt = if buffer.is_empty() { "fletch> " } else { "   ...> " };
        let line = match tokio::task::block_in_place(|| editor.readline(prompt)) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(failed(e)),
        };
        if buffer.is_empty() && line.trim_start().starts_with('\\') {
            let _ = editor.add_history_entry(line.trim());
            match backslash(shell, line.trim(), &mut timing).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => eprintln!("error: {e}"),
            }
            continue;
        }
        if buffer.is_empty() && line.trim().is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !line.trim_end().ends_with(';') {
            continue;
        }
        // One line per statement: recalled whole, edited on one line.
        let _ = editor.add_history_entry(buffer.split_whitespace().collect::<Vec<_>>().join(" "));
        tokio::select! {
            done = shell.run_timed("input", &buffer, timing) => if let Err(e) = done {
                eprintln!("error: {e}");
            },
            _ = tokio::signal::ctrl_c() => {
                remote::cancel_running_jobs().await;
                eprintln!("cancelled");
            }
        }
        buffer.clear();
    }
    if let Some(file) = &history
        && let Err(e) = editor.save_history(file)
    {
        eprintln!("warning: cannot save the history to {}: {e}", file.display());
    }
    Ok(())
}

fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".fletch_history"))
}

/// Runs a backslash command; `true` when it asks to quit.
async fn backslash(shell: &mut Shell, line: &str, timing: &mut bool) -> Result<bool> {
    let mut words = line.split_whitespace();
    match (words.next().unwrap_or_default(), words.next()) {
        ("\\q", None) => return Ok(true),
        ("\\?" | "\\h", None) => eprintln!("{HELP}"),
        ("\\timing", None) => {
            *timing = !*timing;
            eprintln!("timing is {}", if *timing { "on" } else { "off" });
        }
        ("\\maxrows", Some(n)) => match n.parse::<usize>() {
            Ok(0) => shell.maxrows = None,
            Ok(n) => shell.maxrows = Some(n),
            Err(_) => return Err(Error::usage(format!("\\maxrows: expected a number of rows, got `{n}`"))),
        },
        ("\\d", None) => {
            let tables = table_names(&shell.ctx);
            let sql = if tables.is_empty() {
                "SELECT 'no tables' AS \"table\"".to_string()
            } else {
                let rows: Vec<String> = tables.iter().map(|t| format!("('{}')", t.replace('\'', "''"))).collect();
                format!("SELECT column1 AS \"table\" FROM (VALUES {}) ORDER BY 1", rows.join(", "))
            };
            shell.run_script("\\d", &format!("{sql};")).await?;
        }
        ("\\d", Some(table)) => {
            let provider = shell.ctx.table_provider(table).await.map_err(|_| Error::input(format!("\\d: no table `{table}` (\\d lists them)")))?;
            let rows: Vec<String> = provider
                .schema()
                .fields()
                .iter()
                .map(|f| format!("('{}', '{}', {})", f.name().replace('\'', "''"), f.data_type().to_string().replace('\'', "''"), f.is_nullable()))
                .collect();
            let sql = format!("SELECT column1 AS \"column\", column2 AS \"type\", column3 AS nullable FROM (VALUES {});", rows.join(", "));
            shell.run_script("\\d", &sql).await?;
        }
        _ => return Err(Error::usage(format!("unknown command `{line}`; \\? lists the commands"))),
    }
    Ok(false)
}

fn table_names(ctx: &SessionContext) -> Vec<String> {
    let Some(schema) = ctx.catalog("datafusion").and_then(|c| c.schema("public")) else { return Vec::new() };
    let mut names = schema.table_names();
    names.sort();
    names
}

/// What completion offers: keywords, tables, their columns, functions.
#[derive(Clone, Default)]
struct Words(Arc<Mutex<Vec<String>>>);

impl Words {
    /// Tables and columns change as statements run: gathered before each prompt.
    async fn refresh(&self, ctx: &SessionContext) {
        let mut words: Vec<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
        let state = ctx.state();
        words.extend(state.scalar_functions().keys().chain(state.aggregate_functions().keys()).chain(state.window_functions().keys()).cloned());
        for table in table_names(ctx) {
            if let Ok(provider) = ctx.table_provider(table.as_str()).await {
                words.extend(provider.schema().fields().iter().map(|f| f.name().clone()));
            }
            words.push(table);
        }
        words.sort();
        words.dedup();
        *self.0.lock().expect("words") = words;
    }
}

impl Completer for Words {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos].rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let prefix = line[start..pos].to_lowercase();
        if prefix.is_empty() {
            return Ok((start, Vec::new()));
        }
        let words = self.0.lock().expect("words");
        let found = words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&prefix))
            .map(|w| Pair { display: w.clone(), replacement: w.clone() })
            .collect();
        Ok((start, found))
    }
}

impl Hinter for Words {
    type Hint = String;
}

impl Highlighter for Words {
    fn highlight<'l>(&self, line: &'l str, _: usize) -> Cow<'l, str> {
        Cow::Borrowed(line)
    }
}

impl Validator for Words {}

impl Helper for Words {}
