//! `access-logs`: hand-checked lines through `parse_access_log` and
//! `route_request`, a generated web application's logs (plain and gzipped)
//! parsed and routed exactly as the `apachelogs` package and Django-style
//! matching do, the same table on a cluster, and bad inputs named.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{Cluster, assert_fails, consumer, fletch, ok, python, sql_json, stderr, tree};

fn run(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "access-logs", "-q", "--data-root", data.to_str().unwrap(), "--output-root", out.to_str().unwrap()];
    args.extend(extra);
    fletch(&args)
}

const COLUMNS: &str = "CAST(ts AS BIGINT) AS epoch_us, client_ip, user, method, status, bytes, referrer, user_agent, request, path, query, action, params";

/// Rows as sorted JSON texts without their NULL fields (fletch's JSON output leaves them out).
fn canonical(rows: &[Value]) -> Vec<String> {
    let mut texts: Vec<String> = rows
        .iter()
        .map(|r| Value::Object(r.as_object().unwrap().iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect()).to_string())
        .collect();
    texts.sort();
    texts
}

fn behaviour(out: &Path) -> Vec<String> {
    canonical(&sql_json(&out.join("web"), &format!("SELECT {COLUMNS} FROM behaviour")))
}

/// The first row that differs, not thousands of them.
fn assert_same_rows(got: &[String], want: &[String]) {
    assert_eq!(got.len(), want.len(), "row counts");
    if let Some((g, w)) = got.iter().zip(want).find(|(g, w)| g != w) {
        panic!("rows differ:\n fletch: {g}\n   peer: {w}");
    }
}

/// Lines for every case of the format: the httpd docs' example, `-` in every
/// field, `\"` and `\\` in the request, IPv6, a request line without a
/// protocol and one of junk, a 9-digit byte count; then lines that must not
/// parse: a bad month, a bad day, a truncated line, extra text.
const LINES: &[&str] = &[
    r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
    r#"- - - [01/Jan/2026:00:00:00 +0000] "-" 400 - "-" "-""#,
    r#"::1 - - [01/Jan/2026:23:59:59 -0130] "GET /user/7/add/?q=a+b&x=%2F HTTP/1.1" 302 - "-" "curl/8.5""#,
    r#"10.1.1.1 - - [29/Feb/2024:12:00:00 +0100] "GET /say/\"hi\"\\x HTTP/1.1" 200 123456789 "http://r/?a=\"b\"" "UA \"quoted\"""#,
    r#"10.1.1.2 - - [01/Jan/2026:00:00:00 +0000] "GET /no-protocol" 400 0 "-" "-""#,
    r#"10.1.1.3 - - [01/Jan/2026:00:00:00 +0000] "\x16\x03\x01\x00" 400 0 "-" "-""#,
    r#"10.1.1.4 - - [01/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
    r#"10.1.1.5 - - [30/Feb/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
    r#"10.1.1.6 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "trunc"#,
    r#"10.1.1.7 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-" extra"#,
];

const ROUTES: &str = "add_user\t^user/(?P<user_id>\\d+)/add/$\nuser_any\t^user/\nsearch\t^search/(?:(?P<term>[^/]+)/)?$\n";

fn write_inputs(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("access_logs")).unwrap();
    std::fs::write(data.join("access_logs/access.log"), LINES.join("\n") + "\n").unwrap();
    std::fs::write(data.join("routes.tsv"), ROUTES).unwrap();
    data
}

#[test]
fn hand_checked_lines_and_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = write_inputs(tmp.path());
    let out = tmp.path().join("out");
    let routes = data.join("routes.tsv");
    ok(run(&data, &out, &["--routes", routes.to_str().unwrap(), "--max-malformed-ratio", "0.5"]));
    let rows = sql_json(&out.join("web"), &format!("SELECT day, {COLUMNS} FROM behaviour ORDER BY client_ip NULLS FIRST"));
    assert_eq!(rows.len(), 6);
    let expected = [
        // `-` everywhere: NULL, and no method, path or route for the request "-".
        json!({"day": "2026-01-01", "epoch_us": 1_767_225_600_000_000i64, "client_ip": null, "user": null, "method": null, "status": 400, "bytes": null,
               "referrer": null, "user_agent": null, "request": null, "path": null, "query": null, "action": null, "params": null}),
        // 23:59:59 at −01:30 is 01:29:59 UTC the next day; the query decoded; the blog's route.
        json!({"day": "2026-01-02", "epoch_us": 1_767_317_399_000_000i64, "client_ip": "::1", "user": null, "method": "GET", "status": 302, "bytes": null,
               "referrer": null, "user_agent": "curl/8.5", "request": "GET /user/7/add/?q=a+b&x=%2F HTTP/1.1", "path": "user/7/add/",
               "query": {"q": "a b", "x": "/"}, "action": "add_user", "params": {"user_id": "7"}}),
        // The httpd docs' example: 13:55:36 at −07:00 is 20:55:36 UTC.
        json!({"day": "2000-10-10", "epoch_us": 971_211_336_000_000i64, "client_ip": "127.0.0.1", "user": "frank", "method": "GET", "status": 200, "bytes": 2326,
               "referrer": "http://www.example.com/start.html", "user_agent": "Mozilla/4.08 [en] (Win98; I ;Nav)", "request": "GET /apache_pb.gif HTTP/1.0",
               "path": "apache_pb.gif", "query": {}, "action": null, "params": null}),
        // Escaped quotes and backslashes decoded; a 9-digit byte count; a leap day at +01:00.
        json!({"day": "2024-02-29", "epoch_us": 1_709_204_400_000_000i64, "client_ip": "10.1.1.1", "user": null, "method": "GET", "status": 200, "bytes": 123_456_789,
               "referrer": "http://r/?a=\"b\"", "user_agent": "UA \"quoted\"", "request": "GET /say/\"hi\"\\x HTTP/1.1", "path": "say/\"hi\"\\x",
               "query": {}, "action": null, "params": null}),
        // No protocol, and junk: the request line kept raw, nothing derived from it.
        json!({"day": "2026-01-01", "epoch_us": 1_767_225_600_000_000i64, "client_ip": "10.1.1.2", "user": null, "method": null, "status": 400, "bytes": 0,
               "referrer": null, "user_agent": null, "request": "GET /no-protocol", "path": null, "query": null, "action": null, "params": null}),
        json!({"day": "2026-01-01", "epoch_us": 1_767_225_600_000_000i64, "client_ip": "10.1.1.3", "user": null, "method": null, "status": 400, "bytes": 0,
               "referrer": null, "user_agent": null, "request": "\u{16}\u{3}\u{1}\u{0}", "path": null, "query": null, "action": null, "params": null}),
    ];
    assert_eq!(canonical(&rows), canonical(&expected));
    // apachelogs agrees line by line, and on the four that do not parse.
    let peer: Value = serde_json::from_str(&python(&[&consumer("access_logs.py"), "combined", routes.to_str().unwrap(), data.join("access_logs/access.log").to_str().unwrap()], &[])).unwrap();
    assert_eq!(peer["malformed"], 4);
    assert_same_rows(&behaviour(&out), &canonical(peer["rows"].as_array().unwrap()));

    // The malformed lines are counted and shown; above the ratio nothing is written.
    let before = tree(&out);
    let failed = run(&data, &out, &["--routes", routes.to_str().unwrap()]);
    assert_fails(&failed, 1, "4 of 10 lines (40.000%) do not have the log format's shape", "malformed ratio");
    assert!(stderr(&failed).contains("[01/Foo/2026:00:00:00 +0000]") && stderr(&failed).contains("more than --max-malformed-ratio 0.01: nothing written"), "{}", stderr(&failed));
    assert_eq!(tree(&out), before);
}

/// A generated application's logs (one day gzipped, servers in four time
/// zones, bots, 404s, truncated lines) give apachelogs' rows exactly, routed
/// as Django would; ids in the routes are the application's; a cluster
/// writes the same table, gzipped day included.
#[test]
fn generated_webapp_logs_equal_apachelogs_and_cluster_equals_embedded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(fletch(&["gen", "webapp", "-q", "--output-root", data.to_str().unwrap(), "--scale", "0.004"]));
    let routes = data.join("webapp/routes.tsv");
    let embedded = tmp.path().join("embedded");
    let summary = run(&data, &embedded, &["--routes", routes.to_str().unwrap()]);
    ok(summary.clone());
    let mut logs: Vec<String> = std::fs::read_dir(data.join("access_logs")).unwrap().map(|e| e.unwrap().path().to_str().unwrap().to_string()).collect();
    logs.sort();
    assert!(logs[0].ends_with(".log.gz") && logs[1].ends_with(".log"), "{logs:?}");
    let mut args = vec![consumer("access_logs.py"), "combined".to_string(), routes.to_str().unwrap().to_string()];
    args.extend(logs);
    let peer: Value = serde_json::from_str(&python(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])).unwrap();
    let rows = behaviour(&embedded);
    assert!(rows.len() > 5_000, "{}", rows.len());
    assert_same_rows(&rows, &canonical(peer["rows"].as_array().unwrap()));
    let malformed = peer["malformed"].as_u64().unwrap();
    assert!(malformed > 0);
    assert!(stderr(&summary).contains(&format!("{malformed} of {} lines", rows.len() as u64 + malformed)), "{}", stderr(&summary));

    // Every routed user and account exists in the application's data.
    let data_sql = std::fs::read_to_string(data.join("webapp/data.sql")).unwrap();
    let users = data_sql.matches("'user").count() as i64;
    let ids = sql_json(&embedded.join("web"), "SELECT max(CAST(params['user_id'] AS BIGINT)) AS user_id, count(DISTINCT action) AS actions, count(DISTINCT day) AS days FROM behaviour");
    assert!(ids[0]["user_id"].as_i64().unwrap() <= users, "{ids:?} vs {users} users");
    assert_eq!((ids[0]["actions"].as_i64(), ids[0]["days"].as_i64()), (Some(10), Some(3)), "three days in UTC, whatever zone each server logged in");

    // On a cluster, the gzipped day and the plain ones, read on the executors: the same table.
    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let distributed = tmp.path().join("distributed");
    ok(run(&data, &distributed, &["--routes", routes.to_str().unwrap(), "--scheduler", &cluster.scheduler]));
    assert_same_rows(&behaviour(&distributed), &rows);
    // Only the gzipped file, on the cluster: its lines and nothing else.
    let gz = tmp.path().join("gz");
    ok(run(&data, &gz, &["--routes", routes.to_str().unwrap(), "--input", "access_logs/*.gz", "--scheduler", &cluster.scheduler]));
    let first_day = behaviour(&gz);
    let one_file = tmp.path().join("one-file");
    let name = std::fs::read_dir(data.join("access_logs")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).find(|n| n.ends_with(".gz")).unwrap();
    ok(run(&data, &one_file, &["--routes", routes.to_str().unwrap(), "--input", &format!("access_logs/{name}")]));
    assert_eq!(behaviour(&one_file), first_day, "a file named by --input");
    assert!(!first_day.is_empty() && first_day.len() < rows.len() / 2, "{} of {}", first_day.len(), rows.len());
    assert!(first_day.iter().all(|r| rows.binary_search(r).is_ok()));

    // The blog's gzipped JSON lines, written on the cluster: the same requests,
    // one object per line, partitioned by day; read back with Python's gzip and json.
    let json = tmp.path().join("json");
    ok(run(&data, &json, &["--routes", routes.to_str().unwrap(), "--output-format", "jsonl.gz", "--scheduler", &cluster.scheduler]));
    let read_back = "import gzip, json, pathlib, sys\nfiles = pathlib.Path(sys.argv[1]).glob('day=*/*.json.gz')\nprint(json.dumps([[r['client_ip'], r.get('path'), r['status'], f.parent.name] for f in files for r in map(json.loads, gzip.open(f, 'rt'))]))";
    let from_json: Value = serde_json::from_str(&python(&["-c", read_back, json.join("web/behaviour").to_str().unwrap()], &[])).unwrap();
    let mut from_parquet: Vec<Value> = sql_json(&embedded.join("web"), "SELECT client_ip, path, status, 'day=' || day AS day FROM behaviour").iter().map(|r| json!([r["client_ip"], r["path"], r["status"], r["day"]])).collect();
    from_parquet.sort_by_key(|v| v.to_string());
    let mut from_json = from_json.as_array().unwrap().clone();
    from_json.sort_by_key(|v| v.to_string());
    assert_eq!(from_json, from_parquet);
    let days: Vec<_> = std::fs::read_dir(json.join("web/behaviour")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(days.len(), 3, "{days:?}");
}

#[test]
fn bad_inputs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = write_inputs(tmp.path());
    let out = tmp.path().join("out");
    assert_fails(&run(&data, &out, &["--line-format", "%h%l"]), 2, "--line-format: log format `%h%l`: %l follows another directive with no text between them", "format");
    let routes = data.join("bad_routes.tsv");
    std::fs::write(&routes, "ok\t^a/$\nbroken\t^(b/$\n").unwrap();
    assert_fails(&run(&data, &out, &["--routes", routes.to_str().unwrap()]), 1, "bad_routes.tsv: routes line 2 (broken): ", "routes");
    assert_fails(&run(&data, &out, &["--input", "nowhere"]), 1, "--input: no log files at", "input");
    assert_fails(&run(&data, &out, &["--input", "access_logs/*.gz"]), 1, "matching *.gz", "glob");
    assert!(!out.exists());
}
