//! `sql-file`: runs a SQL file over every input table under the data root
//! and writes its result as a Parquet table under the output root.

use std::collections::BTreeSet;

use async_trait::async_trait;
use fletch_engine::catalog;
use fletch_engine::output::Written;
use fletch_engine::params::{ParamType, Params};
use fletch_engine::{Error, Result};

use crate::framework::{Job, JobArgs, OutputFormat, OutputSpec, ParamSpec, RunContext};

pub struct SqlFile;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::new("sql", ParamType::String, "SQL file to run; statements separated by `;`, the last one's result is written").required(),
    ParamSpec::new("table", ParamType::String, "output table name under the output root (default: the SQL file's name)"),
    ParamSpec::new("partition-by", ParamType::String, "comma-separated columns to Hive-partition the output by"),
    ParamSpec::new("param", ParamType::String, "SQL parameter NAME=VALUE or NAME:TYPE=VALUE (string|int|float|bool|date), used as $NAME").repeated(),
];

#[async_trait]
impl Job for SqlFile {
    fn name(&self) -> &'static str {
        "sql-file"
    }
    fn about(&self) -> &'static str {
        "run a SQL file over the input tables and write its result as a Parquet table"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn outputs(&self) -> &'static [OutputSpec] {
        &[OutputSpec {
            path: "<table>/",
            format: OutputFormat::Parquet,
            about: "the last statement's result, partitioned by --partition-by",
        }]
    }
    async fn run(&self, rc: &RunContext, args: &JobArgs) -> Result<Vec<Written>> {
        let path = args.string("sql").expect("required flag");
        let sql = std::fs::read_to_string(&path).map_err(|e| Error::input(format!("--sql: cannot read {path}: {e}")))?;
        let table = match args.string("table") {
            Some(t) => t,
            None => std::path::Path::new(&path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or_else(|| Error::usage(format!("--sql: {path} has no file name to name the table by")))?,
        };
        validate_table_name(&table)?;
        let partition_by: Vec<String> = args
            .string("partition-by")
            .map(|s| s.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect())
            .unwrap_or_default();
        let mut params = rc.base_params();
        for assignment in args.strings("param") {
            params.set_assignment(&assignment)?;
        }
        Ok(vec![run_sql(rc, &path, &sql, &table, &partition_by, &params).await?])
    }
}

/// Output tables are single folder names under the output root.
fn validate_table_name(table: &str) -> Result<()> {
    if table.is_empty() || table.starts_with('.') || !table.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
        return Err(Error::usage(format!(
            "--table: `{table}` is not a table name (letters, digits, `_`, `-`, `.`; not starting with `.`)"
        )));
    }
    Ok(())
}

/// Registers the inputs, runs `sql` and writes its result as `table`.
pub async fn run_sql(
    rc: &RunContext,
    source: &str,
    sql: &str,
    table: &str,
    partition_by: &[String],
    params: &Params,
) -> Result<Written> {
    let step = rc.progress.step("register inputs");
    let inputs = catalog::register_all_inputs(&rc.ctx, &rc.opts.data_root).await?;
    step.done_counting(inputs.len() as u64, "tables");
    let df = rc.sql_step(source, sql, params).await.map_err(|e| name_missing_table(e, &inputs, rc))?;
    let columns: BTreeSet<_> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
    if let Some(missing) = partition_by.iter().find(|c| !columns.contains(*c)) {
        return Err(Error::usage(format!(
            "--partition-by: {source} returns no column `{missing}` (columns: {})",
            columns.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    rc.write_table(table, df, partition_by).await
}

/// DataFusion's "table not found" does not say where fletch looked.
fn name_missing_table(e: Error, inputs: &[catalog::InputTable], rc: &RunContext) -> Error {
    match e {
        Error::Input(msg) if msg.contains("table '") && msg.contains("not found") => {
            let names: Vec<_> = inputs.iter().map(|t| t.name.as_str()).collect();
            Error::input(format!(
                "{msg}; input tables are the Parquet folders under {} (found: {})",
                rc.opts.data_root,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_stay_inside_the_output_root() {
        assert!(validate_table_name("daily_summary").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(validate_table_name(bad).is_err(), "{bad}");
        }
    }
}
