//! `json_list(url)`: a JSON array file (curated whitelists and similar small
//! inputs) as a table of `(position, value)`.
//!
//! The file is read when the table is scanned, which on a cluster is on the
//! scheduler; the rows then travel to executors inside the plan. So the
//! provider must cross the wire: `fletch_engine::codec` encodes it by URL.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableType};
use datafusion_macros::user_doc;
use datafusion::physical_plan::ExecutionPlan;
use object_store::ObjectStoreExt;

use crate::TableFunctionDef;

pub const NAME: &str = "json_list";

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("position", DataType::Int64, false),
        Field::new("value", DataType::Utf8, true),
    ]))
});

/// The table function; see the module docs.
#[user_doc(
    doc_section(label = "Table Functions"),
    description = "The elements of a JSON array file as rows (position, value): position is 0-based, \
        strings are returned as they are, other JSON values as their JSON text, null as NULL. \
        The file is read when the query runs (on a cluster, by the scheduler), from a local \
        path or any URL fletch reads (file://, s3://, gs://, memory://).",
    syntax_example = "json_list(url)",
    sql_example = "SELECT value AS guid FROM json_list('s3://bucket/only_guids_top_200.json') ORDER BY position",
    argument(name = "url", description = "A string literal: a path (relative to the current directory) or URL.")
)]
#[derive(Debug, Default)]
pub struct JsonListFunc;

/// `json_list(url)`, with its name and documentation; one shared instance.
pub fn definition() -> TableFunctionDef {
    static INSTANCE: LazyLock<Arc<dyn TableFunctionImpl>> = LazyLock::new(|| Arc::new(JsonListFunc));
    TableFunctionDef { name: NAME, func: Arc::clone(&INSTANCE), doc: JsonListFunc.doc().cloned().expect("documented by user_doc") }
}

impl TableFunctionImpl for JsonListFunc {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)), _)] => {
                Ok(Arc::new(JsonListTable::new(s)?))
            }
            _ => plan_err!("{NAME} takes one string literal: the path or URL of a file holding a JSON array"),
        }
    }
}

/// Rows of one JSON array file: strings as they are, other values as JSON text.
#[derive(Debug, Clone)]
pub struct JsonListTable {
    url: ListingTableUrl,
}

impl JsonListTable {
    /// `location` is a URL, or a local path resolved against the current directory.
    pub fn new(location: &str) -> Result<Self> {
        Ok(Self { url: ListingTableUrl::parse(location)? })
    }

    /// The absolute URL, which is all a codec needs to rebuild the table.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    async fn read(&self, state: &dyn Session) -> Result<RecordBatch> {
        let store = state.runtime_env().object_store(self.url.object_store())?;
        let fail = |e: &dyn std::fmt::Display| DataFusionError::Execution(format!("{NAME}: cannot read {}: {e}", self.url));
        let bytes = store.get(self.url.prefix()).await.map_err(|e| fail(&e))?.bytes().await.map_err(|e| fail(&e))?;
        let values = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Array(values)) => values,
            Ok(_) => return exec_err!("{NAME}: {} holds JSON but not an array", self.url),
            Err(e) => return exec_err!("{NAME}: {} is not valid JSON: {e}", self.url),
        };
        let text: StringArray = values
            .iter()
            .map(|v| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            })
            .collect();
        let positions = Int64Array::from_iter_values(0..values.len() as i64);
        Ok(RecordBatch::try_new(SCHEMA.clone(), vec![Arc::new(positions) as ArrayRef, Arc::new(text)])?)
    }
}

#[async_trait]
impl TableProvider for JsonListTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }
    fn table_type(&self) -> TableType {
        TableType::Temporary
    }
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.read(state).await?;
        Ok(MemorySourceConfig::try_new_exec(&[vec![batch]], SCHEMA.clone(), projection.cloned())?)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    async fn run(sql: &str) -> Result<String, String> {
        let ctx = SessionContext::new();
        ctx.register_udtf(super::NAME, std::sync::Arc::new(super::JsonListFunc));
        let result = async { ctx.sql(sql).await?.collect().await }.await.map_err(|e| e.to_string())?;
        Ok(pretty_format_batches(&result).unwrap().to_string())
    }

    #[tokio::test]
    async fn reads_a_json_array_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("guids.json");
        std::fs::write(&file, r#"["a@x", "b@y", null, 3, {"k": 1}]"#).unwrap();
        let out = run(&format!("SELECT position, value FROM json_list('{}') ORDER BY position", file.display())).await.unwrap();
        let rows: Vec<_> = out.lines().skip(3).take(5).map(|l| l.split_whitespace().collect::<String>()).collect();
        assert_eq!(rows, ["|0|a@x|", "|1|b@y|", "|2||", "|3|3|", r#"|4|{"k":1}|"#]);
    }

    #[tokio::test]
    async fn bad_files_and_arguments_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dict.json");
        std::fs::write(&file, r#"{"a": 1}"#).unwrap();
        let e = run(&format!("SELECT * FROM json_list('{}')", file.display())).await.unwrap_err();
        assert!(e.contains("json_list: file://") && e.contains("dict.json holds JSON but not an array"), "{e}");
        let e = run("SELECT * FROM json_list('/no/such/file.json')").await.unwrap_err();
        assert!(e.contains("json_list: cannot read file:///no/such/file.json"), "{e}");
        let e = run("SELECT * FROM json_list(1)").await.unwrap_err();
        assert!(e.contains("json_list takes one string literal"), "{e}");
    }
}
