//! Ising-model image denoising (the blog's first analysis, after Murphy's
//! *Machine Learning: A Probabilistic Perspective* §21.3.2 and §24.2.2):
//! images cut into tiles with halos, each tile denoised where it lands, and
//! stitched back bit for bit as a whole-image run would be.

mod ising_changes;
mod ising_denoise;
mod ising_image;
mod ising_tiles;
pub mod model;
pub mod tile;

use datafusion::common::exec_err;
use datafusion::error::Result;
use datafusion::logical_expr::ColumnarValue;

pub use ising_changes::IsingChanges;
pub use ising_denoise::IsingDenoise;
pub use ising_image::{IsingImage, Stitched};
pub use ising_tiles::{IsingTiles, cut, decode};
pub use model::Model;

scalar_udf!(ising_tiles, IsingTiles::new());
scalar_udf!(ising_changes, IsingChanges::new());
scalar_udf!(ising_denoise, IsingDenoise::new());
scalar_udf!(ising_image, IsingImage::new());

/// The model argument: one constant JSON string for the whole call.
fn model_arg(function: &str, arg: &ColumnarValue) -> Result<Model> {
    Model::parse(crate::util::constant_string(function, "model (JSON)", arg)?).or_else(|e| exec_err!("{function}: {e}"))
}
