//! `fletch quickstart`: generates a small sample of every dataset under a
//! directory and runs every job on it embedded, so a new user sees fletch
//! work in one command.

use std::path::Path;
use std::sync::Arc;

use fletch_datagen::{Dataset, GenOptions};
use fletch_engine::output::Written;
use fletch_engine::progress::Progress;
use fletch_engine::{Error, Location, Result};
use fletch_udfs::json_list::JsonListTable;

use crate::framework::{JobArgs, RunContext, RunOptions};
use crate::sql_file;

const LOCALE_TOP_ADDONS: &str = include_str!("../../../sql/quickstart/locale_top_addons.sql");

/// The run date: the last day `clients-daily` generates by default.
pub const SAMPLE_DATE: &str = "20261121";

/// The datasets and the scales of the sample.
const SAMPLE: &[(Dataset, f64)] = &[
    (Dataset::ClientsDaily, 0.01),
    (Dataset::MainSummary, 0.01),
    (Dataset::Amo, 1.0),
    (Dataset::Lookalike, 0.001),
];

/// Outputs of one step of the quickstart.
pub struct JobRun {
    pub job: String,
    pub outputs: Vec<Written>,
}

/// Generates the sample under `dir/data` and writes every job's outputs under `dir/output`.
pub async fn run(dir: &Path, quiet: bool) -> Result<Vec<JobRun>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir.to_str().ok_or_else(|| Error::usage(format!("{} is not valid UTF-8", dir.display())))?;
    let root = Location::parse("quickstart directory", dir)?;
    let (data, out) = (root.join("data"), root.join("output"));
    let mut runs = Vec::new();
    let progress = Progress::new(quiet);
    for &(dataset, scale) in SAMPLE {
        let opts = GenOptions {
            output_root: data.clone(),
            scale,
            seed: 42,
            start_date: dataset.default_start(),
            days: dataset.default_days(),
            progress: progress.clone(),
        };
        let outputs = fletch_datagen::generate(dataset, &opts).await?;
        runs.push(JobRun { job: format!("gen {}", dataset.name()), outputs });
    }

    let opts = RunOptions::new(data.as_str(), out.as_str(), Some(SAMPLE_DATE), None, None, quiet)?;
    let rc = RunContext::connect(opts).await?;
    let curated = data.file_url(crate::taar_locale::DEFAULT_WHITELIST);
    rc.ctx.register_table("curated", Arc::new(JsonListTable::new(curated.as_str())?))?;
    let report = sql_file::run_sql(
        &rc,
        "sql/quickstart/locale_top_addons.sql",
        LOCALE_TOP_ADDONS,
        "locale_top_addons",
        &[],
        &rc.base_params(),
    )
    .await?;
    runs.push(JobRun { job: "sql-file".into(), outputs: vec![report] });

    // Every other job with its defaults, except that guidguid reads the
    // whitelist amowhitelist has just written (production keeps both in one bucket).
    let amo_whitelist = out.file_url(crate::taar_lite::EXTERNAL_WHITELIST);
    // taar-amodump needs the AMO API; `gen amo` wrote the dump it would make.
    for job in crate::all().into_iter().filter(|j| !matches!(j.name(), "sql-file" | "taar-amodump")) {
        let mut raw = std::collections::BTreeMap::new();
        if job.name() == "taar-lite-guidguid" {
            raw.insert("whitelist".to_string(), vec![amo_whitelist.to_string()]);
        }
        let args = JobArgs::parse(job.params(), &raw)?;
        let outputs = job.run(&rc, &args).await?;
        runs.push(JobRun { job: job.name().into(), outputs });
    }
    Ok(runs)
}
