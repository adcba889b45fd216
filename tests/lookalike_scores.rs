//! lookalike-scores against a real TensorFlow SavedModel behind the TF
//! Serving REST API (tests/servers/tf_serving.py): the exact request bodies
//! of the original, the model's answers in `kws`, retried transient faults,
//! permanent ones that fail or are skipped, and the same table from a
//! 2-executor cluster whose executors make the calls. Then lookalike-vectors
//! over the scores, hand-checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::*;

/// The lookalike model server over the SavedModel tests/setup.sh builds;
/// every predict request is logged to `dir/requests.jsonl`.
struct ModelServer {
    base: String,
    requests: PathBuf,
    _procs: Processes,
}

impl ModelServer {
    fn start(dir: &Path) -> ModelServer {
        let python = PathBuf::from(repo_path(".venv-tf/bin/python"));
        let model = PathBuf::from(repo_path(".venv-tf/lookalike-model"));
        assert!(model.exists(), "{} is missing: run `bash tests/setup.sh` (tests/run.sh does) first", model.display());
        let port = free_port(false);
        let (requests, log) = (dir.join("requests.jsonl"), dir.join("model.log"));
        let args = [repo_path("tests/servers/tf_serving.py"), model.display().to_string(), port.to_string(), "--requests".into(), requests.display().to_string()];
        let procs = Processes::start("model", python.to_str().unwrap(), &args, &log);
        wait_for_port(&format!("127.0.0.1:{port}"), &log);
        ModelServer { base: format!("http://127.0.0.1:{port}"), requests, _procs: procs }
    }

    fn url(&self) -> String {
        format!("{}/v1/models/lookalike:predict", self.base)
    }

    /// POSTs `body` to `path` with the system Python: the answer as JSON.
    fn post(&self, path: &str, body: &Value) -> Value {
        let script = "import sys, urllib.request; r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method='POST')); print(r.read().decode())";
        let out = std::process::Command::new("python3").args(["-c", script, &format!("{}{path}", self.base), &body.to_string()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Replaces the injected faults (`u=U,kind=K[,times=N]`).
    fn faults(&self, specs: &[&str]) {
        self.post("/faults", &json!(specs));
    }

    /// The predict requests received since the last call: (User-Agent, body).
    fn take_requests(&self) -> Vec<(String, Value)> {
        let text = std::fs::read_to_string(&self.requests).unwrap_or_default();
        let _ = std::fs::remove_file(&self.requests);
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|r| (r["user_agent"].as_str().unwrap_or_default().to_string(), r["body"].clone()))
            .collect()
    }
}

/// The hand-made inputs: ad_keywords under `dir/data`, the train-ready table
/// and effective keywords lookalike-prepare would have written under `dir/out`.
fn inputs(dir: &Path) -> (String, String) {
    let (data, out) = (dir.join("data"), dir.join("out"));
    fixture_table(&data, "lookalike_score_mapping.sql", "ad_keywords", "");
    fixture_table(&out, "lookalike_score_keywords.sql", "lookalike_keywords", "");
    fixture_table(&out, "lookalike_score_trainready.sql", "lookalike_trainready", "did_bucket");
    (data.to_str().unwrap().to_string(), out.to_str().unwrap().to_string())
}

fn scores(data: &str, out: &str, model: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "lookalike-scores", "--data-root", data, "--output-root", out, "--model-url", model, "--model-retries", "3"];
    args.extend(extra);
    fletch(&args)
}

/// The score table: per did, its keywords and scores, did_index and bucket.
fn score_table(out: &str) -> Vec<Value> {
    sql_json(Path::new(out), "SELECT did, did_index, map_keys(kws) AS keywords, map_values(kws) AS scores, did_bucket FROM lookalike_score ORDER BY did")
}

/// Spec §9's request of one user.
fn body(u: i64, hist: &[i64], keywords: &[i64]) -> Value {
    let instances: Vec<Value> = keywords.iter().map(|k| json!({"hist_i": hist, "u": u, "i": k, "j": k, "sl": hist.len()})).collect();
    json!({ "instances": instances })
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

#[test]
fn scores_from_a_served_model_with_faults_and_on_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = inputs(tmp.path());
    let model = ModelServer::start(tmp.path());

    // Every effective keyword of the mapping, by index; one request per user,
    // with the keyword indices of its intervals, newest first, as history.
    ok(scores(&data, &out, &model.url(), &[]));
    let all = [3, 14, 25, 29];
    let expected = [("d1", body(7, &[25, 29, 14], &all)), ("d2", body(1_000_000_001, &[14], &all)), ("d3", body(8, &[29, 3, 5, 14], &all))];
    let sent: BTreeSet<String> = model.take_requests().into_iter().map(|(_, b)| b.to_string()).collect();
    assert_eq!(sent, expected.iter().map(|(_, b)| b.to_string()).collect::<BTreeSet<_>>());

    // kws holds the model's answers, keyword by keyword.
    let table = score_table(&out);
    assert_eq!(table.len(), 3);
    for (row, (did, request)) in table.iter().zip(&expected) {
        assert_eq!(row["did"], *did);
        assert_eq!(row["keywords"], json!(["sports", "info", "shopping", "video"]));
        let answer: Vec<f32> = model.post("/v1/models/lookalike:predict", request)["predictions"].as_array().unwrap().iter().map(|p| p[0].as_f64().unwrap() as f32).collect();
        assert_eq!(floats(&row["scores"]), answer, "{did}");
        assert!(answer.iter().all(|p| *p > 0.0 && *p < 1.0));
    }
    let clean = table;
    model.take_requests();

    // A 500, a 429 (Retry-After) and an answer slower than the timeout are
    // retried: the same table.
    model.faults(&["u=7,kind=500,times=1", "u=1000000001,kind=429,times=1", "u=8,kind=slow,times=1"]);
    ok(scores(&data, &out, &model.url(), &["--model-timeout", "1"]));
    assert_eq!(score_table(&out), clean);
    let mut attempts = std::collections::BTreeMap::new();
    for (_, body) in model.take_requests() {
        *attempts.entry(body["instances"][0]["u"].as_i64().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(attempts, [(7, 2), (8, 2), (1_000_000_001, 2)].into());

    // A permanent fault fails naming the user, the status and the model's
    // message, and writes nothing: the previous table stays.
    let faults = [
        ("error", "HTTP 400 Bad Request: injected: cannot score user 8"),
        ("malformed", "the answer is not JSON"),
        ("short", "3 predictions for 4 keywords"),
        ("nan", "is not a number"),
    ];
    for (kind, message) in faults {
        model.faults(&[&format!("u=8,kind={kind}")]);
        let failed = scores(&data, &out, &model.url(), &["--din-model-length", "2"]);
        assert_fails(&failed, 1, "user d3 (did_index 8)", kind);
        assert!(stderr(&failed).contains(message), "{kind}: {}", stderr(&failed));
        assert_eq!(score_table(&out), clean, "{kind}");
    }
    // Skipped instead: the others are written, the one left out is counted;
    // --din-model-length 2 keeps d3's newest two intervals only.
    model.take_requests();
    let skipped = scores(&data, &out, &model.url(), &["--on-model-error", "skip", "--din-model-length", "2", "--keywords", "did-era"]);
    let log = stderr(&skipped);
    ok(skipped);
    assert!(log.contains("1 of 3 users left out"), "{log}");
    let table = score_table(&out);
    assert_eq!(table.iter().map(|r| r["did"].as_str().unwrap()).collect::<Vec<_>>(), ["d1", "d2"]);
    assert_eq!(table[0]["keywords"], json!(["info", "shopping", "video"]));
    let d3 = model.take_requests().into_iter().find(|(_, b)| b["instances"][0]["u"] == 8).unwrap().1;
    assert_eq!(d3, body(8, &[29, 3], &[14, 25, 29]));
    model.faults(&[]);

    // --normalize: kws_norm = kws / its L2 norm.
    ok(scores(&data, &out, &model.url(), &["--normalize"]));
    let rows = sql_json(Path::new(&out), "SELECT did, map_values(kws) AS s, map_values(kws_norm) AS n FROM lookalike_score ORDER BY did");
    for row in &rows {
        let (s, n) = (floats(&row["s"]), floats(&row["n"]));
        let norm = s.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
        assert_eq!(n, s.iter().map(|v| (f64::from(*v) / norm) as f32).collect::<Vec<_>>());
    }

    // On a cluster: the same table, and the requests come from the executors.
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let distributed = tmp.path().join("distributed");
    std::fs::create_dir_all(&distributed).unwrap();
    let d = distributed.to_str().unwrap();
    fixture_table(&distributed, "lookalike_score_keywords.sql", "lookalike_keywords", "");
    fixture_table(&distributed, "lookalike_score_trainready.sql", "lookalike_trainready", "did_bucket");
    model.take_requests();
    ok(scores(&data, d, &model.url(), &["--scheduler", &cluster.scheduler]));
    assert_eq!(score_table(d), clean);
    let executors: BTreeSet<String> = ["executor0", "executor1"].iter().map(|e| format!("pid/{}", cluster.procs.pid(e))).collect();
    let agents = model.take_requests().into_iter().map(|(agent, _)| agent).collect::<Vec<_>>();
    assert_eq!(agents.len(), 3);
    for agent in agents {
        assert!(executors.iter().any(|pid| agent.ends_with(pid.as_str())), "{agent} is not an executor ({executors:?})");
    }
    assert!(cluster.procs.stop().is_empty(), "cluster did not stop on SIGTERM");
}

#[test]
fn an_unavailable_model_fails_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = inputs(tmp.path());
    let url = format!("http://127.0.0.1:{}/v1/models/lookalike:predict", free_port(false));
    let failed = fletch(&["run", "lookalike-scores", "--data-root", &data, "--output-root", &out, "--model-url", &url, "--model-retries", "0"]);
    assert_fails(&failed, 1, "does not answer", "no server");
    assert!(!Path::new(&out).join("lookalike_score").exists());
    assert_fails(&scores(&data, &out, "localhost:8501/lookalike", &[]), 2, "--model-url", "not a predict URL");
}

#[test]
fn vectors_and_matrix_hand_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    fixture_table(&data, "lookalike_score_mapping.sql", "ad_keywords", "");
    fixture_table(&out, "lookalike_score_keywords.sql", "lookalike_keywords", "");
    fixture_table(&out, "lookalike_score_table.sql", "lookalike_score", "did_bucket");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    ok(fletch(&["run", "lookalike-vectors", "--data-root", d, "--output-root", o]));

    // Dimensions: the mapping's keywords ascending; a missing keyword is 0.0;
    // c1 = Σ v² in double precision, stored as float.
    let rows = sql_json(&out, "SELECT did, score_vector, c1, did_bucket FROM lookalike_score_vector ORDER BY did");
    let expected = [
        ("d1", vec![0.0, 0.5, 0.0, 0.25, 0.0], "0"),
        ("d2", vec![0.0, 0.0, 0.0, 0.0, 0.0], "1"),
        ("d3", vec![0.0, 0.125, 0.75, 0.0, 1.0], "0"),
    ];
    assert_eq!(rows.len(), expected.len());
    for (row, (did, vector, bucket)) in rows.iter().zip(&expected) {
        assert_eq!((row["did"].as_str().unwrap(), row["did_bucket"].as_str().unwrap()), (*did, *bucket));
        assert_eq!(floats(&row["score_vector"]), *vector, "{did}");
        let c1: f64 = vector.iter().map(|v| f64::from(*v).powi(2)).sum();
        assert_eq!(row["c1"].as_f64().unwrap() as f32, c1 as f32, "{did}");
    }
    // One matrix row per bucket, aligned by did.
    let matrix = sql_json(&out, "SELECT did_list, score_matrix, c1_list, did_bucket FROM lookalike_score_matrix ORDER BY did_bucket");
    assert_eq!(matrix.len(), 2);
    assert_eq!(matrix[0]["did_list"], json!(["d1", "d3"]));
    assert_eq!(matrix[0]["score_matrix"], json!([rows[0]["score_vector"], rows[2]["score_vector"]]));
    assert_eq!(matrix[0]["c1_list"], json!([rows[0]["c1"], rows[2]["c1"]]));
    assert_eq!(matrix[1]["did_list"], json!(["d2"]));

    // The effective keywords as dimensions instead.
    ok(fletch(&["run", "lookalike-vectors", "--data-root", d, "--output-root", o, "--keywords-from", "effective"]));
    let tables = || {
        let vectors = sql_json(&out, "SELECT did, score_vector, c1, did_bucket FROM lookalike_score_vector ORDER BY did");
        (vectors, sql_json(&out, "SELECT * FROM lookalike_score_matrix ORDER BY did_bucket"))
    };
    let embedded = tables();
    assert_eq!(floats(&embedded.0[2]["score_vector"]), [0.125, 0.75, 0.0, 1.0]);

    // A cluster gives the same tables.
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    ok(fletch(&["run", "lookalike-vectors", "--data-root", d, "--output-root", o, "--keywords-from", "effective", "--scheduler", &cluster.scheduler]));
    assert_eq!(tables(), embedded);
    assert!(cluster.procs.stop().is_empty());
}

/// Each user's similar users as (did, score) pairs, users by did.
fn similarity(out: &Path) -> Vec<(String, Vec<(String, f32)>)> {
    sql_json(out, "SELECT did, top_n_similar_user FROM lookalike_similarity ORDER BY did")
        .iter()
        .map(|r| {
            let list = r["top_n_similar_user"].as_array().unwrap();
            (r["did"].as_str().unwrap().to_string(), list.iter().map(|s| (s["did"].as_str().unwrap().to_string(), s["score"].as_f64().unwrap() as f32)).collect())
        })
        .collect()
}

#[test]
fn similarity_hand_checked_with_the_originals_tie_order() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fixture_table(&out, "lookalike_score_vector.sql", "lookalike_score_vector", "did_bucket");
    let o = out.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "lookalike-similarity", "--data-root", o, "--output-root", o, "--top-n", "3"];
        args.extend(extra);
        ok(fletch(&args));
        similarity(&out)
    };
    // √2 − distance in f64, kept lists rounded to float between buckets: a's
    // kept c (√2 − 1 rounded up as a float) outranks b (√2 − 1 in f64) from
    // the next bucket; equal new candidates keep bucket order (b before d).
    let s2 = 2f32.sqrt();
    let near = (2f64.sqrt() - 1.0) as f32;
    let pairs = |p: &[(&str, f32)]| p.iter().map(|(d, s)| (d.to_string(), *s)).collect::<Vec<_>>();
    let expected = vec![
        ("a".to_string(), pairs(&[("a", s2), ("c", near), ("b", near)])),
        ("b".to_string(), pairs(&[("b", s2), ("d", s2), ("a", near)])),
        ("c".to_string(), pairs(&[("c", s2), ("a", near), ("b", 0.0)])),
        ("d".to_string(), pairs(&[("b", s2), ("d", s2), ("a", near)])),
    ];
    assert_eq!(run(&[]), expected);
    // One user per task: the same lists.
    assert_eq!(run(&["--block-users", "1"]), expected);
    // Candidates from bucket 0 only (the original's production config).
    let bucket0 = run(&["--cross-bucket-size", "1"]);
    assert_eq!(bucket0[1], ("b".to_string(), pairs(&[("a", near), ("c", 0.0)])));
    // A cluster of two executors gives the same table.
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    assert_eq!(run(&["--block-users", "1", "--scheduler", &cluster.scheduler]), expected);
    assert!(cluster.finished_tasks().iter().all(|n| *n > 0), "both executors ran tasks: {:?}", cluster.finished_tasks());
    assert!(cluster.procs.stop().is_empty());
}

#[test]
fn similarity_of_generated_users_matches_the_original_algorithm_and_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, embedded, distributed) = (tmp.path().join("data"), tmp.path().join("embedded"), tmp.path().join("distributed"));
    let d = data.to_str().unwrap();
    ok(fletch(&["gen", "lookalike", "-q", "--output-root", d, "--scale", "0.003"]));
    ok(fletch(&["gen", "lookalike-scores", "-q", "--output-root", d, "--scale", "0.003"]));
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    for (out, extra) in [(&embedded, vec![]), (&distributed, vec!["--scheduler", cluster.scheduler.as_str()])] {
        let o = out.to_str().unwrap();
        let mut vectors = vec!["run", "lookalike-vectors", "--data-root", d, "--output-root", o, "--scores-from", "data"];
        vectors.extend(&extra);
        ok(fletch(&vectors));
        let mut similar = vec!["run", "lookalike-similarity", "--data-root", d, "--output-root", o, "--block-users", "250"];
        similar.extend(&extra);
        ok(fletch(&similar));
    }
    assert!(cluster.finished_tasks().iter().all(|n| *n > 0), "both executors ran tasks: {:?}", cluster.finished_tasks());
    assert!(cluster.procs.stop().is_empty());
    let ours = similarity(&embedded);
    assert_eq!(similarity(&distributed), ours);

    // The original algorithm, in numpy and heapq, gives the same lists.
    let original: Value = serde_json::from_str(&python(&[&consumer("lookalike_similarity.py"), embedded.join("lookalike_score_vector").to_str().unwrap(), "10", "2", "2"], &[])).unwrap();
    let original = original.as_object().unwrap();
    assert_eq!(original.len(), ours.len());
    assert!(ours.len() > 1000, "{} users", ours.len());
    for (did, kept) in &ours {
        let theirs: Vec<(String, f32)> = original[did].as_array().unwrap().iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_f64().unwrap() as f32)).collect();
        assert_eq!(*kept, theirs, "{did}");
        // Itself first (√29 − 0), best first.
        assert_eq!(kept[0].0, *did);
        assert!(kept.windows(2).all(|w| w[0].1 >= w[1].1), "{did}: {kept:?}");
    }
}

#[test]
fn ivf_similarity_reports_its_recall_and_is_the_same_on_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, embedded, distributed) = (tmp.path().join("data"), tmp.path().join("embedded"), tmp.path().join("distributed"));
    let d = data.to_str().unwrap();
    ok(fletch(&["gen", "lookalike", "-q", "--output-root", d, "--scale", "0.01", "--days", "1"]));
    ok(fletch(&["gen", "lookalike-scores", "-q", "--output-root", d, "--scale", "0.01"]));
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let mut logs = Vec::new();
    for (out, extra) in [(&embedded, vec![]), (&distributed, vec!["--scheduler", cluster.scheduler.as_str()])] {
        let o = out.to_str().unwrap();
        let mut vectors = vec!["run", "lookalike-vectors", "--data-root", d, "--output-root", o, "--scores-from", "data"];
        vectors.extend(&extra);
        ok(fletch(&vectors));
        let mut similar = vec!["run", "lookalike-similarity", "--data-root", d, "--output-root", o, "--method", "ivf", "--nlist", "16", "--nprobe", "4", "--block-users", "1000"];
        similar.extend(&extra);
        let run = fletch(&similar);
        logs.push(stderr(&run));
        ok(run);
    }
    assert!(cluster.procs.stop().is_empty());
    // The same seed gives the same centroids and lists on any cluster.
    let lists = similarity(&embedded);
    assert_eq!(similarity(&distributed), lists);
    assert!(lists.len() > 3000 && lists.iter().all(|(did, kept)| kept.len() == 10 && kept[0].0 == *did));
    // Recall@10 against exact lists, on 1000 users: at least 0.95 at nprobe 4 of 16.
    let line = logs[0].lines().find(|l| l.contains("recall@10 against exact lists")).unwrap_or_else(|| panic!("{}", logs[0]));
    let recall: f64 = line.split(": ").last().unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(recall >= 0.95 && line.ends_with("on 1000 users"), "{line}");
}
