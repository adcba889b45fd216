//! Bisecting k-means over hashed term frequencies (TAAR similarity's
//! clustering), split so that the per-client work runs on the executors:
//! `bisecting_kmeans_leaf` walks a client down the driver's tree of centers,
//! `term_moments` sums the clients of each node exactly. A client is its
//! list of term indices (a term listed twice has frequency 2); its vector is
//! tf × idf per term, as Spark's HashingTF + IDF build it.

mod bisecting_kmeans_leaf;
mod term_moments;

use std::collections::HashMap;

use datafusion::arrow::array::{Array, AsArray, ListArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::plan_err;
use datafusion::error::Result;
use serde::{Deserialize, Serialize};

pub use bisecting_kmeans_leaf::BisectingKmeansLeaf;
pub use term_moments::TermMoments;

use crate::util::list_of;

scalar_udf!(bisecting_kmeans_leaf, BisectingKmeansLeaf::new());
aggregate_udf!(term_moments, TermMoments::new());

/// A bisecting k-means tree as the driver hands it to `bisecting_kmeans_leaf`
/// (as JSON). Nodes are numbered as Spark numbers them: the root is 1 and the
/// children of node n are 2n and 2n + 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeModel {
    /// `(term, idf)` for every term of the vocabulary; other terms weigh 0.
    pub idf: Vec<(i64, f64)>,
    /// `(node, center)`, a center being its non-zero `(term, value)` pairs.
    pub centers: Vec<(i64, Vec<(i64, f64)>)>,
}

/// A parsed [`TreeModel`], ready to place points: centers are dense over
/// the vocabulary, so a distance costs one indexed read per term of the point.
pub(crate) struct Tree {
    /// Each vocabulary term's position in `idf` and in every center.
    position: HashMap<i64, usize>,
    idf: Vec<f64>,
    /// Per node: its center and the center's squared norm.
    centers: HashMap<i64, (Vec<f64>, f64)>,
}

impl Tree {
    pub(crate) fn new(model: TreeModel) -> Self {
        let position: HashMap<i64, usize> = model.idf.iter().enumerate().map(|(k, (t, _))| (*t, k)).collect();
        let centers = model
            .centers
            .into_iter()
            .map(|(node, c)| {
                let norm2 = c.iter().map(|(_, v)| v * v).sum();
                let mut dense = vec![0.0; position.len()];
                // A term outside the vocabulary weighs 0 in every point: it adds nothing to a dot product.
                c.iter().filter_map(|(t, v)| position.get(t).map(|&k| (k, *v))).for_each(|(k, v)| dense[k] = v);
                (node, (dense, norm2))
            })
            .collect();
        Self { idf: model.idf.into_iter().map(|(_, w)| w).collect(), position, centers }
    }

    /// The leaf a point reaches from the root, always moving to the nearer
    /// child (the left one on a tie), as Spark's `predict` does.
    pub(crate) fn leaf(&self, tf: &[(i64, i64)]) -> i64 {
        let x: Vec<(usize, f64)> = tf.iter().filter_map(|&(t, n)| self.position.get(&t).map(|&k| (k, n as f64 * self.idf[k]))).collect();
        let x_norm2: f64 = x.iter().map(|(_, v)| v * v).sum();
        let distance = |(center, norm2): &(Vec<f64>, f64)| {
            let dot: f64 = x.iter().map(|&(k, v)| v * center[k]).sum();
            x_norm2 - 2.0 * dot + norm2
        };
        let mut node = 1;
        loop {
            node = match (self.centers.get(&(2 * node)), self.centers.get(&(2 * node + 1))) {
                (Some(l), Some(r)) if distance(r) < distance(l) => 2 * node + 1,
                (Some(_), _) => 2 * node,
                (None, Some(_)) => 2 * node + 1,
                (None, None) => return node,
            };
        }
    }
}

/// A point's `(term, frequency)` pairs, sorted by term.
pub fn term_frequencies(terms: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut terms: Vec<i64> = terms.into_iter().collect();
    let mut out = Vec::new();
    run_lengths(&mut terms, &mut out);
    out
}

/// `terms` sorted and counted into `(term, frequency)` pairs.
pub(crate) fn run_lengths(terms: &mut [i64], out: &mut Vec<(i64, i64)>) {
    terms.sort_unstable();
    out.clear();
    for &t in terms.iter() {
        match out.last_mut() {
            Some((last, n)) if *last == t => *n += 1,
            _ => out.push((t, 1)),
        }
    }
}

/// The `(term, frequency)` pairs of row `i` of `lists` (NULL items skipped)
/// into `out`, through `scratch`: reused across rows, so a row allocates nothing.
pub(crate) fn row_frequencies(lists: &ListArray, i: usize, scratch: &mut Vec<i64>, out: &mut Vec<(i64, i64)>) {
    let items = lists.values().as_primitive::<Int64Type>();
    let offsets = lists.value_offsets();
    scratch.clear();
    scratch.extend((offsets[i] as usize..offsets[i + 1] as usize).filter(|&k| items.is_valid(k)).map(|k| items.value(k)));
    run_lengths(scratch, out);
}

pub(crate) fn list_i64() -> DataType {
    list_of(DataType::Int64)
}

/// The terms of row `i` of a `List<Int64>` array (NULL items skipped).
pub(crate) fn row_terms(lists: &ListArray, i: usize) -> Vec<i64> {
    lists.value(i).as_primitive::<Int64Type>().iter().flatten().collect()
}

pub(crate) fn terms_argument(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) if f.data_type().is_integer() || f.data_type().is_null() => Ok(list_i64()),
        DataType::Null => Ok(list_i64()),
        other => plan_err!("{name}: terms must be a list of integers, got {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(json: &str) -> Tree {
        Tree::new(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn walks_to_the_nearer_child_weighting_by_idf() {
        // Root's children: 2 at (2, 0), 3 at (0, 2) over terms 7 and 9; node 2 has children 4 and 5.
        let tree = model(
            r#"{"idf": [[7, 1.0], [9, 1.0]],
                "centers": [[2, [[7, 2.0]]], [3, [[9, 2.0]]], [4, [[7, 1.0]]], [5, [[7, 3.0]]]]}"#,
        );
        assert_eq!(tree.leaf(&term_frequencies([7, 7, 7])), 5);
        assert_eq!(tree.leaf(&term_frequencies([7])), 4);
        assert_eq!(tree.leaf(&[(9, 1)]), 3);
        // Equidistant from 2 and 3: the left child.
        assert_eq!(tree.leaf(&[(7, 1), (9, 1)]), 4);
        // With term 9 weighing 3 (idf) the same point is nearer 3.
        let tree = model(r#"{"idf": [[7, 1.0], [9, 3.0]], "centers": [[2, [[7, 2.0]]], [3, [[9, 2.0]]]]}"#);
        assert_eq!(tree.leaf(&[(7, 1), (9, 1)]), 3);
        // No children: the root.
        assert_eq!(model(r#"{"idf": [], "centers": []}"#).leaf(&[(1, 1)]), 1);
    }
}
