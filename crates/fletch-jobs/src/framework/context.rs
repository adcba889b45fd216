//! What a running job works with: its session, the shared flags, progress
//! output and its output transaction.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::prelude::SessionContext;
use fletch_engine::catalog::InputTable;
use fletch_engine::outputs::{Outputs, TableFormat};
use fletch_engine::params::{Params, parse_date};
use fletch_engine::progress::Progress;
use fletch_engine::remote::Cluster;
use fletch_engine::session::Mode;
use fletch_engine::stores;
use fletch_engine::{Error, Location, Result};

use super::dry_run::StepPlan;
use object_store::ObjectStoreExt;

/// The flags every job shares, validated.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub data_root: Location,
    pub output_root: Location,
    /// More local folders SQL may use (`--allowed-roots`).
    pub allowed_roots: Vec<Location>,
    pub date: NaiveDate,
    pub seed: u64,
    pub mode: Mode,
    pub quiet: bool,
    /// Input files that are not readable Parquet are left out (`--skip-unreadable-files`), not fatal.
    pub skip_unreadable: bool,
    /// Plan the steps, run the input checks, write nothing (`--dry-run`).
    pub dry_run: bool,
}

impl RunOptions {
    /// The local folders SQL of this run may use: the data and output roots
    /// and `--allowed-roots`.
    pub fn local_roots(&self) -> Vec<std::path::PathBuf> {
        [&self.data_root, &self.output_root].into_iter().chain(&self.allowed_roots).filter_map(Location::local_path).collect()
    }

    /// The one place run options are made: `flag(name)` gives the value of
    /// each flag of `COMMON_PARAMS` (`data-root`, `output-root`, `date`,
    /// `seed`, `scheduler` and how to use it) when given.
    pub fn from_flags(flag: impl Fn(&str) -> Option<String>, quiet: bool) -> Result<Self> {
        let required = |name: &str| flag(name).ok_or_else(|| Error::usage(format!("missing --{name}")));
        let date = match flag("date") {
            None => chrono::Utc::now().date_naive(),
            Some(d) => parse_date(&d).ok_or_else(|| Error::usage(format!("--date: expected YYYYMMDD, got `{d}`")))?,
        };
        let seed = match flag("seed") {
            None => 42,
            Some(s) => s.parse().map_err(|_| Error::usage(format!("--seed: expected a non-negative integer, got `{s}`")))?,
        };
        let mode = match Cluster::from_flags(&flag)? {
            None => Mode::Embedded,
            Some(cluster) => Mode::Cluster(cluster),
        };
        Ok(Self {
            data_root: Location::parse("--data-root", &required("data-root")?)?,
            output_root: Location::parse("--output-root", &required("output-root")?)?,
            allowed_roots: Location::parse_list("--allowed-roots", &flag("allowed-roots").unwrap_or_default())?,
            date,
            seed,
            mode,
            quiet,
            skip_unreadable: flag("skip-unreadable-files")
                .map(|v| v.parse().map_err(|_| Error::usage(format!("--skip-unreadable-files: expected true or false, got `{v}`"))))
                .transpose()?
                .unwrap_or(false),
            dry_run: false,
        })
    }
}

/// What a running job works with.
pub struct RunContext {
    pub ctx: SessionContext,
    pub opts: RunOptions,
    pub progress: Progress,
    /// Everything the run writes, committed by the framework when the job succeeds.
    pub outputs: Outputs,
    pub(super) output_folders: BTreeMap<&'static str, String>,
    pub(super) output_partitions: BTreeMap<&'static str, Vec<String>>,
    pub(super) output_formats: BTreeMap<&'static str, TableFormat>,
    /// The input tables registered so far.
    pub(super) inputs: Vec<InputTable>,
    /// The plans of a dry run's steps.
    pub(super) plans: Vec<StepPlan>,
}

impl RunContext {
    pub(super) fn new(ctx: SessionContext, opts: RunOptions, outputs: Outputs) -> Self {
        let progress = Progress::new(opts.quiet);
        Self { ctx, opts, progress, outputs, output_folders: BTreeMap::new(), output_partitions: BTreeMap::new(), output_formats: BTreeMap::new(), inputs: Vec::new(), plans: Vec::new() }
    }

    /// `YYYYMMDD`, as dated output copies and `submission_date_s3` spell it.
    pub fn date_compact(&self) -> String {
        self.opts.date.format("%Y%m%d").to_string()
    }

    /// `$date` (a DATE) and `$seed` (BIGINT), which every SQL step may use.
    pub fn base_params(&self) -> Params {
        let mut p = Params::default();
        p.set_date("date", self.opts.date);
        p.set_int("seed", self.opts.seed as i64);
        p
    }

    /// `location`, or the file at `default` under the data root.
    pub fn input_file(&self, location: Option<String>, default: &str) -> String {
        location.unwrap_or_else(|| self.opts.data_root.file_url(default).to_string())
    }

    /// Reads and parses a JSON input given as a path (relative to the current
    /// directory) or URL; `what` names it in errors. Returns the absolute URL too.
    pub async fn read_json<T: serde::de::DeserializeOwned>(&self, what: &str, location: &str) -> Result<(String, T)> {
        let (url, bytes) = self.read_bytes(what, location).await?;
        let value = serde_json::from_slice(&bytes).map_err(|e| Error::input(format!("{what} {url}: {e}")))?;
        Ok((url, value))
    }

    /// Reads a UTF-8 text file given as a path (relative to the current
    /// directory) or URL; `what` names it in errors. Returns the absolute URL too.
    pub async fn read_text(&self, what: &str, location: &str) -> Result<(String, String)> {
        let (url, bytes) = self.read_bytes(what, location).await?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| Error::input(format!("{what} {url}: not UTF-8 text: {e}")))?;
        Ok((url, text))
    }

    /// Reads a file given as a path (relative to the current directory) or
    /// URL; `what` names it in errors. Returns the absolute URL too.
    pub async fn read_bytes(&self, what: &str, location: &str) -> Result<(String, bytes::Bytes)> {
        let url = ListingTableUrl::parse(location).map_err(|e| Error::usage(format!("{what}: {location}: {e}")))?;
        // The operator named this file, so it is read wherever it is.
        let store = stores::unconfined(url.get_url())?;
        match store.get(url.prefix()).await {
            Ok(got) => Ok((url.to_string(), got.bytes().await?)),
            Err(e) => Err(Error::input(format!("{what} {url}: cannot read: {e}"))),
        }
    }

    /// Stages `value` as the JSON file `<output-root>/<path>`.
    pub async fn stage_json(&mut self, path: &str, value: &serde_json::Value) -> Result<()> {
        let body = serde_json::to_vec(value).map_err(|e| Error::io(format!("cannot encode {path}: {e}")))?;
        self.outputs.stage_file(path, body).await
    }
}
