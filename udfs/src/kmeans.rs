//! Bisecting k-means over hashed term frequencies (TAAR similarity's
//! clustering), split so that the per-client work runs on the executors:
//! `bisecting_kmeans_leaf` walks a client down the driver's tree of centers,
//! `term_moments` sums the clients of each node exactly. A client is its
//! list of term indices (a term listed twice has frequency 2); its vector is
//! tf × idf per term, as Spark's HashingTF + IDF build it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Builder, ListArray, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, DocSection, Documentation, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde::{Deserialize, Serialize};

use crate::util::{columnar_result, list_of};

const SECTION: DocSection = DocSection { include: true, label: "Clustering Functions", description: None };

pub fn bisecting_kmeans_leaf_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(BisectingKmeansLeaf::new()))
}

pub fn term_moments_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(TermMoments::new()))
}

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
struct Tree {
    /// Each vocabulary term's position in `idf` and in every center.
    position: HashMap<i64, usize>,
    idf: Vec<f64>,
    /// Per node: its center and the center's squared norm.
    centers: HashMap<i64, (Vec<f64>, f64)>,
}

impl Tree {
    fn new(model: TreeModel) -> Self {
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
    fn leaf(&self, tf: &[(i64, i64)]) -> i64 {
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
fn run_lengths(terms: &mut [i64], out: &mut Vec<(i64, i64)>) {
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
fn row_frequencies(lists: &ListArray, i: usize, scratch: &mut Vec<i64>, out: &mut Vec<(i64, i64)>) {
    let items = lists.values().as_primitive::<Int64Type>();
    let offsets = lists.value_offsets();
    scratch.clear();
    scratch.extend((offsets[i] as usize..offsets[i + 1] as usize).filter(|&k| items.is_valid(k)).map(|k| items.value(k)));
    run_lengths(scratch, out);
}

fn list_i64() -> DataType {
    list_of(DataType::Int64)
}

/// The terms of row `i` of a `List<Int64>` array (NULL items skipped).
fn row_terms(lists: &ListArray, i: usize) -> Vec<i64> {
    lists.value(i).as_primitive::<Int64Type>().iter().flatten().collect()
}

fn terms_argument(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) if f.data_type().is_integer() || f.data_type().is_null() => Ok(list_i64()),
        DataType::Null => Ok(list_i64()),
        other => plan_err!("{name}: terms must be a list of integers, got {other}"),
    }
}

static LEAF_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "The leaf of a bisecting k-means tree a point falls in: starting at the root (node 1), \
         move to the nearer child (nodes 2n and 2n + 1; the left one on a tie) while the node has \
         children. The point is tf × idf of its terms, distances are Euclidean. NULL for a NULL \
         list. The model is JSON written by the driver: \
         {\"idf\": [[term, idf], ...], \"centers\": [[node, [[term, value], ...]], ...]}.",
        "bisecting_kmeans_leaf(terms, model)",
    )
    .with_sql_example(
        "SELECT bisecting_kmeans_leaf([7, 7, 9], \
         '{\"idf\": [[7, 1.0], [9, 1.0]], \"centers\": [[2, [[7, 2.0]]], [3, [[9, 2.0]]]]}'); -- 2",
    )
    .with_argument("terms", "List of integer term indices; a term listed n times has frequency n.")
    .with_argument("model", "The tree as a constant JSON string.")
    .build()
});

/// `bisecting_kmeans_leaf(terms, model)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BisectingKmeansLeaf {
    signature: Signature,
}

impl Default for BisectingKmeansLeaf {
    fn default() -> Self {
        Self::new()
    }
}

impl BisectingKmeansLeaf {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for BisectingKmeansLeaf {
    fn name(&self) -> &str {
        "bisecting_kmeans_leaf"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            // Null: a `$model` placeholder, typed only once its value is bound.
            [terms, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null] => Ok(vec![terms_argument(self.name(), terms)?, DataType::Utf8]),
            other => plan_err!("bisecting_kmeans_leaf takes (list of integer terms, JSON model string), got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let model = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(m))) => m,
            _ => return exec_err!("bisecting_kmeans_leaf: the model must be a constant, non-NULL string"),
        };
        let tree = match serde_json::from_str::<TreeModel>(model) {
            Ok(m) => Tree::new(m),
            Err(e) => return exec_err!("bisecting_kmeans_leaf: bad model JSON: {e}"),
        };
        let terms = args.args[0].to_array(args.number_rows)?;
        let lists = terms.as_list::<i32>();
        let mut out = Int64Builder::with_capacity(lists.len());
        let (mut scratch, mut tf) = (Vec::new(), Vec::new());
        for i in 0..lists.len() {
            if lists.is_null(i) {
                out.append_null();
            } else {
                row_frequencies(lists, i, &mut scratch, &mut tf);
                out.append_value(tree.leaf(&tf));
            }
        }
        columnar_result(&args.args, Arc::new(out.finish()) as ArrayRef)
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&LEAF_DOC)
    }
}

static MOMENTS_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "Exact per-term sums of term frequencies over a group of term lists (a term listed n times \
         in a row has frequency n there): a struct of `rows` (non-NULL lists), and, sorted by \
         `term`, the lists `docs` (rows containing the term), `tf_sum` and `tf_sq_sum`. Integer \
         sums, so the result does not depend on row order; enough for cluster sizes, centers \
         (idf × tf_sum / rows), costs and document frequencies.",
        "term_moments(terms)",
    )
    .with_sql_example(
        "SELECT term_moments(t) FROM (VALUES ([7, 7, 9]), ([9])) v(t); \
         -- {rows: 2, term: [7, 9], docs: [1, 2], tf_sum: [2, 2], tf_sq_sum: [4, 2]}",
    )
    .with_argument("terms", "List of integer term indices.")
    .build()
});

const MOMENT_FIELDS: [&str; 4] = ["term", "docs", "tf_sum", "tf_sq_sum"];

fn moments_fields() -> Fields {
    let mut fields = vec![Field::new("rows", DataType::Int64, false)];
    fields.extend(MOMENT_FIELDS.iter().map(|n| Field::new(*n, list_i64(), false)));
    Fields::from(fields)
}

/// `term_moments(terms)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TermMoments {
    signature: Signature,
}

impl Default for TermMoments {
    fn default() -> Self {
        Self::new()
    }
}

impl TermMoments {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl AggregateUDFImpl for TermMoments {
    fn name(&self) -> &str {
        "term_moments"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [terms] => Ok(vec![terms_argument(self.name(), terms)?]),
            other => plan_err!("term_moments takes one list of integer terms, got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(moments_fields()))
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<MomentsAccumulator>::default())
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format!("{}[moments]", args.name), DataType::Struct(moments_fields()), true))])
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&MOMENTS_DOC)
    }
}

/// Per term: rows containing it, Σ tf and Σ tf².
#[derive(Debug, Default)]
struct MomentsAccumulator {
    rows: i64,
    terms: BTreeMap<i64, [i64; 3]>,
}

impl MomentsAccumulator {
    fn add(&mut self, term: i64, moments: [i64; 3]) {
        let m = self.terms.entry(term).or_default();
        m.iter_mut().zip(moments).for_each(|(a, b)| *a += b);
    }

    fn value(&self) -> Result<ScalarValue> {
        let list = |f: &dyn Fn(&i64, &[i64; 3]) -> i64| {
            ScalarValue::List(ScalarValue::new_list_nullable(
                &self.terms.iter().map(|(t, m)| ScalarValue::Int64(Some(f(t, m)))).collect::<Vec<_>>(),
                &DataType::Int64,
            ))
        };
        let values = [
            ScalarValue::Int64(Some(self.rows)),
            list(&|t, _| *t),
            list(&|_, m| m[0]),
            list(&|_, m| m[1]),
            list(&|_, m| m[2]),
        ];
        let arrays = values.iter().map(|v| v.to_array()).collect::<Result<Vec<_>>>()?;
        Ok(ScalarValue::Struct(Arc::new(StructArray::try_new(moments_fields(), arrays, None)?)))
    }
}

impl Accumulator for MomentsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let lists = cast(&values[0], &list_i64())?;
        let lists = lists.as_list::<i32>();
        let (mut scratch, mut tf) = (Vec::new(), Vec::new());
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                self.rows += 1;
                row_frequencies(lists, i, &mut scratch, &mut tf);
                for &(t, n) in &tf {
                    self.add(t, [1, n, n * n]);
                }
            }
        }
        Ok(())
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let s = states[0].as_struct();
        let rows = s.column(0).as_primitive::<Int64Type>();
        let lists: Vec<&ListArray> = (1..5).map(|c| s.column(c).as_list::<i32>()).collect();
        for i in 0..s.len() {
            if s.is_null(i) {
                continue;
            }
            self.rows += rows.value(i);
            let [terms, docs, sums, squares] = [0, 1, 2, 3].map(|c| row_terms(lists[c], i));
            for (k, t) in terms.into_iter().enumerate() {
                self.add(t, [docs[k], sums[k], squares[k]]);
            }
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value()?])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.value()
    }
    fn size(&self) -> usize {
        size_of_val(self) + self.terms.len() * 48
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    use super::*;

    async fn run(sql: &str) -> Result<String> {
        let ctx = SessionContext::new();
        ctx.register_udf((*bisecting_kmeans_leaf_udf()).clone());
        ctx.register_udaf((*term_moments_udaf()).clone());
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(pretty_format_batches(&batches)?.to_string())
    }

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

    #[tokio::test]
    async fn leaf_in_sql_and_its_errors() {
        let m = r#"'{"idf": [[7, 1.0], [9, 1.0]], "centers": [[2, [[7, 2.0]]], [3, [[9, 2.0]]]]}'"#;
        let out = run(&format!(
            "SELECT bisecting_kmeans_leaf(t, {m}) AS leaf FROM (VALUES ([7, 7]), ([9, 9, 7]), (CAST(NULL AS INT[]))) v(t)"
        ))
        .await
        .unwrap();
        assert_eq!(out.lines().skip(3).take(3).collect::<Vec<_>>(), ["| 2    |", "| 3    |", "|      |"]);
        let e = run("SELECT bisecting_kmeans_leaf([1], 'nope')").await.unwrap_err();
        assert!(e.to_string().contains("bisecting_kmeans_leaf: bad model JSON"), "{e}");
        let e = run("SELECT bisecting_kmeans_leaf([1], m) FROM (VALUES ('{}'), ('{}')) v(m)").await.unwrap_err();
        assert!(e.to_string().contains("the model must be a constant"), "{e}");
        let e = run("SELECT bisecting_kmeans_leaf(['a'], '{}')").await.unwrap_err();
        assert!(e.to_string().contains("terms must be a list of integers"), "{e}");
    }

    #[tokio::test]
    async fn moments_are_exact_per_group_in_any_order() {
        let out = run(
            "SELECT g, term_moments(t) AS m FROM (VALUES \
             (1, [7, 7, 9]), (1, [9]), (1, NULL), (2, [3]), (2, [3, 3, 3])) v(g, t) GROUP BY g ORDER BY g",
        )
        .await
        .unwrap();
        let rows: Vec<_> = out.lines().skip(3).take(2).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        assert_eq!(
            rows,
            [
                "| 1 | {rows: 2, term: [7, 9], docs: [1, 2], tf_sum: [2, 2], tf_sq_sum: [4, 2]} |",
                "| 2 | {rows: 2, term: [3], docs: [2], tf_sum: [4], tf_sq_sum: [10]} |",
            ]
        );
        // Split over partitions (merged states): the same sums.
        let ctx_out = run(
            "SELECT term_moments(t) AS m FROM (SELECT * FROM (VALUES ([7, 7, 9]), ([9])) a(t) UNION ALL \
             SELECT * FROM (VALUES (CAST([9] AS BIGINT[]))) b(t))",
        )
        .await
        .unwrap();
        assert!(ctx_out.contains("{rows: 3, term: [7, 9], docs: [1, 3], tf_sum: [2, 3], tf_sq_sum: [4, 3]}"), "{ctx_out}");
    }
}
