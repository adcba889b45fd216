//! `score_vector`: a score map as a dense vector over a keyword list
//! (Blue Marlin's score_vector_table).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float32Builder, ListBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::normalize_scores::map_parts;
use crate::util::list_of;

#[user_doc(
    doc_section(label = "Vector Functions"),
    description = "The scores of a map at the given keys, in their order, as a list of FLOAT: \
        0.0 where the map has no such key (or a NULL value). NULL for a NULL map. The keys are \
        usually one constant list, the keyword dimensions of every user's vector.",
    syntax_example = "score_vector(scores, keys)",
    sql_example = "SELECT score_vector(map(['b', 'a'], [2.0, 1.0]), ['a', 'b', 'c']); -- [1.0, 2.0, 0.0]",
    argument(name = "scores", description = "A map from string to a number."),
    argument(name = "keys", description = "A list of strings: the vector's dimensions.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ScoreVector {
    signature: Signature,
}

impl ScoreVector {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for ScoreVector {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ScoreVector {
    fn name(&self) -> &str {
        "score_vector"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            // A parameter ($keywords) has no type yet when the query is planned.
            [m @ DataType::Map(..), DataType::Null | DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)] => Ok(vec![m.clone(), list_of(DataType::Utf8)]),
            [m, k] => plan_err!("score_vector takes a map of scores and a list of keys, got {m} and {k}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Float32))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(score_vector_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn score_vector_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [maps, keys] = take_function_args("score_vector", args)?;
    let Some(maps) = maps.as_map_opt() else {
        return exec_err!("score_vector takes a map, got {}", maps.data_type());
    };
    let keys = cast(keys, &list_of(DataType::Utf8))?;
    let keys = keys.as_list::<i32>();
    let (map_keys, map_values) = map_parts(maps)?;
    let (map_keys, map_values) = (map_keys.as_string::<i32>(), map_values.as_primitive::<Float32Type>());
    let offsets = maps.value_offsets();
    let mut out = ListBuilder::new(Float32Builder::new());
    let mut at: HashMap<&str, f32> = HashMap::new();
    for row in 0..maps.len() {
        if maps.is_null(row) || keys.is_null(row) {
            out.append(false);
            continue;
        }
        at.clear();
        for i in offsets[row] as usize..offsets[row + 1] as usize {
            if map_values.is_valid(i) {
                at.insert(map_keys.value(i), map_values.value(i));
            }
        }
        let dims = keys.value(row);
        for key in dims.as_string::<i32>().iter() {
            out.values().append_value(key.and_then(|k| at.get(k).copied()).unwrap_or(0.0));
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Float32Type;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn missing_keys_are_zero() {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::vector::score_vector()).clone());
        let sql = "SELECT score_vector(m, ['a', 'b', 'c']) AS v FROM (VALUES \
            (1, map(['c', 'a'], [arrow_cast(2.5, 'Float32'), arrow_cast(1.0, 'Float32')])), (2, NULL)) t(k, m) ORDER BY k";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let v = batches[0].column(0).as_list::<i32>();
        let first: Vec<Option<f32>> = v.value(0).as_primitive::<Float32Type>().iter().collect();
        assert_eq!(first, [Some(1.0), Some(0.0), Some(2.5)]);
        assert!(v.is_null(1));
    }
}
