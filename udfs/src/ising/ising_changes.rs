//! `ising_changes`: how much a tile's interior changes in each sweep, so
//! that the sweep where a whole image converges can be found over its tiles.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::utils::take_function_args;
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::model::Method;
use crate::util::list_of;
use super::model_arg;
use super::tile::{self, Tile};

#[user_doc(
    doc_section(label = "Image Functions"),
    description = "Runs the model's `iterations` sweeps of mean-field or ICM over a tile and returns, per \
        sweep, the sum of the absolute changes of the pixels in the tile's interior and how many \
        pixels that is: a list of {sweep, change, pixels}. Each change is rounded to a multiple \
        of 2⁻²⁴ so that sums are exact: summed over an image's tiles they are the whole image's, \
        and the sweep where the mean change first reaches `--tol` is where a whole-image run \
        stops. Empty for Gibbs sampling, which runs a fixed number of sweeps.",
    syntax_example = "ising_changes(tile, model)",
    sql_example = "SELECT name, unnest(ising_changes(tile, $model)) AS c FROM tiles",
    argument(name = "tile", description = "A tile from `ising_tiles`."),
    argument(name = "model", description = "The run's model as JSON (a constant string).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsingChanges {
    signature: Signature,
}

impl IsingChanges {
    pub fn new() -> Self {
        Self { signature: Signature::exact(vec![tile::data_type(), DataType::Utf8], Volatility::Immutable) }
    }
}

impl Default for IsingChanges {
    fn default() -> Self {
        Self::new()
    }
}

fn change_fields() -> Fields {
    Fields::from(vec![
        Field::new("sweep", DataType::Int64, false),
        Field::new("change", DataType::Float64, false),
        Field::new("pixels", DataType::Int64, false),
    ])
}

impl ScalarUDFImpl for IsingChanges {
    fn name(&self) -> &str {
        "ising_changes"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [_, _] => Ok(vec![tile::data_type(), DataType::Utf8]),
            _ => plan_err!("ising_changes takes 2 arguments (tile, model)"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Struct(change_fields())))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [tiles, model] = take_function_args(self.name(), args.args)?;
        let model = model_arg(self.name(), &model)?;
        let tiles = tiles.into_array(rows)?;
        let tiles = tile::tiles_arg(self.name(), &tiles)?;
        let (mut sweeps, mut changes, mut pixels, mut lengths) = (Vec::new(), Vec::new(), Vec::new(), Vec::with_capacity(rows));
        for row in 0..rows {
            if model.method == Method::Gibbs {
                lengths.push(0);
                continue;
            }
            let t = Tile::read(tiles, row)?;
            let run = model.run(&t.region(), t.interior(), model.iterations);
            lengths.push(run.changes.len());
            sweeps.extend(1..=run.changes.len() as i64);
            pixels.extend(std::iter::repeat_n(i64::from(t.iw) * i64::from(t.ih), run.changes.len()));
            changes.extend(run.changes);
        }
        let items = StructArray::new(
            change_fields(),
            vec![
                Arc::new(Int64Array::from(sweeps)) as ArrayRef,
                Arc::new(Float64Array::from(changes)),
                Arc::new(Int64Array::from(pixels)),
            ],
            None,
        );
        let list = ListArray::new(Arc::new(Field::new_list_field(DataType::Struct(change_fields()), true)), OffsetBuffer::from_lengths(lengths), Arc::new(items), None);
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
