//! A tile of an image as the ising functions pass it between SQL steps: a
//! struct of its geometry, the observations of the tile and its halo, and
//! the clean reference of its interior when there is one.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float32Array, Int8Array, Int32Array, Int64Array, ListArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float32Type, Int8Type, Int32Type, Int64Type};
use datafusion::common::exec_err;
use datafusion::error::Result;

use super::model::{Region, Window};
use crate::util::list_of;

const GEOMETRY: [&str; 12] = ["index", "tiles", "width", "height", "x0", "y0", "w", "h", "ix", "iy", "iw", "ih"];

/// One tile. Coordinates are global pixels of the image; the halo region
/// (`x0`, `y0`, `w`, `h`) holds the interior (`ix`, `iy`, `iw`, `ih`).
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    /// Row-major position in the image's grid of `tiles` tiles.
    pub index: i32,
    pub tiles: i32,
    /// The whole image's size.
    pub width: i32,
    pub height: i32,
    pub x0: i32,
    pub y0: i32,
    pub w: i32,
    pub h: i32,
    pub ix: i32,
    pub iy: i32,
    pub iw: i32,
    pub ih: i32,
    /// The image's key in the random streams.
    pub key: u64,
    /// Observations of the halo region, row-major.
    pub observed: Vec<f32>,
    /// The reference's ±1 pixels of the interior, row-major.
    pub reference: Option<Vec<i8>>,
}

pub fn fields() -> Fields {
    GEOMETRY
        .iter()
        .map(|name| Field::new(*name, DataType::Int32, false))
        .chain([
            Field::new("key", DataType::Int64, false),
            Field::new("observed", list_of(DataType::Float32), false),
            Field::new("reference", list_of(DataType::Int8), true),
        ])
        .collect()
}

pub fn data_type() -> DataType {
    DataType::Struct(fields())
}

impl Tile {
    fn geometry(&self) -> [i32; 12] {
        [self.index, self.tiles, self.width, self.height, self.x0, self.y0, self.w, self.h, self.ix, self.iy, self.iw, self.ih]
    }

    /// The halo region, for a model run.
    pub fn region(&self) -> Region<'_> {
        Region { y: &self.observed, width: self.w as usize, height: self.h as usize, x0: self.x0 as u32, y0: self.y0 as u32, image_key: self.key }
    }

    /// The interior within the halo region.
    pub fn interior(&self) -> Window {
        Window { x: (self.ix - self.x0) as usize, y: (self.iy - self.y0) as usize, width: self.iw as usize, height: self.ih as usize }
    }

    /// The interior's values of a whole-region vector, row-major.
    pub fn crop<T: Copy>(&self, region: &[T]) -> Vec<T> {
        rect(region, self.w as usize, self.interior())
    }

    /// Reads the tile at `row` of a struct array of [`data_type`].
    pub fn read(tiles: &StructArray, row: usize) -> Result<Self> {
        let int = |name: &str| -> Result<i32> {
            match tiles.column_by_name(name).and_then(|c| c.as_primitive_opt::<Int32Type>()) {
                Some(c) if c.is_valid(row) => Ok(c.value(row)),
                _ => exec_err!("ising tile: field `{name}` missing or NULL"),
            }
        };
        let g = GEOMETRY.map(int);
        let [index, tiles_n, width, height, x0, y0, w, h, ix, iy, iw, ih] = match g {
            [Ok(a), Ok(b), Ok(c), Ok(d), Ok(e), Ok(f), Ok(g), Ok(h), Ok(i), Ok(j), Ok(k), Ok(l)] => [a, b, c, d, e, f, g, h, i, j, k, l],
            g => return Err(g.into_iter().find_map(|r| r.err()).expect("one failed")),
        };
        let Some(key) = tiles.column_by_name("key").and_then(|c| c.as_primitive_opt::<Int64Type>()) else {
            return exec_err!("ising tile: field `key` missing");
        };
        let list = |name: &str| tiles.column_by_name(name).and_then(|c| c.as_list_opt::<i32>());
        let Some(observed) = list("observed").filter(|l| l.is_valid(row)) else {
            return exec_err!("ising tile: field `observed` missing or NULL");
        };
        let observed = observed.value(row).as_primitive::<Float32Type>().values().to_vec();
        let reference = list("reference").filter(|l| l.is_valid(row)).map(|l| l.value(row).as_primitive::<Int8Type>().values().to_vec());
        let tile = Tile { index, tiles: tiles_n, width, height, x0, y0, w, h, ix, iy, iw, ih, key: key.value(row) as u64, observed, reference };
        if tile.observed.len() != (w as usize) * (h as usize) || w <= 0 || h <= 0 {
            return exec_err!("ising tile {index}: {} observations for a {w}×{h} region", tile.observed.len());
        }
        Ok(tile)
    }
}

/// The rectangle `win` of a row-major grid `width` values wide.
pub fn rect<T: Copy>(values: &[T], width: usize, win: Window) -> Vec<T> {
    (win.y..win.y + win.height).flat_map(|r| values[r * width + win.x..][..win.width].iter().copied()).collect()
}

/// Tiles as a struct array of [`data_type`].
pub fn to_array(tiles: &[Tile]) -> StructArray {
    let columns: Vec<ArrayRef> = (0..GEOMETRY.len())
        .map(|k| Arc::new(Int32Array::from_iter_values(tiles.iter().map(|t| t.geometry()[k]))) as ArrayRef)
        .chain([
            Arc::new(Int64Array::from_iter_values(tiles.iter().map(|t| t.key as i64))) as ArrayRef,
            Arc::new(float_lists(tiles.iter().map(|t| Some(t.observed.as_slice())))),
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Int8, true)),
                OffsetBuffer::from_lengths(tiles.iter().map(|t| t.reference.as_ref().map_or(0, Vec::len))),
                Arc::new(Int8Array::from_iter_values(tiles.iter().flat_map(|t| t.reference.iter().flatten().copied()))),
                Some(tiles.iter().map(|t| t.reference.is_some()).collect()),
            )),
        ])
        .collect();
    StructArray::new(fields(), columns, None)
}

/// Lists of floats, NULL for `None`.
pub fn float_lists<'a>(values: impl Iterator<Item = Option<&'a [f32]>> + Clone) -> ListArray {
    ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float32, true)),
        OffsetBuffer::from_lengths(values.clone().map(|v| v.map_or(0, <[f32]>::len))),
        Arc::new(Float32Array::from_iter_values(values.clone().flatten().flatten().copied())),
        Some(values.map(|v| v.is_some()).collect()),
    )
}

/// The struct array of tiles in `arg` (a column of [`data_type`]).
pub fn tiles_arg<'a>(name: &str, arg: &'a ArrayRef) -> Result<&'a StructArray> {
    match arg.as_struct_opt() {
        Some(s) => Ok(s),
        None => exec_err!("{name}: the tile must be a struct made by ising_tiles, got {}", arg.data_type()),
    }
}

/// The grid of tiles of a `width`×`height` image, with `halo` pixels around
/// each interior of `tile_size` (0: one tile).
pub fn grid(width: i32, height: i32, tile_size: u32, halo: u32) -> Vec<[i32; 8]> {
    let size = if tile_size == 0 { i32::MAX } else { tile_size.min(i32::MAX as u32) as i32 };
    let (cols, rows) = ((width - 1) / size.min(width) + 1, (height - 1) / size.min(height) + 1);
    let halo = halo.min(i32::MAX as u32) as i32;
    let mut out = Vec::with_capacity((cols * rows) as usize);
    for r in 0..rows {
        for c in 0..cols {
            let (ix, iy) = (c * size.min(width), r * size.min(height));
            let (iw, ih) = ((width - ix).min(size), (height - iy).min(size));
            let (x0, y0) = (ix.saturating_sub(halo).max(0), iy.saturating_sub(halo).max(0));
            let (x1, y1) = ((ix + iw).saturating_add(halo).min(width), (iy + ih).saturating_add(halo).min(height));
            out.push([x0, y0, x1 - x0, y1 - y0, ix, iy, iw, ih]);
        }
    }
    out
}
