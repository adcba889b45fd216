//! `bisecting_kmeans_leaf`: the leaf of the driver's k-means tree a client falls in.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Builder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::{Tree, TreeModel, row_frequencies, terms_argument};

#[user_doc(
    doc_section(label = "Clustering Functions"),
    description = "The leaf of a bisecting k-means tree a point falls in: starting at the root (node 1), \
        move to the nearer child (nodes 2n and 2n + 1; the left one on a tie) while the node has \
        children. The point is tf × idf of its terms, distances are Euclidean. NULL for a NULL \
        list. The model is JSON written by the driver: \
        {\"idf\": [[term, idf], ...], \"centers\": [[node, [[term, value], ...]], ...]}.",
    syntax_example = "bisecting_kmeans_leaf(terms, model)",
    sql_example = "SELECT bisecting_kmeans_leaf([7, 7, 9], '{\"idf\": [[7, 1.0], [9, 1.0]], \"centers\": [[2, [[7, 2.0]]], [3, [[9, 2.0]]]]}'); -- 2",
    argument(name = "terms", description = "List of integer term indices; a term listed n times has frequency n."),
    argument(name = "model", description = "The tree as a constant JSON string.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BisectingKmeansLeaf {
    signature: Signature,
}

impl BisectingKmeansLeaf {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for BisectingKmeansLeaf {
    fn default() -> Self {
        Self::new()
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
        match take_function_args(self.name(), arg_types)? {
            // Null: a `$model` placeholder, typed only once its value is bound.
            [terms, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null] => Ok(vec![terms_argument(self.name(), terms)?, DataType::Utf8]),
            other => plan_err!("bisecting_kmeans_leaf takes (list of integer terms, JSON model string), got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [terms, model] = take_function_args(self.name(), &args.args)?;
        // The model is parsed once per batch, so it must be one value for all rows.
        let model = match model {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(m))) => m,
            _ => return exec_err!("bisecting_kmeans_leaf: the model must be a constant, non-NULL string"),
        };
        let tree = match serde_json::from_str::<TreeModel>(model) {
            Ok(m) => Tree::new(m),
            Err(e) => return exec_err!("bisecting_kmeans_leaf: bad model JSON: {e}"),
        };
        let terms_scalar = matches!(terms, ColumnarValue::Scalar(_));
        let terms = terms.to_array(args.number_rows)?;
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
        let out: ArrayRef = Arc::new(out.finish());
        Ok(match terms_scalar {
            true => ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?),
            false => ColumnarValue::Array(out),
        })
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
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
}
