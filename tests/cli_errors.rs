//! User mistakes give a clear message, the documented exit code, and no panic.

use std::time::{Duration, Instant};

use crate::support::{fletch, ok, stderr};

fn expect_error(args: &[&str], code: i32, needles: &[&str]) {
    let out = fletch(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}\n{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` not in:\n{err}");
    }
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
}

#[test]
fn unknown_job_lists_the_jobs() {
    expect_error(&["run", "no-such-job"], 2, &["invalid value 'no-such-job'", "possible values: sql-file"]);
}

#[test]
fn job_help_lists_the_jobs_flags() {
    let help = ok(fletch(&["run", "taar-locale", "--help"]));
    for flag in ["--data-root", "--scheduler", "--epsilon", "--whitelist"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn unknown_flag_lists_the_flags() {
    expect_error(
        &["run", "sql-file", "--data-root", "d", "--output-root", "o", "--num-adons", "3"],
        2,
        &["unexpected argument '--num-adons'", "valid flags: --data-root, --output-root", "--sql"],
    );
}

#[test]
fn bad_values_name_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    expect_error(&["run", "sql-file", "--data-root", d, "--output-root", d, "--sql", "x.sql", "--date", "2026-13-45"], 2, &["--date: expected YYYYMMDD, got `2026-13-45`"]);
    expect_error(&["run", "sql-file", "--data-root", d, "--output-root", d, "--sql", "x.sql", "--seed", "-1"], 2, &["--seed: expected a non-negative integer"]);
    expect_error(&["run", "sql-file", "--data-root", d, "--output-root", "ftp://b/x", "--sql", "x.sql"], 2, &["--output-root: unsupported URL scheme `ftp`"]);
    expect_error(&["run", "sql-file", "--data-root", d, "--output-root", d], 2, &["missing required flag --sql"]);
    expect_error(&["run", "sql-file", "--output-root", d, "--sql", "x.sql"], 2, &["missing --data-root"]);
    expect_error(&["sql", "--param", "n:int=ten", "-c", "select 1"], 2, &["--param n: expected an integer, got `ten`"]);
    expect_error(&["sql", "--scheduler", "no-port", "-c", "select 1"], 2, &["--scheduler: expected HOST:PORT, got `no-port`"]);
}

#[test]
fn missing_inputs_name_the_table_and_path() {
    let tmp = tempfile::tempdir().unwrap();
    let sql = tmp.path().join("q.sql");
    std::fs::write(&sql, "SELECT * FROM clients_daily").unwrap();
    std::fs::create_dir(tmp.path().join("data")).unwrap();
    let data = tmp.path().join("data");
    let (data, out, sql) = (data.to_str().unwrap(), tmp.path().join("out"), sql.to_str().unwrap());
    let out = out.to_str().unwrap();
    expect_error(
        &["run", "sql-file", "--data-root", data, "--output-root", out, "--sql", sql],
        1,
        &[&format!("{sql} reads `clients_daily`: input table `clients_daily` not found: no Parquet files under file://{data}/clients_daily/")],
    );
    let missing_root = format!("{data}/nope");
    expect_error(&["run", "sql-file", "--data-root", &missing_root, "--output-root", out, "--sql", sql], 1, &[&format!("--data-root: {missing_root}/ is not a directory")]);
    expect_error(&["run", "sql-file", "--data-root", data, "--output-root", out, "--sql", "/no/such.sql"], 1, &["--sql: cannot read /no/such.sql"]);
    expect_error(&["sql", "-c", "SELEC 1"], 1, &["-c #1", "Expected: an SQL statement, found: SELEC"]);
}

#[test]
fn unreachable_scheduler_is_named_quickly() {
    let port = crate::support::free_port(false);
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    expect_error(&["sql", "--scheduler", &addr, "-c", "select 1"], 1, &[&format!("cannot reach the scheduler at {addr}")]);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    std::fs::write(tmp.path().join("q.sql"), "select 1").unwrap();
    let q = tmp.path().join("q.sql");
    expect_error(
        &["run", "sql-file", "--scheduler", &addr, "--data-root", d, "--output-root", d, "--sql", q.to_str().unwrap()],
        1,
        &[&format!("cannot reach the scheduler at {addr}")],
    );
    // The bound for naming an unreachable scheduler.
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}

#[test]
fn gen_rejects_bad_arguments_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("out");
    let r = root.to_str().unwrap();
    expect_error(&["gen", "clients-daily", "--output-root", r, "--scale", "-1"], 2, &["--scale: expected a number in (0, 1000], got -1"]);
    expect_error(&["gen", "clients-daily", "--output-root", r, "--days", "0"], 2, &["--days: expected 1 to 3660, got 0"]);
    expect_error(&["gen", "clients-daily", "--output-root", r, "--start-date", "2026-02-30"], 2, &["--start-date: expected YYYYMMDD"]);
    expect_error(&["gen", "no-such-data", "--output-root", r], 2, &["invalid value 'no-such-data'", "possible values: clients-daily"]);
    assert!(!root.exists(), "nothing may be written for bad arguments");
    // A root below a regular file cannot be written.
    std::fs::write(tmp.path().join("file"), "x").unwrap();
    let under_file = tmp.path().join("file/out");
    expect_error(&["gen", "clients-daily", "--output-root", under_file.to_str().unwrap()], 2, &["--output-root: cannot write to"]);
}
