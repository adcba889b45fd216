//! The one definition of a fletch session. The embedded context, the remote
//! client, the scheduler's session builder and the executors' function
//! registry are all derived from [`session_state`], so the processes of a
//! cluster can never disagree on which functions or object stores exist.

use std::collections::HashMap;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::config::{BALLISTA_ADAPTIVE_PLANNER_ENABLED, BALLISTA_CLIENT_PULL, BallistaConfig};
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::error::Result as DfResult;
use datafusion::execution::SessionState;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::Result;
use crate::remote::Cluster;
use crate::{codec, memory, stores};

/// The runtime every process uses: fletch's object-store registry and the
/// process's memory budget ([`crate::memory`]).
pub fn runtime_env() -> DfResult<Arc<RuntimeEnv>> {
    memory::apply(RuntimeEnvBuilder::new().with_object_store_registry(stores::registry())).build_arc()
}

/// Ballista's session (DataFusion defaults including nested functions, its
/// optimizer rules) plus fletch's runtime, `DISTRIBUTE BY`
/// ([`crate::distribute_by`]) and every fletch function.
pub fn session_state(config: SessionConfig) -> DfResult<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    // The single-pass rule sees the plan before DataFusion's rules move
    // repartitions; broadcasts are decided right after DataFusion's own joins.
    let mut physical_rules = vec![Arc::new(crate::distribute_by::AggregateDistributed) as _];
    for rule in state.physical_optimizers() {
        physical_rules.push(rule.clone());
        if rule.name() == "join_selection" {
            physical_rules.push(Arc::new(crate::broadcast_joins::BroadcastSmallSides) as _);
        }
    }
    let mut state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime_env()?)
        .with_optimizer_rule(Arc::new(crate::distribute_by::DistributeBy))
        .with_physical_optimizer_rules(physical_rules)
        .build();
    // register_*, never with_*_functions: the latter replaces the built-ins.
    fletch_udfs::register_all(&mut state)?;
    crate::external_tables::register(&mut state);
    Ok(state)
}

/// The scheduler's session: [`session_state`] plus the rule that writes
/// outputs from the tasks that make their rows ([`crate::split_sink`]).
pub fn scheduler_session_state(config: SessionConfig) -> DfResult<SessionState> {
    let state = session_state(config)?;
    Ok(datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_physical_optimizer_rule(Arc::new(crate::split_sink::SplitSinks))
        .build())
}

/// Executors decode tasks with this registry; built from the same state so
/// it carries DataFusion's nested functions too (Ballista's default lacks them).
pub fn executor_registry() -> DfResult<Arc<BallistaFunctionRegistry>> {
    let state = session_state(cluster_config())?;
    Ok(Arc::new(BallistaFunctionRegistry::from(&state)))
}

/// Settings for in-process runs. Parquet strings are read as `Utf8View`
/// (DataFusion's default, which Ballista turns off for its shuffle files):
/// lookalike's showlog query took 11.5 s against 12.4 s. What leaves a
/// query is plain `Utf8` again ([`crate::view_types`]), so embedded and
/// distributed results and files are the same; SQL's `VARCHAR` stays `Utf8`.
///
/// Join build sides under Ballista's broadcast thresholds (128 MB, 1M rows)
/// are collected once, as on a cluster, instead of DataFusion's 1 MB and
/// 128 Ki rows: lookalike's persona (365K users) made the probe side, 13M
/// shows, go through a hash repartition (showlog step 16.7 → 14.2 s).
pub fn embedded_config() -> SessionConfig {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let broadcast = BallistaConfig::default();
    with_output_settings(SessionConfig::new())
        .with_target_partitions(cores)
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.schema_force_view_types", true)
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
        .set_usize("datafusion.optimizer.hash_join_single_partition_threshold", broadcast.broadcast_join_threshold_bytes())
        .set_usize("datafusion.optimizer.hash_join_single_partition_threshold_rows", broadcast.broadcast_join_threshold_rows())
}

/// Parquet outputs are Snappy-compressed, as Spark (and so the original
/// jobs) wrote them, instead of DataFusion's default zstd(3). Row groups of
/// 128 Ki rows instead of 1 Mi: a partitioned write buffers one open row
/// group per partition, which took lookalike-prepare's clean stage to 2.6 GB
/// (0.95 GB so, no slower). Spill files are LZ4-compressed (DataFusion
/// writes them raw): lookalike's train-ready at 135M shows under a 3 GB
/// budget spilled 1.2 GB instead of 2.2 GB, in the same time.
fn with_output_settings(config: SessionConfig) -> SessionConfig {
    config
        .set_str("datafusion.execution.parquet.compression", "snappy")
        .set_usize("datafusion.execution.parquet.max_row_group_size", 128 * 1024)
        .set_str("datafusion.execution.spill_compression", "lz4_frame")
}

/// The settings of every session on a cluster (client, scheduler, executors):
/// Ballista's static planner, because the adaptive one it enables by default
/// does not recover from a lost executor (apache/datafusion-ballista#1986:
/// jobs hang with "Can't find active stage to update stage outputs").
///
/// Hash joins, as embedded: Ballista 55 defaults to sort-merge joins (they
/// spill), which sorted and shuffled lookalike's 13M clean shows twice: its
/// showlog step took 55 s on a local cluster, 28 s with hash joins (17 s
/// embedded), the whole job 114 s, then 71 s. fletch's build sides are
/// one row per user or a dimension table; those under Ballista's broadcast
/// threshold (128 MB) are collected per task instead of shuffled, and one
/// that outgrows an executor's memory budget fails naming it.
///
/// Outputs are written by the tasks that make their rows
/// ([`crate::split_sink`]), so each task writes one file per partition
/// value rather than DataFusion's four parallel files.
pub fn cluster_config() -> SessionConfig {
    with_output_settings(SessionConfig::new_with_ballista())
        .set_bool(BALLISTA_ADAPTIVE_PLANNER_ENABLED, false)
        .set_bool("datafusion.optimizer.prefer_hash_join", true)
        .set_usize("datafusion.execution.minimum_parallel_output_files", 1)
}

/// Where queries run.
#[derive(Clone, Debug)]
pub enum Mode {
    /// In this process, on DataFusion directly.
    Embedded,
    /// On a Ballista cluster.
    Cluster(Cluster),
}

/// A session for `mode`, with every fletch function registered. On a
/// cluster it first checks that the scheduler answers and an executor is
/// registered, and its queries are watched ([`crate::remote`]).
pub async fn connect(mode: &Mode) -> Result<SessionContext> {
    match mode {
        Mode::Embedded => Ok(SessionContext::new_with_state(session_state(embedded_config())?)),
        Mode::Cluster(cluster) => {
            cluster.check_scheduler().await?;
            cluster.wait_for_executors().await?;
            // Pulling job status gives the job's id as soon as it is submitted
            // (pushed status names it only once the job is scheduled), so a
            // queued job can be watched and cancelled too.
            let mut config = cluster_config()
                .with_ballista_logical_extension_codec(codec::logical_codec())
                .set_bool(BALLISTA_CLIENT_PULL, true);
            if let Some(token) = &cluster.token {
                config = config.with_ballista_grpc_metadata(HashMap::from([("authorization".to_string(), token.bearer())]));
            }
            let state = session_state(config.with_extension(Arc::new(cluster.clone())))?;
            let ctx = SessionContext::remote_with_state(&format!("df://{}", cluster.scheduler), state).await?;
            // remote_with_state rebuilds the function lists from Ballista's
            // defaults, dropping ours; put them back on the client.
            fletch_udfs::register_all(&mut ctx.state_ref().write())?;
            Ok(ctx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes a sort of repetitive strings spills under a 32 MB budget.
    async fn spilled_bytes(config: SessionConfig) -> u64 {
        let runtime = RuntimeEnvBuilder::new().with_memory_limit(32 << 20, 1.0).build_arc().unwrap();
        let ctx = SessionContext::new_with_config_rt(config.with_target_partitions(1), runtime);
        let sql = "EXPLAIN ANALYZE SELECT s FROM (SELECT repeat('fletch', 60) || CAST(v % 1000 AS VARCHAR) AS s \
                   FROM generate_series(1, 200000) AS t(v)) ORDER BY s";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        let line = text.lines().find(|l| l.contains("SortExec")).unwrap();
        let bytes = line.split("spilled_bytes=").nth(1).unwrap_or_else(|| panic!("no spilled_bytes in {line}"));
        let (number, unit) = bytes.split_at(bytes.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap());
        let scale = match unit.trim_start().chars().next() {
            Some('K') => 1e3,
            Some('M') => 1e6,
            Some('G') => 1e9,
            _ => 1.0,
        };
        (number.parse::<f64>().unwrap() * scale) as u64
    }

    #[tokio::test]
    async fn spill_files_are_compressed_in_both_modes() {
        let raw = spilled_bytes(SessionConfig::new().set_str("datafusion.execution.spill_compression", "uncompressed")).await;
        assert!(raw > 10_000_000, "the sort spills its 80 MB: {raw}");
        for config in [embedded_config(), cluster_config()] {
            let compressed = spilled_bytes(config).await;
            assert!(compressed > 0 && compressed * 4 < raw, "{compressed} bytes spilled against {raw} uncompressed");
        }
    }
}
