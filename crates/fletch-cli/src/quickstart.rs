//! `fletch quickstart`: generates a small sample of every dataset under a
//! directory and runs every job on it embedded, so a new user sees fletch
//! work in one command.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::prelude::col;
use fletch_datagen::{Dataset, GenOptions};
use fletch_engine::outputs::{Outputs, Written};
use fletch_engine::progress::Progress;
use fletch_engine::session::{Mode, connect};
use fletch_engine::{Error, Location, Result};
use fletch_jobs::framework::{self, JobArgs, RunOptions};
use fletch_jobs::taar::{AMO_WHITELIST, CURATED_WHITELIST};
use fletch_udfs::text::JsonListTable;

const LOCALE_TOP_ADDONS: &str = include_str!("../../../sql/quickstart/locale_top_addons.sql");

/// The run date: the last day `clients-daily` generates by default.
pub const SAMPLE_DATE: &str = "20261121";

/// The datasets and the scales of the sample.
const SAMPLE: &[(Dataset, f64)] = &[
    (Dataset::ClientsDaily, 0.01),
    (Dataset::MainSummary, 0.01),
    (Dataset::Amo, 1.0),
    (Dataset::Lookalike, 0.001),
    (Dataset::AbTest, 0.5),
    (Dataset::NoisyImages, 0.25),
    (Dataset::Webapp, 0.01),
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
    runs.push(JobRun { job: "curated table".into(), outputs: curated_table(&data).await? });

    let report = root.file_url("locale_top_addons.sql").to_file_path().map_err(|_| Error::usage("the quickstart needs a local directory"))?;
    std::fs::write(&report, LOCALE_TOP_ADDONS).map_err(|e| Error::io(format!("cannot write {}: {e}", report.display())))?;
    let report = report.display().to_string();
    // Every job with its defaults, except that guidguid reads the whitelist
    // amowhitelist has just written (production keeps both in one bucket),
    // ising-denoise compares with the clean images `gen noisy-images` drew,
    // access-logs routes with the application's routes `gen webapp` wrote,
    // and taar-amodump and taar-update-whitelist, which need the AMO API:
    // `gen amo` wrote the dump and the curated whitelist they make.
    let amo_whitelist = out.file_url(AMO_WHITELIST).to_string();
    let routes = data.file_url(fletch_datagen::webapp::ROUTES_FILE).to_string();
    for job in fletch_jobs::all().into_iter().filter(|j| !["taar-amodump", "taar-update-whitelist"].contains(&j.spec().name)) {
        let name = job.spec().name;
        let flags: &[(&str, &str)] = match name {
            "sql-file" => &[("sql", &report)],
            "taar-lite-guidguid" => &[("whitelist", &amo_whitelist)],
            "ising-denoise" => &[("reference", "ising/clean")],
            "access-logs" => &[("routes", &routes)],
            _ => &[],
        };
        let raw: BTreeMap<String, Vec<String>> = flags.iter().map(|(k, v)| (k.to_string(), vec![v.to_string()])).collect();
        let args = JobArgs::parse(job.spec().params, &raw)?;
        let common = [("data-root", data.as_str()), ("output-root", out.as_str()), ("date", SAMPLE_DATE)];
        let opts = RunOptions::from_flags(|f| common.iter().find(|(k, _)| *k == f).map(|(_, v)| v.to_string()), quiet)?;
        runs.push(JobRun { job: name.into(), outputs: framework::run(job, opts, &args).await?.outputs });
    }
    Ok(runs)
}

/// The curated whitelist `gen amo` wrote, as the table `curated` (guid) the report reads.
async fn curated_table(data: &Location) -> Result<Vec<Written>> {
    let ctx = connect(&Mode::Embedded).await?;
    let whitelist = JsonListTable::new(data.file_url(CURATED_WHITELIST).as_str())?;
    let df = ctx.read_table(Arc::new(whitelist))?.select(vec![col("value").alias("guid")])?;
    let mut outputs = Outputs::begin(data, "quickstart").await?;
    match outputs.stage_table("curated", df, &[]).await {
        Ok(_) => outputs.commit().await,
        Err(e) => {
            outputs.discard().await;
            Err(e)
        }
    }
}
