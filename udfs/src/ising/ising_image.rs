//! `ising_image`: an image's denoised tiles stitched back, as a PNG with its
//! energy and error rates.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, Float64Builder, Int32Builder, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float32Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::model::{Model, decide};
use super::model_arg;
use super::tile::{self, Tile};

#[user_doc(
    doc_section(label = "Image Functions"),
    description = "Stitches an image's denoised tiles (a list of {tile, values}, in any order) and returns \
        {png, width, height, tiles, energy_noisy, energy, noisy_error, error}: the ±1 decision of \
        every pixel (value ≥ 0 is white) as an 8-bit gray PNG, the model's energy \
        E(x) = −J Σ x_i x_j − Σ x_i y_i / σ² of the noisy decision sign(y) and of the denoised one, \
        and with a reference the fractions of pixels that differ from it before and after. \
        Every tile of the image must be there once.",
    syntax_example = "ising_image(tiles, model)",
    sql_example = "SELECT name, ising_image(array_agg(named_struct('tile', tile, 'values', denoised)), $model) FROM denoised GROUP BY name",
    argument(name = "tiles", description = "The image's tiles with their denoised interiors."),
    argument(name = "model", description = "The run's model as JSON (a constant string).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsingImage {
    signature: Signature,
}

impl IsingImage {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for IsingImage {
    fn default() -> Self {
        Self::new()
    }
}

fn result_fields() -> Fields {
    let f = |name: &str, t: DataType, nullable| Field::new(name, t, nullable);
    Fields::from(vec![
        f("png", DataType::Binary, false),
        f("width", DataType::Int32, false),
        f("height", DataType::Int32, false),
        f("tiles", DataType::Int32, false),
        f("energy_noisy", DataType::Float64, false),
        f("energy", DataType::Float64, false),
        f("noisy_error", DataType::Float64, true),
        f("error", DataType::Float64, true),
    ])
}

/// One stitched image.
pub struct Stitched {
    pub width: usize,
    pub tiles: usize,
    /// Denoised decisions, observations and the reference, row-major.
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub reference: Option<Vec<i8>>,
}

impl Stitched {
    pub fn new(parts: Vec<(Tile, Vec<f32>)>) -> Result<Self> {
        let Some((first, _)) = parts.first() else { return exec_err!("ising_image: an image without tiles") };
        let (width, height, count) = (first.width as usize, first.height as usize, first.tiles as usize);
        let mut seen = vec![false; count];
        let mut x = vec![0f32; width * height];
        let mut y = vec![0f32; width * height];
        let mut reference = first.reference.as_ref().map(|_| vec![0i8; width * height]);
        for (t, values) in &parts {
            let index = t.index as usize;
            if (t.width as usize, t.height as usize, t.tiles as usize) != (width, height, count) || index >= count || seen[index] {
                return exec_err!("ising_image: tile {} of {} does not belong with the image's other tiles", t.index, t.tiles);
            }
            seen[index] = true;
            if values.len() != (t.iw * t.ih) as usize {
                return exec_err!("ising_image: tile {}: {} values for a {}×{} interior", t.index, values.len(), t.iw, t.ih);
            }
            let observed = t.crop(&t.observed);
            for r in 0..t.ih as usize {
                let at = (t.iy as usize + r) * width + t.ix as usize;
                let row = r * t.iw as usize..(r + 1) * t.iw as usize;
                x[at..at + t.iw as usize].iter_mut().zip(&values[row.clone()]).for_each(|(d, &v)| *d = decide(v));
                y[at..at + t.iw as usize].copy_from_slice(&observed[row.clone()]);
                if let (Some(all), Some(part)) = (reference.as_mut(), t.reference.as_ref()) {
                    all[at..at + t.iw as usize].copy_from_slice(&part[row]);
                }
            }
        }
        if let Some(missing) = seen.iter().position(|s| !s) {
            return exec_err!("ising_image: tile {missing} of {count} is missing");
        }
        Ok(Stitched { width, tiles: count, x, y, reference })
    }

    pub fn height(&self) -> usize {
        self.x.len() / self.width
    }

    /// White for +1, black for −1.
    pub fn png(&self) -> Result<Vec<u8>> {
        let pixels = self.x.iter().map(|&v| if v > 0.0 { 255u8 } else { 0 }).collect();
        let img = image::GrayImage::from_raw(self.width as u32, self.height() as u32, pixels).expect("one byte per pixel");
        let mut out = std::io::Cursor::new(Vec::new());
        match img.write_to(&mut out, image::ImageFormat::Png) {
            Ok(()) => Ok(out.into_inner()),
            Err(e) => exec_err!("ising_image: cannot encode the PNG: {e}"),
        }
    }

    /// The fraction of pixels of `x` that differ from the reference.
    pub fn error_of(&self, x: &[f32]) -> Option<f64> {
        let r = self.reference.as_ref()?;
        let wrong = x.iter().zip(r).filter(|&(&v, &c)| (v > 0.0) != (c > 0)).count();
        Some(wrong as f64 / x.len() as f64)
    }

    pub fn noisy(&self) -> Vec<f32> {
        self.y.iter().map(|&v| decide(v)).collect()
    }
}

impl ScalarUDFImpl for IsingImage {
    fn name(&self) -> &str {
        "ising_image"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [list @ DataType::List(_), _] => Ok(vec![list.clone(), DataType::Utf8]),
            _ => plan_err!("ising_image takes 2 arguments: a list of {{tile, values}} and the model"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(result_fields()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [lists, model] = take_function_args(self.name(), args.args)?;
        let model = model_arg(self.name(), &model)?;
        let lists = lists.into_array(rows)?;
        let lists = lists.as_list::<i32>();
        let (mut png, mut energy_noisy, mut energy, mut noisy_error, mut error) =
            (BinaryBuilder::new(), Float64Builder::new(), Float64Builder::new(), Float64Builder::new(), Float64Builder::new());
        let (mut width, mut height, mut tiles) = (Int32Builder::new(), Int32Builder::new(), Int32Builder::new());
        for row in 0..rows {
            let image = stitch(&lists.value(row))?;
            png.append_value(image.png()?);
            width.append_value(image.width as i32);
            height.append_value(image.height() as i32);
            tiles.append_value(image.tiles as i32);
            let noisy = image.noisy();
            energy_noisy.append_value(model_energy(&model, &image, &noisy));
            energy.append_value(model_energy(&model, &image, &image.x));
            noisy_error.append_option(image.error_of(&noisy));
            error.append_option(image.error_of(&image.x));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(png.finish()),
            Arc::new(width.finish()),
            Arc::new(height.finish()),
            Arc::new(tiles.finish()),
            Arc::new(energy_noisy.finish()),
            Arc::new(energy.finish()),
            Arc::new(noisy_error.finish()),
            Arc::new(error.finish()),
        ];
        Ok(ColumnarValue::Array(Arc::new(StructArray::new(result_fields(), columns, None))))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn model_energy(model: &Model, image: &Stitched, x: &[f32]) -> f64 {
    model.energy(x, &image.y, image.width)
}

/// The tiles of one image, from a list of {tile, values}.
fn stitch(items: &ArrayRef) -> Result<Stitched> {
    let Some(items) = items.as_struct_opt() else { return exec_err!("ising_image: the list must hold {{tile, values}} structs") };
    let (Some(tiles), Some(values)) = (items.column_by_name("tile"), items.column_by_name("values")) else {
        return exec_err!("ising_image: the list's structs need fields `tile` and `values`");
    };
    let tiles = tile::tiles_arg("ising_image", tiles)?;
    let Some(values) = values.as_list_opt::<i32>() else { return exec_err!("ising_image: `values` must be a list of floats") };
    let mut parts = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        if values.is_null(i) {
            return exec_err!("ising_image: a tile without values");
        }
        parts.push((Tile::read(tiles, i)?, values.value(i).as_primitive::<Float32Type>().values().to_vec()));
    }
    Stitched::new(parts)
}
