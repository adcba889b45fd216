//! `DISTRIBUTE BY` in SQL, as Spark and Hive read it: rows hash partitioned
//! on the columns. DataFusion parses it into a logical repartition that its
//! physical planner (and Ballista's plan encoding) reject; [`DistributeBy`]
//! makes it a hash repartition. Its use is a grouped aggregate on the same
//! columns, which then runs in one pass ([`AggregateDistributed`]) instead
//! of a partial pass whose states are moved and merged: for an aggregate
//! whose states are as large as its rows, such as lookalike-prepare's
//! per-user histories, moving the rows is cheaper (docs/performance.md).
//! Anywhere else DataFusion drops the repartition, as no operator needs it.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::logical_expr::{LogicalPlan, Partitioning, Repartition};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_expr::{PhysicalExpr, physical_exprs_bag_equal};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning as PhysicalPartitioning};

/// Rewrites `Repartition(DistributeBy(e))` to `Repartition(Hash(e, target_partitions))`.
#[derive(Debug, Default)]
pub struct DistributeBy;

impl OptimizerRule for DistributeBy {
    fn name(&self) -> &str {
        "distribute_by"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(&self, plan: LogicalPlan, config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        match plan {
            LogicalPlan::Repartition(Repartition { input, partitioning_scheme: Partitioning::DistributeBy(exprs) }) => {
                let partitions = config.options().execution.target_partitions;
                let partitioning_scheme = Partitioning::Hash(exprs, partitions);
                Ok(Transformed::yes(LogicalPlan::Repartition(Repartition { input, partitioning_scheme })))
            }
            other => Ok(Transformed::no(other)),
        }
    }
}

/// Replaces `Final(Partial(RepartitionExec(Hash(keys))))` of one group of
/// `keys` (projections of columns between the partial pass and the
/// repartition allowed) with a single-pass aggregate over the repartition.
/// It runs before DataFusion's rules, which drop every repartition that no
/// operator asks for: a single-pass aggregate asks for its rows by key.
#[derive(Debug, Default)]
pub struct AggregateDistributed;

impl PhysicalOptimizerRule for AggregateDistributed {
    fn name(&self) -> &str {
        "aggregate_distributed"
    }

    fn schema_check(&self) -> bool {
        true
    }

    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(single) = single_pass(&node)? else { return Ok(Transformed::no(node)) };
            Ok(Transformed::yes(Arc::new(single) as Arc<dyn ExecutionPlan>))
        })
        .map(|t| t.data)
    }
}

/// The single-pass form of `node` when it is a final aggregate over a partial
/// one over rows hash partitioned on exactly its group keys.
fn single_pass(node: &Arc<dyn ExecutionPlan>) -> Result<Option<AggregateExec>> {
    let Some(last) = node.downcast_ref::<AggregateExec>() else { return Ok(None) };
    let mode = match last.mode() {
        AggregateMode::FinalPartitioned => AggregateMode::SinglePartitioned,
        AggregateMode::Final => AggregateMode::Single,
        _ => return Ok(None),
    };
    let Some(first) = last.input().downcast_ref::<AggregateExec>() else { return Ok(None) };
    if *first.mode() != AggregateMode::Partial || !first.group_expr().is_single() {
        return Ok(None);
    }
    let Some((rows, keys)) = under_projections(first.input(), first.group_expr().input_exprs()) else { return Ok(None) };
    let distributed_on_keys = match rows.downcast_ref::<RepartitionExec>().map(|r| r.partitioning()) {
        Some(PhysicalPartitioning::Hash(exprs, _)) => physical_exprs_bag_equal(exprs.as_slice(), &keys),
        _ => false,
    };
    if !distributed_on_keys {
        return Ok(None);
    }
    let group_by = first.group_expr().clone();
    let (aggregates, filters) = (first.aggr_expr().to_vec(), first.filter_expr().to_vec());
    AggregateExec::try_new(mode, group_by, aggregates, filters, first.input().clone(), first.input_schema()).map(Some)
}

/// The plan under `plan`'s projections (such as the one that computes an
/// expression shared by aggregate arguments), with `keys` as its columns;
/// `None` when a key is computed by a projection.
fn under_projections(
    mut plan: &Arc<dyn ExecutionPlan>,
    mut keys: Vec<Arc<dyn PhysicalExpr>>,
) -> Option<(&Arc<dyn ExecutionPlan>, Vec<Arc<dyn PhysicalExpr>>)> {
    while let Some(projection) = plan.downcast_ref::<ProjectionExec>() {
        let source = |key: &Arc<dyn PhysicalExpr>| {
            let column = key.downcast_ref::<Column>()?;
            let expr = &projection.expr().get(column.index())?.expr;
            expr.downcast_ref::<Column>().map(|_| expr.clone())
        };
        keys = keys.iter().map(source).collect::<Option<_>>()?;
        plan = projection.input();
    }
    Some((plan, keys))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::SessionContext;

    use crate::session::{embedded_config, session_state};

    // The shared `v * 2` puts a projection between the aggregate and the rows.
    const SQL: &str = "SELECT g, count(*) AS n, sum(v * 2) AS s, max(v * 2) - 2000 AS m FROM \
                       (SELECT value % 3 AS g, value AS v FROM generate_series(1, 1000) DISTRIBUTE BY g) \
                       GROUP BY g ORDER BY g";

    /// The plan of `sql` and its rows.
    async fn run(sql: &str) -> (String, Vec<String>) {
        let ctx = SessionContext::new_with_state(session_state(embedded_config().with_target_partitions(4)).unwrap());
        let df = ctx.sql(sql).await.unwrap();
        let plan = displayable(df.clone().create_physical_plan().await.unwrap().as_ref()).indent(true).to_string();
        let out = pretty_format_batches(&df.collect().await.unwrap()).unwrap().to_string();
        let cells = |line: &str| line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(" ");
        (plan, out.lines().skip(3).take(3).map(cells).collect())
    }

    #[tokio::test]
    async fn distributed_rows_aggregate_in_one_pass_with_the_same_result() {
        let (plan, rows) = run(SQL).await;
        assert!(plan.contains("RepartitionExec: partitioning=Hash([g@1], 4)"), "{plan}");
        assert!(plan.contains("mode=SinglePartitioned") && !plan.contains("mode=Partial"), "{plan}");
        // 1..=1000: 333 multiples of 3 (sum 166833, max 999), 334 ≡ 1 (167167, 1000), 333 ≡ 2 (166500, 998).
        assert_eq!(rows, ["0 333 333666 -2", "1 334 334334 0", "2 333 333000 -4"]);
        // Without DISTRIBUTE BY, DataFusion's partial and final passes.
        let (plan, same) = run(&SQL.replace(" DISTRIBUTE BY g", "")).await;
        assert!(plan.contains("mode=Partial") && plan.contains("mode=FinalPartitioned"), "{plan}");
        assert_eq!(rows, same);
    }

    #[tokio::test]
    async fn rows_distributed_on_other_columns_keep_both_passes() {
        let (plan, rows) = run(&SQL.replace("DISTRIBUTE BY g", "DISTRIBUTE BY v")).await;
        assert!(plan.contains("mode=Partial") && plan.contains("mode=FinalPartitioned"), "{plan}");
        assert_eq!(rows[1], "1 334 334334 0");
    }
}
