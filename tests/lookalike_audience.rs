//! The lookalike audience jobs (lookalike-seeds, -clusters, -extend,
//! -validate) on hand-checked fixtures and generated users, embedded and on
//! a 2-executor cluster.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// The fixtures' tables under `dir/data`; returns (data root, seed file).
pub fn inputs(dir: &Path) -> (String, String) {
    let data = dir.join("data");
    fixture_table(&data, "lookalike_audience_logs.sql", "lookalike_logs", "did_bucket");
    fixture_table(&data, "lookalike_audience_similarity.sql", "lookalike_similarity", "did_bucket");
    fixture_table(&data, "lookalike_audience_scores.sql", "lookalike_score", "did_bucket");
    fixture_table(&data, "lookalike_audience_test_trainready.sql", "lookalike_test_trainready", "did_bucket");
    fixture_table(&data, "lookalike_score_mapping.sql", "ad_keywords", "keyword");
    // Two seeds and one (s9) that no table knows, a repeat and a blank line.
    let seeds = dir.join("seeds.txt");
    std::fs::write(&seeds, "s1\ns2\n\ns9\ns1\n").unwrap();
    (data.to_str().unwrap().to_string(), seeds.to_str().unwrap().to_string())
}

pub fn run(job: &str, data: &str, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["run", job, "--data-root", data, "--output-root", out.to_str().unwrap(), "--tables-from", "data"];
    args.extend(extra);
    let o = fletch(&args);
    assert!(o.status.success(), "{job} failed:\n{}", stderr(&o));
    stderr(&o)
}

/// The extended audience, in rank order.
pub fn audience(out: &Path) -> Vec<(String, f64)> {
    sql_json(out, "SELECT did, score FROM lookalike_extended_audience ORDER BY score DESC, did")
        .iter()
        .map(|r| (r["did"].as_str().unwrap().to_string(), r["score"].as_f64().unwrap()))
        .collect()
}

fn pairs(p: &[(&str, f64)]) -> Vec<(String, f64)> {
    p.iter().map(|(d, s)| (d.to_string(), *s)).collect()
}

fn summary(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("lookalike_extended_audience_summary.json")).unwrap()).unwrap()
}

fn seeds(out: &Path) -> Vec<String> {
    sql_json(out, "SELECT did FROM lookalike_seeduser ORDER BY did").iter().map(|r| r["did"].as_str().unwrap().to_string()).collect()
}

#[test]
fn seeds_hand_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, _) = inputs(tmp.path());
    let out = tmp.path().join("out");
    run("lookalike-seeds", &data, &out, &[]);
    assert_eq!(seeds(&out), ["d1", "d2", "d5", "s1"]);
    // v1.8: clicked 29 and 26, gender 1.
    run("lookalike-seeds", &data, &out, &["--also-keyword", "26", "--gender", "1"]);
    assert_eq!(seeds(&out), ["d1"]);
    run("lookalike-seeds", &data, &out, &["--gender", "1"]);
    assert_eq!(seeds(&out), ["d1", "d5"]);
    // --limit picks by the seed: the same two every time, others with another seed.
    run("lookalike-seeds", &data, &out, &["--limit", "2"]);
    let two = seeds(&out);
    assert_eq!(two.len(), 2);
    run("lookalike-seeds", &data, &out, &["--limit", "2"]);
    assert_eq!(seeds(&out), two);
    let picks: std::collections::BTreeSet<Vec<String>> = (1..8)
        .map(|seed| {
            run("lookalike-seeds", &data, &out, &["--limit", "2", "--seed", &seed.to_string()]);
            seeds(&out)
        })
        .collect();
    assert!(picks.len() > 1, "the seed chooses the seeds: {picks:?}");
    // Nobody clicked keyword 7: an error, nothing written.
    let nothing = tmp.path().join("nothing");
    let o = fletch(&["run", "lookalike-seeds", "--data-root", &data, "--output-root", nothing.to_str().unwrap(), "--tables-from", "data", "--keyword-index", "7"]);
    assert_fails(&o, 1, "no seed: no user of lookalike_logs clicked keyword 7", "no clicks");
    assert!(!nothing.join("lookalike_seeduser").exists());
}

#[test]
fn extend_by_similarity_hand_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, seed_file) = inputs(tmp.path());
    let out = tmp.path().join("out");
    // Two seeds found (< 1000): users whose own lists hold a seed, best score to one.
    let log = run("lookalike-extend", &data, &out, &["--seeds-file", &seed_file, "--audience-size", "10"]);
    assert_eq!(audience(&out), pairs(&[("u1", 1.5), ("u2", 0.5)]));
    assert!(log.contains("1 of 3 seeds are not in lookalike_similarity and are skipped"), "{log}");
    let s = summary(&out);
    assert_eq!((s["seeds_given"].as_i64(), s["seeds_found"].as_i64(), s["seeds_missing"].as_i64()), (Some(3), Some(2), Some(1)));
    assert_eq!((s["audience_size"].as_i64(), s["min_score"].as_f64(), s["max_score"].as_f64()), (Some(2), Some(0.5), Some(1.5)));
    // From the threshold on: the seeds' own similar users (u1 by max(1.5, 1.25)), no seed.
    run("lookalike-extend", &data, &out, &["--seeds-file", &seed_file, "--audience-size", "10", "--small-seed-threshold", "2"]);
    assert_eq!(audience(&out), pairs(&[("u1", 1.5), ("u2", 1.0)]));
    // The score threshold and the audience size.
    run("lookalike-extend", &data, &out, &["--seeds-file", &seed_file, "--small-seed-threshold", "2", "--min-score", "1.1"]);
    assert_eq!(audience(&out), pairs(&[("u1", 1.5)]));
    run("lookalike-extend", &data, &out, &["--seeds-file", &seed_file, "--audience-size", "1"]);
    assert_eq!(audience(&out), pairs(&[("u1", 1.5)]));
    // The seeds lookalike-seeds wrote, by default: s1's, and then d1's and d5's, which are in no list.
    run("lookalike-seeds", &data, &out, &[]);
    run("lookalike-extend", &data, &out, &[]);
    assert_eq!(audience(&out), pairs(&[("u1", 1.5), ("s2", 1.125)]));
    run("lookalike-seeds", &data, &out, &["--gender", "1"]);
    let o = fletch(&["run", "lookalike-extend", "--data-root", &data, "--output-root", out.to_str().unwrap(), "--tables-from", "data", "--audience-size", "1"]);
    assert_fails(&o, 1, "none of the 2 seeds is in lookalike_similarity", "unknown seeds");
    assert_eq!(audience(&out), pairs(&[("u1", 1.5), ("s2", 1.125)]), "a failed run leaves the last audience");
    // A seed file without a did column names its line.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "user,age\ns1,3\n").unwrap();
    let o = fletch(&["run", "lookalike-extend", "--data-root", &data, "--output-root", out.to_str().unwrap(), "--tables-from", "data", "--seeds-file", bad.to_str().unwrap()]);
    assert_fails(&o, 1, "bad.csv, line 1: 2 comma-separated fields but none named `did`", "no did column");
}

#[test]
fn extend_by_mean_top10_hand_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, seed_file) = inputs(tmp.path());
    let out = tmp.path().join("out");
    let scores = |extra: &[&str]| {
        let mut args = vec!["--seeds-file", seed_file.as_str(), "--method", "mean-top10"];
        args.extend(extra);
        run("lookalike-extend", &data, &out, &args);
        audience(&out)
    };
    let close = |got: Vec<(String, f64)>, want: &[(&str, f64)]| {
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((d, s), (wd, ws)) in got.iter().zip(want) {
            assert!(d == wd && (s - ws).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    };
    // Normalised: u1 = (0.6, 0.8), u2 = (√½, √½), u3 = (0, 1) against (1, 0) and (0, 1).
    let h = 0.5f64.sqrt();
    close(scores(&[]), &[("u2", h), ("u1", 0.7), ("u3", 0.5)]);
    // The original's initial 0.0 is averaged in with fewer than 10 seeds.
    close(scores(&["--legacy-mean"]), &[("u2", 2.0 * h / 3.0), ("u1", 1.4 / 3.0), ("u3", 1.0 / 3.0)]);
    // Euclidean over the raw scores: 1 − distance / √2.
    let e = |d1: f64, d2: f64| (2.0 - d1.sqrt() / 2f64.sqrt() - d2.sqrt() / 2f64.sqrt()) / 2.0;
    close(scores(&["--measure", "euclidean"]), &[("u2", e(1.0, 1.0)), ("u3", e(5.0, 1.0)), ("u1", e(20.0, 18.0))]);
    close(scores(&["--measure", "euclidean", "--audience-size", "1"]), &[("u2", e(1.0, 1.0))]);
    assert_eq!(summary(&out)["seeds_found"].as_i64(), Some(2));
}

#[test]
fn validate_hand_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, seed_file) = inputs(tmp.path());
    let out = tmp.path().join("out");
    run("lookalike-extend", &data, &out, &["--seeds-file", &seed_file, "--method", "mean-top10", "--audience-size", "2"]);
    assert_eq!(audience(&out).iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), ["u2", "u1"]);
    run("lookalike-validate", &data, &out, &["--seeds-file", &seed_file, "--test-trainready", "lookalike_test_trainready", "--plan1-sample", "5", "--plan1-top", "2"]);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("lookalike_validation.json")).unwrap()).unwrap();
    assert_eq!(report["keyword"], "video");
    // Plan 0: of the audience, u1 clicked video twice in the newest interval.
    assert_eq!(report["plan0"]["audience"], serde_json::json!({"users": 2, "clickers": 1, "clicks": 2, "click_rate": 0.5}));
    // The random users: two of u1, u2, u3 (no seed) in the order the seed gives.
    let random = sql_json(tmp.path(), "SELECT did FROM (VALUES ('u1'), ('u2'), ('u3')) AS t(did) ORDER BY seeded_hash(42, did), did LIMIT 2");
    let with_u1 = random.iter().any(|r| r["did"] == "u1");
    assert_eq!(report["plan0"]["random"]["clickers"].as_i64(), Some(with_u1 as i64));
    assert_eq!(report["plan0"]["random"]["clicks"].as_i64(), Some(2 * with_u1 as i64));
    match with_u1 {
        true => assert_eq!(report["plan0"]["lift"].as_f64(), Some(1.0)),
        false => assert!(report["plan0"]["lift"].is_null()),
    }
    // Plan 1: top 2 by test interest (s1 1.0, u1 0.5) and by the video score (u1 4, u3 2).
    assert_eq!(report["plan1"], serde_json::json!({"sampled": 5, "top": 2, "overlap": 1, "share": 0.5}));
}

/// lookalike-vectors' table for generated users, under `dir/out`.
fn generated_vectors(dir: &Path) -> (String, std::path::PathBuf) {
    let data = dir.join("data");
    let d = data.to_str().unwrap();
    ok(fletch(&["gen", "lookalike", "-q", "--output-root", d, "--scale", "0.002"]));
    ok(fletch(&["gen", "lookalike-scores", "-q", "--output-root", d, "--scale", "0.002"]));
    let out = dir.join("out");
    ok(fletch(&["run", "lookalike-vectors", "-q", "--data-root", d, "--output-root", out.to_str().unwrap(), "--scores-from", "data"]));
    (d.to_string(), out)
}

/// (cluster id, users) of the balanced clusters.
fn cluster_sizes(out: &Path) -> Vec<(i64, i64)> {
    sql_json(out, "SELECT cluster_id, count(*) AS users FROM lookalike_balanced_clusters GROUP BY cluster_id ORDER BY cluster_id")
        .iter()
        .map(|r| (r["cluster_id"].as_i64().unwrap(), r["users"].as_i64().unwrap()))
        .collect()
}

#[test]
fn every_audience_job_is_the_same_on_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, out) = generated_vectors(tmp.path());
    let users = sql_json(&out, "SELECT count(*) AS n, count(DISTINCT did) AS d FROM lookalike_score_vector")[0]["n"].as_i64().unwrap();
    let clusters = |extra: &[&str]| {
        let mut args = vec!["run", "lookalike-clusters", "--data-root", &d, "--output-root", out.to_str().unwrap(), "--num-clusters", "12", "--target-cluster-size", "40"];
        args.extend(extra);
        ok(fletch(&args));
        cluster_sizes(&out)
    };
    let embedded = clusters(&[]);
    assert!(embedded.iter().all(|(_, n)| *n < 80), "{embedded:?}");
    assert!(embedded.iter().filter(|(_, n)| *n < 36).count() <= 1, "{embedded:?}");
    assert_eq!(embedded.iter().map(|(_, n)| n).sum::<i64>(), users, "no user lost or duplicated");
    assert_eq!(sql_json(&out, "SELECT count(DISTINCT did) AS d FROM lookalike_balanced_clusters")[0]["d"].as_i64(), Some(users));
    assert_eq!(embedded.iter().map(|(c, _)| *c).collect::<Vec<_>>(), (0..embedded.len() as i64).collect::<Vec<_>>());
    let assignment = |out: &Path| sql_csv(None, out, "SELECT did, cluster_id FROM lookalike_balanced_clusters ORDER BY did", &[]);
    let embedded_assignment = assignment(&out);

    // The audience jobs on the fixtures, embedded.
    let (data, seed_file) = inputs(&tmp.path().join("fixtures"));
    let embedded_out = tmp.path().join("embedded");
    let steps: Vec<(&str, Vec<&str>)> = vec![
        ("lookalike-seeds", vec!["--limit", "2"]),
        ("lookalike-extend", vec!["--seeds-file", &seed_file]),
        ("lookalike-validate", vec!["--seeds-file", &seed_file, "--test-trainready", "lookalike_test_trainready", "--plan1-sample", "5", "--plan1-top", "2"]),
    ];
    for (job, extra) in &steps {
        run(job, &data, &embedded_out, extra);
    }
    // A cluster of two executors gives the same outputs.
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let on_cluster = clusters(&["--scheduler", &cluster.scheduler]);
    assert_eq!(on_cluster, embedded);
    assert_eq!(assignment(&out), embedded_assignment);
    let cluster_out = tmp.path().join("distributed");
    for (job, extra) in &steps {
        let mut extra = extra.clone();
        extra.extend(["--scheduler", cluster.scheduler.as_str()]);
        run(job, &data, &cluster_out, &extra);
    }
    assert_eq!(seeds(&cluster_out), seeds(&embedded_out));
    assert_eq!(audience(&cluster_out), audience(&embedded_out));
    let mean = |out: &Path, extra: &[&str]| {
        let mut args = vec!["--seeds-file", seed_file.as_str(), "--method", "mean-top10"];
        args.extend(extra);
        run("lookalike-extend", &data, out, &args);
        audience(out)
    };
    assert_eq!(mean(&cluster_out, &["--scheduler", &cluster.scheduler]), mean(&embedded_out, &[]));
    let report = |out: &Path| std::fs::read_to_string(out.join("lookalike_validation.json")).unwrap();
    assert_eq!(report(&cluster_out), report(&embedded_out));
    assert!(cluster.finished_tasks().iter().all(|n| *n > 0), "both executors ran tasks: {:?}", cluster.finished_tasks());
    assert!(cluster.procs.stop().is_empty());
}
