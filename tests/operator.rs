//! What operators meet first: job help, configuration by environment,
//! `--print-config`, `--version`, completions, the man page, JSON logs.

use serde_json::Value;

use crate::support::{fletch, fletch_env, ok, stderr};

/// The line of `help` that documents `--flag`.
fn help_line<'a>(help: &'a str, flag: &str) -> &'a str {
    help.lines().find(|l| l.trim_start().starts_with(&format!("{flag} "))).unwrap_or_else(|| panic!("{flag} not in:\n{help}"))
}

#[test]
fn job_help_shows_types_defaults_requirements_and_environment() {
    let help = ok(fletch(&["run", "taar-locale", "--help"]));
    assert!(help.starts_with("TAAR: top add-ons per locale"), "{help}");
    assert!(help.contains("Usage: fletch run taar-locale [OPTIONS]"), "{help}");
    let seed = help_line(&help, "--seed");
    assert!(seed.contains("<INT>") && seed.contains("[default: 42]") && seed.contains("[env: FLETCH_SEED="), "{seed}");
    let data_root = help_line(&help, "--data-root");
    assert!(data_root.contains("[required]") && data_root.contains("[env: FLETCH_DATA_ROOT="), "{data_root}");
    // A job's own flags have no variable: FLETCH_EPSILON would be a surprise.
    assert!(!help_line(&help, "--epsilon").contains("env:"), "{help}");
}

#[test]
fn environment_configures_runs_and_flags_override_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let (data, out) = (data.to_str().unwrap(), out.to_str().unwrap());
    let config = ok(fletch_env(
        &["run", "taar-locale", "--output-root", out, "--epsilon", "2", "--print-config"],
        &[("FLETCH_DATA_ROOT", data), ("FLETCH_OUTPUT_ROOT", "/ignored"), ("FLETCH_SCHEDULER", "sched:50050")],
    ));
    let lines: Vec<Vec<&str>> = config.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["job", "taar-locale"]);
    let line = |flag: &str| lines.iter().find(|l| l[0] == flag).unwrap_or_else(|| panic!("{flag} not in:\n{config}")).join(" ");
    assert_eq!(line("--data-root"), format!("--data-root {data} [environment FLETCH_DATA_ROOT]"));
    assert_eq!(line("--output-root"), format!("--output-root {out} [flag]"));
    assert_eq!(line("--scheduler"), "--scheduler sched:50050 [environment FLETCH_SCHEDULER]");
    assert_eq!(line("--seed"), "--seed 42 [default]");
    assert_eq!(line("--epsilon"), "--epsilon 2 [flag]");
    assert_eq!(line("--whitelist"), "--whitelist (unset) [not given]");
    assert!(!std::path::Path::new(out).exists(), "--print-config wrote something");

    // A real run configured by the environment alone.
    ok(fletch(&["gen", "amo", "-q", "--output-root", data, "--scale", "0.01"]));
    ok(fletch_env(&["run", "taar-amowhitelist", "-q", "--date", "20261121"], &[("FLETCH_DATA_ROOT", data), ("FLETCH_OUTPUT_ROOT", out)]));
    assert!(std::path::Path::new(out).join("telemetry-ml/addon_recommender/whitelist_addons_database.json").exists());
}

#[test]
fn version_names_the_revision_and_the_engine() {
    let version = ok(fletch(&["--version"]));
    let revision = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).current_dir(crate::support::repo_path("")).output().unwrap();
    let revision = String::from_utf8_lossy(&revision.stdout).trim().to_string();
    let mut lines = version.lines();
    assert_eq!(lines.next().unwrap(), format!("fletch {} (git {revision})", env!("CARGO_PKG_VERSION")));
    let engine = lines.next().unwrap();
    assert!(engine.starts_with("DataFusion 55.") && engine.contains(", Ballista 55.") && engine.contains(", Arrow "), "{engine}");
}

#[test]
fn completions_and_the_man_page_cover_every_job() {
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(fletch(&["completions", shell]));
        for word in ["taar-locale", "lookalike-prepare", "epsilon", "skip-unreadable-files"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    let man = ok(fletch(&["man"]));
    assert!(man.contains(".TH fletch 1") && man.contains("Print a shell completion script"), "{man}");
    let e = fletch(&["completions", "tcsh"]);
    assert_eq!(e.status.code(), Some(2), "{}", stderr(&e));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(fletch(&["gen", "amo", "-q", "--output-root", data.to_str().unwrap(), "--scale", "0.01"]));
    let r = fletch_env(&["sql", "-q", "--data-root", data.to_str().unwrap(), "-c", "SELECT 1"], &[("FLETCH_LOG_FORMAT", "json"), ("RUST_LOG", "info")]);
    let log = stderr(&r);
    assert!(r.status.success(), "{log}");
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(lines.iter().any(|l| l["level"] == "INFO" && l["message"].as_str().unwrap().ends_with("holds no Parquet table; not registered")), "{log}");
    assert!(lines.iter().all(|l| l["ts"].is_string() && l["target"].is_string()), "{log}");
    let bad = fletch_env(&["jobs"], &[("FLETCH_LOG_FORMAT", "xml")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("invalid value 'xml' for '--log-format"), "{}", stderr(&bad));
}

#[test]
fn summaries_in_json_for_run_gen_and_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let generated: Value = serde_json::from_str(&ok(fletch(&["gen", "clients-daily", "-q", "--output-root", d, "--scale", "0.01", "--format", "json"]))).unwrap();
    assert_eq!(generated["dataset"], "clients-daily");
    let table = &generated["outputs"][0];
    assert!(table["url"].as_str().unwrap().ends_with("/clients_daily/") && table["rows"].as_u64().unwrap() > 0, "{generated}");
    ok(fletch(&["gen", "amo", "-q", "--output-root", d]));

    let ran: Value = serde_json::from_str(&ok(fletch(&["run", "taar-locale", "-q", "--data-root", d, "--output-root", o, "--date", "20261121", "--noise", "none", "--format", "json"]))).unwrap();
    assert_eq!((ran["job"].as_str(), ran["date"].as_str(), ran["mode"].as_str()), (Some("taar-locale"), Some("2026-11-21"), Some("embedded")));
    let steps = ran["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert!(names.contains(&"locale_counts") && names.last() == Some(&"commit outputs"), "{names:?}");
    assert!(steps.iter().all(|s| s["seconds"].as_f64().unwrap() >= 0.0));
    assert_eq!(steps.last().unwrap()["count"].as_u64(), Some(ran["outputs"].as_array().unwrap().len() as u64));
    let files: Vec<&str> = ran["outputs"].as_array().unwrap().iter().map(|o| o["url"].as_str().unwrap()).collect();
    assert!(files.iter().any(|f| f.ends_with("/taar/locale/top10_dict.json")), "{files:?}");
    assert!(ran["outputs"].as_array().unwrap().iter().all(|o| o["bytes"].as_u64().unwrap() > 0));

    let jobs: Value = serde_json::from_str(&ok(fletch(&["jobs", "--format", "json"]))).unwrap();
    let locale = jobs["jobs"].as_array().unwrap().iter().find(|j| j["name"] == "taar-locale").unwrap();
    let epsilon = locale["params"].as_array().unwrap().iter().find(|p| p["name"] == "epsilon").unwrap();
    assert_eq!((epsilon["type"].as_str(), epsilon["env"].is_null()), (Some("float"), true), "{epsilon}");
    assert_eq!(jobs["common_params"][0]["env"], "FLETCH_DATA_ROOT");
}

/// The SQL shell driven through a pseudo-terminal, as a person types.
#[test]
fn sql_shell_edits_remembers_describes_limits_and_cancels() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::support::sample(tmp.path());
    let mut command = std::process::Command::new(crate::support::fletch_bin());
    command.args(["sql", "--data-root", data.to_str().unwrap()]).env("HOME", tmp.path()).env("TERM", "xterm").env_remove("RUST_LOG");
    let mut p = rexpect::session::spawn_command(command, Some(60_000)).unwrap();
    p.exp_string("fletch> ").unwrap();
    p.send_line("\\d").unwrap();
    p.exp_string("events").unwrap();
    p.exp_string("fletch> ").unwrap();
    p.send_line("\\d events").unwrap();
    p.exp_string("client_id").unwrap();
    p.exp_string("fletch> ").unwrap();
    // A statement over two lines.
    p.send_line("SELECT count(DISTINCT day) AS days").unwrap();
    p.exp_string("...> ").unwrap();
    p.send_line("FROM events;").unwrap();
    p.exp_string("(1 row)").unwrap();
    p.exp_string("fletch> ").unwrap();
    // The up arrow brings the statement back.
    p.send("\x1b[A").unwrap();
    p.send_line("").unwrap();
    p.exp_string("(1 row)").unwrap();
    p.exp_string("fletch> ").unwrap();
    // At a terminal, 40 rows by default.
    p.send_line("SELECT * FROM generate_series(1, 100);").unwrap();
    p.exp_string("(100 rows, 40 shown").unwrap();
    p.exp_string("fletch> ").unwrap();
    // Ctrl-C cancels a long statement and keeps the session.
    p.send_line("SELECT count(*) FROM generate_series(1, 100000000000) a WHERE a.value % 7 = 3;").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    p.send_control('c').unwrap();
    p.exp_string("cancelled").unwrap();
    p.exp_string("fletch> ").unwrap();
    p.send_line("\\timing").unwrap();
    p.exp_string("timing is on").unwrap();
    p.send_line("SELECT 41 + 1 AS answer;").unwrap();
    p.exp_regex(r"42[\s\S]*\(1 row; [0-9.]+ s\)").unwrap();
    // Tab completes table names.
    p.send("SELECT count(*) AS n FROM eve").unwrap();
    p.send("\t").unwrap();
    p.send_line(";").unwrap();
    p.exp_string("(1 row;").unwrap();
    p.send_line("\\nonsense").unwrap();
    p.exp_string("unknown command").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
    let history = std::fs::read_to_string(tmp.path().join(".fletch_history")).unwrap();
    assert!(history.contains("FROM events;") && history.contains("\\timing"), "{history}");
}

/// `GET path` on `addr`: the status code, or 0 when nothing answers.
fn http_status(addr: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return 0 };
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn eventually(what: &str, check: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !check() {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "{what}: not within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Kubernetes probes: an executor's readiness follows its heartbeats.
#[test]
fn executor_health_follows_its_scheduler() {
    let tmp = tempfile::tempdir().unwrap();
    let health = format!("127.0.0.1:{}", crate::support::free_port(false));
    let cluster = crate::support::Cluster::start_with(&tmp.path().join("cluster"), 1, &[], &[], &["--health-bind", &health]);
    assert_eq!(http_status(&health, "/healthz"), 200);
    eventually("ready once heartbeats reach the scheduler", || http_status(&health, "/readyz") == 200);
    assert_eq!(http_status(&health, "/jobs"), 404, "the health port serves nothing else");
    cluster.procs.signal("scheduler", "KILL");
    eventually("not ready once the scheduler is gone", || http_status(&health, "/readyz") == 503);
    assert_eq!(http_status(&health, "/healthz"), 200, "alive all the same: a restart would not help");
}

/// SIGTERM and SIGINT stop the cluster's processes cleanly: an executor says
/// goodbye to its scheduler (which then schedules on the others) and each
/// exits with the shell's code for the signal.
#[test]
fn scheduler_and_executors_stop_cleanly_on_signals() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cluster = crate::support::Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    assert_eq!(cluster.procs.stop_one("executor1", "TERM"), Some(143), "executor on SIGTERM");
    assert!(cluster.scheduler_log().contains("Received executor stopped request from Executor"), "the executor deregistered:\n{}", cluster.scheduler_log());
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let rows = crate::support::sql_csv(Some(&cluster.scheduler), &data, "SELECT count(*) AS n FROM (VALUES (1), (2), (3)) AS t(x)", &[]);
    assert_eq!(rows.trim(), "n\n3", "the remaining executor runs the work");
    assert_eq!(cluster.procs.stop_one("executor0", "INT"), Some(130), "executor on SIGINT");
    assert_eq!(cluster.procs.stop_one("scheduler", "TERM"), Some(143), "scheduler on SIGTERM");
}

/// `--dry-run` checks inputs and plans, embedded and on a cluster (where the
/// plan is the scheduler's, stages included), and writes nothing.
#[test]
fn dry_run_prints_plans_checks_inputs_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::support::sample(tmp.path());
    let out = tmp.path().join("out");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let report = crate::support::fixture("daily_addons.sql");
    let dry = |sql: &str, extra: &[&str]| {
        let mut args = vec!["run", "sql-file", "-q", "--data-root", d, "--output-root", o, "--sql", sql, "--dry-run"];
        args.extend(extra);
        fletch(&args)
    };

    let text = ok(dry(&report, &[]));
    assert!(text.contains("--data-root") && text.contains("[flag]"), "the configuration first:\n{text}");
    assert!(text.contains(&format!("-- {report} (output daily_addons)\nlogical_plan:\n")), "{text}");
    assert!(text.contains("TableScan: events") && text.contains("physical_plan:"), "{text}");
    assert!(text.ends_with(&format!("a run would write:\n  file://{o}/daily_addons/\n")), "{text}");
    assert!(!out.exists());

    // A column or table the inputs lack fails as the run would, before anything runs.
    let bad = tmp.path().join("bad.sql");
    std::fs::write(&bad, "SELECT day, nope FROM events").unwrap();
    let failed = dry(bad.to_str().unwrap(), &[]);
    crate::support::assert_fails(&failed, 1, "nope", "missing column");
    std::fs::write(&bad, "SELECT * FROM clients_daily").unwrap();
    let failed = dry(bad.to_str().unwrap(), &[]);
    crate::support::assert_fails(&failed, 1, "reads `clients_daily`", "missing table");
    assert!(!out.exists());

    let cluster = crate::support::Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let json: Value = serde_json::from_str(&ok(dry(&report, &["--scheduler", &cluster.scheduler, "--format", "json"]))).unwrap();
    let plan = json["plans"][0]["plan"].as_str().unwrap();
    assert!(plan.contains("distributed_plan:") && plan.contains("ShuffleWriterExec"), "{plan}");
    assert_eq!(json["outputs"][0]["url"], format!("file://{o}/daily_addons/"));
    assert!(!out.exists());
}

/// SIGTERM and SIGINT stop a running `fletch sql` statement with the shell's codes.
#[test]
fn sql_stops_on_signals() {
    let tmp = tempfile::tempdir().unwrap();
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let args: Vec<String> = ["sql", "-c", "SELECT sum(value) FROM range(100000000000)"].map(String::from).to_vec();
        let mut sql = crate::support::Processes::start("sql", crate::support::fletch_bin(), &args, &tmp.path().join("sql.log"));
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert_eq!(sql.stop_one("sql", signal), Some(code), "{signal}: {}", std::fs::read_to_string(tmp.path().join("sql.log")).unwrap());
        assert!(std::fs::read_to_string(tmp.path().join("sql.log")).unwrap().contains(&format!("stopped by SIG{signal}")));
    }
}
