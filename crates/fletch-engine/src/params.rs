//! Typed SQL parameters. SQL refers to them as `$name`; values are bound into
//! the plan as typed literals, never pasted into the SQL text.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{ParamValues, ScalarValue};

use crate::error::{Error, Result};

/// The type of a parameter, as given on the command line (`name:TYPE=value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    String,
    Int,
    Float,
    Bool,
    /// `YYYY-MM-DD` or `YYYYMMDD`, bound as a SQL `DATE`.
    Date,
}

impl ParamType {
    pub const ALL: [(&'static str, ParamType); 5] = [
        ("string", ParamType::String),
        ("int", ParamType::Int),
        ("float", ParamType::Float),
        ("bool", ParamType::Bool),
        ("date", ParamType::Date),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map(|(n, _)| *n).expect("listed")
    }

    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, t)| *t)
    }

    /// Parses `value` as this type; `what` names the flag or parameter in errors.
    pub fn parse(self, what: &str, value: &str) -> Result<ScalarValue> {
        let bad = |expected: &str| Error::usage(format!("{what}: expected {expected}, got `{value}`"));
        Ok(match self {
            ParamType::String => ScalarValue::Utf8(Some(value.to_string())),
            ParamType::Int => ScalarValue::Int64(Some(value.parse().map_err(|_| bad("an integer"))?)),
            ParamType::Float => {
                let v: f64 = value.parse().map_err(|_| bad("a number"))?;
                if !v.is_finite() {
                    return Err(bad("a finite number"));
                }
                ScalarValue::Float64(Some(v))
            }
            ParamType::Bool => ScalarValue::Boolean(Some(value.parse().map_err(|_| bad("true or false"))?)),
            ParamType::Date => {
                date_value(parse_date(value).ok_or_else(|| bad("a date YYYY-MM-DD or YYYYMMDD"))?)
            }
        })
    }
}

/// A date as a SQL `DATE` value.
fn date_value(d: NaiveDate) -> ScalarValue {
    ScalarValue::Date32(Some((d - NaiveDate::default()).num_days() as i32))
}

/// Accepts `YYYYMMDD` (the TAAR jobs' form) and `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
        .filter(|_| s.len() == 8 || s.len() == 10)
}

/// Named parameter values for a SQL script.
#[derive(Clone, Debug, Default)]
pub struct Params {
    values: BTreeMap<String, ScalarValue>,
}

impl Params {
    pub fn set(&mut self, name: &str, value: ScalarValue) {
        self.values.insert(name.to_string(), value);
    }

    pub fn set_string(&mut self, name: &str, value: impl Into<String>) {
        self.set(name, ScalarValue::Utf8(Some(value.into())));
    }

    pub fn set_int(&mut self, name: &str, value: i64) {
        self.set(name, ScalarValue::Int64(Some(value)));
    }

    pub fn set_float(&mut self, name: &str, value: f64) {
        self.set(name, ScalarValue::Float64(Some(value)));
    }

    pub fn set_bool(&mut self, name: &str, value: bool) {
        self.set(name, ScalarValue::Boolean(Some(value)));
    }

    /// A SQL `DATE`.
    pub fn set_date(&mut self, name: &str, value: NaiveDate) {
        self.set(name, date_value(value));
    }

    /// A list of strings (use with `array_has($name, x)`).
    pub fn set_strings(&mut self, name: &str, values: &[impl AsRef<str>]) {
        let items: Vec<_> = values.iter().map(|v| ScalarValue::Utf8(Some(v.as_ref().to_string()))).collect();
        self.set(name, ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Utf8)));
    }

    /// A list of integers (index it as `$name[i]`, 1-based).
    pub fn set_ints(&mut self, name: &str, values: &[i64]) {
        let items: Vec<_> = values.iter().map(|v| ScalarValue::Int64(Some(*v))).collect();
        self.set(name, ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Int64)));
    }

    pub fn get(&self, name: &str) -> Option<&ScalarValue> {
        self.values.get(name)
    }

    /// Parses `name=value` (a string) or `name:TYPE=value` and sets it.
    pub fn set_assignment(&mut self, assignment: &str) -> Result<()> {
        let (lhs, value) = assignment.split_once('=').ok_or_else(|| {
            Error::usage(format!("--param: expected NAME=VALUE or NAME:TYPE=VALUE, got `{assignment}`"))
        })?;
        let (name, ty) = match lhs.split_once(':') {
            None => (lhs, ParamType::String),
            Some((name, ty)) => (
                name,
                ParamType::from_name(ty).ok_or_else(|| {
                    let valid: Vec<_> = ParamType::ALL.iter().map(|(n, _)| *n).collect();
                    Error::usage(format!("--param {name}: unknown type `{ty}`; valid types: {}", valid.join(", ")))
                })?,
            ),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::usage(format!(
                "--param: `{name}` is not a valid name (letters, digits and _ only)"
            )));
        }
        let value = ty.parse(&format!("--param {name}"), value)?;
        self.set(name, value);
        Ok(())
    }

    pub fn to_param_values(&self) -> ParamValues {
        ParamValues::from(self.values.clone().into_iter().collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_typed() {
        let mut p = Params::default();
        p.set_assignment("who=world").unwrap();
        p.set_assignment("n:int=42").unwrap();
        p.set_assignment("eps:float=0.4").unwrap();
        p.set_assignment("on:bool=true").unwrap();
        p.set_assignment("day:date=20261122").unwrap();
        assert_eq!(p.get("who"), Some(&ScalarValue::Utf8(Some("world".into()))));
        assert_eq!(p.get("n"), Some(&ScalarValue::Int64(Some(42))));
        assert_eq!(p.get("eps"), Some(&ScalarValue::Float64(Some(0.4))));
        assert_eq!(p.get("on"), Some(&ScalarValue::Boolean(Some(true))));
        // 2026-11-22 is day 20779 after 1970-01-01.
        assert_eq!(p.get("day"), Some(&ScalarValue::Date32(Some(20779))));
    }

    #[test]
    fn bad_assignments_name_the_parameter() {
        let mut p = Params::default();
        let e = p.set_assignment("n:int=abc").unwrap_err();
        assert_eq!(e.to_string(), "--param n: expected an integer, got `abc`");
        assert_eq!(e.exit_code(), 2);
        let e = p.set_assignment("x:money=1").unwrap_err().to_string();
        assert!(e.contains("unknown type `money`; valid types: string, int, float, bool, date"), "{e}");
        assert!(p.set_assignment("novalue").is_err());
        assert!(p.set_assignment("bad-name=1").is_err());
        assert!(p.set_assignment("d:date=2026-13-01").is_err());
    }

    #[test]
    fn dates_take_both_forms() {
        assert_eq!(parse_date("20261122"), parse_date("2026-11-22"));
        assert!(parse_date("2026112").is_none());
        assert!(parse_date("20260230").is_none());
    }
}
