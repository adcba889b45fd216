//! Work that executors must do themselves (a database query, a gzipped
//! file), planned as data: one text per partition of an in-memory scan, under
//! the node that does the work. Ballista 55 gives each task its slice of a
//! memory source's partitions, whereas it would run every partition of a leaf
//! it does not know in every task; and the memory scan crosses the wire with
//! DataFusion's own codec.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use futures::{Stream, TryStreamExt};

/// An in-memory scan with one partition per item, holding its text.
pub fn plan(items: &[String]) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = Arc::new(Schema::new(vec![Field::new("item", DataType::Utf8, false)]));
    let partitions = items
        .iter()
        .map(|item| Ok(vec![RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(vec![item.as_str()]))])?]))
        .collect::<Result<Vec<_>>>()?;
    MemorySourceConfig::try_new_exec(&partitions, schema, None).map(|e| e as Arc<dyn ExecutionPlan>)
}

/// The items partition `partition` of `plan` holds.
pub fn items(plan: &Arc<dyn ExecutionPlan>, partition: usize, context: Arc<TaskContext>) -> Result<impl Stream<Item = Result<String>> + Send + use<>> {
    let batches: SendableRecordBatchStream = plan.execute(partition, context)?;
    Ok(batches
        .map_ok(|batch| {
            let texts = batch.column(0).as_string::<i32>();
            futures::stream::iter((0..batch.num_rows()).map(|i| Ok::<_, DataFusionError>(texts.value(i).to_string())).collect::<Vec<_>>())
        })
        .try_flatten())
}
