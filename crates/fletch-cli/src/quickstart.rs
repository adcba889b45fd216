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
/// The web warehouse's reports over `behaviour` and the imported tables.
const WEB_REPORTS: &[(&str, &str)] = &[
    ("actions_by_segment", include_str!("../../../sql/web/actions_by_segment.sql")),
    ("signup_funnel", include_str!("../../../sql/web/signup_funnel.sql")),
];
/// The tables db-import copies from the web application's SQLite database, and their keys.
const WEB_TABLES: &[(&str, &str)] = &[("users", "user_id"), ("accounts", "account_id"), ("transactions", "transaction_id")];

/// The run date: the last day `clients-daily` generates by default.
pub const SAMPLE_DATE: &str = "20261121";

/// The datasets and the scales of the sample.
const SAMPLE: &[(Dataset, f64)] = &[
    (Dataset::ClientsDaily, 0.01),
    (Dataset::MainSummary, 0.01),
    (Dataset::Amo, 1.0),
    (Dataset::Lookalike, 0.001),
    (Dataset::LookalikeScores, 0.001),
    (Dataset::AbTest, 0.5),
    (Dataset::NoisyImages, 0.25),
    (Dataset::Webapp, 0.01),
    (Dataset::CommunityNotes, 0.01),
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

    let report = write_sql(&root, "locale_top_addons", LOCALE_TOP_ADDONS)?;
    // Every job with its defaults, except that guidguid reads the whitelist
    // amowhitelist has just written (production keeps both in one bucket),
    // taar-similarity names the donors' fields as the TAAR service reads them
    // and taar-ensemble reads the models the TAAR jobs have just written,
    // ising-denoise compares with the clean images `gen noisy-images` drew,
    // access-logs routes with the application's routes `gen webapp` wrote,
    // db-import copies the application's tables beside its behaviour table,
    // the lookalike jobs read the score table `gen lookalike-scores` wrote
    // (no model is served) and size clusters and validation for the sample's
    // few hundred users, and taar-amodump and taar-update-whitelist, which need the AMO API:
    // `gen amo` wrote the dump and the curated whitelist they make.
    let amo_whitelist = out.file_url(AMO_WHITELIST).to_string();
    let routes = data.file_url(fletch_datagen::webapp::ROUTES_FILE).to_string();
    let sqlite = format!("sqlite://{}", fletch_datagen::webapp::SQLITE_FILE);
    for job in fletch_jobs::all().into_iter().filter(|j| !["taar-amodump", "taar-update-whitelist", "lookalike-scores"].contains(&j.spec().name)) {
        let name = job.spec().name;
        let runs_of: Vec<(String, Vec<(&str, &str)>)> = match name {
            "sql-file" => vec![(name.into(), vec![("sql", &report)])],
            "taar-lite-guidguid" => vec![(name.into(), vec![("whitelist", &amo_whitelist)])],
            "taar-similarity" => vec![(name.into(), vec![("donor-schema", "taar")])],
            "taar-ensemble" => vec![(name.into(), vec![("models-root", out.as_str())])],
            "ising-denoise" => vec![(name.into(), vec![("reference", "ising/clean")])],
            "access-logs" => vec![(name.into(), vec![("routes", &routes)])],
            "lookalike-vectors" => vec![(name.into(), vec![("scores-from", "data")])],
            "lookalike-clusters" => vec![(name.into(), vec![("num-clusters", "16"), ("target-cluster-size", "40")])],
            "lookalike-validate" => vec![(name.into(), vec![("scores-from", "data"), ("plan1-sample", "300"), ("plan1-top", "50")])],
            "db-import" => WEB_TABLES.iter().map(|(table, key)| (format!("{name} {table}"), vec![("connect", sqlite.as_str()), ("table", table), ("split-by", key), ("prefix", "web/")])).collect(),
            _ => vec![(name.into(), vec![])],
        };
        for (label, flags) in runs_of {
            runs.push(JobRun { job: label, outputs: run_job(job, &data, &out, &flags, quiet).await? });
        }
    }
    // The reports over the web warehouse, once access-logs and db-import have run.
    let sql_file = fletch_jobs::find("sql-file").expect("sql-file is a job");
    for (name, sql) in WEB_REPORTS {
        let file = write_sql(&root, name, sql)?;
        runs.push(JobRun { job: format!("sql-file {name}"), outputs: run_job(sql_file, &out.join("web"), &out, &[("sql", &file)], quiet).await? });
    }
    Ok(runs)
}

/// Runs `job` embedded on the sample's date with `flags`.
async fn run_job(job: &dyn framework::Job, data: &Location, out: &Location, flags: &[(&str, &str)], quiet: bool) -> Result<Vec<Written>> {
    let raw: BTreeMap<String, Vec<String>> = flags.iter().map(|(k, v)| (k.to_string(), vec![v.to_string()])).collect();
    let args = JobArgs::parse(job.spec().params, &raw)?;
    let common = [("data-root", data.as_str()), ("output-root", out.as_str()), ("date", SAMPLE_DATE)];
    let opts = RunOptions::from_flags(|f| common.iter().find(|(k, _)| *k == f).map(|(_, v)| v.to_string()), quiet)?;
    Ok(framework::run(job, opts, &args).await?.outputs)
}

/// Writes a report's SQL as `<dir>/<name>.sql`, for sql-file to read; returns its path.
fn write_sql(root: &Location, name: &str, sql: &str) -> Result<String> {
    let path = root.file_url(&format!("{name}.sql")).to_file_path().map_err(|_| Error::usage("the quickstart needs a local directory"))?;
    std::fs::write(&path, sql).map_err(|e| Error::io(format!("cannot write {}: {e}", path.display())))?;
    Ok(path.display().to_string())
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
