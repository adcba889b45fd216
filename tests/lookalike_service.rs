//! `fletch serve lookalike` end to end with a real HTTP client: uploads, job
//! status, CSV download, jobs in parallel on a 2-executor cluster, a restart
//! with jobs in flight, every bad input, and the bearer token.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::lookalike_audience::{audience, inputs, run};
use crate::support::*;

const TOKEN: &str = "service-token-0123456789";
/// Numbers the folders of uploaded files.
static UPLOADS: AtomicUsize = AtomicUsize::new(0);

struct Service {
    procs: Processes,
    url: String,
    log: PathBuf,
    /// Where uploaded files are written first, for curl to send.
    uploads: PathBuf,
    token: Option<&'static str>,
}

impl Service {
    /// The service over the fixtures' tables at `data`, jobs under `root`.
    fn start(dir: &Path, data: &str, root: &Path, extra: &[&str], env: &[(&str, &str)]) -> Service {
        let bind = format!("127.0.0.1:{}", free_port(false));
        let mut args: Vec<String> = ["serve", "lookalike", "--bind", &bind, "--data-root", data, "--output-root", root.to_str().unwrap()].map(String::from).to_vec();
        args.extend(extra.iter().map(|a| a.to_string()));
        let log = dir.join(format!("service-{}.log", bind.replace(':', "-")));
        let procs = Processes::start_env("service", fletch_bin(), &args, env, &log);
        wait_for_port(&bind, &log);
        let token = extra.contains(&"--token-file").then_some(TOKEN);
        Service { procs, url: format!("http://{bind}"), log, uploads: dir.join(format!("uploads-{}", bind.replace(':', "-"))), token }
    }

    /// curl with `args` (and the token, if `token`): the status and the body.
    fn curl(&self, token: Option<&str>, args: &[&str]) -> (u16, String) {
        let mut command = Command::new("curl");
        command.args(["-sS", "-w", "\n%{http_code}"]);
        if let Some(token) = token {
            command.args(["-H", &format!("authorization: Bearer {token}")]);
        }
        let out = command.args(args).output().expect("curl");
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap_or_else(|| panic!("curl {args:?}: {}", String::from_utf8_lossy(&out.stderr)));
        (code.parse().unwrap(), body.to_string())
    }

    /// POSTs seed files (name, contents) and form fields as multipart; the status and JSON answer.
    fn submit(&self, files: &[(&str, &str)], fields: &[(&str, &str)]) -> (u16, Value) {
        let url = format!("{}/lookalike/extend-audience", self.url);
        let mut args: Vec<String> = Vec::new();
        for (i, (name, contents)) in files.iter().enumerate() {
            let dir = self.uploads.join(format!("{}-{i}", UPLOADS.fetch_add(1, Ordering::Relaxed)));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(name);
            std::fs::write(&path, contents).unwrap();
            args.extend(["-F".into(), format!("seeds=@{};filename={name}", path.display())]);
        }
        for (name, value) in fields {
            args.extend(["--form-string".into(), format!("{name}={value}")]);
        }
        if args.is_empty() {
            // A multipart body with no part at all.
            args.extend(["-H", "content-type: multipart/form-data; boundary=nothing", "--data-binary", "--nothing--\r\n"].map(String::from));
        }
        args.push(url);
        let (code, body) = self.curl(self.token, &args.iter().map(String::as_str).collect::<Vec<_>>());
        (code, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")))
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.curl(self.token, &[&format!("{}{path}", self.url)])
    }

    fn status(&self, job_id: &str) -> Value {
        let (code, body) = self.get(&format!("/lookalike/status/{job_id}"));
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Polls until every job of `job_ids` has `status` (at once); fails on a
    /// job that Failed unless that is the status awaited.
    fn wait_for(&self, job_ids: &[&str], status: &str) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let all: Vec<Value> = job_ids.iter().map(|id| self.status(id)).collect();
            if all.iter().all(|s| s["status"] == status) {
                return all;
            }
            let failed = all.iter().find(|s| s["status"] == "Failed");
            assert!(status == "Failed" || failed.is_none(), "a job failed: {failed:?}\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
            assert!(start.elapsed() < Duration::from_secs(180), "jobs not {status}: {all:?}\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The downloaded audience: (did, score) rows under a `did,score` header.
    fn download(&self, job_id: &str) -> Vec<(String, f64)> {
        let (code, csv) = self.get(&format!("/lookalike/extended-audience/{job_id}"));
        assert_eq!(code, 200, "{csv}");
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("did,score"));
        lines.map(|l| l.split_once(',').map(|(d, s)| (d.to_string(), s.parse().unwrap())).unwrap()).collect()
    }
}

fn job_id(answer: (u16, Value)) -> String {
    assert_eq!(answer.0, 202, "{}", answer.1);
    let id = answer.1["job_id"].as_str().unwrap().to_string();
    assert!(id.len() == 11 && id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()), "{id}");
    id
}

#[test]
fn service_extends_audiences_on_a_cluster_and_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, seed_file) = inputs(tmp.path());
    let seeds = std::fs::read_to_string(&seed_file).unwrap();
    // What lookalike-extend gives run directly, embedded.
    let direct = tmp.path().join("direct");
    run("lookalike-extend", &data, &direct, &["--seeds-file", &seed_file, "--audience-size", "10"]);
    let expected = audience(&direct);
    run("lookalike-extend", &data, &direct, &["--seeds-file", &seed_file, "--method", "mean-top10", "--audience-size", "2"]);
    let expected_mean = audience(&direct);

    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let root = tmp.path().join("service");
    let slow = [("FLETCH_FAULTS", "lookalike_service.job_start=sleep:3")];
    let service = Service::start(tmp.path(), &data, &root, &["--scheduler", &cluster.scheduler, "--max-concurrent-jobs", "2"], &slow);
    assert_eq!(service.get("/healthz"), (200, "ok\n".to_string()));

    // Upload → job id → Running → Finished → the same audience as the job.
    let first = job_id(service.submit(&[("seeds.txt", &seeds)], &[("audience_size", "10")]));
    service.wait_for(&[&first], "Running");
    let done = service.wait_for(&[&first], "Finished").remove(0);
    assert_eq!(done["url"], format!("/lookalike/extended-audience/{first}"));
    assert_eq!((done["summary"]["seeds_given"].as_i64(), done["summary"]["seeds_found"].as_i64()), (Some(3), Some(2)));
    assert!(done["error"].is_null() && done["finished"].is_string());
    assert_eq!(service.download(&first), expected);
    assert!(root.join(&first).join("seeds/001-seeds.txt").exists());

    // Two jobs at once: CSV seeds by mean-top10, and a keyword's clickers as seeds.
    let csv = job_id(service.submit(&[("crm_export.csv", "name,did\nx,s1\ny,s2\n")], &[("method", "mean-top10"), ("audience_size", "2")]));
    let keyword = job_id(service.submit(&[], &[("keyword", "29"), ("audience_size", "5")]));
    service.wait_for(&[&csv, &keyword], "Running");
    service.wait_for(&[&csv, &keyword], "Finished");
    assert_eq!(service.download(&csv), expected_mean);
    // Keyword 29's clickers d1, d2, d5, s1: only s1 has similar users.
    assert_eq!(service.download(&keyword), vec![("u1".to_string(), 1.5), ("s2".to_string(), 1.125)]);
    let (_, metrics) = service.get("/metrics");
    assert!(metrics.contains("fletch_lookalike_jobs{status=\"Finished\"} 3"), "{metrics}");
    assert!(metrics.contains("fletch_lookalike_job_run_seconds_count{status=\"Finished\"} 3"), "{metrics}");
    let mut service = service;
    assert_eq!(service.procs.stop_one("service", "TERM"), Some(0));

    // One slot: a slow job runs, the next waits; the service dies (SIGKILL).
    let slower = [("FLETCH_FAULTS", "lookalike_service.job_start=sleep:60")];
    let mut service = Service::start(tmp.path(), &data, &root, &["--scheduler", &cluster.scheduler, "--max-concurrent-jobs", "1"], &slower);
    let running = job_id(service.submit(&[("seeds.txt", &seeds)], &[]));
    service.wait_for(&[&running], "Running");
    let queued = job_id(service.submit(&[("seeds.txt", &seeds)], &[("audience_size", "1")]));
    assert_eq!(service.status(&queued)["status"], "Queued");
    service.procs.stop_one("service", "KILL");
    // Restarted: the running job failed with the reason, the queued one runs,
    // and the earlier jobs are still there.
    let service = Service::start(tmp.path(), &data, &root, &["--scheduler", &cluster.scheduler], &[]);
    let failed = service.wait_for(&[&running], "Failed").remove(0);
    assert!(failed["error"].as_str().unwrap().contains("the service stopped while the job ran"), "{failed}");
    service.wait_for(&[&queued], "Finished");
    assert_eq!(service.download(&queued), expected[..1].to_vec());
    assert_eq!(service.download(&first), expected);
    assert_eq!(service.get(&format!("/lookalike/extended-audience/{running}")).0, 409);
    assert!(cluster.finished_tasks().iter().all(|n| *n > 0), "both executors ran tasks: {:?}", cluster.finished_tasks());
}

#[test]
fn service_rejects_bad_input_and_requires_its_token() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, seed_file) = inputs(tmp.path());
    let seeds = std::fs::read_to_string(&seed_file).unwrap();
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let root = tmp.path().join("service");
    let env = [("FLETCH_FAULTS", "lookalike_service.job_start=sleep:2")];
    let service = Service::start(tmp.path(), &data, &root, &["--token-file", token_file.to_str().unwrap(), "--max-upload-bytes", "2000"], &env);

    // Without the token (or with another): 401 everywhere but /healthz.
    assert_eq!(service.curl(None, &[&format!("{}/healthz", service.url)]), (200, "ok\n".to_string()));
    for path in ["/metrics", "/lookalike/status/0123456789A", "/lookalike/extended-audience/0123456789A"] {
        let (code, body) = service.curl(None, &[&format!("{}{path}", service.url)]);
        assert_eq!(code, 401, "{path}");
        assert!(body.contains("missing or wrong token"), "{body}");
    }
    let (code, _) = service.curl(Some("not-the-token-at-all"), &["-F", "keyword=29", &format!("{}/lookalike/extend-audience", service.url)]);
    assert_eq!(code, 401);
    // Bad input: a 400 naming the problem, and nothing started.
    let big = "s1\n".repeat(1000);
    let cases: Vec<(Vec<(&str, &str)>, Vec<(&str, &str)>, &str)> = vec![
        (vec![], vec![], "empty upload"),
        (vec![("empty.txt", "")], vec![], "seed file empty.txt: no did (the file is empty)"),
        (vec![("export.csv", "user,age\ns1,3\n")], vec![], "seed file export.csv, line 1: 2 comma-separated fields but none named `did`"),
        (vec![("big.txt", big.as_str())], vec![], "larger than the service accepts (--max-upload-bytes 2000)"),
        (vec![("seeds.txt", seeds.as_str())], vec![("method", "nearest")], "method: expected similarity or mean-top10, got `nearest`"),
        (vec![("seeds.txt", seeds.as_str())], vec![("audience_size", "0")], "audience_size: expected a positive number of users, got 0"),
        (vec![("seeds.txt", seeds.as_str())], vec![("audience_size", "-3")], "audience_size: expected a positive number of users, got -3"),
        (vec![("seeds.txt", seeds.as_str())], vec![("audience_size", "ten")], "audience_size: expected an integer, got `ten`"),
        (vec![("seeds.txt", seeds.as_str())], vec![("colour", "red")], "unknown form field `colour`"),
    ];
    for (files, fields, error) in cases {
        let (code, answer) = service.submit(&files, &fields);
        assert_eq!(code, 400, "{error}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains(error), "{error}: {answer}");
    }
    assert!(!root.exists() || std::fs::read_dir(&root).unwrap().next().is_none(), "a rejected upload started nothing");
    assert_eq!(service.get("/lookalike/status/0123456789A").0, 404);
    assert_eq!(service.get("/lookalike/extended-audience/0123456789A").0, 404);

    // With the token, embedded: queued, not downloadable yet, then Finished.
    let job = job_id(service.submit(&[("seeds.txt", &seeds)], &[("audience_size", "10")]));
    let (code, early) = service.get(&format!("/lookalike/extended-audience/{job}"));
    assert_eq!(code, 409, "{early}");
    service.wait_for(&[&job], "Finished");
    assert_eq!(service.download(&job), vec![("u1".to_string(), 1.5), ("u2".to_string(), 0.5)]);
    assert!(service.get("/metrics").1.contains("fletch_lookalike_jobs{status=\"Finished\"} 1"));
    // SIGTERM with a job running: the service exits cleanly and the job failed saying why.
    let stopped = job_id(service.submit(&[("seeds.txt", &seeds)], &[]));
    service.wait_for(&[&stopped], "Running");
    let mut service = service;
    assert_eq!(service.procs.stop_one("service", "TERM"), Some(0));
    let record: Value = serde_json::from_str(&std::fs::read_to_string(root.join(&stopped).join("job.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "Failed");
    assert!(record["error"].as_str().unwrap().contains("the service was stopped (SIGTERM) while the job ran"), "{record}");
}
