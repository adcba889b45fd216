//! `_column_thresholds` and `_transform_note_info` (spec A8): quantiles of
//! the raw training frame, and the clipping and logs every frame gets before
//! the transformers; with the feature columns both name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::frame::Frame;
use super::select::quantile;
use fletch_engine::tsv::community_notes::{HELPFUL_TAGS, NOT_HELPFUL_TAGS};

pub const PREFIXES: [&str; 3] = ["LOCAL", "PEER_MISLEADING", "PEER_NON_MISLEADING"];
/// `peerNoteCols`: CRH before STABILIZATION, as the pipeline lists them.
pub const PEERS: [&str; 5] = ["TOTAL_PEER_NOTES", "TOTAL_PEER_MISLEADING_NOTES", "TOTAL_PEER_NON_MISLEADING_NOTES", "TOTAL_PEER_CRH_NOTES", "TOTAL_PEER_STABILIZATION_NOTES"];
pub const LATENCY: &str = "NOTE_WRITING_LATENCY";

/// The tag shares of every set: not-helpful tags first, as the pipeline lists them.
pub fn tag_columns() -> Vec<String> {
    PREFIXES.iter().flat_map(|p| NOT_HELPFUL_TAGS.iter().chain(HELPFUL_TAGS.iter()).map(move |t| format!("{p}_{t}"))).collect()
}

/// A set's 9 rating counts by viewpoint and level.
pub fn bucket_columns(prefix: &str) -> Vec<String> {
    ["NEGATIVE", "NEUTRAL", "POSITIVE"].iter().flat_map(|v| ["HELPFUL", "SOMEWHAT_HELPFUL", "NOT_HELPFUL"].map(|l| format!("{prefix}_{v}_{l}"))).collect()
}

/// FIRST, BURST and RECENT: totals then ratios, by minutes.
pub fn timing_columns() -> Vec<String> {
    ["FIRST", "BURST", "RECENT"]
        .iter()
        .flat_map(|k| ["TOTAL", "RATIO"].iter().flat_map(move |s| [1, 5, 15, 60].map(|c| format!("{k}_{c}_{s}"))))
        .collect()
}

pub fn log2_1p(v: f64) -> f64 {
    (1.0 + v).ln() / 2f64.ln()
}

/// The clipping thresholds, by column (NaN for a column of NULLs; JSON null).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Thresholds(#[serde(with = "nan_as_null")] BTreeMap<String, f64>);

impl Thresholds {
    /// pandas' linear quantiles of the raw training frame, NaN skipped: tag
    /// shares q0.99, timing columns and latency q0.999, peer counts q0.9999.
    pub fn fit(raw: &Frame) -> Result<Thresholds, String> {
        let mut t = BTreeMap::new();
        for c in tag_columns() {
            t.insert(c.clone(), quantile(raw.number(&c)?, 0.99));
        }
        for c in timing_columns().into_iter().chain([LATENCY.to_string()]) {
            t.insert(c.clone(), quantile(raw.number(&c)?, 0.999));
        }
        for c in PEERS {
            t.insert(c.to_string(), quantile(raw.number(c)?, 0.9999));
        }
        Ok(Thresholds(t))
    }

    /// `_transform_note_info`: tag shares NULL → −0.25 and clipped to their
    /// q99; timing ratios clipped, totals log2(1 + clipped); latency
    /// log2(clipped); peer counts log2(1 + clipped). Other columns as they are.
    pub fn apply(&self, raw: &Frame) -> Result<BTreeMap<String, Vec<f64>>, String> {
        let mut x = raw.numbers.clone();
        let clip = |v: f64, lo: f64, hi: f64| if hi.is_nan() { v.max(lo) } else { v.max(lo).min(hi) };
        for c in tag_columns() {
            let t = self.0[&c];
            x.insert(c.clone(), raw.number(&c)?.iter().map(|v| clip(if v.is_nan() { -0.25 } else { *v }, -0.25, t)).collect());
        }
        for c in timing_columns() {
            let t = self.0[&c];
            let ratio = c.ends_with("RATIO");
            x.insert(c.clone(), raw.number(&c)?.iter().map(|v| if ratio { clip(*v, 0.0, t) } else { log2_1p(clip(*v, 0.0, t)) }).collect());
        }
        let t = self.0[LATENCY];
        x.insert(LATENCY.into(), raw.number(LATENCY)?.iter().map(|v| clip(*v, 0.0, t).log2()).collect());
        for c in PEERS {
            let t = self.0[c];
            x.insert(c.into(), raw.number(c)?.iter().map(|v| log2_1p(clip(*v, 0.0, t))).collect());
        }
        Ok(x)
    }
}

/// The tag shares constant in the raw training frame, which the pipeline
/// skips: pandas' `min() == max()`, NaN skipped, so an all-NaN column is
/// not skipped (NaN != NaN) and fails later, as in the original.
pub fn constant_tags(raw: &Frame) -> Result<Vec<String>, String> {
    let mut constant = Vec::new();
    for c in tag_columns() {
        let (lo, hi) = raw.number(&c)?.iter().filter(|x| !x.is_nan()).fold((f64::NAN, f64::NAN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        if lo == hi {
            constant.push(c);
        }
    }
    Ok(constant)
}

/// JSON has no NaN: a NaN threshold is written as null.
mod nan_as_null {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        m.iter().map(|(k, v)| (k, (!v.is_nan()).then_some(*v))).collect::<BTreeMap<_, _>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        Ok(BTreeMap::<String, Option<f64>>::deserialize(d)?.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
    }
}
