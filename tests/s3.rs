//! `s3://` end to end against a real S3-compatible server (moto) on loopback,
//! embedded and on a cluster whose executors resolve the same URLs.

use crate::support::{Cluster, Moto, fixture, fletch_env, ok, sample, sql_csv};

#[test]
fn s3_round_trip_embedded_and_distributed() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Moto::start(&tmp.path().join("s3"));
    server.create_bucket("fletch");
    let env = server.env();
    let local = sample(&tmp.path().join("sample"));

    let copy_sql = tmp.path().join("events.sql");
    std::fs::write(&copy_sql, "SELECT * FROM events").unwrap();
    let report_sql = &fixture("daily_addons.sql");
    let run = |scheduler: Option<&str>, data: &str, out: &str, sql: &str, extra: &[&str]| {
        let mut args = vec!["run", "sql-file", "-q", "--data-root", data, "--output-root", out, "--sql", sql];
        args.extend(extra);
        if let Some(s) = scheduler {
            args.extend(["--scheduler", s]);
        }
        ok(fletch_env(&args, &env))
    };

    // Local -> S3, partitioned; then S3 -> S3 embedded.
    let written = run(None, local.to_str().unwrap(), "s3://fletch/data", copy_sql.to_str().unwrap(), &["--partition-by", "day"]);
    assert!(written.contains("s3://fletch/data/events/") && written.contains("9,333 rows"), "{written}");
    run(None, "s3://fletch/data", "s3://fletch/out-embedded", report_sql, &[]);

    // The same report on a cluster reading and writing S3.
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &env);
    run(Some(&cluster.scheduler), "s3://fletch/data", "s3://fletch/out-cluster", report_sql, &[]);

    let all = "SELECT * FROM daily_addons ORDER BY day, locale";
    let local_out = tmp.path().join("local-out");
    run(None, local.to_str().unwrap(), local_out.to_str().unwrap(), report_sql, &[]);
    let expected = sql_csv(None, &local_out, all, &[]);
    assert_eq!(expected.lines().count(), 29);
    assert_eq!(ok(fletch_env(&["sql", "-q", "--format", "csv", "--data-root", "s3://fletch/out-embedded", "-c", all], &env)), expected);
    assert_eq!(ok(fletch_env(&["sql", "-q", "--format", "csv", "--data-root", "s3://fletch/out-cluster", "-c", all], &env)), expected);
    let forced = cluster.procs.stop();
    assert!(forced.is_empty(), "did not stop on SIGTERM: {forced:?}");

    // The generator writes to S3 as well, and its output is readable there.
    let generated = ok(fletch_env(&["gen", "clients-daily", "-q", "--output-root", "s3://fletch/gen", "--scale", "0.002"], &env));
    assert!(generated.contains("s3://fletch/gen/clients_daily/"), "{generated}");
    let days = "SELECT count(DISTINCT submission_date_s3) AS days FROM clients_daily";
    assert_eq!(ok(fletch_env(&["sql", "-q", "--format", "csv", "--data-root", "s3://fletch/gen", "-c", days], &env)), "days\n28\n");
}
