//! `taar-collaborative`: the item matrix and add-on mapping of TAAR's
//! collaborative recommender, a port of telemetry-batch-view's
//! `AddonRecommender` (docs/jobs/taar-collaborative.md): implicit-feedback
//! ALS over clients × add-ons. Selecting the ratings and every client's
//! half of each iteration run as SQL (on the executors on a cluster); the
//! driver holds the items' factors and shapes the JSON.

mod als;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, StringArray};
use fletch_engine::batches::column;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use fletch_udfs::taar::positive_hash;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("taar-collaborative" {
    addon_rows: View,
    ratings: Scratch(&[]),
    addons: Collected,
    client_items: Scratch(&[]),
    factor_moments: Collected,
});

const SAMPLE_DAYS: u64 = 90;

/// The `active_addons` fields the original's add-on filter reads.
const RATING_FIELDS: &[&str] = &["addon_id", "name", "blocklisted", "signed_state", "user_disabled", "app_disabled", "type", "is_system"];

pub struct TaarCollaborative;

const SPEC: JobSpec = JobSpec {
    name: "taar-collaborative",
    summary: "TAAR: item matrix and add-on mapping of the collaborative recommender (implicit ALS)",
    params: &[
        ParamSpec::new("rank", ParamType::Int, "factors per add-on").default("15"),
        ParamSpec::new("reg-param", ParamType::Float, "regularization, scaled by each client's and add-on's number of ratings (as Spark's)").default("0.1"),
        ParamSpec::new("alpha", ParamType::Float, "confidence of an installed add-on is 1 + alpha").default("1.0"),
        ParamSpec::new("max-iter", ParamType::Int, "ALS iterations").default("20"),
        ParamSpec::new("clients-sample-date-from", ParamType::Date, "first day of clients_daily to read, YYYYMMDD (default --date minus 90 days)"),
        ParamSpec::new("whitelist", ParamType::String, "JSON list of curated guids (path or URL; default <data-root>/telemetry-ml/addon_recommender/only_guids_top_200.json)"),
        ParamSpec::new("amo-dump", ParamType::String, "AMO dump of taar-amodump, for names and WebExtension flags (default <data-root>/telemetry-ml/addon_recommender/extended_addons_database.json)"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("telemetry-ml/addon_recommender/"),
    ],
    outputs: &[
        OutputSpec { path: "<prefix>item_matrix.json", format: OutputFormat::Json, about: "[{id: positive_hash(guid), features: [...]}, ...]" },
        OutputSpec { path: "<prefix>addon_mapping.json", format: OutputFormat::Json, about: "{\"<id>\": {name, id: guid, isWebextension}, ...}" },
    ],
};

/// One row of item_matrix.json; `f32` factors, as Spark's, written shortest.
#[derive(Serialize)]
struct ItemRow {
    id: i64,
    features: Vec<f32>,
}

#[async_trait]
impl Job for TaarCollaborative {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let positive = |name: &str| args.float(name).filter(|v| v.is_finite() && *v > 0.0).ok_or_else(|| Error::usage(format!("--{name}: expected a positive number")));
        let settings = als::Settings {
            rank: args.int_in("rank", 1..=500)? as usize,
            reg: positive("reg-param")?,
            alpha: args.float("alpha").filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| Error::usage("--alpha: expected a number ≥ 0"))?,
            iterations: args.int_in("max-iter", 1..=1000)? as usize,
        };
        let from = args.date("clients-sample-date-from").unwrap_or(rc.opts.date - chrono::Days::new(SAMPLE_DAYS));
        if from > rc.opts.date {
            return Err(Error::usage(format!("--clients-sample-date-from {} is after --date {}", from.format("%Y%m%d"), rc.date_compact())));
        }
        let prefix = args.prefix()?;
        let whitelist = super::curated_whitelist(rc, &rc.input_file(args.string("whitelist"), super::CURATED_WHITELIST)).await?;
        let amo = amo_records(rc, &rc.input_file(args.string("amo-dump"), super::AMO_DUMP)).await?;
        let inputs = [
            Input::new("clients_daily").reading("active_addons", RATING_FIELDS),
            Input::new("clients_daily_sizes").at("clients_daily").reading("active_addons", &["is_system"]),
        ];
        rc.prepare(&STEPS.all(), &inputs).await?;

        let mut params = rc.base_params();
        params.set_string("from", from.format("%Y%m%d").to_string());
        params.set_string("end", rc.date_compact());
        params.set_strings("whitelist", &whitelist);
        params.set_strings("amo_guids", &amo.keys().collect::<Vec<_>>());
        rc.run(&STEPS.addon_rows, &params).await?;
        let ratings = rc.run(&STEPS.ratings, &params).await?.rows.unwrap_or(0);
        let items = distinct_hashes(rated_addons(&rc.run(&STEPS.addons, &params).await?.batches)?);
        if items.is_empty() && !rc.dry_run() {
            return Err(Error::input(format!(
                "no Firefox release client in clients_daily from {} to {} has a valid add-on of the whitelist and the AMO dump; nothing to factorize",
                from.format("%Y%m%d"),
                rc.date_compact()
            )));
        }
        params.set_strings("items", &items);
        let clients = rc.run(&STEPS.client_items, &params).await?.rows.unwrap_or(0);
        if !rc.dry_run() {
            rc.progress.note(&format!("{ratings} ratings of {} add-ons by {clients} clients", items.len()));
        }
        let start: Vec<Vec<f64>> = items.iter().map(|g| als::initial_factors(g, settings.rank, rc.opts.seed)).collect();
        let factors = match rc.dry_run() {
            // Planned once with the starting factors: what every iteration runs.
            true => {
                rc.run(&STEPS.factor_moments, &als::model_params(&start, settings)?).await?;
                start
            }
            false => als::train(rc, settings, start).await?,
        };

        let matrix: Vec<ItemRow> =
            items.iter().zip(&factors).map(|(g, f)| ItemRow { id: positive_hash(g), features: f.iter().map(|&v| v as f32).collect() }).collect();
        let matrix = serde_json::to_vec(&matrix).map_err(|e| Error::io(format!("cannot encode item_matrix.json: {e}")))?;
        let mapping: Map<String, Value> = items.iter().map(|g| (positive_hash(g).to_string(), mapping_entry(g, &amo[g]))).collect();
        super::stage_dated_bytes(rc, &prefix, "item_matrix", matrix).await?;
        super::stage_dated_json(rc, &prefix, "addon_mapping", &Value::Object(mapping)).await
    }
}

/// The AMO dump's records by guid.
async fn amo_records(rc: &RunContext, location: &str) -> Result<BTreeMap<String, Value>> {
    let step = rc.progress.step("read AMO dump");
    let (url, dump): (String, BTreeMap<String, Value>) =
        rc.read_json("AMO dump", location).await.map_err(|e| Error::input(format!("{e} (expected the {{guid: record}} dump of taar-amodump)")))?;
    if dump.is_empty() {
        return Err(Error::input(format!("AMO dump {url}: no add-on")));
    }
    step.done_counting(dump.len() as u64, "add-ons");
    Ok(dump)
}

/// The rated add-ons, in guid order, from the `addons` step.
fn rated_addons(batches: &[RecordBatch]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        let guids = column::<StringArray>(b, "guid")?;
        out.extend((0..b.num_rows()).map(|i| guids.value(i).to_string()));
    }
    Ok(out)
}

/// The guids (sorted) whose TAAR ids differ: of guids that share a
/// `positive_hash`, TAAR could tell only one apart, so the first stays and
/// the others are left out, named in the log.
fn distinct_hashes(guids: Vec<String>) -> Vec<String> {
    let mut seen: HashMap<i64, String> = HashMap::new();
    guids
        .into_iter()
        .filter(|g| match seen.get(&positive_hash(g)) {
            Some(first) => {
                log::warn!("add-on {g} has TAAR id {} as {first} has: left out of the model", positive_hash(g));
                false
            }
            None => {
                seen.insert(positive_hash(g), g.clone());
                true
            }
        })
        .collect()
}

/// An addon_mapping.json entry as the original writes it: the name in the
/// add-on's default locale ("Unknown" if none), and whether its current
/// version has a public WebExtension file.
fn mapping_entry(guid: &str, record: &Value) -> Value {
    let name = record["default_locale"].as_str().and_then(|l| record["name"][l].as_str()).unwrap_or("Unknown");
    let webextension = record["current_version"]["files"]
        .as_array()
        .is_some_and(|files| files.iter().any(|f| f["is_webextension"] == Value::Bool(true) && f["status"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("public"))));
    json!({"name": name, "id": guid, "isWebextension": webextension})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_entries_follow_the_original() {
        let record = json!({"default_locale": "it", "name": {"en-US": "Blocker", "it": "Bloccatore"},
            "current_version": {"files": [{"is_webextension": false, "status": "public"}, {"is_webextension": true, "status": "Public"}]}});
        assert_eq!(mapping_entry("g", &record), json!({"name": "Bloccatore", "id": "g", "isWebextension": true}));
        let legacy = json!({"name": {}, "current_version": {"files": [{"is_webextension": true, "status": "disabled"}]}});
        assert_eq!(mapping_entry("g", &legacy), json!({"name": "Unknown", "id": "g", "isWebextension": false}));
    }

    #[test]
    fn colliding_ids_keep_the_first_guid() {
        // "Aa" and "BB" have the same Java hash code.
        assert_eq!(positive_hash("Aa"), positive_hash("BB"));
        assert_eq!(distinct_hashes(vec!["Aa".into(), "BB".into(), "c".into()]), ["Aa", "c"]);
    }
}
