//! `nearest_centroid`: the inverted list of a vector in an IVF index.

use std::sync::Arc;

use datafusion::arrow::array::Int64Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::common::{DataFusionError, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::centroids::Centroids;
use crate::util::{constant_string, flat_vectors};

#[user_doc(
    doc_section(label = "Vector Functions"),
    description = "The index (from 0) of the centroid nearest a vector by euclidean distance, the lower \
        index on a tie: the inverted list the vector belongs to in an IVF index. NULL for a NULL vector; \
        a vector of another dimension than the centroids is an error.",
    syntax_example = "nearest_centroid(vector, centroids_json)",
    sql_example = "SELECT nearest_centroid([9.0, 1.0], '{\"dim\": 2, \"values\": [0, 0, 10, 0]}'); -- 1",
    argument(name = "vector", description = "A list of numbers."),
    argument(name = "centroids_json", description = "Constant JSON: {\"dim\": D, \"values\": [the centroids, row after row]}.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NearestCentroid {
    signature: Signature,
}

impl NearestCentroid {
    pub fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl Default for NearestCentroid {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for NearestCentroid {
    fn name(&self) -> &str {
        "nearest_centroid"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [vectors, centroids] = take_function_args(self.name(), &args.args)?;
        let centroids: Centroids = serde_json::from_str(constant_string(self.name(), "centroids", centroids)?)
            .map_err(|e| DataFusionError::Execution(format!("nearest_centroid: the centroids are not valid: {e}")))?;
        if centroids.is_empty() {
            return exec_err!("nearest_centroid: no centroid");
        }
        // Every non-NULL vector in one flat matrix, searched at once.
        let (points, valid) = flat_vectors(self.name(), "the centroids", vectors, rows, centroids.dim)?;
        let mut nearest = centroids.nearest(&points, 1).into_iter();
        let out: Int64Array = valid.iter().map(|&v| if v { nearest.next().map(|c| c as i64) } else { None }).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
