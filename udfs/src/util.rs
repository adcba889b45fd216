//! Small helpers shared by the function modules.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::common::types::{NativeType, logical_int32, logical_int64, logical_string};
use datafusion::logical_expr::{Coercion, ColumnarValue, Signature, TypeSignatureClass, Volatility};

/// Wraps an array result as the UDF's output: a scalar when every argument
/// was a scalar (so constant folding keeps working), the array otherwise.
pub(crate) fn columnar_result(args: &[ColumnarValue], out: ArrayRef) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

/// `(any string, integer)`: the string as given, Int32 widened to Int64.
pub(crate) fn string_and_int64_signature() -> Signature {
    let string = Coercion::new_exact(TypeSignatureClass::Native(logical_string()));
    let int64 = Coercion::new_implicit(
        TypeSignatureClass::Native(logical_int64()),
        vec![TypeSignatureClass::Native(logical_int32())],
        NativeType::Int64,
    );
    Signature::coercible(vec![string, int64], Volatility::Immutable)
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
