//! A database `--connect` names (`postgres://…`, `mysql://…`, `sqlite://…`),
//! and connections to it through datafusion-table-providers, whose
//! conversions of each engine's types to Arrow fletch uses as they are.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::common::TableReference;
use datafusion::execution::SendableRecordBatchStream;
use datafusion_table_providers_common::sql::db_connection_pool::dbconnection::{AsyncDbConnection, DbConnection};
use datafusion_table_providers_common::UnsupportedTypeAction;
use datafusion_table_providers_common::sql::db_connection_pool::{DbConnectionPool, Mode};
use datafusion_table_providers_mysql::pool::MySQLConnectionPool;
use datafusion_table_providers_postgres::pool::PostgresConnectionPool;
use datafusion_table_providers_sqlite::pool::{SqliteConnectionPool, SqliteConnectionPoolFactory};
use futures::TryStreamExt;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

type DbError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Engine {
    Postgres,
    Mysql,
    Sqlite,
}

impl Engine {
    /// `name` quoted as an identifier (`schema.table` part by part).
    pub fn quote(self, name: &str) -> String {
        let q = if self == Engine::Mysql { '`' } else { '"' };
        name.split('.').map(|part| format!("{q}{}{q}", part.replace(q, &format!("{q}{q}")))).collect::<Vec<_>>().join(".")
    }
}

/// Where a database is and who connects; the password never shows in
/// `Display`, `Debug` or messages.
#[derive(Clone, Serialize, Deserialize)]
pub struct Source {
    pub engine: Engine,
    /// The `--connect` URL without its password; for SQLite, the file's path.
    url: String,
    password: Option<String>,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Source({})", self.url)
    }
}

impl Source {
    /// Parses `--connect`. A SQLite path is made absolute by `sqlite_path`
    /// (fletch keeps it under the data root). A password in the URL is taken
    /// out of it; `password` (from a file or the environment) wins over it.
    pub fn parse(connect: &str, password: Option<String>, sqlite_path: impl Fn(&str) -> Result<String>) -> Result<Self> {
        let bad = |why: &str| Error::usage(format!("--connect: {why} (expected postgres://USER@HOST:PORT/DB, mysql://USER@HOST:PORT/DB or sqlite://FILE)"));
        if let Some(file) = connect.strip_prefix("sqlite://") {
            return Ok(Source { engine: Engine::Sqlite, url: sqlite_path(file)?, password: None });
        }
        let mut url = url::Url::parse(connect).map_err(|e| bad(&e.to_string()))?;
        let engine = match url.scheme() {
            "postgres" | "postgresql" => Engine::Postgres,
            "mysql" | "mariadb" => Engine::Mysql,
            other => return Err(bad(&format!("unknown scheme `{other}`"))),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if url.path().trim_start_matches('/').is_empty() {
            return Err(bad("no database name"));
        }
        let in_url = url.password().map(percent_decode);
        if in_url.is_some() {
            log::warn!("--connect carries a password, which other users of this machine can read in the process list: prefer --password-file or FLETCH_DB_PASSWORD");
            let _ = url.set_password(None);
        }
        Ok(Source { engine, url: url.to_string(), password: password.or(in_url) })
    }

    /// `message` with the password, should a driver echo it, blotted out.
    pub fn redact(&self, message: &str) -> String {
        match &self.password {
            Some(p) if !p.is_empty() => message.replace(p.as_str(), "***"),
            _ => message.to_string(),
        }
    }

    /// A new connection (pool) to the database, checked by connecting once.
    pub async fn open(&self) -> Result<Pool> {
        self.open_inner().await.map_err(|e| Error::input(format!("cannot connect to {self}: {}", self.redact(&e.to_string()))))
    }

    async fn open_inner(&self) -> std::result::Result<Pool, DbError> {
        if self.engine == Engine::Sqlite {
            if !std::path::Path::new(&self.url).is_file() {
                return Err(format!("no SQLite file at {}", self.url).into());
            }
            let pool = SqliteConnectionPoolFactory::new(&self.url, Mode::File, Duration::from_secs(5)).build().await?;
            return Ok(Pool::Sqlite(pool));
        }
        let url = url::Url::parse(&self.url)?;
        let mut params: HashMap<String, SecretString> = HashMap::new();
        let mut set = |k: &str, v: String| params.insert(k.to_string(), SecretString::from(v));
        set("host", url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string());
        set("user", percent_decode(url.username()));
        set("db", percent_decode(url.path().trim_start_matches('/')));
        if let Some(p) = &self.password {
            set("pass", p.clone());
        }
        let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
        Ok(match self.engine {
            Engine::Postgres => {
                set("port", url.port().unwrap_or(5432).to_string());
                set("sslmode", query.get("sslmode").cloned().unwrap_or_else(|| "prefer".into()));
                set("application_name", "fletch".into());
                set("connection_pool_size", "2".into());
                // JSON and JSONB arrive as their text.
                Pool::Postgres(PostgresConnectionPool::new(params).await?.with_unsupported_type_action(UnsupportedTypeAction::String))
            }
            Engine::Mysql => {
                set("tcp_port", url.port().unwrap_or(3306).to_string());
                set("sslmode", query.get("sslmode").cloned().unwrap_or_else(|| "preferred".into()));
                set("pool_max", "2".into());
                let pool = MySQLConnectionPool::new(params).await?;
                // The pool connects lazily; fail here, naming the database, if it cannot.
                pool.connect().await?;
                Pool::Mysql(pool)
            }
            Engine::Sqlite => unreachable!("opened above"),
        })
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// Connections to one database.
pub enum Pool {
    Postgres(PostgresConnectionPool),
    Mysql(MySQLConnectionPool),
    Sqlite(SqliteConnectionPool),
}

impl Pool {
    /// Rows of `sql` as Arrow batches; with `schema`, in those types.
    pub async fn query(&self, sql: &str, schema: Option<SchemaRef>) -> std::result::Result<SendableRecordBatchStream, DbError> {
        match self {
            Pool::Postgres(p) => query(p.connect().await?, sql, schema).await,
            Pool::Mysql(p) => query(p.connect().await?, sql, schema).await,
            Pool::Sqlite(p) => query(p.connect().await?, sql, schema).await,
        }
    }

    /// Every row of `sql`: the small results fletch asks for itself (bounds, a first row).
    pub async fn collect(&self, sql: &str) -> std::result::Result<Vec<RecordBatch>, DbError> {
        Ok(self.query(sql, None).await?.try_collect().await?)
    }

    /// The columns of `table` as the database's catalog declares them.
    pub async fn table_schema(&self, table: &str) -> std::result::Result<SchemaRef, DbError> {
        let reference = TableReference::from(table);
        match self {
            Pool::Postgres(p) => table_schema(p.connect().await?, &reference).await,
            Pool::Mysql(p) => table_schema(p.connect().await?, &reference).await,
            Pool::Sqlite(_) => self.sqlite_schema(table).await,
        }
    }

    /// datafusion-table-providers types a SQLite table by its first row's
    /// values (a NULL there makes a column of nulls); fletch types it by the
    /// declared types, with SQLite's affinity rules.
    async fn sqlite_schema(&self, table: &str) -> std::result::Result<SchemaRef, DbError> {
        let name = table.rsplit('.').next().unwrap_or(table).replace('\'', "''");
        let sql = format!("SELECT name, type, \"notnull\" FROM pragma_table_info('{name}') ORDER BY cid");
        let batches = self.collect(&sql).await?;
        let mut fields = Vec::new();
        for b in &batches {
            let text = |i: usize| cast(b.column(i), &DataType::Utf8);
            let (names, types, not_null) = (text(0)?, text(1)?, cast(b.column(2), &DataType::Int64)?);
            let (names, types, not_null) = (names.as_string::<i32>(), types.as_string::<i32>(), not_null.as_primitive::<Int64Type>());
            for row in 0..b.num_rows() {
                fields.push(Field::new(names.value(row), sqlite_affinity(types.value(row)), not_null.value(row) == 0));
            }
        }
        if fields.is_empty() {
            return Err(format!("no table `{table}`").into());
        }
        Ok(Arc::new(Schema::new(fields)))
    }
}

/// The Arrow type of a SQLite column declared `declared` (sqlite.org/datatype3.html §3.1),
/// with dates and times kept as the ISO text SQLite stores them as, and booleans as booleans.
fn sqlite_affinity(declared: &str) -> DataType {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        DataType::Int64
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t.contains("DATE") || t.contains("TIME") {
        DataType::Utf8
    } else if t.contains("BLOB") || t.is_empty() {
        DataType::Binary
    } else if t.contains("BOOL") {
        DataType::Boolean
    } else {
        DataType::Float64
    }
}

fn asynchronous<T, P>(conn: &dyn DbConnection<T, P>) -> std::result::Result<&dyn AsyncDbConnection<T, P>, DbError> {
    conn.as_async().ok_or_else(|| "the database driver has no asynchronous connection".into())
}

async fn query<T: 'static, P: 'static>(conn: Box<dyn DbConnection<T, P>>, sql: &str, schema: Option<SchemaRef>) -> std::result::Result<SendableRecordBatchStream, DbError> {
    asynchronous(conn.as_ref())?.query_arrow(sql, &[], schema).await
}

async fn table_schema<T: 'static, P: 'static>(conn: Box<dyn DbConnection<T, P>>, table: &TableReference) -> std::result::Result<SchemaRef, DbError> {
    Ok(asynchronous(conn.as_ref())?.get_schema(table).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Source> {
        Source::parse(url, None, |f| Ok(format!("/data/{f}")))
    }

    #[test]
    fn urls_lose_their_password_and_name_their_engine() {
        let s = parse("postgres://fletch:s3cr%40t@127.0.0.1:5433/webapp?sslmode=disable").unwrap();
        assert_eq!(s.engine, Engine::Postgres);
        assert_eq!(s.to_string(), "postgres://fletch@127.0.0.1:5433/webapp?sslmode=disable");
        assert_eq!(s.password.as_deref(), Some("s3cr@t"));
        assert_eq!(s.redact("auth failed for s3cr@t"), "auth failed for ***");
        assert_eq!(parse("mysql://root@localhost/shop").unwrap().engine, Engine::Mysql);
        let lite = parse("sqlite://webapp/webapp.sqlite").unwrap();
        assert_eq!((lite.engine, lite.to_string()), (Engine::Sqlite, "/data/webapp/webapp.sqlite".to_string()));
        for bad in ["oracle://h/db", "postgres:///db", "postgres://h:1/", "not a url"] {
            assert!(parse(bad).unwrap_err().to_string().starts_with("--connect: "), "{bad}");
        }
    }

    #[test]
    fn sqlite_columns_take_their_declared_affinity() {
        let types = ["INTEGER", "VARCHAR(32)", "DECIMAL(10, 2)", "DATE", "TIMESTAMP", "BLOB", "", "BOOLEAN", "REAL"].map(sqlite_affinity);
        use DataType::*;
        assert_eq!(types, [Int64, Utf8, Float64, Utf8, Utf8, Binary, Binary, Boolean, Float64]);
    }

    #[test]
    fn identifiers_are_quoted_per_engine() {
        assert_eq!(Engine::Postgres.quote("public.we\"ird"), "\"public\".\"we\"\"ird\"");
        assert_eq!(Engine::Mysql.quote("users"), "`users`");
    }
}
