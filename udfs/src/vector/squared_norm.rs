//! `squared_norm`: a vector's dot product with itself (the `c1` of Blue
//! Marlin's score vectors): summed in double precision, stored as FLOAT.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float32Builder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type};
use datafusion::common::plan_err;
use datafusion::common::utils::take_function_args;
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::util::list_of;

#[user_doc(
    doc_section(label = "Vector Functions"),
    description = "The sum of the squares of a vector's items as a FLOAT, computed in double \
        precision from the FLOAT items and rounded once at the end (numpy's `float(dot(v, v))` \
        over a float32 vector, stored as float). NULL items count as 0; NULL for a NULL list.",
    syntax_example = "squared_norm(vector)",
    sql_example = "SELECT squared_norm([3.0, 4.0]); -- 25.0",
    argument(name = "vector", description = "A list of numbers.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SquaredNorm {
    signature: Signature,
}

impl SquaredNorm {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for SquaredNorm {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for SquaredNorm {
    fn name(&self) -> &str {
        "squared_norm"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            [DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)] => Ok(vec![list_of(DataType::Float32)]),
            [other] => plan_err!("squared_norm takes a list of numbers, got {other}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(squared_norm_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn squared_norm_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [vectors] = take_function_args("squared_norm", args)?;
    let vectors = cast(vectors, &list_of(DataType::Float32))?;
    let vectors = vectors.as_list::<i32>();
    let items = vectors.values().as_primitive::<Float32Type>();
    let offsets = vectors.value_offsets();
    let mut out = Float32Builder::with_capacity(vectors.len());
    for row in 0..vectors.len() {
        if vectors.is_null(row) {
            out.append_null();
            continue;
        }
        let range = offsets[row] as usize..offsets[row + 1] as usize;
        let sum: f64 = range.filter(|&i| items.is_valid(i)).map(|i| f64::from(items.value(i)).powi(2)).sum();
        out.append_value(sum as f32);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Float32Type;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn sums_in_double_precision() {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::vector::squared_norm()).clone());
        // Summed in f64 from the f32 items, rounded once.
        let sql = "SELECT squared_norm(v) AS n FROM (VALUES (1, [arrow_cast(0.1, 'Float32'), arrow_cast(0.1, 'Float32')]), (2, [3.0, 4.0]), (3, NULL)) t(k, v) ORDER BY k";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let got: Vec<Option<f32>> = batches.iter().flat_map(|b| b.column(0).as_primitive::<Float32Type>().iter().collect::<Vec<_>>()).collect();
        assert_eq!(got, [Some((2.0 * f64::from(0.1f32).powi(2)) as f32), Some(25.0), None]);
    }
}
