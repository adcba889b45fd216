//! Work that executors must do themselves (a database query, a gzipped
//! file), planned as data: one text per partition of an in-memory scan, under
//! the node that does the work. Ballista 55 gives each task its slice of a
//! memory source's partitions, whereas it would run every partition of a leaf
//! it does not know in every task; and the memory scan crosses the wire with
//! DataFusion's own codec. [`WorkExec`] is that node, for any [`Work`].

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use futures::stream::BoxStream;
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
fn items(plan: &Arc<dyn ExecutionPlan>, partition: usize, context: Arc<TaskContext>) -> Result<impl Stream<Item = Result<String>> + Send + use<>> {
    let batches: SendableRecordBatchStream = plan.execute(partition, context)?;
    Ok(batches
        .map_ok(|batch| {
            let texts = batch.column(0).as_string::<i32>();
            futures::stream::iter((0..batch.num_rows()).map(|i| Ok::<_, DataFusionError>(texts.value(i).to_string())).collect::<Vec<_>>())
        })
        .try_flatten())
}

/// What a [`WorkExec`] does with each item (its `Display` names the node in plans).
pub trait Work: fmt::Debug + fmt::Display + Send + Sync + 'static {
    const NAME: &'static str;
    /// The columns every item's rows have.
    fn schema(&self) -> SchemaRef;
    /// The rows of one item of partition `partition`.
    fn run(&self, item: String, partition: usize, context: &Arc<TaskContext>) -> BoxStream<'static, Result<RecordBatch>>;
}

/// Does `work` for each item its input's partitions hold, giving the rows in
/// the partition the item came in.
#[derive(Debug)]
pub struct WorkExec<W> {
    work: Arc<W>,
    items: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl<W: Work> WorkExec<W> {
    /// `work` over `items` (a [`plan`]).
    pub fn over(work: W, items: Arc<dyn ExecutionPlan>) -> Self {
        Self::shared(Arc::new(work), items)
    }

    fn shared(work: Arc<W>, items: Arc<dyn ExecutionPlan>) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(work.schema()),
            Partitioning::UnknownPartitioning(items.properties().output_partitioning().partition_count()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        WorkExec { work, items, properties: Arc::new(properties) }
    }

    pub fn work(&self) -> &W {
        &self.work
    }
}

impl<W: Work> DisplayAs for WorkExec<W> {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.work)
    }
}

impl<W: Work> ExecutionPlan for WorkExec<W> {
    fn name(&self) -> &str {
        W::NAME
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.items]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        // One item's work per partition, as planned: no round-robin in between.
        vec![false]
    }

    fn apply_expressions(&self, _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let [items] = <[_; 1]>::try_from(children).map_err(|c| DataFusionError::Internal(format!("{} takes one input, not {}", W::NAME, c.len())))?;
        Ok(Arc::new(Self::shared(self.work.clone(), items)))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let work = self.work.clone();
        let rows = items(&self.items, partition, context.clone())?.map_ok(move |item| work.run(item, partition, &context)).try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema(), rows)))
    }
}
