//! Small helpers shared by the function modules.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::ColumnarValue;
use datafusion::common::types::{NativeType, logical_int32, logical_int64, logical_string};
use datafusion::logical_expr::{Coercion, Signature, TypeSignatureClass, Volatility};

/// Any string type, as given.
pub(crate) fn string_coercion() -> Coercion {
    Coercion::new_exact(TypeSignatureClass::Native(logical_string()))
}

/// A BIGINT, with INT widened to it.
pub(crate) fn int64_coercion() -> Coercion {
    Coercion::new_implicit(TypeSignatureClass::Native(logical_int64()), vec![TypeSignatureClass::Native(logical_int32())], NativeType::Int64)
}

/// `(any string, integer)`.
pub(crate) fn string_and_int64_signature() -> Signature {
    Signature::coercible(vec![string_coercion(), int64_coercion()], Volatility::Immutable)
}

/// `List<item>` with nullable items.
pub(crate) fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

/// `List<Float64>`: vector results and states.
pub(crate) fn list_f64() -> DataType {
    list_of(DataType::Float64)
}

/// A list-of-doubles scalar, or a NULL list for `None`.
pub(crate) fn f64_list_scalar(values: Option<impl Iterator<Item = f64>>) -> ScalarValue {
    match values {
        Some(values) => ScalarValue::List(ScalarValue::new_list_nullable(
            &values.map(|v| ScalarValue::Float64(Some(v))).collect::<Vec<_>>(),
            &DataType::Float64,
        )),
        None => ScalarValue::try_from(list_f64()).expect("list null scalar"),
    }
}

/// An argument that must be one constant string for the whole call (a
/// format, a model, a routes file), or an error naming `what`.
pub(crate) fn constant_string<'a>(function: &str, what: &str, arg: &'a ColumnarValue) -> Result<&'a str> {
    match arg {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s))) => Ok(s),
        _ => exec_err!("{function}: the {what} must be a constant string"),
    }
}

/// The non-NULL vectors of `arg` (lists of numbers, `rows` of them) as one
/// flat row-major matrix of `dim` columns, a NULL element counting as 0.0,
/// and which rows are non-NULL. A vector of another length is an error
/// naming `function` and `others`, what has `dim` values.
pub(crate) fn flat_vectors(function: &str, others: &str, arg: &ColumnarValue, rows: usize, dim: usize) -> Result<(Vec<f64>, Vec<bool>)> {
    let vectors = cast(&arg.to_array(rows)?, &list_f64())?;
    let vectors = vectors.as_list::<i32>();
    let values = vectors.values().as_primitive::<Float64Type>();
    let mut points = Vec::with_capacity(rows * dim);
    for i in (0..rows).filter(|&i| vectors.is_valid(i)) {
        let (from, to) = (vectors.value_offsets()[i] as usize, vectors.value_offsets()[i + 1] as usize);
        if to - from != dim {
            return exec_err!("{function}: a vector of {} values, {others} have {dim}", to - from);
        }
        points.extend((from..to).map(|j| if values.is_null(j) { 0.0 } else { values.value(j) }));
    }
    Ok((points, (0..rows).map(|i| vectors.is_valid(i)).collect()))
}
