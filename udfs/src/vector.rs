//! Vector aggregates over dense numeric lists.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, DocSection, Documentation, Signature,
    Volatility,
};

use crate::util::{f64_list_scalar, list_f64};

pub fn vector_sum_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(VectorSum::new()))
}

/// `vector_sum(v)`: element-wise sum of equal-length numeric lists.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VectorSum {
    signature: Signature,
}

impl Default for VectorSum {
    fn default() -> Self {
        Self::new()
    }
}

impl VectorSum {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

static VECTOR_SUM_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DocSection { include: true, label: "Vector Functions", description: None },
        "Element-wise sum of numeric lists of one length, as a list of doubles. NULL lists \
         are skipped and NULL elements count as 0; lists of different lengths are an error. \
         NULL when the group has no non-NULL list.",
        "vector_sum(v)",
    )
    .with_sql_example("SELECT vector_sum(v) FROM (VALUES ([1.0, 2.0]), ([3.0, 4.0])) t(v); -- [4.0, 6.0]")
    .with_argument("v", "A list of numbers (List, LargeList or FixedSizeList of any numeric type).")
    .build()
});

impl AggregateUDFImpl for VectorSum {
    fn name(&self) -> &str {
        "vector_sum"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)]
                if f.data_type().is_numeric() || f.data_type().is_null() =>
            {
                Ok(vec![list_f64()])
            }
            [DataType::Null] => Ok(vec![list_f64()]),
            other => plan_err!("vector_sum expects one list of numbers, got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_f64())
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<VectorSumAccumulator>::default())
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format!("{}[sum]", args.name), list_f64(), true))])
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&VECTOR_SUM_DOC)
    }
}

#[derive(Debug, Default)]
struct VectorSumAccumulator {
    sum: Option<Vec<f64>>,
}

impl VectorSumAccumulator {
    fn add_lists(&mut self, lists: &ArrayRef) -> Result<()> {
        let lists = cast(lists, &list_f64())?;
        let lists = lists.as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_null(i) {
                continue;
            }
            let row = lists.value(i);
            let row: &Float64Array = row.as_primitive::<Float64Type>();
            let sum = self.sum.get_or_insert_with(|| vec![0.0; row.len()]);
            if sum.len() != row.len() {
                return exec_err!(
                    "vector_sum: lists of different lengths in one group ({} and {})",
                    sum.len(),
                    row.len()
                );
            }
            for (s, v) in sum.iter_mut().zip(row.iter()) {
                *s += v.unwrap_or(0.0);
            }
        }
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        f64_list_scalar(self.sum.as_ref().map(|s| s.iter().copied()))
    }
}

impl Accumulator for VectorSumAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add_lists(&values[0])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.add_lists(&states[0])
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value()])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value())
    }
    fn size(&self) -> usize {
        size_of_val(self) + self.sum.as_ref().map_or(0, |s| s.capacity() * 8)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    async fn run(sql: &str) -> datafusion::error::Result<String> {
        let ctx = SessionContext::new();
        ctx.register_udaf((*super::vector_sum_udaf()).clone());
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(pretty_format_batches(&batches)?.to_string())
    }

    #[tokio::test]
    async fn sums_element_wise_per_group() {
        let out = run(
            "SELECT g, vector_sum(v) AS s FROM (VALUES \
             (1, [1, 2]), (1, [10, 20]), (1, NULL), (2, [0.5, NULL]), (3, NULL)) t(g, v) \
             GROUP BY g ORDER BY g",
        )
        .await
        .unwrap();
        let rows: Vec<_> = out.lines().skip(3).take(3).collect();
        assert_eq!(rows, ["| 1 | [11.0, 22.0] |", "| 2 | [0.5, 0.0]   |", "| 3 |              |"]);
    }

    #[tokio::test]
    async fn different_lengths_are_an_error() {
        let e = run("SELECT vector_sum(v) FROM (VALUES ([1.0, 2.0]), ([1.0])) t(v)").await.unwrap_err();
        assert!(e.to_string().contains("vector_sum: lists of different lengths in one group (2 and 1)"), "{e}");
        let e = run("SELECT vector_sum(v) FROM (VALUES ('a')) t(v)").await.unwrap_err();
        assert!(e.to_string().contains("vector_sum expects one list of numbers"), "{e}");
    }
}
