//! A column's text fields as its declared type, or the first bad field.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Builder, Int8Builder, Int64Builder, StringArray};

use super::{Column, Kind};

/// The fields of `column` typed, or the row of the first bad one and why.
pub fn typed(column: &Column, fields: &StringArray) -> Result<ArrayRef, (usize, String)> {
    let present = |row: usize| -> Result<Option<&str>, (usize, String)> {
        match fields.is_valid(row).then(|| fields.value(row)).filter(|v| !v.is_empty()) {
            None if column.required => Err((row, "empty, but the column is required".into())),
            v => Ok(v),
        }
    };
    match &column.kind {
        Kind::Int64 => {
            let mut out = Int64Builder::with_capacity(fields.len());
            for row in 0..fields.len() {
                out.append_option(present(row)?.map(|v| integer(v).ok_or_else(|| (row, format!("`{v}` is not an integer")))).transpose()?);
            }
            Ok(Arc::new(out.finish()))
        }
        Kind::Int8 => {
            let mut out = Int8Builder::with_capacity(fields.len());
            for row in 0..fields.len() {
                out.append_option(present(row)?.map(|v| v.parse::<i8>().map_err(|_| (row, format!("`{v}` is not a small integer")))).transpose()?);
            }
            Ok(Arc::new(out.finish()))
        }
        Kind::Float64 => {
            let mut out = Float64Builder::with_capacity(fields.len());
            for row in 0..fields.len() {
                out.append_option(present(row)?.map(|v| v.parse::<f64>().map_err(|_| (row, format!("`{v}` is not a number")))).transpose()?);
            }
            Ok(Arc::new(out.finish()))
        }
        Kind::Text | Kind::Category(_) => {
            for row in 0..fields.len() {
                if let (Some(v), Kind::Category(values)) = (present(row)?, &column.kind)
                    && !values.iter().any(|allowed| allowed == v)
                {
                    return Err((row, format!("`{v}` is not one of {}", values.join(", "))));
                }
            }
            // Empty fields are NULL, as pandas reads them.
            Ok(Arc::new(fields.iter().map(|v| v.filter(|v| !v.is_empty())).collect::<StringArray>()))
        }
    }
}

/// `v` as an integer; pandas writes a nullable timestamp column as floats
/// (`1724110903318.0`), taken when exact (below 2^53: ids never pass this way).
fn integer(v: &str) -> Option<i64> {
    v.parse::<i64>().ok().or_else(|| {
        let f = v.parse::<f64>().ok()?;
        (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0).then_some(f as i64)
    })
}
