//! Densities estimated where the samples are.

mod gaussian_kde;

pub use gaussian_kde::{GaussianKde, grid};

aggregate_udf!(gaussian_kde, GaussianKde::new());
