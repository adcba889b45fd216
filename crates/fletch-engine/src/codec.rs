//! The plan codecs of fletch's clients, scheduler and executors: Ballista's,
//! plus the table providers of fletch's table functions, of input tables
//! read without some files, of databases, of gzipped text, of TSV files and of similar users
//! (logical plans, client to scheduler), and the database scans, gzip and TSV readers
//! and similarity blocks executors run, and per-task output writes (physical
//! plans, scheduler to executors), which DataFusion cannot
//! serialise by itself.
//! Unknown nodes go to Ballista's codecs.

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{TableReference, exec_err};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use fletch_udfs::text::JsonListTable;

use crate::catalog::{SKIPPING_TABLE_TAG, SkippingTable};
use crate::db::scan::DB_SCAN_TAG;
use crate::db::{DbScan, DbScanExec, DbTable};
use crate::gzip_lines::{GZIP_LINES_TAG, GzipLines, GzipLinesExec, GzipLinesTable};
use crate::similar_users::{SIMILAR_USERS_TAG, SimilarUsers, SimilarUsersExec, SimilarUsersTable};
use crate::split_sink::{SPLIT_SINK_TAG, SplitSinkExec};
use crate::tsv::{TSV_TAG, TsvExec, TsvFiles, TsvTable};

/// Marks a `json_list` provider; the URL follows as UTF-8.
const JSON_LIST_TAG: &[u8] = b"fletch.json_list\0";

pub fn logical_codec() -> Arc<dyn LogicalExtensionCodec> {
    Arc::new(FletchLogicalCodec::default())
}

#[derive(Debug, Default)]
pub struct FletchLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for FletchLogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        if let Some(url) = buf.strip_prefix(JSON_LIST_TAG) {
            return match std::str::from_utf8(url) {
                Ok(url) => Ok(Arc::new(JsonListTable::new(url)?)),
                Err(_) => exec_err!("json_list provider for {table_ref}: URL is not UTF-8"),
            };
        }
        if let Some(json) = buf.strip_prefix(SKIPPING_TABLE_TAG) {
            let encoded = serde_json::from_slice(json).map_err(|e| DataFusionError::Execution(format!("input table {table_ref}: {e}")))?;
            return Ok(Arc::new(SkippingTable::decode(encoded, &schema, ctx.session_config().options())?));
        }
        if let Some(json) = buf.strip_prefix(DB_SCAN_TAG) {
            return Ok(Arc::new(DbTable(DbScan::decode(json)?.0)));
        }
        if let Some(json) = buf.strip_prefix(GZIP_LINES_TAG) {
            let urls = serde_json::from_slice(json).map_err(|e| DataFusionError::Internal(format!("gzip lines of {table_ref}: {e}")))?;
            return Ok(Arc::new(GzipLinesTable { urls }));
        }
        if let Some(json) = buf.strip_prefix(SIMILAR_USERS_TAG) {
            let table: SimilarUsersTable = serde_json::from_slice(json).map_err(|e| DataFusionError::Internal(format!("similar users of {table_ref}: {e}")))?;
            return Ok(Arc::new(table));
        }
        if let Some(json) = buf.strip_prefix(TSV_TAG) {
            let table: TsvTable = serde_json::from_slice(json).map_err(|e| DataFusionError::Internal(format!("TSV files of {table_ref}: {e}")))?;
            return Ok(Arc::new(table));
        }
        self.inner.try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(t) = node.downcast_ref::<JsonListTable>() {
            buf.extend_from_slice(JSON_LIST_TAG);
            buf.extend_from_slice(t.url().as_bytes());
            return Ok(());
        }
        if let Some(t) = node.downcast_ref::<SkippingTable>() {
            buf.extend_from_slice(SKIPPING_TABLE_TAG);
            return serde_json::to_writer(buf, t.encoded()).map_err(|e| DataFusionError::Execution(format!("input table {table_ref}: {e}")));
        }
        if let Some(t) = node.downcast_ref::<DbTable>() {
            return t.0.encode(None, buf);
        }
        if let Some(t) = node.downcast_ref::<GzipLinesTable>() {
            buf.extend_from_slice(GZIP_LINES_TAG);
            return serde_json::to_writer(buf, &t.urls).map_err(|e| DataFusionError::Internal(format!("gzip lines of {table_ref}: {e}")));
        }
        if let Some(t) = node.downcast_ref::<SimilarUsersTable>() {
            buf.extend_from_slice(SIMILAR_USERS_TAG);
            return serde_json::to_writer(buf, t).map_err(|e| DataFusionError::Internal(format!("similar users of {table_ref}: {e}")));
        }
        if let Some(t) = node.downcast_ref::<TsvTable>() {
            buf.extend_from_slice(TSV_TAG);
            return serde_json::to_writer(buf, t).map_err(|e| DataFusionError::Internal(format!("TSV files of {table_ref}: {e}")));
        }
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
}

pub fn physical_codec() -> Arc<dyn PhysicalExtensionCodec> {
    Arc::new(FletchPhysicalCodec::default())
}

#[derive(Debug, Default)]
pub struct FletchPhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for FletchPhysicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[Arc<dyn ExecutionPlan>], ctx: &TaskContext, converter: &dyn PhysicalProtoConverterExtension) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(json) = buf.strip_prefix(DB_SCAN_TAG) {
            let (scan, projection) = DbScan::decode(json)?;
            let [queries] = inputs else { return exec_err!("DbScanExec: expected one input, got {}", inputs.len()) };
            return Ok(Arc::new(DbScanExec::new(scan.source, scan.schema, projection, queries.clone())?));
        }
        if buf == GZIP_LINES_TAG {
            let [files] = inputs else { return exec_err!("GzipLinesExec: expected one input, got {}", inputs.len()) };
            return Ok(Arc::new(GzipLinesExec::over(GzipLines, files.clone())));
        }
        if let Some(json) = buf.strip_prefix(SIMILAR_USERS_TAG) {
            let work: SimilarUsers = serde_json::from_slice(json).map_err(|e| DataFusionError::Internal(format!("SimilarUsersExec: {e}")))?;
            let [blocks] = inputs else { return exec_err!("SimilarUsersExec: expected one input, got {}", inputs.len()) };
            return Ok(Arc::new(SimilarUsersExec::over(work, blocks.clone())));
        }
        if let Some(json) = buf.strip_prefix(TSV_TAG) {
            let work: TsvFiles = serde_json::from_slice(json).map_err(|e| DataFusionError::Internal(format!("TsvExec: {e}")))?;
            let [files] = inputs else { return exec_err!("TsvExec: expected one input, got {}", inputs.len()) };
            return Ok(Arc::new(TsvExec::over(work, files.clone())));
        }
        if let Some(sink) = buf.strip_prefix(SPLIT_SINK_TAG) {
            let sink = datafusion_proto::bytes::physical_plan_from_bytes(sink, ctx)?;
            let [rows] = inputs else { return exec_err!("SplitSinkExec: expected one input, got {}", inputs.len()) };
            return Ok(Arc::new(SplitSinkExec::new(&sink, rows.clone())?));
        }
        self.inner.try_decode(buf, inputs, ctx, converter)
    }

    fn try_encode(&self, node: Arc<dyn ExecutionPlan>, buf: &mut Vec<u8>, converter: &dyn PhysicalProtoConverterExtension) -> Result<()> {
        if let Some(exec) = node.downcast_ref::<DbScanExec>() {
            // The queries travel as the node's input.
            return exec.scan().encode(exec.projection(), buf);
        }
        if node.downcast_ref::<GzipLinesExec>().is_some() {
            // The file URLs travel as the node's input.
            buf.extend_from_slice(GZIP_LINES_TAG);
            return Ok(());
        }
        if let Some(exec) = node.downcast_ref::<SimilarUsersExec>() {
            // The blocks travel as the node's input.
            buf.extend_from_slice(SIMILAR_USERS_TAG);
            return serde_json::to_writer(buf, exec.work()).map_err(|e| DataFusionError::Internal(format!("SimilarUsersExec: {e}")));
        }
        if let Some(exec) = node.downcast_ref::<TsvExec>() {
            // The file URLs travel as the node's input.
            buf.extend_from_slice(TSV_TAG);
            return serde_json::to_writer(buf, exec.work()).map_err(|e| DataFusionError::Internal(format!("TsvExec: {e}")));
        }
        if let Some(exec) = node.downcast_ref::<SplitSinkExec>() {
            // The rows travel as the node's input; the sink as DataFusion's protobuf.
            buf.extend_from_slice(SPLIT_SINK_TAG);
            buf.extend_from_slice(&datafusion_proto::bytes::physical_plan_to_bytes(exec.sink().clone())?);
            return Ok(());
        }
        self.inner.try_encode(node, buf, converter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_list_providers_round_trip() {
        let codec = FletchLogicalCodec::default();
        let table = Arc::new(JsonListTable::new("s3://bucket/whitelist.json").unwrap());
        let mut buf = Vec::new();
        codec.try_encode_table_provider(&TableReference::bare("t"), table.clone(), &mut buf).unwrap();
        let decoded = codec
            .try_decode_table_provider(&buf, &TableReference::bare("t"), table.schema(), &TaskContext::default())
            .unwrap();
        assert_eq!(decoded.downcast_ref::<JsonListTable>().unwrap().url(), "s3://bucket/whitelist.json");
    }

    #[test]
    fn database_scans_round_trip_without_their_password_showing() {
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        use datafusion_proto::physical_plan::DefaultPhysicalProtoConverter;
        let source = crate::db::Source::parse("postgres://fletch:pw@127.0.0.1:5433/webapp", None, |_| unreachable!()).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false), Field::new("name", DataType::Utf8, true)]));
        let queries = datafusion::physical_plan::empty::EmptyExec::new(schema.clone());
        let exec: Arc<dyn ExecutionPlan> = Arc::new(DbScanExec::new(source, schema.clone(), Some(vec![1]), Arc::new(queries)).unwrap());
        let codec = FletchPhysicalCodec::default();
        let mut buf = Vec::new();
        codec.try_encode(exec.clone(), &mut buf, &DefaultPhysicalProtoConverter {}).unwrap();
        let decoded = codec.try_decode(&buf, &exec.children().into_iter().cloned().collect::<Vec<_>>(), &TaskContext::default(), &DefaultPhysicalProtoConverter {}).unwrap();
        let decoded = decoded.downcast_ref::<DbScanExec>().unwrap();
        assert_eq!(decoded.scan().schema, schema);
        assert_eq!(decoded.projection(), Some(&[1][..]));
        assert_eq!(decoded.schema().field(0).name(), "name");
        let shown = datafusion::physical_plan::displayable(decoded).one_line().to_string();
        assert!(shown.contains("postgres://fletch@127.0.0.1:5433/webapp") && !shown.contains("pw"), "{shown}");
    }

    #[test]
    fn skipping_tables_round_trip() {
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let codec = FletchLogicalCodec::default();
        let encoded = crate::catalog::EncodedSkippingTable {
            url: "file:///data/t/".into(),
            partition_cols: vec!["day".into()],
            skipped: ["data/t/day=1/a.parquet".to_string()].into(),
        };
        let file_schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let table = Arc::new(SkippingTable::new(encoded.clone(), file_schema, &Default::default()).unwrap());
        let mut buf = Vec::new();
        codec.try_encode_table_provider(&TableReference::bare("t"), table.clone(), &mut buf).unwrap();
        let decoded = codec.try_decode_table_provider(&buf, &TableReference::bare("t"), table.schema(), &TaskContext::default()).unwrap();
        let decoded = decoded.downcast_ref::<SkippingTable>().unwrap();
        assert_eq!(decoded.encoded(), &encoded);
        assert_eq!(decoded.schema(), table.schema());
        assert_eq!(table.schema().field(1).name(), "day");
    }
}
