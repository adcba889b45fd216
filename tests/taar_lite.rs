//! `taar-amowhitelist`, `taar-lite-guidranking` and `taar-lite-guidguid`:
//! exact output on hand-checked input, and the same output on a cluster.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Cluster, consumer, fixture_table, fletch, generated_taar_data, ok, python, repo_path, stderr};

const WHITELIST: &str = "telemetry-ml/addon_recommender/whitelist_addons_database.json";

fn run(job: &str, data: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", job, "-q", "--data-root", data, "--output-root", out, "--date", "20261121"];
    args.extend(extra);
    fletch(&args)
}

fn read(path: impl AsRef<Path>) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn record(guid: &str, webext: Value, rating: f64, created: &str, featured: bool) -> Value {
    json!({"guid": guid, "current_version": {"files": [{"is_webextension": webext}]},
           "ratings": {"average": rating}, "first_create_date": created, "is_featured": featured})
}

/// clients_daily from `fixture` and an AMO whitelist dump of A B C D (WebExtensions), E (legacy) and Pioneer.
fn lite_input(dir: &Path, fixture: &str) -> String {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("telemetry-ml/addon_recommender")).unwrap();
    let old = "2020-01-01T00:00:00Z";
    let dump: serde_json::Map<String, Value> = ["A", "B", "C", "D", "pioneer-opt-in@mozilla.org"]
        .iter()
        .map(|g| (g.to_string(), record(g, json!(true), 4.0, old, false)))
        .chain([("E".to_string(), record("E", json!(false), 4.0, old, false))])
        .collect();
    std::fs::write(data.join(WHITELIST), serde_json::to_vec(&dump).unwrap()).unwrap();
    fixture_table(&data, fixture, "clients_daily", "submission_date_s3");
    data.to_str().unwrap().to_string()
}

#[test]
fn guidranking_and_guidguid_hand_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = lite_input(tmp.path(), "taar_lite_clients.sql");
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();

    // Every occurrence on Firefox release days in the window, no state filter.
    ok(run("taar-lite-guidranking", &data, o, &[]));
    let ranking = read(out.join("taar/lite/guid_install_ranking.json"));
    assert_eq!(ranking, json!({"A": 7, "B": 5, "C": 4, "D": 2, "E": 1, "pioneer-opt-in@mozilla.org": 1}));
    assert_eq!(ranking, read(out.join("taar/lite/guid_install_ranking20261121.json")));

    // Latest day per client; A twice on k1 pairs with itself (2·1) and with B (2·1).
    ok(run("taar-lite-guidguid", &data, o, &[]));
    assert_eq!(
        read(out.join("taar/lite/guid_coinstallation.json")),
        json!({"A": {"A": 2, "B": 3, "C": 2}, "B": {"A": 3, "C": 2}, "C": {"A": 2, "B": 2}})
    );
    // TAAR's own GuidBasedRecommender loads both files (its cache derives the
    // normalisation maps). Raw counts for A: B 3, then A and C at 2, tied
    // weights broken by install ranking (A 7 before C 4). Row counts (in how
    // many rows a guid appears: A 3, B 2, C 2): B 3/2, C 2/2, A 2/3.
    let recommend = |normalize: &str| -> Value {
        let (coinstall, ranking) = (out.join("taar/lite/guid_coinstallation.json"), out.join("taar/lite/guid_install_ranking.json"));
        serde_json::from_str(&python(&[&consumer("taar_lite.py"), coinstall.to_str().unwrap(), ranking.to_str().unwrap(), "A", normalize, "4"], &[])).unwrap()
    };
    assert_eq!(
        recommend("none"),
        json!([["B", "000000003.0000000000.0000000005"], ["A", "000000002.0000000000.0000000007"], ["C", "000000002.0000000000.0000000004"]])
    );
    assert_eq!(
        recommend("row_count"),
        json!([["B", "000000001.5000000000.0000000005"], ["C", "000000001.0000000000.0000000004"], ["A", "000000000.6666666667.0000000007"]])
    );

    // The original's join: k1's two days, each weighted by its two days.
    ok(run("taar-lite-guidguid", &data, o, &["--legacy-join", "true", "--prefix", "legacy/"]));
    assert_eq!(
        read(out.join("legacy/guid_coinstallation.json")),
        json!({"A": {"A": 4, "B": 5, "C": 2}, "B": {"A": 5, "C": 2}, "C": {"A": 2, "B": 2, "D": 2}, "D": {"C": 2}})
    );

    // A client-day listed twice: each row pairs its own add-ons, as the
    // original pairs within a row (its lists were never merged).
    let repeated = lite_input(&tmp.path().join("repeated"), "taar_lite_repeated_day.sql");
    ok(run("taar-lite-guidguid", &repeated, o, &["--prefix", "repeated/"]));
    assert_eq!(read(out.join("repeated/guid_coinstallation.json")), json!({"A": {"B": 2}, "B": {"A": 2}}));

    // A dump with no WebExtension file is the original's "Empty AMO whitelist".
    let legacy_only = tmp.path().join("legacy.json");
    std::fs::write(&legacy_only, serde_json::to_vec(&json!({"E": record("E", json!(false), 4.0, "2020-01-01T00:00:00Z", false)})).unwrap()).unwrap();
    let failed = run("taar-lite-guidguid", &data, o, &["--whitelist", legacy_only.to_str().unwrap(), "--prefix", "empty/"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(stderr(&failed).contains("no add-on with a WebExtension file"), "{}", stderr(&failed));
    assert!(!out.join("empty").exists());
}

#[test]
fn amowhitelist_hand_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("telemetry-ml/addon_recommender")).unwrap();
    // --date 20261121, --min-age-days 60: created on or before 2026-09-22 00:00, offsets dropped.
    let dump = json!({
        "A": record("A", json!(true), 4.0, "2020-01-01T00:00:00Z", true),
        "B": record("B", json!(true), 3.0, "2020-01-01T00:00:00Z", false),
        "C59": record("C59", json!(true), 4.0, "2026-09-23T10:00:00Z", false),
        "D61": record("D61", json!(true), 4.0, "2026-09-21T23:00:00-05:00", false),
        "E": record("E", json!(false), 4.0, "2020-01-01T00:00:00Z", true),
        "N": record("N", json!(null), 4.0, "2020-01-01T00:00:00Z", false),
        "L": record("L", json!(true), 2.5, "2020-01-01T00:00:00Z", false),
        "pioneer-opt-in@mozilla.org": record("pioneer-opt-in@mozilla.org", json!(true), 5.0, "2020-01-01T00:00:00Z", true),
    });
    std::fs::write(data.join("telemetry-ml/addon_recommender/extended_addons_database.json"), serde_json::to_vec(&dump).unwrap()).unwrap();
    let out = tmp.path().join("out");
    ok(run("taar-amowhitelist", data.to_str().unwrap(), out.to_str().unwrap(), &["--prefix", "amo/"]));
    let keys = |name: &str| -> Vec<String> { read(out.join(format!("amo/{name}.json"))).as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys("whitelist_addons_database"), ["A", "B", "D61", "N"]);
    assert_eq!(keys("featured_addons_database"), ["A", "E", "pioneer-opt-in@mozilla.org"]);
    assert_eq!(keys("featured_whitelist_addons"), ["A"]);
    assert_eq!(read(out.join("amo/whitelist_addons_database.json"))["B"], dump["B"], "records are kept whole");
    assert!(out.join("amo/featured_whitelist_addons20261121.json").exists());
}

#[test]
fn taar_lite_cluster_matches_embedded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated_taar_data(tmp.path(), "0.005");
    let d = data.to_str().unwrap();
    ok(run("taar-amowhitelist", d, d, &[]));
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    for job in ["taar-lite-guidranking", "taar-lite-guidguid"] {
        let mut outputs = Vec::new();
        for (mode, scheduler) in [("embedded", None), ("cluster", Some(cluster.scheduler.as_str()))] {
            let out = tmp.path().join(mode);
            let mut extra = vec![];
            if let Some(s) = scheduler {
                extra.extend(["--scheduler", s]);
            }
            ok(run(job, d, out.to_str().unwrap(), &extra));
            let file = if job.ends_with("guidranking") { "guid_install_ranking.json" } else { "guid_coinstallation.json" };
            outputs.push(read(out.join("taar/lite").join(file)));
        }
        assert!(outputs[0].as_object().unwrap().len() > 100, "{job}: {}", outputs[0]);
        assert_eq!(outputs[0], outputs[1], "{job}");
    }
    let forced = cluster.procs.stop();
    assert!(forced.is_empty(), "did not stop on SIGTERM: {forced:?}");
}

/// The AMO test server (tests/servers/amo_server.py) over generated pages.
fn amo_server(api_dir: &Path, log_dir: &Path, faults: &[&str]) -> (String, crate::support::Processes) {
    let port = crate::support::free_port(false);
    let script = repo_path("tests/servers/amo_server.py");
    let mut args = vec![script, api_dir.to_str().unwrap().to_string(), port.to_string()];
    args.extend(faults.iter().map(|s| s.to_string()));
    let procs = crate::support::Processes::start("amo", "python3", &args, &log_dir.join("amo.log"));
    let addr = format!("127.0.0.1:{port}");
    crate::support::wait_for_port(&addr, &log_dir.join("amo.log"));
    (format!("http://{addr}"), procs)
}

#[test]
fn amodump_rebuilds_the_dump_through_faults() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(fletch(&["gen", "amo", "-q", "--output-root", data.to_str().unwrap()]));
    let expected = read(data.join("telemetry-ml/addon_recommender/extended_addons_database.json"));

    // Every paged URL (search pages, later version pages) fails once, and
    // search page 3 is slower than the timeout once: retries recover.
    let faults = ["--flaky", "1", "--flaky-match", "page=", "--slow-first", "type=extension&page=3", "3"];
    let (url, _server) = amo_server(&data.join("amo_api"), tmp.path(), &faults);
    let out = tmp.path().join("out");
    let done = run("taar-amodump", data.to_str().unwrap(), out.to_str().unwrap(), &["--amo-url", &url, "--timeout-secs", "2", "--retries", "3", "--workers", "16"]);
    assert!(done.status.success(), "{}", stderr(&done));
    assert_eq!(read(out.join("telemetry-ml/addon_recommender/extended_addons_database.json")), expected);
    assert_eq!(read(out.join("telemetry-ml/addon_recommender/extended_addons_database20261121.json")), expected);

    // A page that always fails fails the job, naming it, and writes nothing.
    let (url, _server) = amo_server(&data.join("amo_api"), tmp.path(), &["--always-fail", "page=2"]);
    let out = tmp.path().join("failed");
    let failed = run("taar-amodump", data.to_str().unwrap(), out.to_str().unwrap(), &["--amo-url", &url, "--retries", "2"]);
    assert_eq!(failed.status.code(), Some(1));
    let err = stderr(&failed);
    assert!(err.contains("AMO request failed after 3 attempts") && err.contains("page=2") && err.contains("500"), "{err}");
    assert!(!out.exists(), "nothing may be written");
}

/// `taar-update-whitelist` rebuilds the curated whitelist `gen amo` wrote,
/// byte for byte, from the editorial endpoint through a transient failure,
/// validating every guid; a guid that cannot be validated and a short list
/// fail the job and write nothing.
#[test]
fn update_whitelist_rebuilds_the_curated_list_through_faults() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(fletch(&["gen", "amo", "-q", "--output-root", data.to_str().unwrap()]));
    let curated = "telemetry-ml/addon_recommender/only_guids_top_200.json";
    let expected = std::fs::read(data.join(curated)).unwrap();
    let (d, api) = (data.to_str().unwrap(), data.join("amo_api"));

    let (amo, _server) = amo_server(&api, tmp.path(), &["--flaky", "1", "--flaky-match", "editorial"]);
    let editorial = format!("{amo}/api/v4/discovery/editorial/");
    let flags = |extra: &[&str]| -> Vec<String> {
        ["--url", editorial.as_str(), "--amo-url", amo.as_str(), "--retries", "2", "--timeout-secs", "5"].iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let out = tmp.path().join("out");
    let args = flags(&["--validate-guids"]);
    let done = run("taar-update-whitelist", d, out.to_str().unwrap(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(stderr(&done).contains("4 editorial rows without a usable guid"), "{}", stderr(&done));
    assert_eq!(std::fs::read(out.join(curated)).unwrap(), expected, "json.dumps(indent=2) of the sorted guids");
    assert_eq!(std::fs::read(out.join("telemetry-ml/addon_recommender/only_guids_top_20020261121.json")).unwrap(), expected);
    let guids: Vec<String> = serde_json::from_slice(&expected).unwrap();
    assert_eq!(guids.len(), 200);
    // The TAAR service's EnsembleRecommender answers a test client (an id of one
    // repeated digit) with the list's first guids, each weighed by its hash.
    let served = python(&[&consumer("taar_models.py"), out.to_str().unwrap(), "test-client", "4"], &[]);
    let served: Vec<(String, f64)> = serde_json::from_str(&served).unwrap();
    assert_eq!(served.iter().map(|(g, _)| g.as_str()).collect::<Vec<_>>(), guids[..4].iter().map(String::as_str).collect::<Vec<_>>());
    assert!(served.iter().all(|(_, w)| (0.0..1.0).contains(w)), "{served:?}");

    // Without recommended=true, the editorial add-ons that are not recommended come too.
    let all = tmp.path().join("all");
    let args = flags(&["--all"]);
    ok(run("taar-update-whitelist", d, all.to_str().unwrap(), &args.iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!(read(all.join(curated)).as_array().unwrap().len(), 240);

    // A guid the search API keeps failing on fails the job, naming it.
    let (amo, _failing) = amo_server(&api, tmp.path(), &["--always-fail", "guid="]);
    let failed_out = tmp.path().join("failed");
    let args: Vec<String> = ["--url", &format!("{amo}/api/v4/discovery/editorial/"), "--amo-url", &amo, "--retries", "1", "--validate-guids"].map(String::from).to_vec();
    let failed = run("taar-update-whitelist", d, failed_out.to_str().unwrap(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(stderr(&failed).contains("cannot validate guid") && stderr(&failed).contains("500"), "{}", stderr(&failed));
    assert!(!failed_out.exists());

    // An answer with fewer than 100 guids (none: search rows have no `addon`).
    let short = format!("{amo}/api/v3/addons/search/?app=firefox");
    let args = ["--url", short.as_str(), "--all"];
    let failed = run("taar-update-whitelist", d, failed_out.to_str().unwrap(), &args);
    assert_eq!(failed.status.code(), Some(1));
    assert!(stderr(&failed).contains("only 0 editorial reviewed add-ons") && stderr(&failed).contains("--allow-shortlist"), "{}", stderr(&failed));
    assert!(!failed_out.exists());
    ok(run("taar-update-whitelist", d, failed_out.to_str().unwrap(), &[&args[..], &["--allow-shortlist"]].concat()));
    assert_eq!(std::fs::read(failed_out.join(curated)).unwrap(), b"[]");
}
