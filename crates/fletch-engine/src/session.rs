//! The one definition of a fletch session. The embedded context, the remote
//! client, the scheduler's session builder and the executors' function
//! registry are all derived from [`session_state`], so the processes of a
//! cluster can never disagree on which functions or object stores exist.

use std::sync::Arc;
use std::time::Duration;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::error::Result as DfResult;
use datafusion::execution::SessionState;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::{codec, stores};

/// How long a client waits for a scheduler to answer before giving up.
pub const SCHEDULER_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The runtime every process uses: fletch's object-store registry.
pub fn runtime_env() -> DfResult<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new().with_object_store_registry(stores::registry()).build_arc()
}

/// Ballista's session (DataFusion defaults including nested functions, its
/// optimizer rules) plus fletch's runtime and every fletch function.
pub fn session_state(config: SessionConfig) -> DfResult<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    let mut state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime_env()?)
        .build();
    // register_*, never with_*_functions: the latter replaces the built-ins.
    fletch_udfs::register_all(&mut state)?;
    crate::external_tables::register(&mut state);
    Ok(state)
}

/// Executors decode tasks with this registry; built from the same state so
/// it carries DataFusion's nested functions too (Ballista's default lacks them).
pub fn executor_registry() -> DfResult<Arc<BallistaFunctionRegistry>> {
    let state = session_state(SessionConfig::new_with_ballista())?;
    Ok(Arc::new(BallistaFunctionRegistry::from(&state)))
}

/// Settings for in-process runs. Strings stay `Utf8` as on a cluster (Ballista
/// turns view types off), so embedded and distributed outputs are identical.
pub fn embedded_config() -> SessionConfig {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    with_output_settings(SessionConfig::new())
        .with_target_partitions(cores)
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.schema_force_view_types", false)
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
}

/// Parquet outputs are Snappy-compressed, as Spark (and so the original
/// jobs) wrote them, instead of DataFusion's default zstd(3).
fn with_output_settings(config: SessionConfig) -> SessionConfig {
    config.set_str("datafusion.execution.parquet.compression", "snappy")
}

/// Where queries run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// In this process, on DataFusion directly.
    Embedded,
    /// On a Ballista cluster; the scheduler's `HOST:PORT`.
    Cluster(String),
}

impl Mode {
    pub fn from_scheduler(scheduler: Option<&str>) -> Self {
        scheduler.map_or(Mode::Embedded, |s| Mode::Cluster(s.to_string()))
    }
}

/// A session for `mode`, with every fletch function registered.
pub async fn connect(mode: &Mode) -> Result<SessionContext> {
    match mode {
        Mode::Embedded => Ok(SessionContext::new_with_state(session_state(embedded_config())?)),
        Mode::Cluster(addr) => {
            check_scheduler(addr).await?;
            let config = with_output_settings(SessionConfig::new_with_ballista()).with_ballista_logical_extension_codec(codec::logical_codec());
            let state = session_state(config)?;
            let ctx = SessionContext::remote_with_state(&format!("df://{addr}"), state).await?;
            // remote_with_state rebuilds the function lists from Ballista's
            // defaults, dropping ours; put them back on the client.
            fletch_udfs::register_all(&mut ctx.state_ref().write())?;
            Ok(ctx)
        }
    }
}

/// Validates `HOST:PORT` and checks that a scheduler answers there.
pub async fn check_scheduler(addr: &str) -> Result<()> {
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| {
        Error::usage(format!("--scheduler: expected HOST:PORT, got `{addr}`"))
    })?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(Error::usage(format!("--scheduler: expected HOST:PORT, got `{addr}`")));
    }
    let url = format!("http://{addr}");
    match tokio::time::timeout(SCHEDULER_CONNECT_TIMEOUT, SchedulerGrpcClient::connect(url)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Cluster(format!(
            "cannot reach the scheduler at {addr}: {}",
            root_cause(&e)
        ))),
        Err(_) => Err(Error::Cluster(format!(
            "cannot reach the scheduler at {addr}: no answer within {}s",
            SCHEDULER_CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
