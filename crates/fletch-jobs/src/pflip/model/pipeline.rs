//! pflip's feature pipeline (spec A8): the column thresholds and clipping of
//! `_transform_note_info`, then the ColumnTransformer's 142 transformers in
//! order and the final VarianceThreshold, fitted on the training frame and
//! applied to any frame, giving each row's active columns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::blocks::{Block, Kept};
pub use super::frame::Frame;
use super::kbins::Bins;
use super::select::{chi2, quantile, select_percentile, vocabulary};
use fletch_engine::tsv::community_notes::{HELPFUL_TAGS, NOT_HELPFUL_TAGS};

pub const PREFIXES: [&str; 3] = ["LOCAL", "PEER_MISLEADING", "PEER_NON_MISLEADING"];
const SET_KINDS: [&str; 3] = ["USER_HELPFULNESS_RATINGS", "USER_HELPFUL_TAGS", "USER_NOT_HELPFUL_TAGS"];
const STATS: [&str; 7] = ["MAX_POS_HELPFUL", "MAX_NEG_HELPFUL", "MEAN_POS_HELPFUL", "MEAN_NEG_HELPFUL", "STD_HELPFUL", "MAX_DIFF", "MEAN_DIFF"];
/// `peerNoteCols`: CRH before STABILIZATION, as the pipeline lists them.
const PEERS: [&str; 5] = ["TOTAL_PEER_NOTES", "TOTAL_PEER_MISLEADING_NOTES", "TOTAL_PEER_NON_MISLEADING_NOTES", "TOTAL_PEER_CRH_NOTES", "TOTAL_PEER_STABILIZATION_NOTES"];
const LATENCY: &str = "NOTE_WRITING_LATENCY";

/// Bins per transformer (the constructor's defaults).
const TAG_RATIO_BINS: usize = 10;
const RATING_COUNT_BINS: usize = 7;
const FACTOR_STATS_BINS: usize = 10;
const BURST_BINS: usize = 5;
const LATENCY_BINS: usize = 10;
const PEER_NOTE_COUNT_BINS: usize = 4;

/// `(min_df, percentile)` of each token-set transformer, by set kind.
const TOKEN_RULES: [(usize, f64); 3] = [(1, 100.0), (5, 10.0), (5, 50.0)];

fn tag_columns() -> Vec<String> {
    PREFIXES.iter().flat_map(|p| NOT_HELPFUL_TAGS.iter().chain(HELPFUL_TAGS.iter()).map(move |t| format!("{p}_{t}"))).collect()
}

fn bucket_columns(prefix: &str) -> Vec<String> {
    ["NEGATIVE", "NEUTRAL", "POSITIVE"].iter().flat_map(|v| ["HELPFUL", "SOMEWHAT_HELPFUL", "NOT_HELPFUL"].map(|l| format!("{prefix}_{v}_{l}"))).collect()
}

fn timing_columns() -> Vec<String> {
    ["FIRST", "BURST", "RECENT"]
        .iter()
        .flat_map(|k| ["TOTAL", "RATIO"].iter().flat_map(move |s| [1, 5, 15, 60].map(|c| format!("{k}_{c}_{s}"))))
        .collect()
}

fn log2_1p(v: f64) -> f64 {
    (1.0 + v).ln() / 2f64.ln()
}

/// A fitted pipeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pipeline {
    /// `_column_thresholds`, learned on the raw training frame (NaN for a column of NULLs).
    #[serde(with = "nan_as_null")]
    pub thresholds: BTreeMap<String, f64>,
    pub authors: Vec<String>,
    /// Each token-set transformer's kept vocabulary, by column.
    pub vocabularies: Vec<(String, Vec<String>)>,
    /// The tag-share columns that vary in training, with their bins.
    pub tag_bins: Vec<(String, Bins)>,
    /// The 27 rating-count columns' bins (of log2(1 + x)), shared by every block that bins them.
    pub count_bins: Vec<Bins>,
    /// The all-sets crosses of degree 2 and 3: kept bins, kept products.
    pub crosses: Vec<(Kept, Kept)>,
    /// Each set's degree-4 cross: kept bins, kept products of pairs of pairs.
    pub set_crosses: Vec<(Kept, Kept)>,
    /// Each set's statistics: bins of the 7 columns (NULL as -1), kept singles and pairs.
    pub stats: Vec<(Vec<Bins>, Kept)>,
    pub timing_bins: Vec<Bins>,
    pub latency_bins: Bins,
    pub peer_bins: Vec<Bins>,
    /// The peer counts' cross: bins of log2(1 + x) again, kept pairs.
    pub peer_cross: (Vec<Bins>, Kept),
    /// The final VarianceThreshold().
    pub kept: Kept,
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

impl Pipeline {
    /// Fits every transformer on the raw training frame `raw` with labels `y`.
    pub fn fit(raw: &Frame, y: &[bool]) -> Result<(Pipeline, Block), String> {
        let mut thresholds = BTreeMap::new();
        let mut skipped = Vec::new();
        for c in tag_columns() {
            let v = raw.number(&c)?;
            thresholds.insert(c.clone(), quantile(v, 0.99));
            // `min() == max()` of pandas: NaN skipped; an all-NaN column passes (NaN != NaN).
            let (lo, hi) = v.iter().filter(|x| !x.is_nan()).fold((f64::NAN, f64::NAN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            if lo == hi {
                skipped.push(c);
            }
        }
        for c in timing_columns().iter().chain([LATENCY.to_string()].iter()) {
            thresholds.insert(c.clone(), quantile(raw.number(c)?, 0.999));
        }
        for c in PEERS {
            thresholds.insert(c.to_string(), quantile(raw.number(c)?, 0.9999));
        }
        let mut p = Pipeline {
            thresholds,
            authors: Vec::new(),
            vocabularies: Vec::new(),
            tag_bins: Vec::new(),
            count_bins: Vec::new(),
            crosses: Vec::new(),
            set_crosses: Vec::new(),
            stats: Vec::new(),
            timing_bins: Vec::new(),
            latency_bins: Bins { edges: vec![] },
            peer_bins: Vec::new(),
            peer_cross: (Vec::new(), Kept { width: 0, columns: vec![] }),
            kept: Kept { width: 0, columns: vec![] },
        };
        let x = p.clipped(raw)?;
        let fail = |what: &str, e: String| format!("{what}: {e}");

        let mut authors = raw.authors.clone();
        authors.sort();
        authors.dedup();
        p.authors = authors;
        for (k, kind) in SET_KINDS.iter().enumerate() {
            for prefix in PREFIXES {
                let column = format!("{prefix}_{kind}");
                let docs = &raw.sets[&column];
                let (min_df, percentile) = TOKEN_RULES[k];
                let mut vocab = vocabulary(docs.iter().map(Vec::as_slice), min_df).map_err(|e| fail(&column, e))?;
                if percentile < 100.0 {
                    let block = tokens(&column, docs, &vocab);
                    let scores = chi2(&by_column(&block), y);
                    let mask = select_percentile(&scores, percentile);
                    vocab = vocab.into_iter().zip(mask).filter(|(_, k)| *k).map(|(t, _)| t).collect();
                }
                p.vocabularies.push((column, vocab));
            }
        }
        for c in tag_columns().into_iter().filter(|c| !skipped.contains(c)) {
            let v = &x[&c];
            if v.iter().all(|a| *a == v[0]) {
                return Err(fail(&c, "No feature in X meets the variance threshold 0.00000".into()));
            }
            p.tag_bins.push((c.clone(), Bins::fit(v, TAG_RATIO_BINS).map_err(|e| fail(&c, e))?));
        }
        for prefix in PREFIXES {
            for c in bucket_columns(prefix) {
                let logged: Vec<f64> = x[&c].iter().map(|v| log2_1p(*v)).collect();
                p.count_bins.push(Bins::fit(&logged, RATING_COUNT_BINS).map_err(|e| fail(&c, e))?);
            }
        }
        let all_counts = p.count_block(&x, None);
        for degree in [2, 3] {
            let before = all_counts.varying(0.001).map_err(|e| fail(&format!("cross_note_counts_degree_{degree}"), e))?;
            let products = before.apply(&all_counts).products(degree, degree);
            let after = products.varying(0.001).map_err(|e| fail(&format!("cross_note_counts_degree_{degree}"), e))?;
            p.crosses.push((before, after));
        }
        for (s, prefix) in PREFIXES.iter().enumerate() {
            let counts = p.count_block(&x, Some(s));
            let what = format!("{prefix}_cross_note_counts_degree_4");
            let before = counts.varying(0.001).map_err(|e| fail(&what, e))?;
            let products = before.apply(&counts).products(2, 2).products(2, 2);
            let after = products.varying(0.001).map_err(|e| fail(&what, e))?;
            p.set_crosses.push((before, after));
        }
        for prefix in PREFIXES {
            let what = format!("{prefix}_stat_cols");
            let filled = stats_filled(&x, prefix);
            let bins = filled.iter().map(|(_, v)| Bins::fit(v, FACTOR_STATS_BINS)).collect::<Result<Vec<_>, _>>().map_err(|e| fail(&what, e))?;
            let products = onehot(&filled, &bins).products(1, 2);
            let kept = products.varying(0.001).map_err(|e| fail(&what, e))?;
            p.stats.push((bins, kept));
        }
        for c in timing_columns() {
            p.timing_bins.push(Bins::fit(&x[&c], BURST_BINS).map_err(|e| fail(&c, e))?);
        }
        p.latency_bins = Bins::fit(&x[LATENCY], LATENCY_BINS).map_err(|e| fail(LATENCY, e))?;
        for c in PEERS {
            p.peer_bins.push(Bins::fit(&x[c], PEER_NOTE_COUNT_BINS).map_err(|e| fail(c, e))?);
        }
        let twice = peers_again(&x);
        let bins = twice.iter().map(|(_, v)| Bins::fit(v, PEER_NOTE_COUNT_BINS)).collect::<Result<Vec<_>, _>>().map_err(|e| fail("peer_note_cross_degree_2", e))?;
        let pairs = onehot(&twice, &bins).products(2, 2);
        p.peer_cross = (bins, pairs.varying(0.001).map_err(|e| fail("peer_note_cross_degree_2", e))?);

        let stacked = p.stack(raw, &x)?;
        p.kept = stacked.varying(0.0).map_err(|e| fail("drop_constants", e))?;
        let matrix = p.kept.apply(&stacked);
        Ok((p, matrix))
    }

    /// Each row's active columns of the final matrix.
    pub fn transform(&self, raw: &Frame) -> Result<Block, String> {
        let x = self.clipped(raw)?;
        Ok(self.kept.apply(&self.stack(raw, &x)?))
    }

    /// `_transform_note_info`: tag shares NULL → −0.25 and clipped to their
    /// q99; timing ratios clipped, totals log2(1 + clipped); latency
    /// log2(clipped); peer counts log2(1 + clipped). Other columns as they are.
    fn clipped(&self, raw: &Frame) -> Result<BTreeMap<String, Vec<f64>>, String> {
        let mut x = raw.numbers.clone();
        let clip = |v: f64, lo: f64, hi: f64| if hi.is_nan() { v.max(lo) } else { v.max(lo).min(hi) };
        for c in tag_columns() {
            let t = self.thresholds[&c];
            x.insert(c.clone(), raw.number(&c)?.iter().map(|v| clip(if v.is_nan() { -0.25 } else { *v }, -0.25, t)).collect());
        }
        for c in timing_columns() {
            let t = self.thresholds[&c];
            let ratio = c.ends_with("RATIO");
            x.insert(c.clone(), raw.number(&c)?.iter().map(|v| if ratio { clip(*v, 0.0, t) } else { log2_1p(clip(*v, 0.0, t)) }).collect());
        }
        let t = self.thresholds[LATENCY];
        x.insert(LATENCY.into(), raw.number(LATENCY)?.iter().map(|v| clip(*v, 0.0, t).log2()).collect());
        for c in PEERS {
            let t = self.thresholds[c];
            x.insert(c.into(), raw.number(c)?.iter().map(|v| log2_1p(clip(*v, 0.0, t))).collect());
        }
        Ok(x)
    }

    /// The binned rating counts of every set (`None`) or of one.
    fn count_block(&self, x: &BTreeMap<String, Vec<f64>>, set: Option<usize>) -> Block {
        let sets: Vec<usize> = set.map_or((0..PREFIXES.len()).collect(), |s| vec![s]);
        let mut columns = Vec::new();
        let mut bins = Vec::new();
        for s in sets {
            for (k, c) in bucket_columns(PREFIXES[s]).into_iter().enumerate() {
                columns.push((format!("log2(1 + {c})"), x[&c].iter().map(|v| log2_1p(*v)).collect::<Vec<_>>()));
                bins.push(self.count_bins[s * 9 + k].clone());
            }
        }
        onehot(&columns, &bins)
    }

    /// Every transformer's output, side by side, before the final threshold.
    fn stack(&self, raw: &Frame, x: &BTreeMap<String, Vec<f64>>) -> Result<Block, String> {
        let mut blocks = Vec::new();
        let author_rows = raw.authors.iter().map(|a| self.authors.binary_search(a).ok().map(|i| vec![i as u64]).unwrap_or_default()).collect();
        blocks.push(Block::named(author_rows, self.authors.iter().map(|a| format!("noteAuthorParticipantId = {a}")).collect()));
        for (column, vocab) in &self.vocabularies {
            blocks.push(tokens(column, &raw.sets[column], vocab));
        }
        for (c, bins) in &self.tag_bins {
            blocks.push(onehot(&[named_column(x, c)], std::slice::from_ref(bins)));
        }
        for (s, prefix) in PREFIXES.iter().enumerate() {
            for (k, c) in bucket_columns(prefix).into_iter().enumerate() {
                let logged: Vec<f64> = x[&c].iter().map(|v| log2_1p(*v)).collect();
                blocks.push(onehot(&[(format!("log2(1 + {c})"), logged)], std::slice::from_ref(&self.count_bins[s * 9 + k])));
            }
        }
        let all_counts = self.count_block(x, None);
        for ((before, after), degree) in self.crosses.iter().zip([2, 3]) {
            blocks.push(after.apply(&before.apply(&all_counts).products(degree, degree)));
        }
        for (s, (before, after)) in self.set_crosses.iter().enumerate() {
            blocks.push(after.apply(&before.apply(&self.count_block(x, Some(s))).products(2, 2).products(2, 2)));
        }
        for (prefix, (bins, kept)) in PREFIXES.iter().zip(&self.stats) {
            blocks.push(kept.apply(&onehot(&stats_filled(x, prefix), bins).products(1, 2)));
        }
        for (c, bins) in timing_columns().iter().zip(&self.timing_bins) {
            blocks.push(onehot(&[named_column(x, c)], std::slice::from_ref(bins)));
        }
        blocks.push(onehot(&[named_column(x, LATENCY)], std::slice::from_ref(&self.latency_bins)));
        for (c, bins) in PEERS.iter().zip(&self.peer_bins) {
            blocks.push(onehot(&[named_column(x, c)], std::slice::from_ref(bins)));
        }
        blocks.push(self.peer_cross.1.apply(&onehot(&peers_again(x), &self.peer_cross.0).products(2, 2)));
        Ok(Block::hstack(&blocks))
    }
}

/// A transformed column with its name.
fn named_column(x: &BTreeMap<String, Vec<f64>>, name: &str) -> (String, Vec<f64>) {
    (name.to_string(), x[name].clone())
}

/// A set's helpfulness statistics, NULL as -1 (`stat_cols`' imputer).
fn stats_filled(x: &BTreeMap<String, Vec<f64>>, prefix: &str) -> Vec<(String, Vec<f64>)> {
    STATS
        .iter()
        .map(|c| {
            let name = format!("{prefix}_{c}");
            let filled = x[&name].iter().map(|v| if v.is_nan() { -1.0 } else { *v }).collect();
            (name, filled)
        })
        .collect()
}

/// The peer counts logged a second time, as `peer_note_cross_degree_2` reads them.
fn peers_again(x: &BTreeMap<String, Vec<f64>>) -> Vec<(String, Vec<f64>)> {
    PEERS.iter().map(|c| (format!("log2(1 + {c})"), x[*c].iter().map(|v| log2_1p(*v)).collect())).collect()
}

/// One-hot of binned (name, values) columns, side by side: each column's
/// bins are its block's columns, named by the range of (transformed) values they hold.
fn onehot(columns: &[(String, Vec<f64>)], bins: &[Bins]) -> Block {
    let n = columns.first().map_or(0, |(_, v)| v.len());
    let mut rows = vec![Vec::with_capacity(columns.len()); n];
    let mut names = Vec::new();
    for ((name, values), b) in columns.iter().zip(bins) {
        let offset = names.len() as u64;
        for (row, v) in rows.iter_mut().zip(values) {
            row.push(offset + b.bin(*v) as u64);
        }
        names.extend(b.ranges().into_iter().map(|range| format!("{name} in {range}")));
    }
    Block::named(rows, names)
}

/// Token indicators of each row's set over a sorted vocabulary.
fn tokens(column: &str, docs: &[Vec<String>], vocab: &[String]) -> Block {
    let rows = docs
        .iter()
        .map(|d| {
            let mut r: Vec<u64> = d.iter().filter_map(|t| vocab.binary_search(t).ok().map(|i| i as u64)).collect();
            r.sort_unstable();
            r.dedup();
            r
        })
        .collect();
    Block::named(rows, vocab.iter().map(|t| format!("{column} has {t}")).collect())
}

/// A block's rows per column.
fn by_column(block: &Block) -> Vec<Vec<u32>> {
    let mut columns = vec![Vec::new(); block.width as usize];
    for (i, r) in block.rows.iter().enumerate() {
        for &c in r {
            columns[c as usize].push(i as u32);
        }
    }
    columns
}
