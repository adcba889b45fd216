//! Reading collected results by column name, so a reordered `SELECT` cannot
//! silently swap what the driver reads.

use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray};

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
    }
}
