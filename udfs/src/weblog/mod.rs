//! Web server logs: access-log lines parsed into fields, and request
//! targets mapped to the application's named routes ("track behaviour, not
//! logs").

pub mod log_format;
mod parse_access_log;
mod route_request;
pub mod routes;

use std::sync::Arc;

use datafusion::arrow::array::{MapBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Fields};

pub use parse_access_log::ParseAccessLog;
pub use route_request::RouteRequest;

scalar_udf!(parse_access_log, ParseAccessLog::new());
scalar_udf!(route_request, RouteRequest::new());

/// `map<string, string>` as the builder below makes it.
fn string_map_type() -> DataType {
    let entries = Fields::from(vec![Field::new("keys", DataType::Utf8, false), Field::new("values", DataType::Utf8, true)]);
    DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
}

fn string_map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
}
