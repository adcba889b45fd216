//! An input table read without the files `--skip-unreadable-files` skipped.
//! DataFusion lists a table's files each time it plans a scan (on a cluster,
//! on the scheduler), so the skipped files travel with the table, through
//! fletch's plan codec, and are taken out of every scan it plans.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::{ConfigOptions, TableOptions};
use datafusion::common::{internal_err, plan_datafusion_err};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use serde::{Deserialize, Serialize};

/// Marks a [`SkippingTable`] in the plan codec; its [`Encoded`] form follows as JSON.
pub const TAG: &[u8] = b"fletch.skipping\0";

/// A Hive-partitioned Parquet table (partition values are strings) whose
/// scans leave out `skipped` files.
#[derive(Debug)]
pub struct SkippingTable {
    inner: ListingTable,
    encoded: Encoded,
}

/// What the scheduler needs to rebuild a [`SkippingTable`] (the schema comes with the plan).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Encoded {
    pub url: String,
    pub partition_cols: Vec<String>,
    /// Object store paths of the skipped files.
    pub skipped: BTreeSet<String>,
}

impl SkippingTable {
    /// The table at `encoded.url` whose files hold `file_schema`, read as
    /// the session options `config` say.
    pub fn new(encoded: Encoded, file_schema: SchemaRef, config: &ConfigOptions) -> Result<Self> {
        let options = ListingOptions::new(Arc::new(parquet_format(config)))
            .with_file_extension(".parquet")
            .with_table_partition_cols(encoded.partition_cols.iter().map(|c| (c.clone(), DataType::Utf8)).collect());
        let url = ListingTableUrl::parse(&encoded.url)?;
        let inner = ListingTable::try_new(ListingTableConfig::new(url).with_listing_options(options).with_schema(file_schema))?;
        Ok(Self { inner, encoded })
    }

    /// [`SkippingTable::new`] from the table's whole `schema` (its file
    /// columns, then its partition columns), as a plan carries it.
    pub fn decode(encoded: Encoded, schema: &Schema, config: &ConfigOptions) -> Result<Self> {
        let file_schema = file_schema(schema, &encoded.partition_cols);
        Self::new(encoded, Arc::new(file_schema), config)
    }

    pub fn encoded(&self) -> &Encoded {
        &self.encoded
    }
}

/// Parquet read as the session options `config` say, as `register_parquet` does.
pub(super) fn parquet_format(config: &ConfigOptions) -> ParquetFormat {
    ParquetFormat::default().with_options(TableOptions::default_from_session_config(config).parquet)
}

/// A table's `schema` without its partition columns: what its files hold.
pub(super) fn file_schema(schema: &Schema, partition_cols: &[String]) -> Schema {
    let fields = schema.fields().iter().filter(|f| !partition_cols.contains(f.name())).cloned();
    Schema::new_with_metadata(fields.collect::<Vec<_>>(), schema.metadata().clone())
}

#[async_trait]
impl TableProvider for SkippingTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(&self, state: &dyn Session, projection: Option<&Vec<usize>>, filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        // Statistics would be read from every listed file, the skipped ones too.
        let mut state = state.as_any().downcast_ref::<SessionState>().ok_or_else(|| plan_datafusion_err!("a skipping table needs a SessionState"))?.clone();
        state.config_mut().options_mut().execution.collect_statistics = false;
        let plan = self.inner.scan(&state, projection, filters, limit).await?;
        if plan.downcast_ref::<EmptyExec>().is_some() {
            return Ok(plan);
        }
        let Some(config) = plan.downcast_ref::<DataSourceExec>().and_then(|e| e.data_source().downcast_ref::<FileScanConfig>()) else {
            return internal_err!("a skipping table's scan planned {}, not a file scan", plan.name());
        };
        let kept = |group: &FileGroup| group.iter().filter(|f| !self.encoded.skipped.contains(f.object_meta.location.as_ref())).cloned().collect::<Vec<_>>();
        let groups = config.file_groups.iter().map(|g| FileGroup::new(kept(g))).collect();
        Ok(DataSourceExec::from_data_source(FileScanConfigBuilder::from(config.clone()).with_file_groups(groups).build()))
    }
}
