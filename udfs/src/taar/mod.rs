//! The TAAR service's recommenders (mozilla-taar3 1.0.7), so that the
//! ensemble's training data is scored where the clients are stored: each
//! function takes a client's features and the model files the service loads
//! (constant JSON strings, parsed once per batch) and returns what the
//! service's `recommend` returns, its top `(guid, weight)` pairs. `cllr`
//! scores such a list against the add-on that was held out.

mod cllr;
mod taar_collaborative;
mod taar_locale;
mod taar_similarity;

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Builder, ListBuilder, StringBuilder, StructBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::ColumnarValue;
use serde::de::DeserializeOwned;

pub use cllr::Cllr;
pub use taar_collaborative::{ItemRow, TaarCollaborative, positive_hash};
pub use taar_locale::TaarLocale;
pub use taar_similarity::TaarSimilarity;

use crate::util::{constant_string, list_of};

scalar_udf!(cllr, Cllr::new());
scalar_udf!(taar_collaborative, TaarCollaborative::new());
scalar_udf!(taar_locale, TaarLocale::new());
scalar_udf!(taar_similarity, TaarSimilarity::new());

/// A recommendation: `(guid, weight)`.
pub type Recommendation = (String, f64);

fn recommendation_fields() -> Fields {
    Fields::from(vec![Field::new("guid", DataType::Utf8, true), Field::new("weight", DataType::Float64, true)])
}

/// `List<Struct<guid: Utf8, weight: Float64>>`, what the recommenders return.
pub fn recommendations_type() -> DataType {
    list_of(DataType::Struct(recommendation_fields()))
}

/// One list per row; None is a NULL list.
fn recommendations_array(rows: impl IntoIterator<Item = Option<Vec<Recommendation>>>) -> ArrayRef {
    let item = StructBuilder::new(recommendation_fields(), vec![Box::new(StringBuilder::new()), Box::new(Float64Builder::new())]);
    let mut out = ListBuilder::new(item).with_field(Arc::new(Field::new_list_field(DataType::Struct(recommendation_fields()), true)));
    for row in rows {
        match row {
            None => out.append(false),
            Some(recs) => {
                let s = out.values();
                for (guid, weight) in recs {
                    s.field_builder::<StringBuilder>(0).expect("guid").append_value(guid);
                    s.field_builder::<Float64Builder>(1).expect("weight").append_value(weight);
                    s.append(true);
                }
                out.append(true);
            }
        }
    }
    Arc::new(out.finish())
}

/// A constant JSON argument parsed as `T`, or an error naming `what`.
fn constant_json<T: DeserializeOwned>(function: &str, what: &str, arg: &ColumnarValue) -> Result<T> {
    match serde_json::from_str(constant_string(function, what, arg)?) {
        Ok(v) => Ok(v),
        Err(e) => exec_err!("{function}: the {what} is not the JSON TAAR loads: {e}"),
    }
}

/// The constant, non-negative `limit` argument.
fn constant_limit(function: &str, arg: &ColumnarValue) -> Result<usize> {
    match arg {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(n))) if *n >= 0 => Ok(*n as usize),
        _ => exec_err!("{function}: the limit must be a constant, non-negative integer"),
    }
}
