//! Gzipped text files as a table of lines (`line`), one file per partition,
//! inflated where the partition runs (on an executor, on a cluster).
//! DataFusion's CSV scan reads gzip too, but its plan loses the compression on
//! the way to executors (datafusion-proto 55's CsvScan), so a cluster would
//! read the compressed bytes as text; here the file URLs travel as data
//! ([`crate::work_items`]) and [`GzipLinesExec`] reads them.

use std::fmt;
use std::io::BufRead;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayBuilder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

use crate::work_items::{Work, WorkExec};

/// Marks a [`GzipLinesTable`] (JSON list of URLs follows) or a [`GzipLinesExec`] in a plan.
pub const GZIP_LINES_TAG: &[u8] = b"fletch.gzip_lines\0";

/// Lines per batch.
const BATCH: usize = 8192;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new(vec![Field::new("line", DataType::Utf8, true)])));

/// The lines of gzipped files, by URL.
#[derive(Debug)]
pub struct GzipLinesTable {
    pub urls: Vec<String>,
}

#[async_trait]
impl TableProvider for GzipLinesTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(&self, _state: &dyn Session, projection: Option<&Vec<usize>>, _filters: &[Expr], _limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let exec = Arc::new(GzipLinesExec::over(GzipLines, crate::work_items::plan(&self.urls)?));
        match projection {
            // `SELECT count(*)` projects no column; the lines still count.
            Some(p) if p.is_empty() => datafusion::physical_plan::projection::ProjectionExec::try_new(Vec::<(Arc<dyn PhysicalExpr>, String)>::new(), exec).map(|e| Arc::new(e) as _),
            _ => Ok(exec),
        }
    }
}

/// Inflates each file its input names, line by line: the work of a [`GzipLinesExec`].
#[derive(Debug)]
pub struct GzipLines;

/// The lines of the gzipped files its input's partitions name.
pub type GzipLinesExec = WorkExec<GzipLines>;

impl fmt::Display for GzipLines {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("GzipLinesExec")
    }
}

impl Work for GzipLines {
    const NAME: &'static str = "GzipLinesExec";

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn run(&self, url: String, _partition: usize, context: &Arc<TaskContext>) -> BoxStream<'static, Result<RecordBatch>> {
        let runtime = context.runtime_env();
        futures::stream::once(async move { read(&runtime, &url).await.map_err(|e| DataFusionError::Execution(format!("{url}: {e}"))) }).try_flatten().boxed()
    }
}

/// The lines of the gzipped file at `url`, in batches; a file of several
/// gzip members (concatenated, as logrotate's `delaycompress` can leave) is
/// read whole. Bytes that are not UTF-8 become U+FFFD, so such a line fails
/// to parse and is counted rather than failing the file.
async fn read(runtime: &datafusion::execution::runtime_env::RuntimeEnv, url: &str) -> Result<impl futures::Stream<Item = Result<RecordBatch>> + use<>> {
    let url = ListingTableUrl::parse(url)?;
    let store = runtime.object_store(&url)?;
    let bytes = store.get(url.prefix()).await?.bytes().await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
    // Inflating is CPU work: off the async threads.
    tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(&bytes[..]));
        let mut line = Vec::new();
        let mut batch = StringBuilder::new();
        loop {
            line.clear();
            let done = match reader.read_until(b'\n', &mut line) {
                Ok(0) => true,
                Ok(_) => {
                    let text = line.strip_suffix(b"\n").unwrap_or(&line);
                    batch.append_value(String::from_utf8_lossy(text.strip_suffix(b"\r").unwrap_or(text)));
                    false
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(DataFusionError::Execution(format!("not readable as gzip: {e}"))));
                    return;
                }
            };
            if (done && !batch.is_empty()) || batch.len() == BATCH {
                let rows = RecordBatch::try_new(SCHEMA.clone(), vec![Arc::new(batch.finish())]).map_err(DataFusionError::from);
                if tx.blocking_send(rows).is_err() {
                    return;
                }
            }
            if done {
                return;
            }
        }
    });
    Ok(tokio_stream_from(rx))
}

fn tokio_stream_from<T: Send + 'static>(mut rx: tokio::sync::mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
