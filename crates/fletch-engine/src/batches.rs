//! Reading collected results by column name, so a reordered `SELECT` cannot
//! silently swap what the driver reads.

use datafusion::arrow::array::{Array, AsArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};

use crate::error::{Error, Result};

/// Column `name` of `batch` as the array type `T` (e.g. `StringArray`).
pub fn column<'a, T: Array + 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    let Some(array) = batch.column_by_name(name) else {
        let have: Vec<_> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        return Err(Error::input(format!("result has no column `{name}` (it has {})", have.join(", "))));
    };
    array.as_any().downcast_ref::<T>().ok_or_else(|| {
        Error::input(format!("result column `{name}` is {}, not {}", array.data_type(), std::any::type_name::<T>()))
    })
}

/// The non-NULL strings of column `name` across `batches`, in order.
pub fn strings(batches: &[RecordBatch], name: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        out.extend(column::<StringArray>(b, name)?.iter().flatten().map(str::to_string));
    }
    Ok(out)
}

/// The non-NULL integers of column `name` (BIGINT) across `batches`, in order.
pub fn ints(batches: &[RecordBatch], name: &str) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for b in batches {
        out.extend(column::<Int64Array>(b, name)?.iter().flatten());
    }
    Ok(out)
}

/// The non-NULL numbers of column `name` (DOUBLE) across `batches`, in order.
pub fn floats(batches: &[RecordBatch], name: &str) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for b in batches {
        out.extend(column::<Float64Array>(b, name)?.iter().flatten());
    }
    Ok(out)
}

/// The non-NULL vectors of list column `name` (of FLOAT or DOUBLE) across
/// `batches`, one flat row-major matrix of doubles (a NULL element counts as
/// 0.0), and their length (0 without any vector).
pub fn vectors(batches: &[RecordBatch], name: &str) -> Result<(Vec<f64>, usize)> {
    let (mut flat, mut dim) = (Vec::new(), None);
    for b in batches {
        let lists = cast(column::<ListArray>(b, name)?, &DataType::List(std::sync::Arc::new(Field::new_list_field(DataType::Float64, true))))?;
        let lists = lists.as_list::<i32>();
        let values = lists.values().as_primitive::<Float64Type>();
        for i in (0..b.num_rows()).filter(|&i| lists.is_valid(i)) {
            let range = lists.value_offsets()[i] as usize..lists.value_offsets()[i + 1] as usize;
            let expected = *dim.get_or_insert(range.len());
            if range.len() != expected {
                return Err(Error::input(format!("result column `{name}` holds vectors of {expected} and {} values", range.len())));
            }
            flat.extend(range.map(|j| if values.is_null(j) { 0.0 } else { values.value(j) }));
        }
    }
    Ok((flat, dim.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};

    use super::*;

    #[test]
    fn finds_columns_by_name_and_type() {
        let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1])) as _), ("s", Arc::new(StringArray::from(vec!["a"])) as _)]).unwrap();
        assert_eq!(column::<StringArray>(&batch, "s").unwrap().value(0), "a");
        let nulls = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![Some(2), None])) as _), ("s", Arc::new(StringArray::from(vec![None, Some("b")])) as _)]).unwrap();
        let both = [batch.clone(), nulls];
        assert_eq!((strings(&both, "s").unwrap(), ints(&both, "n").unwrap()), (vec!["a".to_string(), "b".to_string()], vec![1, 2]));
        assert_eq!(column::<Int64Array>(&batch, "x").unwrap_err().to_string(), "result has no column `x` (it has n, s)");
        assert!(column::<StringArray>(&batch, "n").unwrap_err().to_string().starts_with("result column `n` is Int64, not "));
        // Vectors: NULL lists left out, NULL elements 0.0, FLOAT widened.
        let lists = datafusion::arrow::array::ListArray::from_iter_primitive::<datafusion::arrow::datatypes::Float32Type, _, _>([Some(vec![Some(1.5), None]), None, Some(vec![Some(2.0), Some(0.25)])]);
        let b = RecordBatch::try_from_iter([("v", Arc::new(lists) as _)]).unwrap();
        assert_eq!(vectors(&[b.clone(), b], "v").unwrap(), (vec![1.5, 0.0, 2.0, 0.25, 1.5, 0.0, 2.0, 0.25], 2));
        let ragged = datafusion::arrow::array::ListArray::from_iter_primitive::<datafusion::arrow::datatypes::Float64Type, _, _>([Some(vec![Some(1.0)]), Some(vec![Some(1.0), Some(2.0)])]);
        let b = RecordBatch::try_from_iter([("v", Arc::new(ragged) as _)]).unwrap();
        assert_eq!(vectors(&[b], "v").unwrap_err().to_string(), "result column `v` holds vectors of 1 and 2 values");
    }
}
