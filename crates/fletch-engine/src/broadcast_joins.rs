//! Hash joins whose build side is small are planned as broadcasts
//! (`CollectLeft`) before DataFusion places repartitions, so their probe
//! side stays where it is.
//!
//! DataFusion collects a build side only when its statistics are under its
//! thresholds; an aggregate's output has no byte size and a row estimate of
//! a fifth of a filtered input, so "each client's latest day" joined back
//! to the client-days stays a partitioned join and both sides are hash
//! repartitioned. Ballista's planner then promotes the join to a broadcast
//! by its own estimate but keeps the probe side's repartition: taar-locale
//! and taar-lite-guidguid each wrote 4M client-days with their add-on lists
//! (2–3.5 GB) to shuffle files to join them with 265K latest days that every
//! task read whole anyway. This rule decides first, with an estimate never
//! below Ballista's (32 bytes a column when only rows are known, Ballista's
//! width for variable-length columns and above its fixed widths), so
//! Ballista keeps the broadcast as planned.
//!
//! In a cluster's sessions it also takes back, before DataFusion places
//! repartitions and merges, the `CollectLeft` joins Ballista would demote
//! (a join type not driven by the probe side, or a build side not known to
//! be small): Ballista demotes them when it splits stages, with hash
//! repartitions under the join but nothing above it, so an operator that
//! was planned for the join's single partition (a sort, an output write)
//! ran on its first partition only. ising-denoise's metrics of one image
//! (`images LEFT JOIN stops`, both one small file) came out empty on a
//! cluster.

use std::sync::Arc;

use ballista_core::config::BallistaConfig;
use datafusion::common::JoinType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};

/// Bytes a column is taken to hold per row when only row counts are known.
const COLUMN_WIDTH: usize = 32;

/// Turns partitioned hash joins with a build side under Ballista's
/// broadcast threshold into `CollectLeft` joins (swapping the sides when the
/// right one is the small one). Only joins whose output is driven by the
/// probe side's rows qualify: a broadcast build side is joined once per task.
/// On a cluster, `CollectLeft` joins that do not qualify become partitioned.
#[derive(Debug, Default)]
pub struct BroadcastSmallSides;

impl PhysicalOptimizerRule for BroadcastSmallSides {
    fn name(&self) -> &str {
        "broadcast_small_sides"
    }

    fn schema_check(&self) -> bool {
        true
    }

    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        let cluster = config.extensions.get::<BallistaConfig>();
        let limit = cluster.cloned().unwrap_or_default().broadcast_join_threshold_bytes();
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<HashJoinExec>() else { return Ok(Transformed::no(node)) };
            if join.null_aware {
                return Ok(Transformed::no(node));
            }
            let join_type = *join.join_type();
            let broadcastable = |build: &Arc<dyn ExecutionPlan>, join_type| probe_driven(join_type) && fits(build, limit);
            let planned = match join.partition_mode() {
                // Ballista would demote this join later, inside a stage
                // whose other operators were planned for its single partition.
                PartitionMode::CollectLeft if cluster.is_some() && !broadcastable(join.left(), join_type) => {
                    join.builder().with_partition_mode(PartitionMode::Partitioned).build_exec()?
                }
                PartitionMode::Partitioned if broadcastable(join.left(), join_type) => join.builder().with_partition_mode(PartitionMode::CollectLeft).build_exec()?,
                PartitionMode::Partitioned if join_type.supports_swap() && broadcastable(join.right(), join_type.swap()) => join.swap_inputs(PartitionMode::CollectLeft)?,
                _ => return Ok(Transformed::no(node)),
            };
            Ok(Transformed::yes(planned))
        })
        .data()
    }
}

/// Join types whose every output row comes from one probe-side row, so
/// joining a copy of the build side in each task emits nothing twice.
fn probe_driven(join_type: JoinType) -> bool {
    matches!(join_type, JoinType::Inner | JoinType::Right | JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark)
}

/// Whether `plan`'s estimated size is known and under `limit` bytes. A zero
/// estimate is taken as unknown, as Ballista takes it.
fn fits(plan: &Arc<dyn ExecutionPlan>, limit: usize) -> bool {
    let Ok(stats) = StatisticsContext::new().compute(plan.as_ref(), &StatisticsArgs::new()) else { return false };
    let bytes = match (stats.total_byte_size.get_value(), stats.num_rows.get_value()) {
        (Some(&bytes), _) if bytes > 0 => bytes,
        (_, Some(&rows)) if rows > 0 => rows.saturating_mul(COLUMN_WIDTH * plan.schema().fields().len().max(1)),
        _ => return false,
    };
    bytes < limit
}

#[cfg(test)]
mod tests {
    use ballista::prelude::SessionConfigExt;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::SessionContext;

    use crate::session::{embedded_config, session_state};

    /// A session broadcasting under `limit` bytes, where DataFusion alone
    /// collects build sides under 10K rows, with `t`: 100K values `v` over
    /// 1000 strings `k` in a Parquet file (row counts; no byte sizes, as a
    /// string column has none).
    async fn session(limit: usize, dir: &tempfile::TempDir) -> SessionContext {
        let config = embedded_config()
            .with_target_partitions(4)
            .with_ballista_broadcast_join_threshold_bytes(limit)
            .set_usize("datafusion.optimizer.hash_join_single_partition_threshold_rows", 10_000);
        let ctx = SessionContext::new_with_state(session_state(config).unwrap());
        let file = dir.path().join("t.parquet");
        let file = file.to_str().unwrap();
        let write = format!("COPY (SELECT CAST(value % 1000 AS VARCHAR) AS k, value AS v FROM generate_series(1, 100000)) TO '{file}'");
        ctx.sql(&write).await.unwrap().collect().await.unwrap();
        ctx.register_parquet("t", file, Default::default()).await.unwrap();
        ctx
    }

    /// Each key's latest value joined back to its rows: the build side is an
    /// aggregate of a filtered table (no byte size, a fifth of its rows).
    const LATEST: &str = "WITH latest AS (SELECT k, max(v) AS m FROM t WHERE v % 7 <> 3 GROUP BY k) \
                          SELECT count(*) AS n, sum(t.v) AS s FROM latest AS l JOIN t ON t.k = l.k AND t.v = l.m";

    async fn plan_and_rows(ctx: &SessionContext) -> (String, String) {
        let df = ctx.sql(LATEST).await.unwrap();
        let plan = displayable(df.clone().create_physical_plan().await.unwrap().as_ref()).indent(true).to_string();
        let rows = datafusion::arrow::util::pretty::pretty_format_batches(&df.collect().await.unwrap()).unwrap().to_string();
        (plan, rows)
    }

    #[tokio::test]
    async fn a_small_aggregate_is_broadcast_and_its_probe_side_not_repartitioned() {
        // The aggregate's estimate, a fifth of 100K rows, is over DataFusion's
        // 10K-row threshold, but 20K × 2 columns × 32 bytes fits in 2 MB.
        let dir = tempfile::tempdir().unwrap();
        let (plan, rows) = plan_and_rows(&session(2 << 20, &dir).await).await;
        assert!(plan.contains("HashJoinExec: mode=CollectLeft"), "{plan}");
        let join = &plan[plan.find("HashJoinExec").unwrap()..];
        // One repartition under the join: the aggregate's, on the build side.
        assert_eq!(join.matches("RepartitionExec: partitioning=Hash").count(), 1, "{plan}");
        // Key k's largest value is 99_000 + k (key 0's 100_000), or 1000 less
        // while that is 3 modulo 7.
        let latest = |k: u64| std::iter::successors(Some(if k == 0 { 100_000 } else { 99_000 + k }), |v| Some(v - 1000)).find(|v| v % 7 != 3);
        let sum: u64 = (0..1000).map(|k| latest(k).unwrap()).sum();
        assert!(rows.contains(&format!("| 1000 | {sum} |")), "{rows}");
    }

    #[tokio::test]
    async fn a_collected_join_ballista_would_demote_is_partitioned_before_merges_are_placed() {
        // One row each side, in one file each: DataFusion collects the left
        // side of the LEFT join and needs no repartition or merge at all.
        let dir = tempfile::tempdir().unwrap();
        let ctx = session(2 << 20, &dir).await;
        let (one, t) = (format!("{}/one.parquet", dir.path().display()), format!("{}/t.parquet", dir.path().display()));
        ctx.sql(&format!("COPY (SELECT 'a' AS name, 1 AS v) TO '{one}'")).await.unwrap().collect().await.unwrap();
        ctx.register_parquet("one", &one, Default::default()).await.unwrap();
        let query = "SELECT o.name, t.v FROM one AS o LEFT JOIN t ON t.k = o.name AND t.v < 0 ORDER BY o.name";
        let physical = ctx.sql(query).await.unwrap().create_physical_plan().await.unwrap();
        let plan = displayable(physical.as_ref()).indent(true).to_string();
        assert!(plan.contains("HashJoinExec: mode=Partitioned") && !plan.contains("CollectLeft"), "{plan}");
        assert!(plan.starts_with("SortPreservingMergeExec"), "the join's partitions are merged above it: {plan}");
        // Embedded (no Ballista settings), DataFusion's choice stands.
        let embedded = SessionContext::new_with_state(session_state(embedded_config()).unwrap());
        embedded.register_parquet("one", &one, Default::default()).await.unwrap();
        embedded.register_parquet("t", &t, Default::default()).await.unwrap();
        let plan = displayable(embedded.sql(query).await.unwrap().create_physical_plan().await.unwrap().as_ref()).indent(true).to_string();
        assert!(plan.contains("HashJoinExec: mode=CollectLeft"), "{plan}");
    }

    #[tokio::test]
    async fn a_build_side_over_the_threshold_stays_partitioned() {
        // Estimated 20K × 64 bytes, 1.3 MB.
        let dir = tempfile::tempdir().unwrap();
        let ctx = session(1 << 20, &dir).await;
        let physical = ctx.sql(LATEST).await.unwrap().create_physical_plan().await.unwrap();
        let plan = displayable(physical.as_ref()).indent(true).to_string();
        assert!(plan.contains("HashJoinExec: mode=Partitioned"), "{plan}");
    }
}
