//! `taar-locale`: exact output on hand-checked input, the same output on a
//! cluster as embedded, loading in the TAAR service itself, and its error paths.

use std::path::Path;

use fletch_udfs::hash::seeded_hash_of as seeded_hash;

use crate::support::{Cluster, assert_fails, curated_input, generated_taar_data, consumer, fletch, ok, python, sql_csv};

const WHITELIST: &str = "telemetry-ml/addon_recommender/only_guids_top_200.json";

/// Writes the hand-checked clients_daily and the whitelist ["A", "B", "C"] under `dir/data`.
fn hand_checked_input(dir: &Path) -> String {
    curated_input(dir, "taar_locale_clients.sql", r#"["A", "B", "C"]"#)
}

fn locale(data: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "taar-locale", "-q", "--data-root", data, "--output-root", out, "--date", "20261121"];
    args.extend(extra);
    fletch(&args)
}

#[test]
fn hand_checked_counts_without_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let data = hand_checked_input(tmp.path());
    let out = tmp.path().join("out");
    ok(locale(&data, out.to_str().unwrap(), &["--noise", "none"]));
    let got = std::fs::read_to_string(out.join("taar/locale/top10_dict.json")).unwrap();
    assert_eq!(got, std::fs::read_to_string(out.join("taar/locale/top10_dict20261121.json")).unwrap());
    // de: A from c1 (latest day) and c2 → A 1.0; B and C tie at 0.0, later entry first.
    // fr: c5 keeps whichever of A and C sorts first by seeded_hash; c6 has C.
    // it: all zero (the original wrote NaN here).
    let fr = if seeded_hash(42, "c5/A") < seeded_hash(42, "c5/C") {
        r#"[["C",0.5],["A",0.5],["B",0.0]]"#
    } else {
        r#"[["C",1.0],["B",0.0],["A",0.0]]"#
    };
    let expected = format!(r#"{{"de":[["A",1.0],["C",0.0],["B",0.0]],"fr":{fr},"it":[["C",0.0],["B",0.0],["A",0.0]]}}"#);
    assert_eq!(got, expected);

    // --num-addons cuts the lists.
    ok(locale(&data, out.to_str().unwrap(), &["--noise", "none", "--num-addons", "1"]));
    let got = std::fs::read_to_string(out.join("taar/locale/top10_dict.json")).unwrap();
    assert!(got.starts_with(r#"{"de":[["A",1.0]],"#), "{got}");
}

#[test]
fn cluster_matches_embedded_and_the_taar_service_loads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated_taar_data(tmp.path(), "0.005");
    let d = data.to_str().unwrap();
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let mut outputs = Vec::new();
    for (mode, scheduler) in [("embedded", None), ("cluster", Some(cluster.scheduler.as_str()))] {
        let out = tmp.path().join(mode);
        let mut extra = vec!["--seed", "7", "--prefix", "p/"];
        if let Some(s) = scheduler {
            extra.extend(["--scheduler", s]);
        }
        ok(locale(d, out.to_str().unwrap(), &extra));
        outputs.push(std::fs::read_to_string(out.join("p/top10_dict.json")).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    let dict: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&outputs[0]).unwrap();
    assert!(dict.len() >= 15 && dict.values().all(|v| v.as_array().unwrap().len() == 10), "{outputs:?}");
    assert!(!dict.contains_key("null"));
    // Another seed, other noise.
    let other = tmp.path().join("other");
    ok(locale(d, other.to_str().unwrap(), &["--seed", "8", "--prefix", "p/"]));
    assert_ne!(std::fs::read_to_string(other.join("p/top10_dict.json")).unwrap(), outputs[0]);
    let forced = cluster.procs.stop();
    assert!(forced.is_empty(), "did not stop on SIGTERM: {forced:?}");

    // The TAAR service's own LocaleRecommender loads the output and recommends
    // for a generated client.
    let client = sql_csv(None, &data, "SELECT client_id, locale FROM clients_daily WHERE locale IN ('de', 'fr') ORDER BY client_id LIMIT 1", &[]);
    let locale = client.lines().nth(1).unwrap().split(',').nth(1).unwrap().to_string();
    let json = tmp.path().join("embedded/p/top10_dict.json");
    let run = python(&[&consumer("taar_locale.py"), json.to_str().unwrap(), &locale, "4"], &[]);
    let recommended: serde_json::Value = serde_json::from_str(&run).unwrap();
    let ours = &dict[&locale].as_array().unwrap()[..4];
    assert_eq!(recommended.as_array().unwrap(), ours, "recommendations for {client}");
}

#[test]
fn bad_inputs_fail_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = hand_checked_input(tmp.path());
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let fails = |extra: &[&str], data: &str, code: i32, needle: &str| {
        assert_fails(&locale(data, o, extra), code, needle, &format!("{extra:?}"));
        assert!(!out.join("taar").exists(), "{extra:?} wrote output");
    };
    let empty = tmp.path().join("no-inputs");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("wl.json"), "[]").unwrap();
    fails(&["--whitelist", empty.join("wl.json").to_str().unwrap()], &data, 1, "wl.json: the list is empty");
    std::fs::write(empty.join("bad.json"), "{\"A\": 1").unwrap();
    fails(&["--whitelist", empty.join("bad.json").to_str().unwrap()], &data, 1, "(expected a JSON list of guid strings)");
    fails(&["--whitelist", "/no/such/whitelist.json"], &data, 1, "whitelist file:///no/such/whitelist.json: cannot read");
    std::fs::create_dir_all(empty.join(WHITELIST).parent().unwrap()).unwrap();
    std::fs::write(empty.join(WHITELIST), r#"["A"]"#).unwrap();
    fails(&[], empty.to_str().unwrap(), 1, "input table `clients_daily` not found: no Parquet files under file://");
    // Add-ons without a field the job reads are named before anything runs.
    let sql = tmp.path().join("narrow.sql");
    std::fs::write(&sql, "SELECT 'c1' AS client_id, '20261121' AS submission_date_s3, 'Firefox' AS app_name, 'release' AS channel, \
                          'de' AS locale, [named_struct('addon_id', 'A', 'type', 'extension')] AS active_addons").unwrap();
    let (e, s) = (empty.to_str().unwrap(), sql.to_str().unwrap());
    ok(fletch(&["run", "sql-file", "-q", "--data-root", e, "--output-root", e, "--sql", s, "--table", "clients_daily", "--partition-by", "submission_date_s3"]));
    fails(&[], e, 1, "input table `clients_daily`: column `active_addons` has no struct field `blocklisted`");
    fails(&["--noise", "gauss"], &data, 2, "--noise: expected laplace or none, got `gauss`");
    fails(&["--epsilon", "0"], &data, 2, "--epsilon: expected a positive number");
    let r = fletch(&["run", "taar-locale", "--data-root", &data, "--output-root", o, "--date", "20261131"]);
    assert_fails(&r, 2, "--date: expected YYYYMMDD, got `20261131`", "bad --date");
}
