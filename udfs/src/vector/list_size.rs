//! `list_size`: the number of items of each list, read off the offsets.
//! DataFusion 55's `cardinality` and `array_length` slice every row into an
//! array of its own first: for the 5M add-on lists of `clients_daily` at
//! scale 5 that cost 3 s of CPU per call, where the offsets take milliseconds.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, OffsetSizeTrait};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

#[user_doc(
    doc_section(label = "Vector Functions"),
    description = "The number of items of a list, as a BIGINT: its outer length, NULL items counted, \
        nested lists not descended into (the built-in `cardinality` counts the items of nested lists). \
        NULL for a NULL list. Computed from the list's offsets, so it costs nothing per item; \
        `cardinality` and `array_length` slice every row.",
    syntax_example = "list_size(list)",
    sql_example = "SELECT list_size([1, NULL, 3]), list_size([[1, 2], [3]]); -- 3, 2",
    argument(name = "list", description = "A list or large list of any item type.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ListSize {
    signature: Signature,
}

impl ListSize {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for ListSize {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ListSize {
    fn name(&self) -> &str {
        "list_size"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            [t @ (DataType::List(_) | DataType::LargeList(_) | DataType::Null)] => Ok(vec![t.clone()]),
            [other] => plan_err!("list_size takes a list, got {other}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(list_size_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn list_size_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [lists] = take_function_args("list_size", args)?;
    let sizes = match lists.data_type() {
        DataType::List(_) => sizes(lists.as_list::<i32>().offsets(), lists.nulls()),
        DataType::LargeList(_) => sizes(lists.as_list::<i64>().offsets(), lists.nulls()),
        DataType::Null => Int64Array::new_null(lists.len()),
        other => return exec_err!("list_size takes a list, got {other}"),
    };
    Ok(Arc::new(sizes))
}

fn sizes<O: OffsetSizeTrait>(offsets: &[O], nulls: Option<&NullBuffer>) -> Int64Array {
    let values: Vec<i64> = offsets.windows(2).map(|w| (w[1] - w[0]).as_usize() as i64).collect();
    Int64Array::new(values.into(), nulls.cloned())
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::prelude::SessionContext;

    async fn sizes(sql: &str) -> datafusion::error::Result<Vec<Option<i64>>> {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::vector::list_size()).clone());
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(batches.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().iter().collect::<Vec<_>>()).collect())
    }

    #[tokio::test]
    async fn counts_the_outer_items_of_each_row() {
        let rows = "SELECT list_size(l) FROM (VALUES ([1, NULL, 3]), (NULL), (make_array()), ([4])) t(l)";
        assert_eq!(sizes(rows).await.unwrap(), [Some(3), None, Some(0), Some(1)]);
        let large = "SELECT list_size(arrow_cast([1, 2], 'LargeList(Int64)'))";
        assert_eq!(sizes(large).await.unwrap(), [Some(2)]);
        // Lists of lists and of structs: the outer length, where cardinality would say 3.
        let nested = "SELECT list_size([[1, 2], [3]]) UNION ALL SELECT list_size([named_struct('a', 1), named_struct('a', 2)])";
        let mut got = sizes(nested).await.unwrap();
        got.sort();
        assert_eq!(got, [Some(2), Some(2)]);
    }

    #[tokio::test]
    async fn rejects_what_is_not_a_list() {
        let err = sizes("SELECT list_size(3)").await.unwrap_err().to_string();
        assert!(err.contains("list_size takes a list, got Int64"), "{err}");
    }
}
