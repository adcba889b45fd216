//! `amo`: what the addons.mozilla.org v3 API returns for the catalogue's
//! extensions, as static files, plus what the TAAR jobs derive from it.
//!
//! - `amo_api/search/<page>.json`: the search results
//!   (`/api/v3/addons/search/?app=firefox&sort=created&type=extension&page=<page>`),
//!   25 per page, each page carrying `page_count`.
//! - `amo_api/versions/<guid>/<page>.json`: an add-on's
//!   versions (`/api/v3/addons/addon/<guid>/versions/?page=<page>`), newest
//!   first; the oldest version's first file holds the creation date.
//! - `telemetry-ml/addon_recommender/extended_addons_database.json`: the dump
//!   `taar-amodump` makes from those pages (`{guid: record + first_create_date}`).
//! - `telemetry-ml/addon_recommender/only_guids_top_200.json`: the curated whitelist.
//! - `amo_api/editorial/recommended.json` and `all.json`: the editorial
//!   endpoint (`/api/v4/discovery/editorial/`, with and without
//!   `recommended=true`) `taar-update-whitelist` reads: the curated add-ons
//!   (every tenth listed twice) and rows without a usable guid (`null`,
//!   `"null"`, `""`, no `addon`); `all` adds 40 add-ons that are not recommended.
//!
//! The catalogue is fixed (2,000 extensions) whatever the scale, so its guids
//! always match `clients-daily`'s.

use chrono::{Days, NaiveDate};
use rand::Rng;
use serde_json::{Value, json};

use crate::addons::{Addon, Catalogue};
use crate::rng::stream;
use crate::{GenOptions, Result, Sinks};

pub const API_TABLE: &str = "amo_api";
pub const PREFIX: &str = "telemetry-ml/addon_recommender/";
pub const DUMP_FILE: &str = "extended_addons_database.json";
pub const CURATED_FILE: &str = "only_guids_top_200.json";
pub const PAGE_SIZE: usize = 25;
const STREAM_AMO: u64 = 0xA70;
const CATEGORIES: &[&str] = &["privacy-security", "tabs", "appearance", "shopping", "social-communication"];

/// Guids as they appear in URL paths: everything but unreserved characters
/// escaped. Stores decode it again, so the folder is named by the raw guid.
pub fn encode_guid(guid: &str) -> String {
    guid.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn iso(date: NaiveDate, seconds: u32) -> String {
    format!("{}T{:02}:{:02}:{:02}Z", date.format("%Y-%m-%d"), seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// One add-on's versions, newest first; the last one is the oldest.
fn versions(addon: &Addon, rng: &mut impl Rng, created_at: &str) -> Vec<Value> {
    let n = if rng.random_bool(0.05) { rng.random_range(26..80) } else { rng.random_range(1..8) };
    let span = (NaiveDate::from_ymd_opt(2026, 10, 31).expect("date") - addon.created).num_days().max(1) as u64;
    (0..n)
        .rev()
        .map(|k| {
            let created = if k == 0 {
                created_at.to_string()
            } else {
                iso(addon.created + Days::new(span * k as u64 / n as u64), rng.random_range(0..86_400))
            };
            json!({
                "id": rng.random_range(1_000_000..9_999_999u32),
                "version": format!("{}.{}", k + 1, rng.random_range(0..10)),
                "files": [{"id": rng.random_range(1_000_000..9_999_999u32), "created": created,
                           "is_webextension": addon.is_webextension, "platform": "all", "status": "public"}],
            })
        })
        .collect()
}

fn record(id: usize, addon: &Addon, rng: &mut impl Rng, created_at: &str) -> Value {
    // A few records have no file or a null webextension flag (edge cases of the whitelist rule).
    let files = if rng.random_bool(0.01) {
        json!([])
    } else {
        let flag = if rng.random_bool(0.01) { Value::Null } else { Value::Bool(addon.is_webextension) };
        json!([{"id": 100_000 + id, "created": created_at, "is_webextension": flag, "platform": "all", "status": "public"}])
    };
    json!({
        "id": 1_000 + id,
        "guid": addon.guid,
        "slug": addon.name.to_lowercase().replace(' ', "-"),
        "name": {"en-US": addon.name},
        "summary": {"en-US": format!("{} for Firefox.", addon.name)},
        "default_locale": "en-US",
        "type": addon.kind,
        "categories": {"firefox": [CATEGORIES[id % CATEGORIES.len()]]},
        "current_version": {"id": 500_000 + id, "version": addon.version, "files": files},
        "ratings": {"average": (addon.rating * 100.0).round() / 100.0, "bayesian_average": (addon.rating * 90.0).round() / 100.0,
                    "count": addon.rating_count, "text_count": addon.rating_count / 4},
        "tags": [],
        "weekly_downloads": addon.weekly_downloads,
        "average_daily_users": addon.weekly_downloads * 3,
        "is_featured": addon.is_featured,
    })
}

fn page(results: &[Value], page: usize, pages: usize, count: usize) -> Vec<u8> {
    let next = (page < pages).then(|| format!("?page={}", page + 1));
    serde_json::to_vec(&json!({"page_count": pages, "count": count, "next": next, "results": results})).expect("json")
}

pub async fn generate(cat: &Catalogue, opts: &GenOptions, sinks: &mut Sinks) -> Result<()> {
    if opts.scale != 1.0 {
        opts.progress.note("amo: the catalogue has a fixed size; --scale does not change it");
    }
    let mut rng = stream(opts.seed, &[STREAM_AMO]);
    let api = sinks.open(API_TABLE)?;
    let extensions = cat.amo_extensions();
    // Search results are sorted by creation date, as `sort=created` asks.
    let mut order: Vec<usize> = (0..extensions.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(extensions[i].created), i));
    let mut dump = serde_json::Map::new();
    let mut records = Vec::with_capacity(order.len());
    let mut files = Vec::new();
    for &i in &order {
        let addon = &extensions[i];
        let created_at = iso(addon.created, rng.random_range(0..86_400));
        let rec = record(i, addon, &mut rng, &created_at);
        let vs = versions(addon, &mut rng, &created_at);
        let pages = vs.len().div_ceil(PAGE_SIZE);
        for (p, chunk) in vs.chunks(PAGE_SIZE).enumerate() {
            files.push((format!("versions/{}/{}.json", encode_guid(&addon.guid), p + 1), page(chunk, p + 1, pages, vs.len())));
        }
        let mut with_date = rec.clone();
        with_date["first_create_date"] = json!(created_at);
        dump.insert(addon.guid.clone(), with_date);
        records.push(rec);
    }
    let pages = records.len().div_ceil(PAGE_SIZE);
    for (p, chunk) in records.chunks(PAGE_SIZE).enumerate() {
        files.push((format!("search/{}.json", p + 1), page(chunk, p + 1, pages, records.len())));
    }
    sinks.get(api).write_all(files).await?;
    sinks.get(api).add_rows(records.len() as u64);
    sinks.file(&format!("{PREFIX}{DUMP_FILE}"), serde_json::to_vec(&dump).expect("json")).await?;
    let mut curated: Vec<&str> = cat.curated.iter().map(|&i| cat.addons[i].guid.as_str()).collect();
    curated.sort_unstable();
    sinks.file(&format!("{PREFIX}{CURATED_FILE}"), serde_json::to_vec_pretty(&curated).expect("json")).await?;
    let (recommended, all) = editorial(cat);
    sinks.get(api).write_all(vec![("editorial/recommended.json".into(), recommended), ("editorial/all.json".into(), all)]).await?;
    Ok(())
}

/// The editorial endpoint's answers: recommended only, and all.
fn editorial(cat: &Catalogue) -> (Vec<u8>, Vec<u8>) {
    let row = |guid: Value| json!({"addon": {"guid": guid, "type": "extension"}, "custom_heading": null, "custom_description": ""});
    let mut recommended: Vec<Value> = Vec::new();
    for (n, &i) in cat.curated.iter().enumerate() {
        recommended.push(row(json!(cat.addons[i].guid)));
        if n % 10 == 0 {
            recommended.push(row(json!(cat.addons[i].guid)));
        }
    }
    recommended.extend([row(Value::Null), row(json!("null")), row(json!("")), json!({"custom_heading": "no add-on"})]);
    let others = cat.amo_extensions().iter().filter(|a| !cat.curated.iter().any(|&i| cat.addons[i].guid == a.guid)).take(40);
    let mut all = recommended.clone();
    all.extend(others.map(|a| row(json!(a.guid))));
    let answer = |results: Vec<Value>| serde_json::to_vec(&json!({"count": results.len(), "results": results})).expect("json");
    (answer(recommended), answer(all))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use crate::testing::{gen_into, read_tree};
    use crate::{Dataset, addons};

    #[tokio::test]
    async fn api_pages_dump_and_whitelist_agree() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        gen_into(Dataset::Amo, a.path(), 1.0, 42).await;
        gen_into(Dataset::Amo, b.path(), 1.0, 42).await;
        let files = read_tree(a.path());
        assert_eq!(files, read_tree(b.path()));
        let json = |rel: &str| -> Value { serde_json::from_slice(&files[rel]).unwrap_or_else(|e| panic!("{rel}: {e}")) };

        // Every search page says how many pages there are; together they list every extension once.
        let first = json("amo_api/search/1.json");
        let pages = first["page_count"].as_u64().unwrap() as usize;
        assert_eq!(pages, addons::AMO_EXTENSIONS.div_ceil(super::PAGE_SIZE));
        let mut listed = BTreeMap::new();
        for p in 1..=pages {
            for r in json(&format!("amo_api/search/{p}.json"))["results"].as_array().unwrap() {
                assert!(listed.insert(r["guid"].as_str().unwrap().to_string(), r.clone()).is_none());
            }
        }
        assert_eq!(listed.len(), addons::AMO_EXTENSIONS);

        // The dump is the search records plus the oldest version's creation date.
        let dump = json("telemetry-ml/addon_recommender/extended_addons_database.json");
        let dump = dump.as_object().unwrap();
        assert_eq!(dump.len(), listed.len());
        let mut multi_page = 0;
        for (guid, rec) in dump {
            let mut plain = rec.clone();
            let date = plain.as_object_mut().unwrap().remove("first_create_date").unwrap();
            assert_eq!(&plain, &listed[guid]);
            let dir = format!("amo_api/versions/{guid}");
            let last_page = json(&format!("{dir}/1.json"))["page_count"].as_u64().unwrap();
            multi_page += usize::from(last_page > 1);
            let last = json(&format!("{dir}/{last_page}.json"));
            let oldest = last["results"].as_array().unwrap().last().unwrap();
            assert_eq!(oldest["files"][0]["created"], date, "{guid}");
        }
        assert!(multi_page > 0, "some add-ons have several version pages");

        // Planted: Pioneer, legacy, low-rated, young add-ons, and edge-case files.
        assert!(dump.contains_key(addons::PIONEER_GUID));
        let legacy = dump.values().filter(|r| r["current_version"]["files"][0]["is_webextension"] == false).count();
        let low = dump.values().filter(|r| r["ratings"]["average"].as_f64().unwrap() < 3.0).count();
        let young = dump.values().filter(|r| r["first_create_date"].as_str().unwrap() > "2026-09-01").count();
        let no_files = dump.values().filter(|r| r["current_version"]["files"].as_array().unwrap().is_empty()).count();
        assert!(legacy > 100 && low > 100 && young > 50 && no_files > 0, "{legacy} {low} {young} {no_files}");

        // The curated whitelist: 200 sorted guids, all in the dump, none Pioneer.
        let curated: Vec<String> = serde_json::from_value(json("telemetry-ml/addon_recommender/only_guids_top_200.json")).unwrap();
        assert_eq!(curated.len(), 200);
        assert!(curated.windows(2).all(|w| w[0] < w[1]));
        assert!(curated.iter().all(|g| dump.contains_key(g) && g != addons::PIONEER_GUID));
    }
}

#[cfg(test)]
mod agreement_tests {
    use std::collections::HashSet;

    use datafusion::arrow::array::AsArray;
    use fletch_engine::catalog::register_input;
    use fletch_engine::session::{Mode, connect};

    use crate::testing::gen_into;
    use crate::{Dataset, clients_daily};

    #[tokio::test]
    async fn clients_report_the_guids_amo_describes() {
        let dir = tempfile::tempdir().unwrap();
        gen_into(Dataset::Amo, dir.path(), 1.0, 5).await;
        let root = gen_into(Dataset::ClientsDaily, dir.path(), 0.005, 5).await;
        let dump: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&std::fs::read(dir.path().join("telemetry-ml/addon_recommender/extended_addons_database.json")).unwrap()).unwrap();
        let ctx = connect(&Mode::Embedded).await.unwrap();
        register_input(&ctx, &root, clients_daily::TABLE).await.unwrap();
        let q = "SELECT DISTINCT a['addon_id'] FROM (SELECT unnest(active_addons) AS a FROM clients_daily) \
                 WHERE a['type'] = 'extension' AND a['is_system'] = false";
        let batches = ctx.sql(q).await.unwrap().collect().await.unwrap();
        let installed: HashSet<String> =
            batches.iter().flat_map(|b| b.column(0).as_string::<i32>().iter().flatten().map(str::to_string).collect::<Vec<_>>()).collect();
        assert!(installed.len() > 300, "{}", installed.len());
        let unknown: Vec<_> = installed.iter().filter(|g| !dump.contains_key(*g)).collect();
        assert!(unknown.is_empty(), "installed extensions AMO does not know: {unknown:?}");
        let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("_manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["datasets"]["amo"]["tables"]["amo_api"]["rows"], 2000);
        assert_eq!(manifest["datasets"]["clients-daily"]["seed"], 5);
    }
}
