//! Executor loss: one of two executors is killed (SIGKILL) part way through
//! a job. Every trial must end within two minutes, either completed with
//! outputs equal to an embedded run's or failed with a clear error and the
//! previous outputs untouched; none may hang.
//!
//! CI runs a few trials on small data. benches/chaos.sh runs the long
//! version through the same test: `FLETCH_CHAOS_TRIALS` (per job),
//! `FLETCH_CHAOS_JOBS` (comma-separated, default all),
//! `FLETCH_CHAOS_SCALE` (times the data below), `FLETCH_CHAOS_REPORT` (a
//! JSON file of every trial) and `FLETCH_BIN` (the build to run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Cluster, fletch, fletch_bin, ok, sql_json, stderr, tree};

/// The goal: a trial ends, one way or the other, within this.
const BOUND: Duration = Duration::from_secs(120);
/// A client still running this long after the kill has hung.
const HANG: Duration = Duration::from_secs(300);

struct Case {
    job: &'static str,
    /// `fletch gen` datasets and their scale at `FLETCH_CHAOS_SCALE=1`.
    data: &'static [(&'static str, f64)],
    /// Jobs that make the rest of its input, run embedded into the data root.
    before: &'static [&'static str],
    flags: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case { job: "lookalike-prepare", data: &[("lookalike", 0.001)], before: &[], flags: &[] },
    Case {
        job: "taar-lite-guidguid",
        data: &[("clients-daily", 0.02), ("amo", 1.0)],
        before: &["taar-amowhitelist"],
        flags: &["--date", "20261121"],
    },
    Case {
        job: "taar-similarity",
        data: &[("clients-daily", 0.02), ("amo", 1.0)],
        before: &[],
        flags: &["--date", "20261121", "--num-clusters", "6", "--seed", "7"],
    },
];

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: cannot parse `{v}`"))).unwrap_or(default)
}

fn job_args(case: &Case, data: &Path, out: &Path, scheduler: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = vec!["run".into(), case.job.into(), "-q".into()];
    args.extend(["--data-root".into(), data.display().to_string(), "--output-root".into(), out.display().to_string()]);
    args.extend(case.flags.iter().map(|f| f.to_string()));
    if let Some(s) = scheduler {
        args.extend(["--scheduler".into(), s.into()]);
    }
    args
}

/// What an output root holds, independent of file names and row order:
/// Parquet tables as their sorted rows, other files as their bytes.
fn content(root: &Path) -> BTreeMap<String, String> {
    let mut content = BTreeMap::new();
    for (file, bytes) in tree(root).into_iter().filter(|(f, _)| !f.starts_with('.')) {
        match file.ends_with(".parquet") {
            true => {
                let table = file.split('/').next().unwrap().to_string();
                content.entry(table).or_insert_with_key(|table| {
                    let mut rows: Vec<String> = sql_json(root, &format!("SELECT * FROM {table}")).iter().map(Value::to_string).collect();
                    rows.sort();
                    rows.join("\n")
                });
            }
            false => {
                content.insert(file, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    content
}

/// The entries of two [`content`]s that differ.
fn differing(got: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    keys.into_iter().filter(|k| got.get(*k) != want.get(*k)).cloned().collect()
}

/// How a trial ended; all but the first two are defects.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Exit 0, outputs equal to the embedded run's.
    Completed,
    /// A fletch error line, previous outputs untouched, nothing staged.
    Failed,
    /// Exit 0 with other outputs, or staging left.
    Wrong,
    /// Failed, but outputs changed or staging left.
    Partial,
    /// Failed without a clear fletch error.
    Unclear,
    /// Ended, but later than [`BOUND`] after the kill.
    Slow,
    /// Still running [`HANG`] after the kill.
    Hung,
}

struct Trial {
    job: &'static str,
    kill_after: Duration,
    mid_job: bool,
    seconds: f64,
    outcome: Outcome,
    error: String,
}

fn trial(case: &Case, dir: &Path, data: &Path, reference: &Path, kill_after: Duration, victim: usize) -> Trial {
    // The cluster's logs and work folders are in `dir`, and so are the outputs.
    let cluster = Cluster::start(dir, 2, &[]);
    let out = dir.join("out");
    // The previous run's outputs are in place: a failed run must leave them be.
    assert!(Command::new("cp").arg("-a").arg(reference).arg(&out).status().unwrap().success());
    let before = tree(&out);
    let started = Instant::now();
    let mut client = Command::new(fletch_bin())
        .args(job_args(case, data, &out, Some(&cluster.scheduler)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(kill_after);
    let mid_job = client.try_wait().unwrap().is_none();
    cluster.procs.signal(&format!("executor{victim}"), "KILL");
    let killed = Instant::now();
    while client.try_wait().unwrap().is_none() && killed.elapsed() < HANG {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (hung, after_kill) = (client.try_wait().unwrap().is_none(), killed.elapsed());
    if hung {
        client.kill().unwrap();
    }
    let r = client.wait_with_output().unwrap();
    let mut error = if r.status.success() { String::new() } else { stderr(&r).lines().last().unwrap_or_default().to_string() };
    let staged = out.join(".fletch-staging").exists();
    let outcome = if hung {
        Outcome::Hung
    } else if r.status.success() {
        let differs = differing(&content(&out), &content(reference));
        match (staged, differs.is_empty()) {
            (false, true) if after_kill > BOUND => Outcome::Slow,
            (false, true) => Outcome::Completed,
            _ => {
                error = format!("staging left: {staged}; differs: {differs:?}");
                Outcome::Wrong
            }
        }
    } else if after_kill > BOUND {
        Outcome::Slow
    } else if staged || tree(&out) != before {
        Outcome::Partial
    } else if !error.starts_with("error: ") || (error.contains("h2 protocol") && !error.contains("lost its connection")) || error.contains("panicked") {
        Outcome::Unclear
    } else {
        Outcome::Failed
    };
    Trial { job: case.job, kill_after, mid_job, seconds: started.elapsed().as_secs_f64(), outcome, error }
}

#[test]
fn executor_loss_never_hangs_or_corrupts_outputs() {
    let trials: usize = setting("FLETCH_CHAOS_TRIALS", 2);
    let scale: f64 = setting("FLETCH_CHAOS_SCALE", 1.0);
    let tmp = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    let jobs: String = setting("FLETCH_CHAOS_JOBS", String::new());
    for case in CASES.iter().filter(|c| jobs.is_empty() || jobs.split(',').any(|j| j == c.job)) {
        let dir = tmp.path().join(case.job);
        let data = dir.join("data");
        for (dataset, s) in case.data {
            let s = if *dataset == "amo" { *s } else { s * scale };
            ok(fletch(&["gen", dataset, "-q", "--output-root", data.to_str().unwrap(), "--scale", &s.to_string()]));
        }
        for job in case.before {
            let d = data.to_str().unwrap();
            ok(fletch(&["run", job, "-q", "--data-root", d, "--output-root", d, "--date", "20261121"]));
        }
        let reference = dir.join("embedded");
        ok(fletch(&job_args(case, &data, &reference, None).iter().map(String::as_str).collect::<Vec<_>>()));

        // How long the job takes on an intact cluster; kills spread over it.
        let calibration = dir.join("calibration");
        let cluster = Cluster::start(&calibration, 2, &[]);
        let started = Instant::now();
        let out = calibration.join("out");
        ok(fletch(&job_args(case, &data, &out, Some(&cluster.scheduler)).iter().map(String::as_str).collect::<Vec<_>>()));
        let length = started.elapsed();
        drop(cluster);
        assert_eq!(content(&out), content(&reference), "{}: an intact cluster differs from embedded", case.job);

        for i in 0..trials {
            let kill_after = length.mul_f64((i as f64 + 0.5) / trials as f64);
            let t = trial(case, &dir.join(format!("trial{i}")), &data, &reference, kill_after, i % 2);
            eprintln!("chaos: {} trial {i}: kill after {:.1}s: {:?} in {:.1}s {}", t.job, kill_after.as_secs_f64(), t.outcome, t.seconds, t.error);
            results.push(t);
        }
    }

    if let Ok(report) = std::env::var("FLETCH_CHAOS_REPORT") {
        let trials: Vec<Value> = results
            .iter()
            .map(|t| json!({"job": t.job, "kill_after_s": t.kill_after.as_secs_f64(), "mid_job": t.mid_job, "seconds": t.seconds, "outcome": format!("{:?}", t.outcome), "error": t.error}))
            .collect();
        std::fs::write(PathBuf::from(report), serde_json::to_string_pretty(&json!({"scale": scale, "trials": trials})).unwrap()).unwrap();
    }
    if results.iter().any(|t| !matches!(t.outcome, Outcome::Completed | Outcome::Failed)) {
        eprintln!("chaos: trials kept in {}", tmp.keep().display());
    }
    let defects: Vec<String> = results
        .iter()
        .filter(|t| !matches!(t.outcome, Outcome::Completed | Outcome::Failed))
        .map(|t| format!("{} killed after {:.1}s: {:?} ({})", t.job, t.kill_after.as_secs_f64(), t.outcome, t.error))
        .collect();
    assert!(defects.is_empty(), "{defects:#?}");
    let mid_job = results.iter().filter(|t| t.mid_job).count();
    assert!(mid_job * 2 >= results.len(), "only {mid_job} of {} kills hit a running job", results.len());
}
