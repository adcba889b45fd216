//! `term_moments`: exact per-term sums of a group of term lists.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use super::{list_i64, row_frequencies, row_terms, terms_argument};

const MOMENT_FIELDS: [&str; 4] = ["term", "docs", "tf_sum", "tf_sq_sum"];

fn moments_fields() -> Fields {
    let mut fields = vec![Field::new("rows", DataType::Int64, false)];
    fields.extend(MOMENT_FIELDS.iter().map(|n| Field::new(*n, list_i64(), false)));
    Fields::from(fields)
}

#[user_doc(
    doc_section(label = "Clustering Functions"),
    description = "Exact per-term sums of term frequencies over a group of term lists (a term listed n times \
        in a row has frequency n there): a struct of `rows` (non-NULL lists), and, sorted by \
        `term`, the lists `docs` (rows containing the term), `tf_sum` and `tf_sq_sum`. Integer \
        sums, so the result does not depend on row order; enough for cluster sizes, centers \
        (idf × tf_sum / rows), costs and document frequencies.",
    syntax_example = "term_moments(terms)",
    sql_example = "SELECT term_moments(t) FROM (VALUES ([7, 7, 9]), ([9])) v(t); -- {rows: 2, term: [7, 9], docs: [1, 2], tf_sum: [2, 2], tf_sq_sum: [4, 2]}",
    argument(name = "terms", description = "List of integer term indices.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TermMoments {
    signature: Signature,
}

impl TermMoments {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for TermMoments {
    fn default() -> Self {
        Self::new()
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
        let [terms] = take_function_args(self.name(), arg_types)?;
        Ok(vec![terms_argument(self.name(), terms)?])
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
        self.doc()
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
        ctx.register_udf((*crate::clustering::bisecting_kmeans_leaf()).clone());
        ctx.register_udaf((*crate::clustering::term_moments()).clone());
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(pretty_format_batches(&batches)?.to_string())
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
