//! The TAAR jobs (ports of mozetl's `taar_*`, docs/jobs/taar-*.md) and what
//! they share: where their JSON inputs live, how they read them, the
//! `clients_daily` inputs, the date window and dated JSON outputs.

mod amo_http;
pub mod amodump;
pub mod amowhitelist;
pub mod collaborative;
mod dynamodb;
pub mod ensemble;
pub mod lite_guidguid;
pub mod lite_guidranking;
pub mod locale;
pub mod profiles;
pub mod similarity;
pub mod update_whitelist;

use datafusion::arrow::array::Int64Array;
use fletch_engine::batches::column;
use fletch_engine::params::{ParamType, Params};
use fletch_engine::{Error, Result};
use serde_json::{Map, Value};

use crate::framework::{Input, JobArgs, ParamSpec, RunContext, SqlStep};

/// Where TAAR's files live under a root (`telemetry-ml/addon_recommender/`).
pub const ADDON_RECOMMENDER: &str = "telemetry-ml/addon_recommender/";
/// The curated whitelist: a JSON list of guids.
pub const CURATED_WHITELIST: &str = "telemetry-ml/addon_recommender/only_guids_top_200.json";
/// The AMO dump `taar-amodump` writes and `taar-amowhitelist` reads.
pub const AMO_DUMP: &str = "telemetry-ml/addon_recommender/extended_addons_database.json";
/// The AMO whitelist `taar-amowhitelist` writes and `taar-lite-guidguid` reads.
pub const AMO_WHITELIST: &str = "telemetry-ml/addon_recommender/whitelist_addons_database.json";

/// The `active_addons` fields that decide whether an add-on is valid
/// (`sql/taar/valid_addons.sql`); the rest are never decoded.
const VALID_ADDON_FIELDS: &[&str] = &["addon_id", "type", "is_system", "app_disabled", "user_disabled", "foreign_install"];

/// `clients_daily` read through the add-on validity fields, and
/// `clients_daily_sizes`, the same files with each add-on read as its
/// `is_system` flag only: enough for `list_size(active_addons)` at a sixth
/// of the decoding, for the scan that finds each client's latest day.
pub fn clients_daily_inputs() -> [Input; 2] {
    [
        Input::new("clients_daily").reading("active_addons", VALID_ADDON_FIELDS),
        Input::new("clients_daily_sizes").at("clients_daily").reading("active_addons", &["is_system"]),
    ]
}

/// The flag of the jobs that check their window holds data ([`require_rows`]).
const ALLOW_EMPTY: ParamSpec =
    ParamSpec::new("allow-empty", ParamType::Bool, "write empty outputs when no clients_daily row falls in the window (else fail, keeping the previous outputs)").default("false");

/// The TAAR-lite jobs' window and prefix.
const LITE_DAYS: ParamSpec = ParamSpec::new("client-data-num-days", ParamType::Int, "days of clients_daily up to --date to read").default("28");
const LITE_PREFIX: ParamSpec = ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("taar/lite/");

fn lite_days(args: &JobArgs) -> Result<i64> {
    args.int_in("client-data-num-days", 1..=3650)
}

/// Python truthiness of a JSON value: how the original TAAR jobs read the
/// flags of AMO records (`null`, `false`, `0`, `""`, `[]` and `{}` are false).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The curated whitelist's guids in file order (duplicates dropped).
pub async fn curated_whitelist(rc: &RunContext, location: &str) -> Result<Vec<String>> {
    let step = rc.progress.step("read whitelist");
    let (url, guids): (String, Vec<String>) =
        rc.read_json("whitelist", location).await.map_err(|e| Error::input(format!("{e} (expected a JSON list of guid strings)")))?;
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<String> = guids.iter().filter(|g| seen.insert(g.as_str())).cloned().collect();
    if unique.is_empty() {
        return Err(Error::input(format!("whitelist {url}: the list is empty")));
    }
    if unique.len() < guids.len() {
        log::warn!("whitelist {url}: {} duplicate guids ignored", guids.len() - unique.len());
    }
    step.done_counting(unique.len() as u64, "guids");
    Ok(unique)
}

/// The original's `load_amo_external_whitelist`: the guid of every record of
/// the AMO whitelist dump that has any WebExtension file.
pub async fn amo_whitelist(rc: &RunContext, location: &str) -> Result<Vec<String>> {
    let step = rc.progress.step("read AMO whitelist");
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
    step.done_counting(guids.len() as u64, "guids");
    Ok(guids)
}

/// `$start` (exclusive) and `$end` (inclusive) `submission_date_s3` bounds
/// of the `days` days ending on `--date`, with the base parameters.
pub fn window_params(rc: &RunContext, days: i64) -> Params {
    let mut p = rc.base_params();
    let start = rc.opts.date - chrono::Days::new(days as u64);
    p.set_string("start", start.format("%Y%m%d").to_string());
    p.set_string("end", rc.date_compact());
    p
}

/// Fails unless `window_rows` counts a row in the `days`-day window of
/// `params` ([`window_params`]), or `--allow-empty` is given: an empty window
/// would replace good outputs with empty ones.
pub async fn require_rows(rc: &mut RunContext, window_rows: &SqlStep, params: &Params, days: i64, args: &JobArgs) -> Result<()> {
    let counted = rc.run(window_rows, params).await?.batches;
    let rows: i64 = counted.iter().map(|b| column::<Int64Array>(b, "n").map(|n| n.value(0))).sum::<Result<i64>>()?;
    if rows > 0 || args.bool("allow-empty") == Some(true) {
        return Ok(());
    }
    let first = rc.opts.date - chrono::Days::new(days.max(1) as u64 - 1);
    Err(Error::input(format!(
        "no clients_daily rows from {} to {} under {}: nothing to compute, the previous outputs stay (--allow-empty writes empty ones)",
        first.format("%Y%m%d"),
        rc.date_compact(),
        rc.opts.data_root
    )))
}

/// Stages `<prefix><base>.json` and its dated copy `<prefix><base><date>.json`,
/// identical; the dated copy is committed first, so the undated file (what
/// consumers poll) never points at a date that failed.
pub async fn stage_dated_json(rc: &mut RunContext, prefix: &str, base: &str, value: &Value) -> Result<()> {
    let body = serde_json::to_vec(value).map_err(|e| Error::io(format!("cannot encode {prefix}{base}.json: {e}")))?;
    stage_dated_bytes(rc, prefix, base, body).await
}

/// [`stage_dated_json`] for a document already encoded.
pub async fn stage_dated_bytes(rc: &mut RunContext, prefix: &str, base: &str, body: Vec<u8>) -> Result<()> {
    let date = rc.date_compact();
    rc.outputs.stage_file(&format!("{prefix}{base}{date}.json"), body.clone()).await?;
    rc.outputs.stage_file(&format!("{prefix}{base}.json"), body).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn python_truthiness() {
        for (v, t) in [(json!(null), false), (json!(false), false), (json!(true), true), (json!(0), false), (json!(""), false), (json!("x"), true), (json!([]), false), (json!({"k": 1}), true)] {
            assert_eq!(truthy(&v), t, "{v}");
        }
    }
}
