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
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use fletch_engine::catalog::{self, ColumnKind};
use fletch_engine::output::{self, Staged, Written};
use fletch_engine::params::Params;
use fletch_engine::progress::group_thousands;
use fletch_engine::{Error, Location, Result};
use futures::StreamExt;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;

use crate::framework::{Job, JobArgs, OutputFormat, OutputSpec, RunContext, string_list};
pub use settings::{PARAMS, STAGES, Settings, Stage};

const EFFECTIVE_KEYWORDS: &str = include_str!("../../../../sql/lookalike-prepare/effective_keywords.sql");
const CLEAN_PERSONA: &str = include_str!("../../../../sql/lookalike-prepare/clean_persona.sql");
const PERSONA_REPORT: &str = include_str!("../../../../sql/lookalike-prepare/persona_report.sql");
const RAW_LOGS: &str = include_str!("../../../../sql/lookalike-prepare/raw_logs.sql");
const CLEAN_LOGS: &str = include_str!("../../../../sql/lookalike-prepare/clean_logs.sql");
const LOG_OUTCOMES: &str = include_str!("../../../../sql/lookalike-prepare/log_outcomes.sql");
const TIMED_LOGS: &str = include_str!("../../../../sql/lookalike-prepare/timed_logs.sql");
const UNIFIED_LOGS: &str = include_str!("../../../../sql/lookalike-prepare/unified_logs.sql");
const REJECTED_TIMES: &str = include_str!("../../../../sql/lookalike-prepare/rejected_times.sql");
const TRAINREADY: &str = include_str!("../../../../sql/lookalike-prepare/trainready.sql");

/// TFRecord files hold at most this many records, so trainers can read in parallel.
const RECORDS_PER_FILE: usize = 100_000;

pub struct LookalikePrepare;

#[async_trait]
impl Job for LookalikePrepare {
    fn name(&self) -> &'static str {
        "lookalike-prepare"
    }
    fn about(&self) -> &'static str {
        "Lookalike: effective keywords, clean persona and logs, unified logs, train-ready table, TFRecords"
    }
    fn params(&self) -> &'static [crate::framework::ParamSpec] {
        PARAMS
    }
    fn outputs(&self) -> &'static [OutputSpec] {
        &[
            OutputSpec { path: "lookalike_keywords/", format: OutputFormat::Parquet, about: "effective keywords (keyword)" },
            OutputSpec { path: "lookalike_persona/did_bucket=*/", format: OutputFormat::Parquet, about: "did, gender, age" },
            OutputSpec { path: "lookalike_showlog/day=*/did_bucket=*/", format: OutputFormat::Parquet, about: "clean shows" },
            OutputSpec { path: "lookalike_clicklog/day=*/did_bucket=*/", format: OutputFormat::Parquet, about: "clean clicks" },
            OutputSpec { path: "lookalike_logs/day=*/did_bucket=*/", format: OutputFormat::Parquet, about: "unified logs with is_click and interval_starting_time" },
            OutputSpec { path: "lookalike_trainready/did_bucket=*/", format: OutputFormat::Parquet, about: "one row per did with its interval arrays and did_index" },
            OutputSpec { path: "lookalike_tfrecords/did_bucket=*/part-*.tfrecord", format: OutputFormat::TfRecord, about: "train-ready rows as tf.train.Example" },
        ]
    }

    async fn run(&self, rc: &RunContext, args: &JobArgs) -> Result<Vec<Written>> {
        let s = Settings::parse(rc, args).await?;
        rc.progress.note(&format!("stages {} over {}", s.stage_names(), s.describe_dates()));
        let mut staged = Vec::new();
        let result = run_stages(rc, &s, &mut staged).await;
        if let Err(e) = result {
            for t in &staged {
                output::discard(&t.staging).await;
            }
            return Err(e);
        }
        let mut written = Vec::new();
        for t in staged {
            written.push(output::commit_table(&t.staging, &rc.opts.output_root, &t.table, Some(t.rows)).await?);
        }
        Ok(written)
    }
}

/// Checks every input first, then runs the stages, staging their outputs in `staged`.
async fn run_stages(rc: &RunContext, s: &Settings, staged: &mut Vec<Staged>) -> Result<()> {
    register_inputs(rc, s).await?;
    let params = s.params(rc);
    if s.runs(Stage::Keywords) {
        let t = stage(rc, &s.tables.keywords, rc.sql_step("sql/lookalike-prepare/effective_keywords.sql", EFFECTIVE_KEYWORDS, &params).await?, &[]).await?;
        use_staged(rc, &t, "effective_keywords").await?;
        staged.push(t);
        let kept = strings(rc, "SELECT keyword FROM effective_keywords ORDER BY keyword", &Params::default()).await?;
        let all = strings(rc, "SELECT DISTINCT keyword FROM ad_keywords ORDER BY keyword", &Params::default()).await?;
        rc.progress.note(&format!("{} of {} keywords effective: {}", kept.len(), all.len(), kept.join(", ")));
    }
    if s.runs(Stage::Clean) {
        clean(rc, s, params.clone(), staged).await?;
    }
    if s.runs(Stage::Logs) {
        rc.ctx.register_table("timed_logs", rc.sql_step("sql/lookalike-prepare/timed_logs.sql", TIMED_LOGS, &params).await?.into_view())?;
        let t = stage(rc, &s.tables.logs, rc.sql_step("sql/lookalike-prepare/unified_logs.sql", UNIFIED_LOGS, &params).await?, &["day", "did_bucket"]).await?;
        use_staged(rc, &t, "unified_logs").await?;
        staged.push(t);
        report_rejected_times(rc, &params).await?;
    }
    if s.runs(Stage::Trainready) {
        let t = stage(rc, &s.tables.trainready, rc.sql_step("sql/lookalike-prepare/trainready.sql", TRAINREADY, &params).await?, &["did_bucket"]).await?;
        use_staged(rc, &t, "trainready").await?;
        staged.push(t);
    }
    if s.runs(Stage::Tfrecords) {
        staged.push(write_tfrecords(rc, &s.tables.tfrecords).await?);
    }
    Ok(())
}

/// Registers the inputs of the stages that run and are not made by an
/// earlier stage of this run, and checks their columns.
async fn register_inputs(rc: &RunContext, s: &Settings) -> Result<()> {
    use ColumnKind::{Integer, Text, TextOrInteger};
    let log_columns = |time: &'static str| {
        [("did", Text), ("adv_id", Text), ("adv_type", Text), ("slot_id", Text), ("spread_app_id", Text), ("device_name", Text), ("net_type", Text), ("adv_bill_mode_cd", Text), (time, Text)]
    };
    if s.runs(Stage::Keywords) || s.runs(Stage::Clean) {
        input(rc, &rc.opts.data_root, &s.tables.showlog, "ads_showlog", &log_columns("show_time"), None).await?;
        input(rc, &rc.opts.data_root, &s.tables.mapping, "ad_keywords", &[("spread_app_id", Text), ("keyword", Text), ("keyword_index", Integer)], None).await?;
        check_unique_apps(rc, &s.tables.mapping).await?;
    }
    let out = &rc.opts.output_root;
    if s.runs(Stage::Clean) {
        input(rc, &rc.opts.data_root, &s.tables.persona, "ads_persona", &[("did", Text), ("gender_new_dev", TextOrInteger), ("forecast_age_dev", TextOrInteger)], None).await?;
        input(rc, &rc.opts.data_root, &s.tables.clicklog, "ads_clicklog", &log_columns("click_time"), None).await?;
        if !s.runs(Stage::Keywords) {
            input(rc, out, &s.tables.keywords, "effective_keywords", &[("keyword", Text)], Some(Stage::Keywords)).await?;
        }
    }
    let clean_columns = [("did", Text), ("action_time", Text), ("keyword", Text), ("keyword_index", Integer), ("media", Text), ("net_type", Text), ("gender", Integer), ("age", Integer), ("adv_id", Text), ("day", Text), ("did_bucket", Text)];
    if s.runs(Stage::Logs) && !s.runs(Stage::Clean) {
        input(rc, out, &s.tables.clean_showlog, "clean_showlog", &clean_columns, Some(Stage::Clean)).await?;
        input(rc, out, &s.tables.clean_clicklog, "clean_clicklog", &clean_columns, Some(Stage::Clean)).await?;
    }
    if s.runs(Stage::Trainready) && !s.runs(Stage::Logs) {
        let columns = [("did", Text), ("is_click", Integer), ("action_time", Text), ("keyword", Text), ("keyword_index", Integer), ("interval_starting_time", Integer), ("gender", Integer), ("age", Integer), ("day", Text), ("did_bucket", Text)];
        input(rc, out, &s.tables.logs, "unified_logs", &columns, Some(Stage::Logs)).await?;
    }
    if s.runs(Stage::Tfrecords) && !s.runs(Stage::Trainready) {
        input(rc, out, &s.tables.trainready, "trainready", &[("did", Text), ("did_index", Integer), ("did_bucket", Text)], Some(Stage::Trainready)).await?;
    }
    Ok(())
}

/// Registers `root/<folder>/` as `alias` and checks its columns; `made_by`
/// names the stage that writes it, for the error when it is missing.
async fn input(rc: &RunContext, root: &Location, folder: &str, alias: &str, columns: &[(&str, ColumnKind)], made_by: Option<Stage>) -> Result<()> {
    catalog::register_input_as(&rc.ctx, root, folder, alias).await.map_err(|e| match made_by {
        Some(stage) => Error::input(format!("{e} (the {} stage writes it: run it first or with this stage)", stage.name())),
        None => e,
    })?;
    catalog::check_columns(&rc.ctx, alias, folder, columns).await
}

/// An app with two keywords would count its rows twice.
async fn check_unique_apps(rc: &RunContext, folder: &str) -> Result<()> {
    let sql = "SELECT spread_app_id FROM ad_keywords GROUP BY spread_app_id HAVING count(*) > 1 ORDER BY 1 LIMIT 3";
    let repeated = strings(rc, sql, &Params::default()).await?;
    if !repeated.is_empty() {
        return Err(Error::input(format!("input table `{folder}`: spread_app_id {} has more than one row; each app needs one keyword", repeated.join(", "))));
    }
    Ok(())
}

async fn clean(rc: &RunContext, s: &Settings, mut params: Params, staged: &mut Vec<Staged>) -> Result<()> {
    let t = stage(rc, &s.tables.clean_persona, rc.sql_step("sql/lookalike-prepare/clean_persona.sql", CLEAN_PERSONA, &params).await?, &["did_bucket"]).await?;
    use_staged(rc, &t, "clean_persona").await?;
    let persona_rows = t.rows;
    staged.push(t);
    let report = rc.sql_step("sql/lookalike-prepare/persona_report.sql", PERSONA_REPORT, &params).await?.collect().await?;
    let [read, conflicting, gender_null, age_null] = [0, 1, 2, 3].map(|c| report[0].column(c).as_primitive::<Int64Type>().value(0));
    rc.progress.note(&format!(
        "persona: {} rows read, {} dids kept, {} dids with conflicting rows dropped",
        group_thousands(read as u64),
        group_thousands(persona_rows),
        group_thousands(conflicting as u64)
    ));
    if gender_null + age_null > 0 {
        log::warn!("persona: {gender_null} kept dids have no integer gender and {age_null} no integer age; they are NULL");
    }

    let keywords = strings(rc, "SELECT keyword FROM effective_keywords", &Params::default()).await?;
    if keywords.is_empty() {
        log::warn!("no effective keyword: every log row is dropped (is --keyword-threshold too high?)");
    }
    params.set("keywords", string_list(&keywords));
    let apps = strings(rc, "SELECT spread_app_id FROM ad_keywords WHERE array_has($keywords, keyword)", &params).await?;
    params.set("apps", string_list(&apps));
    params.set("slot_ids", string_list(&s.slot_ids));
    rc.ctx.register_table("raw_logs", rc.sql_step("sql/lookalike-prepare/raw_logs.sql", RAW_LOGS, &params).await?.into_view())?;
    let mut kept = [0u64; 2];
    for (is_click, table) in [(0, &s.tables.clean_showlog), (1, &s.tables.clean_clicklog)] {
        params.set("is_click", ScalarValue::Int64(Some(is_click)));
        let t = stage(rc, table, rc.sql_step("sql/lookalike-prepare/clean_logs.sql", CLEAN_LOGS, &params).await?, &["day", "did_bucket"]).await?;
        use_staged(rc, &t, if is_click == 0 { "clean_showlog" } else { "clean_clicklog" }).await?;
        kept[is_click as usize] = t.rows;
        staged.push(t);
    }
    let step = rc.progress.step("count dropped log rows");
    let outcomes = rc.sql_step("sql/lookalike-prepare/log_outcomes.sql", LOG_OUTCOMES, &params).await?.collect().await?;
    step.done(None);
    for (is_click, what) in [(0, "shows"), (1, "clicks")] {
        rc.progress.note(&outcome_line(what, &outcomes, is_click, kept[is_click as usize]));
    }
    Ok(())
}

/// Reasons of `log_outcomes.sql`, in the order its rules apply.
const OUTCOMES: [&str; 4] = ["malformed time", "outside the dates", "slot id not in the list", "app without an effective keyword"];

/// `shows: 1,000 read, 700 kept; dropped: 0 malformed time, ...`.
fn outcome_line(what: &str, outcomes: &[RecordBatch], is_click: i64, kept: u64) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for b in outcomes {
        let (clicks, names, n) = (b.column(0).as_primitive::<Int64Type>(), b.column(1).as_string::<i32>(), b.column(2).as_primitive::<Int64Type>());
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
    format!("{what}: {} read, {} kept; dropped: {}", group_thousands(read), group_thousands(kept), dropped.join(", "))
}

async fn report_rejected_times(rc: &RunContext, params: &Params) -> Result<()> {
    let batches = rc.sql_step("sql/lookalike-prepare/rejected_times.sql", REJECTED_TIMES, params).await?.collect().await?;
    let mut total = 0;
    let mut examples = Vec::new();
    for b in &batches {
        let (times, n) = (b.column(0).as_string::<i32>(), b.column(1).as_primitive::<Int64Type>());
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

/// Writes `df` as a staged version of output table `table`.
async fn stage(rc: &RunContext, table: &str, df: DataFrame, partition_by: &[&str]) -> Result<Staged> {
    let step = rc.progress.step(&format!("write {table}"));
    let partition_by: Vec<String> = partition_by.iter().map(|c| c.to_string()).collect();
    let t = output::stage_table(df, &rc.opts.output_root, table, &partition_by).await?;
    step.done(Some(t.rows));
    Ok(t)
}

/// Lets the next stages read a staged output as table `alias`.
async fn use_staged(rc: &RunContext, t: &Staged, alias: &str) -> Result<()> {
    if t.rows == 0 {
        log::warn!("{}: no rows", t.table);
    }
    catalog::register_at(&rc.ctx, t.staging.clone(), &t.table, alias).await.map(|_| ())
}

/// The first column of a small query's rows.
async fn strings(rc: &RunContext, sql: &str, params: &Params) -> Result<Vec<String>> {
    let batches = rc.sql_step("query", sql, params).await?.collect().await?;
    Ok(batches.iter().flat_map(|b| b.column(0).as_string::<i32>().iter().map(|v| v.unwrap_or_default().to_string()).collect::<Vec<_>>()).collect())
}

/// Streams the train-ready table, bucket by bucket in did_index order, into
/// `did_bucket=<b>/part-<n>.tfrecord` files of a staged `table`.
async fn write_tfrecords(rc: &RunContext, table: &str) -> Result<Staged> {
    let step = rc.progress.step(&format!("write {table}"));
    let staging = output::staging_for(&rc.opts.output_root, table);
    let result = async {
        let store = staging.store()?;
        let io = |e: std::io::Error| Error::io(format!("cannot write {staging}: {e}"));
        let mut rows = 0u64;
        for bucket in strings(rc, "SELECT DISTINCT did_bucket FROM trainready ORDER BY did_bucket", &Params::default()).await? {
            let mut params = Params::default();
            params.set("bucket", ScalarValue::Utf8(Some(bucket.clone())));
            let df = rc.sql_step("tfrecords", "SELECT * FROM trainready WHERE did_bucket = $bucket ORDER BY did_index", &params).await?;
            let mut stream = df.execute_stream().await?;
            let (mut file, mut in_file, mut buf) = (0usize, 0usize, Vec::new());
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
        }
        Ok::<_, Error>(rows)
    }
    .await;
    match result {
        Ok(rows) => {
            step.done(Some(rows));
            Ok(Staged { staging, table: table.to_string(), rows })
        }
        Err(e) => {
            output::discard(&staging).await;
            Err(e)
        }
    }
}
