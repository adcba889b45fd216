//! A database read as a table: one SQL query per partition (a split of the
//! key's range), each run where its partition runs (on an executor, on a
//! cluster). [`DbScan`] is what travels through fletch's codecs: the
//! source, the queries and the schema, never a connection; in a physical
//! plan the queries are the rows of [`DbScanExec`]'s input.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::source::Source;
use crate::work_items::{Work, WorkExec};

/// Marks a [`DbScan`] in a logical or physical plan; JSON follows.
pub const DB_SCAN_TAG: &[u8] = b"fletch.db_scan\0";

/// Rows of a database: `queries[i]` gives partition `i`, every one in `schema`'s columns.
#[derive(Clone, Debug)]
pub struct DbScan {
    pub source: Source,
    pub queries: Vec<String>,
    pub schema: SchemaRef,
}

#[derive(Serialize, Deserialize)]
struct Encoded {
    source: Source,
    queries: Vec<String>,
    /// The Arrow IPC stream of the schema (no batches), base64.
    schema: String,
    projection: Option<Vec<usize>>,
}

impl DbScan {
    /// The tagged bytes of this scan (and of a projection of its columns).
    pub fn encode(&self, projection: Option<&[usize]>, buf: &mut Vec<u8>) -> Result<()> {
        let mut ipc = Vec::new();
        StreamWriter::try_new(&mut ipc, &self.schema)?.finish()?;
        let encoded = Encoded {
            source: self.source.clone(),
            queries: self.queries.clone(),
            schema: base64::engine::general_purpose::STANDARD.encode(ipc),
            projection: projection.map(<[usize]>::to_vec),
        };
        buf.extend_from_slice(DB_SCAN_TAG);
        serde_json::to_writer(buf, &encoded).map_err(|e| DataFusionError::Internal(format!("database scan: {e}")))
    }

    /// The scan and projection [`DbScan::encode`] wrote, without its tag.
    pub fn decode(json: &[u8]) -> Result<(Self, Option<Vec<usize>>)> {
        let bad = |e: &dyn fmt::Display| DataFusionError::Internal(format!("database scan: {e}"));
        let e: Encoded = serde_json::from_slice(json).map_err(|e| bad(&e))?;
        let ipc = base64::engine::general_purpose::STANDARD.decode(e.schema).map_err(|e| bad(&e))?;
        let schema = StreamReader::try_new(std::io::Cursor::new(ipc), None)?.schema();
        Ok((DbScan { source: e.source, queries: e.queries, schema }, e.projection))
    }
}

/// [`DbScan`] as a table for SQL to read.
#[derive(Debug)]
pub struct DbTable(pub DbScan);

#[async_trait]
impl TableProvider for DbTable {
    fn schema(&self) -> SchemaRef {
        self.0.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(&self, _state: &dyn Session, projection: Option<&Vec<usize>>, _filters: &[Expr], _limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        // The queries are data, one partition each (crate::work_items).
        let queries = crate::work_items::plan(&self.0.queries)?;
        Ok(Arc::new(DbScanExec::new(self.0.source.clone(), self.0.schema.clone(), projection.cloned(), queries)?))
    }
}

/// Runs each query of its input against the database: the work of a [`DbScanExec`].
#[derive(Debug)]
pub struct DbQueries {
    source: Source,
    /// The columns every query gives.
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    /// `schema` projected: the rows this gives.
    projected: SchemaRef,
}

/// Streams the rows of each query its input holds, in the partition the
/// query came in.
pub type DbScanExec = WorkExec<DbQueries>;

impl DbScanExec {
    pub fn new(source: Source, schema: SchemaRef, projection: Option<Vec<usize>>, queries: Arc<dyn ExecutionPlan>) -> Result<Self> {
        let projected = match &projection {
            Some(p) => Arc::new(schema.project(p)?),
            None => schema.clone(),
        };
        Ok(WorkExec::over(DbQueries { source, schema, projection, projected }, queries))
    }

    /// The scan without its queries, which travel as the node's input.
    pub fn scan(&self) -> DbScan {
        let q = self.work();
        DbScan { source: q.source.clone(), queries: Vec::new(), schema: q.schema.clone() }
    }

    pub fn projection(&self) -> Option<&[usize]> {
        self.work().projection.as_deref()
    }
}

impl fmt::Display for DbQueries {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "DbScanExec: {}", self.source)
    }
}

impl Work for DbQueries {
    const NAME: &'static str = "DbScanExec";

    fn schema(&self) -> SchemaRef {
        self.projected.clone()
    }

    /// The rows of one query, in the scan's (projected) columns.
    fn run(&self, sql: String, partition: usize, _context: &Arc<TaskContext>) -> BoxStream<'static, Result<RecordBatch>> {
        let (source, full, projection, out) = (self.source.clone(), self.schema.clone(), self.projection.clone(), self.projected.clone());
        let in_split = {
            let (source, sql) = (source.clone(), sql.clone());
            move |e: &dyn fmt::Display| DataFusionError::Execution(format!("{source}: split {} (`{sql}`): {}", partition + 1, source.redact(&e.to_string())))
        };
        let failed = in_split.clone();
        futures::stream::once(async move {
            let pool = source.open().await.map_err(|e| failed(&e))?;
            let rows = pool.query(&sql, Some(full)).await.map_err(|e| failed(&e))?;
            Ok::<_, DataFusionError>(rows.map(move |b| {
                // The stream needs the pool's connection until it ends.
                let _open = &pool;
                b.map_err(|e| failed(&e))
            }))
        })
        .try_flatten()
        .map(move |batch| {
            let batch = match &projection {
                Some(p) => batch?.project(p)?,
                None => batch?,
            };
            RecordBatch::try_new(out.clone(), batch.columns().to_vec()).map_err(|e| in_split(&format!("rows not in the columns' types: {e}")))
        })
        .boxed()
    }
}
