//! `CREATE EXTERNAL TABLE` with Hive partition folders read as plain strings.
//!
//! DataFusion types inferred partition columns as `Dictionary(UInt16, Utf8)`.
//! Ballista's shuffles hand such columns on as `Utf8`, so a distributed query
//! grouping by one fails ("RowConverter column schema mismatch") and Flight SQL
//! clients reject results whose schema changed on the way. fletch registers
//! inputs with `Utf8` partitions (catalog.rs); this factory makes DDL, e.g. a
//! notebook registering a job output over Flight SQL, do the same.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::catalog::{Session, TableProvider, TableProviderFactory};
use datafusion::common::Result;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig};
use datafusion::datasource::listing_table_factory::ListingTableFactory;
use datafusion::logical_expr::CreateExternalTable;

/// Wraps DataFusion's listing-table factory; registered for every file type.
#[derive(Debug, Default)]
pub struct StringPartitionsFactory(ListingTableFactory);

#[async_trait]
impl TableProviderFactory for StringPartitionsFactory {
    async fn create(&self, state: &dyn Session, cmd: &CreateExternalTable) -> Result<Arc<dyn TableProvider>> {
        let provider = self.0.create(state, cmd).await?;
        let Some(table) = provider.downcast_ref::<ListingTable>() else { return Ok(provider) };
        let parts = &table.options().table_partition_cols;
        if !parts.iter().any(|(_, t)| matches!(t, DataType::Dictionary(..))) {
            return Ok(provider);
        }
        let schema = table.schema();
        let file_fields = schema.fields().iter().filter(|f| !parts.iter().any(|(p, _)| p == f.name())).cloned();
        let file_schema = Arc::new(Schema::new_with_metadata(file_fields.collect::<Vec<_>>(), schema.metadata().clone()));
        let strings = parts.iter().map(|(name, t)| match t {
            DataType::Dictionary(_, value) => (name.clone(), value.as_ref().clone()),
            other => (name.clone(), other.clone()),
        });
        let options = table.options().clone().with_table_partition_cols(strings.collect());
        let config = ListingTableConfig::new_with_multi_paths(table.table_paths().clone())
            .with_listing_options(options)
            .with_schema(file_schema);
        let rebuilt = ListingTable::try_new(config)?
            .with_cache(state.runtime_env().cache_manager.get_file_statistic_cache())
            .with_definition(cmd.definition.clone())
            .with_constraints(cmd.constraints.clone())
            .with_column_defaults(cmd.column_defaults.clone());
        Ok(Arc::new(rebuilt))
    }
}

/// Puts the factory in place of DataFusion's for every registered file type.
pub fn register(state: &mut datafusion::execution::SessionState) {
    for factory in state.table_factories_mut().values_mut() {
        *factory = Arc::new(StringPartitionsFactory::default());
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;

    use crate::session::{Mode, connect};

    #[tokio::test]
    async fn inferred_partitions_are_strings() {
        let dir = tempfile::tempdir().unwrap();
        for (day, rows) in [("20261121", "(1), (2)"), ("20261122", "(3)")] {
            let folder = dir.path().join(format!("t/day={day}"));
            std::fs::create_dir_all(&folder).unwrap();
            let ctx = connect(&Mode::Embedded).await.unwrap();
            let df = ctx.sql(&format!("SELECT column1 AS x FROM (VALUES {rows})")).await.unwrap();
            df.write_parquet(folder.join("part-0.parquet").to_str().unwrap(), Default::default(), None).await.unwrap();
        }
        let ctx = connect(&Mode::Embedded).await.unwrap();
        let location = dir.path().join("t");
        ctx.sql(&format!("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{}/'", location.display())).await.unwrap();
        let schema = ctx.table("t").await.unwrap().schema().as_arrow().clone();
        assert_eq!(schema.field_with_name("day").unwrap().data_type(), &datafusion::arrow::datatypes::DataType::Utf8);
        let batches = ctx.sql("SELECT day, sum(x) AS s FROM t GROUP BY day ORDER BY day").await.unwrap().collect().await.unwrap();
        let days: Vec<&str> = batches.iter().flat_map(|b| b.column(0).as_string::<i32>().iter().map(Option::unwrap)).collect();
        assert_eq!(days, ["20261121", "20261122"]);
    }
}
