//! `mean_top_similarity`: a user's mean similarity to its most similar seeds,
//! the legacy lookalike ranking (distance_table_list.py).

use std::sync::Arc;

use datafusion::arrow::array::Float64Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::common::{DataFusionError, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;
use serde::{Deserialize, Serialize};

use crate::util::{constant_string, flat_vectors};

/// How a user is compared with a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// `Σ seed[i]·user[i]` (the original over normalised scores).
    Dot,
    /// `1 − √Σ (seed[i] − user[i])² / √dim`.
    Euclidean,
}

/// The seeds' vectors and how users are ranked against them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedSimilarity {
    pub measure: Measure,
    /// Similarities averaged: the `top` largest.
    pub top: usize,
    /// The original's quirk: its top list started as `[0.0]`, and that zero
    /// stays among the largest (with fewer seeds than `top`, it is averaged in).
    pub initial_zero: bool,
    pub dim: usize,
    /// The seeds' vectors, one after another.
    pub values: Vec<f64>,
}

impl SeedSimilarity {
    /// The mean of the `top` largest similarities of `user` to the seeds
    /// (and the initial zero, with `initial_zero`); NaN without any seed.
    pub fn mean_top(&self, user: &[f64], kept: &mut Vec<f64>) -> f64 {
        kept.clear();
        if self.initial_zero {
            kept.push(0.0);
        }
        for seed in self.values.chunks_exact(self.dim.max(1)) {
            let similarity = match self.measure {
                Measure::Dot => seed.iter().zip(user).map(|(s, u)| s * u).sum(),
                Measure::Euclidean => 1.0 - seed.iter().zip(user).map(|(s, u)| (s - u) * (s - u)).sum::<f64>().sqrt() / (self.dim as f64).sqrt(),
            };
            keep_largest(kept, similarity, self.top);
        }
        kept.iter().sum::<f64>() / kept.len() as f64
    }
}

/// Adds `value` to `kept`, the `top` largest values so far, in no order.
fn keep_largest(kept: &mut Vec<f64>, value: f64, top: usize) {
    if kept.len() < top {
        kept.push(value);
    } else if let Some((at, smallest)) = kept.iter().copied().enumerate().min_by(|a, b| a.1.total_cmp(&b.1))
        && value > smallest
    {
        kept[at] = value;
    }
}

#[user_doc(
    doc_section(label = "Vector Functions"),
    description = "The mean of a vector's largest similarities to a set of seed vectors: the legacy \
        lookalike ranking of a user against a seed audience. The seeds, the measure (dot: the dot product; \
        euclidean: 1 − distance / √dim) and how many similarities are averaged are a constant JSON document. \
        With `initial_zero`, a similarity of 0.0 starts the list of the largest, as in the original. \
        NULL for a NULL vector; a vector of another dimension than the seeds is an error.",
    syntax_example = "mean_top_similarity(vector, seeds_json)",
    sql_example = "SELECT mean_top_similarity([1.0, 0.0], '{\"measure\": \"dot\", \"top\": 10, \"initial_zero\": false, \"dim\": 2, \"values\": [1, 0, 0.5, 0.5]}'); -- 0.75",
    argument(name = "vector", description = "A list of numbers."),
    argument(name = "seeds_json", description = "Constant JSON: {\"measure\": \"dot\" or \"euclidean\", \"top\": N, \"initial_zero\": bool, \"dim\": D, \"values\": [the seeds, one after another]}.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MeanTopSimilarity {
    signature: Signature,
}

impl MeanTopSimilarity {
    pub fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl Default for MeanTopSimilarity {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for MeanTopSimilarity {
    fn name(&self) -> &str {
        "mean_top_similarity"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [vectors, seeds] = take_function_args(self.name(), &args.args)?;
        let seeds: SeedSimilarity = serde_json::from_str(constant_string(self.name(), "seeds", seeds)?)
            .map_err(|e| DataFusionError::Execution(format!("mean_top_similarity: the seeds are not valid: {e}")))?;
        if seeds.top == 0 || seeds.dim == 0 || seeds.values.len() % seeds.dim != 0 {
            return exec_err!("mean_top_similarity: expected top ≥ 1 and {} values in whole vectors of dim {} ≥ 1", seeds.values.len(), seeds.dim);
        }
        let (users, valid) = flat_vectors(self.name(), "the seeds", vectors, rows, seeds.dim)?;
        let mut kept = Vec::with_capacity(seeds.top + 1);
        let mut scores = users.chunks_exact(seeds.dim).map(|user| seeds.mean_top(user, &mut kept));
        let out: Vec<Option<f64>> = valid.iter().map(|&v| if v { scores.next() } else { None }).collect();
        Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(measure: Measure, top: usize, initial_zero: bool, values: &[f64]) -> SeedSimilarity {
        SeedSimilarity { measure, top, initial_zero, dim: 2, values: values.to_vec() }
    }

    #[test]
    fn averages_the_largest_similarities() {
        let mut kept = Vec::new();
        // Dot products with [1, 2]: 1, 2, 3, 0.5; the top 2 are 3 and 2.
        let s = seeds(Measure::Dot, 2, false, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.0]);
        assert_eq!(s.mean_top(&[1.0, 2.0], &mut kept), 2.5);
        // Fewer seeds than top: the mean of all of them, or with the zero.
        let s = seeds(Measure::Dot, 10, false, &[1.0, 0.0, 0.0, 1.0]);
        assert_eq!(s.mean_top(&[1.0, 2.0], &mut kept), 1.5);
        let s = SeedSimilarity { initial_zero: true, ..s };
        assert_eq!(s.mean_top(&[1.0, 2.0], &mut kept), 1.0);
        // With as many seeds as top, a zero stays only if it is among the largest.
        let s = seeds(Measure::Dot, 2, true, &[1.0, 0.0, 0.0, 1.0]);
        assert_eq!(s.mean_top(&[1.0, 2.0], &mut kept), 1.5);
        let s = seeds(Measure::Dot, 2, true, &[-1.0, 0.0, 0.0, 1.0]);
        assert_eq!(s.mean_top(&[1.0, 2.0], &mut kept), 1.0);
    }

    #[test]
    fn euclidean_is_one_minus_distance_over_root_dim() {
        let mut kept = Vec::new();
        // Distance 2 over √2 dimensions: 1 − √2; the identical seed scores 1.
        let s = seeds(Measure::Euclidean, 10, false, &[1.0, 1.0, 1.0, 3.0]);
        assert_eq!(s.mean_top(&[1.0, 1.0], &mut kept), (1.0 + 1.0 - 2.0 / 2f64.sqrt()) / 2.0);
        let s = SeedSimilarity { initial_zero: true, ..s };
        assert_eq!(s.mean_top(&[1.0, 1.0], &mut kept), (1.0 + 1.0 - 2.0 / 2f64.sqrt()) / 3.0);
    }
}
