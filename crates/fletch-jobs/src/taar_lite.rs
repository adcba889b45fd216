//! TAAR-lite: `taar-lite-guidranking` (installs per add-on) and
//! `taar-lite-guidguid` (co-installation counts), ports of mozetl's
//! `taar_lite_guidranking` and `taar_lite_guidguid` (docs/jobs/taar-lite.md).
//! Counting is SQL (on the executors on a cluster); the driver only shapes
//! the JSON.

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::ScalarValue;
use fletch_engine::output::Written;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use serde_json::{Map, Value, json};

use crate::framework::{Job, JobArgs, OutputFormat, OutputSpec, ParamSpec, RunContext, string_list, truthy};

const RANKING_SQL: &str = include_str!("../../../sql/taar-lite/guid_install_ranking.sql");
const COINSTALL_SQL: &str = include_str!("../../../sql/taar-lite/guid_coinstallation.sql");
pub const EXTERNAL_WHITELIST: &str = "telemetry-ml/addon_recommender/whitelist_addons_database.json";
/// The `active_addons` fields that decide whether an add-on is valid
/// (guidguid, and taar-similarity); the rest are never decoded.
const VALID_ADDON_FIELDS: &[&str] = &["addon_id", "type", "is_system", "app_disabled", "user_disabled", "foreign_install"];

/// Registers `clients_daily` read through [`VALID_ADDON_FIELDS`], and
/// `clients_daily_sizes`, the same files with each add-on read as its
/// `is_system` flag only: enough for `list_size(active_addons)` at a sixth of
/// the decoding, for the scan that finds each client's latest day.
pub async fn register_clients_daily(rc: &RunContext) -> Result<()> {
    let input = rc.input_reading("clients_daily", &[("active_addons", VALID_ADDON_FIELDS)]).await?;
    rc.input_view(&input, "clients_daily_sizes", &[("active_addons", &["is_system"])]).await
}

const DAYS: ParamSpec =
    ParamSpec::new("client-data-num-days", ParamType::Int, "days of clients_daily up to --date to read").default("28");
const PREFIX: ParamSpec = ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("taar/lite/");

fn window_days(args: &JobArgs) -> Result<i64> {
    args.int_in("client-data-num-days", 1..=3650)
}

pub struct GuidRanking;

#[async_trait]
impl Job for GuidRanking {
    fn name(&self) -> &'static str {
        "taar-lite-guidranking"
    }
    fn about(&self) -> &'static str {
        "TAAR-lite: installs per add-on over Firefox release client-days"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[DAYS, PREFIX]
    }
    fn outputs(&self) -> &'static [OutputSpec] {
        &[OutputSpec { path: "<prefix>guid_install_ranking.json", format: OutputFormat::Json, about: "{guid: install_count}" }]
    }

    async fn run(&self, rc: &RunContext, args: &JobArgs) -> Result<Vec<Written>> {
        let params = rc.window_params(window_days(args)?);
        rc.input_reading("clients_daily", &[("active_addons", &["addon_id"])]).await?;
        let step = rc.progress.step("count installs");
        let batches = rc.sql_step("sql/taar-lite/guid_install_ranking.sql", RANKING_SQL, &params).await?.collect().await?;
        let mut ranking = Map::new();
        let mut unnamed = 0;
        for b in &batches {
            let (guids, counts) = (b.column(0).as_string::<i32>(), b.column(1).as_primitive::<Int64Type>());
            for i in 0..b.num_rows() {
                if guids.is_valid(i) {
                    ranking.insert(guids.value(i).to_string(), json!(counts.value(i)));
                } else {
                    unnamed += counts.value(i);
                }
            }
        }
        if unnamed > 0 {
            log::warn!("{unnamed} installs without an addon_id were not ranked");
        }
        step.done_counting(ranking.len() as u64, "add-ons");
        rc.write_json(&args.string("prefix").unwrap_or_default(), "guid_install_ranking", &Value::Object(ranking)).await
    }
}

pub struct GuidGuid;

#[async_trait]
impl Job for GuidGuid {
    fn name(&self) -> &'static str {
        "taar-lite-guidguid"
    }
    fn about(&self) -> &'static str {
        "TAAR-lite: co-installation counts of whitelisted add-ons"
    }
    fn params(&self) -> &'static [ParamSpec] {
        const PARAMS: &[ParamSpec] = &[
            DAYS,
            PREFIX,
            ParamSpec::new("whitelist", ParamType::String, "AMO whitelist dump (default <data-root>/telemetry-ml/addon_recommender/whitelist_addons_database.json)"),
            ParamSpec::new("legacy-join", ParamType::Bool, "weight every client-day by the client's days, as the original's join did").default("false"),
        ];
        PARAMS
    }
    fn outputs(&self) -> &'static [OutputSpec] {
        &[OutputSpec { path: "<prefix>guid_coinstallation.json", format: OutputFormat::Json, about: "{key_guid: {other_guid: count}}" }]
    }

    async fn run(&self, rc: &RunContext, args: &JobArgs) -> Result<Vec<Written>> {
        let mut params = rc.window_params(window_days(args)?);
        let legacy = matches!(args.bool("legacy-join"), Some(true));
        let location = args.string("whitelist").unwrap_or_else(|| rc.opts.data_root.file_url(EXTERNAL_WHITELIST).to_string());
        let step = rc.progress.step("read AMO whitelist");
        let whitelist = external_whitelist(rc, &location).await?;
        step.done_counting(whitelist.len() as u64, "guids");
        params.set("whitelist", string_list(&whitelist));
        params.set("legacy", ScalarValue::Boolean(Some(legacy)));
        register_clients_daily(rc).await?;

        let step = rc.progress.step("count co-installations");
        let batches = rc.sql_step("sql/taar-lite/guid_coinstallation.sql", COINSTALL_SQL, &params).await?.collect().await?;
        let pairs = coinstallations(&batches);
        step.done_counting(pairs.len() as u64, "add-ons");
        rc.write_json(&args.string("prefix").unwrap_or_default(), "guid_coinstallation", &Value::Object(pairs)).await
    }
}

/// The original's `load_amo_external_whitelist`: the guid of every record of
/// the AMO whitelist dump that has any WebExtension file.
async fn external_whitelist(rc: &RunContext, location: &str) -> Result<Vec<String>> {
    let (url, dump): (String, Map<String, Value>) = rc
        .read_json("AMO whitelist", location)
        .await
        .map_err(|e| Error::input(format!("{e} (expected the {{guid: record}} dump of taar-amowhitelist)")))?;
    let guids: Vec<String> = dump
        .values()
        .filter(|r| r["current_version"]["files"].as_array().is_some_and(|f| f.iter().any(|f| truthy(&f["is_webextension"]))))
        .filter_map(|r| r["guid"].as_str().map(str::to_string))
        .collect();
    if guids.is_empty() {
        return Err(Error::input(format!("AMO whitelist {url}: no add-on with a WebExtension file (the original's \"Empty AMO whitelist detected\")")));
    }
    Ok(guids)
}

fn coinstallations(batches: &[RecordBatch]) -> Map<String, Value> {
    let mut out = Map::new();
    for b in batches {
        let (keys, others, n) = (b.column(0).as_string::<i32>(), b.column(1).as_string::<i32>(), b.column(2).as_primitive::<Int64Type>());
        for i in 0..b.num_rows() {
            let entry = out.entry(keys.value(i).to_string()).or_insert_with(|| Value::Object(Map::new()));
            entry.as_object_mut().expect("object").insert(others.value(i).to_string(), json!(n.value(i)));
        }
    }
    out
}
