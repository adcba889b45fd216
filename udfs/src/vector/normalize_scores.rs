//! `normalize_scores`: a score map divided by its L2 norm (score_generator's `kws_norm`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, MapArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::lookalike::{score_map_builder, score_map_type};

#[user_doc(
    doc_section(label = "Vector Functions"),
    description = "A map of scores with every value divided by the L2 norm of all its values \
        (sqrt of the sum of squares, in double precision), as Blue Marlin's score generator \
        normalises `kws` into `kws_norm`. A map whose values are all 0 keeps its 0s (the original \
        divided by zero). Keys keep their order; NULL for a NULL map.",
    syntax_example = "normalize_scores(scores)",
    sql_example = "SELECT normalize_scores(map(['a', 'b'], [3.0, 4.0])); -- {a: 0.6, b: 0.8}",
    argument(name = "scores", description = "A map from string to a number.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NormalizeScores {
    signature: Signature,
}

impl NormalizeScores {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for NormalizeScores {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for NormalizeScores {
    fn name(&self) -> &str {
        "normalize_scores"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            [t @ DataType::Map(..)] => Ok(vec![t.clone()]),
            [other] => plan_err!("normalize_scores takes a map of scores, got {other}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(score_map_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(normalize_scores_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The keys and values (as f32) of a map array.
pub(crate) fn map_parts(maps: &MapArray) -> Result<(ArrayRef, ArrayRef)> {
    let keys = cast(maps.keys(), &DataType::Utf8)?;
    let values = cast(maps.values(), &DataType::Float32)?;
    Ok((keys, values))
}

fn normalize_scores_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [maps] = take_function_args("normalize_scores", args)?;
    let Some(maps) = maps.as_map_opt() else {
        return exec_err!("normalize_scores takes a map, got {}", maps.data_type());
    };
    let (keys, values) = map_parts(maps)?;
    let (keys, values) = (keys.as_string::<i32>(), values.as_primitive::<Float32Type>());
    let offsets = maps.value_offsets();
    let mut out = score_map_builder(maps.len());
    for row in 0..maps.len() {
        if maps.is_null(row) {
            out.append(false)?;
            continue;
        }
        let range = offsets[row] as usize..offsets[row + 1] as usize;
        let norm = range.clone().filter(|&i| values.is_valid(i)).map(|i| f64::from(values.value(i)).powi(2)).sum::<f64>().sqrt();
        for i in range {
            out.keys().append_value(keys.value(i));
            match values.is_valid(i) {
                true if norm > 0.0 => out.values().append_value((f64::from(values.value(i)) / norm) as f32),
                true => out.values().append_value(0.0),
                false => out.values().append_null(),
            }
        }
        out.append(true)?;
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Float32Type;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn divides_by_the_norm_and_keeps_zeros() {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::vector::normalize_scores()).clone());
        let sql = "SELECT n['a'] AS a, n['b'] AS b FROM (SELECT normalize_scores(m) AS n FROM (VALUES \
            (1, map(['a', 'b'], [arrow_cast(3.0, 'Float32'), arrow_cast(4.0, 'Float32')])), \
            (2, map(['a', 'b'], [arrow_cast(0.0, 'Float32'), arrow_cast(0.0, 'Float32')])), \
            (3, NULL)) v(k, m) ORDER BY k)";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let column = |c: usize| -> Vec<Option<f32>> { batches.iter().flat_map(|b| b.column(c).as_primitive::<Float32Type>().iter().collect::<Vec<_>>()).collect() };
        assert_eq!(column(0), [Some(0.6), Some(0.0), None]);
        assert_eq!(column(1), [Some(0.8), Some(0.0), None]);
    }
}
