//! The original pipeline's `config.yml` (lookalike spec, section 2): parsed,
//! `{placeholder}`s resolved, and read by dotted key with errors naming the
//! file and the key.

use chrono::NaiveDate;
use fletch_engine::params::parse_date;
use fletch_engine::{Error, Result};
use serde_json::Value;

pub struct Config {
    source: String,
    root: Value,
}

impl Config {
    /// An empty configuration: every key absent.
    pub fn none() -> Self {
        Self { source: String::new(), root: Value::Null }
    }

    pub fn parse(source: &str, text: &str) -> Result<Self> {
        let root: Value = serde_norway::from_str(text).map_err(|e| Error::input(format!("config {source}: {e}")))?;
        if !root.is_object() {
            return Err(Error::input(format!("config {source}: expected a mapping of keys at the top")));
        }
        Ok(Self { source: source.to_string(), root: resolve(&root, &root) })
    }

    fn get(&self, key: &str) -> Option<&Value> {
        key.split('.').try_fold(&self.root, |v, k| v.get(k)).filter(|v| !v.is_null())
    }

    fn bad(&self, key: &str, expected: &str) -> Error {
        Error::input(format!("config {}: {key}: expected {expected}, got {}", self.source, self.get(key).cloned().unwrap_or_default()))
    }

    pub fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(key, "a string")),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| self.bad(key, "an integer")),
        }
    }

    pub fn float(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or_else(|| self.bad(key, "a number")),
        }
    }

    pub fn date(&self, key: &str) -> Result<Option<NaiveDate>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => parse_date(s).map(Some).ok_or_else(|| self.bad(key, "a date YYYY-MM-DD")),
            Some(_) => Err(self.bad(key, "a date YYYY-MM-DD")),
        }
    }

    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    // Slot ids such as 06 are strings in the original; YAML may read bare ones as numbers.
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(self.bad(key, "a list of strings")),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(self.bad(key, "a list of strings")),
        }
    }
}

/// The original's `resolve_placeholder`: in every string, `{name}` becomes the
/// value of top-level key `name` when that value is a string; anything else stays.
fn resolve(v: &Value, top: &Value) -> Value {
    match v {
        Value::String(s) => {
            let mut out = s.clone();
            if let Some(keys) = top.as_object() {
                for (k, val) in keys {
                    if let Value::String(replacement) = val {
                        out = out.replace(&format!("{{{k}}}"), replacement);
                    }
                }
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| resolve(i, top)).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), resolve(v, top))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = r#"
product_tag: 'lookalike'
pipeline_tag: '03042021'
persona_table_name: 'ads_persona_0520'
keywords_table: 'din_ad_keywords_09172020'
log:
  level: 'WARN'
pipeline:
  main_keywords:
    keyword_output_table: '{product_tag}_{pipeline_tag}_keywords'
    keyword_threshold: 0.01
  main_clean:
    did_bucket_num: 2
    conditions: {
      'new_slot_id_list': ['06', '11', 'l03493p0r3'],
      'starting_date': '2019-12-18',
      'ending_date': '2020-04-16'
    }
  main_logs:
    interval_time_in_seconds: 86400
    note: '{missing} and {log}'
"#;

    #[test]
    fn reads_the_original_keys_with_placeholders_resolved() {
        let c = Config::parse("config.yml", ORIGINAL).unwrap();
        assert_eq!(c.string("pipeline.main_keywords.keyword_output_table").unwrap().as_deref(), Some("lookalike_03042021_keywords"));
        assert_eq!(c.float("pipeline.main_keywords.keyword_threshold").unwrap(), Some(0.01));
        assert_eq!(c.int("pipeline.main_clean.did_bucket_num").unwrap(), Some(2));
        assert_eq!(c.strings("pipeline.main_clean.conditions.new_slot_id_list").unwrap().unwrap(), ["06", "11", "l03493p0r3"]);
        assert_eq!(c.date("pipeline.main_clean.conditions.ending_date").unwrap(), NaiveDate::from_ymd_opt(2020, 4, 16));
        // Only top-level string values replace placeholders.
        assert_eq!(c.string("pipeline.main_logs.note").unwrap().as_deref(), Some("{missing} and {log}"));
        assert_eq!(c.string("showlog_table_name").unwrap(), None);
    }

    #[test]
    fn wrong_types_name_the_file_and_key() {
        let c = Config::parse("conf/config.yml", "pipeline:\n  main_clean:\n    did_bucket_num: two\n").unwrap();
        let e = c.int("pipeline.main_clean.did_bucket_num").unwrap_err();
        assert_eq!(e.to_string(), "config conf/config.yml: pipeline.main_clean.did_bucket_num: expected an integer, got \"two\"");
        assert!(Config::parse("c.yml", "- a\n- b\n").is_err());
        let e = Config::parse("c.yml", "a: [1,\n").err().unwrap();
        assert!(e.to_string().starts_with("config c.yml: "), "{e}");
    }
}
