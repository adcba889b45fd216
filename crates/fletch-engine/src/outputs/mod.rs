//! One output transaction per job run. Every table, file and JSON document a
//! run writes is staged under `<root>/.fletch-staging/<job>/<run-id>/` and
//! committed together, or discarded together; scratch tables for later steps
//! live there too and are never committed.
//!
//! - A run holds an exclusive lease on `(root, job)` ([`lease`]), so two runs
//!   of a job never stage or commit into one root at once.
//! - The commit writes a journal of every move first ([`journal`]); a crash
//!   during the commit is finished by the next run of the job (or by
//!   `fletch repair`), which also removes what killed runs staged.
//! - On local disks each table is two renames and each file one; on object
//!   stores each object is a copy and a delete. docs/operations.md says what
//!   a concurrent reader may see.

mod journal;
mod lease;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::datasource::file_format::format_as_file_type;
use datafusion::common::config::JsonOptions;
use datafusion::common::parsers::CompressionTypeVariant;
use datafusion::datasource::file_format::json::JsonFormatFactory;
use datafusion::datasource::file_format::parquet::ParquetFormatFactory;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::location::{Location, key_of};
use journal::{Journal, Kind, Move};
pub use lease::{Holder, Lease, host_name};

/// Hidden folder under an output root: leases, staged outputs, journals.
pub const STAGING_DIR: &str = ".fletch-staging";

/// One committed output.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    pub url: String,
    pub rows: Option<u64>,
    pub files: usize,
    pub bytes: u64,
}

/// A table staged by [`Outputs::stage_table`]: readable at `location` by later steps.
#[derive(Clone, Debug)]
pub struct StagedTable {
    pub location: Location,
    pub rows: u64,
}

struct Staged {
    kind: Kind,
    path: String,
    rows: Option<u64>,
}

/// The outputs of one run of one job; see the module docs.
pub struct Outputs {
    root: Location,
    job: String,
    run_id: String,
    run: Location,
    lease: Arc<Mutex<Option<Lease>>>,
    lost: Arc<std::sync::Mutex<Option<String>>>,
    renewer: Option<tokio::task::JoinHandle<()>>,
    staged: Vec<Staged>,
    scratch: Vec<String>,
    /// A local root this run created: removed again if the run commits nothing.
    created_root: bool,
    done: bool,
    /// A dry run ([`Outputs::dry`]) records what would be written, and writes nothing.
    dry: bool,
}

impl Outputs {
    /// Takes the lease of `job` on `root`, finishes or removes what earlier
    /// runs of the job left behind, and opens a new run.
    pub async fn begin(root: &Location, job: &str) -> Result<Self> {
        check_path("job", job)?;
        if job.contains('/') {
            return Err(Error::usage(format!("job name `{job}` may not contain `/`")));
        }
        let run_id = new_run_id();
        let created_root = root.local_path().is_some_and(|dir| !dir.exists());
        let lease = Lease::acquire(root, &format!("{STAGING_DIR}/{job}.lease"), Holder::new(&run_id, job)).await?;
        recover(root, job).await?;
        let run = root.join(&format!("{STAGING_DIR}/{job}/{run_id}"));
        let lease = Arc::new(Mutex::new(Some(lease)));
        let lost = Arc::new(std::sync::Mutex::new(None));
        let renewer = tokio::spawn(renew_until_stopped(lease.clone(), lost.clone()));
        Ok(Self { root: root.clone(), job: job.to_string(), run_id, run, lease, lost, renewer: Some(renewer), staged: Vec::new(), scratch: Vec::new(), created_root, done: false, dry: false })
    }

    /// The outputs of a dry run: no lease, no staging, nothing written;
    /// [`Outputs::commit`] lists what a run would have written.
    pub fn dry(root: &Location, job: &str) -> Self {
        let run_id = "dry-run".to_string();
        let run = root.join(&format!("{STAGING_DIR}/{job}/{run_id}"));
        let (lease, lost) = (Arc::new(Mutex::new(None)), Arc::new(std::sync::Mutex::new(None)));
        Self { root: root.clone(), job: job.to_string(), run_id, run, lease, lost, renewer: None, staged: Vec::new(), scratch: Vec::new(), created_root: false, done: true, dry: true }
    }

    /// Records the table `<root>/<table>/` as an output of a dry run.
    pub fn plan_table(&mut self, table: &str) -> Result<()> {
        debug_assert!(self.dry, "plan_table is for dry runs");
        self.add(Kind::Table, table)
    }

    pub fn root(&self) -> &Location {
        &self.root
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Runs `df` and stages its result as the Parquet table `<root>/<table>/`,
    /// Hive-partitioned by `partition_by`.
    /// A failed write stages nothing, so the same table can be staged again.
    pub async fn stage_table(&mut self, table: &str, df: DataFrame, partition_by: &[String]) -> Result<StagedTable> {
        self.stage_table_as(table, df, partition_by, TableFormat::Parquet).await
    }

    /// [`Outputs::stage_table`] in `format`.
    pub async fn stage_table_as(&mut self, table: &str, df: DataFrame, partition_by: &[String], format: TableFormat) -> Result<StagedTable> {
        debug_assert!(!self.dry, "a dry run stages no table");
        let location = self.table_dir(table)?;
        match write_table(df, &location, partition_by, format).await {
            Ok(rows) => {
                self.add_rows(table, rows);
                Ok(StagedTable { location, rows })
            }
            Err(e) => {
                self.staged.retain(|s| s.path != table);
                remove_after_failure(&location).await;
                Err(writing(&location, e))
            }
        }
    }

    /// A staged table whose files the caller writes (TFRecords, generated
    /// Parquet); count its rows with [`Outputs::add_rows`].
    pub fn table_dir(&mut self, table: &str) -> Result<Location> {
        debug_assert!(!self.dry, "a dry run stages no table");
        self.add(Kind::Table, table)?;
        Ok(self.run.join(&format!("{}/{table}", Kind::Table.folder())))
    }

    pub fn add_rows(&mut self, table: &str, rows: u64) {
        if let Some(s) = self.staged.iter_mut().find(|s| s.kind == Kind::Table && s.path == table) {
            *s.rows.get_or_insert(0) += rows;
        }
    }

    /// Stages the file `<root>/<path>` with `body`. Files are committed in the
    /// order they are staged.
    pub async fn stage_file(&mut self, path: &str, body: Vec<u8>) -> Result<()> {
        self.add(Kind::File, path)?;
        if self.dry {
            return Ok(());
        }
        let url = self.run.file_url(&format!("{}/{path}", Kind::File.folder()));
        self.run.store()?.put(&key_of(&url), PutPayload::from(body)).await.map_err(|e| Error::io(format!("cannot write {url}: {e}")))?;
        Ok(())
    }

    /// Runs `df` into a table that later steps read as `name` (registered in
    /// `ctx`), Hive-partitioned by `partition_by`, that is never committed.
    pub async fn scratch_table(&mut self, ctx: &SessionContext, name: &str, df: DataFrame, partition_by: &[String]) -> Result<StagedTable> {
        let location = self.scratch_dir(name)?;
        let rows = match write_table(df, &location, partition_by, TableFormat::Parquet).await {
            Ok(rows) => rows,
            Err(e) => {
                remove_after_failure(&location).await;
                return Err(writing(&location, e));
            }
        };
        self.register_scratch(ctx, name, location.clone()).await?;
        Ok(StagedTable { location, rows })
    }

    /// Writes record batches the driver made (a few MB: file contents read
    /// by the driver) as the scratch table `name`, one Parquet file per
    /// batch, so that executors scan the files in parallel.
    pub async fn scratch_batches(&mut self, ctx: &SessionContext, name: &str, batches: &[RecordBatch]) -> Result<u64> {
        let location = self.scratch_dir(name)?;
        let store = location.store()?;
        for (i, batch) in batches.iter().enumerate() {
            let url = location.file_url(&format!("part-{i:05}.parquet"));
            let body = parquet_bytes(batch.schema(), std::slice::from_ref(batch), None).map_err(|e| Error::io(format!("cannot encode {url}: {e}")))?;
            if let Err(e) = store.put(&key_of(&url), PutPayload::from(body)).await {
                remove_after_failure(&location).await;
                return Err(Error::io(format!("cannot write {url}: {e}")));
            }
        }
        self.register_scratch(ctx, name, location).await?;
        Ok(batches.iter().map(|b| b.num_rows() as u64).sum())
    }

    fn scratch_dir(&self, name: &str) -> Result<Location> {
        check_path("scratch table", name)?;
        if self.scratch.iter().any(|s| s == name) {
            return Err(Error::usage(format!("scratch table `{name}` written twice in one run")));
        }
        Ok(self.run.join(&format!("scratch/{name}")))
    }

    async fn register_scratch(&mut self, ctx: &SessionContext, name: &str, location: Location) -> Result<()> {
        self.scratch.push(name.to_string());
        crate::catalog::register_at(ctx, location, name, name, crate::catalog::Unreadable::Fail).await?;
        Ok(())
    }

    fn add(&mut self, kind: Kind, path: &str) -> Result<()> {
        check_path("output", path)?;
        if self.staged.iter().any(|s| s.path == path) {
            return Err(Error::usage(format!("output `{path}` is written twice in one run")));
        }
        self.staged.push(Staged { kind, path: path.to_string(), rows: None });
        Ok(())
    }

    /// Puts every staged output in place, all or nothing, and ends the run.
    /// A dry run lists what it would have written (no rows, files or bytes).
    pub async fn commit(mut self) -> Result<Vec<Written>> {
        if self.dry {
            return Ok(self
                .staged
                .iter()
                .map(|s| Written {
                    url: match s.kind {
                        Kind::Table => self.root.join(&s.path).to_string(),
                        Kind::File => self.root.file_url(&s.path).to_string(),
                    },
                    rows: None,
                    files: 0,
                    bytes: 0,
                })
                .collect());
        }
        self.stop_renewing();
        if let Some(lost) = self.lost.lock().expect("lost flag").clone() {
            return Err(Error::Busy(lost));
        }
        let lease = self.lease.lock().await.take().expect("the lease lives until the run ends");
        lease.check().await?;
        let mut moves = Vec::new();
        for s in &self.staged {
            let staged = self.run.join(&format!("{}/{}", s.kind.folder(), s.path));
            let files = match (s.kind, staged.local_path()) {
                (Kind::Table, None) => Some(list_relative(&staged).await?),
                _ => None,
            };
            moves.push(Move { kind: s.kind, path: s.path.clone(), files });
        }
        let journal = Journal { run_id: self.run_id.clone(), moves };
        crate::faults::at("commit.before_journal").await;
        journal.write(&self.run).await?;
        if let Err(e) = journal.apply(&self.run, &self.root).await {
            self.done = true;
            let _ = lease.release().await;
            return Err(Error::io(format!(
                "{e}; the commit stopped half way: the next run of {} or `fletch repair --output-root {}` finishes it",
                self.job, self.root
            )));
        }
        let mut written = Vec::new();
        for s in &self.staged {
            written.push(match s.kind {
                Kind::Table => {
                    let target = self.root.join(&s.path);
                    let (files, bytes) = usage(&target).await?;
                    Written { url: target.to_string(), rows: s.rows, files, bytes }
                }
                Kind::File => {
                    let url = self.root.file_url(&s.path);
                    let size = self.root.store()?.head(&key_of(&url)).await?.size;
                    Written { url: url.to_string(), rows: None, files: 1, bytes: size }
                }
            });
        }
        self.done = true;
        remove_tree(&self.run).await;
        lease.release().await?;
        tidy(&self.root, &self.job);
        Ok(written)
    }

    /// Removes everything staged and ends the run; the previous outputs stay.
    pub async fn discard(mut self) {
        if self.dry {
            return;
        }
        self.stop_renewing();
        self.done = true;
        remove_after_failure(&self.run).await;
        if let Some(lease) = self.lease.lock().await.take()
            && let Err(e) = lease.release().await
        {
            log::warn!("{e}");
        }
        tidy(&self.root, &self.job);
        if self.created_root
            && let Some(dir) = self.root.local_path()
        {
            let _ = std::fs::remove_dir(dir);
        }
    }

    fn stop_renewing(&mut self) {
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
    }
}

impl Drop for Outputs {
    /// A run dropped without commit or discard (a signal, a panic) removes
    /// what it staged: at once on local disks, in the background on object
    /// stores. Whatever remains, the next run of the job removes.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.stop_renewing();
        if let Some(dir) = self.run.local_path() {
            let _ = std::fs::remove_dir_all(dir);
            if let Some(lease) = self.lease.try_lock().ok().and_then(|mut l| l.take()) {
                lease.release_now();
            }
            tidy(&self.root, &self.job);
            return;
        }
        let (run, lease, root, job) = (self.run.clone(), self.lease.clone(), self.root.clone(), self.job.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                remove_tree(&run).await;
                if let Some(lease) = lease.lock().await.take() {
                    let _ = lease.release().await;
                }
                tidy(&root, &job);
            });
        }
    }
}

async fn renew_until_stopped(lease: Arc<Mutex<Option<Lease>>>, lost: Arc<std::sync::Mutex<Option<String>>>) {
    loop {
        tokio::time::sleep(lease::RENEW_EVERY).await;
        let mut guard = lease.lock().await;
        let Some(lease) = guard.as_mut() else { return };
        if let Err(e) = lease.renew().await {
            log::error!("{e}");
            *lost.lock().expect("lost flag") = Some(e.to_string());
            return;
        }
    }
}

/// Finishes interrupted commits and removes the staging of killed runs of
/// `job` under `root`. The caller holds the job's lease.
async fn recover(root: &Location, job: &str) -> Result<()> {
    for run in run_folders(&root.join(&format!("{STAGING_DIR}/{job}"))).await? {
        match Journal::read(&run).await? {
            Some(journal) => {
                log::warn!("finishing the interrupted commit of {job} run {} ({} outputs)", journal.run_id, journal.moves.len());
                journal.apply(&run, root).await?;
            }
            None => log::info!("removing what a killed run of {job} staged at {run}"),
        }
        remove_tree(&run).await;
    }
    Ok(())
}

/// `fletch repair`: for every job that staged under `root` and holds no live
/// lease, finishes its interrupted commits and removes killed runs' staging.
/// Returns one line per job.
pub async fn repair(root: &Location) -> Result<Vec<String>> {
    let listing = root.store()?.list_with_delimiter(Some(&root.join(STAGING_DIR).prefix())).await?;
    let mut jobs: Vec<String> = listing.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_string)).collect();
    jobs.extend(listing.objects.iter().filter_map(|o| o.location.filename()?.strip_suffix(".lease").map(str::to_string)));
    jobs.sort();
    jobs.dedup();
    let mut report = Vec::new();
    for job in jobs {
        match Outputs::begin(root, &job).await {
            Ok(outputs) => {
                outputs.discard().await;
                report.push(format!("{job}: repaired"));
            }
            Err(Error::Busy(holder)) => report.push(format!("{job}: skipped, {holder}")),
            Err(e) => return Err(e),
        }
    }
    tidy(root, "");
    Ok(report)
}

/// The run folders under a job's staging folder.
async fn run_folders(job_dir: &Location) -> Result<Vec<Location>> {
    if let Some(dir) = job_dir.local_path() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("cannot list {}: {e}", dir.display()))),
        };
        let mut runs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("cannot list {}: {e}", dir.display())))?;
            if entry.path().is_dir() {
                runs.push(job_dir.join(&entry.file_name().to_string_lossy()));
            }
        }
        return Ok(runs);
    }
    let listing = job_dir.store()?.list_with_delimiter(Some(&job_dir.prefix())).await?;
    Ok(listing.common_prefixes.iter().filter_map(|p| p.filename()).map(|name| job_dir.join(name)).collect())
}

/// Removes a folder and everything in it. Best effort: leftovers are hidden
/// and the next run of the job removes them, so failures are only logged.
async fn remove_tree(location: &Location) {
    if let Some(dir) = location.local_path() {
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            log::warn!("could not remove {}: {e}", dir.display());
        }
        return;
    }
    let result = async {
        let store = location.store()?;
        let keys: Vec<_> = store.list(Some(&location.prefix())).map_ok(|m| m.location).try_collect().await?;
        for key in keys {
            store.delete(&key).await?;
        }
        Ok::<_, Error>(())
    };
    if let Err(e) = result.await {
        log::warn!("could not remove {location}: {e}");
    }
}

/// [`remove_tree`] after a failed write. Its writers may still be finishing
/// a file on a local disk (their blocking I/O outlives the aborted query),
/// creating its folders again: look again a little later.
async fn remove_after_failure(location: &Location) {
    remove_tree(location).await;
    if let Some(dir) = location.local_path() {
        for wait in [50, 200, 500] {
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            if dir.exists() {
                remove_tree(location).await;
            }
        }
    }
}

/// Local disks: no empty staging folders stay behind.
fn tidy(root: &Location, job: &str) {
    if let Some(staging) = root.join(STAGING_DIR).local_path() {
        let _ = std::fs::remove_dir(staging.join(job));
        let _ = std::fs::remove_dir(&staging);
    }
}

async fn list_relative(location: &Location) -> Result<Vec<String>> {
    Ok(location.list_files().await?.into_iter().map(|(rel, _)| rel).collect())
}

/// Files and bytes at a location (a folder, or a single file).
pub async fn usage(location: &Location) -> Result<(usize, u64)> {
    let store = location.store()?;
    let metas: Vec<_> = store.list(Some(&location.prefix())).try_collect().await?;
    Ok((metas.len(), metas.iter().map(|m| m.size).sum()))
}

/// A failed write's error, naming `location` when it is about the file
/// system (object_store's "No space left on device" names no file).
fn writing(location: &Location, e: Error) -> Error {
    let about_files = match &e {
        Error::Engine(de) => matches!(de.find_root(), DataFusionError::ObjectStore(_) | DataFusionError::IoError(_)) || e.to_string().contains("(os error "),
        _ => false,
    };
    if about_files { Error::io(format!("cannot write {location}: {e}")) } else { e }
}

/// The files of an output table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TableFormat {
    #[default]
    Parquet,
    /// Newline-delimited JSON objects, gzipped (`*.json.gz`): what Hive's
    /// JSON SerDe tables read.
    JsonLinesGz,
}

/// Writes `df` under `location`; an empty result still leaves one file
/// with every column, so the table stays readable with its schema.
async fn write_table(df: DataFrame, location: &Location, partition_by: &[String], format: TableFormat) -> Result<u64> {
    let df = crate::view_types::plain_strings(df)?;
    let schema = df.schema().as_arrow().clone();
    // DataFrame::write_parquet's (write_json's) plan, run through the cluster watch.
    let (state, plan) = df.into_parts();
    let on_cluster = state.config().get_extension::<crate::remote::Cluster>().is_some();
    let file_type = match format {
        TableFormat::Parquet => format_as_file_type(Arc::new(ParquetFormatFactory::new())),
        TableFormat::JsonLinesGz => {
            let options = JsonOptions { compression: CompressionTypeVariant::GZIP, ..Default::default() };
            format_as_file_type(Arc::new(JsonFormatFactory::new_with_options(options)))
        }
    };
    let copy = LogicalPlanBuilder::copy_to(plan, location.as_str().to_string(), file_type, Default::default(), partition_by.to_vec())?.build()?;
    let batches = crate::remote::collect(DataFrame::new(state, copy)).await?;
    let rows = batches
        .iter()
        .filter_map(|b| b.column_by_name("count"))
        .map(|c| c.as_primitive::<UInt64Type>().iter().flatten().sum::<u64>())
        .sum();
    if on_cluster {
        check_no_leftovers(location, rows, format).await?;
    }
    if rows == 0 && usage(location).await?.0 == 0 {
        let (name, body) = match format {
            TableFormat::Parquet => ("part-00000.parquet", parquet_bytes(Arc::new(schema), &[], None).map_err(|e| Error::io(format!("cannot encode an empty table: {e}")))?),
            TableFormat::JsonLinesGz => ("part-00000.json.gz", flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()).finish().map_err(|e| Error::io(format!("cannot encode an empty table: {e}")))?),
        };
        let url = location.file_url(name);
        location.store()?.put(&key_of(&url), PutPayload::from(body)).await.map_err(|e| Error::io(format!("cannot write {url}: {e}")))?;
    }
    Ok(rows)
}

/// One Parquet file of `batches` (none: an empty table of `schema`), in memory.
pub fn parquet_bytes(schema: SchemaRef, batches: &[RecordBatch], props: Option<WriterProperties>) -> Result<Vec<u8>, ParquetError> {
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, props)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.into_inner()
}

/// Ballista runs the tasks of a lost executor again, and an attempt that
/// got far enough leaves its files (named by a write id of its own) beside
/// the rerun's. Only the attempts that counted are in `rows`, so files
/// holding more mean leftovers: the write is interrupted, to run again.
async fn check_no_leftovers(location: &Location, rows: u64, format: TableFormat) -> Result<()> {
    let on_disk = match format {
        TableFormat::Parquet => crate::catalog::rows_in(location).await?,
        TableFormat::JsonLinesGz => json_lines_in(location).await?,
    };
    if on_disk == rows {
        return Ok(());
    }
    Err(Error::Interrupted(format!("{location}: its files hold {on_disk} rows but the job wrote {rows}: tasks of a lost executor left files behind")))
}

/// The lines of the gzipped JSON files under `location`.
async fn json_lines_in(location: &Location) -> Result<u64> {
    let store = location.store()?;
    let mut lines = 0;
    for (rel, meta) in location.list_files().await?.into_iter().filter(|(rel, _)| rel.ends_with(".json.gz")) {
        let bytes = store.get(&meta.location).await?.bytes().await?;
        let count = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            let mut reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(&bytes[..]));
            let mut n = 0;
            let mut line = Vec::new();
            while std::io::BufRead::read_until(&mut reader, b'\n', &mut line)? > 0 {
                n += 1;
                line.clear();
            }
            Ok(n)
        });
        lines += count.await.map_err(|e| Error::io(e.to_string()))?.map_err(|e| Error::io(format!("{location}{rel}: {e}")))?;
    }
    Ok(lines)
}

/// A name no other run in this or another process will pick.
fn new_run_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = chrono::Utc::now();
    format!("{}-{}-{}", now.format("%Y%m%dT%H%M%S%.6f"), std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Every name or prefix that becomes a path under an output root goes through
/// here: relative, no empty, `.` or `..` segments, nothing hidden.
pub fn check_path(what: &str, path: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::usage(format!("{what} `{path}`: {why}")));
    if path.is_empty() {
        return bad("is empty");
    }
    if path.starts_with('/') || path.contains('\\') || path.contains("://") {
        return bad("must be a relative path under the output root");
    }
    for segment in path.trim_end_matches('/').split('/') {
        match segment {
            "" => return bad("has an empty path segment"),
            "." | ".." => return bad("may not contain `.` or `..` segments"),
            s if s.starts_with('.') => return bad("may not name hidden files or folders (starting with `.`)"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
