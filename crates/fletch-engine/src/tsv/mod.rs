//! Tab-separated files read by position against a declared column list (the
//! Community Notes download, [`community_notes`]): the header must name the
//! declared columns in order, optionally followed by columns a later release
//! added (read and dropped); every value is checked against its column's
//! kind, and a wrong field count or a bad value fails the query with the
//! file, line and column. One file per partition, streamed from its object
//! store where the partition runs (on an executor, on a cluster); the files
//! travel as data ([`crate::work_items`]).

pub mod community_notes;
mod values;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch};
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::expressions::Column as ColumnExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use crate::work_items::{Work, WorkExec};

/// Marks a [`TsvTable`] or a [`TsvExec`] in a plan (JSON follows).
pub const TSV_TAG: &[u8] = b"fletch.tsv\0";

/// Rows per batch.
const BATCH: usize = 8192;

/// The column a [`TsvTable`] with `positions` appends: each row's place in the
/// table, its file's index (files in name order) × 2³² + its line, so that
/// SQL can take rows in the download's order.
pub const POSITION: &str = "_position";

/// What a column holds, and so how its text is checked and typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Kind {
    /// A 64-bit integer (ids, epoch milliseconds): never a float, so that
    /// 19-digit snowflake ids stay exact.
    Int64,
    /// A small integer (0/1 flags).
    Int8,
    Float64,
    Text,
    /// One of these strings.
    Category(Vec<String>),
}

/// One declared column; an empty field is NULL unless the column is required.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub required: bool,
}

impl Column {
    pub fn new(name: &str, kind: Kind) -> Self {
        Self { name: name.to_string(), kind, required: false }
    }

    /// A column whose fields may not be empty.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn data_type(&self) -> DataType {
        match self.kind {
            Kind::Int64 => DataType::Int64,
            Kind::Int8 => DataType::Int8,
            Kind::Float64 => DataType::Float64,
            Kind::Text | Kind::Category(_) => DataType::Utf8,
        }
    }
}

/// A table's files: its columns in file order, and the columns later
/// releases appended after them (accepted in a header, then dropped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub table: String,
    pub columns: Vec<Column>,
    pub later: Vec<String>,
}

impl Layout {
    pub fn schema(&self) -> SchemaRef {
        self.schema_with(false)
    }

    /// The schema, with [`POSITION`] last if `positions`.
    fn schema_with(&self, positions: bool) -> SchemaRef {
        let fields = self.columns.iter().map(|c| Field::new(&c.name, c.data_type(), !c.required));
        let position = positions.then(|| Field::new(POSITION, DataType::Int64, false));
        Arc::new(Schema::new(fields.chain(position).collect::<Vec<_>>()))
    }

    /// The header line the layout's files start with.
    pub fn header(&self) -> String {
        self.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join("\t")
    }

    /// How many fields the header `line` declares, or why it is not this layout's.
    fn check_header(&self, line: &str) -> std::result::Result<usize, String> {
        let names: Vec<&str> = line.split('\t').collect();
        let expected = self.columns.iter().map(|c| c.name.as_str()).chain(self.later.iter().map(String::as_str));
        for (i, (got, want)) in names.iter().zip(expected).enumerate() {
            if *got != want {
                return Err(format!("header column {} is `{got}`, expected `{want}` (columns are read by position)", i + 1));
            }
        }
        if names.len() < self.columns.len() {
            return Err(format!("header has {} columns, expected {}: missing `{}`", names.len(), self.columns.len(), self.columns[names.len()].name));
        }
        if names.len() > self.columns.len() + self.later.len() {
            return Err(format!("header has {} columns, more than the {} known", names.len(), self.columns.len() + self.later.len()));
        }
        Ok(names.len())
    }
}

/// A [`Layout`]'s files, by URL, as a table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TsvTable {
    pub layout: Layout,
    pub urls: Vec<String>,
    /// Whether rows carry their [`POSITION`].
    #[serde(default)]
    pub positions: bool,
}

#[async_trait]
impl TableProvider for TsvTable {
    fn schema(&self) -> SchemaRef {
        self.layout.schema_with(self.positions)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(&self, _state: &dyn Session, projection: Option<&Vec<usize>>, _filters: &[Expr], _limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let exec: Arc<dyn ExecutionPlan> = Arc::new(TsvExec::over(TsvFiles { layout: self.layout.clone(), positions: self.positions }, crate::work_items::plan(&self.urls)?));
        let Some(projection) = projection else { return Ok(exec) };
        // Every value is still checked: a bad field fails whichever columns a query reads.
        let schema = self.schema();
        let columns = projection.iter().map(|&c| (Arc::new(ColumnExpr::new(schema.field(c).name(), c)) as _, schema.field(c).name().clone()));
        Ok(Arc::new(ProjectionExec::try_new(columns.collect::<Vec<_>>(), exec)?))
    }
}

/// Reads each file its input names: the work of a [`TsvExec`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TsvFiles {
    pub layout: Layout,
    #[serde(default)]
    pub positions: bool,
}

/// The rows of the TSV files its input's partitions name.
pub type TsvExec = WorkExec<TsvFiles>;

impl fmt::Display for TsvFiles {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "TsvExec: {}", self.layout.table)
    }
}

impl Work for TsvFiles {
    const NAME: &'static str = "TsvExec";

    fn schema(&self) -> SchemaRef {
        self.layout.schema_with(self.positions)
    }

    /// One file per partition, in name order: the partition is the file's index.
    fn run(&self, url: String, partition: usize, context: &Arc<TaskContext>) -> BoxStream<'static, Result<RecordBatch>> {
        let (layout, runtime) = (self.layout.clone(), context.runtime_env());
        let file = self.positions.then_some(partition as i64);
        futures::stream::once(async move {
            let parsed = ListingTableUrl::parse(&url)?;
            let store = runtime.object_store(&parsed)?;
            let bytes = store.get(parsed.prefix()).await?.into_stream().map_err(DataFusionError::from);
            Ok::<_, DataFusionError>(read(layout, file, url, bytes))
        })
        .try_flatten()
        .boxed()
    }
}

/// The batches of one file, from its bytes as they arrive.
fn read(layout: Layout, file: Option<i64>, url: String, bytes: impl Stream<Item = Result<Bytes>> + Send + 'static) -> impl Stream<Item = Result<RecordBatch>> + Send + 'static {
    let name = url.rsplit('/').next().unwrap_or(&url).to_string();
    let state = Reader { layout, file, name, bytes: Box::pin(bytes), pending: Bytes::new(), decoder: None, line: 1, ended: false };
    futures::stream::try_unfold(state, |mut r| async move { Ok(r.next_batch().await?.map(|b| (b, r))) })
}

struct Reader {
    layout: Layout,
    /// The file's index, when rows carry their [`POSITION`].
    file: Option<i64>,
    /// The file's name, for messages.
    name: String,
    bytes: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
    pending: Bytes,
    decoder: Option<datafusion::arrow::csv::reader::Decoder>,
    /// The line the next data row is on (1 is the header).
    line: usize,
    ended: bool,
}

impl Reader {
    fn fail(&self, message: impl fmt::Display) -> DataFusionError {
        DataFusionError::Execution(format!("{} table, {}: {message}", self.layout.table, self.name))
    }

    /// More bytes into `pending`; false at the end of the file.
    async fn fill(&mut self) -> Result<bool> {
        match self.bytes.next().await.transpose()? {
            Some(chunk) if self.pending.is_empty() => self.pending = chunk,
            Some(chunk) => self.pending = [self.pending.as_ref(), chunk.as_ref()].concat().into(),
            None => self.ended = true,
        }
        Ok(!self.ended)
    }

    /// Reads the header and builds the decoder for its number of fields.
    async fn start(&mut self) -> Result<()> {
        let end = loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                break i;
            }
            if !self.fill().await? {
                break self.pending.len();
            }
        };
        if end == 0 && self.ended {
            return Err(self.fail("the file is empty: expected a header line"));
        }
        let header = String::from_utf8_lossy(&self.pending[..end]);
        let header = header.trim_end_matches('\r');
        let fields = self.layout.check_header(header).map_err(|e| self.fail(e))?;
        self.pending = self.pending.slice((end + 1).min(self.pending.len())..);
        // Every field as text, typed here so that a bad value names its line and column.
        let text = Schema::new((0..fields).map(|i| Field::new(format!("c{i}"), DataType::Utf8, true)).collect::<Vec<_>>());
        let decoder = ReaderBuilder::new(Arc::new(text))
            .with_delimiter(b'\t')
            .with_batch_size(BATCH)
            .with_projection((0..self.layout.columns.len()).collect())
            .build_decoder();
        self.decoder = Some(decoder);
        self.line = 2;
        Ok(())
    }

    async fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.decoder.is_none() {
            self.start().await?;
        }
        loop {
            let decoder = self.decoder.as_mut().expect("started");
            let used = decoder.decode(&self.pending).map_err(|e| self.fail(self.field_count_error(e)))?;
            self.pending = self.pending.slice(used..);
            let decoder = self.decoder.as_mut().expect("started");
            if decoder.capacity() == 0 || (self.pending.is_empty() && (self.ended || !self.fill().await?)) {
                let decoder = self.decoder.as_mut().expect("started");
                let Some(text) = decoder.flush().map_err(|e| self.fail(self.field_count_error(e)))? else { return Ok(None) };
                let first_line = self.line;
                self.line += text.num_rows();
                return self.typed(&text, first_line).map(Some);
            }
        }
    }

    /// Arrow numbers the records after the header from 1; the file's line is
    /// one more (no quoted field spans lines in these files).
    fn field_count_error(&self, e: datafusion::arrow::error::ArrowError) -> String {
        let message = e.to_string();
        let Some((_, rest)) = message.split_once("incorrect number of fields for line ") else { return message };
        let (record, counts) = rest.split_once(',').unwrap_or((rest, ""));
        match record.trim().parse::<usize>() {
            Ok(n) => format!("line {}:{counts} fields (a field holds a tab, or one is missing)", n + 1),
            Err(_) => message,
        }
    }

    /// The declared columns, typed and checked, of a batch of text fields.
    fn typed(&self, text: &RecordBatch, first_line: usize) -> Result<RecordBatch> {
        let columns = self
            .layout
            .columns
            .iter()
            .zip(text.columns())
            .map(|(column, fields)| values::typed(column, fields.as_string::<i32>()).map_err(|(row, e)| self.fail(format!("line {}, column `{}`: {e}", first_line + row, column.name))))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let position = self.file.map(|file| Arc::new(Int64Array::from_iter_values((0..text.num_rows()).map(|row| (file << 32) + (first_line + row) as i64))) as ArrayRef);
        Ok(RecordBatch::try_new(self.layout.schema_with(self.file.is_some()), columns.into_iter().chain(position).collect())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            table: "notes".into(),
            columns: vec![
                Column::new("noteId", Kind::Int64).required(),
                Column::new("classification", Kind::Category(vec!["A".into(), "B".into()])),
                Column::new("score", Kind::Float64),
            ],
            later: vec!["isNew".into()],
        }
    }

    async fn read_text(text: &str) -> Result<Vec<RecordBatch>> {
        // Split the text at every byte so that lines arrive in pieces.
        let chunks: Vec<Result<Bytes>> = text.as_bytes().chunks(3).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        read(layout(), None, "file:///d/notes-00000.tsv".into(), futures::stream::iter(chunks)).try_collect().await
    }

    #[tokio::test]
    async fn reads_by_position_with_empty_fields_as_null_and_later_columns_dropped() {
        let batches = read_text("noteId\tclassification\tscore\tisNew\n1825679568688054351\tA\t0.5\t1\n7\t\t\t0\n").await.unwrap();
        let b = datafusion::arrow::compute::concat_batches(&layout().schema(), &batches).unwrap();
        assert_eq!(b.num_rows(), 2);
        let ids = b.column(0).as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        assert_eq!(ids.values().to_vec(), vec![1825679568688054351, 7]);
        assert!(b.column(1).is_null(1) && b.column(2).is_null(1));
        assert_eq!(b.column(2).as_primitive::<datafusion::arrow::datatypes::Float64Type>().value(0), 0.5);
    }

    #[tokio::test]
    async fn positions_are_the_file_index_and_line() {
        let text = "noteId\tclassification\tscore\n5\tA\t1\n3\tB\t2\n";
        let chunks = futures::stream::iter([Ok(Bytes::from(text))]);
        let batches: Vec<RecordBatch> = read(layout(), Some(2), "file:///d/notes-00002.tsv".into(), chunks).try_collect().await.unwrap();
        let positions = batches[0].column_by_name(POSITION).unwrap().as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        assert_eq!(positions.values().to_vec(), vec![(2 << 32) + 2, (2 << 32) + 3]);
    }

    #[tokio::test]
    async fn bad_input_names_the_file_line_and_column() {
        async fn err(text: &str) -> String {
            read_text(text).await.unwrap_err().to_string()
        }
        assert!(err("noteId\tscore\n").await.contains("notes-00000.tsv: header column 2 is `score`, expected `classification`"));
        assert!(err("noteId\tclassification\n").await.contains("missing `score`"));
        assert!(err("noteId\tclassification\tscore\n1\tA\t1\n2x\tA\t1\n").await.contains("notes-00000.tsv: line 3, column `noteId`: `2x` is not an integer"));
        assert!(err("noteId\tclassification\tscore\n1\tC\t1\n").await.contains("line 2, column `classification`: `C` is not one of A, B"));
        assert!(err("noteId\tclassification\tscore\n\tA\t1\n").await.contains("line 2, column `noteId`: empty"));
        assert!(err("noteId\tclassification\tscore\n1\tA\n").await.contains("line 2: expected 3 got 2 fields"));
        assert!(err("").await.contains("the file is empty"));
    }
}
