//! The model file `pflip-train` writes and `pflip-predict` reads: the fitted
//! pipeline, the non-zero weights with their columns' names, the intercept,
//! the threshold, and how the model did on its training and validation rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::pipeline::{Frame, Pipeline};

/// What the file says it is; a reader refuses any other.
pub const FORMAT: &str = "fletch pflip model 1";

#[derive(Debug, Serialize, Deserialize)]
pub struct ModelFile {
    pub format: String,
    pub model: String,
    pub fletch: String,
    pub parameters: Parameters,
    pub pipeline: Pipeline,
    /// The transformed matrix's width.
    pub columns: u64,
    /// The non-zero weights, by column.
    pub weights: BTreeMap<u64, f64>,
    /// What each weighed column is (a token, a bin's range, their products).
    pub features: BTreeMap<u64, String>,
    pub intercept: f64,
    /// The regularised objective at the weights (liblinear's).
    pub objective: f64,
    /// A row flips when its score is strictly above this.
    pub threshold: f64,
    pub training: Rates,
    pub validation: Rates,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Parameters {
    #[serde(rename = "C")]
    pub c: f64,
    pub tol: f64,
    pub max_iter: usize,
    pub train_size: f64,
    pub crh_fp_rate: f64,
    pub seed: u64,
}

/// Rates at the threshold, on some rows.
#[derive(Debug, Serialize, Deserialize)]
pub struct Rates {
    pub rows: usize,
    pub tpr: f64,
    pub fpr: f64,
    pub auc: f64,
}

impl ModelFile {
    /// `decision_function`: each row's score, `wᵀx + b` of its transformed columns.
    pub fn scores(&self, raw: &Frame) -> Result<Vec<f64>, String> {
        let matrix = self.pipeline.transform(raw)?;
        if matrix.width != self.columns {
            return Err(format!("the pipeline gives {} columns, the weights are for {}", matrix.width, self.columns));
        }
        Ok(matrix.rows.iter().map(|r| self.intercept + r.iter().filter_map(|j| self.weights.get(j)).sum::<f64>()).collect())
    }
}
