//! The features table as the model reads it: pflip-features' columns (or
//! pflip-predict's), by name, on the driver.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};

use super::tokens::TokenSets;

/// The features table's rows as the pipeline reads them.
#[derive(Default)]
pub struct Frame {
    pub authors: Vec<String>,
    /// `{prefix}_{kind}` token sets, by column name.
    pub sets: BTreeMap<String, TokenSets>,
    /// Every numeric column by name, NaN for NULL.
    pub numbers: BTreeMap<String, Vec<f64>>,
}

impl Frame {
    pub fn rows(&self) -> usize {
        self.authors.len()
    }

    pub fn number(&self, name: &str) -> Result<&[f64], String> {
        self.numbers.get(name).map(Vec::as_slice).ok_or_else(|| format!("the features table has no column {name}"))
    }

    /// The rows `rows` of the frame, in that order.
    pub fn take(&self, rows: &[usize]) -> Frame {
        Frame {
            authors: take(&self.authors, rows),
            sets: self.sets.iter().map(|(k, v)| (k.clone(), v.take(rows))).collect(),
            numbers: self.numbers.iter().map(|(k, v)| (k.clone(), take(v, rows))).collect(),
        }
    }

    /// Appends a batch of the features table; string columns other than the
    /// author (noteId's companions: classification, LABEL, modes) are not features.
    pub fn extend(&mut self, b: &RecordBatch) -> Result<(), datafusion::arrow::error::ArrowError> {
        for (field, column) in b.schema().fields().iter().zip(b.columns()) {
            let name = field.name().clone();
            match field.data_type() {
                DataType::List(_) => {
                    let lists = column.as_list::<i32>();
                    let out = self.sets.entry(name).or_default();
                    for i in 0..lists.len() {
                        let v = lists.value(i);
                        let s = v.as_string::<i32>();
                        out.push((0..s.len()).filter(|&j| s.is_valid(j)).map(|j| s.value(j)));
                    }
                }
                DataType::Utf8 if name == "noteAuthorParticipantId" => {
                    let s = column.as_string::<i32>();
                    self.authors.extend((0..s.len()).map(|i| s.value(i).to_string()));
                }
                DataType::Int64 | DataType::Float64 => {
                    let f = cast(column, &DataType::Float64)?;
                    let f = f.as_primitive::<Float64Type>();
                    self.numbers.entry(name).or_default().extend((0..f.len()).map(|i| if f.is_valid(i) { f.value(i) } else { f64::NAN }));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

pub fn take<T: Clone>(v: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&i| v[i].clone()).collect()
}
