//! `ab-readout`: hand-checked counts and verdicts, every statistic against
//! scipy, the sample-ratio check, the blog's test generated, and a cluster
//! run equal to the embedded one.

use std::path::Path;

use serde_json::Value;

use crate::support::{Cluster, assert_fails, consumer, fixture_table, fletch, ok, python};

fn run(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "ab-readout", "-q", "--data-root", data.to_str().unwrap(), "--output-root", out.to_str().unwrap(), "--date", "20261120"];
    args.extend(extra);
    fletch(&args)
}

fn readout(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("ab-readout/readout.json")).unwrap()).unwrap()
}

/// Every statistic of the readout under `out`, recomputed by scipy; the number checked.
fn scipy_agrees(out: &Path) -> usize {
    let path = out.join("ab-readout/readout.json");
    python(&[&consumer("ab_stats.py"), path.to_str().unwrap()], &[]).trim().parse().unwrap()
}

const HAND: &str = "name: hand\nunit: recipient_id\nexposure: sent\ncontrol: a\n\
                    primary: {name: ctr, event: click}\n\
                    guardrails: [{name: spam, event: spam_report, max_increase: 0.05}]\n\
                    segments: [platform]\n";

#[test]
fn hand_checked_counts_statistics_and_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fixture_table(&data, "ab_events.sql", "ab_events", "platform");
    let config = tmp.path().join("hand.yaml");
    std::fs::write(&config, HAND).unwrap();
    let out = tmp.path().join("out");
    ok(run(&data, &out, &["--config", config.to_str().unwrap()]));
    let r = readout(&out);
    assert_eq!(r["units"], serde_json::json!({"a": 10, "b": 10}));
    assert_eq!(r["excluded"], serde_json::json!({"never_exposed": 1, "several_variants": 1, "rows_without_unit": 1}));
    let ctr = &r["metrics"][0];
    assert_eq!((ctr["rates"]["a"]["converted"].as_u64(), ctr["rates"]["b"]["converted"].as_u64()), (Some(3), Some(6)));
    // Pooled rate 0.45: z = 0.3 / sqrt(0.45 * 0.55 * (1/10 + 1/10)).
    let z = 0.3 / (0.45f64 * 0.55 * 0.2).sqrt();
    assert!((ctr["comparisons"][0]["z"].as_f64().unwrap() - z).abs() < 1e-12, "{ctr}");
    assert!((ctr["comparisons"][0]["p_value"].as_f64().unwrap() - 0.177_537).abs() < 1e-5, "{ctr}");
    // By platform: a 2 of 5 on x and 1 of 5 on y; b 3 of 5 on both.
    let platform = &ctr["segments"][0];
    assert_eq!(platform["column"], "platform");
    let counts: Vec<(String, u64, u64)> = platform["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["value"].as_str().unwrap().to_string(), v["rates"]["a"]["converted"].as_u64().unwrap(), v["rates"]["b"]["converted"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, [("x".to_string(), 2, 3), ("y".to_string(), 1, 3)]);
    // Spam: -0.1 with an upper bound of -0.1 + 1.96 * sqrt(0.1 * 0.9 / 10) = 0.086 > 0.05: the guardrail fails.
    let spam = &r["metrics"][1]["comparisons"][0];
    assert_eq!(spam["guardrail"], "fail");
    assert!((spam["diff_ci"][1].as_f64().unwrap() - (-0.1 + 1.959_963_984_540_054 * 0.009f64.sqrt())).abs() < 1e-12, "{spam}");
    assert_eq!(r["decisions"][0]["decision"], "inconclusive");
    assert!(!r["sample_ratio"]["mismatch"].as_bool().unwrap());
    assert_eq!(scipy_agrees(&out), 3 * 2);
    let md = std::fs::read_to_string(out.join("ab-readout/readout.md")).unwrap();
    assert!(md.starts_with("# A/B readout: hand\n\n**b: inconclusive.** ctr +30.00 pp (p = 0.178)"), "{md}");
    assert!(md.contains("| ctr (primary) | 30.00 % (3/10) | b 60.00 % (6/10) | +30.00 pp"), "{md}");

    // Expecting 90 % of units in a, the 10/10 split is a sample ratio mismatch:
    // chi-square (10 - 18)^2 / 18 + (10 - 2)^2 / 2 = 35.56, and nothing is decided.
    std::fs::write(&config, format!("{HAND}split: {{a: 0.9, b: 0.1}}\n")).unwrap();
    ok(run(&data, &out, &["--config", config.to_str().unwrap()]));
    let r = readout(&out);
    assert!((r["sample_ratio"]["chi2"].as_f64().unwrap() - (64.0 / 18.0 + 32.0)).abs() < 1e-9, "{}", r["sample_ratio"]);
    assert_eq!((r["sample_ratio"]["mismatch"].as_bool(), r["decisions"][0]["decision"].as_str()), (Some(true), Some("invalid")));
    assert_eq!(scipy_agrees(&out), 6);

    // A column the experiment names and the table lacks; a control without units.
    let before = crate::support::tree(&out);
    std::fs::write(&config, HAND.replace("segments: [platform]", "segments: [device]")).unwrap();
    assert_fails(&run(&data, &out, &["--config", config.to_str().unwrap()]), 1, "hand.yaml: segments: input table `ab_events` has no column `device`", "missing column");
    std::fs::write(&config, HAND.replace("control: a", "control: c")).unwrap();
    assert_fails(&run(&data, &out, &["--config", config.to_str().unwrap()]), 1, "control `c` has no exposed unit (variants with exposed units: a, b)", "unknown control");
    assert_eq!(crate::support::tree(&out), before, "failed runs leave the previous readout");
}

/// The blog's lesson on generated data: plain text wins clicks but fails the
/// spam guardrail and loses on Outlook; the cluster's readout is the
/// embedded one, and scipy agrees with every number.
#[test]
fn generated_test_do_not_ship_same_on_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(fletch(&["gen", "ab-test", "-q", "--output-root", data.to_str().unwrap(), "--scale", "0.5"]));
    let embedded = tmp.path().join("embedded");
    ok(run(&data, &embedded, &[]));
    let r = readout(&embedded);
    let decision = &r["decisions"][0];
    assert_eq!((decision["variant"].as_str(), decision["decision"].as_str()), (Some("plain"), Some("do not ship")), "{decision}");
    let reasons = decision["reasons"].to_string();
    assert!(reasons.contains("better than the control, but a guardrail fails") && reasons.contains("guardrail spam reports fails"), "{reasons}");
    assert!(!reasons.contains("unsubscribes"), "the unsubscribe guardrail passes: {reasons}");
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("segment reversal: plain wins click-through in total") && warnings.contains("for platform = outlook"), "{warnings}");
    assert!(!r["sample_ratio"]["mismatch"].as_bool().unwrap());
    assert!(scipy_agrees(&embedded) > 20);

    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let distributed = tmp.path().join("distributed");
    ok(run(&data, &distributed, &["--scheduler", &cluster.scheduler]));
    assert_eq!(readout(&distributed), r);
    for file in ["readout.md", "readout.png"] {
        assert_eq!(std::fs::read(distributed.join("ab-readout").join(file)).unwrap(), std::fs::read(embedded.join("ab-readout").join(file)).unwrap(), "{file}");
    }
    // The chart: a PNG 960 pixels wide, one panel of 34 + 2 x 28 + 30 pixels per metric.
    let png = std::fs::read(embedded.join("ab-readout/readout.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), (960, 20 + 5 * 120));
}
