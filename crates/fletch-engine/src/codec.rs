//! The logical-plan codec of fletch's clients and scheduler: Ballista's,
//! plus the table providers of fletch's table functions and of input tables
//! read without some files, which DataFusion cannot serialise by itself.
//! Unknown nodes go to Ballista's codec.

use std::sync::Arc;

use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{TableReference, exec_err};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use fletch_udfs::text::JsonListTable;

use crate::catalog::{SKIPPING_TABLE_TAG, SkippingTable};

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
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
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
