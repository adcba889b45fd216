//! Who may use a cluster and what its SQL may touch: a token on the
//! scheduler's port (fletch clients, executors, ADBC Flight SQL), local files
//! confined to allowed roots, loopback binds by default.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{Value, json};

use crate::support::{Cluster, Processes, consumer, fletch, fletch_bin, free_port, ok, python, sample, stderr, wait_for_port};

const TOKEN: &str = "fletch-test-token-0123456789abcdef";

#[test]
fn a_scheduler_with_a_token_serves_only_its_holders() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sample(&tmp.path().join("sample"));
    let token = tmp.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let t = token.to_str().unwrap();
    // Executors present the token too, or they could not register.
    let cluster = Cluster::start_with(&tmp.path().join("cluster"), 2, &[], &["--flight-sql", "--auth-token-file", t], &["--auth-token-file", t]);
    let (s, d) = (cluster.scheduler.as_str(), data.to_str().unwrap());

    let anonymous = fletch(&["sql", "-q", "--scheduler", s, "--data-root", d, "-c", "SELECT count(*) AS n FROM events"]);
    assert_eq!(anonymous.status.code(), Some(1), "{}", stderr(&anonymous));
    assert!(stderr(&anonymous).contains("missing or wrong token"), "{}", stderr(&anonymous));
    let wrong = tmp.path().join("wrong");
    std::fs::write(&wrong, "another-token-of-enough-length").unwrap();
    let r = fletch(&["sql", "-q", "--scheduler", s, "--auth-token-file", wrong.to_str().unwrap(), "--data-root", d, "-c", "SELECT 1"]);
    assert!(stderr(&r).contains("missing or wrong token"), "{}", stderr(&r));

    let counted = ok(fletch(&["sql", "-q", "--format", "csv", "--scheduler", s, "--auth-token-file", t, "--data-root", d, "-c", "SELECT count(*) AS n FROM events"]));
    assert_eq!(counted, "n\n9333\n");
    assert!(cluster.finished_tasks().iter().sum::<usize>() > 0, "the query ran on the executors");

    // A notebook's ADBC connection: refused without the token, served with it.
    let uri = format!("grpc://{s}");
    let probe = "import sys, adbc_driver_flightsql.dbapi as f\n\
                 try:\n    c = f.connect(sys.argv[1], autocommit=True); cur = c.cursor(); cur.execute('SELECT 1'); cur.fetchall(); print('served')\n\
                 except Exception as e:\n    print('refused:', e)";
    let refused = python(&["-c", probe, &uri], &[]);
    assert!(refused.starts_with("refused:") && refused.contains("UNAUTHENTICATED"), "{refused}");
    let request = json!({"queries": {"buckets": "SELECT did_bucket('0000001', 2) AS b"}});
    let got: Value = serde_json::from_str(&python(&[&consumer("flight_sql.py"), &uri, &request.to_string()], &[("FLIGHT_SQL_TOKEN", TOKEN)])).unwrap();
    assert_eq!(got["results"]["buckets"]["rows"], json!([["1"]]));

    // What the scheduler knows of jobs needs it.
    let mut probe = TcpStream::connect(s).unwrap();
    write!(probe, "GET /jobs/none/recovery HTTP/1.1\r\nHost: {s}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    probe.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // So do its executors' task slots; the holders' clients size their jobs by them (two executors of two).
    for (header, answer) in [("", "HTTP/1.1 401"), (&format!("authorization: Bearer {TOKEN}\r\n")[..], "HTTP/1.1 200")] {
        let mut probe = TcpStream::connect(s).unwrap();
        write!(probe, "GET /slots HTTP/1.1\r\nHost: {s}\r\n{header}Connection: close\r\n\r\n").unwrap();
        let mut got = String::new();
        probe.read_to_string(&mut got).unwrap();
        assert!(got.starts_with(answer), "{got}");
        assert!(answer.ends_with("401") || got.ends_with("\r\n\r\n4\n"), "{got}");
    }

    // Health probes need no token.
    let mut probe = TcpStream::connect(s).unwrap();
    write!(probe, "GET /readyz HTTP/1.1\r\nHost: {s}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    probe.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ready: executors registered\n"), "{answer}");
}

#[test]
fn sql_cannot_reach_files_outside_the_allowed_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sample(&tmp.path().join("sample"));
    let cluster = Cluster::start_with(&tmp.path().join("cluster"), 2, &[], &["--flight-sql"], &[]);
    let (s, d) = (cluster.scheduler.as_str(), data.to_str().unwrap());
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("stolen");
    let secret = outside.path().join("secret.csv");
    std::fs::write(&secret, "a,b\n1,2\n").unwrap();
    let read = "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'; SELECT * FROM p";
    let read_secret = format!("CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '{}'; SELECT * FROM p", secret.display());
    let write = format!("COPY (SELECT 1 AS x) TO '{}/' STORED AS PARQUET", target.display());

    // Embedded, `fletch sql` may use its data root only.
    for sql in [read, &write] {
        let r = fletch(&["sql", "-q", "--data-root", d, "-c", sql]);
        assert_eq!(r.status.code(), Some(1), "{sql}: {}", stderr(&r));
        assert!(stderr(&r).contains("is outside the allowed roots"), "{sql}: {}", stderr(&r));
    }
    // On the cluster the scheduler and executors refuse, whatever the client allows itself.
    let o = outside.path().to_str().unwrap();
    let r = fletch(&["sql", "-q", "--scheduler", s, "--allowed-roots", o, "--data-root", d, "-c", &read_secret]);
    assert!(stderr(&r).contains(&format!("{} is outside the allowed roots", secret.display())), "{}", stderr(&r));
    let r = fletch(&["sql", "-q", "--scheduler", s, "--data-root", d, "-c", &write]);
    assert!(!r.status.success() && stderr(&r).contains("outside the allowed roots"), "{}", stderr(&r));
    assert!(!target.exists(), "COPY wrote outside the allowed roots");
    // Flight SQL clients run DDL on the scheduler itself.
    let request = json!({"failing": {"passwd": "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'"}});
    let got: Value = serde_json::from_str(&python(&[&consumer("flight_sql.py"), &format!("grpc://{s}"), &request.to_string()], &[])).unwrap();
    assert!(got["errors"]["passwd"].as_str().unwrap().contains("outside the allowed roots"), "{got}");
}

#[test]
fn binds_are_loopback_unless_asked_and_open_ports_are_warned_about() {
    let help = ok(fletch(&["scheduler", "--help"]));
    assert!(help.contains("[default: 127.0.0.1:50050]"), "{help}");
    assert!(!help.contains("REST"), "the help must not promise a REST API: {help}");
    assert!(ok(fletch(&["executor", "--help"])).contains("[default: 127.0.0.1:50051]"));

    let tmp = tempfile::tempdir().unwrap();
    let port = free_port(false);
    let log = tmp.path().join("scheduler.log");
    let mut scheduler = Processes::start("scheduler", fletch_bin(), &["scheduler".into(), "--bind".into(), format!("0.0.0.0:{port}")], &log);
    wait_for_port(&format!("127.0.0.1:{port}"), &log);
    std::thread::sleep(std::time::Duration::from_millis(300));
    scheduler.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(&format!("scheduler on 0.0.0.0:{port} has no --auth-token-file")), "{text}");
}
