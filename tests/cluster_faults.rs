//! A cluster that is missing, cannot start, or stops making progress: every
//! case ends in a clear error within bounded time, and nothing is left
//! running or staged.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Cluster, assert_fails, fletch, fletch_bin, free_port, ok, sample, stderr};

/// `sql-file` over the sample's events on `scheduler`, writing `by_day`.
fn by_day_args(dir: &Path, data: &Path, scheduler: &str, extra: &[&str]) -> Vec<String> {
    let sql = dir.join("by_day.sql");
    std::fs::write(&sql, "SELECT day, count(*) AS n FROM events GROUP BY day ORDER BY day").unwrap();
    let mut args: Vec<String> = ["run", "sql-file", "--scheduler", scheduler, "--data-root"].map(String::from).into();
    args.push(data.display().to_string());
    args.extend(["--output-root".into(), dir.join("out").display().to_string(), "--sql".into(), sql.display().to_string()]);
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn run(args: &[String]) -> std::process::Output {
    fletch(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn without_executors_a_run_fails_after_executor_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sample(&tmp.path().join("sample"));
    let cluster = Cluster::start(&tmp.path().join("cluster"), 0, &[]);
    let started = Instant::now();
    let r = run(&by_day_args(tmp.path(), &data, &cluster.scheduler, &["--executor-wait", "2"]));
    assert!(started.elapsed() < Duration::from_secs(30), "gave up in time");
    let s = &cluster.scheduler;
    assert_fails(&r, 1, &format!("no executor registered with the scheduler at {s} within 2s"), "no executors");
    assert!(stderr(&r).contains(&format!("waiting for an executor to register with the scheduler at {s}")), "{}", stderr(&r));
    assert!(!tmp.path().join("out").exists(), "nothing written");
}

#[test]
fn a_scheduler_that_cannot_listen_or_be_reached_says_so() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let r = fletch(&["scheduler", "--bind", &addr]);
    assert_fails(&r, 1, &format!("scheduler: cannot listen on {addr}"), "port taken");
    assert!(!stderr(&r).contains("listening"), "{}", stderr(&r));

    let tmp = tempfile::tempdir().unwrap();
    let nobody = format!("127.0.0.1:{}", free_port(false));
    let bind = format!("127.0.0.1:{}", free_port(true));
    let work = tmp.path().join("work");
    let started = Instant::now();
    let r = fletch(&["executor", "--scheduler", &nobody, "--bind", &bind, "--work-dir", work.to_str().unwrap(), "--scheduler-wait", "2"]);
    assert!(started.elapsed() < Duration::from_secs(30), "gave up in time");
    assert_fails(&r, 1, &format!("gave up after 2s (--scheduler-wait): cannot reach the scheduler at {nobody}"), "no scheduler");
}

/// Frozen executors (SIGSTOP) look alive to the scheduler but finish
/// nothing: the client cancels the job, runs it again once, then names it;
/// a client stopped by SIGTERM cancels its job too. Neither leaves staging,
/// and the next run on thawed executors succeeds. A scheduler killed under
/// a job is named, with the step.
#[test]
fn stalled_and_abandoned_jobs_are_cancelled_on_the_scheduler() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sample(&tmp.path().join("sample"));
    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let freeze = |signal: &str| (0..2).for_each(|i| cluster.procs.signal(&format!("executor{i}"), signal));
    let out = tmp.path().join("out");
    let cancelled = || cluster.scheduler_log().matches("Received cancellation request for job").count();

    freeze("STOP");
    let started = Instant::now();
    let r = run(&by_day_args(tmp.path(), &data, &cluster.scheduler, &["--stall-timeout", "3", "--job-retries", "1"]));
    assert!(started.elapsed() < Duration::from_secs(60), "gave up in time");
    let sql = tmp.path().join("by_day.sql");
    assert!(stderr(&r).contains("(--stall-timeout); it was cancelled; running it again (retry 1 of 1)"), "{}", stderr(&r));
    assert_fails(&r, 1, &format!("error: {}: job ", sql.display()), "stalled");
    assert!(stderr(&r).contains("completed no stage for 3s (--stall-timeout); it was cancelled (attempts: 2)"), "{}", stderr(&r));
    assert_eq!(cancelled(), 2, "both attempts cancelled");
    assert!(!out.join("by_day").exists() && !out.join(".fletch-staging").exists(), "nothing committed or staged");

    let args = by_day_args(tmp.path(), &data, &cluster.scheduler, &[]);
    let client = Command::new(fletch_bin()).args(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let submitted = Instant::now();
    while cluster.scheduler_log().matches("Job submitted").count() < 3 {
        assert!(submitted.elapsed() < Duration::from_secs(60), "the job was never submitted");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(Command::new("kill").args(["-TERM", &client.id().to_string()]).status().unwrap().success());
    let r = client.wait_with_output().unwrap();
    assert_fails(&r, 143, "stopped by SIGTERM; running cluster jobs cancelled, staged outputs removed", "SIGTERM");
    assert!(stderr(&r).contains("cancelled job "), "{}", stderr(&r));
    assert_eq!(cancelled(), 3, "the abandoned job was cancelled");
    assert!(!out.join(".fletch-staging").exists(), "staging and lease removed");

    freeze("CONT");
    ok(run(&args));
    let counted = ok(fletch(&["sql", "-q", "--format", "csv", "--data-root", out.to_str().unwrap(), "-c", "SELECT sum(n) AS n FROM by_day"]));
    assert_eq!(counted, "n\n9333\n");

    freeze("STOP");
    let before = cluster.scheduler_log().matches("Job submitted").count();
    let client = Command::new(fletch_bin()).args(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let submitted = Instant::now();
    while cluster.scheduler_log().matches("Job submitted").count() <= before {
        assert!(submitted.elapsed() < Duration::from_secs(60), "the job was never submitted");
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.procs.signal("scheduler", "KILL");
    let killed = Instant::now();
    let r = client.wait_with_output().unwrap();
    assert!(killed.elapsed() < Duration::from_secs(45), "gave up in time");
    assert_fails(&r, 1, &format!("error: {}: lost the scheduler at {} while it ran job ", sql.display(), cluster.scheduler), "lost scheduler");
    assert!(!out.join(".fletch-staging").exists(), "staging and lease removed");
}

/// `FLETCH_SCHEDULING=push` on every process: the scheduler pushes tasks
/// (faster for small jobs, unsafe when executors are lost) and gets the same result.
#[test]
fn a_pushing_cluster_runs_jobs_too() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sample(&tmp.path().join("sample"));
    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[("FLETCH_SCHEDULING", "push")]);
    assert!(cluster.scheduler_log().contains("task scheduling policy of PushStaged"), "{}", cluster.scheduler_log());
    ok(run(&by_day_args(tmp.path(), &data, &cluster.scheduler, &[])));
    let out = tmp.path().join("out");
    let counted = ok(fletch(&["sql", "-q", "--format", "csv", "--data-root", out.to_str().unwrap(), "-c", "SELECT sum(n) AS n FROM by_day"]));
    assert_eq!(counted, "n\n9333\n");
    assert!(cluster.finished_tasks().iter().all(|&n| n > 0), "both executors ran tasks");
}
