//! `fletch quickstart`: makes a small sample under a directory and runs every
//! job on it embedded, so a new user sees fletch work in one command.

use std::path::Path;

use fletch_engine::output::{self, Written};
use fletch_engine::{Error, Location, Result};

use crate::framework::{RunContext, RunOptions};
use crate::sql_file;

const SAMPLE_EVENTS: &str = include_str!("../../../sql/quickstart/sample_events.sql");
const DAILY_ADDONS: &str = include_str!("../../../sql/quickstart/daily_addons.sql");

/// The fixed run date of the sample, so outputs are the same on every machine.
pub const SAMPLE_DATE: &str = "20261122";

/// Outputs of one job run by the quickstart.
pub struct JobRun {
    pub job: &'static str,
    pub outputs: Vec<Written>,
}

/// Generates the sample under `dir/data` and writes every job's outputs under `dir/output`.
pub async fn run(dir: &Path, quiet: bool) -> Result<Vec<JobRun>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir.to_str().ok_or_else(|| Error::usage(format!("{} is not valid UTF-8", dir.display())))?;
    let data = Location::parse("quickstart directory", dir)?.join("data");
    let out = Location::parse("quickstart directory", dir)?.join("output");
    let opts = RunOptions::new(data.as_str(), out.as_str(), Some(SAMPLE_DATE), None, None, quiet)?;
    let rc = RunContext::connect(opts).await?;

    let step = rc.progress.step("generate sample events");
    let events = rc.sql_step("sql/quickstart/sample_events.sql", SAMPLE_EVENTS, &rc.base_params()).await?;
    let sample = output::write_table(events, &data, "events", &["day".to_string()]).await?;
    step.done(sample.rows);

    let report = sql_file::run_sql(
        &rc,
        "sql/quickstart/daily_addons.sql",
        DAILY_ADDONS,
        "daily_addons",
        &[],
        &rc.base_params(),
    )
    .await?;
    Ok(vec![JobRun { job: "gen (sample events)", outputs: vec![sample] }, JobRun { job: "sql-file", outputs: vec![report] }])
}
