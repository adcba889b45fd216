//! `taar-similarity`: exact output on hand-checked input, planted groups
//! recovered from generated data, the same output for the same seed and on a
//! cluster as embedded, loading in the TAAR service itself, and its errors.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Cluster, assert_fails, curated_input, generated_taar_data, consumer, fletch, ok, python, sql_json, stderr};

const WHITELIST: &str = "telemetry-ml/addon_recommender/only_guids_top_200.json";
const OUT: &str = "taar/similarity/";

fn similarity(data: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "taar-similarity", "-q", "--data-root", data, "--output-root", out, "--date", "20261121"];
    args.extend(extra);
    fletch(&args)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Writes the hand-checked clients_daily and its whitelist under `dir/data`.
fn hand_checked_input(dir: &Path) -> String {
    curated_input(dir, "taar_similarity_clients.sql", r#"["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]"#)
}

/// Spark's KernelDensity at `x` of a sample of copies of `s`.
fn gaussian(x: f64, s: f64, h: f64) -> f64 {
    (-((x - s) / h).powi(2) / 2.0).exp() / (h * (2.0 * std::f64::consts::PI).sqrt())
}

#[test]
fn hand_checked_clusters_donors_and_curves() {
    let tmp = tempfile::tempdir().unwrap();
    let data = hand_checked_input(tmp.path());
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    // Five clusters asked for, three found: each group is three identical clients, which cannot be split.
    let run = similarity(&data, o, &["--num-clusters", "5", "--num-pdf-points", "5", "--clients-sample-date-from", "20261101", "--num-donors", "50", "--clusters-table", "clusters"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("--num-donors 50 is below 100; using 100"), "{}", stderr(&run));

    let rows = sql_json(&out, "SELECT prediction, string_agg(client_id, ' ' ORDER BY client_id) AS members FROM clusters GROUP BY prediction");
    let groups: BTreeSet<&str> = rows.iter().map(|r| r["members"].as_str().unwrap()).collect();
    assert_eq!(groups, BTreeSet::from(["s1 s2 s3", "s4 s5 s6", "s7 s8 s9"]));
    let ids: BTreeSet<i64> = rows.iter().map(|r| r["prediction"].as_i64().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from([0, 1, 2]));

    // Fewer clients than donors: every client, without its id; s2's add-ons in its own order.
    let donors = read_json(&out.join(format!("{OUT}donors.json")));
    assert_eq!(donors, read_json(&out.join(format!("{OUT}donors20261121.json"))));
    let donor = |city: &str, locale: &str, os: &str, addons: [&str; 3]| {
        json!({"city": city, "subsession_hours_sum": 2.5, "locale": locale, "os": os, "bookmark_count": 10.0,
               "tab_open_count": 20, "total_uri": 40, "unique_tlds": 5.0, "active_addons": addons})
    };
    let mut expected: Vec<String> = [
        donor("Rome", "it", "Linux", ["a1", "a2", "a3"]),
        donor("Rome", "it", "Linux", ["a2", "a1", "a3"]),
        donor("Rome", "it", "Linux", ["a1", "a2", "a3"]),
    ]
    .into_iter()
    .chain((0..3).map(|_| donor("Berlin", "de", "Windows_NT", ["b1", "b2", "b3"])))
    .chain((0..3).map(|_| donor("Paris", "fr", "Darwin", ["c1", "c2", "c3"])))
    .map(|d| d.to_string())
    .collect();
    let mut got: Vec<String> = donors.as_array().unwrap().iter().map(Value::to_string).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);

    // Per cluster one within pair of identical clients (score 0), and three
    // across pairs with every categorical feature different and the same
    // continuous ones: (0 + 0.001) × 1. Five points over [0, 0.001).
    let curves = read_json(&out.join(format!("{OUT}lr_curves.json")));
    let curves = curves.as_array().unwrap();
    assert_eq!(curves.len(), 5);
    for (i, point) in curves.iter().enumerate() {
        let x = point[0].as_f64().unwrap();
        assert!((x - i as f64 * 0.0002).abs() < 1e-18, "{point}");
        let (num, den) = (point[1][0].as_f64().unwrap(), point[1][1].as_f64().unwrap());
        for (got, want) in [(num, gaussian(x, 0.0, 0.35)), (den, gaussian(x, 0.001, 0.35))] {
            assert!((got - want).abs() < 1e-12, "{point}: want {want}");
        }
    }
}

#[test]
fn one_cluster_of_equal_scores_gives_ratios_of_1_not_nan() {
    let tmp = tempfile::tempdir().unwrap();
    let data = hand_checked_input(tmp.path());
    // Only s1, s2 and s3 have 3 of these add-ons: one cluster of identical clients, so one
    // within pair scoring 0, no across pair, and an empty score range.
    let only_a = tmp.path().join("only-a.json");
    std::fs::write(&only_a, r#"["a1", "a2", "a3"]"#).unwrap();
    let out = tmp.path().join("out");
    let run = similarity(&data, out.to_str().unwrap(), &["--whitelist", only_a.to_str().unwrap(), "--num-pdf-points", "4", "--clients-sample-date-from", "20261101"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("every likelihood ratio is 1"), "{}", stderr(&run));
    assert_eq!(read_json(&out.join(format!("{OUT}donors.json"))).as_array().unwrap().len(), 3);
    // The range [0, 0) is widened to the bandwidth: [0, 0.35) in 4 points; both curves the same.
    let curves = read_json(&out.join(format!("{OUT}lr_curves.json")));
    let xs: Vec<f64> = curves.as_array().unwrap().iter().map(|p| p[0].as_f64().unwrap()).collect();
    assert_eq!(xs, fletch_udfs::density::grid(0.0, 0.35, 4));
    for point in curves.as_array().unwrap() {
        let (x, num, den) = (point[0].as_f64().unwrap(), point[1][0].as_f64().unwrap(), point[1][1].as_f64().unwrap());
        assert!(num == den && (num - gaussian(x, 0.0, 0.35)).abs() < 1e-12, "{point}");
    }
}

/// Adjusted Rand index of two labelings of the same items.
fn adjusted_rand_index(pairs: &[(i64, i64)]) -> f64 {
    let choose2 = |n: f64| n * (n - 1.0) / 2.0;
    let (mut cells, mut rows, mut cols) = (HashMap::new(), HashMap::new(), HashMap::new());
    for &(a, b) in pairs {
        *cells.entry((a, b)).or_insert(0.0) += 1.0;
        *rows.entry(a).or_insert(0.0) += 1.0;
        *cols.entry(b).or_insert(0.0) += 1.0;
    }
    let index: f64 = cells.values().map(|&n| choose2(n)).sum();
    let (a, b): (f64, f64) = (rows.values().map(|&n| choose2(n)).sum(), cols.values().map(|&n| choose2(n)).sum());
    let expected = a * b / choose2(pairs.len() as f64);
    (index - expected) / ((a + b) / 2.0 - expected)
}

/// The density-weighted mean score of one curve (0 within, 1 across).
fn mean_score(curves: &Value, side: usize) -> f64 {
    let points = curves.as_array().unwrap();
    let mass: f64 = points.iter().map(|p| p[1][side].as_f64().unwrap()).sum();
    points.iter().map(|p| p[0].as_f64().unwrap() * p[1][side].as_f64().unwrap()).sum::<f64>() / mass
}

#[test]
fn planted_groups_recovered_same_on_a_cluster_and_served_by_taar() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated_taar_data(tmp.path(), "0.05");
    let d = data.to_str().unwrap();
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let runs = [("embedded", None, "7"), ("again", None, "7"), ("cluster", Some(cluster.scheduler.clone()), "7"), ("other-seed", None, "8")];
    let mut outputs = HashMap::new();
    for (name, scheduler, seed) in &runs {
        let out = tmp.path().join(name);
        let mut extra = vec!["--num-clusters", "6", "--seed", seed, "--clusters-table", "clusters"];
        if let Some(s) = scheduler {
            extra.extend(["--scheduler", s.as_str()]);
        }
        ok(similarity(d, out.to_str().unwrap(), &extra));
        let files = ["donors.json", "lr_curves.json"].map(|f| std::fs::read_to_string(out.join(OUT).join(f)).unwrap());
        outputs.insert(*name, files);
    }
    assert!(cluster.finished_tasks().iter().all(|n| *n > 0), "both executors ran tasks: {:?}", cluster.finished_tasks());
    let forced = cluster.procs.stop();
    assert!(forced.is_empty(), "did not stop on SIGTERM: {forced:?}");
    assert_eq!(outputs["embedded"], outputs["again"], "same seed, same output");
    assert_eq!(outputs["embedded"], outputs["cluster"], "cluster and embedded differ");
    assert_ne!(outputs["embedded"][0], outputs["other-seed"][0], "another seed draws other donors");

    // The clusters are the generator's groups.
    let groups: HashMap<String, i64> = sql_json(&data, "SELECT client_id, \"group\" FROM clients_daily_groups")
        .iter()
        .map(|r| (r["client_id"].as_str().unwrap().to_string(), r["group"].as_i64().unwrap()))
        .collect();
    let pairs: Vec<(i64, i64)> = sql_json(&tmp.path().join("embedded"), "SELECT client_id, prediction FROM clusters")
        .iter()
        .map(|r| (r["prediction"].as_i64().unwrap(), groups[r["client_id"].as_str().unwrap()]))
        .collect();
    assert!(pairs.len() > 2000, "{} clients clustered", pairs.len());
    let ari = adjusted_rand_index(&pairs);
    assert!(ari >= 0.8, "adjusted Rand index {ari}");

    // Exactly 1,000 donors with exactly the ETL's keys; exactly 1,000 curve points,
    // and clients of one cluster are closer than clients of different ones.
    let donors: Value = serde_json::from_str(&outputs["embedded"][0]).unwrap();
    let donors = donors.as_array().unwrap();
    assert_eq!(donors.len(), 1000);
    let keys: BTreeSet<&str> = ["city", "subsession_hours_sum", "locale", "os", "bookmark_count", "tab_open_count", "total_uri", "unique_tlds", "active_addons"].into();
    assert!(donors.iter().all(|d| d.as_object().unwrap().keys().map(String::as_str).collect::<BTreeSet<_>>() == keys));
    let curves: Value = serde_json::from_str(&outputs["embedded"][1]).unwrap();
    assert_eq!(curves.as_array().unwrap().len(), 1000);
    assert!(curves.as_array().unwrap().iter().all(|p| p[0].is_f64() && p[1][0].is_f64() && p[1][1].is_f64()), "no NaN (null) anywhere");
    let (within, across) = (mean_score(&curves, 0), mean_score(&curves, 1));
    assert!(within < across - 0.1, "mean score within clusters {within}, across {across}");

    // The TAAR service's own SimilarityRecommender loads the taar-schema output
    // and recommends for a client like the generator's group 1 (de/Berlin).
    let served = tmp.path().join("served");
    ok(similarity(d, served.to_str().unwrap(), &["--num-clusters", "6", "--seed", "7", "--donor-schema", "taar"]));
    let (donors_json, curves_json) = (served.join(OUT).join("donors.json"), served.join(OUT).join("lr_curves.json"));
    assert_eq!(std::fs::read_to_string(&curves_json).unwrap(), outputs["embedded"][1], "the schema changes donors only");
    let client = json!({"client_id": "generated", "geo_city": "Berlin", "locale": "de", "os": "Windows_NT",
                        "subsession_length": 7200, "bookmark_count": 10, "tab_open_count": 20, "total_uri": 50, "unique_tlds": 6});
    let run = python(&[&consumer("taar_similarity.py"), donors_json.to_str().unwrap(), curves_json.to_str().unwrap(), &client.to_string(), "5"], &[]);
    let recommended: Vec<(String, f64)> = serde_json::from_str(&run).unwrap();
    assert_eq!(recommended.len(), 5, "{run}");
    let offered: BTreeSet<&str> = donors.iter().flat_map(|d| d["active_addons"].as_array().unwrap()).map(|g| g.as_str().unwrap()).collect();
    assert!(recommended.iter().all(|(g, w)| offered.contains(g.as_str()) && *w > 0.0), "{run}");
    assert!(recommended.windows(2).all(|w| w[0].1 >= w[1].1), "{run}");
}

#[test]
fn bad_inputs_fail_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = hand_checked_input(tmp.path());
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let fails = |extra: &[&str], data: &str, code: i32, needle: &str| {
        assert_fails(&similarity(data, o, extra), code, needle, &format!("{extra:?}"));
        assert!(!out.join("taar").exists() && !out.join("clusters").exists(), "{extra:?} wrote output");
        let staged = out.join(".fletch-staging");
        assert!(!staged.exists() || std::fs::read_dir(&staged).unwrap().next().is_none(), "{extra:?} left staging data");
    };
    fails(&["--num-clusters", "1"], &data, 2, "--num-clusters: expected 2 to 1000");
    fails(&["--clients-sample-date-from", "2026-13-01"], &data, 2, "--clients-sample-date-from: expected");
    fails(&["--clients-sample-date-from", "20261122"], &data, 2, "--clients-sample-date-from 20261122 is after --date 20261121");
    fails(&["--kernel-bandwidth", "0"], &data, 2, "--kernel-bandwidth: expected a positive number");
    fails(&["--donor-schema", "spark"], &data, 2, "--donor-schema: expected etl or taar, got `spark`");
    fails(&["--whitelist", "/no/such/list.json"], &data, 1, "whitelist file:///no/such/list.json: cannot read");
    // Nobody has 3 add-ons of this whitelist.
    let other = tmp.path().join("other.json");
    std::fs::write(&other, r#"["a1", "b1", "c1"]"#).unwrap();
    fails(&["--whitelist", other.to_str().unwrap(), "--clusters-table", "clusters"], &data, 1,
          "no Firefox release client in clients_daily from 20260823 to 20261121 has 3 or more valid whitelisted add-ons");
    let empty = tmp.path().join("no-inputs");
    std::fs::create_dir_all(empty.join(WHITELIST).parent().unwrap()).unwrap();
    std::fs::write(empty.join(WHITELIST), r#"["a1"]"#).unwrap();
    fails(&[], empty.to_str().unwrap(), 1, "input table `clients_daily` not found");
    let r = fletch(&["run", "taar-similarity", "--data-root", &data, "--output-root", o, "--date", "20261131"]);
    assert_fails(&r, 2, "--date: expected YYYYMMDD, got `20261131`", "bad --date");
}
