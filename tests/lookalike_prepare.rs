//! lookalike-prepare: every stage on a hand-checked fixture read through the
//! original config.yml, the TFRecords through an independent reader, the same
//! output on a cluster as embedded with invariants on generated data, and bad
//! inputs that fail without touching earlier outputs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::*;

const CONFIG: &str = r#"
product_tag: 'lookalike'
pipeline_tag: 'unittest'
persona_table_name: 'ads_persona_0520'
keywords_table: 'din_ad_keywords'
pipeline:
  main_keywords:
    keyword_output_table: '{product_tag}_{pipeline_tag}_keywords'
    keyword_threshold: 0.5
  main_clean:
    did_bucket_num: 2
    load_logs_in_minutes: 1440
    persona_output_table: '{product_tag}_{pipeline_tag}_persona'
    showlog_output_table: '{product_tag}_{pipeline_tag}_showlog'
    clicklog_output_table: '{product_tag}_{pipeline_tag}_clicklog'
    conditions: {
      'new_slot_id_list': ['s1', 's2'],
      'starting_date': '2020-01-01',
      'ending_date': '2020-01-03'
    }
  main_logs:
    interval_time_in_seconds: 86400
    logs_output_table_name: '{product_tag}_{pipeline_tag}_logs'
  main_trainready:
    trainready_output_table: '{product_tag}_{pipeline_tag}_trainready'
  tfrecords:
    tfrecords_hdfs_path: '{product_tag}_{pipeline_tag}_tfrecord'
"#;

/// The fixture's raw tables (persona and mapping under the config's names) and config.yml.
fn fixture_input(dir: &Path) -> (String, String) {
    let data = dir.join("data");
    fixture_table(&data, "lookalike_persona.sql", "ads_persona_0520", "");
    fixture_table(&data, "lookalike_keywords.sql", "din_ad_keywords", "");
    fixture_table(&data, "lookalike_showlog.sql", "ads_showlog", "");
    fixture_table(&data, "lookalike_clicklog.sql", "ads_clicklog", "");
    let config = dir.join("config.yml");
    std::fs::write(&config, CONFIG).unwrap();
    (data.to_str().unwrap().to_string(), config.to_str().unwrap().to_string())
}

fn prepare(data: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "lookalike-prepare", "--data-root", data, "--output-root", out];
    args.extend(extra);
    fletch(&args)
}

/// Every record of a TFRecord folder as read by tests/consumers/lookalike_tfrecords.py.
fn tfrecords(folder: &Path) -> Vec<Value> {
    python(&[&consumer("lookalike_tfrecords.py"), folder.to_str().unwrap()], &[])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const TRAINREADY: &str = "SELECT age, gender, did, did_index, interval_starting_time, interval_keywords, kwi, \
                          kwi_show_counts, kwi_click_counts, did_bucket FROM {t} ORDER BY did_index";

#[test]
fn hand_checked_every_stage_through_the_original_config() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = fixture_input(tmp.path());
    let out = tmp.path().join("out");
    // The flag overrides the config's threshold.
    let run = prepare(&data, out.to_str().unwrap(), &["--config", &config, "--keyword-threshold", "0.1"]);
    let log = stderr(&run);
    ok(run);
    for line in [
        "stages keywords,clean,logs,trainready,tfrecords over [2020-01-01, 2020-01-03)",
        // travel has exactly 0.1 of the 10 mapped shows: not above the threshold.
        "3 of 4 keywords effective: game-rpg, info, video",
        "persona: 7 rows read, 4 dids kept, 1 dids with conflicting rows dropped",
        "shows: 14 read, 7 kept; dropped: 2 malformed time, 1 outside the dates, 1 slot id not in the list, \
         2 app without an effective keyword, 1 did without a single persona",
        "clicks: 3 read, 2 kept; dropped: 1 malformed time, 0 outside the dates, 0 slot id not in the list, \
         0 app without an effective keyword, 0 did without a single persona",
    ] {
        assert!(log.contains(line), "`{line}` not in\n{log}");
    }
    // Every clean row of this run was unified: no scan for rejected times.
    assert!(!log.contains("rejected_times"), "{log}");

    let rows = |sql: &str| sql_json(&out, sql);
    assert_eq!(rows("SELECT keyword FROM lookalike_unittest_keywords ORDER BY 1"), [json!({"keyword": "game-rpg"}), json!({"keyword": "info"}), json!({"keyword": "video"})]);
    assert_eq!(
        rows("SELECT did, gender, age, did_bucket FROM lookalike_unittest_persona ORDER BY did"),
        [
            json!({"did": "0000001", "gender": 0, "age": 3, "did_bucket": "1"}),
            json!({"did": "0000006", "gender": 1, "age": 5, "did_bucket": "0"}),
            json!({"did": "0000009", "gender": 1, "age": 4, "did_bucket": "0"}),
            // Its gender is not an integer: NULL, which the JSON output leaves out.
            json!({"did": "0000010", "age": 2, "did_bucket": "1"}),
        ]
    );
    let clean = rows("SELECT adv_id, did, media, price_model, keyword, keyword_index, gender, age, day, did_bucket FROM lookalike_unittest_showlog ORDER BY adv_id");
    let clean: Vec<String> = clean.iter().map(|r| format!("{} {} {} {} {}", r["adv_id"], r["keyword"], r["keyword_index"], r["day"], r["did_bucket"])).collect();
    assert_eq!(
        clean,
        [
            r#""ad1" "info" 14 "2020-01-01" "1""#,
            r#""ad2" "info" 14 "2020-01-01" "1""#,
            r#""ad3" "video" 29 "2020-01-02" "1""#,
            r#""ad4" "video" 29 "2020-01-02" "1""#,
            r#""ad5" "video" 29 "2020-01-01" "0""#,
            r#""ad6" "game-rpg" 10 "2020-01-01" "0""#,
            r#""ad8" "info" 14 "2020-01-02" "0""#,
        ]
    );
    assert_eq!(rows("SELECT count(*) AS n FROM lookalike_unittest_clicklog")[0]["n"], 2);
    // Seconds as UTC; intervals split at second 86400 of the day, not 86399.
    let logs = rows("SELECT adv_id, is_click, action_time_seconds AS s, interval_starting_time AS i FROM lookalike_unittest_logs ORDER BY is_click, adv_id");
    let logs: Vec<String> = logs.iter().map(|r| format!("{} {} {} {}", r["adv_id"], r["is_click"], r["s"], r["i"])).collect();
    assert_eq!(
        logs,
        [
            r#""ad1" 0 1577836800 1577836800"#,
            r#""ad2" 0 1577923199 1577836800"#,
            r#""ad3" 0 1577923200 1577923200"#,
            r#""ad4" 0 1577959200 1577923200"#,
            r#""ad5" 0 1577865600 1577836800"#,
            r#""ad6" 0 1577869200 1577836800"#,
            r#""ad8" 0 1577966400 1577923200"#,
            r#""ad1" 1 1577923199 1577836800"#,
            r#""ad2" 1 1577923200 1577923200"#,
        ]
    );

    let trainready = rows(&TRAINREADY.replace("{t}", "lookalike_unittest_trainready"));
    let expected = [
        // Bucket 0 in did order, then bucket 1. A show and a click of one keyword share
        // an entry; a click alone makes one with 0 shows; indices ascend inside an interval.
        json!({"age": 5, "gender": 1, "did": "0000006", "did_index": 1,
               "interval_starting_time": ["1577923200", "1577836800"], "interval_keywords": ["game-rpg", "game-rpg,video"],
               "kwi": ["10", "10,29"], "kwi_show_counts": ["10:0", "10:1,29:1"], "kwi_click_counts": ["10:1", "10:0,29:0"], "did_bucket": "0"}),
        json!({"age": 4, "gender": 1, "did": "0000009", "did_index": 2,
               "interval_starting_time": ["1577923200"], "interval_keywords": ["info"],
               "kwi": ["14"], "kwi_show_counts": ["14:1"], "kwi_click_counts": ["14:0"], "did_bucket": "0"}),
        json!({"age": 3, "gender": 0, "did": "0000001", "did_index": 1_000_000_001,
               "interval_starting_time": ["1577923200", "1577836800"], "interval_keywords": ["video", "info"],
               "kwi": ["29", "14"], "kwi_show_counts": ["29:2", "14:2"], "kwi_click_counts": ["29:0", "14:1"], "did_bucket": "1"}),
    ];
    assert_eq!(trainready, expected);

    // The TFRecords hold the same rows, one file per bucket, as scalars and lists.
    let records = tfrecords(&out.join("lookalike_unittest_tfrecord"));
    let files: Vec<&str> = records.iter().map(|r| r["_file"].as_str().unwrap()).collect();
    assert_eq!(files, ["did_bucket=0/part-00000.tfrecord", "did_bucket=0/part-00000.tfrecord", "did_bucket=1/part-00000.tfrecord"]);
    for (record, row) in records.iter().zip(&expected) {
        for (k, v) in row.as_object().unwrap() {
            let want = if v.is_array() { v.clone() } else { json!([v]) };
            assert_eq!(record[k], want, "feature {k} of {}", row["did"]);
        }
    }
    assert!(!out.join(".fletch-staging").exists(), "staging left behind");

    // A stage alone reads the previous stage's output; later dates keep the second day only.
    ok(prepare(&data, out.to_str().unwrap(), &["--config", &config, "--stages", "trainready", "--start-date", "2020-01-02"]));
    let again = rows("SELECT did, interval_starting_time FROM lookalike_unittest_trainready ORDER BY did");
    assert_eq!(again[0], json!({"did": "0000001", "interval_starting_time": ["1577923200"]}));
    assert_eq!(again.len(), 3);
}

#[test]
fn bad_inputs_fail_clearly_and_keep_earlier_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = fixture_input(tmp.path());
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    ok(prepare(&data, o, &["--config", &config, "--keyword-threshold", "0.1"]));
    let before = tree(&out);
    let fails = |data: &str, extra: &[&str], code: i32, needle: &str| {
        let mut args = vec!["--config", config.as_str()];
        args.extend(extra);
        assert_fails(&prepare(data, o, &args), code, needle, needle);
        assert!(tree(&out) == before, "`{needle}`: earlier outputs changed");
    };

    let without_clicks = tmp.path().join("no-clicks");
    fixture_table(&without_clicks, "lookalike_persona.sql", "ads_persona_0520", "");
    fixture_table(&without_clicks, "lookalike_keywords.sql", "din_ad_keywords", "");
    fixture_table(&without_clicks, "lookalike_showlog.sql", "ads_showlog", "");
    let no_clicks = without_clicks.to_str().unwrap();
    fails(no_clicks, &[], 1, "input table `ads_clicklog` not found");
    // Stages that need no click log run without one.
    ok(prepare(no_clicks, tmp.path().join("kw").to_str().unwrap(), &["--config", &config, "--stages", "keywords"]));

    let empty = tmp.path().join("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    fails(&data, &["--slot-ids", empty.to_str().unwrap()], 1, "is empty: cleaning would drop every log row");

    let typed = tmp.path().join("typed");
    let sql = tmp.path().join("timestamps.sql");
    std::fs::write(&sql, "SELECT did, adv_id, adv_type, slot_id, spread_app_id, device_name, net_type, adv_bill_mode_cd, \
                          CAST(show_time AS TIMESTAMP) AS show_time FROM ads_showlog WHERE naive_utc_seconds(show_time) IS NOT NULL").unwrap();
    ok(fletch(&["run", "sql-file", "-q", "--data-root", &data, "--output-root", typed.to_str().unwrap(), "--sql", sql.to_str().unwrap(), "--table", "ads_showlog"]));
    for table in ["ads_persona_0520", "din_ad_keywords", "ads_clicklog"] {
        std::fs::create_dir_all(typed.join(table)).unwrap();
        for f in std::fs::read_dir(Path::new(&data).join(table)).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), typed.join(table).join(f.file_name())).unwrap();
        }
    }
    fails(typed.to_str().unwrap(), &[], 1, "input table `ads_showlog`: column `show_time` is Timestamp(ns), expected a string");

    fails(&data, &["--stages", "clean,train"], 2, "--stages: unknown stage `train`");
    fails(&data, &["--start-date", "2020-01-03"], 2, "--start-date 2020-01-03 is not before --end-date 2020-01-03");
    fails(&data, &["--did-bucket-num", "0"], 2, "--did-bucket-num: expected 1 to 1000000, got 0");
    let fresh = tmp.path().join("fresh");
    let r = prepare(&data, fresh.to_str().unwrap(), &["--config", &config, "--stages", "logs"]);
    // Both clean logs are missing; inputs are checked in name order, so the click log is named.
    assert_fails(&r, 1, "sql/lookalike-prepare/timed_logs.sql reads `clean_clicklog`: input table `lookalike_unittest_clicklog` not found", "logs alone");
    assert!(stderr(&r).contains("(the clean stage writes it: run it first or with this stage)"), "{}", stderr(&r));

    // Malformed times in a clean log (written by something else) are counted and left out.
    let sql = tmp.path().join("bad_clean.sql");
    std::fs::write(&sql, "SELECT * FROM lookalike_unittest_showlog UNION ALL \
                          SELECT spread_app_id, did, adv_id, media, slot_id, device_name, net_type, price_model, \
                                 '2020-01-02 10:61:00.000' AS action_time, gender, age, keyword, keyword_index, day, did_bucket \
                          FROM lookalike_unittest_showlog WHERE adv_id = 'ad4'").unwrap();
    let bad = tmp.path().join("bad");
    ok(fletch(&["run", "sql-file", "-q", "--data-root", o, "--output-root", bad.to_str().unwrap(), "--sql", sql.to_str().unwrap(),
                "--table", "lookalike_unittest_showlog", "--partition-by", "day,did_bucket"]));
    std::fs::rename(out.join("lookalike_unittest_clicklog"), bad.join("lookalike_unittest_clicklog")).unwrap();
    let r = prepare(&data, bad.to_str().unwrap(), &["--config", &config, "--stages", "logs"]);
    assert!(stderr(&r).contains("1 rows with a malformed action_time rejected"), "{}", stderr(&r));
    ok(r);
    assert_eq!(sql_json(&bad, "SELECT count(*) AS n FROM lookalike_unittest_logs")[0]["n"], 9);
}

/// Sorted content of every output table, and the TFRecord files' bytes.
fn outputs(out: &Path) -> Vec<String> {
    let mut all: Vec<String> = [
        ("lookalike_keywords", 1),
        ("lookalike_persona", 4),
        ("lookalike_showlog", 15),
        ("lookalike_clicklog", 15),
        ("lookalike_logs", 14),
    ]
    .iter()
    .map(|(t, n)| {
        let order: Vec<String> = (1..=*n).map(|i| i.to_string()).collect();
        sql_csv(None, out, &format!("SELECT * FROM {t} ORDER BY {}", order.join(", ")), &[])
    })
    .collect();
    all.push(sql_csv(None, out, &TRAINREADY.replace("{t}", "lookalike_trainready"), &[]));
    all.extend(tree(&out.join("lookalike_tfrecords")).into_iter().map(|(f, bytes)| format!("{f} {:x?}", fingerprint(&bytes))));
    all
}

/// A cheap fingerprint for comparing file bytes in messages.
fn fingerprint(bytes: &[u8]) -> (usize, u64) {
    (bytes.len(), bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)))
}

#[test]
fn generated_data_same_on_a_cluster_with_consistent_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    ok(fletch(&["gen", "lookalike", "-q", "--output-root", d, "--scale", "0.003"]));
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let (embedded, distributed) = (tmp.path().join("embedded"), tmp.path().join("distributed"));
    let run = prepare(d, embedded.to_str().unwrap(), &[]);
    let log = stderr(&run);
    ok(run);
    ok(prepare(d, distributed.to_str().unwrap(), &["--scheduler", &cluster.scheduler]));
    assert!(cluster.finished_tasks().iter().all(|n| *n > 0), "both executors ran tasks: {:?}", cluster.finished_tasks());
    assert!(cluster.procs.stop().is_empty(), "cluster did not stop on SIGTERM");
    assert_eq!(outputs(&embedded), outputs(&distributed), "cluster and embedded outputs differ");

    // About a quarter of the shows survive cleaning, as in the seed; malformed times are counted.
    let kept = |what: &str| -> (f64, f64) {
        let line = log.lines().find(|l| l.contains(&format!("{what}: "))).unwrap();
        let n = |after: &str| line.split(after).next().unwrap().rsplit(' ').next().unwrap().replace(',', "").parse::<f64>().unwrap();
        (n(" read"), n(" kept"))
    };
    let (read, shows) = kept("shows");
    assert!((0.15..0.35).contains(&(shows / read)), "kept {shows} of {read} shows");
    assert!(!log.contains(" 0 malformed time"), "the generator plants malformed times: {log}");

    // Train-ready agrees with the unified logs: one row per did, every show and click counted once.
    let totals = &sql_json(&embedded, "SELECT count(DISTINCT did) AS users, sum(1 - is_click) AS shows, sum(is_click) AS clicks FROM lookalike_logs")[0];
    let records = tfrecords(&embedded.join("lookalike_tfrecords"));
    assert_eq!(records.len() as u64, totals["users"].as_u64().unwrap());
    let sum = |field: &str| -> u64 {
        records.iter().flat_map(|r| r[field].as_array().unwrap().clone()).flat_map(|cell| {
            cell.as_str().unwrap().split(',').map(|kv| kv.split_once(':').unwrap().1.parse::<u64>().unwrap()).collect::<Vec<_>>()
        }).sum()
    };
    assert_eq!((sum("kwi_show_counts"), sum("kwi_click_counts")), (totals["shows"].as_u64().unwrap(), totals["clicks"].as_u64().unwrap()));
    let mut per_bucket: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in &records {
        let times: Vec<i64> = r["interval_starting_time"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().parse().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] > w[1]) && times.iter().all(|t| t % 86_400 == 0), "{times:?}");
        for kwi in r["kwi"].as_array().unwrap() {
            let idx: Vec<i64> = kwi.as_str().unwrap().split(',').map(|k| k.parse().unwrap()).collect();
            assert!(idx.windows(2).all(|w| w[0] < w[1]), "{kwi}");
        }
        per_bucket.entry(r["did_bucket"][0].as_str().unwrap().to_string()).or_default().push(r["did_index"][0].as_i64().unwrap());
    }
    // did_index: bucket * 10^9 + 1, 2, ... in did order, which is the files' order.
    for (bucket, indices) in per_bucket {
        let base = bucket.parse::<i64>().unwrap() * 1_000_000_000;
        assert_eq!(indices, (1..=indices.len() as i64).map(|i| base + i).collect::<Vec<_>>(), "bucket {bucket}");
    }
}
