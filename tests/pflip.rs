//! Community Notes pflip plus: hand-checked features on a tiny download
//! whose notes sit on every comparison edge of the original (spec
//! pflip_logs.md A5-A7), bad downloads named, the features and predictions
//! of a generated download the same on a 2-executor cluster as embedded,
//! the model against scikit-learn's, and predictions as of now (each
//! batch's present) and as of cutoffs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fletch_engine::tsv::Layout;
use fletch_engine::tsv::community_notes as cn;
use serde_json::{Value, json};

use crate::support::{Cluster, assert_fails, consumer, fletch, ok, python, sql_csv, sql_json, stderr};

const MINUTE: i64 = 60_000;
/// A whole epoch minute (2024-10-27 03:44 UTC), after pflip's 2024-08-19 cutoff.
const M: i64 = 1_730_000_640_000;
/// Note 101's creation: half a minute past M.
const C1: i64 = M + 30_000;
/// Note 105's creation, on the second post.
const C5: i64 = M + 120 * MINUTE;

fn tweet_id(posted: i64) -> i64 {
    ((posted - 1_288_834_974_657) << 22) + 7
}

/// One TSV line of `layout`: the given fields, flags 0, the rest empty.
fn line(layout: &Layout, fields: &[(&str, String)]) -> String {
    let given: BTreeMap<&str, &String> = fields.iter().map(|(k, v)| (*k, v)).collect();
    for name in given.keys() {
        assert!(layout.columns.iter().any(|c| c.name == *name), "{name} is no column of {}", layout.table);
    }
    layout
        .columns
        .iter()
        .map(|c| match given.get(c.name.as_str()) {
            Some(v) => v.to_string(),
            None if c.kind == fletch_engine::tsv::Kind::Int8 => "0".to_string(),
            None => String::new(),
        })
        .collect::<Vec<_>>()
        .join("\t")
}

fn write_table(data: &Path, folder: &str, layout: &Layout, rows: &[Vec<(&str, String)>]) {
    let dir = data.join("community_notes").join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    let body: String = std::iter::once(layout.header()).chain(rows.iter().map(|r| line(layout, r))).map(|l| l + "\n").collect();
    std::fs::write(dir.join(format!("{folder}-00000.tsv")), body).unwrap();
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn note(id: i64, created: i64, posted: i64, misleading: bool) -> Vec<(&'static str, String)> {
    let classification = if misleading { cn::MISLEADING } else { cn::NOT_MISLEADING };
    vec![("noteId", s(id)), ("noteAuthorParticipantId", s(format!("AUTH{id}"))), ("createdAtMillis", s(created)), ("tweetId", s(tweet_id(posted))), ("classification", s(classification))]
}

/// A status history row: (stabilization entry, first non-NMR (time, status), locked status, decided by).
fn history(id: i64, created: i64, stable: Option<i64>, first: Option<(i64, &str)>, locked: Option<&str>, decided: &str) -> Vec<(&'static str, String)> {
    let mut row = vec![("noteId", s(id)), ("noteAuthorParticipantId", s(format!("AUTH{id}"))), ("createdAtMillis", s(created)), ("currentDecidedBy", s(decided))];
    if let Some(t) = stable {
        row.push(("timestampMillisOfFirstNmrDueToMinStableCrhTime", s(t)));
    }
    if let Some((t, status)) = first {
        row.push(("timestampMillisOfFirstNonNMRStatus", s(t)));
        row.push(("firstNonNMRStatus", s(status)));
    }
    if let Some(status) = locked {
        row.push(("lockedStatus", s(status)));
    }
    row
}

fn rating(note: i64, rater: &str, at: i64, level: &str, tags: &[&str]) -> Vec<(&'static str, String)> {
    let mut row = vec![("noteId", s(note)), ("raterParticipantId", s(rater)), ("createdAtMillis", s(at)), ("version", s(2)), ("helpfulnessLevel", s(level))];
    for tag in tags {
        let name = cn::HELPFUL_TAGS.iter().chain(cn::NOT_HELPFUL_TAGS.iter()).find(|t| *t == tag).unwrap();
        row.push((name, s(1)));
    }
    row
}

fn factor(rater: &str, scorer: &str, f: Option<f64>) -> Vec<(&'static str, String)> {
    vec![("raterParticipantId", s(rater)), ("scorerName", s(scorer)), ("internalRaterFactor1", f.map(s).unwrap_or_default())]
}

const CRH: &str = "CURRENTLY_RATED_HELPFUL";
const NMR: &str = "NEEDS_MORE_RATINGS";

/// Two posts. Post A (posted an hour before M): note 101 (CRH: stabilization
/// at +30 min, CRH at +90 min; cutoffs MIN +15 min, MAX +75 min), its
/// misleading peer 102 (CRH then locked NMR: FLIP), a not-misleading peer
/// 103 created exactly at 101's MIN cutoff, a peer 104 created after 101's
/// MAX cutoff, and 109, deleted (in the status history only). Post B: 105
/// (entered stabilization, never CRH, locked NMR: FLIP, one rating), 106
/// (locked CRH but no rating: left out), 108 (CRH by ScoringDriftGuard:
/// dropped). 107 is on a post before 2024-08-19.
/// 101 and 105 are in stabilization now (pflip-predict's targets).
fn write_download(data: &Path) {
    let (posted_a, posted_b, posted_old) = (M - 60 * MINUTE, M, 1_700_000_000_000);
    let in_stabilization = |mut row: Vec<(&'static str, String)>| {
        row.push(("timestampMillisOfNmrDueToMinStableCrhTime", s(C5 + 3 * HOUR)));
        row
    };
    write_table(
        data,
        "notes",
        &cn::notes(),
        &[
            note(101, C1, posted_a, true),
            note(102, C1 + 20 * MINUTE, posted_a, true),
            note(103, C1 + 15 * MINUTE, posted_a, false),
            note(104, C1 + 80 * MINUTE, posted_a, true),
            note(105, C5, posted_b, true),
            note(106, C5 + 5 * MINUTE, posted_b, true),
            note(107, posted_old + MINUTE, posted_old, true),
            note(108, C5 + 6 * MINUTE, posted_b, true),
        ],
    );
    write_table(
        data,
        "noteStatusHistory",
        &cn::note_status_history(),
        &[
            in_stabilization(history(101, C1, Some(C1 + 30 * MINUTE), Some((C1 + 90 * MINUTE, CRH)), Some(CRH), "CoreModel (v1.1)")),
            history(102, C1 + 20 * MINUTE, Some(C1 + 40 * MINUTE), Some((C1 + 60 * MINUTE, CRH)), Some(NMR), "CoreModel (v1.1)"),
            history(103, C1 + 15 * MINUTE, None, None, None, "CoreModel (v1.1)"),
            history(104, C1 + 80 * MINUTE, None, None, None, "CoreModel (v1.1)"),
            in_stabilization(history(105, C5, Some(C5 + 10 * MINUTE), None, Some(NMR), "CoreModel (v1.1)")),
            history(106, C5 + 5 * MINUTE, None, Some((C5 + 30 * MINUTE, CRH)), Some(CRH), "CoreModel (v1.1)"),
            history(107, posted_old + MINUTE, None, Some((posted_old + HOUR, CRH)), Some(CRH), "CoreModel (v1.1)"),
            history(108, C5 + 6 * MINUTE, None, Some((C5 + 40 * MINUTE, CRH)), Some(CRH), "ScoringDriftGuard (v1.0)"),
            history(109, C1 + 5 * MINUTE, None, None, None, "CoreModel (v1.1)"),
        ],
    );
    write_table(
        data,
        "ratings",
        &cn::ratings(),
        &[
            // 101: half a minute in, exactly one minute in, just under five minutes in ...
            rating(101, "RA", C1 + 30_000, "HELPFUL", &["helpfulClear"]),
            rating(101, "RB", C1 + MINUTE, "HELPFUL", &["helpfulClear", "helpfulGoodSources"]),
            rating(101, "RC", C1 + 5 * MINUTE - 1, "SOMEWHAT_HELPFUL", &["notHelpfulOther"]),
            rating(101, "RD", C1 + 12 * MINUTE, "NOT_HELPFUL", &["notHelpfulIncorrect"]),
            // ... the fifth rating, exactly a minute before the MIN cutoff ...
            rating(101, "RE", C1 + 14 * MINUTE, "HELPFUL", &[]),
            rating(101, "RF", C1 + 50 * MINUTE, "NOT_HELPFUL", &[]),
            // ... and one after both cutoffs.
            rating(101, "RG", C1 + 100 * MINUTE, "HELPFUL", &[]),
            rating(102, "RA", C1 + 21 * MINUTE, "HELPFUL", &[]),
            rating(102, "RH", C1 + 22 * MINUTE, "NOT_HELPFUL", &["notHelpfulNoteNotNeeded"]),
            rating(102, "RI", C1 + 23 * MINUTE, "HELPFUL", &[]),
            rating(103, "RJ", C1 + 16 * MINUTE, "SOMEWHAT_HELPFUL", &[]),
            rating(105, "RA", C5 + MINUTE, "HELPFUL", &[]),
            rating(107, "RA", posted_old + 2 * MINUTE, "HELPFUL", &[]),
            rating(108, "RA", C5 + 7 * MINUTE, "HELPFUL", &[]),
            rating(109, "RK", C1 + 6 * MINUTE, "HELPFUL", &[]),
        ],
    );
    write_table(
        data,
        "prescoringRaterModelOutput",
        &cn::prescoring_rater_model_output(),
        &[
            factor("RA", "MFCoreScorer", Some(0.5)),
            factor("RA", "MFExpansionScorer", Some(0.45)),
            // Exactly -0.3: NEUTRAL, and negative for the helpful statistics.
            factor("RB", "MFCoreScorer", Some(-0.3)),
            factor("RC", "MFExpansionScorer", Some(0.3)),
            // No Core factor: Expansion's counts.
            factor("RD", "MFCoreScorer", None),
            factor("RD", "MFExpansionScorer", Some(-0.8)),
            // Group scorers only: no factor.
            factor("RE", "MFGroupScorer_1", Some(0.9)),
            factor("RF", "MFExpansionPlusScorer", Some(0.31)),
            factor("RG", "MFCoreScorer", Some(0.0)),
            factor("RH", "MFCoreScorer", Some(-0.5)),
            factor("RI", "MFCoreScorer", Some(0.7)),
        ],
    );
}

const HOUR: i64 = 60 * MINUTE;

fn features(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "pflip-features", "--data-root", data.to_str().unwrap(), "--output-root", out.to_str().unwrap()];
    args.extend(extra);
    fletch(&args)
}

fn rows(out: &Path) -> BTreeMap<(i64, String), Value> {
    rows_of(out, "pflip_features")
}

/// A table's rows by (noteId, SCORING_CUTOFF_MODE).
fn rows_of(out: &Path, table: &str) -> BTreeMap<(i64, String), Value> {
    sql_json(&out.join("pflip"), &format!("SELECT * FROM {table}"))
        .into_iter()
        .map(|r| ((r["noteId"].as_i64().unwrap(), r["SCORING_CUTOFF_MODE"].as_str().unwrap().to_string()), r))
        .collect()
}

/// `row`'s values of `columns` (a missing key is the JSON output's NULL).
fn pick(row: &Value, columns: &[&str]) -> Value {
    Value::Object(columns.iter().map(|c| (c.to_string(), row.get(*c).cloned().unwrap_or(Value::Null))).collect())
}

fn close(got: &Value, want: f64, what: &str) {
    let g = got.as_f64().unwrap_or_else(|| panic!("{what}: {got} is no number"));
    assert!((g - want).abs() < 1e-12, "{what}: {g} != {want}");
}

#[test]
fn hand_checked_features_on_every_edge() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    write_download(&data);
    let run = features(&data, &out, &[]);
    let log = stderr(&run);
    ok(run);
    // 106 is labelled but has no rating; 108 (drift guard) and 107 (old post) are not training notes.
    assert!(log.contains("CRH: 1 notes (2 rows); 1 labelled notes without a rating left out"), "{log}");
    assert!(log.contains("FLIP: 2 notes (4 rows)"), "{log}");
    let rows = rows(&out);
    let keys: Vec<_> = rows.keys().cloned().collect();
    let key = |id: i64, mode: &str| (id, mode.to_string());
    assert_eq!(keys, [key(101, "MAX"), key(101, "MIN"), key(102, "MAX"), key(102, "MIN"), key(105, "MAX"), key(105, "MIN")]);
    let (n1_min, n1_max) = (&rows[&key(101, "MIN")], &rows[&key(101, "MAX")]);

    // Cutoffs: MIN is stabilization - 15 min (after the 5th rating, at +14 min); MAX is CRH - 15 min.
    assert_eq!(pick(n1_min, &["SCORING_CUTOFF_MTS", "LABEL", "NOTE_WRITING_LATENCY", "noteAuthorParticipantId"]), json!({"SCORING_CUTOFF_MTS": C1 + 15 * MINUTE, "LABEL": "CRH", "NOTE_WRITING_LATENCY": C1 - (M - HOUR), "noteAuthorParticipantId": "AUTH101"}));
    assert_eq!(n1_max["SCORING_CUTOFF_MTS"], json!(C1 + 75 * MINUTE));
    // 102 has three ratings, the last at +23 min: its MIN cutoff (+25 min) stands.
    assert_eq!(pick(&rows[&key(102, "MIN")], &["SCORING_CUTOFF_MTS", "LABEL"]), json!({"SCORING_CUTOFF_MTS": C1 + 25 * MINUTE, "LABEL": "FLIP"}));
    // 105's one rating comes after stabilization - 15 min: both cutoffs are that rating.
    assert_eq!(rows[&key(105, "MIN")]["SCORING_CUTOFF_MTS"], json!(C5 + MINUTE));
    assert_eq!(rows[&key(105, "MAX")]["SCORING_CUTOFF_MTS"], json!(C5 + MINUTE));

    // FIRST (strict <): the rating exactly one minute in is not in the first minute.
    let first = ["FIRST_1_TOTAL", "FIRST_5_TOTAL", "FIRST_15_TOTAL", "FIRST_60_TOTAL"];
    assert_eq!(pick(n1_min, &first), json!({"FIRST_1_TOTAL": 1, "FIRST_5_TOTAL": 3, "FIRST_15_TOTAL": 5, "FIRST_60_TOTAL": 5}));
    assert_eq!(pick(n1_max, &first), json!({"FIRST_1_TOTAL": 1, "FIRST_5_TOTAL": 3, "FIRST_15_TOTAL": 5, "FIRST_60_TOTAL": 6}));
    close(&n1_max["FIRST_5_RATIO"], 0.5, "FIRST_5_RATIO");
    // BURST: +30 s and +60 s share epoch minute M+1; minutes M+1..M+5 hold three.
    let burst = ["BURST_1_TOTAL", "BURST_5_TOTAL", "BURST_15_TOTAL", "BURST_60_TOTAL"];
    assert_eq!(pick(n1_min, &burst), json!({"BURST_1_TOTAL": 2, "BURST_5_TOTAL": 3, "BURST_15_TOTAL": 5, "BURST_60_TOTAL": 5}));
    assert_eq!(pick(n1_max, &burst), json!({"BURST_1_TOTAL": 2, "BURST_5_TOTAL": 3, "BURST_15_TOTAL": 5, "BURST_60_TOTAL": 6}));
    // RECENT (strict >): the rating exactly a minute before the cutoff is not in its last minute.
    let recent = ["RECENT_1_TOTAL", "RECENT_5_TOTAL", "RECENT_15_TOTAL", "RECENT_60_TOTAL"];
    assert_eq!(pick(n1_min, &recent), json!({"RECENT_1_TOTAL": 0, "RECENT_5_TOTAL": 2, "RECENT_15_TOTAL": 5, "RECENT_60_TOTAL": 5}));
    assert_eq!(pick(n1_max, &recent), json!({"RECENT_1_TOTAL": 0, "RECENT_5_TOTAL": 0, "RECENT_15_TOTAL": 0, "RECENT_60_TOTAL": 1}));
    close(&n1_min["RECENT_5_RATIO"], 0.4, "RECENT_5_RATIO");
    assert_eq!(rows[&key(105, "MIN")]["RECENT_1_TOTAL"], json!(1));

    // Peers: 103, created exactly at 101's MIN cutoff, counts; 104 (after) never; 102's CRH only by MAX.
    let peers = ["TOTAL_PEER_NOTES", "TOTAL_PEER_MISLEADING_NOTES", "TOTAL_PEER_NON_MISLEADING_NOTES", "TOTAL_PEER_STABILIZATION_NOTES", "TOTAL_PEER_CRH_NOTES"];
    let counts = |v: [i64; 5]| Value::Object(peers.iter().zip(v).map(|(k, v)| (k.to_string(), json!(v))).collect());
    assert_eq!(pick(n1_min, &peers), counts([1, 0, 1, 0, 0]));
    assert_eq!(pick(n1_max, &peers), counts([2, 1, 1, 1, 1]));
    // 101's stabilization (+30 min) is after 102's MIN cutoff (+25 min), before its MAX (+45 min).
    assert_eq!(pick(&rows[&key(102, "MIN")], &peers), counts([2, 1, 1, 0, 0]));
    assert_eq!(pick(&rows[&key(102, "MAX")], &peers), counts([2, 1, 1, 1, 0]));
    assert_eq!(pick(&rows[&key(105, "MIN")], &peers), counts([0, 0, 0, 0, 0]));

    // 101's own ratings by its MIN cutoff: RA, RB, RC, RD, RE (RE has no factor; RD's is Expansion's).
    assert_eq!(
        pick(n1_min, &["LOCAL_USER_HELPFULNESS_RATINGS", "LOCAL_USER_HELPFUL_TAGS", "LOCAL_USER_NOT_HELPFUL_TAGS", "LOCAL", "PEER_MISLEADING", "PEER_NON_MISLEADING"]),
        json!({
            "LOCAL_USER_HELPFULNESS_RATINGS": ["RA:HELPFUL", "RB:HELPFUL", "RC:SOMEWHAT_HELPFUL", "RD:NOT_HELPFUL", "RE:HELPFUL"],
            "LOCAL_USER_HELPFUL_TAGS": ["RA:helpfulClear", "RB:helpfulClear", "RB:helpfulGoodSources"],
            "LOCAL_USER_NOT_HELPFUL_TAGS": ["RC:notHelpfulOther", "RD:notHelpfulIncorrect"],
            "LOCAL": 5, "PEER_MISLEADING": 0, "PEER_NON_MISLEADING": 0
        })
    );
    let buckets: Vec<String> = ["NEGATIVE", "NEUTRAL", "POSITIVE"].iter().flat_map(|v| ["HELPFUL", "SOMEWHAT_HELPFUL", "NOT_HELPFUL"].map(|l| format!("LOCAL_{v}_{l}"))).collect();
    let got: Vec<i64> = buckets.iter().map(|b| n1_min[b].as_i64().unwrap()).collect();
    // NEGATIVE: RD not helpful; NEUTRAL (inclusive +-0.3): RB helpful, RC somewhat; POSITIVE: RA helpful.
    assert_eq!(got, [0, 0, 1, 1, 1, 0, 1, 0, 0]);
    let got_max: Vec<i64> = buckets.iter().map(|b| n1_max[b].as_i64().unwrap()).collect();
    assert_eq!(got_max, [0, 0, 1, 1, 1, 0, 1, 0, 1], "RF (ExpansionPlus 0.31) is positive");
    // Helpful statistics over RA (0.5) and RB (-0.3: f <= 0 is negative).
    for (column, want) in [("MAX_POS_HELPFUL", 0.5), ("MAX_NEG_HELPFUL", 0.3), ("MEAN_POS_HELPFUL", 0.5), ("MEAN_NEG_HELPFUL", 0.3), ("STD_HELPFUL", 0.8 / 2f64.sqrt()), ("MAX_DIFF", 0.8), ("MEAN_DIFF", 0.8)] {
        close(&n1_min[format!("LOCAL_{column}")], want, column);
    }
    for (tag, want) in [("helpfulClear", 0.4), ("helpfulGoodSources", 0.2), ("notHelpfulOther", 0.2), ("notHelpfulIncorrect", 0.2), ("helpfulOther", 0.0)] {
        close(&n1_min[format!("LOCAL_{tag}")], want, tag);
    }
    // No peer rating by the MIN cutoff: empty sets, zero counts, NULL statistics and shares.
    assert_eq!(n1_min["PEER_MISLEADING_USER_HELPFULNESS_RATINGS"], json!([]));
    assert_eq!(n1_min["PEER_MISLEADING_NEGATIVE_HELPFUL"], json!(0));
    for column in ["PEER_MISLEADING_helpfulClear", "PEER_MISLEADING_STD_HELPFUL", "PEER_NON_MISLEADING_notHelpfulOther"] {
        assert_eq!(n1_min.get(column).cloned().unwrap_or(Value::Null), Value::Null, "{column}");
    }
    // By MAX: 102's three ratings (RA 0.5, RH -0.5, RI 0.7) and 103's one (RJ, no factor); 109 was deleted.
    assert_eq!(pick(n1_max, &["PEER_MISLEADING", "PEER_NON_MISLEADING"]), json!({"PEER_MISLEADING": 3, "PEER_NON_MISLEADING": 1}));
    close(&n1_max["PEER_MISLEADING_MAX_POS_HELPFUL"], 0.7, "peer MAX_POS");
    close(&n1_max["PEER_MISLEADING_MEAN_POS_HELPFUL"], 0.6, "peer MEAN_POS");
    close(&n1_max["PEER_MISLEADING_STD_HELPFUL"], 0.2 / 2f64.sqrt(), "peer STD");
    close(&n1_max["PEER_MISLEADING_notHelpfulNoteNotNeeded"], 1.0 / 3.0, "peer tag share");
    for column in ["PEER_MISLEADING_MAX_NEG_HELPFUL", "PEER_MISLEADING_MAX_DIFF", "PEER_NON_MISLEADING_STD_HELPFUL"] {
        assert_eq!(n1_max.get(column).cloned().unwrap_or(Value::Null), Value::Null, "{column}");
    }
    assert_eq!(n1_max["PEER_NON_MISLEADING_USER_HELPFULNESS_RATINGS"], json!(["RJ:SOMEWHAT_HELPFUL"]));
    close(&n1_max["PEER_NON_MISLEADING_helpfulClear"], 0.0, "a set of one rating without the tag");
    // 105: one helpful rating (n = 1): no standard deviation.
    let n5 = &rows[&key(105, "MIN")];
    close(&n5["LOCAL_MAX_POS_HELPFUL"], 0.5, "105 MAX_POS");
    assert_eq!(n5.get("LOCAL_STD_HELPFUL").cloned().unwrap_or(Value::Null), Value::Null);
}

#[test]
fn the_output_has_the_originals_165_columns_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    write_download(&data);
    ok(features(&data, &out, &["-q"]));
    let described = sql_csv(None, &out.join("pflip"), "DESCRIBE pflip_features", &[]);
    let columns: Vec<&str> = described.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(columns.len(), 165, "{columns:?}");
    assert_eq!(&columns[..12], ["noteId", "noteCreationMillis", "tweetId", "classification", "tweetCreationMillis", "SCORING_CUTOFF_MTS", "SCORING_CUTOFF_MODE", "LABEL", "NOTE_WRITING_LATENCY", "noteAuthorParticipantId", "FIRST_1_TOTAL", "FIRST_5_TOTAL"]);
    assert_eq!(&columns[34..41], ["TOTAL_PEER_NOTES", "TOTAL_PEER_MISLEADING_NOTES", "TOTAL_PEER_NON_MISLEADING_NOTES", "TOTAL_PEER_STABILIZATION_NOTES", "TOTAL_PEER_CRH_NOTES", "LOCAL_USER_HELPFULNESS_RATINGS", "LOCAL_USER_HELPFUL_TAGS"]);
    assert_eq!(&columns[162..], ["LOCAL", "PEER_MISLEADING", "PEER_NON_MISLEADING"]);
    assert_eq!(columns[58], "LOCAL_helpfulOther", "tag shares after the statistics, helpful tags first");
}

fn broken(data: &Path, folder: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let file = data.join("community_notes").join(folder).join(format!("{folder}-00000.tsv"));
    std::fs::write(&file, edit(std::fs::read_to_string(&file).unwrap())).unwrap();
    file
}

#[test]
fn bad_downloads_are_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, fn(String) -> String, &str); 4] = [
        ("a missing column", "ratings", |t| t.lines().map(|l| l.rsplit_once('\t').unwrap().0.to_string() + "\n").collect(), "ratings table, ratings-00000.tsv: header has 31 columns, expected 32: missing `ratedOnTweetId`"),
        ("a non-numeric id", "notes", |t| t.replacen("\n102\t", "\n10x2\t", 1), "notes table, notes-00000.tsv: line 3, column `noteId`: `10x2` is not an integer"),
        ("an unknown classification", "notes", |t| t.replacen("\tNOT_MISLEADING\t", "\tMAYBE\t", 1), "column `classification`: `MAYBE` is not one of NOT_MISLEADING, MISINFORMED_OR_POTENTIALLY_MISLEADING"),
        ("a short line", "noteStatusHistory", |t| t.replacen("\n", "\n1\t2\n", 1), "noteStatusHistory-00000.tsv: line 2: expected 23 got 2 fields"),
    ];
    for (i, (what, folder, edit, needle)) in cases.into_iter().enumerate() {
        let (data, out) = (tmp.path().join(format!("data{i}")), tmp.path().join(format!("out{i}")));
        write_download(&data);
        broken(&data, folder, edit);
        assert_fails(&features(&data, &out, &["-q"]), 1, needle, what);
        assert!(!out.join("pflip/pflip_features").exists(), "{what}: an output was written");
    }
    let (data, out) = (tmp.path().join("empty"), tmp.path().join("out-empty"));
    write_download(&data);
    std::fs::remove_file(data.join("community_notes/ratings/ratings-00000.tsv")).unwrap();
    assert_fails(&features(&data, &out, &["-q"]), 1, "--input: no ratings files (*.tsv) at", "an empty ratings folder");
    // A rating repeated: the original's uniqueness assert, as an error.
    let (data, out) = (tmp.path().join("dup"), tmp.path().join("out-dup"));
    write_download(&data);
    broken(&data, "ratings", |t| {
        let second = t.lines().nth(1).unwrap().to_string();
        t + &second + "\n"
    });
    assert_fails(&features(&data, &out, &["-q"]), 1, "ratings on the posts in scope repeat a (noteId, raterParticipantId): 1 (noteId 101, for one)", "a repeated rating");
    assert!(!out.join("pflip/pflip_features").exists());
}

#[test]
fn generated_features_are_the_same_on_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(fletch(&["gen", "community-notes", "-q", "--output-root", data.to_str().unwrap(), "--scale", "0.01"]));
    let embedded = tmp.path().join("embedded");
    let log = stderr(&features(&data, &embedded, &[]));
    let rows = rows(&embedded);
    // Both labels, and every labelled note twice.
    assert!(log.contains("CRH: ") && log.contains("FLIP: "), "{log}");
    assert!(rows.len() > 100, "{} rows", rows.len());
    assert_eq!(rows.keys().filter(|(_, mode)| mode == "MIN").count() * 2, rows.len());
    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let distributed = tmp.path().join("distributed");
    ok(features(&data, &distributed, &["-q", "--scheduler", &cluster.scheduler]));
    assert_same_rows(&self::rows(&distributed), &rows);
}

/// The first value that differs, by row and column; floats to 1e-9
/// relative (the cluster sums in another order), not every row.
fn assert_same_rows(got: &BTreeMap<(i64, String), Value>, want: &BTreeMap<(i64, String), Value>) {
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "rows");
    for (key, w) in want {
        let (g, w) = (got[key].as_object().unwrap(), w.as_object().unwrap());
        assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>(), "{key:?}: columns with values");
        for (column, wv) in w {
            let gv = &g[column];
            let same = match (gv.as_f64(), wv.as_f64()) {
                (Some(a), Some(b)) if !(gv.is_i64() && wv.is_i64()) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12),
                _ => gv == wv,
            };
            assert!(same, "{key:?} {column}: cluster {gv}, embedded {wv}");
        }
    }
}

#[test]
fn the_model_is_scikit_learns_on_the_same_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    ok(fletch(&["gen", "community-notes", "-q", "--output-root", d, "--scale", "0.01"]));
    ok(features(&data, &out, &["-q"]));
    // Without the features table the stage that writes it is named.
    let empty = tmp.path().join("empty");
    assert_fails(&fletch(&["run", "pflip-train", "-q", "--data-root", d, "--output-root", empty.to_str().unwrap()]), 1, "the pflip-features stage writes it", "no features");
    let run = fletch(&["run", "pflip-train", "--data-root", d, "--output-root", o, "--seed", "7", "--write-matrix"]);
    let log = stderr(&run);
    ok(run);
    assert!(log.contains("threshold") && log.contains("validation"), "{log}");
    let model: Value = serde_json::from_str(&std::fs::read_to_string(out.join("pflip/pflip_model.json")).unwrap()).unwrap();
    assert_eq!(model["parameters"]["C"], json!(0.04));
    let rows = model["training"]["rows"].as_u64().unwrap() + model["validation"]["rows"].as_u64().unwrap();
    assert_eq!(model["training"]["rows"].as_u64().unwrap(), rows * 9 / 10, "floor(0.9 n) rows train");
    assert!(model["columns"].as_u64().unwrap() > 10_000, "the crosses make many columns: {}", model["columns"]);
    let matrix = out.join("pflip/pflip_training_matrix.json");
    let summary = python(&[&consumer("pflip_sklearn.py"), out.join("pflip/pflip_model.json").to_str().unwrap(), matrix.to_str().unwrap()], &[]);
    assert!(summary.starts_with("rows "), "{summary}");
    // The same seed gives the same model.
    ok(fletch(&["run", "pflip-train", "-q", "--data-root", d, "--output-root", o, "--seed", "7"]));
    let second: Value = serde_json::from_str(&std::fs::read_to_string(out.join("pflip/pflip_model.json")).unwrap()).unwrap();
    assert_eq!(second["weights"], model["weights"]);
    assert_eq!(second["threshold"], model["threshold"]);
}

fn predict(data: &Path, out: &Path, model: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "pflip-predict", "-q", "--data-root", data.to_str().unwrap(), "--output-root", out.to_str().unwrap(), "--model", model.to_str().unwrap()];
    args.extend(extra);
    fletch(&args)
}

/// A generated download (scale 0.01), its features and a model trained on them.
fn trained(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (data, out) = (tmp.join("generated"), tmp.join("trained"));
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    ok(fletch(&["gen", "community-notes", "-q", "--output-root", d, "--scale", "0.01"]));
    ok(features(&data, &out, &["-q"]));
    ok(fletch(&["run", "pflip-train", "-q", "--data-root", d, "--output-root", o]));
    let model = out.join("pflip/pflip_model.json");
    (data, out, model)
}

/// Each prediction's label and probability follow from its score and the model's threshold.
fn predictions(out: &Path, model: &Path) -> BTreeMap<i64, f64> {
    let threshold = serde_json::from_str::<Value>(&std::fs::read_to_string(model).unwrap()).unwrap()["threshold"].as_f64().unwrap();
    let rows = sql_json(&out.join("pflip"), "SELECT * FROM pflip_predictions");
    rows.iter()
        .map(|r| {
            let score = r["PFLIP_SCORE"].as_f64().unwrap();
            assert_eq!(r["PFLIP_LABEL"], json!(if score > threshold { "FLIP" } else { "CRH" }), "{r}");
            close(&r["PFLIP_PROBA"], 1.0 / (1.0 + (-score).exp()), "PFLIP_PROBA");
            (r["noteId"].as_i64().unwrap(), score)
        })
        .collect()
}

#[test]
fn predictions_as_of_now_share_each_batchs_present() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, model) = trained(tmp.path());
    let (data, out, by_post) = (tmp.path().join("data"), tmp.path().join("out"), tmp.path().join("by-post"));
    write_download(&data);
    ok(predict(&data, &out, &model, &["--write-features"]));
    // Every scorable note on the posts of 101 and 105: 109 is deleted, 107 on another post.
    let scored = predictions(&out, &model);
    assert_eq!(scored.keys().copied().collect::<Vec<_>>(), [101, 102, 103, 104, 105, 106, 108]);
    let rows = rows_of(&out, "pflip_prediction_features");
    let now = |id: i64| &rows[&(id, "NOW".to_string())];
    assert_eq!(pick(now(101), &["SCORING_CUTOFF_MTS", "LABEL", "LOCAL", "PEER_MISLEADING", "PEER_NON_MISLEADING"]), json!({"SCORING_CUTOFF_MTS": null, "LABEL": null, "LOCAL": 7, "PEER_MISLEADING": 3, "PEER_NON_MISLEADING": 1}));
    let peers = ["TOTAL_PEER_NOTES", "TOTAL_PEER_MISLEADING_NOTES", "TOTAL_PEER_NON_MISLEADING_NOTES", "TOTAL_PEER_STABILIZATION_NOTES", "TOTAL_PEER_CRH_NOTES"];
    assert_eq!(pick(now(101), &peers), json!({"TOTAL_PEER_NOTES": 3, "TOTAL_PEER_MISLEADING_NOTES": 2, "TOTAL_PEER_NON_MISLEADING_NOTES": 1, "TOTAL_PEER_STABILIZATION_NOTES": 1, "TOTAL_PEER_CRH_NOTES": 1}));
    // One batch: the present is the latest rating of any scored note, 108's at C5 + 7 min.
    let recent = ["RECENT_1_TOTAL", "RECENT_5_TOTAL", "RECENT_15_TOTAL", "RECENT_60_TOTAL"];
    assert_eq!(pick(now(101), &recent), json!({"RECENT_1_TOTAL": 0, "RECENT_5_TOTAL": 0, "RECENT_15_TOTAL": 0, "RECENT_60_TOTAL": 1}));
    assert_eq!(pick(now(105), &recent), json!({"RECENT_1_TOTAL": 0, "RECENT_5_TOTAL": 0, "RECENT_15_TOTAL": 1, "RECENT_60_TOTAL": 1}));
    assert_eq!(now(108)["RECENT_1_TOTAL"], json!(1));
    // A batch per post: post A's present is its own latest rating, RG at C1 + 100 min.
    ok(predict(&data, &by_post, &model, &["--write-features", "--batch-tweets", "1"]));
    let rows = rows_of(&by_post, "pflip_prediction_features");
    let now = |id: i64| &rows[&(id, "NOW".to_string())];
    assert_eq!(pick(now(101), &recent), json!({"RECENT_1_TOTAL": 1, "RECENT_5_TOTAL": 1, "RECENT_15_TOTAL": 1, "RECENT_60_TOTAL": 2}));
    assert_eq!(pick(now(105), &recent), json!({"RECENT_1_TOTAL": 0, "RECENT_5_TOTAL": 0, "RECENT_15_TOTAL": 1, "RECENT_60_TOTAL": 1}));
    let by_post_scores = predictions(&by_post, &model);
    assert_eq!(by_post_scores[&105], scored[&105], "post B's batch is the same either way");

    // As of cutoffs: MIN rows are pflip-features' (without the label) for every note that has one.
    let (cut, offset, trained_features) = (tmp.path().join("cut"), tmp.path().join("offset"), tmp.path().join("training"));
    ok(predict(&data, &cut, &model, &["--write-features", "--at-cutoff", "MIN"]));
    ok(features(&data, &trained_features, &["-q"]));
    let at_min = rows_of(&cut, "pflip_prediction_features");
    assert_eq!(at_min.keys().map(|(id, _)| *id).collect::<Vec<_>>(), [101, 102, 105, 107, 108], "notes with a MIN cutoff (106 has no rating)");
    let mut training = self::rows(&trained_features);
    for (key, row) in training.iter_mut().filter(|(k, _)| k.1 == "MIN") {
        row.as_object_mut().unwrap().remove("LABEL");
        assert_eq!(&at_min[key], row, "{key:?}");
    }
    assert_eq!(predictions(&cut, &model).len(), 5);
    // As of an hour after first going CRH: 101 at C1 + 150 min has all its ratings.
    ok(predict(&data, &offset, &model, &["--write-features", "--offset-hours", "1"]));
    let at_offset = rows_of(&offset, "pflip_prediction_features");
    assert_eq!(at_offset.keys().map(|(id, _)| *id).collect::<Vec<_>>(), [101, 102, 106, 107, 108], "notes that went CRH");
    assert_eq!(pick(&at_offset[&(101, "OFFSET".to_string())], &["SCORING_CUTOFF_MTS", "LOCAL"]), json!({"SCORING_CUTOFF_MTS": C1 + 150 * MINUTE, "LOCAL": 7}));

    // Bad requests: nothing is written.
    let bad = tmp.path().join("bad");
    assert_fails(&predict(&data, &bad, &model, &["--at-cutoff", "FIRST"]), 2, "--at-cutoff: expected MIN or MAX, got `FIRST`", "an unknown cutoff");
    assert_fails(&predict(&data, &bad, &model, &["--at-cutoff", "MIN", "--offset-hours", "2"]), 2, "give one", "two cutoffs");
    let features_json = tmp.path().join("not-a-model.json");
    std::fs::write(&features_json, "{\"weights\": {}}").unwrap();
    assert_fails(&predict(&data, &bad, &features_json, &[]), 1, "not a model pflip-train wrote", "not a model");
    assert_fails(&predict(&data, &bad, &tmp.path().join("missing.json"), &[]), 1, "missing.json: cannot read", "no model");
    assert!(!bad.join("pflip").exists(), "an output was written");
}

#[test]
fn generated_predictions_are_the_same_on_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, trained_out, model) = trained(tmp.path());
    let embedded = tmp.path().join("embedded");
    ok(predict(&data, &embedded, &model, &[]));
    let scores = predictions(&embedded, &model);
    // Every scorable note on a post with a note in stabilization, from the TSVs themselves.
    assert_eq!(scores.keys().copied().collect::<Vec<_>>(), expected_targets(&data));
    assert!(scores.len() >= 10, "{} predictions", scores.len());
    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let distributed = tmp.path().join("distributed");
    ok(predict(&data, &distributed, &model, &["--scheduler", &cluster.scheduler]));
    let on_cluster = predictions(&distributed, &model);
    assert_eq!(on_cluster.keys().collect::<Vec<_>>(), scores.keys().collect::<Vec<_>>());
    for (id, s) in &scores {
        assert!((on_cluster[id] - s).abs() <= 1e-9 * s.abs().max(1.0), "{id}: cluster {}, embedded {s}", on_cluster[id]);
    }
    // The model names what it weighs.
    let model: Value = serde_json::from_str(&std::fs::read_to_string(trained_out.join("pflip/pflip_model.json")).unwrap()).unwrap();
    let (weights, names) = (model["weights"].as_object().unwrap(), model["features"].as_object().unwrap());
    assert_eq!(weights.keys().collect::<Vec<_>>(), names.keys().collect::<Vec<_>>());
    assert!(names.values().all(|n| n.as_str().is_some_and(|n| n.contains(" in ") || n.contains(" has ") || n.starts_with("noteAuthorParticipantId = "))), "{names:?}");
}

/// The notes of the TSVs pflip-predict scores by default, read here by header name.
fn expected_targets(data: &Path) -> Vec<i64> {
    let table = |folder: &str| -> Vec<BTreeMap<String, String>> {
        let text = std::fs::read_to_string(data.join(format!("community_notes/{folder}/{folder}-00000.tsv"))).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
        lines.map(|l| header.iter().map(|h| h.to_string()).zip(l.split('\t').map(String::from)).collect()).collect()
    };
    let (notes, history) = (table("notes"), table("noteStatusHistory"));
    let stable: Vec<&str> = history.iter().filter(|h| h["timestampMillisOfNmrDueToMinStableCrhTime"].parse::<i64>().is_ok_and(|t| t > 0)).map(|h| h["noteId"].as_str()).collect();
    let posts: Vec<&str> = notes.iter().filter(|n| stable.contains(&n["noteId"].as_str()) && n["tweetId"] != "-1").map(|n| n["tweetId"].as_str()).collect();
    let known: Vec<&str> = history.iter().map(|h| h["noteId"].as_str()).collect();
    let mut ids: Vec<i64> = notes
        .iter()
        .filter(|n| posts.contains(&n["tweetId"].as_str()) && !n["classification"].is_empty() && known.contains(&n["noteId"].as_str()))
        .map(|n| n["noteId"].parse().unwrap())
        .collect();
    ids.sort();
    ids
}
