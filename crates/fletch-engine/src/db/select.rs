//! The SQL fletch sends to a source database (Sqoop's): the rows to import,
//! with the user's `--where`, the incremental bounds, and one split's key
//! range added to them, in the source's own dialect.

use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};

use super::source::Engine;
use crate::{Error, Result};

/// Where `--query` puts the conditions fletch adds.
pub const CONDITIONS: &str = "$CONDITIONS";

/// The rows to import, before any split.
#[derive(Clone, Debug)]
pub enum From {
    /// `--table` with its `--columns` (all when empty).
    Table { name: String, columns: Vec<String> },
    /// `--query`, holding [`CONDITIONS`].
    Query(String),
}

#[derive(Clone, Debug)]
pub struct Select {
    pub engine: Engine,
    pub from: From,
    /// SQL conditions that every row must meet (`--where`, incremental bounds).
    pub conditions: Vec<String>,
}

impl Select {
    pub fn new(engine: Engine, from: From) -> Result<Self> {
        if let From::Query(q) = &from
            && !q.contains(CONDITIONS)
        {
            return Err(Error::usage(format!("--query must hold {CONDITIONS}, where fletch adds each split's key range (Sqoop's rule)")));
        }
        Ok(Select { engine, from, conditions: Vec::new() })
    }

    pub fn quote(&self, name: &str) -> String {
        self.engine.quote(name)
    }

    /// The rows meeting every condition and `split`.
    pub fn sql(&self, split: Option<&str>) -> String {
        let conditions = self.conditions_with(split);
        match &self.from {
            From::Table { name, columns } => {
                let columns = if columns.is_empty() { "*".to_string() } else { columns.iter().map(|c| self.quote(c)).collect::<Vec<_>>().join(", ") };
                format!("SELECT {columns} FROM {} WHERE {conditions}", self.quote(name))
            }
            From::Query(q) => q.replace(CONDITIONS, &conditions),
        }
    }

    fn conditions_with(&self, split: Option<&str>) -> String {
        let all: Vec<String> = self.conditions.iter().map(String::as_str).chain(split).map(|c| format!("({c})")).collect();
        if all.is_empty() { "(1 = 1)".to_string() } else { all.join(" AND ") }
    }

    /// One row: `MIN` and `MAX` of `column` over the rows.
    pub fn bounds_sql(&self, column: &str) -> String {
        let c = self.quote(column);
        match &self.from {
            // The table itself, so that `column` need not be among --columns.
            From::Table { name, .. } => format!("SELECT MIN({c}) AS lo, MAX({c}) AS hi FROM {} WHERE {}", self.quote(name), self.conditions_with(None)),
            From::Query(_) => format!("SELECT MIN(q.{c}) AS lo, MAX(q.{c}) AS hi FROM ({}) q", self.sql(None)),
        }
    }

    /// Conditions splitting the integer `column`'s range `bounds` into at
    /// most `n` ranges of equal width: together they hold every row once,
    /// the first also the NULL keys, the last everything above, so that a
    /// row written since the bounds were read is not lost.
    pub fn splits(&self, column: &str, bounds: Option<(i64, i64)>, n: usize) -> Vec<String> {
        let Some((lo, hi)) = bounds else { return vec!["1 = 1".to_string()] };
        let width = i128::from(hi) - i128::from(lo) + 1;
        let n = (n.max(1) as i128).min(width);
        if n <= 1 {
            return vec!["1 = 1".to_string()];
        }
        let c = self.quote(column);
        let cut = |i: i128| (i128::from(lo) + width * i / n) as i64;
        (0..n)
            .map(|i| match i {
                0 => format!("{c} IS NULL OR {c} < {}", cut(1)),
                i if i == n - 1 => format!("{c} >= {}", cut(i)),
                i => format!("{c} >= {} AND {c} < {}", cut(i), cut(i + 1)),
            })
            .collect()
    }

    /// `value` (one row of a column) as a literal of this dialect, for the
    /// incremental bounds: integers, dates and timestamps.
    pub fn literal(&self, column: &str, value: &ArrayRef) -> Result<Option<String>> {
        if value.is_null(0) {
            return Ok(None);
        }
        let text = match value.data_type() {
            t if t.is_integer() => cast(value, &DataType::Int64)?.as_primitive::<Int64Type>().value(0).to_string(),
            DataType::Date32 | DataType::Date64 => {
                let days = cast(value, &DataType::Date32)?.as_primitive::<datafusion::arrow::datatypes::Date32Type>().value(0);
                quoted(NaiveDate::from_num_days_from_ce_opt(days + 719_163).map(|d| d.to_string()))
            }
            DataType::Timestamp(_, zone) => {
                let micros = cast(value, &DataType::Timestamp(TimeUnit::Microsecond, zone.clone()))?;
                let micros = cast(&micros, &DataType::Int64)?.as_primitive::<Int64Type>().value(0);
                let at = DateTime::from_timestamp_micros(micros).map(|t| {
                    // PostgreSQL reads an offset; MySQL's and SQLite's values carry none.
                    let offset = if zone.is_some() && self.engine == Engine::Postgres { "+00:00" } else { "" };
                    format!("{}{offset}", t.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f"))
                });
                quoted(at)
            }
            // SQLite keeps timestamps as ISO text, which compares in time order.
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let text = cast(value, &DataType::Utf8)?;
                format!("'{}'", text.as_string::<i32>().value(0).replace('\'', "''"))
            }
            other => return Err(Error::usage(format!("--check-column {column}: its type ({other}) is not an integer, date, timestamp or text"))),
        };
        Ok(Some(text))
    }
}

fn quoted(text: Option<String>) -> String {
    format!("'{}'", text.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int32Array, TimestampMicrosecondArray};

    use super::*;

    fn users(engine: Engine) -> Select {
        Select::new(engine, From::Table { name: "users".into(), columns: vec!["user_id".into(), "country".into()] }).unwrap()
    }

    #[test]
    fn queries_carry_every_condition() {
        let mut s = users(Engine::Postgres);
        assert_eq!(s.sql(None), r#"SELECT "user_id", "country" FROM "users" WHERE (1 = 1)"#);
        s.conditions.push("plan = 'pro'".into());
        assert_eq!(s.sql(Some("\"user_id\" >= 5")), r#"SELECT "user_id", "country" FROM "users" WHERE (plan = 'pro') AND ("user_id" >= 5)"#);
        assert_eq!(s.bounds_sql("signup"), r#"SELECT MIN("signup") AS lo, MAX("signup") AS hi FROM "users" WHERE (plan = 'pro')"#);
        let q = Select::new(Engine::Mysql, From::Query("SELECT a FROM t WHERE $CONDITIONS".into())).unwrap();
        assert_eq!(q.sql(Some("`a` < 3")), "SELECT a FROM t WHERE (`a` < 3)");
        assert_eq!(q.bounds_sql("a"), "SELECT MIN(q.`a`) AS lo, MAX(q.`a`) AS hi FROM (SELECT a FROM t WHERE (1 = 1)) q");
        assert!(Select::new(Engine::Mysql, From::Query("SELECT a FROM t".into())).is_err());
    }

    #[test]
    fn splits_cover_the_range_and_beyond_once() {
        let s = users(Engine::Sqlite);
        assert_eq!(
            s.splits("user_id", Some((1, 10)), 3),
            vec![r#""user_id" IS NULL OR "user_id" < 4"#, r#""user_id" >= 4 AND "user_id" < 7"#, r#""user_id" >= 7"#]
        );
        // Fewer keys than splits: one split per key at most.
        assert_eq!(s.splits("user_id", Some((5, 6)), 4).len(), 2);
        assert_eq!(s.splits("user_id", None, 4), vec!["1 = 1"]);
        assert_eq!(s.splits("user_id", Some((i64::MIN, i64::MAX)), 2), vec![r#""user_id" IS NULL OR "user_id" < 0"#, r#""user_id" >= 0"#]);
    }

    #[test]
    fn literals_follow_the_dialect() {
        let pg = users(Engine::Postgres);
        let id: ArrayRef = Arc::new(Int32Array::from(vec![42]));
        assert_eq!(pg.literal("id", &id).unwrap().as_deref(), Some("42"));
        let at: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![1_764_000_000_123_456]).with_timezone("UTC"));
        assert_eq!(pg.literal("at", &at).unwrap().as_deref(), Some("'2025-11-24 16:00:00.123456+00:00'"));
        assert_eq!(users(Engine::Mysql).literal("at", &at).unwrap().as_deref(), Some("'2025-11-24 16:00:00.123456'"));
        let none: ArrayRef = Arc::new(Int32Array::from(vec![None]));
        assert_eq!(pg.literal("id", &none).unwrap(), None);
    }
}
