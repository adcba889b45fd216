//! `parse_access_log`: a web server's access-log line as a struct.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Builder, Int64Builder, StringBuilder, StructArray, TimestampMicrosecondBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::log_format::{LogFormat, Parsed};
use super::{string_map_builder, string_map_type};
use crate::util::constant_string;

#[user_doc(
    doc_section(label = "Web Log Functions"),
    description = "Parses an access-log line in an Apache `LogFormat` (`common`, `combined`, or a format \
        string such as `%h %l %u %t \"%r\" %>s %b %D`) with a byte-level parser compiled once per \
        call: fields end at the text that follows them, quoted fields at their closing quote \
        (httpd's backslash escapes decoded), `%t` at its bracket. Returns {client_ip, logname, \
        user, ts (UTC), request, method, target, protocol, status, bytes, response_time_us, \
        vhost, referrer, user_agent, others}: `-` is NULL; method, target and protocol only when \
        the request line is `METHOD target HTTP/x`; `%b`/`%B`/`%O` are bytes, `%D`/`%T`/`%{ms}T` \
        the response time; other directives go to `others` under their own spelling. NULL for a \
        line that does not have the format's shape (a truncated line, a bad date or status).",
    syntax_example = "parse_access_log(line, format)",
    sql_example = "SELECT parse_access_log(line, 'combined')['status'] FROM access_log_lines",
    argument(name = "line", description = "The line (any string type)."),
    argument(name = "format", description = "`common`, `combined` or a LogFormat string (a constant).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ParseAccessLog {
    signature: Signature,
}

impl ParseAccessLog {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for ParseAccessLog {
    fn default() -> Self {
        Self::new()
    }
}

pub fn result_fields() -> Fields {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    Fields::from(vec![
        text("client_ip"),
        text("logname"),
        text("user"),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
        text("request"),
        text("method"),
        text("target"),
        text("protocol"),
        Field::new("status", DataType::Int32, true),
        Field::new("bytes", DataType::Int64, true),
        Field::new("response_time_us", DataType::Int64, true),
        text("vhost"),
        text("referrer"),
        text("user_agent"),
        Field::new("others", string_map_type(), true),
    ])
}

impl ScalarUDFImpl for ParseAccessLog {
    fn name(&self) -> &str {
        "parse_access_log"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [_, _] => Ok(vec![DataType::Utf8, DataType::Utf8]),
            _ => plan_err!("parse_access_log takes 2 arguments (line, format)"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(result_fields()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [lines, format] = take_function_args(self.name(), args.args)?;
        let format = LogFormat::compile(constant_string(self.name(), "format", &format)?).or_else(|e| exec_err!("parse_access_log: {e}"))?;
        let lines = cast(&lines.into_array(rows)?, &DataType::Utf8)?;
        let lines = lines.as_string::<i32>();
        let parsed: Vec<Option<Parsed>> = (0..rows).map(|i| if lines.is_valid(i) { format.parse(lines.value(i).as_bytes()) } else { None }).collect();
        Ok(ColumnarValue::Array(Arc::new(to_struct(&parsed))))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn to_struct(parsed: &[Option<Parsed>]) -> StructArray {
    let texts = |get: fn(&Parsed) -> &Option<String>| -> ArrayRef {
        let mut b = StringBuilder::new();
        parsed.iter().for_each(|p| b.append_option(p.as_ref().and_then(|p| get(p).as_deref())));
        Arc::new(b.finish())
    };
    let ints = |get: fn(&Parsed) -> Option<i64>| -> ArrayRef {
        let mut b = Int64Builder::new();
        parsed.iter().for_each(|p| b.append_option(p.as_ref().and_then(get)));
        Arc::new(b.finish())
    };
    let mut ts = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut status = Int32Builder::new();
    let mut others = string_map_builder();
    for p in parsed {
        ts.append_option(p.as_ref().and_then(|p| p.ts));
        status.append_option(p.as_ref().and_then(|p| p.status));
        match p {
            Some(p) => {
                for (k, v) in &p.others {
                    others.keys().append_value(k);
                    others.values().append_value(v);
                }
                others.append(true).expect("keys and values match");
            }
            None => others.append(false).expect("keys and values match"),
        }
    }
    let columns: Vec<ArrayRef> = vec![
        texts(|p| &p.client_ip),
        texts(|p| &p.logname),
        texts(|p| &p.user),
        Arc::new(ts.finish()),
        texts(|p| &p.request),
        texts(|p| &p.method),
        texts(|p| &p.target),
        texts(|p| &p.protocol),
        Arc::new(status.finish()),
        ints(|p| p.bytes),
        ints(|p| p.duration_us),
        texts(|p| &p.vhost),
        texts(|p| &p.referrer),
        texts(|p| &p.user_agent),
        Arc::new(others.finish()),
    ];
    let nulls = parsed.iter().map(Option::is_some).collect();
    StructArray::new(result_fields(), columns, Some(nulls))
}
