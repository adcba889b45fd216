//! What every job shares: parameter specs and parsing, the run context
//! (session, roots, date, seed, progress), SQL steps and output writing.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::prelude::SessionContext;
use object_store::ObjectStoreExt;
use fletch_engine::catalog::{self, InputTable};
use fletch_engine::output::{self, Written};
use fletch_engine::params::{ParamType, Params, parse_date};
use fletch_engine::progress::Progress;
use fletch_engine::script::Script;
use fletch_engine::session::{self, Mode};
use fletch_engine::{Error, Location, Result};

/// Python truthiness of a JSON value: how the original TAAR jobs read the
/// flags of AMO records (`null`, `false`, `0`, `""`, `[]` and `{}` are false).
pub fn truthy(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The pause before retry `attempt` (1, 2, ...) of a remote call: 200 ms doubling, capped at 6.4 s.
pub fn backoff(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_millis(100 << attempt.min(6))
}

/// A list of strings as one typed SQL parameter (use with `array_has($name, x)`).
pub fn string_list(values: &[String]) -> ScalarValue {
    ScalarValue::List(ScalarValue::new_list_nullable(
        &values.iter().map(|v| ScalarValue::Utf8(Some(v.clone()))).collect::<Vec<_>>(),
        &datafusion::arrow::datatypes::DataType::Utf8,
    ))
}

/// A list of integers as one typed SQL parameter (index it as `$name[i]`).
pub fn int_list(values: &[i64]) -> ScalarValue {
    ScalarValue::List(ScalarValue::new_list_nullable(
        &values.iter().map(|v| ScalarValue::Int64(Some(*v))).collect::<Vec<_>>(),
        &datafusion::arrow::datatypes::DataType::Int64,
    ))
}

/// One job-specific flag (`--name`).
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    /// Shown by `fletch jobs`; applied when the flag is absent.
    pub default: Option<&'static str>,
    pub required: bool,
    /// The flag may be given several times.
    pub repeated: bool,
    pub help: &'static str,
}

impl ParamSpec {
    pub const fn new(name: &'static str, ty: ParamType, help: &'static str) -> Self {
        Self { name, ty, default: None, required: false, repeated: false, help }
    }
    pub const fn default(self, default: &'static str) -> Self {
        Self { default: Some(default), ..self }
    }
    pub const fn required(self) -> Self {
        Self { required: true, ..self }
    }
    pub const fn repeated(self) -> Self {
        Self { repeated: true, ..self }
    }
}

/// One output a job declares.
#[derive(Clone, Copy, Debug)]
pub struct OutputSpec {
    /// Path under the output root; `<flag>` marks a part set by a flag.
    pub path: &'static str,
    pub format: OutputFormat,
    pub about: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// A Parquet table folder, optionally Hive-partitioned.
    Parquet,
    /// A JSON file and its dated copy `<name><YYYYMMDD>.json`.
    Json,
    /// A folder of TFRecord files of `tf.train.Example` records.
    TfRecord,
}

/// The flags every `fletch run JOB` takes, for listings.
pub const COMMON_PARAMS: &[ParamSpec] = &[
    ParamSpec::new("data-root", ParamType::String, "where input tables live (path, file://, s3://, memory://)").required(),
    ParamSpec::new("output-root", ParamType::String, "where outputs go (path, file://, s3://, memory://)").required(),
    ParamSpec::new("date", ParamType::Date, "the run date, YYYYMMDD; defaults to today (UTC)"),
    ParamSpec::new("seed", ParamType::Int, "seed for every random choice").default("42"),
    ParamSpec::new("scheduler", ParamType::String, "HOST:PORT of a Ballista scheduler; embedded when absent"),
];

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
            let parsed = given
                .iter()
                .map(|v| spec.ty.parse(&format!("--{}", spec.name), v))
                .collect::<Result<Vec<_>>>()?;
            values.insert(spec.name, parsed);
        }
        Ok(Self { values })
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

    pub fn strings(&self, name: &str) -> Vec<String> {
        self.values
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|v| match v {
                ScalarValue::Utf8(s) => s.clone(),
                _ => None,
            })
            .collect()
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
}

/// The flags every job shares, validated.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub data_root: Location,
    pub output_root: Location,
    pub date: NaiveDate,
    pub seed: u64,
    pub mode: Mode,
    pub quiet: bool,
}

impl RunOptions {
    pub fn new(
        data_root: &str,
        output_root: &str,
        date: Option<&str>,
        seed: Option<&str>,
        scheduler: Option<&str>,
        quiet: bool,
    ) -> Result<Self> {
        let date = match date {
            None => chrono::Utc::now().date_naive(),
            Some(d) => parse_date(d)
                .ok_or_else(|| Error::usage(format!("--date: expected YYYYMMDD, got `{d}`")))?,
        };
        let seed = match seed {
            None => 42,
            Some(s) => s
                .parse()
                .map_err(|_| Error::usage(format!("--seed: expected a non-negative integer, got `{s}`")))?,
        };
        Ok(Self {
            data_root: Location::parse("--data-root", data_root)?,
            output_root: Location::parse("--output-root", output_root)?,
            date,
            seed,
            mode: Mode::from_scheduler(scheduler),
            quiet,
        })
    }
}

/// What a running job works with.
pub struct RunContext {
    pub ctx: SessionContext,
    pub opts: RunOptions,
    pub progress: Progress,
}

impl RunContext {
    pub async fn connect(opts: RunOptions) -> Result<Self> {
        let progress = Progress::new(opts.quiet);
        let ctx = session::connect(&opts.mode).await?;
        Ok(Self { ctx, opts, progress })
    }

    /// `YYYYMMDD`, as the dated output copies and `submission_date_s3` spell it.
    pub fn date_compact(&self) -> String {
        self.opts.date.format("%Y%m%d").to_string()
    }

    /// `$date` (a DATE) and `$seed` (BIGINT), which every SQL step may use.
    pub fn base_params(&self) -> Params {
        let mut p = Params::default();
        p.set("date", ScalarValue::Date32(Some((self.opts.date - NaiveDate::default()).num_days() as i32)));
        p.set("seed", ScalarValue::Int64(Some(self.opts.seed as i64)));
        p
    }

    /// Registers `data_root/<table>/` as an input table.
    pub async fn input(&self, table: &str) -> Result<InputTable> {
        catalog::register_input(&self.ctx, &self.opts.data_root, table).await
    }

    /// Registers `data_root/<table>/` as an input table that is read only
    /// through the named struct fields of its list-of-struct columns.
    pub async fn input_reading(&self, table: &str, fields: &[(&str, &[&str])]) -> Result<InputTable> {
        let input = self.input(table).await?;
        catalog::narrow_struct_lists(&self.ctx, &input, table, fields).await?;
        Ok(input)
    }

    /// Registers `input` a second time, as table `name`, read only through
    /// the named struct fields: a scan that needs less of the same files.
    pub async fn input_view(&self, input: &InputTable, name: &str, fields: &[(&str, &[&str])]) -> Result<()> {
        catalog::narrow_struct_lists(&self.ctx, input, name, fields).await
    }

    /// Plans a SQL step (every statement of `sql`, the last one returned).
    pub async fn sql_step(&self, source: &str, sql: &str, params: &Params) -> Result<DataFrame> {
        Script::parse(source, sql)?.run_to_last(&self.ctx, params).await
    }

    /// Runs `df` and writes it as Parquet table `output_root/<table>/`, atomically.
    pub async fn write_table(&self, table: &str, df: DataFrame, partition_by: &[String]) -> Result<Written> {
        let step = self.progress.step(&format!("write {table}"));
        let written = output::write_table(df, &self.opts.output_root, table, partition_by).await?;
        step.done(written.rows);
        Ok(written)
    }

    /// Reads and parses a JSON input given as a path (relative to the current
    /// directory) or URL; `what` names it in errors. Returns the absolute URL too.
    pub async fn read_json<T: serde::de::DeserializeOwned>(&self, what: &str, location: &str) -> Result<(String, T)> {
        let (url, bytes) = self.read_bytes(what, location).await?;
        let value = serde_json::from_slice(&bytes).map_err(|e| Error::input(format!("{what} {url}: {e}")))?;
        Ok((url, value))
    }

    /// Reads a file given as a path (relative to the current directory) or
    /// URL; `what` names it in errors. Returns the absolute URL too.
    pub async fn read_bytes(&self, what: &str, location: &str) -> Result<(String, bytes::Bytes)> {
        let url = ListingTableUrl::parse(location).map_err(|e| Error::usage(format!("{what}: {location}: {e}")))?;
        let store = self.ctx.runtime_env().object_store(url.object_store())?;
        match store.get(url.prefix()).await {
            Ok(got) => Ok((url.to_string(), got.bytes().await?)),
            Err(e) => Err(Error::input(format!("{what} {url}: cannot read: {e}"))),
        }
    }

    /// The `$start` (exclusive) and `$end` (inclusive) `submission_date_s3`
    /// bounds of the `days` days ending on `--date`.
    pub fn window_params(&self, days: i64) -> Params {
        let mut p = self.base_params();
        let start = self.opts.date - chrono::Days::new(days as u64);
        p.set("start", ScalarValue::Utf8(Some(start.format("%Y%m%d").to_string())));
        p.set("end", ScalarValue::Utf8(Some(self.date_compact())));
        p
    }

    /// Writes `<prefix><base>.json` and its dated copy under the output root.
    pub async fn write_json(&self, prefix: &str, base: &str, value: &serde_json::Value) -> Result<Vec<Written>> {
        let step = self.progress.step(&format!("write {prefix}{base}.json"));
        let written = output::write_json(&self.opts.output_root, prefix, base, &self.date_compact(), value).await?;
        step.done(None);
        Ok(written)
    }
}

#[async_trait]
pub trait Job: Sync {
    fn name(&self) -> &'static str;
    /// One line for `fletch jobs`.
    fn about(&self) -> &'static str;
    /// The job's own flags (the common ones are in [`COMMON_PARAMS`]).
    fn params(&self) -> &'static [ParamSpec];
    /// What the job writes under the output root, for listings and docs.
    fn outputs(&self) -> &'static [OutputSpec];
    async fn run(&self, rc: &RunContext, args: &JobArgs) -> Result<Vec<Written>>;
}

#[cfg(test)]
mod tests {
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
    fn python_truthiness() {
        use serde_json::json;
        for (v, t) in [(json!(null), false), (json!(false), false), (json!(true), true), (json!(0), false), (json!(""), false), (json!("x"), true), (json!([]), false), (json!({"k": 1}), true)] {
            assert_eq!(truthy(&v), t, "{v}");
        }
    }

    #[test]
    fn applies_defaults_and_types() {
        let a = JobArgs::parse(SPECS, &raw(&[("sql", "q.sql"), ("param", "a=1"), ("param", "b=2")])).unwrap();
        assert_eq!(a.int("num-addons"), Some(10));
        assert_eq!(a.string("sql").as_deref(), Some("q.sql"));
        assert_eq!(a.strings("param"), ["a=1", "b=2"]);
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
