//! `to_python_json(value)`: the JSON text Python's `json.dumps` writes for a
//! row that went through Spark's `toJSON` and `json.loads` first, as the TAAR
//! profile export did. That text is what the TAAR service decompresses, so the
//! bytes matter: `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`,
//! struct fields in column order with NULL fields left out.

use std::fmt::Write;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

#[user_doc(
    doc_section(label = "Text and JSON Functions"),
    description = "JSON text of a value, byte for byte as Python's json.dumps writes it after Spark's \
        toJSON: struct fields in order with NULL fields omitted (at every level), NULL list \
        elements as null, ', ' and ': ' separators, non-ASCII and control characters escaped \
        as \\uXXXX, floats in Python's repr (NaN and infinities are an error). Takes structs, \
        lists, strings, integers, floats and booleans. A NULL value gives NULL.",
    syntax_example = "to_python_json(value)",
    sql_example = "SELECT to_python_json(named_struct('city', 'Zürich', 'n', 1, 'gone', NULL)); -- {\"city\": \"Z\\u00fcrich\", \"n\": 1}",
    argument(name = "value", description = "Any struct, list or scalar of the supported types.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToPythonJson {
    signature: Signature,
}

impl ToPythonJson {
    pub fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl Default for ToPythonJson {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ToPythonJson {
    fn name(&self) -> &str {
        "to_python_json"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match take_function_args(self.name(), arg_types)? {
            [t] if supported(t) => Ok(DataType::Utf8),
            [t] => plan_err!("to_python_json: cannot write {t} as JSON"),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(to_python_json_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn to_python_json_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [values] = take_function_args("to_python_json", args)?;
    let values = match values.data_type() {
        DataType::Dictionary(_, v) => cast(values, v)?,
        _ => Arc::clone(values),
    };
    let mut out = StringBuilder::with_capacity(values.len(), values.len() * 64);
    let mut text = String::new();
    for row in 0..values.len() {
        if values.is_null(row) {
            out.append_null();
        } else {
            text.clear();
            write_value(values.as_ref(), row, &mut text)?;
            out.append_value(&text);
        }
    }
    Ok(Arc::new(out.finish()))
}

fn supported(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Struct(fields) => fields.iter().all(|f| supported(f.data_type())),
        List(f) | LargeList(f) => supported(f.data_type()),
        Dictionary(_, v) => supported(v),
        t => t.is_integer() || matches!(t, Utf8 | LargeUtf8 | Utf8View | Boolean | Float32 | Float64 | Null),
    }
}

/// Appends the JSON of the non-NULL value at `row`.
fn write_value(array: &dyn Array, row: usize, out: &mut String) -> Result<()> {
    match array.data_type() {
        DataType::Struct(fields) => {
            let s = array.as_struct();
            out.push('{');
            let mut first = true;
            for (field, column) in fields.iter().zip(s.columns()) {
                if column.is_null(row) {
                    continue;
                }
                if !first {
                    out.push_str(", ");
                }
                first = false;
                write_string(field.name(), out);
                out.push_str(": ");
                write_value(column.as_ref(), row, out)?;
            }
            out.push('}');
        }
        DataType::List(_) => write_list(&array.as_list::<i32>().value(row), out)?,
        DataType::LargeList(_) => write_list(&array.as_list::<i64>().value(row), out)?,
        DataType::Utf8 => write_string(array.as_string::<i32>().value(row), out),
        DataType::LargeUtf8 => write_string(array.as_string::<i64>().value(row), out),
        DataType::Utf8View => write_string(array.as_string_view().value(row), out),
        DataType::Float64 => write_float(array.as_primitive::<Float64Type>().value(row), out)?,
        DataType::Float32 => write_float(array.as_primitive::<Float32Type>().value(row) as f64, out)?,
        DataType::Dictionary(_, v) => write_value(cast(&array.slice(row, 1), v)?.as_ref(), 0, out)?,
        // Integers and booleans print as JSON already.
        _ => write!(out, "{}", ArrayFormatter::try_new(array, &FormatOptions::default())?.value(row))?,
    }
    Ok(())
}

fn write_list(items: &ArrayRef, out: &mut String) -> Result<()> {
    out.push('[');
    for i in 0..items.len() {
        if i > 0 {
            out.push_str(", ");
        }
        if items.is_null(i) {
            out.push_str("null");
        } else {
            write_value(items.as_ref(), i, out)?;
        }
    }
    out.push(']');
    Ok(())
}

/// Python's `ensure_ascii` string encoding: only printable ASCII stays as is.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional
/// for exponents -4..16, otherwise `d.ddde+XX`.
pub fn write_float(v: f64, out: &mut String) -> Result<()> {
    if !v.is_finite() {
        return exec_err!("to_python_json: {v} is not valid JSON");
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    if (-4..16).contains(&exp) {
        let plain = format!("{v}");
        out.push_str(&plain);
        if !plain.contains('.') {
            out.push_str(".0");
        }
    } else {
        let _ = write!(out, "{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f64) -> String {
        let mut s = String::new();
        write_float(v, &mut s).unwrap();
        s
    }

    #[test]
    fn floats_print_as_python_repr() {
        // Expected values are Python 3's repr().
        for (v, py) in [
            (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (0.1, "0.1"), (1.5e-5, "1.5e-05"), (0.0001, "0.0001"),
            (1e16, "1e+16"), (1234567890123456.0, "1234567890123456.0"), (-2.5e300, "-2.5e+300"), (1.0 / 3.0, "0.3333333333333333"),
        ] {
            assert_eq!(float(v), py, "{v}");
        }
        assert!(write_float(f64::NAN, &mut String::new()).is_err());
    }

    #[test]
    fn strings_escape_as_ensure_ascii() {
        let mut s = String::new();
        write_string("Zürich \"q\" \\ \n\t\u{7f} 😀 é", &mut s);
        // json.dumps('Zürich "q" \\ \n\t\x7f 😀 é')
        assert_eq!(s, r#""Z\u00fcrich \"q\" \\ \n\t\u007f \ud83d\ude00 \u00e9""#);
    }
}

#[cfg(test)]
mod sql_tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::prelude::SessionContext;

    async fn one(ctx: &SessionContext, expr: &str) -> Option<String> {
        let batches = ctx.sql(&format!("SELECT to_python_json({expr})")).await.unwrap().collect().await.unwrap();
        let col = batches[0].column(0).as_string::<i32>();
        col.is_valid(0).then(|| col.value(0).to_string())
    }

    #[tokio::test]
    async fn nested_values_as_python_writes_them() {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::text::to_python_json()).clone());
        let profile = "named_struct('city', 'Rome', 'gone', CAST(NULL AS INT), 'length', CAST(3785 AS BIGINT), \
            'addons', [named_struct('addon_id', 'a@b', 'blocklisted', false, 'scope', CAST(NULL AS INT)), NULL], \
            'ids', ['d@e'], 'none', CAST([] AS VARCHAR[]), 'ratio', 0.25)";
        assert_eq!(
            one(&ctx, profile).await.as_deref(),
            Some(r#"{"city": "Rome", "length": 3785, "addons": [{"addon_id": "a@b", "blocklisted": false}, null], "ids": ["d@e"], "none": [], "ratio": 0.25}"#)
        );
        assert_eq!(one(&ctx, "arrow_cast('ü', 'Utf8View')").await.as_deref(), Some(r#""\u00fc""#));
        assert_eq!(one(&ctx, "arrow_cast('x', 'Dictionary(Int32, Utf8)')").await.as_deref(), Some(r#""x""#));
        assert_eq!(one(&ctx, "CAST(NULL AS VARCHAR)").await, None);
        let e = ctx.sql("SELECT to_python_json(map(['k'], [1]))").await.unwrap_err();
        assert!(e.to_string().contains("to_python_json: cannot write Map"), "{e}");
    }
}
