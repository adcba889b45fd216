//! Reading collected results by column name, so a reordered `SELECT` cannot
//! silently swap what the driver reads.

use datafusion::arrow::array::{Array, RecordBatch};

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};

    use super::*;

    #[test]
    fn finds_columns_by_name_and_type() {
        let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1])) as _), ("s", Arc::new(StringArray::from(vec!["a"])) as _)]).unwrap();
        assert_eq!(column::<StringArray>(&batch, "s").unwrap().value(0), "a");
        assert_eq!(column::<Int64Array>(&batch, "x").unwrap_err().to_string(), "result has no column `x` (it has n, s)");
        assert!(column::<StringArray>(&batch, "n").unwrap_err().to_string().starts_with("result column `n` is Int64, not "));
    }
}
