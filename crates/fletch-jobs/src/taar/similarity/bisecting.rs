//! The driver's side of bisecting k-means, following Spark ML's
//! `BisectingKMeans` (maxIter 20, minDivisibleClusterSize 1): level by level,
//! every divisible leaf (the largest first, as many as clusters are still
//! needed) is split in two by k-means. Each k-means step is one SQL query
//! (`node_moments.sql`), on the executors or, for few clients on a cluster,
//! in a session on the driver ([`Steps`]); only the centers live here.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, Int64Array, ListArray, RecordBatch, StructArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use fletch_engine::batches::column;
use fletch_engine::catalog::{self, Unreadable};
use fletch_engine::params::Params;
use fletch_engine::script::Script;
use fletch_engine::session::{self, Mode};
use fletch_engine::{Error, Result};
use fletch_udfs::clustering::TreeModel;
use rand::Rng;
use rand::SeedableRng;

use super::STEPS;
use crate::framework::{Ran, RunContext, in_sql};

/// Spark's default `maxIter`.
const MAX_ITERATIONS: usize = 20;
/// Spark's limit: node ids must fit an i64.
const LEVEL_LIMIT: usize = 62;

/// The exact sums of one node's clients (`term_moments`).
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    pub rows: i64,
    /// `(term, docs, Σ tf, Σ tf²)`, sorted by term.
    pub terms: Vec<(i64, i64, i64, i64)>,
}

/// A finished clustering: the tree and its leaves in Spark's order (depth
/// first, left before right), which are clusters 0, 1, ...
#[derive(Clone, Debug)]
pub struct Clustering {
    pub model: TreeModel,
    pub leaves: Vec<i64>,
}

impl Clustering {
    /// Every client in the root, cluster 0 (what a dry run plans with).
    pub fn single() -> Self {
        Self { model: TreeModel::default(), leaves: vec![1] }
    }
}

type Center = Vec<(i64, f64)>;

/// IDF weights as Spark's `IDF(minDocFreq = 1)`: ln((m + 1) / (df + 1)).
pub fn idf(root: &Moments) -> Vec<(i64, f64)> {
    let m = root.rows as f64;
    root.terms.iter().map(|&(t, docs, _, _)| (t, ((m + 1.0) / (docs as f64 + 1.0)).ln())).collect()
}

/// A node's center (mean of tf × idf) and cost (sum of squared distances to
/// it), from exact sums: a node of identical clients costs exactly 0.
fn center_and_cost(m: &Moments, idf: &BTreeMap<i64, f64>) -> (Center, f64) {
    let n = m.rows as f64;
    let mut center = Vec::new();
    let mut cost = 0.0;
    for &(t, _, sum, sq) in &m.terms {
        let w = idf.get(&t).copied().unwrap_or(0.0);
        let v = w * sum as f64 / n;
        if v != 0.0 {
            center.push((t, v));
        }
        let spread = (m.rows as i128 * sq as i128 - sum as i128 * sum as i128) as f64 / n;
        cost += w * w * spread;
    }
    (center, cost)
}

/// Spark's `splitCenter`: the center moved both ways along a uniform random
/// direction of length 1e-4 × its norm. Terms outside the center's support
/// are left out: every client of the node is 0 there, so they add the same
/// to both distances.
fn split(center: &Center, rng: &mut impl Rng) -> (Center, Center) {
    let level = 1e-4 * center.iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
    center
        .iter()
        .map(|&(t, v)| {
            let step = level * rng.random::<f64>();
            ((t, v - step), (t, v + step))
        })
        .unzip()
}

fn model(idf: &[(i64, f64)], tree: &BTreeMap<i64, Center>, trial: &BTreeMap<i64, Center>) -> TreeModel {
    TreeModel { idf: idf.to_vec(), centers: tree.iter().chain(trial).map(|(n, c)| (*n, c.clone())).collect() }
}

/// `model` as the `$model` argument of `bisecting_kmeans_leaf`.
pub fn model_param(model: &TreeModel) -> Result<ScalarValue> {
    let json = serde_json::to_string(model).map_err(|e| Error::io(format!("cannot encode the k-means model: {e}")))?;
    Ok(ScalarValue::Utf8(Some(json)))
}

/// On a cluster, clients up to this many are stepped on the driver.
const DRIVER_CLIENTS: u64 = 1_000_000;

/// Where the k-means steps run. Each step is a small aggregation over the
/// clients, and a Ballista job of three stages costs about 0.3 s of
/// scheduling however small it is (executors pull each stage's tasks on
/// their next poll); roughly 100 steps made the local cluster 2.6× slower
/// than embedded. So on a cluster, clients up to [`DRIVER_CLIENTS`] (a few
/// MB of terms) are read by an in-process session on the driver from the
/// staged table, and stepped there; more stay on the executors.
pub enum Steps {
    /// The run's session: embedded, or the executors for many clients.
    Session,
    /// An in-process session on the driver with the staged `clients` table.
    Driver(SessionContext),
}

impl Steps {
    /// Where to step `clients` (the result of the `clients` step).
    pub async fn choose(rc: &RunContext, clients: &Ran) -> Result<Self> {
        let (Mode::Cluster(_), Some(location), Some(rows)) = (&rc.opts.mode, &clients.location, clients.rows) else {
            return Ok(Self::Session);
        };
        if rows > DRIVER_CLIENTS {
            return Ok(Self::Session);
        }
        let driver = session::connect(&Mode::Embedded).await?;
        catalog::register_at(&driver, location.clone(), "clients", "clients", Unreadable::Fail).await?;
        Ok(Self::Driver(driver))
    }
}

/// Runs `node_moments.sql` with `model`: the moments of every leaf reached.
pub async fn node_moments(rc: &mut RunContext, steps: &Steps, model: &TreeModel) -> Result<BTreeMap<i64, Moments>> {
    let mut params = Params::default();
    params.set("model", model_param(model)?);
    let step = &STEPS.node_moments;
    let batches = match steps {
        Steps::Session => rc.run_quietly(step, &params).await?.batches,
        Steps::Driver(driver) => {
            let df = Script::parse(step.file, step.sql)?.run_to_last(driver, &params).await.map_err(|e| in_sql(step.file, e))?;
            df.collect().await.map_err(|e| in_sql(step.file, e.into()))?
        }
    };
    let mut moments = BTreeMap::new();
    for b in &batches {
        moments.extend(read_moments(b)?);
    }
    Ok(moments)
}

fn read_moments(b: &RecordBatch) -> Result<Vec<(i64, Moments)>> {
    let nodes = column::<Int64Array>(b, "node")?;
    let s = column::<StructArray>(b, "moments")?;
    let field = |name: &str| s.column_by_name(name).ok_or_else(|| Error::input(format!("node_moments: no moments field `{name}`")));
    let list = |name: &str| -> Result<&ListArray> { Ok(field(name)?.as_list::<i32>()) };
    let rows = field("rows")?.as_primitive::<Int64Type>();
    let (terms, docs, sums, squares) = (list("term")?, list("docs")?, list("tf_sum")?, list("tf_sq_sum")?);
    let values = |l: &ListArray, i: usize| -> Vec<i64> { l.value(i).as_primitive::<Int64Type>().values().to_vec() };
    Ok((0..b.num_rows())
        .filter(|&i| nodes.is_valid(i))
        .map(|i| {
            let [t, d, s, q] = [terms, docs, sums, squares].map(|l| values(l, i));
            let terms = (0..t.len()).map(|k| (t[k], d[k], s[k], q[k])).collect();
            (nodes.value(i), Moments { rows: rows.value(i), terms })
        })
        .collect())
}

/// Bisecting k-means of the `clients` table into at most `k` clusters.
pub async fn cluster(rc: &mut RunContext, steps: &Steps, k: usize, seed: u64) -> Result<Clustering> {
    let progress = rc.progress.clone();
    let step = progress.step("summarise clients");
    let root = node_moments(rc, steps, &TreeModel::default()).await?.remove(&1).ok_or_else(|| Error::input("no client to cluster"))?;
    step.done_counting(root.terms.len() as u64, "distinct hashed add-ons");
    let idf_list = idf(&root);
    let idf: BTreeMap<i64, f64> = idf_list.iter().copied().collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xB15E_C7ED_0000_0000);

    let mut tree: BTreeMap<i64, Center> = BTreeMap::from([(1, center_and_cost(&root, &idf).0)]);
    let mut active: BTreeMap<i64, Moments> = BTreeMap::from([(1, root)]);
    let mut needed = k - 1;
    let mut level = 1;
    while !active.is_empty() && needed > 0 && level < LEVEL_LIMIT {
        let mut divisible: Vec<(i64, &Moments)> = active
            .iter()
            .filter(|(_, m)| center_and_cost(m, &idf).1 > f64::EPSILON * m.rows as f64)
            .map(|(n, m)| (*n, m))
            .collect();
        divisible.sort_by_key(|(n, m)| (-m.rows, *n));
        divisible.truncate(needed);
        if divisible.is_empty() {
            break;
        }
        divisible.sort_by_key(|(n, _)| *n);
        let parents: Vec<i64> = divisible.iter().map(|(n, _)| *n).collect();
        let step = progress.step(&format!("k-means level {level}: split {} of {} clusters", parents.len(), tree.len()));
        let mut trial = BTreeMap::new();
        for (node, m) in &divisible {
            let (left, right) = split(&center_and_cost(m, &idf).0, &mut rng);
            trial.insert(2 * node, left);
            trial.insert(2 * node + 1, right);
        }
        let mut children = BTreeMap::new();
        for _ in 0..MAX_ITERATIONS {
            children = node_moments(rc, steps, &model(&idf_list, &tree, &trial)).await?;
            children.retain(|node, _| parents.contains(&(node / 2)) && *node > 1);
            let next: BTreeMap<i64, Center> = children.iter().map(|(n, m)| (*n, center_and_cost(m, &idf).0)).collect();
            // Same centers, same assignment: the remaining steps would repeat this one.
            let converged = next == trial;
            trial = next;
            if converged {
                break;
            }
        }
        // A split that left one side empty is undone; that cluster stays whole.
        let mut split_count = 0;
        active = BTreeMap::new();
        for parent in &parents {
            if let (Some(l), Some(r)) = (children.remove(&(2 * parent)), children.remove(&(2 * parent + 1))) {
                tree.insert(2 * parent, trial[&(2 * parent)].clone());
                tree.insert(2 * parent + 1, trial[&(2 * parent + 1)].clone());
                active.insert(2 * parent, l);
                active.insert(2 * parent + 1, r);
                split_count += 1;
            }
        }
        step.done_counting(split_count as u64, "splits");
        needed -= split_count.min(needed);
        if split_count == 0 {
            break;
        }
        level += 1;
    }
    let leaves = leaves_in_order(&tree, 1);
    Ok(Clustering { model: TreeModel { idf: idf_list, centers: tree.into_iter().collect() }, leaves })
}

/// Depth first, left before right: Spark's numbering of the clusters.
fn leaves_in_order(tree: &BTreeMap<i64, Center>, node: i64) -> Vec<i64> {
    let children: Vec<i64> = [2 * node, 2 * node + 1].into_iter().filter(|c| tree.contains_key(c)).collect();
    if children.is_empty() {
        return vec![node];
    }
    children.into_iter().flat_map(|c| leaves_in_order(tree, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(rows: i64, terms: &[(i64, i64, i64, i64)]) -> Moments {
        Moments { rows, terms: terms.to_vec() }
    }

    #[test]
    fn idf_is_sparks_with_min_doc_freq_1() {
        // 3 documents: term 5 in all of them, term 9 in one.
        let idf = idf(&moments(3, &[(5, 3, 3, 3), (9, 1, 2, 4)]));
        assert_eq!(idf, [(5, 0.0), (9, (4.0f64 / 2.0).ln())]);
    }

    #[test]
    fn centers_and_costs_from_exact_sums() {
        let idf = BTreeMap::from([(1, 2.0), (2, 1.0)]);
        // Points (tf): (1, 0) and (3, 2) → vectors (2, 0) and (6, 2); center (4, 1); cost 4+1 + 4+1.
        let (center, cost) = center_and_cost(&moments(2, &[(1, 2, 4, 10), (2, 1, 2, 4)]), &idf);
        assert_eq!(center, [(1, 4.0), (2, 1.0)]);
        assert_eq!(cost, 10.0);
        // Identical points cost exactly nothing, so they are never split.
        assert_eq!(center_and_cost(&moments(3, &[(1, 3, 6, 12)]), &idf).1, 0.0);
    }

    #[test]
    fn splits_symmetrically_and_small() {
        let center = vec![(1, 3.0), (4, 4.0)];
        let (l, r) = split(&center, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
        for ((a, b), (t, v)) in l.iter().zip(&r).zip(&center) {
            assert_eq!((a.0, b.0), (*t, *t));
            assert!((v - a.1 - (b.1 - v)).abs() < 1e-12 && b.1 > a.1 && b.1 - v <= 5e-4, "{l:?} {r:?}");
        }
    }

    #[test]
    fn leaves_are_numbered_depth_first() {
        let tree: BTreeMap<i64, Center> = [1, 2, 3, 6, 7, 12, 13].into_iter().map(|n| (n, vec![])).collect();
        assert_eq!(leaves_in_order(&tree, 1), [2, 12, 13, 7]);
    }
}
