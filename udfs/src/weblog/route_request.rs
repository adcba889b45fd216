//! `route_request`: a request target mapped to the application's named route.

use std::sync::{Arc, LazyLock, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::routes::{Routes, split_target};
use super::{string_map_builder, string_map_type};
use crate::util::constant_string;

#[user_doc(
    doc_section(label = "Web Log Functions"),
    description = "Splits a request target into its path (percent-decoded, without the leading `/`, as \
        Django matches it) and its query parameters (a map, decoded), and finds the first of the \
        application's named URL patterns that matches the path: all patterns are tried at once \
        (a regex set), then only the winner's captures run. Returns {path, query, action, \
        params}: action is the route's name and params its named groups, both NULL when no \
        route matches. Routes are lines `name<TAB>regex` (Rust regex syntax, which takes \
        Django's `(?P<name>…)`), `#` comments; compiled once per distinct text.",
    syntax_example = "route_request(target, routes)",
    sql_example = "SELECT route_request('/user/42/add/?ref=mail', 'add_user\t^user/(?P<user_id>\\d+)/add/$')",
    argument(name = "target", description = "The request target, e.g. `/user/42/add/?ref=mail`."),
    argument(name = "routes", description = "The routes file's text (a constant).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RouteRequest {
    signature: Signature,
}

impl RouteRequest {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for RouteRequest {
    fn default() -> Self {
        Self::new()
    }
}

fn result_fields() -> Fields {
    Fields::from(vec![
        Field::new("path", DataType::Utf8, true),
        Field::new("query", string_map_type(), true),
        Field::new("action", DataType::Utf8, true),
        Field::new("params", string_map_type(), true),
    ])
}

/// A routes file's text and its compiled routes.
type Compiled = Option<(String, Arc<Routes>)>;

/// The routes of the last call: a job routes every batch with the same file.
static COMPILED: LazyLock<Mutex<Compiled>> = LazyLock::new(|| Mutex::new(None));

fn compiled(text: &str) -> Result<Arc<Routes>> {
    let mut last = COMPILED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((t, routes)) = last.as_ref()
        && t == text
    {
        return Ok(Arc::clone(routes));
    }
    let routes = Arc::new(Routes::parse(text).or_else(|e| exec_err!("route_request: {e}"))?);
    *last = Some((text.to_string(), Arc::clone(&routes)));
    Ok(routes)
}

impl ScalarUDFImpl for RouteRequest {
    fn name(&self) -> &str {
        "route_request"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [_, _] => Ok(vec![DataType::Utf8, DataType::Utf8]),
            _ => plan_err!("route_request takes 2 arguments (target, routes)"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(result_fields()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [targets, routes] = take_function_args(self.name(), args.args)?;
        let routes = compiled(constant_string(self.name(), "routes", &routes)?)?;
        let targets = cast(&targets.into_array(rows)?, &DataType::Utf8)?;
        let targets = targets.as_string::<i32>();
        let (mut path, mut action) = (StringBuilder::new(), StringBuilder::new());
        let (mut query, mut params) = (string_map_builder(), string_map_builder());
        for i in 0..rows {
            if targets.is_null(i) {
                path.append_null();
                action.append_null();
                query.append(false).expect("keys and values match");
                params.append(false).expect("keys and values match");
                continue;
            }
            let (p, q) = split_target(targets.value(i));
            for (k, v) in q {
                query.keys().append_value(k);
                query.values().append_value(v);
            }
            query.append(true).expect("keys and values match");
            match routes.route(&p) {
                Some(r) => {
                    action.append_value(r.action);
                    for (k, v) in r.params {
                        params.keys().append_value(k);
                        params.values().append_value(v);
                    }
                    params.append(true).expect("keys and values match");
                }
                None => {
                    action.append_null();
                    params.append(false).expect("keys and values match");
                }
            }
            path.append_value(p);
        }
        let columns: Vec<ArrayRef> = vec![Arc::new(path.finish()), Arc::new(query.finish()), Arc::new(action.finish()), Arc::new(params.finish())];
        let nulls = (0..rows).map(|i| targets.is_valid(i)).collect();
        Ok(ColumnarValue::Array(Arc::new(StructArray::new(result_fields(), columns, Some(nulls)))))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
