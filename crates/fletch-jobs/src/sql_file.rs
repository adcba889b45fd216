//! `sql-file`: runs a SQL file over every input table under the data root
//! and writes its result as a Parquet table under the output root.

use std::collections::BTreeSet;

use async_trait::async_trait;
use fletch_engine::outputs::check_path;
use fletch_engine::params::{ParamType, Params};
use fletch_engine::script::Script;
use fletch_engine::{Error, Result};

use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext, in_sql, rerun_interrupted};

pub struct SqlFile;

const SPEC: JobSpec = JobSpec {
    name: "sql-file",
    summary: "run a SQL file over the input tables and write its result as a Parquet table",
    params: &[
        ParamSpec::new("sql", ParamType::String, "SQL file to run; statements separated by `;`, the last one's result is written").required(),
        ParamSpec::new("table", ParamType::String, "output table name under the output root (default: the SQL file's name)"),
        ParamSpec::new("partition-by", ParamType::String, "comma-separated columns to Hive-partition the output by"),
        ParamSpec::new("param", ParamType::String, "SQL parameter NAME=VALUE or NAME:TYPE=VALUE (string|int|float|bool|date), used as $NAME").repeated(),
    ],
    outputs: &[OutputSpec { path: "<table>/", format: OutputFormat::Parquet, about: "the last statement's result, partitioned by --partition-by" }],
};

#[async_trait]
impl Job for SqlFile {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    /// Reports into different tables of one root run side by side.
    fn lease_name(&self, args: &JobArgs) -> String {
        table_name(args).map_or_else(|_| SPEC.name.to_string(), |t| format!("{}.{}", SPEC.name, t.replace('/', ".")))
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let path = args.string("sql").expect("required flag");
        let sql = std::fs::read_to_string(&path).map_err(|e| Error::input(format!("--sql: cannot read {path}: {e}")))?;
        let table = table_name(args)?;
        let partition_by: Vec<String> = args
            .string("partition-by")
            .map(|s| s.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect())
            .unwrap_or_default();
        let mut params = rc.base_params();
        for assignment in args.strings("param") {
            params.set_assignment(&assignment)?;
        }
        let script = Script::parse(&path, &sql)?;
        rc.prepare_scripts(&[(&table, &script)], &[]).await?;
        let progress = rc.progress.clone();
        let step = progress.step(&format!("write {table}"));
        let rows = rerun_interrupted!(rc.job_retries(), &path, write(rc, &script, &params, &path, &table, &partition_by).await)?;
        step.done(Some(rows));
        Ok(())
    }
}

/// Runs the script and stages its last statement's result as `table`; returns its rows.
async fn write(rc: &mut RunContext, script: &Script, params: &Params, path: &str, table: &str, partition_by: &[String]) -> Result<u64> {
    let df = match rc.dry_run() {
        true => script.plan_to_last(&rc.ctx, params).await?,
        false => script.run_to_last(&rc.ctx, params).await?,
    };
    let columns: BTreeSet<_> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
    if let Some(missing) = partition_by.iter().find(|c| !columns.contains(*c)) {
        return Err(Error::usage(format!(
            "--partition-by: {path} returns no column `{missing}` (columns: {})",
            columns.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    if rc.dry_run() {
        rc.plan_output(path, table, &df).await?;
        return Ok(0);
    }
    let staged = rc.outputs.stage_table(table, df, partition_by).await.map_err(|e| in_sql(path, e))?;
    Ok(staged.rows)
}

/// `--table`, else the SQL file's name; a relative path under the output root.
fn table_name(args: &JobArgs) -> Result<String> {
    let table = match args.string("table") {
        Some(t) => t,
        None => {
            let path = args.string("sql").unwrap_or_default();
            std::path::Path::new(&path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or_else(|| Error::usage(format!("--sql: {path} has no file name to name the table by")))?
        }
    };
    check_path("--table", &table)?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn table(flag: &str) -> Result<String> {
        let raw = BTreeMap::from([("sql".to_string(), vec!["q.sql".to_string()]), ("table".to_string(), vec![flag.to_string()])]);
        table_name(&JobArgs::parse(SPEC.params, &raw)?)
    }

    #[test]
    fn table_names_stay_inside_the_output_root() {
        assert_eq!(table("daily_summary").unwrap(), "daily_summary");
        assert_eq!(table("reports/daily").unwrap(), "reports/daily");
        for bad in ["", "../x", "a//b", ".hidden", "/abs"] {
            assert_eq!(table(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }
}
