//! `db-import`: Sqoop's import (docs/jobs/db-import.md). A table or query of
//! PostgreSQL, MySQL/MariaDB or SQLite is read in key-range splits, each a
//! partition of one scan that runs on an executor, and written as a Parquet
//! table; incremental imports read only rows past the last value kept beside
//! the table and add them to it (`previous_rows`), in one output transaction.

mod incremental;

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::JoinType;
use datafusion::prelude::{DataFrame, cast, col};
use fletch_engine::db::{DbScan, DbTable, From, Pool, Select, Source};
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use datafusion::arrow::array::Array;

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};
use incremental::Incremental;

crate::sql_steps!("db-import" {
    imported: Output(&[]),
});

pub struct DbImport;

/// Where the password comes from when there is no `--password-file`.
pub const PASSWORD_ENV: &str = "FLETCH_DB_PASSWORD";

const SPEC: JobSpec = JobSpec {
    name: "db-import",
    summary: "A PostgreSQL, MySQL/MariaDB or SQLite table or query imported as Parquet, read in key-range splits in parallel (Sqoop's import), optionally incremental",
    params: &[
        ParamSpec::new("connect", ParamType::String, "postgres://USER@HOST:PORT/DB, mysql://USER@HOST:PORT/DB (?sslmode=…) or sqlite://FILE under the data root").required(),
        ParamSpec::new("password-file", ParamType::String, "a file holding the password (else FLETCH_DB_PASSWORD, else none)"),
        ParamSpec::new("table", ParamType::String, "the table to import (schema.table allowed)"),
        ParamSpec::new("query", ParamType::String, "a SELECT holding $CONDITIONS instead of --table; needs --target"),
        ParamSpec::new("columns", ParamType::String, "--table's columns to import, comma-separated (default: all)"),
        ParamSpec::new("where", ParamType::String, "an SQL condition in the source's dialect that every imported row meets"),
        ParamSpec::new("split-by", ParamType::String, "an integer column whose range is cut into --num-splits ranges read in parallel"),
        ParamSpec::new("num-splits", ParamType::Int, "how many ranges of --split-by to read in parallel").default("4"),
        ParamSpec::new("incremental", ParamType::String, "append (new rows by --check-column) or lastmodified (rows changed since, replacing their old version by --merge-key)"),
        ParamSpec::new("check-column", ParamType::String, "the integer, date or timestamp column an incremental import compares with the last value"),
        ParamSpec::new("last-value", ParamType::String, "import rows past this value instead of the one kept from the last import"),
        ParamSpec::new("merge-key", ParamType::String, "lastmodified: the column whose rows replace those with the same key"),
        ParamSpec::new("partition-by", ParamType::String, "Hive-partition the table by these columns, comma-separated"),
        ParamSpec::new("target", ParamType::String, "the output table's name (default: --table's, without its schema)"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("db/"),
    ],
    outputs: &[
        OutputSpec { path: "<prefix><target>", format: OutputFormat::Parquet, about: "the imported rows, partitioned by --partition-by" },
        OutputSpec { path: "<prefix>_imports/<target>.json", format: OutputFormat::Json, about: "incremental imports: the check column and the last value imported" },
    ],
};

#[async_trait]
impl Job for DbImport {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let list = |name: &str| args.string(name).map(|s| s.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect::<Vec<_>>()).unwrap_or_default();
        let (from, target) = match (args.string("table"), args.string("query")) {
            (Some(table), None) => {
                let target = args.string("target").unwrap_or_else(|| table.rsplit('.').next().unwrap_or(&table).to_string());
                (From::Table { name: table, columns: list("columns") }, target)
            }
            (None, Some(query)) => match (args.string("target"), args.string("columns")) {
                (Some(target), None) => (From::Query(query), target),
                (None, _) => return Err(Error::usage("--query needs --target, the output table's name")),
                (_, Some(_)) => return Err(Error::usage("--columns goes with --table; a --query selects its own columns")),
            },
            _ => return Err(Error::usage("give exactly one of --table and --query")),
        };
        fletch_engine::outputs::check_path("--target", &target)?;
        let splits = args.int_in("num-splits", 1..=1024)? as usize;
        let mut incremental = Incremental::from_args(args, &prefix, &target)?;

        let source = Source::parse(&args.string("connect").unwrap_or_default(), password(args)?, |file| sqlite_path(rc, file))?;
        rc.progress.note(&format!("source {source}"));
        let pool = source.open().await?;
        let mut select = Select::new(source.engine, from)?;
        if let Some(condition) = args.string("where") {
            select.conditions.push(condition);
        }
        let schema = columns(&pool, &select, &source).await?;
        let previous = match &mut incremental {
            Some(inc) => inc.bound(rc, &pool, &mut select, &schema, &source).await?,
            None => None,
        };
        let queries = match args.string("split-by") {
            Some(key) => {
                let bounds = key_bounds(&pool, &select, &key, &source).await?;
                select.splits(&key, bounds, splits).into_iter().map(|split| select.sql(Some(&split))).collect()
            }
            None => vec![select.sql(None)],
        };
        rc.progress.note(&format!("{} split{} of {}", queries.len(), if queries.len() == 1 { "" } else { "s" }, queries[0]));
        let scan = DbScan { source, queries, schema: schema.clone() };
        let fresh = rc.ctx.read_table(Arc::new(DbTable(scan)))?;
        let kept = match (&previous, &incremental) {
            (Some(folder), Some(inc)) => previous_rows(rc, folder, &schema, &fresh, inc.merge_key()).await?,
            _ => fresh.clone().limit(0, Some(0))?,
        };
        for (name, df) in [("db_rows", fresh), ("previous_rows", kept)] {
            rc.ctx.deregister_table(name)?;
            rc.ctx.register_table(name, df.into_view())?;
        }
        rc.prepare(&STEPS.all(), &[]).await?;
        let folder = format!("{prefix}{target}");
        rc.set_output_folder(&STEPS.imported, &folder);
        let partition_by = list("partition-by");
        if let Some(missing) = partition_by.iter().find(|c| schema.field_with_name(c).is_err()) {
            return Err(Error::usage(format!("--partition-by: no column `{missing}` among the imported ones ({})", names(&schema))));
        }
        rc.set_output_partitions(&STEPS.imported, partition_by);
        rc.run(&STEPS.imported, &rc.base_params()).await?;
        if let Some(inc) = incremental {
            inc.stage(rc).await?;
        }
        Ok(())
    }
}

/// `--password-file`'s first line, else [`PASSWORD_ENV`].
fn password(args: &JobArgs) -> Result<Option<String>> {
    match args.string("password-file") {
        Some(file) => {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::usage(format!("--password-file {file}: {e}")))?;
            Ok(Some(text.lines().next().unwrap_or_default().to_string()))
        }
        None => Ok(std::env::var(PASSWORD_ENV).ok()),
    }
}

/// A SQLite file under the data root, which must be a local folder.
fn sqlite_path(rc: &RunContext, file: &str) -> Result<String> {
    fletch_engine::outputs::check_path("--connect sqlite://", file)?;
    let root = rc.opts.data_root.local_path().ok_or_else(|| Error::usage(format!("--connect sqlite://{file}: the data root {} is not a local folder", rc.opts.data_root)))?;
    Ok(root.join(file).display().to_string())
}

fn names(schema: &SchemaRef) -> String {
    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

/// The imported columns and their Arrow types: the catalog's for a table
/// (in --columns' order), the first row's for a query.
async fn columns(pool: &Pool, select: &Select, source: &Source) -> Result<SchemaRef> {
    let failed = |what: &str, e: &dyn std::fmt::Display| Error::input(format!("{source}: {what}: {}", source.redact(&e.to_string())));
    match &select.from {
        From::Table { name, columns } => {
            let all = pool.table_schema(name).await.map_err(|e| failed(&format!("table {name}"), &e))?;
            if columns.is_empty() {
                return Ok(all);
            }
            let indices = columns
                .iter()
                .map(|c| all.index_of(c).map_err(|_| Error::usage(format!("--columns: table {name} has no column `{c}` (it has {})", names(&all)))))
                .collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(all.project(&indices)?))
        }
        From::Query(_) => {
            let sql = format!("SELECT * FROM ({}) q LIMIT 1", select.sql(None));
            let batches = pool.collect(&sql).await.map_err(|e| failed("--query", &e))?;
            match batches.first() {
                Some(b) if b.num_columns() > 0 => Ok(b.schema()),
                _ => Err(Error::input(format!("{source}: --query returned no row to learn its columns' types from; import a --table, or widen the query"))),
            }
        }
    }
}

/// `MIN` and `MAX` of the integer `key` over the rows to import.
async fn key_bounds(pool: &Pool, select: &Select, key: &str, source: &Source) -> Result<Option<(i64, i64)>> {
    let sql = select.bounds_sql(key);
    let failed = |e: &dyn std::fmt::Display| Error::input(format!("{source}: --split-by {key}: `{sql}`: {}", source.redact(&e.to_string())));
    let batches = pool.collect(&sql).await.map_err(|e| failed(&e))?;
    let Some(row) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(None) };
    let bound = |i: usize| -> Result<Option<i64>> {
        let c = row.column(i);
        if !c.data_type().is_integer() && !c.data_type().is_null() {
            return Err(Error::usage(format!("--split-by {key}: the column is {}, not an integer", c.data_type())));
        }
        let c = datafusion::arrow::compute::cast(c, &DataType::Int64)?;
        let c = c.as_any().downcast_ref::<datafusion::arrow::array::Int64Array>().expect("cast to Int64");
        Ok(c.is_valid(0).then(|| c.value(0)))
    };
    Ok(bound(0)?.zip(bound(1)?))
}

/// The table the last import wrote, as this run reads it.
const LAST_IMPORT: &str = "last_import";

/// The rows of the last import at `folder` that stay: all of them, or
/// (`merge_key`) those whose key no fresh row has. In the imported columns'
/// order and types (a partition column reads back as text).
async fn previous_rows(rc: &mut RunContext, folder: &str, schema: &SchemaRef, fresh: &DataFrame, merge_key: Option<&str>) -> Result<DataFrame> {
    rc.register_input(&Input::new(LAST_IMPORT).at(folder).made_by("an earlier db-import")).await?;
    let columns = schema.fields().iter().map(|f| cast(col(format!("\"{}\"", f.name())), f.data_type().clone()).alias(f.name())).collect::<Vec<_>>();
    let previous = rc.ctx.table(LAST_IMPORT).await?.select(columns).map_err(|e| Error::input(format!("the last import at {folder} does not have this import's columns: {e}")))?;
    Ok(match merge_key {
        Some(key) => {
            let keys = fresh.clone().select(vec![col(format!("\"{key}\"")).alias("fletch_merge_key")])?;
            previous.join(keys, JoinType::LeftAnti, &[key], &["fletch_merge_key"], None)?
        }
        None => previous,
    })
}
