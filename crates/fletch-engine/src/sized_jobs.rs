//! A cluster job's partition count, from the bytes it reads.
//!
//! DataFusion plans `target_partitions` (16) partitions whatever a query
//! reads, and Ballista runs a task per partition and stage: a step over a
//! few megabytes ran 16 tasks of milliseconds each, every one handed out and
//! reported on its own. Before a client submits a job it plans the query
//! locally, adds up the bytes its file scans read and asks for one partition
//! per [`PARTITION_BYTES`], rounded up to a multiple of the cluster's task
//! slots (a third task on two slots runs alone), at most the configured
//! count, as Spark sizes its scan splits (`spark.sql.files.maxPartitionBytes`).
//! Sources of unknown size (databases, TSV or gzip work items, memory
//! tables) keep the configured count.
//!
//! The count travels in the job's settings, so the scheduler plans every
//! stage with it: Ballista re-applies DataFusion's distribution rules per
//! stage with the session's count, and a count changed on the scheduler
//! alone put `Hash(…, 16)` repartitions inside stages (wrong results).
//! Two settings follow the count:
//! - with at least as many files as partitions, partitions read whole files:
//!   DataFusion's byte ranges give a row group to the range its first byte
//!   is in, so two files of one row group each, in two ranges, both landed
//!   in the first (taar-collaborative's ALS steps ran on one of two slots,
//!   1.5 s instead of 0.9);
//! - a task doing the work of several gets their shuffle-writer budget:
//!   Ballista's sort-based writer spills beyond 256 MB a task (lookalike's
//!   train-ready at 2 partitions spilled 860 MB, 8.9 s instead of 6.5); the
//!   executor's memory pool still bounds them.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::config::ConfigOptions;
use datafusion::dataframe::DataFrame;
use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::placeholder_row::PlaceholderRowExec;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};

use ballista_core::config::{BALLISTA_SHUFFLE_SORT_BASED_MEMORY_LIMIT_PER_TASK_BYTES, BallistaConfig};

use crate::remote::Cluster;

/// Input bytes (of files as stored) one partition is planned for.
pub const PARTITION_BYTES: u64 = 64 << 20;

/// `df` with the partition count its input needs on `cluster`, or as it
/// is when the input's size or the cluster's slots cannot be told.
pub async fn sized(df: DataFrame, cluster: &Cluster) -> DataFrame {
    let (mut state, plan) = df.into_parts();
    match measure(&state, &plan, cluster).await {
        Ok((input, slots)) => resize(state.config_mut().options_mut(), &input, slots),
        Err(why) => log::debug!("planned with {} partitions: {why}", state.config().target_partitions()),
    }
    DataFrame::new(state, plan)
}

/// What `plan` reads (planned here, as a single process would run it) and
/// the task slots of `cluster`; why not, when either cannot be told.
async fn measure(state: &SessionState, plan: &LogicalPlan, cluster: &Cluster) -> Result<(Input, usize), String> {
    let local = async { DefaultPhysicalPlanner::default().create_physical_plan(&state.optimize(plan)?, state).await };
    let local = local.await.map_err(|e| format!("cannot plan the query here to size it: {e}"))?;
    let input = input(&local).map_err(|source| format!("the size of {source} is unknown"))?;
    let slots = cluster.task_slots().await.map_err(|e| e.to_string())?;
    Ok((input, slots))
}

/// Sets `options` for a job reading `input` on `slots` task slots.
fn resize(options: &mut ConfigOptions, input: &Input, slots: usize) {
    let configured = options.execution.target_partitions;
    let partitions = partitions_for(input.bytes, slots, configured);
    if partitions >= configured {
        return;
    }
    log::debug!("planned with {partitions} partitions instead of {configured}: {input:?}, {slots} task slots");
    options.execution.target_partitions = partitions;
    options.optimizer.repartition_file_scans = input.files < partitions;
    let shuffle_budget = options.extensions.get::<BallistaConfig>().map(|c| c.shuffle_sort_based_memory_limit_per_task_bytes());
    if let Some(budget @ 1..) = shuffle_budget {
        let scaled = budget.saturating_mul(configured) / partitions;
        options.set(BALLISTA_SHUFFLE_SORT_BASED_MEMORY_LIMIT_PER_TASK_BYTES, &scaled.to_string()).expect("Ballista's own key");
    }
}

/// Partitions for `bytes` of input on `slots` task slots, at most `configured`.
fn partitions_for(bytes: u64, slots: usize, configured: usize) -> usize {
    let needed = usize::try_from(bytes.div_ceil(PARTITION_BYTES)).unwrap_or(usize::MAX).max(1);
    needed.next_multiple_of(slots.max(1)).min(configured.max(1))
}

/// What a plan's file scans read.
#[derive(Debug, Default, PartialEq)]
struct Input {
    bytes: u64,
    files: usize,
}

/// What `plan`'s file scans read, or the name of a source whose size is
/// unknown.
fn input(plan: &Arc<dyn ExecutionPlan>) -> Result<Input, String> {
    let children = plan.children();
    if !children.is_empty() {
        return children.into_iter().map(input).try_fold(Input::default(), |sum, i| i.map(|i| Input { bytes: sum.bytes + i.bytes, files: sum.files + i.files }));
    }
    if plan.is::<EmptyExec>() || plan.is::<PlaceholderRowExec>() {
        return Ok(Input::default());
    }
    let scan = plan.downcast_ref::<DataSourceExec>().and_then(|s| s.data_source().downcast_ref::<FileScanConfig>());
    let scan = scan.ok_or_else(|| plan.name().to_string())?;
    // A file split in byte ranges is in several groups: its ranges add up, its path counts once.
    let ranges: Vec<_> = scan.file_groups.iter().flat_map(|group| group.iter()).collect();
    let files = ranges.iter().map(|f| f.path()).collect::<HashSet<_>>().len();
    Ok(Input { bytes: ranges.iter().map(|f| f.effective_size()).sum(), files })
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    #[test]
    fn partitions_follow_the_input_between_the_slots_and_the_configured_count() {
        const MB: u64 = 1 << 20;
        assert_eq!(partitions_for(0, 2, 16), 2);
        assert_eq!(partitions_for(64 * MB, 2, 16), 2);
        assert_eq!(partitions_for(150 * MB, 2, 16), 4, "three, rounded up to a multiple of the slots");
        assert_eq!(partitions_for(491 * MB, 2, 16), 8);
        assert_eq!(partitions_for(3500 * MB, 2, 16), 16);
        assert_eq!(partitions_for(10 * MB, 0, 16), 1, "no executor registered");
        assert_eq!(partitions_for(10 * MB, 40, 16), 16, "never more than configured");
    }

    #[tokio::test]
    async fn files_count_their_bytes_and_other_sources_are_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = SessionContext::new();
        let table = dir.path().join("t");
        let write = format!("COPY (SELECT value % 100 AS k, value % 20 AS f FROM generate_series(1, 100000)) TO '{}/' STORED AS PARQUET PARTITIONED BY (f)", table.display());
        ctx.sql(&write).await.unwrap().collect().await.unwrap();
        ctx.register_parquet("t", table.to_str().unwrap(), Default::default()).await.unwrap();
        let files = std::fs::read_dir(&table).unwrap().flat_map(|f| std::fs::read_dir(f.unwrap().path()).unwrap());
        let size: u64 = files.map(|f| f.unwrap().metadata().unwrap().len()).sum();
        let plan = ctx.sql("SELECT k, count(*) FROM t GROUP BY k").await.unwrap().create_physical_plan().await.unwrap();
        assert_eq!(input(&plan), Ok(Input { bytes: size, files: 20 }));
        let plan = ctx.sql("SELECT count(*) FROM t, (VALUES (1), (2)) AS v(x) WHERE k = x").await.unwrap().create_physical_plan().await.unwrap();
        assert_eq!(input(&plan), Err("DataSourceExec".to_string()), "a memory table");
        let plan = ctx.sql("SELECT 1").await.unwrap().create_physical_plan().await.unwrap();
        assert_eq!(input(&plan), Ok(Input::default()));
    }

    #[test]
    fn a_task_doing_the_work_of_several_gets_their_shuffle_budget() {
        use ballista::prelude::SessionConfigExt;
        let budget = |options: &ConfigOptions| options.extensions.get::<BallistaConfig>().unwrap().shuffle_sort_based_memory_limit_per_task_bytes();
        let mut options = SessionConfig::new_with_ballista().with_target_partitions(16).options().as_ref().clone();
        assert_eq!(budget(&options), 256 << 20);
        resize(&mut options, &Input { bytes: 150 << 20, files: 3 }, 2);
        assert_eq!((options.execution.target_partitions, budget(&options)), (4, 1 << 30));
        assert!(options.optimizer.repartition_file_scans, "fewer files than partitions are split");
        let mut pool_based = SessionConfig::new_with_ballista().with_target_partitions(16).options().as_ref().clone();
        pool_based.set(BALLISTA_SHUFFLE_SORT_BASED_MEMORY_LIMIT_PER_TASK_BYTES, "0").unwrap();
        resize(&mut pool_based, &Input { bytes: 150 << 20, files: 3 }, 2);
        assert_eq!(budget(&pool_based), 0, "no per-task budget stays none");
    }

    /// Two files of one row group each, as a two-task stage writes a small table.
    async fn two_small_files(ctx: &SessionContext, dir: &std::path::Path) -> Vec<u64> {
        for (i, rows) in [(0, 30000), (1, 30500)] {
            let write = format!("COPY (SELECT value * 7919 % 30011 AS k FROM generate_series(1, {rows})) TO '{}/{i}.parquet' STORED AS PARQUET", dir.display());
            ctx.sql(&write).await.unwrap().collect().await.unwrap();
        }
        ctx.register_parquet("t", dir.to_str().unwrap(), Default::default()).await.unwrap();
        (0..2).map(|i| std::fs::metadata(dir.join(format!("{i}.parquet"))).unwrap().len()).collect()
    }

    /// The file groups `ctx` plans to read `t` in.
    async fn groups(ctx: &SessionContext) -> Vec<Vec<(String, Option<i64>)>> {
        let mut plan = ctx.sql("SELECT sum(k) FROM t").await.unwrap().create_physical_plan().await.unwrap();
        while let [child, ..] = &plan.children()[..] {
            plan = Arc::clone(child);
        }
        let scan = plan.downcast_ref::<DataSourceExec>().and_then(|s| s.data_source().downcast_ref::<FileScanConfig>()).unwrap().clone();
        scan.file_groups.iter().map(|g| g.iter().map(|f| (f.path().filename().unwrap().to_string(), f.range.as_ref().map(|r| r.start))).collect()).collect()
    }

    #[tokio::test]
    async fn as_many_files_as_partitions_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(16));
        let sizes = two_small_files(&ctx, dir.path()).await;
        let input = Input { bytes: sizes.iter().sum(), files: 2 };
        resize(ctx.state_ref().write().config_mut().options_mut(), &input, 2);
        assert_eq!(ctx.state().config().target_partitions(), 2);
        assert_eq!(groups(&ctx).await, [[("0.parquet".to_string(), None)], [("1.parquet".to_string(), None)]]);
        // What byte ranges would do (DataFusion splits 1 MB or more; these files are smaller): the
        // second range starts inside 1.parquet, past byte 4, where its only row group starts.
        ctx.state_ref().write().config_mut().options_mut().optimizer.repartition_file_scans = true;
        ctx.state_ref().write().config_mut().options_mut().optimizer.repartition_file_min_size = 0;
        let second = i64::try_from(sizes[1] - sizes.iter().sum::<u64>() / 2).unwrap();
        assert!(second > 4, "{sizes:?}");
        assert_eq!(groups(&ctx).await[1], [("1.parquet".to_string(), Some(second))]);
    }
}
