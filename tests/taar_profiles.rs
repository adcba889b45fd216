//! `taar-profiles`: exact blobs for hand-checked subsessions, and a generated
//! day on a cluster matching the embedded run and read back from DynamoDB
//! (moto behind a proxy that injects errors and unprocessed items).

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{Cluster, Moto, Processes, consumer, fixture_table, fletch, fletch_env, free_port, ok, python, repo_path, sql_json, stderr, wait_for_port};

const TABLE: &str = "taar/profiles/client_profiles";

fn run(data: &str, out: &str, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut args = vec!["run", "taar-profiles", "--data-root", data, "--output-root", out, "--date", "20261121"];
    args.extend(extra);
    fletch_env(&args, env)
}

/// `{client_id: (prefix folder, ttl, decompressed payload)}` of a written table.
fn profiles(out: &Path) -> BTreeMap<String, (String, i64, String)> {
    let sql = "SELECT client_id, client_id_prefix, ttl, CAST(zlib_decompress(json_payload) AS VARCHAR) AS payload FROM client_profiles";
    let root = out.join("taar/profiles");
    sql_json(&root, sql)
        .into_iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("client_id"), (s("client_id_prefix"), r["ttl"].as_i64().unwrap(), s("payload")))
        })
        .collect()
}

#[test]
fn profiles_hand_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fixture_table(&data, "taar_profiles_main_summary.sql", "main_summary", "submission_date_s3");
    let (d, out) = (data.to_str().unwrap(), tmp.path().join("out"));
    let o = out.to_str().unwrap();
    let done = run(d, o, &[], &[]);
    ok(done.clone());
    let log = stderr(&done);
    for line in [
        "1 rows skipped: NULL client_id",
        "1 rows skipped: empty client_id",
        "2 rows skipped: subsession_start_date missing or not an ISO 8601 date",
        "1 rows skipped: subsession_start_date before 1970",
        "1 rows skipped: tied for the latest start (one kept per client)",
    ] {
        assert!(log.contains(line), "missing `{line}` in:\n{log}");
    }

    // 2026-11-22T00:00Z + 60 days.
    let ttl = 1_795_305_600 + 60 * 86_400;
    let got = profiles(&out);
    let expected: BTreeMap<String, (String, i64, String)> = [
        // taar.md 6.4 (hash vector from 2.1), with the fixture's one add-on.
        ("4e0721fa63fa52efd3edd48b80082098ee3d15d651f246b4b7f04bc65ff9b7ea", r#"{"city": "Rome", "subsession_start_date": "2018-03-01T10:00:00.000+01:00", "subsession_length": 3785, "locale": "IT_it", "os": "Windows", "places_bookmarks_count": 1, "scalar_parent_browser_engagement_tab_open_event_count": 2, "scalar_parent_browser_engagement_total_uri_count": 3, "scalar_parent_browser_engagement_unique_domains_count": 4, "active_addons": [{"addon_id": "a@b", "blocklisted": false, "is_system": false}], "disabled_addons_ids": ["d@e"], "client_id": "4e0721fa63fa52efd3edd48b80082098ee3d15d651f246b4b7f04bc65ff9b7ea", "start_date": "20180301"}"#),
        // client-1: the later subsession; 0, '', [] and NULL keys dropped.
        ("5704de18fc6045e4d08c3a261162795689ba6a0383964109350f8fad3c4ad972", r#"{"subsession_start_date": "2018-03-01T09:00:00.0+00:00", "locale": "fr", "os": "Linux", "scalar_parent_browser_engagement_total_uri_count": 5, "client_id": "5704de18fc6045e4d08c3a261162795689ba6a0383964109350f8fad3c4ad972", "start_date": "20180301"}"#),
        // client-2: of the tied rows, the greater payload.
        ("66c4d728fb28e09b8972593b421181c727d921eb3162bbbfb7d6eca704911402", r#"{"city": "Z\u00fcrich", "subsession_start_date": "2018-03-01T12:00:00.0+00:00", "subsession_length": 200, "locale": "de", "os": "Linux", "places_bookmarks_count": 7, "scalar_parent_browser_engagement_tab_open_event_count": 7, "scalar_parent_browser_engagement_total_uri_count": 7, "scalar_parent_browser_engagement_unique_domains_count": 7, "client_id": "66c4d728fb28e09b8972593b421181c727d921eb3162bbbfb7d6eca704911402", "start_date": "20180301"}"#),
        // client-4: '2018-03-02T01:00+01:00' beats '2018-03-01T23:30-05:00' as text, dated in its own offset.
        ("45ad879eb170556a4e252ef1c680d2e9a19ca8a0e5a6a4a8a26f0b911ad4ef21", r#"{"city": "Lima", "subsession_start_date": "2018-03-02T01:00:00.0+01:00", "subsession_length": 50, "locale": "es", "os": "Linux", "places_bookmarks_count": 1, "scalar_parent_browser_engagement_tab_open_event_count": 1, "scalar_parent_browser_engagement_total_uri_count": 1, "scalar_parent_browser_engagement_unique_domains_count": 1, "client_id": "45ad879eb170556a4e252ef1c680d2e9a19ca8a0e5a6a4a8a26f0b911ad4ef21", "start_date": "20180302"}"#),
        // client-6: a bare date parses.
        ("5a99fcd9ea54ea7baf190e67a445f6187d1c2ad8d8b52c38454b6666638bf8bf", r#"{"city": "Oslo", "subsession_start_date": "2018-03-01", "subsession_length": 60, "locale": "nb", "os": "Darwin", "places_bookmarks_count": 1, "scalar_parent_browser_engagement_tab_open_event_count": 1, "scalar_parent_browser_engagement_total_uri_count": 1, "scalar_parent_browser_engagement_unique_domains_count": 1, "client_id": "5a99fcd9ea54ea7baf190e67a445f6187d1c2ad8d8b52c38454b6666638bf8bf", "start_date": "20180301"}"#),
    ]
    .into_iter()
    .map(|(id, payload)| (id.to_string(), (id[..2].to_string(), ttl, payload.to_string())))
    .collect();
    assert_eq!(got, expected);
    assert!(out.join(TABLE).join("client_id_prefix=4e").is_dir());

    // A sample keeps whole clients, the same ones for the same seed.
    let sampled = |seed: &str, dir: &str| {
        ok(run(d, tmp.path().join(dir).to_str().unwrap(), &["--sample-rate", "0.5", "--seed", seed], &[]));
        profiles(&tmp.path().join(dir)).into_keys().collect::<Vec<_>>()
    };
    let (a, b) = (sampled("1", "s1"), sampled("1", "s2"));
    assert_eq!(a, b);
    assert!(a.len() < 5 && a.iter().all(|k| expected.contains_key(k)), "{a:?}");

    // Bad flags fail before any work, naming the flag.
    for (extra, needle) in [
        (&["--sample-rate", "1.5"][..], "--sample-rate: expected a number from 0 to 1"),
        (&["--dynamodb-table", "t"][..], "--dynamodb-endpoint and --dynamodb-table go together"),
        (&["--dynamodb-endpoint", "localhost:1", "--dynamodb-table", "t"][..], "--dynamodb-endpoint: expected an http(s) URL"),
    ] {
        let failed = run(d, tmp.path().join("bad").to_str().unwrap(), extra, &[("AWS_ACCESS_KEY_ID", "k"), ("AWS_SECRET_ACCESS_KEY", "s")]);
        assert_eq!(failed.status.code(), Some(2), "{extra:?}: {}", stderr(&failed));
        assert!(stderr(&failed).contains(needle), "{extra:?}: {}", stderr(&failed));
    }
    assert!(!tmp.path().join("bad").exists());
}

/// The fault-injecting proxy (tests/servers/dynamodb_proxy.py) in front of `upstream`.
fn faulty_dynamodb(upstream: &str, log: &Path) -> (String, Processes) {
    let port = free_port(false);
    let script = repo_path("tests/servers/dynamodb_proxy.py");
    let procs = Processes::start("dynamodb-proxy", "python3", &[script, upstream.to_string(), port.to_string()], log);
    let addr = format!("127.0.0.1:{port}");
    wait_for_port(&addr, log);
    (format!("http://{addr}"), procs)
}

#[test]
fn generated_day_on_cluster_matches_embedded_and_reaches_dynamodb() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    ok(fletch(&["gen", "main-summary", "-q", "--output-root", d, "--scale", "0.004"]));
    let moto = Moto::start(&tmp.path().join("moto"));
    let script = consumer("dynamodb_profiles.py");
    // The table lives in the region of the profile the export runs with.
    let dynamo_env = [moto.env(), vec![("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "eu-west-1")]].concat();
    let dynamo = |args: &[&str]| python(&[&[script.as_str()], args].concat(), &dynamo_env);
    dynamo(&["create", "taar_addon_data"]);
    let proxy_log = tmp.path().join("proxy.log");
    let (proxy, _proxy) = faulty_dynamodb(&moto.endpoint, &proxy_log);
    let env = moto.env();

    // A missing table fails before anything is written.
    let out = tmp.path().join("missing");
    let failed = run(d, out.to_str().unwrap(), &["--dynamodb-endpoint", &moto.endpoint, "--dynamodb-table", "nope"], &env);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(stderr(&failed).contains("DynamoDB DescribeTable on nope") && stderr(&failed).contains("ResourceNotFoundException"), "{}", stderr(&failed));
    assert!(!out.exists());

    let embedded = tmp.path().join("embedded");
    ok(run(d, embedded.to_str().unwrap(), &["-q"], &[]));
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &env);
    let distributed = tmp.path().join("cluster-out");
    let dynamo_flags = ["--dynamodb-endpoint", proxy.as_str(), "--dynamodb-table", "taar_addon_data", "--dynamodb-workers", "3"];
    let mut args = vec!["-q", "--scheduler", cluster.scheduler.as_str()];
    args.extend(dynamo_flags);
    // This run's credentials and region come from a named profile of the
    // shared files alone (no keys in the environment, no metadata service).
    let (credentials, config) = (tmp.path().join("aws-credentials"), tmp.path().join("aws-config"));
    std::fs::write(&credentials, "[default]\naws_access_key_id = WRONGKEY\naws_secret_access_key = x\n\n[etl]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = profile-secret\n").unwrap();
    std::fs::write(&config, "[profile etl]\nregion = eu-west-1\n").unwrap();
    let profile_env = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_PROFILE", "etl"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let done = run(d, distributed.to_str().unwrap(), &args, &profile_env);
    ok(done.clone());
    assert_eq!(stderr(&done).matches("rows skipped: tied for the latest start").count(), 1, "{}", stderr(&done));

    let expected = profiles(&embedded);
    assert!(expected.len() > 1_000, "{} profiles", expected.len());
    assert_eq!(profiles(&distributed), expected);

    // Every profile reached DynamoDB exactly once, unchanged, despite the faults.
    let faults = std::fs::read_to_string(&proxy_log).unwrap();
    assert!(faults.contains("signed by PROFILEKEY for eu-west-1") && !faults.contains("WRONGKEY"), "{faults}");
    assert!(faults.contains("500 InternalServerError") && faults.contains("ProvisionedThroughputExceeded"), "{faults}");
    assert!(faults.matches("items unprocessed").count() > 10, "{faults}");
    let stored: BTreeMap<String, String> = serde_json::from_str(&dynamo(&["dump", "taar_addon_data"])).unwrap();
    assert_eq!(stored, expected.into_iter().map(|(k, (_, _, payload))| (k, payload)).collect::<BTreeMap<_, _>>());
    let forced = cluster.procs.stop();
    assert!(forced.is_empty(), "did not stop on SIGTERM: {forced:?}");
}
