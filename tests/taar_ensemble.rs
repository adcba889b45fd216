//! `taar-ensemble`: hand-checked inputs with the costs and labels they imply,
//! checked by the TAAR service's own recommenders (mozilla-taar3) and
//! scikit-learn; the whole TAAR pipeline on generated data, on a cluster and
//! embedded.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Cluster, GcsEmulator, assert_fails, consumer, fixture_table, generated_taar_data, ok, python, sql_json};
use crate::taar_collaborative::{COLLAB, read, run, write};

/// The models the ensemble test's clients are scored with (see the fixture).
fn ensemble_models(root: &Path) {
    let hash = |g: &str| g.chars().fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(c as u32)) & 0x7F_FFFF;
    let (p, q, r) = (hash("P"), hash("Q"), hash("R"));
    write(root.join(COLLAB).join("item_matrix.json"), &json!([{"id": p, "features": [1.0]}, {"id": q, "features": [1.0]}, {"id": r, "features": [0.5]}]));
    write(
        root.join(COLLAB).join("addon_mapping.json"),
        &json!({p.to_string(): {"id": "P", "isWebextension": true}, q.to_string(): {"id": "Q", "isWebextension": true},
                r.to_string(): {"id": "R", "isWebextension": true}}),
    );
    let donor = json!({"geo_city": "Donorville", "locale": "xx", "os": "DonorOS", "subsession_length": 0, "bookmark_count": 0,
                       "tab_open_count": 0, "total_uri": 0, "unique_tlds": 0, "active_addons": ["S2", "T2"]});
    write(root.join("taar/similarity/donors.json"), &json!([donor]));
    write(root.join("taar/similarity/lr_curves.json"), &json!([[0.0, [3.0, 1.0]], [5.0, [1.0, 2.0]]]));
    write(root.join("taar/locale/top10_dict.json"), &json!({"fr": [["Y3", 2.0], ["X3", 5.0]]}));
}

#[test]
fn ensemble_hand_checked_and_checked_by_taar_and_sklearn() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fixture_table(&data, "taar_ensemble_clients.sql", "clients_daily", "submission_date_s3");
    ensemble_models(&data);
    let (d, out) = (data.to_str().unwrap(), tmp.path().join("out"));
    ok(run("taar-ensemble", d, out.to_str().unwrap(), &["--training-table", "training"]));

    // The training clients, their add-ons by install day and their features as TAAR gets them.
    let rows = sql_json(&out, "SELECT client_id, geo_city, subsession_length, bookmark_count, tab_open_count, installed, expected, \
        cllr_collaborative, cllr_similarity, cllr_locale, label FROM training ORDER BY client_id");
    let by_id: HashMap<&str, &Value> = rows.iter().map(|r| (r["client_id"].as_str().unwrap(), r)).collect();
    let mut ids: Vec<&str> = by_id.keys().copied().collect();
    ids.sort();
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c7", "c9"]);
    assert_eq!(by_id["c1"]["installed"], json!(["K1", "K2", "K3", "P"]));
    assert_eq!(by_id["c1"]["expected"], json!(["Q"]));
    assert_eq!(by_id["c4"]["installed"], json!(["J1", "J2", "J3", "J5"]));
    assert_eq!(by_id["c4"]["expected"], json!(["J4"]));
    assert_eq!(
        [&by_id["c4"]["geo_city"], &by_id["c4"]["subsession_length"], &by_id["c4"]["bookmark_count"]],
        [&json!(""), &json!(7199), &json!(0)]
    );
    assert_eq!(by_id["c7"]["expected"], json!(["N5"]));
    assert_eq!([&by_id["c9"]["subsession_length"], &by_id["c9"]["bookmark_count"], &by_id["c9"]["tab_open_count"]], [&json!(1), &json!(2), &json!(0)]);

    // Costs: c1's Q (weight 1) on target, R (0.5) off; c2's S2 and T2 both ln 3;
    // c3's X3 (5) and Y3 (2); every other list misses the held-out add-on.
    let cost = |on: f64, off: f64| ((1.0 + 1.0 / on).log2() + (1.0 + off).log2()) / 2.0;
    let l3 = 3f64.ln();
    let expected_costs = [("c1", [cost(1.0, 0.5), 0.0, 0.0]), ("c2", [0.0, cost(l3, l3), 0.0]), ("c3", [0.0, 0.0, cost(5.0, 2.0)])];
    for (id, costs) in expected_costs {
        let got = ["cllr_collaborative", "cllr_similarity", "cllr_locale"].map(|c| by_id[id][c].as_f64().unwrap());
        for (g, e) in got.iter().zip(costs) {
            assert!((g - e).abs() < 1e-12, "{id}: {got:?} vs {costs:?}");
        }
        assert_eq!(by_id[id]["label"], json!(1));
    }
    for id in ["c4", "c7", "c9"] {
        assert_eq!(by_id[id]["label"], json!(0), "{id}");
    }

    // The service's recommenders give the same lists and costs, and
    // scikit-learn the same weights (all positive: each cost marks a hit).
    let models = out.clone();
    ensemble_models(&models);
    let training = out.join("training");
    let checked: Value = serde_json::from_str(&python(&[&consumer("taar_models.py"), models.to_str().unwrap(), "check-training", training.to_str().unwrap(), "100"], &[])).unwrap();
    assert_eq!(checked["mismatches"], json!(0), "{checked}");
    assert_eq!(checked["checked"], json!(6));
    assert_sklearn_agrees(&models, &training);
    let weights = read(out.join("taar/ensemble/ensemble_weight_daily.json"));
    assert_eq!(weights, read(out.join("taar/ensemble/ensemble_weight_daily20261121.json")));

    // The service's EnsembleRecommender reads the weights: a client with P installed in
    // locale fr next to the donor gets Q, R, X3, Y3, S2, T2 ranked by weight × score.
    let client = json!({"client_id": "someone", "installed_addons": ["P"], "geo_city": "Donorville", "locale": "fr", "os": "DonorOS",
                        "subsession_length": 1, "bookmark_count": 1, "tab_open_count": 1, "total_uri": 1, "unique_tlds": 1});
    let served: Value = serde_json::from_str(&python(&[&consumer("taar_models.py"), models.to_str().unwrap(), "ensemble", &client.to_string(), "4"], &[])).unwrap();
    assert_eq!(served["weights"], weights["ensemble_weights"]);
    let guids = |v: &Value| v.as_array().unwrap().iter().map(|r| r[0].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(guids(&served["service"]), guids(&served["by_hand"]));
    let w = &weights["ensemble_weights"];
    let mut by_hand = [("Q", w["collaborative"].as_f64().unwrap()), ("X3", 5.0 * w["locale"].as_f64().unwrap()), ("S2", l3 * w["similarity"].as_f64().unwrap())];
    by_hand.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert_eq!(guids(&served["service"])[0], by_hand[0].0);
}

/// scikit-learn's elastic-net logistic regression on the training table gives the job's weights.
fn assert_sklearn_agrees(models: &Path, training: &Path) {
    let fit: Value = serde_json::from_str(&python(&[&consumer("taar_models.py"), models.to_str().unwrap(), "regression", training.to_str().unwrap(), "0.1", "0.01"], &[])).unwrap();
    for r in ["collaborative", "similarity", "locale"] {
        let (ours, theirs) = (fit["fletch"][r].as_f64().unwrap(), fit["sklearn"][r].as_f64().unwrap());
        assert!(ours > 0.0 && (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1.0), "{r}: fletch {ours}, scikit-learn {theirs}");
    }
}

#[test]
fn ensemble_refuses_donors_taar_cannot_read_and_weights_that_are_not_positive() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fixture_table(&data, "taar_ensemble_clients.sql", "clients_daily", "submission_date_s3");
    ensemble_models(&data);
    let (d, out) = (data.to_str().unwrap(), tmp.path().join("out"));
    let o = out.to_str().unwrap();
    // Donors in taar-similarity's default (the original ETL's) field names.
    let etl_donors = tmp.path().join("etl_donors.json");
    write(&etl_donors, &json!([{"city": "Rome", "subsession_hours_sum": 1.0, "locale": "it", "os": "Linux", "active_addons": ["a"]}]));
    let r = run("taar-ensemble", d, o, &["--donors", etl_donors.to_str().unwrap()]);
    assert_fails(&r, 1, "--donor-schema taar", "donors without TAAR's field names");
    // No locale list names a held-out add-on: the locale cost is 0 for every
    // client, its weight 0, and nothing is written.
    write(data.join("taar/locale/top10_dict.json"), &json!({"fr": [["Y3", 2.0]]}));
    let r = run("taar-ensemble", d, o, &[]);
    assert_fails(&r, 1, "locale recommender's weight is 0", "a weight that is not positive");
    assert!(!out.join("taar/ensemble/ensemble_weight_daily.json").exists());
}

#[test]
fn collaborative_and_ensemble_same_on_a_cluster_and_checked_by_taar() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated_taar_data(tmp.path(), "0.01");
    let d = data.to_str().unwrap();
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let mut outputs = HashMap::new();
    for (name, scheduler) in [("embedded", None), ("cluster", Some(cluster.scheduler.clone()))] {
        let out = tmp.path().join(name);
        let o = out.to_str().unwrap();
        let on: Vec<&str> = scheduler.as_deref().map(|s| vec!["--scheduler", s]).unwrap_or_default();
        ok(run("taar-locale", d, o, &on));
        ok(run("taar-similarity", d, o, &[on.as_slice(), &["--donor-schema", "taar"]].concat()));
        ok(run("taar-collaborative", d, o, &on));
        ok(run("taar-ensemble", d, o, &[on.as_slice(), &["--models-root", o, "--training-table", "training"]].concat()));
        let files = [format!("{COLLAB}item_matrix.json"), format!("{COLLAB}addon_mapping.json"), "taar/ensemble/ensemble_weight_daily.json".into()];
        outputs.insert(name, files.map(|f| (std::fs::read_to_string(out.join(&f)).unwrap(), f)));
    }
    assert!(cluster.finished_tasks().iter().all(|n| *n > 0), "both executors ran tasks: {:?}", cluster.finished_tasks());
    assert!(cluster.procs.stop().is_empty());
    // Exact sums: the same factors, bytes and weights on any number of executors.
    for (embedded, cluster) in outputs["embedded"].iter().zip(&outputs["cluster"]) {
        assert!(embedded == cluster, "{} differs on the cluster", embedded.1);
    }

    // The service's recommenders agree with fletch's lists and costs on every training client.
    let out = tmp.path().join("embedded");
    let training = out.join("training");
    let checked: Value = serde_json::from_str(&python(&[&consumer("taar_models.py"), out.to_str().unwrap(), "check-training", training.to_str().unwrap(), "400"], &[])).unwrap();
    assert_eq!(checked["mismatches"], json!(0), "{checked}");
    assert!(checked["checked"].as_i64().unwrap() > 100, "{checked}");
    assert_sklearn_agrees(&out, &training);
    served_from_cloud_storage(tmp.path(), &out);
}

/// The models copied into Google Cloud Storage (an emulator) under the keys
/// docs/taar-service.md gives, as an operator's `gsutil rsync` would: the
/// TAAR service's own cache loads them from there (TAARCache._load_from_gcs)
/// and answers as from the files.
fn served_from_cloud_storage(dir: &Path, models: &Path) {
    let gcs = GcsEmulator::start(&dir.join("gcs"), "models");
    let env = gcs.env();
    let upload = "import os, sys; from google.cloud import storage; b = storage.Client().bucket('models'); \
        [b.blob('taar/' + os.path.relpath(os.path.join(d, f), sys.argv[1])).upload_from_filename(os.path.join(d, f)) \
         for d, _, fs in os.walk(sys.argv[1]) for f in fs if f.endswith('.json')]";
    python(&["-c", upload, models.to_str().unwrap()], &env);
    let ask = |root: &str, command: &str, arg: &str| -> Value {
        serde_json::from_str(&python(&[&consumer("taar_models.py"), root, command, arg, "4"], &env)).unwrap()
    };
    let local = models.to_str().unwrap();
    let mapping = read(models.join(COLLAB).join("addon_mapping.json"));
    let guid = mapping.as_object().unwrap().values().find(|e| e["isWebextension"] == json!(true)).unwrap()["id"].clone();
    let installed = json!([guid]).to_string();
    let from_gcs = ask("gs://models/taar", "collaborative", &installed);
    assert_eq!(from_gcs.as_array().unwrap().len(), 4, "{from_gcs}");
    assert_eq!(from_gcs, ask(local, "collaborative", &installed));
    let client = json!({"client_id": "someone", "installed_addons": [guid], "geo_city": "Berlin", "locale": "de", "os": "Linux",
                        "subsession_length": 3600, "bookmark_count": 5, "tab_open_count": 20, "total_uri": 100, "unique_tlds": 10});
    let served = ask("gs://models/taar", "ensemble", &client.to_string());
    assert_eq!(served["weights"], read(models.join("taar/ensemble/ensemble_weight_daily.json"))["ensemble_weights"]);
    assert!(!served["service"].as_array().unwrap().is_empty(), "{served}");
    assert_eq!(served, ask(local, "ensemble", &client.to_string()));
}
