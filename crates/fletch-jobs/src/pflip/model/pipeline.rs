//! pflip's feature pipeline (spec A8): the ColumnTransformer's 142
//! transformers in order and the final VarianceThreshold, fitted on the
//! training frame (after [`Thresholds`]) and applied to any frame, giving
//! each row's active columns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::blocks::{Block, Kept};
use super::clip::{LATENCY, PEERS, PREFIXES, Thresholds, bucket_columns, constant_tags, log2_1p, tag_columns, timing_columns};
pub use super::frame::Frame;
use super::kbins::Bins;
use super::select::{chi2, select_percentile};
use super::tokens::TokenSets;

const SET_KINDS: [&str; 3] = ["USER_HELPFULNESS_RATINGS", "USER_HELPFUL_TAGS", "USER_NOT_HELPFUL_TAGS"];
const STATS: [&str; 7] = ["MAX_POS_HELPFUL", "MAX_NEG_HELPFUL", "MEAN_POS_HELPFUL", "MEAN_NEG_HELPFUL", "STD_HELPFUL", "MAX_DIFF", "MEAN_DIFF"];
/// Rating counts per set.
const COUNTS: usize = 9;

/// Bins per transformer (the constructor's defaults).
const TAG_RATIO_BINS: usize = 10;
const RATING_COUNT_BINS: usize = 7;
const FACTOR_STATS_BINS: usize = 10;
const BURST_BINS: usize = 5;
const LATENCY_BINS: usize = 10;
const PEER_NOTE_COUNT_BINS: usize = 4;

/// `(min_df, percentile)` of each token-set transformer, by set kind.
const TOKEN_RULES: [(usize, f64); 3] = [(1, 100.0), (5, 10.0), (5, 50.0)];

/// A fitted pipeline: the transformers, then the final VarianceThreshold().
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pipeline {
    #[serde(flatten)]
    pub transformers: Transformers,
    pub kept: Kept,
}

/// The fitted transformers of the ColumnTransformer, and the thresholds before them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Transformers {
    /// `_column_thresholds`, learned on the raw training frame.
    pub thresholds: Thresholds,
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
}

impl Pipeline {
    /// Fits every transformer on the raw training frame `raw` with labels
    /// `y`; returns the pipeline and the training rows' final matrix.
    pub fn fit(raw: &Frame, y: &[bool]) -> Result<(Pipeline, Block), String> {
        let transformers = Transformers::fit(raw, y)?;
        let stacked = transformers.stack(raw)?;
        let kept = stacked.varying(0.0).map_err(|e| format!("drop_constants: {e}"))?;
        let matrix = kept.apply(&stacked);
        Ok((Pipeline { transformers, kept }, matrix))
    }

    /// Each row's active columns of the final matrix.
    pub fn transform(&self, raw: &Frame) -> Result<Block, String> {
        Ok(self.kept.apply(&self.transformers.stack(raw)?))
    }
}

impl Transformers {
    fn fit(raw: &Frame, y: &[bool]) -> Result<Transformers, String> {
        let fail = |what: &str, e: String| format!("{what}: {e}");
        let thresholds = Thresholds::fit(raw)?;
        let x = thresholds.apply(raw)?;

        let mut authors = raw.authors.clone();
        authors.sort();
        authors.dedup();
        let mut vocabularies = Vec::new();
        for (k, kind) in SET_KINDS.iter().enumerate() {
            for prefix in PREFIXES {
                let column = format!("{prefix}_{kind}");
                let docs = &raw.sets[&column];
                let (min_df, percentile) = TOKEN_RULES[k];
                let mut vocab = docs.vocabulary(min_df).map_err(|e| fail(&column, e))?;
                if percentile < 100.0 {
                    let block = tokens(&column, docs, &vocab);
                    let mask = select_percentile(&chi2(&by_column(&block), y), percentile);
                    vocab = vocab.into_iter().zip(mask).filter(|(_, k)| *k).map(|(t, _)| t).collect();
                }
                vocabularies.push((column, vocab));
            }
        }
        let constant = constant_tags(raw)?;
        let mut tag_bins = Vec::new();
        for c in tag_columns().into_iter().filter(|c| !constant.contains(c)) {
            let v = &x[&c];
            if v.iter().all(|a| *a == v[0]) {
                return Err(fail(&c, "No feature in X meets the variance threshold 0.00000".into()));
            }
            let bins = Bins::fit(v, TAG_RATIO_BINS).map_err(|e| fail(&c, e))?;
            tag_bins.push((c, bins));
        }
        let mut count_bins = Vec::new();
        for (c, logged) in logged_counts(&x) {
            count_bins.push(Bins::fit(&logged, RATING_COUNT_BINS).map_err(|e| fail(&c, e))?);
        }
        let counts = onehot(&logged_counts(&x), &count_bins);
        let mut crosses = Vec::new();
        for degree in [2, 3] {
            let what = format!("cross_note_counts_degree_{degree}");
            let before = counts.varying(0.001).map_err(|e| fail(&what, e))?;
            let after = before.apply(&counts).products(degree, degree).varying(0.001).map_err(|e| fail(&what, e))?;
            crosses.push((before, after));
        }
        let mut set_crosses = Vec::new();
        for (s, prefix) in PREFIXES.iter().enumerate() {
            let what = format!("{prefix}_cross_note_counts_degree_4");
            let set = set_counts(&counts, &count_bins, s);
            let before = set.varying(0.001).map_err(|e| fail(&what, e))?;
            let after = before.apply(&set).products(2, 2).products(2, 2).varying(0.001).map_err(|e| fail(&what, e))?;
            set_crosses.push((before, after));
        }
        let mut stats = Vec::new();
        for prefix in PREFIXES {
            let what = format!("{prefix}_stat_cols");
            let filled = stats_filled(&x, prefix);
            let bins = filled.iter().map(|(_, v)| Bins::fit(v, FACTOR_STATS_BINS)).collect::<Result<Vec<_>, _>>().map_err(|e| fail(&what, e))?;
            let kept = onehot(&filled, &bins).products(1, 2).varying(0.001).map_err(|e| fail(&what, e))?;
            stats.push((bins, kept));
        }
        let timing_bins = timing_columns().iter().map(|c| Bins::fit(&x[c], BURST_BINS).map_err(|e| fail(c, e))).collect::<Result<Vec<_>, _>>()?;
        let latency_bins = Bins::fit(&x[LATENCY], LATENCY_BINS).map_err(|e| fail(LATENCY, e))?;
        let peer_bins = PEERS.iter().map(|c| Bins::fit(&x[*c], PEER_NOTE_COUNT_BINS).map_err(|e| fail(c, e))).collect::<Result<Vec<_>, _>>()?;
        let twice = peers_again(&x);
        let what = "peer_note_cross_degree_2";
        let bins = twice.iter().map(|(_, v)| Bins::fit(v, PEER_NOTE_COUNT_BINS)).collect::<Result<Vec<_>, _>>().map_err(|e| fail(what, e))?;
        let pairs = onehot(&twice, &bins).products(2, 2).varying(0.001).map_err(|e| fail(what, e))?;
        Ok(Transformers {
            thresholds,
            authors,
            vocabularies,
            tag_bins,
            count_bins,
            crosses,
            set_crosses,
            stats,
            timing_bins,
            latency_bins,
            peer_bins,
            peer_cross: (bins, pairs),
        })
    }

    /// Every transformer's output, side by side, before the final threshold.
    fn stack(&self, raw: &Frame) -> Result<Block, String> {
        let x = self.thresholds.apply(raw)?;
        let mut blocks = Vec::new();
        let author_rows = raw.authors.iter().map(|a| self.authors.binary_search(a).ok().map(|i| vec![i as u64]).unwrap_or_default()).collect();
        blocks.push(Block::named(author_rows, self.authors.iter().map(|a| format!("noteAuthorParticipantId = {a}")).collect()));
        for (column, vocab) in &self.vocabularies {
            blocks.push(tokens(column, &raw.sets[column], vocab));
        }
        for (c, bins) in &self.tag_bins {
            blocks.push(onehot(&[named_column(&x, c)], std::slice::from_ref(bins)));
        }
        // The 27 single-count transformers side by side are the counts' one block.
        let counts = onehot(&logged_counts(&x), &self.count_bins);
        blocks.push(counts.clone());
        for ((before, after), degree) in self.crosses.iter().zip([2, 3]) {
            blocks.push(after.apply(&before.apply(&counts).products(degree, degree)));
        }
        for (s, (before, after)) in self.set_crosses.iter().enumerate() {
            blocks.push(after.apply(&before.apply(&set_counts(&counts, &self.count_bins, s)).products(2, 2).products(2, 2)));
        }
        for (prefix, (bins, kept)) in PREFIXES.iter().zip(&self.stats) {
            blocks.push(kept.apply(&onehot(&stats_filled(&x, prefix), bins).products(1, 2)));
        }
        for (c, bins) in timing_columns().iter().zip(&self.timing_bins) {
            blocks.push(onehot(&[named_column(&x, c)], std::slice::from_ref(bins)));
        }
        blocks.push(onehot(&[named_column(&x, LATENCY)], std::slice::from_ref(&self.latency_bins)));
        for (c, bins) in PEERS.iter().zip(&self.peer_bins) {
            blocks.push(onehot(&[named_column(&x, c)], std::slice::from_ref(bins)));
        }
        blocks.push(self.peer_cross.1.apply(&onehot(&peers_again(&x), &self.peer_cross.0).products(2, 2)));
        Ok(Block::hstack(&blocks))
    }
}

/// The 27 rating counts of every set, each as log2(1 + x).
fn logged_counts(x: &BTreeMap<String, Vec<f64>>) -> Vec<(String, Vec<f64>)> {
    PREFIXES.iter().flat_map(|p| bucket_columns(p)).map(|c| (format!("log2(1 + {c})"), x[&c].iter().map(|v| log2_1p(*v)).collect())).collect()
}

/// Set `s`'s 9 binned counts, out of the one-hot block of all 27.
fn set_counts(counts: &Block, bins: &[Bins], s: usize) -> Block {
    let start: usize = bins[..s * COUNTS].iter().map(Bins::len).sum();
    let width: usize = bins[s * COUNTS..(s + 1) * COUNTS].iter().map(Bins::len).sum();
    Kept { width: counts.width, columns: (start as u64..(start + width) as u64).collect() }.apply(counts)
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
fn tokens(column: &str, docs: &TokenSets, vocab: &[String]) -> Block {
    Block::named(docs.positions(vocab), vocab.iter().map(|t| format!("{column} has {t}")).collect())
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
