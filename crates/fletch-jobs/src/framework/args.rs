//! A job's own flags, validated against its [`ParamSpec`]s before any work.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::common::ScalarValue;
use fletch_engine::{Error, Result};

use super::spec::ParamSpec;

/// Validated values of a job's own flags.
#[derive(Clone, Debug, Default)]
pub struct JobArgs {
    values: BTreeMap<&'static str, Vec<ScalarValue>>,
}

impl JobArgs {
    /// Validates raw flag values against `specs`, applying defaults.
    /// `raw` holds the values given for each flag name, in order.
    pub fn parse(specs: &[ParamSpec], raw: &BTreeMap<String, Vec<String>>) -> Result<Self> {
        if let Some(unknown) = raw.keys().find(|k| !specs.iter().any(|s| s.name == k.as_str())) {
            let valid: Vec<_> = specs.iter().map(|s| format!("--{}", s.name)).collect();
            return Err(Error::usage(format!("unknown flag --{unknown}; valid flags: {}", valid.join(", "))));
        }
        let mut values = BTreeMap::new();
        for spec in specs {
            let given = raw.get(spec.name).cloned().unwrap_or_default();
            let given = match (given.is_empty(), spec.default) {
                (true, Some(d)) => vec![d.to_string()],
                (true, None) if spec.required => {
                    return Err(Error::usage(format!("missing required flag --{}", spec.name)));
                }
                _ => given,
            };
            if given.len() > 1 && !spec.repeated {
                return Err(Error::usage(format!("--{} given {} times; it takes one value", spec.name, given.len())));
            }
            let parsed = given.iter().map(|v| spec.ty.parse(&format!("--{}", spec.name), v)).collect::<Result<Vec<_>>>()?;
            values.insert(spec.name, parsed);
        }
        Ok(Self { values })
    }

    /// `--prefix`, checked as a path under the output root ('' is the root itself).
    pub fn prefix(&self) -> Result<String> {
        let prefix = self.string("prefix").unwrap_or_default();
        if !prefix.is_empty() {
            fletch_engine::outputs::check_path("--prefix", &prefix)?;
        }
        Ok(prefix)
    }

    fn one(&self, name: &str) -> Option<&ScalarValue> {
        self.values.get(name).and_then(|v| v.first())
    }

    pub fn string(&self, name: &str) -> Option<String> {
        match self.one(name) {
            Some(ScalarValue::Utf8(s)) => s.clone(),
            _ => None,
        }
    }

    /// Every value of a repeated string flag, in order.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.all(name, |v| match v {
            ScalarValue::Utf8(s) => s.clone(),
            _ => None,
        })
    }

    /// Every value of a repeated integer flag, in order.
    pub fn ints(&self, name: &str) -> Vec<i64> {
        self.all(name, |v| match v {
            ScalarValue::Int64(v) => *v,
            _ => None,
        })
    }

    fn all<T>(&self, name: &str, value: impl Fn(&ScalarValue) -> Option<T>) -> Vec<T> {
        self.values.get(name).into_iter().flatten().filter_map(value).collect()
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.one(name) {
            Some(ScalarValue::Int64(v)) => *v,
            _ => None,
        }
    }

    /// An integer flag within `range`, or a usage error naming the flag and the range.
    pub fn int_in(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<i64> {
        self.int(name)
            .filter(|v| range.contains(v))
            .ok_or_else(|| Error::usage(format!("--{name}: expected {} to {}", range.start(), range.end())))
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.one(name) {
            Some(ScalarValue::Boolean(v)) => *v,
            _ => None,
        }
    }

    pub fn date(&self, name: &str) -> Option<NaiveDate> {
        match self.one(name) {
            Some(ScalarValue::Date32(Some(days))) => NaiveDate::default().checked_add_signed(chrono::Duration::days(*days as i64)),
            _ => None,
        }
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        match self.one(name) {
            Some(ScalarValue::Float64(v)) => *v,
            _ => None,
        }
    }

    /// One of `choices`, or a usage error listing them.
    pub fn choice<'a>(&self, name: &str, choices: &[&'a str]) -> Result<&'a str> {
        let given = self.string(name).unwrap_or_default();
        choices.iter().copied().find(|c| *c == given).ok_or_else(|| {
            Error::usage(format!("--{name}: expected {}, got `{given}`", choices.join(" or ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use fletch_engine::params::ParamType;

    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::new("num-addons", ParamType::Int, "n").default("10"),
        ParamSpec::new("sql", ParamType::String, "file").required(),
        ParamSpec::new("param", ParamType::String, "p").repeated(),
    ];

    fn raw(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        m
    }

    #[test]
    fn applies_defaults_and_types() {
        let a = JobArgs::parse(SPECS, &raw(&[("sql", "q.sql"), ("param", "a=1"), ("param", "b=2")])).unwrap();
        assert_eq!(a.int("num-addons"), Some(10));
        assert_eq!(a.string("sql").as_deref(), Some("q.sql"));
        assert_eq!(a.strings("param"), ["a=1", "b=2"]);
        assert_eq!(a.choice("sql", &["x.sql", "q.sql"]).unwrap(), "q.sql");
        assert_eq!(a.choice("sql", &["x", "y"]).unwrap_err().to_string(), "--sql: expected x or y, got `q.sql`");
    }

    #[test]
    fn rejects_bad_flags_with_usage_errors() {
        let e = JobArgs::parse(SPECS, &raw(&[("sql", "q"), ("num-addons", "ten")])).unwrap_err();
        assert_eq!((e.exit_code(), e.to_string().as_str()), (2, "--num-addons: expected an integer, got `ten`"));
        let e = JobArgs::parse(SPECS, &raw(&[])).unwrap_err();
        assert_eq!(e.to_string(), "missing required flag --sql");
        let e = JobArgs::parse(SPECS, &raw(&[("sql", "q"), ("bogus", "1")])).unwrap_err();
        assert_eq!(e.to_string(), "unknown flag --bogus; valid flags: --num-addons, --sql, --param");
        let e = JobArgs::parse(SPECS, &raw(&[("sql", "a"), ("sql", "b")])).unwrap_err();
        assert!(e.to_string().contains("--sql given 2 times"));
    }
}
