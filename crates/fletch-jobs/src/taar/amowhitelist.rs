//! `taar-amowhitelist`: filters the AMO dump into the whitelist, featured and
//! featured-whitelist dictionaries, a port of mozetl's `taar_amowhitelist`
//! (docs/jobs/taar-amo.md). Small JSON in, small JSON out: driver only.

use async_trait::async_trait;
use chrono::{Days, NaiveDateTime};
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use serde_json::{Map, Value};

use super::truthy;
use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

const PIONEER_GUID: &str = "pioneer-opt-in@mozilla.org";

pub struct AmoWhitelist;

const SPEC: JobSpec = JobSpec {
    name: "taar-amowhitelist",
    summary: "TAAR: whitelist, featured and featured-whitelist add-ons from the AMO dump",
    params: &[
        ParamSpec::new("min-rating", ParamType::Float, "minimum AMO average rating").default("3.0"),
        ParamSpec::new("min-age-days", ParamType::Int, "minimum days between first version and --date").default("60"),
        ParamSpec::new("input", ParamType::String, "AMO dump (default <data-root>/telemetry-ml/addon_recommender/extended_addons_database.json)"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default(super::ADDON_RECOMMENDER),
    ],
    outputs: &[
        OutputSpec { path: "<prefix>whitelist_addons_database.json", format: OutputFormat::Json, about: "{guid: record} passing the whitelist rule" },
        OutputSpec { path: "<prefix>featured_addons_database.json", format: OutputFormat::Json, about: "{guid: record} with is_featured" },
        OutputSpec { path: "<prefix>featured_whitelist_addons.json", format: OutputFormat::Json, about: "both" },
    ],
};

#[async_trait]
impl Job for AmoWhitelist {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let min_rating = args.float("min-rating").ok_or_else(|| Error::usage("--min-rating: expected a number"))?;
        let min_age = args.int_in("min-age-days", 0..=36_500)?;
        let location = rc.input_file(args.string("input"), super::AMO_DUMP);
        let (url, dump): (String, Map<String, Value>) = rc.read_json("AMO dump", &location).await?;
        // The original compares naive datetimes: the dump's offset is dropped, not converted.
        let cutoff = (rc.opts.date - Days::new(min_age as u64)).and_hms_opt(0, 0, 0).expect("midnight");
        let (mut whitelist, mut featured, mut both) = (Map::new(), Map::new(), Map::new());
        for (guid, record) in &dump {
            let listed = whitelisted(guid, record, min_rating, cutoff).map_err(|e| Error::input(format!("AMO dump {url}: {guid}: {e}")))?;
            let is_featured = truthy(&record["is_featured"]);
            if listed {
                whitelist.insert(guid.clone(), record.clone());
            }
            if is_featured {
                featured.insert(guid.clone(), record.clone());
            }
            if listed && is_featured {
                both.insert(guid.clone(), record.clone());
            }
        }
        rc.progress.note(&format!("{} add-ons: {} whitelisted, {} featured, {} both", dump.len(), whitelist.len(), featured.len(), both.len()));
        let prefix = args.prefix()?;
        super::stage_dated_json(rc, &prefix, "whitelist_addons_database", &Value::Object(whitelist)).await?;
        super::stage_dated_json(rc, &prefix, "featured_addons_database", &Value::Object(featured)).await?;
        super::stage_dated_json(rc, &prefix, "featured_whitelist_addons", &Value::Object(both)).await
    }
}

/// The original's whitelist rule, in its order.
fn whitelisted(guid: &str, record: &Value, min_rating: f64, cutoff: NaiveDateTime) -> std::result::Result<bool, String> {
    if guid == PIONEER_GUID {
        return Ok(false);
    }
    let files = record.get("current_version").and_then(|v| v.get("files")).and_then(Value::as_array);
    let Some(first) = files.and_then(|f| f.first()) else { return Ok(false) };
    // `is False`: a missing flag counts as False, but null passes.
    if matches!(first.get("is_webextension"), None | Some(Value::Bool(false))) {
        return Ok(false);
    }
    let rating = record.get("ratings").and_then(|r| r.get("average")).and_then(Value::as_f64).unwrap_or(0.0);
    let created = record
        .get("first_create_date")
        .and_then(Value::as_str)
        .ok_or("no first_create_date (the original crashed here)")?;
    let created = parse_naive(created).ok_or_else(|| format!("first_create_date `{created}` is not an ISO-8601 time"))?;
    Ok(rating >= min_rating && created <= cutoff)
}

/// ISO-8601 with or without an offset; the offset is dropped, not applied.
fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let local = s.trim_end_matches('Z');
    let local = match local.rfind(['+', '-']).filter(|&i| i > 10) {
        Some(i) => &local[..i],
        None => local,
    };
    NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cutoff() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 9, 22).unwrap().and_hms_opt(0, 0, 0).unwrap()
    }

    #[test]
    fn offsets_are_dropped_not_converted() {
        assert_eq!(parse_naive("2026-09-22T23:30:00+05:00").unwrap().to_string(), "2026-09-22 23:30:00");
        assert_eq!(parse_naive("2015-06-20T11:21:58Z").unwrap().to_string(), "2015-06-20 11:21:58");
        assert!(parse_naive("yesterday").is_none());
    }

    #[test]
    fn rule_order_and_edges() {
        let rec = |web: Value, rating: f64, created: &str| {
            json!({"current_version": {"files": [{"is_webextension": web}]}, "ratings": {"average": rating}, "first_create_date": created})
        };
        let old = "2020-01-01T00:00:00Z";
        assert_eq!(whitelisted("a", &rec(json!(true), 3.0, old), 3.0, cutoff()), Ok(true), "rating exactly 3.0");
        assert_eq!(whitelisted("a", &rec(json!(true), 2.99, old), 3.0, cutoff()), Ok(false));
        assert_eq!(whitelisted("a", &rec(json!(null), 4.0, old), 3.0, cutoff()), Ok(true), "null passes `is False`");
        assert_eq!(whitelisted("a", &rec(json!(false), 4.0, old), 3.0, cutoff()), Ok(false));
        assert_eq!(whitelisted(PIONEER_GUID, &rec(json!(true), 5.0, old), 3.0, cutoff()), Ok(false));
        assert_eq!(whitelisted("a", &json!({"current_version": {"files": []}}), 3.0, cutoff()), Ok(false));
        assert_eq!(whitelisted("a", &rec(json!(true), 4.0, "2026-09-22T00:00:00Z"), 3.0, cutoff()), Ok(true), "exactly min-age");
        assert_eq!(whitelisted("a", &rec(json!(true), 4.0, "2026-09-22T00:00:01Z"), 3.0, cutoff()), Ok(false));
        assert!(whitelisted("a", &json!({"current_version": {"files": [{"is_webextension": true}]}}), 3.0, cutoff()).is_err());
    }
}
