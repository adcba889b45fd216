//! `lookalike-prepare`: Blue Marlin's did-era data preparation (main_keywords,
//! main_clean, main_logs, main_trainready, main_tfrecords) as one job of five
//! stages (docs/jobs/lookalike-prepare.md). Every stage is SQL over the whole
//! date range at once; the original's time batches only fitted cluster memory.
//! Outputs are staged and committed together when every stage has succeeded,
//! so a failed run leaves all previous outputs as they were.

mod config;
mod settings;
mod tfrecords;


use async_trait::async_trait;
use datafusion::arrow::array::{Array, BooleanArray, Int64Array, RecordBatch, StringArray};
use datafusion::prelude::{SessionContext, col, lit};
use fletch_engine::batches::column;
use fletch_engine::catalog::ColumnKind;
use fletch_engine::location::Location;
use fletch_engine::params::Params;
use fletch_engine::progress::group_thousands;
use fletch_engine::{Error, Result};
use futures::StreamExt;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, RunContext, SqlStep, rerun_interrupted};
pub use settings::{PARAMS, SLOT_IDS_FILE, STAGES, Settings, Stage};

crate::sql_steps!("lookalike-prepare" {
    repeated_apps: Check,
    ads_clicklog: View,
    raw_logs: View,
    log_profile: Scratch(&[]),
    effective_keywords: Output(&[]),
    keyword_report: Collected,
    clean_persona: Output(&["did_bucket"]),
    persona_report: Collected,
    effective_apps: Collected,
    clean_logs: View,
    clean_showlog: Output(&["day", "did_bucket"]),
    clean_clicklog: Output(&["day", "did_bucket"]),
    log_outcomes: Collected,
    timed_logs: View,
    unified_logs: Output(&["day", "did_bucket"]),
    rejected_times: Collected,
    trainready: Output(&["did_bucket"]),
    trainready_buckets: Collected,
});

/// The steps of each stage, in order.
fn stage_steps(stage: Stage) -> Vec<&'static SqlStep> {
    match stage {
        Stage::Keywords => vec![&STEPS.effective_keywords, &STEPS.keyword_report],
        Stage::Clean => vec![
            &STEPS.clean_persona,
            &STEPS.persona_report,
            &STEPS.effective_apps,
            &STEPS.clean_logs,
            &STEPS.clean_showlog,
            &STEPS.clean_clicklog,
            &STEPS.log_outcomes,
        ],
        Stage::Logs => vec![&STEPS.timed_logs, &STEPS.unified_logs, &STEPS.rejected_times],
        Stage::Trainready => vec![&STEPS.trainready],
        Stage::Tfrecords => vec![&STEPS.trainready_buckets],
    }
}

/// TFRecord files hold at most this many records, so trainers can read in parallel.
const RECORDS_PER_FILE: usize = 100_000;

pub struct LookalikePrepare;

const SPEC: JobSpec = JobSpec {
    name: "lookalike-prepare",
    summary: "Lookalike: effective keywords, clean persona and logs, unified logs, train-ready table, TFRecords",
    params: PARAMS,
    outputs: &[
        OutputSpec { path: "lookalike_keywords/", format: OutputFormat::Parquet, about: "effective keywords (keyword)" },
        OutputSpec { path: "lookalike_persona/did_bucket=*/", format: OutputFormat::Parquet, about: "did, gender, age" },
        OutputSpec { path: "lookalike_showlog/day=*/did_bucket=*/", format: OutputFormat::Parquet, about: "clean shows" },
        OutputSpec { path: "lookalike_clicklog/day=*/did_bucket=*/", format: OutputFormat::Parquet, about: "clean clicks" },
        OutputSpec { path: "lookalike_logs/day=*/did_bucket=*/", format: OutputFormat::Parquet, about: "unified logs with is_click and interval_starting_time" },
        OutputSpec { path: "lookalike_trainready/did_bucket=*/", format: OutputFormat::Parquet, about: "one row per did with its interval arrays and did_index" },
        OutputSpec { path: "lookalike_tfrecords/did_bucket=*/part-*.tfrecord", format: OutputFormat::TfRecord, about: "train-ready rows as tf.train.Example" },
    ],
};

#[async_trait]
impl Job for LookalikePrepare {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let s = Settings::parse(rc, args).await?;
        rc.progress.note(&format!("stages {} over {}", s.stage_names(), s.describe_dates()));
        let t = &s.tables;
        for (step, folder) in [
            (&STEPS.effective_keywords, &t.keywords),
            (&STEPS.clean_persona, &t.clean_persona),
            (&STEPS.clean_showlog, &t.clean_showlog),
            (&STEPS.clean_clicklog, &t.clean_clicklog),
            (&STEPS.unified_logs, &t.logs),
            (&STEPS.trainready, &t.trainready),
        ] {
            rc.set_output_folder(step, folder);
        }
        // Both stages read the raw logs' profile: one scan, before either.
        // Without the clean stage no click log is read (or needed).
        let mut profile = Vec::new();
        if s.runs(Stage::Keywords) || s.runs(Stage::Clean) {
            if !s.runs(Stage::Clean) {
                profile.push(&STEPS.ads_clicklog);
            }
            profile.extend([&STEPS.raw_logs, &STEPS.log_profile]);
        }
        let mut steps = if profile.is_empty() { Vec::new() } else { vec![&STEPS.repeated_apps] };
        steps.extend(&profile);
        steps.extend(STAGES.iter().filter(|stage| s.runs(**stage)).flat_map(|stage| stage_steps(*stage)));
        rc.prepare(&steps, &inputs(&s)).await?;

        let mut params = s.params(rc);
        if !profile.is_empty() {
            check_unique_apps(rc, &t.mapping).await?;
        }
        for step in profile {
            rc.run(step, &params).await?;
        }
        if s.runs(Stage::Keywords) {
            rc.run(&STEPS.effective_keywords, &params).await?;
            let report = rc.run(&STEPS.keyword_report, &params).await?.batches;
            report_keywords(rc, &report)?;
        }
        let clean_rows = if s.runs(Stage::Clean) { clean(rc, &mut params).await? } else { None };
        if s.runs(Stage::Logs) {
            rc.run(&STEPS.timed_logs, &params).await?;
            let unified = rc.run(&STEPS.unified_logs, &params).await?.rows;
            // The unified rows are clean rows: when none of this run's are
            // missing, no time was rejected and the rows need no second scan.
            if clean_rows.is_none() || clean_rows != unified {
                let rejected = rc.run(&STEPS.rejected_times, &params).await?.batches;
                report_rejected_times(rc, &rejected)?;
            }
        }
        if s.runs(Stage::Trainready) {
            rc.run(&STEPS.trainready, &params).await?;
        }
        if s.runs(Stage::Tfrecords) {
            let buckets = rc.run(&STEPS.trainready_buckets, &params).await?.batches;
            write_tfrecords(rc, &t.tfrecords, &strings(&buckets, "did_bucket")?).await?;
        }
        Ok(())
    }
}

/// Every table a stage may read: the raw inputs under the data root, and the
/// outputs of earlier stages under the output root (for runs of later stages alone).
fn inputs(s: &Settings) -> Vec<Input> {
    use ColumnKind::{Integer, Text, TextOrInteger};
    let t = &s.tables;
    let log_columns = |time: &'static str| {
        [("did", Text), ("adv_id", Text), ("adv_type", Text), ("slot_id", Text), ("spread_app_id", Text), ("device_name", Text), ("net_type", Text), ("adv_bill_mode_cd", Text), (time, Text)]
    };
    let clean_columns = [("did", Text), ("action_time", Text), ("keyword", Text), ("keyword_index", Integer), ("media", Text), ("net_type", Text), ("gender", Integer), ("age", Integer), ("adv_id", Text), ("day", Text), ("did_bucket", Text)];
    vec![
        Input::new("ads_showlog").at(&t.showlog).columns(&log_columns("show_time")),
        Input::new("ads_clicklog").at(&t.clicklog).columns(&log_columns("click_time")),
        Input::new("ad_keywords").at(&t.mapping).columns(&[("spread_app_id", Text), ("keyword", Text), ("keyword_index", Integer)]),
        Input::new("ads_persona").at(&t.persona).columns(&[("did", Text), ("gender_new_dev", TextOrInteger), ("forecast_age_dev", TextOrInteger)]),
        Input::new("effective_keywords").at(&t.keywords).made_by("keywords").columns(&[("keyword", Text)]),
        Input::new("clean_showlog").at(&t.clean_showlog).made_by("clean").columns(&clean_columns),
        Input::new("clean_clicklog").at(&t.clean_clicklog).made_by("clean").columns(&clean_columns),
        Input::new("unified_logs").at(&t.logs).made_by("logs").columns(&[
            ("did", Text), ("is_click", Integer), ("action_time", Text), ("keyword", Text), ("keyword_index", Integer),
            ("interval_starting_time", Integer), ("gender", Integer), ("age", Integer), ("day", Text), ("did_bucket", Text),
        ]),
        Input::new("trainready").at(&t.trainready).made_by("trainready").columns(&[("did", Text), ("did_index", Integer), ("did_bucket", Text)]),
    ]
}

/// An app with two keywords would count its rows twice.
async fn check_unique_apps(rc: &mut RunContext, folder: &str) -> Result<()> {
    let repeated = strings(&rc.run(&STEPS.repeated_apps, &Params::default()).await?.batches, "spread_app_id")?;
    if !repeated.is_empty() {
        return Err(Error::input(format!("input table `{folder}`: spread_app_id {} has more than one row; each app needs one keyword", repeated.join(", "))));
    }
    Ok(())
}

fn report_keywords(rc: &RunContext, report: &[RecordBatch]) -> Result<()> {
    let (mut all, mut kept) = (0, Vec::new());
    for b in report {
        let (keywords, effective) = (column::<StringArray>(b, "keyword")?, column::<BooleanArray>(b, "effective")?);
        for i in 0..b.num_rows() {
            all += 1;
            if effective.value(i) {
                kept.push(keywords.value(i).to_string());
            }
        }
    }
    rc.progress.note(&format!("{} of {all} keywords effective: {}", kept.len(), kept.join(", ")));
    Ok(())
}

/// `persona: R rows read, K dids kept, C dids with conflicting rows dropped`, and a warning for NULL attributes.
fn report_persona(rc: &RunContext, report: &RecordBatch, persona_rows: u64) -> Result<()> {
    let count = |name: &str| column::<Int64Array>(report, name).map(|c| c.value(0));
    let (read, conflicting) = (count("rows_read")?, count("conflicting_dids")?);
    let (gender_null, age_null) = (count("gender_not_integer")?, count("age_not_integer")?);
    rc.progress.note(&format!(
        "persona: {} rows read, {} dids kept, {} dids with conflicting rows dropped",
        group_thousands(read as u64),
        group_thousands(persona_rows),
        group_thousands(conflicting as u64)
    ));
    if gender_null + age_null > 0 {
        log::warn!("persona: {gender_null} kept dids have no integer gender and {age_null} no integer age; they are NULL");
    }
    Ok(())
}

/// Runs the clean stage; returns the clean rows written (shows and clicks), unknown in a dry run.
async fn clean(rc: &mut RunContext, params: &mut Params) -> Result<Option<u64>> {
    let persona_rows = rc.run(&STEPS.clean_persona, params).await?.rows.unwrap_or(0);
    let report = rc.run(&STEPS.persona_report, params).await?.batches;
    // One row, or none in a dry run.
    if let Some(report) = report.first().filter(|b| b.num_rows() > 0) {
        report_persona(rc, report, persona_rows)?;
    }

    let effective = rc.run(&STEPS.effective_apps, params).await?.batches;
    let (mut apps, mut keywords) = (strings(&effective, "spread_app_id")?, strings(&effective, "keyword")?);
    if rc.dry_run() {
        // Not computed in a dry run; a stand-in keeps the later plans' shape
        // (with none, the optimizer would plan every log table empty).
        (apps, keywords) = (vec!["(dry run)".into()], vec!["(dry run)".into()]);
    }
    keywords.sort();
    keywords.dedup();
    if keywords.is_empty() {
        log::warn!("no effective keyword: every log row is dropped (is --keyword-threshold too high?)");
    }
    params.set_strings("keywords", &keywords);
    params.set_strings("apps", &apps);
    rc.run(&STEPS.clean_logs, params).await?;
    let shows = rc.run(&STEPS.clean_showlog, params).await?.rows;
    let clicks = rc.run(&STEPS.clean_clicklog, params).await?.rows;
    let outcomes = rc.run(&STEPS.log_outcomes, params).await?.batches;
    for (is_click, what, kept) in [(0, "shows", shows), (1, "clicks", clicks)] {
        rc.progress.note(&outcome_line(what, &outcomes, is_click, kept.unwrap_or(0))?);
    }
    Ok(shows.zip(clicks).map(|(shows, clicks)| shows + clicks))
}

/// Reasons of `log_outcomes.sql`, in the order its rules apply.
const OUTCOMES: [&str; 4] = ["malformed time", "outside the dates", "slot id not in the list", "app without an effective keyword"];

/// `shows: 1,000 read, 700 kept; dropped: 0 malformed time, ...`.
fn outcome_line(what: &str, outcomes: &[RecordBatch], is_click: i64, kept: u64) -> Result<String> {
    let mut counts = std::collections::BTreeMap::new();
    for b in outcomes {
        let (clicks, names, n) = (column::<Int64Array>(b, "is_click")?, column::<StringArray>(b, "outcome")?, column::<Int64Array>(b, "n")?);
        for i in 0..b.num_rows() {
            if clicks.value(i) == is_click {
                counts.insert(names.value(i), n.value(i) as u64);
            }
        }
    }
    let count = |name: &str| counts.get(name).copied().unwrap_or(0);
    let read: u64 = counts.values().sum();
    let mut dropped: Vec<String> = OUTCOMES.iter().map(|o| format!("{} {o}", group_thousands(count(o)))).collect();
    dropped.push(format!("{} did without a single persona", group_thousands(count("passed").saturating_sub(kept))));
    Ok(format!("{what}: {} read, {} kept; dropped: {}", group_thousands(read), group_thousands(kept), dropped.join(", ")))
}

fn report_rejected_times(rc: &RunContext, batches: &[RecordBatch]) -> Result<()> {
    let mut total = 0;
    let mut examples = Vec::new();
    for b in batches {
        let (times, n) = (column::<StringArray>(b, "action_time")?, column::<Int64Array>(b, "n")?);
        for i in 0..b.num_rows() {
            total += n.value(i);
            if examples.len() < 3 {
                examples.push(format!("{:?}", times.value(i)));
            }
        }
    }
    if total > 0 {
        log::warn!("{total} clean log rows rejected: action_time is not 'YYYY-MM-DD HH:MM:SS[.ffffff]' within 32-bit seconds (e.g. {})", examples.join(", "));
        rc.progress.note(&format!("{total} rows with a malformed action_time rejected"));
    }
    Ok(())
}

/// Column `name` of every batch, as strings (NULL as '').
fn strings(batches: &[RecordBatch], name: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        let values = column::<StringArray>(b, name)?;
        out.extend((0..values.len()).map(|i| if values.is_valid(i) { values.value(i).to_string() } else { String::new() }));
    }
    Ok(out)
}

/// Streams the train-ready table, bucket by bucket in did_index order, into
/// `did_bucket=<b>/part-<n>.tfrecord` files of the staged `table`. The driver
/// encodes the records, so buckets are written side by side, one per core.
/// A bucket whose cluster job is interrupted is written again from its first file.
async fn write_tfrecords(rc: &mut RunContext, table: &str, buckets: &[String]) -> Result<()> {
    if rc.dry_run() {
        return rc.outputs.plan_table(table);
    }
    let progress = rc.progress.clone();
    let step = progress.counted_step(&format!("write {table}"), buckets.len() as u64, "buckets");
    let staging = rc.outputs.table_dir(table)?;
    let retries = rc.job_retries();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let writes = buckets.to_vec().into_iter().map(|bucket| {
        let (ctx, staging, what) = (rc.ctx.clone(), staging.clone(), format!("write {table} bucket {bucket}"));
        async move {
            let attempts = { let what = what.clone(); async move { rerun_interrupted!(retries, what, write_bucket(&ctx, &staging, &bucket).await) } };
            tokio::spawn(attempts).await.map_err(|e| Error::io(format!("{what}: {e}")))?
        }
    });
    let mut written = futures::stream::iter(writes).buffer_unordered(cores);
    let mut rows = 0u64;
    while let Some(bucket_rows) = written.next().await {
        rows += bucket_rows?;
        step.advance(1);
    }
    rc.outputs.add_rows(table, rows);
    step.done(Some(rows));
    Ok(())
}

/// Writes one bucket's files under `staging`; returns its rows.
async fn write_bucket(ctx: &SessionContext, staging: &Location, bucket: &str) -> Result<u64> {
    let store = staging.store()?;
    let io = |e: std::io::Error| Error::io(format!("cannot write {staging}: {e}"));
    let df = ctx.table(STEPS.trainready.name).await?.filter(col("did_bucket").eq(lit(bucket)))?.sort(vec![col("did_index").sort(true, false)])?;
    let mut stream = fletch_engine::remote::stream(df).await?;
    let (mut file, mut in_file, mut rows, mut buf) = (0usize, 0usize, 0u64, Vec::new());
    let mut writer: Option<BufWriter> = None;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let mut start = 0;
        while start < batch.num_rows() {
            if writer.is_none() {
                let key = object_store::path::Path::from(format!("{}/did_bucket={bucket}/part-{file:05}.tfrecord", staging.prefix()));
                writer = Some(BufWriter::new(store.clone(), key));
            }
            let take = (batch.num_rows() - start).min(RECORDS_PER_FILE - in_file);
            buf.clear();
            tfrecords::append_examples(&batch.slice(start, take), &mut buf)?;
            let w = writer.as_mut().expect("opened above");
            w.write_all(&buf).await.map_err(io)?;
            (start, in_file, rows) = (start + take, in_file + take, rows + take as u64);
            if in_file == RECORDS_PER_FILE {
                w.shutdown().await.map_err(io)?;
                (writer, in_file, file) = (None, 0, file + 1);
            }
        }
    }
    if let Some(mut w) = writer {
        w.shutdown().await.map_err(io)?;
    }
    Ok(rows)
}
