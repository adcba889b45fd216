//! `ising_tiles`: an image file's bytes as the tiles the denoising runs on.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::model::{Model, Window, image_key};
use super::tile::{self, Tile};
use super::model_arg;
use crate::util::list_of;

#[user_doc(
    doc_section(label = "Image Functions"),
    description = "Decodes an image (PNG or JPEG) into the tiles `ising_denoise` runs on: its luma \
        becomes observations as the model says (±1 by a threshold, or a gray value mapped onto \
        −range..range), and the image is cut into tiles of `tile_size` pixels, each with a halo \
        wide enough that its interior denoises exactly as the whole image would. The reference \
        (a clean image of the same size, binarised at half luma) is kept per tile for error \
        rates; NULL when there is none. Errors name the image.",
    syntax_example = "ising_tiles(name, image, reference, model)",
    sql_example = "SELECT name, unnest(ising_tiles(name, image, NULL, $model)) AS tile FROM ising_images",
    argument(name = "name", description = "The image's name, for messages and its random stream."),
    argument(name = "image", description = "The encoded image (BYTEA)."),
    argument(name = "reference", description = "The encoded clean image, or NULL."),
    argument(name = "model", description = "The run's model as JSON (a constant string; see the ising-denoise docs).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsingTiles {
    signature: Signature,
}

impl IsingTiles {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for IsingTiles {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for IsingTiles {
    fn name(&self) -> &str {
        "ising_tiles"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 4 {
            return plan_err!("ising_tiles takes 4 arguments (name, image, reference, model), got {}", arg_types.len());
        }
        Ok(vec![DataType::Utf8, DataType::Binary, DataType::Binary, DataType::Utf8])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(tile::data_type()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [names, images, references, model] = take_function_args(self.name(), args.args)?;
        let model = model_arg(self.name(), &model)?;
        let [names, images, references] = [names, images, references].map(|a| a.into_array(rows));
        let (names, images, references) = (cast(&names?, &DataType::Utf8)?, cast(&images?, &DataType::Binary)?, cast(&references?, &DataType::Binary)?);
        let (names, images, references) = (names.as_string::<i32>(), images.as_binary::<i32>(), references.as_binary::<i32>());
        let mut tiles = Vec::new();
        let mut counts = Vec::with_capacity(rows);
        for i in 0..rows {
            if names.is_null(i) || images.is_null(i) {
                counts.push(0);
                continue;
            }
            let reference = references.is_valid(i).then(|| references.value(i));
            let made = cut(&model, names.value(i), images.value(i), reference)?;
            counts.push(made.len());
            tiles.extend(made);
        }
        let nulls = (0..rows).map(|i| names.is_valid(i) && images.is_valid(i)).collect();
        let list = ListArray::new(
            Arc::new(Field::new_list_field(tile::data_type(), true)),
            OffsetBuffer::from_lengths(counts),
            Arc::new(tile::to_array(&tiles)) as ArrayRef,
            Some(nulls),
        );
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Luma in 0..1 of an encoded image, with its width and height.
pub fn decode(name: &str, what: &str, bytes: &[u8]) -> Result<(Vec<f32>, u32, u32)> {
    let img = match image::load_from_memory(bytes) {
        Ok(img) => img,
        Err(e) => return exec_err!("image {name}: cannot decode the {what}: {e}"),
    };
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 || w > i32::MAX as u32 / 2 || h > i32::MAX as u32 / 2 {
        return exec_err!("image {name}: the {what} is {w}×{h} pixels");
    }
    Ok((img.to_luma32f().into_raw(), w, h))
}

/// The tiles of one image.
pub fn cut(model: &Model, name: &str, image: &[u8], reference: Option<&[u8]>) -> Result<Vec<Tile>> {
    let (luma, w, h) = decode(name, "image", image)?;
    let y: Vec<f32> = luma.iter().map(|&l| model.observe(l)).collect();
    let clean = match reference {
        Some(bytes) => {
            let (r, rw, rh) = decode(name, "reference", bytes)?;
            if (rw, rh) != (w, h) {
                return exec_err!("image {name}: the reference is {rw}×{rh} pixels, the image {w}×{h}");
            }
            Some(r.iter().map(|&l| if l >= 0.5 { 1i8 } else { -1 }).collect::<Vec<_>>())
        }
        None => None,
    };
    let (w, h) = (w as i32, h as i32);
    let grid = tile::grid(w, h, model.tile_size, model.halo());
    let count = grid.len() as i32;
    let win = |x: i32, y: i32, width: i32, height: i32| Window { x: x as usize, y: y as usize, width: width as usize, height: height as usize };
    Ok(grid
        .into_iter()
        .enumerate()
        .map(|(index, [x0, y0, tw, th, ix, iy, iw, ih])| Tile {
            index: index as i32,
            tiles: count,
            width: w,
            height: h,
            x0,
            y0,
            w: tw,
            h: th,
            ix,
            iy,
            iw,
            ih,
            key: image_key(name),
            observed: tile::rect(&y, w as usize, win(x0, y0, tw, th)),
            reference: clean.as_ref().map(|c| tile::rect(c, w as usize, win(ix, iy, iw, ih))),
        })
        .collect())
}
