//! `taar-collaborative`: hand-checked clients with the model they imply,
//! checked by the TAAR service's own CollaborativeRecommender (mozilla-taar3).
//! On generated data and a cluster: tests/taar_ensemble.rs, which runs the
//! whole TAAR pipeline.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{consumer, fixture_table, fletch, ok, python};

/// Where taar-collaborative writes by default.
pub const COLLAB: &str = "telemetry-ml/addon_recommender/";

/// `fletch run JOB` on the TAAR tests' run date.
pub fn run(job: &str, data: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", job, "-q", "--data-root", data, "--output-root", out, "--date", "20261121"];
    args.extend(extra);
    fletch(&args)
}

/// A JSON file.
pub fn read(path: impl AsRef<Path>) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Writes a JSON file, making its folder.
pub fn write(path: impl AsRef<Path>, value: &Value) {
    std::fs::create_dir_all(path.as_ref().parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

/// TAAR's CollaborativeRecommender's guids for a client of `installed`, with the models under `root`.
fn collaborative(root: &Path, installed: &[&str]) -> Vec<String> {
    let out = python(&[&consumer("taar_models.py"), root.to_str().unwrap(), "collaborative", &json!(installed).to_string(), "4"], &[]);
    let recs: Vec<(String, f64)> = serde_json::from_str(&out).unwrap();
    recs.into_iter().map(|(g, _)| g).collect()
}

/// An AMO dump record: a name in its default locale and one file.
fn amo_record(guid: &str, webextension: bool) -> Value {
    json!({"guid": guid, "default_locale": "en-US", "name": {"en-US": format!("Name {guid}")},
           "current_version": {"files": [{"is_webextension": webextension, "status": "public"}]}})
}

#[test]
fn collaborative_hand_checked_and_served_by_taar() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fixture_table(&data, "taar_collaborative_clients.sql", "clients_daily", "submission_date_s3");
    let whitelist = ["A", "B", "C", "D", "E", "F", "L", "T", "X", "U", "N", "M", "S", "V", "Z"];
    write(data.join(COLLAB).join("only_guids_top_200.json"), &json!(whitelist));
    let dump: serde_json::Map<String, Value> = ["A", "B", "C", "D", "E", "F", "T", "X", "U", "N", "W", "S", "V", "Z"]
        .iter()
        .map(|g| (g.to_string(), amo_record(g, true)))
        .chain([("L".to_string(), amo_record("L", false))])
        .collect();
    write(data.join(COLLAB).join("extended_addons_database.json"), &Value::Object(dump));
    let (d, out) = (data.to_str().unwrap(), tmp.path().join("out"));
    ok(run("taar-collaborative", d, out.to_str().unwrap(), &[]));

    // The add-ons rated: the theme T needs no signature, the legacy L is rated
    // too; X U N W M S V are left out, as is Z (beta only). Ids are TAAR's
    // hashes (a one-letter guid's is its code).
    let matrix = read(out.join(COLLAB).join("item_matrix.json"));
    let ids: Vec<i64> = matrix.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, "ABCDEFLT".chars().map(|c| c as i64).collect::<Vec<_>>());
    assert!(matrix.as_array().unwrap().iter().all(|r| r["features"].as_array().unwrap().len() == 15));
    let mapping = read(out.join(COLLAB).join("addon_mapping.json"));
    assert_eq!(mapping["76"], json!({"name": "Name L", "id": "L", "isWebextension": false}));
    assert_eq!(mapping["65"], json!({"name": "Name A", "id": "A", "isWebextension": true}));
    assert_eq!(mapping.as_object().unwrap().len(), 8);
    assert_eq!(read(out.join(COLLAB).join("item_matrix20261121.json")), matrix);

    // TAAR's own recommender: the group's missing add-on first, never the legacy L.
    let root = out.as_path();
    assert_eq!(collaborative(root, &["A", "B"])[0], "C");
    assert_eq!(collaborative(root, &["D", "F"])[0], "E");
    assert!(!collaborative(root, &["D", "E", "F"]).contains(&"L".to_string()));

    // The same seed gives the same bytes; another seed other factors.
    let again = tmp.path().join("again");
    ok(run("taar-collaborative", d, again.to_str().unwrap(), &[]));
    assert_eq!(std::fs::read(again.join(COLLAB).join("item_matrix.json")).unwrap(), std::fs::read(out.join(COLLAB).join("item_matrix.json")).unwrap());
    let other = tmp.path().join("other");
    ok(run("taar-collaborative", d, other.to_str().unwrap(), &["--seed", "7"]));
    assert_ne!(read(other.join(COLLAB).join("item_matrix.json")), matrix);
}

