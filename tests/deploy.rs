//! `deploy/`: the Kubernetes manifests render and validate offline, and every
//! CronJob's command is one the binary accepts; the container image builds
//! with a toolchain the workspace supports; `deploy/local-cluster.sh` starts a
//! working cluster and stops it.

use std::process::Command;

use crate::support::{fletch_bin, free_port, ok, python, repo_path as repo, sql_csv};

#[test]
fn kubernetes_manifests_validate() {
    let report = python(&[&repo("deploy/k8s/validate.py"), fletch_bin()], &[]);
    assert!(report.contains("CronJob/fletch-taar-locale"), "{report}");
}

/// `major.minor` as a comparable pair.
fn version(text: &str) -> (u32, u32) {
    let mut parts = text.split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

#[test]
fn dockerfile_toolchain_builds_the_workspace() {
    let dockerfile = std::fs::read_to_string(repo("deploy/Dockerfile")).unwrap();
    let image = dockerfile.lines().find_map(|l| l.strip_prefix("FROM rust:")).expect("a rust: build stage");
    let cargo = std::fs::read_to_string(repo("Cargo.toml")).unwrap();
    let needed = cargo.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    assert!(version(image.split('-').next().unwrap()) >= version(needed), "{image} is older than rust-version {needed}");
    assert!(dockerfile.contains("USER 10001"), "the runtime stage runs as a non-root user");
}

#[test]
fn local_cluster_script_starts_and_stops() {
    let tmp = tempfile::tempdir().unwrap();
    // Executor i listens on P+2i and P+2i+1: two adjacent free pairs.
    let executor_port = loop {
        let (a, b) = (free_port(true), free_port(true));
        if b == a + 2 {
            break a;
        }
    };
    let scheduler_port = free_port(false).to_string();
    let script = |args: &[&str]| {
        Command::new("bash")
            .arg(repo("deploy/local-cluster.sh"))
            .args(args)
            .env("FLETCH_BIN", fletch_bin())
            .env("FLETCH_CLUSTER_DIR", tmp.path())
            .env("FLETCH_SCHEDULER_PORT", &scheduler_port)
            .env("FLETCH_EXECUTOR_PORT", executor_port.to_string())
            .output()
            .unwrap()
    };
    let started = ok(script(&["start", "2", "--flight-sql"]));
    assert!(started.contains("with 2 executors") && started.contains("Flight SQL: grpc://"), "{started}");
    let status = ok(script(&["status"]));
    assert_eq!(status.matches(": running").count(), 3, "{status}");

    let scheduler = format!("127.0.0.1:{scheduler_port}");
    let csv = sql_csv(Some(&scheduler), tmp.path(), "SELECT did_bucket('0000001', 2) AS b", &[]);
    // int(sha256(b"0000001").hexdigest(), 16) % 2 in Python.
    assert_eq!(csv.trim(), "b\n1");

    ok(script(&["stop"]));
    assert!(ok(script(&["status"])).is_empty(), "pid files removed");
    assert!(std::net::TcpStream::connect(&scheduler).is_err(), "scheduler stopped");
    assert_eq!(script(&["start", "two"]).status.code(), Some(2));
}
