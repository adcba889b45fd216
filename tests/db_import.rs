//! `db-import` against real servers: PostgreSQL and MariaDB started by
//! tests/databases.sh (tests/run.sh starts them; so can a developer), and
//! SQLite files. Every type arrives as it was; splits hold every row once;
//! incremental imports read only what is new; a connection dropped mid-import
//! leaves the last table as it was; a cluster imports what embedded does.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Cluster, assert_fails, fletch_env, ok, python, sql_json, stderr, tree};

/// The servers tests/databases.sh started, and the password they share.
struct Servers {
    postgres: String,
    mysql: String,
    password: String,
}

fn servers() -> Servers {
    let file = std::env::var("FLETCH_TEST_DB_DIR").unwrap_or_else(|_| "/tmp/fletch-test-dbs".into()) + "/env";
    let from_file: HashMap<String, String> = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let get = |k: &str| {
        std::env::var(k).ok().or_else(|| from_file.get(k).cloned()).unwrap_or_else(|| panic!("{k} is not set and {file} does not say: start the test databases with `bash tests/databases.sh start`"))
    };
    Servers { postgres: get("FLETCH_TEST_POSTGRES"), mysql: get("FLETCH_TEST_MYSQL"), password: get("FLETCH_TEST_DB_PASSWORD") }
}

impl Servers {
    /// A fresh database `name` on both servers; their `--connect` URLs.
    fn database(&self, name: &str) -> (String, String) {
        self.psql(&self.postgres, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        self.psql(&self.postgres, &format!("CREATE DATABASE {name}"));
        self.mariadb(&self.mysql, &format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};"));
        let rename = |url: &str| url.replacen("/fletch?", &format!("/{name}?"), 1);
        (rename(&self.postgres), rename(&self.mysql))
    }

    fn psql(&self, url: &str, sql: &str) -> String {
        let out = Command::new("psql").args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql]).env("PGPASSWORD", &self.password).output().unwrap();
        assert!(out.status.success(), "psql: {sql}\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn mariadb(&self, url: &str, sql: &str) {
        let url = url::Url::parse(url).unwrap();
        let out = Command::new("mariadb")
            .args(["-h", url.host_str().unwrap(), "-P", &url.port().unwrap().to_string(), "-u", url.username(), "-e", sql])
            .arg(url.path().trim_start_matches('/'))
            .env("MYSQL_PWD", &self.password)
            .output()
            .unwrap();
        assert!(out.status.success(), "mariadb: {sql}\n{}", String::from_utf8_lossy(&out.stderr));
    }

    /// Runs `sql` on `url`'s server, whichever it is.
    fn exec(&self, url: &str, sql: &str) {
        if url.starts_with("postgres") {
            self.psql(url, sql);
        } else {
            self.mariadb(url, sql);
        }
    }

    fn import(&self, data: &Path, out: &Path, connect: &str, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["run", "db-import", "--data-root", data.to_str().unwrap(), "--output-root", out.to_str().unwrap(), "--connect", connect];
        args.extend(extra);
        fletch_env(&args, &[("FLETCH_DB_PASSWORD", &self.password)])
    }
}

fn sqlite(path: &Path, sql: &str) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(sql).unwrap();
}

fn rows(out: &Path, sql: &str) -> Vec<Value> {
    sql_json(&out.join("db"), sql)
}

/// The Arrow types the table's files hold, as pyarrow reads them (fletch's
/// embedded catalog shows strings as the views it reads them as).
fn types(out: &Path, table: &str) -> Vec<String> {
    let read = "import glob, sys, pyarrow.parquet as pq\n\
        f = sorted(glob.glob(sys.argv[1] + '/**/*.parquet', recursive=True))[0]\n\
        print('\\n'.join(str(field.type) for field in pq.read_schema(f)))";
    python(&["-c", read, out.join("db").join(table).to_str().unwrap()], &[]).lines().map(str::to_string).collect()
}

#[test]
fn every_type_arrives_as_it_was() {
    let s = servers();
    let (pg, my) = s.database("fletch_types");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    s.psql(&pg, "CREATE TABLE kinds (id integer PRIMARY KEY, small smallint, big bigint, real4 real, double8 double precision, price numeric(12,3), label text, code varchar(8), flag boolean, day date, clock time, at timestamp, at_tz timestamptz, raw bytea, doc jsonb);
        INSERT INTO kinds VALUES (1, -32768, 9007199254740993, 1.5, -0.25, 123456789.125, 'héllo \"x\"', 'ab', true, '2026-02-28', '13:55:36.5', '2026-12-01 10:00:00.123456', '2026-12-01 10:00:00+02', '\\x00ff10', '{\"a\": [1, 2]}'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);");
    s.mariadb(&my, "CREATE TABLE kinds (id int PRIMARY KEY, small smallint, big bigint, real4 float, double8 double, price decimal(12,3), label text, code varchar(8), flag boolean, day date, clock time(1), at datetime(6), at_tz timestamp(0) NULL, raw varbinary(16), doc json);
        INSERT INTO kinds VALUES (1, -32768, 9007199254740993, 1.5, -0.25, 123456789.125, 'héllo \"x\"', 'ab', true, '2026-02-28', '13:55:36.5', '2026-12-01 10:00:00.123456', '2026-12-01 08:00:00', X'00ff10', '{\"a\": [1, 2]}'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);");
    sqlite(&data.join("kinds.sqlite"), "CREATE TABLE kinds (id INTEGER PRIMARY KEY, big BIGINT, double8 DOUBLE, price DECIMAL(12,3), label TEXT, flag BOOLEAN, day DATE, at TIMESTAMP, raw BLOB);
        INSERT INTO kinds VALUES (1, 9007199254740993, -0.25, 123456789.125, 'héllo \"x\"', 1, '2026-02-28', '2026-12-01 10:00:00.123456', X'00ff10'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);");

    let select = "SELECT * FROM kinds ORDER BY id";
    let common = json!({"id": 1, "big": 9007199254740993i64, "double8": -0.25, "price": 123456789.125, "label": "héllo \"x\"", "day": "2026-02-28", "raw": "00ff10"});
    let with = |more: Value| {
        let mut row = common.clone();
        row.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        vec![row, json!({"id": 2})]
    };
    let out = tmp.path().join("pg");
    ok(s.import(&data, &out, &pg, &["--table", "kinds"]));
    assert_eq!(rows(&out, select), with(json!({"small": -32768, "real4": 1.5, "code": "ab", "flag": true, "clock": "13:55:36.500", "at": "2026-12-01T10:00:00.123456", "at_tz": "2026-12-01T08:00:00Z", "doc": "{\"a\": [1, 2]}"})));
    assert_eq!(
        types(&out, "kinds"),
        ["int32", "int16", "int64", "float", "double", "decimal128(12, 3)", "string", "string", "bool", "date32[day]", "time64[ns]", "timestamp[ns]", "timestamp[ns, tz=UTC]", "binary", "string"]
    );
    let out = tmp.path().join("mysql");
    ok(s.import(&data, &out, &my, &["--table", "kinds"]));
    // MySQL has no boolean (TINYINT(1)), and its TIMESTAMP reads in the session's zone (UTC here).
    assert_eq!(rows(&out, select), with(json!({"small": -32768, "real4": 1.5, "code": "ab", "flag": 1, "clock": "13:55:36.500", "at": "2026-12-01T10:00:00.123456", "at_tz": "2026-12-01T08:00:00", "doc": "{\"a\": [1, 2]}"})));
    assert_eq!(
        types(&out, "kinds"),
        ["int32", "int16", "int64", "float", "double", "decimal128(12, 3)", "string", "string", "int8", "date32[day]", "time64[ns]", "timestamp[us]", "timestamp[us]", "binary", "large_string"]
    );
    let out = tmp.path().join("sqlite");
    ok(s.import(&data, &out, "sqlite://kinds.sqlite", &["--table", "kinds"]));
    // SQLite's dates are the text it stores; DECIMAL has REAL affinity.
    let lite = rows(&out, select);
    assert_eq!(lite, with(json!({"flag": true, "at": "2026-12-01 10:00:00.123456"})));
    assert_eq!(types(&out, "kinds"), ["int64", "int64", "double", "double", "string", "bool", "string", "string", "binary"]);
}

/// Keys 1..=40, one far above them (skew), three NULL keys.
fn keyed_rows(s: &Servers, pg: &str, my: &str, data: &Path) {
    let values: Vec<String> = (1..=40).map(|k| format!("({k}, 'r{k}')")).chain(["(1000000, 'far')".into(), "(NULL, 'n1')".into(), "(NULL, 'n2')".into(), "(NULL, 'n3')".into()]).collect();
    let sql = format!("CREATE TABLE keyed (k BIGINT, v VARCHAR(8)); INSERT INTO keyed VALUES {};", values.join(", "));
    s.psql(pg, &sql);
    s.mariadb(my, &sql);
    sqlite(&data.join("keyed.sqlite"), &sql);
}

#[test]
fn splits_hold_every_row_once() {
    let s = servers();
    let (pg, my) = s.database("fletch_splits");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    keyed_rows(&s, &pg, &my, &data);
    let all: Vec<Value> = (1..=40).map(|k| json!({"k": k, "v": format!("r{k}")})).chain([json!({"k": 1000000, "v": "far"})]).chain((1..=3).map(|n| json!({"v": format!("n{n}")}))).collect();
    for (name, connect) in [("pg", pg.as_str()), ("mysql", my.as_str()), ("sqlite", "sqlite://keyed.sqlite")] {
        let out = tmp.path().join(name);
        let log = stderr(&s.import(&data, &out, connect, &["--table", "keyed", "--split-by", "k", "--num-splits", "4"]).tap_ok());
        let got = rows(&out, "SELECT * FROM keyed ORDER BY k NULLS LAST, v");
        assert_eq!(got, all, "{name}: {log}");
        assert!(log.contains("4 splits of "), "{name}: {log}");
        // --where, --columns and --query with $CONDITIONS.
        let out = tmp.path().join(format!("{name}-where"));
        ok(s.import(&data, &out, connect, &["--table", "keyed", "--columns", "v", "--where", "k > 38", "--split-by", "k", "--num-splits", "3"]));
        assert_eq!(rows(&out, "SELECT * FROM keyed ORDER BY v"), [json!({"v": "far"}), json!({"v": "r39"}), json!({"v": "r40"})], "{name}");
        let out = tmp.path().join(format!("{name}-query"));
        ok(s.import(&data, &out, connect, &["--query", "SELECT k, v FROM keyed WHERE k <= 3 AND $CONDITIONS", "--target", "few", "--split-by", "k", "--num-splits", "2"]));
        assert_eq!(rows(&out, "SELECT k FROM few ORDER BY k"), [json!({"k": 1}), json!({"k": 2}), json!({"k": 3})], "{name}");
    }
}

trait TapOk {
    fn tap_ok(self) -> Self;
}

impl TapOk for std::process::Output {
    /// The output, once it is known to be a success.
    fn tap_ok(self) -> Self {
        assert!(self.status.success(), "fletch failed: {}", String::from_utf8_lossy(&self.stderr));
        self
    }
}

#[test]
fn incremental_imports_read_only_what_is_new() {
    let s = servers();
    let (pg, my) = s.database("fletch_incremental");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for connect in [&pg, &my] {
        s.exec(connect, "CREATE TABLE events (id INT PRIMARY KEY, v VARCHAR(8), changed TIMESTAMP NOT NULL);
            INSERT INTO events VALUES (1, 'a', '2026-12-01 10:00:00'), (2, 'b', '2026-12-01 11:00:00');");
        let out = tmp.path().join(if connect.starts_with("postgres") { "pg" } else { "mysql" });
        let append = ["--table", "events", "--incremental", "append", "--check-column", "id", "--target", "appended"];
        ok(s.import(&data, &out, connect, &append));
        s.exec(connect, "INSERT INTO events VALUES (3, 'c', '2026-12-01 12:00:00'), (4, 'd', '2026-12-01 12:30:00')");
        let log = stderr(&s.import(&data, &out, connect, &append).tap_ok());
        assert!(log.contains("id in (2, 4]"), "only rows past the last value are read: {log}");
        assert_eq!(rows(&out, "SELECT id, v FROM appended ORDER BY id"), ["a", "b", "c", "d"].iter().zip(1..).map(|(v, id)| json!({"id": id, "v": v})).collect::<Vec<_>>());
        let state: Value = serde_json::from_slice(&std::fs::read(out.join("db/_imports/appended.json")).unwrap()).unwrap();
        assert_eq!((state["mode"].as_str(), state["check_column"].as_str(), state["last_value"].as_str()), (Some("append"), Some("id"), Some("4")));
        // Nothing new: the same table.
        ok(s.import(&data, &out, connect, &append));
        assert_eq!(rows(&out, "SELECT count(*) AS n FROM appended"), [json!({"n": 4})]);

        // lastmodified: a changed row replaces its old version, by --merge-key.
        let modified = ["--table", "events", "--incremental", "lastmodified", "--check-column", "changed", "--merge-key", "id", "--target", "latest", "--partition-by", "v"];
        ok(s.import(&data, &out, connect, &modified));
        s.exec(connect, "UPDATE events SET v = 'B', changed = '2026-12-02 09:00:00' WHERE id = 2; INSERT INTO events VALUES (5, 'e', '2026-12-02 09:30:00');");
        let log = stderr(&s.import(&data, &out, connect, &modified).tap_ok());
        assert!(log.contains("changed in ('2026-12-01 12:30:00.000000"), "{log}");
        assert_eq!(
            rows(&out, "SELECT id, v FROM latest ORDER BY id"),
            [json!({"id": 1, "v": "a"}), json!({"id": 2, "v": "B"}), json!({"id": 3, "v": "c"}), json!({"id": 4, "v": "d"}), json!({"id": 5, "v": "e"})]
        );
    }
    assert_fails(&s.import(&data, &tmp.path().join("x"), &pg, &["--table", "events", "--incremental", "lastmodified", "--check-column", "changed"]), 2, "--incremental lastmodified needs --merge-key", "merge key");
    assert_fails(&s.import(&data, &tmp.path().join("x"), &pg, &["--table", "events", "--check-column", "id"]), 2, "--check-column goes with --incremental", "flags");
}

#[test]
fn a_dropped_connection_fails_and_keeps_the_last_table() {
    let s = servers();
    let (pg, _) = s.database("fletch_dropped");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    s.psql(&pg, "CREATE TABLE slow AS SELECT g AS id FROM generate_series(1, 200) g");
    let out = tmp.path().join("out");
    ok(s.import(&data, &out, &pg, &["--table", "slow"]));
    let before = tree(&out);
    // Each row takes 20 ms; the server ends the session half way.
    let killer = {
        let (s, pg) = (servers(), pg.clone());
        std::thread::spawn(move || {
            for _ in 0..100 {
                std::thread::sleep(Duration::from_millis(100));
                let killed = s.psql(&pg, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'fletch' AND query LIKE '%pg_sleep%' AND query NOT LIKE '%LIMIT 1%'");
                if killed.trim() != "0" {
                    return;
                }
            }
            panic!("the import's query never showed up");
        })
    };
    let failed = s.import(&data, &out, &pg, &["--query", "SELECT id FROM slow WHERE $CONDITIONS AND pg_sleep(0.02)::text = ''", "--target", "slow"]);
    killer.join().unwrap();
    assert_fails(&failed, 1, "fletch_dropped?sslmode=disable: split 1 (`SELECT id FROM slow WHERE (1 = 1) AND pg_sleep(0.02)::text = ''`): ", "dropped connection");
    assert!(stderr(&failed).contains("terminat"), "{}", stderr(&failed));
    assert_eq!(tree(&out), before, "the last import's table is as it was");
}

#[test]
fn a_cluster_imports_what_embedded_does() {
    let s = servers();
    let (pg, my) = s.database("fletch_cluster");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    keyed_rows(&s, &pg, &my, &data);
    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    for (name, connect) in [("pg", pg.as_str()), ("mysql", my.as_str())] {
        let split = ["--table", "keyed", "--split-by", "k", "--num-splits", "4", "--partition-by", "v"];
        let (local, distributed) = (tmp.path().join(format!("{name}-local")), tmp.path().join(format!("{name}-cluster")));
        ok(s.import(&data, &local, connect, &split));
        ok(s.import(&data, &distributed, connect, &[&split[..], &["--scheduler", &cluster.scheduler]].concat()));
        let all = "SELECT k, v FROM keyed ORDER BY k NULLS LAST, v";
        assert_eq!(rows(&distributed, all), rows(&local, all), "{name}");
        assert_eq!(rows(&local, "SELECT count(*) AS n FROM keyed"), [json!({"n": 44})]);
    }
    // The splits ran on the executors: the password reached them in the plan, never in a log.
    assert!(cluster.finished_tasks().iter().sum::<usize>() >= 4, "{:?}", cluster.finished_tasks());
    let logs: String = std::fs::read_dir(tmp.path().join("cluster")).unwrap().filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok()).collect();
    assert!(!logs.contains(&s.password), "a log shows the password");
}

#[test]
fn bad_sources_are_named_and_passwords_never_shown() {
    let s = servers();
    let (pg, my) = s.database("fletch_bad");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    s.psql(&pg, "CREATE TABLE t (id INT, name TEXT)");
    let out = tmp.path().join("out");
    let wrong = tmp.path().join("wrong-password");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    for connect in [&pg, &my] {
        let failed = s.import(&data, &out, connect, &["--table", "t", "--password-file", wrong.to_str().unwrap()]);
        assert_fails(&failed, 1, &format!("cannot connect to {connect}"), "wrong password");
        assert!(!stderr(&failed).contains("not-the-password"), "{}", stderr(&failed));
    }
    assert_fails(&s.import(&data, &out, &pg, &["--table", "nowhere"]), 1, "table nowhere", "missing table");
    assert_fails(&s.import(&data, &out, &pg, &["--table", "t", "--columns", "id,age"]), 2, "--columns: table t has no column `age` (it has id, name)", "column");
    assert_fails(&s.import(&data, &out, &pg, &["--table", "t", "--split-by", "name"]), 2, "--split-by name: the column is Utf8, not an integer", "split key");
    assert_fails(&s.import(&data, &out, &pg, &["--query", "SELECT * FROM t", "--target", "t"]), 2, "--query must hold $CONDITIONS", "query");
    assert_fails(&s.import(&data, &out, &pg, &["--query", "SELECT * FROM t WHERE $CONDITIONS"]), 2, "--query needs --target", "target");
    assert_fails(&s.import(&data, &out, "sqlite://missing.sqlite", &["--table", "t"]), 1, "no SQLite file at", "sqlite");
    assert_fails(&s.import(&data, &out, "oracle://h/db", &["--table", "t"]), 2, "--connect: unknown scheme `oracle`", "scheme");
    assert!(!out.exists(), "nothing written");
}

/// The web warehouse end to end on a hand-made application: access-logs,
/// db-import of its SQLite tables, and both reports of sql/web/, checked
/// row by row. One request names a user who does not exist, one names none.
#[test]
fn the_web_reports_join_behaviour_to_imported_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("access_logs")).unwrap();
    sqlite(&data.join("app.sqlite"), "
        CREATE TABLE users (user_id INTEGER PRIMARY KEY, username VARCHAR(8), country CHAR(2), gender CHAR(1), plan VARCHAR(8), signup_date DATE);
        CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, user_id INTEGER, opened_at TIMESTAMP);
        CREATE TABLE transactions (transaction_id INTEGER PRIMARY KEY, account_id INTEGER, amount DECIMAL(10, 2), created_at TIMESTAMP);
        INSERT INTO users VALUES (1, 'ann', 'US', NULL, 'pro', '2026-11-01'), (2, 'bob', 'US', 'm', 'free', '2026-11-20'), (3, 'cy', 'DE', 'f', 'free', '2026-11-25');
        INSERT INTO accounts VALUES (10, 1, '2026-11-01 12:00:00'), (11, 1, '2026-11-02 09:00:00'), (20, 2, '2026-11-21 09:00:00');
        INSERT INTO transactions VALUES (100, 10, 12.5, '2026-11-03 08:00:00'), (101, 11, 3, '2026-11-02 10:00:00'), (102, 20, 7, '2026-11-30 23:00:00');");
    let line = |time: &str, path: &str| format!("10.0.0.1 - - [{time}] \"GET {path} HTTP/1.1\" 200 100 \"-\" \"test\"\n");
    let log = [
        line("01/Dec/2026:10:00:00 +0000", "/user/1/"),
        line("01/Dec/2026:11:00:00 +0000", "/account/11/"),
        line("01/Dec/2026:12:00:00 +0000", "/account/20/"),
        // 23:30 UTC: still the first of December.
        line("02/Dec/2026:00:30:00 +0100", "/user/2/"),
        line("02/Dec/2026:09:00:00 +0000", "/user/1/"),
        line("02/Dec/2026:09:05:00 +0000", "/"),
        line("02/Dec/2026:09:06:00 +0000", "/user/9/"),
    ];
    std::fs::write(data.join("access_logs/access.log"), log.concat()).unwrap();
    let routes = data.join("routes.tsv");
    std::fs::write(&routes, "home\t^$\nuser_profile\t^user/(?P<user_id>\\d+)/$\naccount\t^account/(?P<account_id>\\d+)/$\n").unwrap();
    let out = tmp.path().join("out");
    let (data_root, out_root) = (data.to_str().unwrap(), out.to_str().unwrap());
    ok(crate::support::fletch(&["run", "access-logs", "-q", "--data-root", data_root, "--output-root", out_root, "--routes", routes.to_str().unwrap()]));
    for (table, key) in [("users", "user_id"), ("accounts", "account_id"), ("transactions", "transaction_id")] {
        ok(crate::support::fletch(&["run", "db-import", "-q", "--data-root", data_root, "--output-root", out_root, "--connect", "sqlite://app.sqlite", "--table", table, "--split-by", key, "--prefix", "web/"]));
    }
    let web = out.join("web");
    for report in ["actions_by_segment", "signup_funnel"] {
        let sql = crate::support::repo_path(&format!("sql/web/{report}.sql"));
        ok(crate::support::fletch(&["run", "sql-file", "-q", "--data-root", web.to_str().unwrap(), "--output-root", out_root, "--sql", &sql]));
    }
    let row = |day: &str, plan: &str, action: &str| json!({"day": day, "country": "US", "plan": plan, "action": action, "requests": 1, "users": 1});
    assert_eq!(
        sql_json(&out, "SELECT * FROM actions_by_segment ORDER BY day, country, plan, action"),
        [
            row("2026-12-01", "free", "account"),
            row("2026-12-01", "free", "user_profile"),
            row("2026-12-01", "pro", "account"),
            row("2026-12-01", "pro", "user_profile"),
            row("2026-12-02", "pro", "user_profile"),
        ]
    );
    // ann: first transaction on 11-02 (account 11), a day after signing up; bob: 11-30, ten days.
    assert_eq!(
        sql_json(&out, "SELECT * FROM signup_funnel ORDER BY country, plan"),
        [
            json!({"country": "DE", "plan": "free", "signed_up": 1, "seen": 0, "with_account": 0, "transacted": 0}),
            json!({"country": "US", "plan": "free", "signed_up": 1, "seen": 1, "with_account": 1, "transacted": 1, "mean_days_to_first": 10.0, "max_days_to_first": 10}),
            json!({"country": "US", "plan": "pro", "signed_up": 1, "seen": 1, "with_account": 1, "transacted": 1, "mean_days_to_first": 1.0, "max_days_to_first": 1}),
        ]
    );
}
