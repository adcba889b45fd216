//! A job's SQL steps, declared once as data: the file (`sql/<job>/<step>.sql`,
//! named for the table it produces) and what its result becomes. Before any
//! step runs, [`RunContext::prepare`] finds every table the steps read with
//! DataFusion's `resolve_table_references` and registers each one that no
//! earlier step makes from the job's declared [`Input`]s, so a missing table
//! is named with the step that reads it and the folder searched.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::record_batch::RecordBatch;
use fletch_engine::catalog::{self, ColumnKind, InputTable, Unreadable};
use fletch_engine::outputs::TableFormat;
use fletch_engine::params::Params;
use fletch_engine::remote;
use fletch_engine::script::Script;
use fletch_engine::session::Mode;
use fletch_engine::{Error, Result};

use super::context::RunContext;

/// What a SQL step's result becomes (dbt's materialisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Becomes {
    /// A view later steps read by the step's name: planned, run by its readers.
    View,
    /// A table later steps read by the step's name, written under the run's
    /// staging folder (where every executor reads it) and never committed;
    /// Hive-partitioned by these columns.
    Scratch(&'static [&'static str]),
    /// An output table, staged and committed with the run's other outputs,
    /// that later steps read by the step's name; Hive-partitioned by these columns.
    Output(&'static [&'static str]),
    /// Handed back to the job as record batches: small results only.
    Collected,
    /// A small result that checks the job's inputs (rows in the window, a
    /// unique key): [`Becomes::Collected`] that runs in dry runs too.
    Check,
}

/// One SQL step of a job; declare them with [`sql_steps!`](crate::sql_steps).
#[derive(Clone, Debug)]
pub struct SqlStep {
    /// The table the step produces, and its file's stem.
    pub name: &'static str,
    /// `sql/<job>/<name>.sql`, for messages.
    pub file: &'static str,
    pub sql: &'static str,
    pub becomes: Becomes,
}

/// Declares a job's SQL steps, in the order the job runs them, as a struct
/// with one field per step (so a step is named once, and a typo does not
/// compile) and the static `STEPS`. A step's file is
/// `sql/<job>/<step>.sql`, or `sql/<folder>/<step>.sql` for a step shared by
/// several jobs (`valid_addons in "taar": View`):
///
/// ```ignore
/// sql_steps!("taar-locale" {
///     client_addons: View,
///     locale_counts: Collected,
/// });
/// rc.prepare(&STEPS.all(), &inputs).await?;
/// rc.run(&STEPS.client_addons, &params).await?;
/// ```
#[macro_export]
macro_rules! sql_steps {
    ($job:literal { $($step:ident $(in $folder:literal)? : $becomes:expr),+ $(,)? }) => {
        /// The job's SQL steps, in the order they run.
        struct Steps {
            $($step: $crate::framework::SqlStep,)+
        }

        impl Steps {
            /// Every step, in order.
            #[allow(dead_code)]
            fn all(&self) -> Vec<&$crate::framework::SqlStep> {
                vec![$(&self.$step),+]
            }
        }

        static STEPS: Steps = Steps {
            $($step: $crate::framework::SqlStep {
                name: stringify!($step),
                file: concat!("sql/", $crate::sql_folder!($job $(, $folder)?), "/", stringify!($step), ".sql"),
                sql: include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"), "/../../sql/", $crate::sql_folder!($job $(, $folder)?), "/", stringify!($step), ".sql"
                )),
                becomes: {
                    #[allow(unused_imports)]
                    use $crate::framework::Becomes::*;
                    $becomes
                },
            },)+
        };
    };
}

/// The folder of a step in [`sql_steps!`]: its own, else the job's.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_folder {
    ($job:literal) => {
        $job
    };
    ($job:literal, $folder:literal) => {
        $folder
    };
}

/// Where an input table lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputRoot {
    /// Under the data root.
    Data,
    /// Under the output root, written by another stage of the job (named in errors).
    Output { made_by: &'static str },
}

/// A table a job reads, as its SQL names it.
#[derive(Clone, Debug)]
pub struct Input {
    pub table: String,
    pub root: InputRoot,
    /// The folder under the root; the table's name unless given.
    pub folder: String,
    /// List-of-struct columns read only through these struct fields: the
    /// Parquet reader decodes nothing else, and SQL naming another field
    /// fails at planning.
    pub reads: Vec<(&'static str, &'static [&'static str])>,
    /// Columns that must be there, with what they must hold.
    pub columns: Vec<(&'static str, ColumnKind)>,
}

impl Input {
    /// `<data-root>/<table>/`.
    pub fn new(table: &str) -> Self {
        Self { table: table.to_string(), root: InputRoot::Data, folder: table.to_string(), reads: Vec::new(), columns: Vec::new() }
    }
    /// Read from `folder` rather than the table's name (a second, narrower view of the same files).
    pub fn at(self, folder: &str) -> Self {
        Self { folder: folder.to_string(), ..self }
    }
    /// Read from the output root, where `stage` writes it.
    pub fn made_by(self, stage: &'static str) -> Self {
        Self { root: InputRoot::Output { made_by: stage }, ..self }
    }
    pub fn reading(mut self, column: &'static str, fields: &'static [&'static str]) -> Self {
        self.reads.push((column, fields));
        self
    }
    pub fn columns(self, columns: &[(&'static str, ColumnKind)]) -> Self {
        Self { columns: columns.to_vec(), ..self }
    }
}

/// What running a step gave.
#[derive(Debug, Default)]
pub struct Ran {
    /// Rows written (scratch and output tables) or collected.
    pub rows: Option<u64>,
    /// Where a scratch or output table was written.
    pub location: Option<fletch_engine::Location>,
    /// The result of a [`Becomes::Collected`] step.
    pub batches: Vec<RecordBatch>,
}

impl RunContext {
    /// Registers every table `steps` read that no earlier step of `steps`
    /// makes: from `inputs` when declared there, else `<data-root>/<table>/`.
    /// Runs nothing; fails naming the first step whose input is missing.
    pub async fn prepare(&mut self, steps: &[&SqlStep], inputs: &[Input]) -> Result<()> {
        let scripts = steps.iter().map(|s| Script::parse(s.file, s.sql)).collect::<Result<Vec<_>>>()?;
        let named: Vec<(&str, &Script)> = steps.iter().map(|s| s.name).zip(&scripts).collect();
        self.prepare_scripts(&named, inputs).await
    }

    /// [`RunContext::prepare`] for scripts that are no declared step (`sql-file`'s),
    /// each with the name of the table it makes.
    pub async fn prepare_scripts(&mut self, scripts: &[(&str, &Script)], inputs: &[Input]) -> Result<()> {
        let state = self.ctx.state();
        let mut made = BTreeSet::new();
        let mut needed: Vec<(&str, String)> = Vec::new();
        for (makes, script) in scripts {
            for table in script.inputs(&state)? {
                let name = table.table().to_string();
                // A table the job registered itself (from an input it registered first) is there.
                if !made.contains(&name) && !needed.iter().any(|(_, n)| *n == name) && !self.ctx.table_exist(datafusion::common::TableReference::bare(name.as_str()))? {
                    needed.push((script.source.as_str(), name));
                }
            }
            made.insert(makes.to_string());
        }
        if !needed.is_empty() {
            catalog::check_data_root(&self.opts.data_root)?;
        }
        let mut inferred: BTreeMap<String, InputTable> = BTreeMap::new();
        for (source, name) in needed {
            let input = inputs.iter().find(|i| i.table == name).cloned().unwrap_or_else(|| Input::new(&name));
            self.register(&input, &mut inferred).await.map_err(|e| Error::input(format!("{source} reads `{name}`: {e}")))?;
        }
        self.inputs.extend(inferred.into_values());
        Ok(())
    }

    /// Registers `input` at once, for a job that derives a table from it
    /// in Rust (identifiers from a config, say) before [`RunContext::prepare`].
    pub async fn register_input(&mut self, input: &Input) -> Result<()> {
        let mut inferred = BTreeMap::new();
        self.register(input, &mut inferred).await.map_err(|e| Error::input(format!("reads `{}`: {e}", input.table)))?;
        self.inputs.extend(inferred.into_values());
        Ok(())
    }

    /// `e`, an error about text that is not UTF-8, with the input table,
    /// file and column that hold it (DataFusion names none of them).
    pub async fn locate_non_utf8(&self, e: Error) -> Error {
        for input in &self.inputs {
            match catalog::find_non_utf8(&input.location).await {
                Ok(Some(place)) => return Error::input(format!("input table `{}` at {} holds text that is not UTF-8 ({place}): {e}", input.name, input.location)),
                Ok(None) => {}
                Err(looking) => log::warn!("could not look for the text that is not UTF-8 in {}: {looking}", input.location),
            }
        }
        e
    }

    /// Registers one input, inferring the files' schema once per folder.
    async fn register(&self, input: &Input, inferred: &mut BTreeMap<String, InputTable>) -> Result<()> {
        let root = match input.root {
            InputRoot::Data => &self.opts.data_root,
            InputRoot::Output { .. } => &self.opts.output_root,
        };
        let location = root.join(&input.folder);
        let table = match inferred.get(location.as_str()) {
            Some(table) => table.clone(),
            None => {
                // Only the data root's tables are someone else's to repair.
                let unreadable = match input.root {
                    InputRoot::Data if self.opts.skip_unreadable => Unreadable::Skip,
                    _ => Unreadable::Fail,
                };
                let table = catalog::register_at(&self.ctx, location.clone(), &input.folder, &input.table, unreadable).await.map_err(|e| match input.root {
                    InputRoot::Output { made_by } => Error::input(format!("{e} (the {made_by} stage writes it: run it first or with this stage)")),
                    InputRoot::Data => e,
                })?;
                inferred.insert(location.to_string(), table.clone());
                table
            }
        };
        if !input.reads.is_empty() {
            catalog::narrow_struct_lists(&self.ctx, &table, &input.table, &input.reads).await?;
        } else if table.name != input.table {
            catalog::register_table_as(&self.ctx, &table, &input.table).await?;
        }
        catalog::check_columns(&self.ctx, &input.table, &input.folder, &input.columns).await
    }

    /// Where output step `step` is written: its name, unless the job chose a folder.
    pub fn set_output_folder(&mut self, step: &SqlStep, folder: &str) {
        self.output_folders.insert(step.name, folder.to_string());
    }

    /// Partitions an output step's table by `columns` the job chose at run
    /// time, rather than by those the step declares.
    pub fn set_output_partitions(&mut self, step: &SqlStep, columns: Vec<String>) {
        self.output_partitions.insert(step.name, columns);
    }

    /// Writes an output step's table in `format` rather than Parquet; later
    /// steps cannot read it then.
    pub fn set_output_format(&mut self, step: &SqlStep, format: TableFormat) {
        self.output_formats.insert(step.name, format);
    }

    /// Runs one step with `params` bound; its result becomes what the step declares.
    pub async fn run(&mut self, step: &SqlStep, params: &Params) -> Result<Ran> {
        self.run_step(step, params, true).await
    }

    /// [`RunContext::run`] without a progress line (steps run many times, such as k-means iterations).
    pub async fn run_quietly(&mut self, step: &SqlStep, params: &Params) -> Result<Ran> {
        self.run_step(step, params, false).await
    }

    /// Runs the step; a cluster job that was interrupted (stalled, or lost an executor) runs
    /// again, up to `--job-retries` times: its outputs are staged, so nothing
    /// of the failed attempt remains.
    async fn run_step(&mut self, step: &SqlStep, params: &Params, report: bool) -> Result<Ran> {
        rerun_interrupted!(self.job_retries(), step.file, self.run_once(step, params, report).await)
    }

    /// How often an interrupted cluster job runs again (`--job-retries`; none embedded).
    pub fn job_retries(&self) -> u32 {
        match &self.opts.mode {
            Mode::Cluster(cluster) => cluster.job_retries,
            Mode::Embedded => 0,
        }
    }

    async fn run_once(&mut self, step: &SqlStep, params: &Params, report: bool) -> Result<Ran> {
        if self.dry_run() && step.becomes != Becomes::Check {
            return self.plan_step(step, params).await;
        }
        let df = Script::parse(step.file, step.sql)?.run_to_last(&self.ctx, params).await?;
        if self.dry_run() {
            self.keep_plan(step.file, "check", &df).await?;
        }
        let label = match step.becomes {
            Becomes::View => {
                self.ctx.deregister_table(step.name)?;
                self.ctx.register_table(step.name, df.into_view())?;
                return Ok(Ran::default());
            }
            Becomes::Scratch(_) => format!("stage {}", step.name),
            Becomes::Output(_) => format!("write {}", self.output_folder(step)),
            Becomes::Collected | Becomes::Check => step.name.to_string(),
        };
        let progress = report.then(|| self.progress.clone());
        let started = progress.as_ref().map(|p| p.step(&label));
        let in_step = |e: Error| in_sql(step.file, e);
        let ran = match step.becomes {
            Becomes::View => unreachable!("returned above"),
            Becomes::Scratch(partition_by) => {
                let partition_by: Vec<String> = partition_by.iter().map(|c| c.to_string()).collect();
                let staged = self.outputs.scratch_table(&self.ctx, step.name, df, &partition_by).await.map_err(in_step)?;
                Ran { rows: Some(staged.rows), location: Some(staged.location), batches: Vec::new() }
            }
            Becomes::Output(partition_by) => {
                let folder = self.output_folder(step);
                let partition_by = match self.output_partitions.get(step.name) {
                    Some(columns) => columns.clone(),
                    None => partition_by.iter().map(|c| c.to_string()).collect(),
                };
                let format = self.output_formats.get(step.name).copied().unwrap_or_default();
                let staged = self.outputs.stage_table_as(&folder, df, &partition_by, format).await.map_err(in_step)?;
                if staged.rows == 0 {
                    log::warn!("{folder}: no rows");
                }
                if format == TableFormat::Parquet {
                    catalog::register_at(&self.ctx, staged.location.clone(), &folder, step.name, Unreadable::Fail).await?;
                }
                Ran { rows: Some(staged.rows), location: Some(staged.location), batches: Vec::new() }
            }
            Becomes::Collected | Becomes::Check => {
                let batches = remote::collect(df).await.map_err(in_step)?;
                Ran { rows: Some(batches.iter().map(|b| b.num_rows() as u64).sum()), location: None, batches }
            }
        };
        if let Some(started) = started {
            started.done(ran.rows);
        }
        Ok(ran)
    }

    pub(super) fn output_folder(&self, step: &SqlStep) -> String {
        self.output_folders.get(step.name).cloned().unwrap_or_else(|| step.name.to_string())
    }
}

/// `e`, which running the SQL of `source` gave, naming `source`.
pub fn in_sql(source: &str, e: Error) -> Error {
    match e {
        Error::Engine(error) => Error::Sql { source: source.to_string(), error },
        // "lost the scheduler ...", "cannot write ..." say which step it happened in.
        Error::Cluster(m) => Error::Cluster(format!("{source}: {m}")),
        Error::Io(m) => Error::Io(format!("{source}: {m}")),
        other => other,
    }
}

/// Evaluates `$attempt` (an expression awaiting a `Result`, an attempt at
/// `$what`), and again while it fails as a cluster job that was interrupted
/// ([`Error::Interrupted`]: stalled and cancelled, or it lost an executor),
/// at most `$retries` times. The attempt must be safe to repeat (its outputs
/// staged). An interruption past the last retry names `$what`.
///
/// A macro, not a function taking an async closure: the attempts borrow the
/// run's context mutably, and such closures' futures are not provably `Send`.
macro_rules! rerun_interrupted {
    ($retries:expr, $what:expr, $attempt:expr) => {{
        let (retries, what, mut retried): (u32, _, u32) = ($retries, $what, 0);
        loop {
            match $attempt {
                Err(fletch_engine::error::Error::Interrupted(why)) if retried < retries => {
                    retried += 1;
                    log::warn!("{what}: {why}; running it again (retry {retried} of {retries})");
                }
                Err(fletch_engine::error::Error::Interrupted(why)) => {
                    break Err(fletch_engine::error::Error::Interrupted(format!("{what}: {why} (attempts: {})", retries + 1)));
                }
                done => break done,
            }
        }
    }};
}
pub(crate) use rerun_interrupted;

#[cfg(test)]
mod tests {
    use super::*;

    crate::sql_steps!("taar-locale" {
        client_addons: View,
        locale_counts: Collected,
    });

    #[test]
    fn steps_are_declared_once_and_found_by_name() {
        assert_eq!(STEPS.client_addons.file, "sql/taar-locale/client_addons.sql");
        assert!(STEPS.client_addons.sql.contains("FROM clients_daily"));
        assert_eq!(STEPS.locale_counts.becomes, Becomes::Collected);
        let names: Vec<_> = STEPS.all().iter().map(|s| s.name).collect();
        assert_eq!(names, ["client_addons", "locale_counts"]);
    }
}
