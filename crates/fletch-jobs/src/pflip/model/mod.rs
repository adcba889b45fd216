//! pflip's model on the driver, with scikit-learn 1.0.2's semantics where
//! its decisions show (spec A8, A9): the feature pipeline over binary
//! blocks, the L1 logistic regression, the ROC threshold.

pub mod blocks;
pub mod clip;
pub mod file;
pub mod frame;
pub mod kbins;
pub mod logistic;
pub mod pipeline;
pub mod roc;
pub mod select;
