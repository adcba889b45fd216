//! `ising_denoise`: one tile denoised, its interior's values.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::model::Method;
use crate::util::list_of;
use super::model_arg;
use super::tile::{self, Tile, float_lists};

#[user_doc(
    doc_section(label = "Image Functions"),
    description = "Denoises a tile with the model's method and returns its interior's values, row-major: \
        the mean-field magnetisations, the ICM states (±1) or the Gibbs posterior means. Mean-field \
        and ICM run exactly `sweeps` sweeps (the image's stopping sweep, from `ising_changes`); \
        Gibbs runs `sweeps` = burn-in + samples. Sampling draws one number per pixel and sweep \
        from a generator keyed by the seed, the image and the pixel, so the result does not \
        depend on the tiling or on which executor runs the tile.",
    syntax_example = "ising_denoise(tile, sweeps, model)",
    sql_example = "SELECT name, ising_denoise(tile, 15, $model) AS denoised FROM tiles",
    argument(name = "tile", description = "A tile from `ising_tiles`."),
    argument(name = "sweeps", description = "Sweeps to run (BIGINT, at most the tile's halo allows)."),
    argument(name = "model", description = "The run's model as JSON (a constant string).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsingDenoise {
    signature: Signature,
}

impl IsingDenoise {
    pub fn new() -> Self {
        Self { signature: Signature::exact(vec![tile::data_type(), DataType::Int64, DataType::Utf8], Volatility::Immutable) }
    }
}

impl Default for IsingDenoise {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for IsingDenoise {
    fn name(&self) -> &str {
        "ising_denoise"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [_, _, _] => Ok(vec![tile::data_type(), DataType::Int64, DataType::Utf8]),
            _ => plan_err!("ising_denoise takes 3 arguments (tile, sweeps, model)"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Float32))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [tiles, sweeps, model] = take_function_args(self.name(), args.args)?;
        let model = model_arg(self.name(), &model)?;
        let (tiles, sweeps) = (tiles.into_array(rows)?, sweeps.into_array(rows)?);
        let (tiles, sweeps) = (tile::tiles_arg(self.name(), &tiles)?, sweeps.as_primitive::<Int64Type>());
        let mut out: Vec<Option<Vec<f32>>> = Vec::with_capacity(rows);
        for row in 0..rows {
            if tiles.is_null(row) || sweeps.is_null(row) {
                out.push(None);
                continue;
            }
            let t = Tile::read(tiles, row)?;
            let n = sweeps.value(row);
            let most = i64::from(model.sweeps());
            if n < 0 || n > most || (model.method == Method::Gibbs && n != most) {
                return exec_err!("ising_denoise: tile {} of {}: {n} sweeps asked, the model allows {most}", t.index, t.tiles);
            }
            let run = model.run(&t.region(), t.interior(), n as u32);
            out.push(Some(t.crop(&run.values)));
        }
        Ok(ColumnarValue::Array(std::sync::Arc::new(float_lists(out.iter().map(|v| v.as_deref())))))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
