//! The `fletch scheduler` and `fletch executor` processes: Ballista's, with
//! fletch's session builder, function registry and object stores.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_server};

use crate::codec;
use crate::error::{Error, Result};
use crate::session::{executor_registry, runtime_env, session_state};

/// Both sides must agree; push-staged is Ballista 55's default, set explicitly.
const POLICY: TaskSchedulingPolicy = TaskSchedulingPolicy::PushStaged;

pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// Host name executors and clients use to reach this scheduler.
    pub external_host: Option<String>,
    pub flight_sql: bool,
}

/// Runs a scheduler until Ctrl-C or SIGTERM.
pub async fn run_scheduler(opts: SchedulerOptions) -> Result<()> {
    let mut config = SchedulerConfig {
        bind_host: opts.bind.ip().to_string(),
        bind_port: opts.bind.port(),
        external_host: opts.external_host.unwrap_or_else(|| opts.bind.ip().to_string()),
        scheduling_policy: POLICY,
        ..Default::default()
    }
    .with_override_session_builder(Arc::new(session_state));
    config.override_logical_codec = Some(codec::logical_codec());
    if opts.flight_sql {
        config = config.with_flight_sql(true);
    }
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| Error::Cluster(format!("cannot start the scheduler: {e}")))?;
    log::info!("fletch scheduler listening on {} (flight sql: {})", opts.bind, opts.flight_sql);
    let bind = opts.bind;
    let stopped = |e: ballista_core::error::BallistaError| Error::Cluster(format!("scheduler on {bind} stopped: {e}"));
    let server = async {
        if opts.flight_sql {
            let scheduler = create_scheduler(cluster, Arc::new(config)).await.map_err(stopped)?;
            crate::flight_sql::serve(scheduler, bind).await
        } else {
            start_server(cluster, bind, Arc::new(config)).await.map_err(stopped)
        }
    };
    tokio::select! {
        r = server => r,
        _ = shutdown_signal() => {
            log::info!("scheduler shutting down");
            Ok(())
        }
    }
}

pub struct ExecutorOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    /// Arrow Flight address; the executor's gRPC service listens on the next port.
    pub bind: SocketAddr,
    pub external_host: Option<String>,
    pub work_dir: PathBuf,
    /// Task slots; 0 means one per core.
    pub concurrent_tasks: usize,
}

/// Runs an executor until Ctrl-C, SIGTERM or the scheduler stops it.
pub async fn run_executor(opts: ExecutorOptions) -> Result<()> {
    let (host, port) = opts
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| Error::usage(format!("--scheduler: expected HOST:PORT, got `{}`", opts.scheduler)))?;
    let grpc_port = opts.bind.port().checked_add(1).ok_or_else(|| {
        Error::usage(format!("--bind: port {} leaves no room for the gRPC port after it", opts.bind.port()))
    })?;
    std::fs::create_dir_all(&opts.work_dir).map_err(|e| {
        Error::io(format!("--work-dir: cannot create {}: {e}", opts.work_dir.display()))
    })?;
    let vcores = match opts.concurrent_tasks {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let config = ExecutorProcessConfig {
        bind_host: opts.bind.ip().to_string(),
        external_host: opts.external_host,
        port: opts.bind.port(),
        grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        scheduler_connect_timeout_seconds: 30,
        vcores,
        task_scheduling_policy: POLICY,
        work_dir: Some(opts.work_dir.display().to_string()),
        override_function_registry: Some(executor_registry()?),
        override_runtime_producer: Some(Arc::new(|_| runtime_env())),
        ..Default::default()
    };
    log::info!(
        "fletch executor on {} (grpc {grpc_port}), {vcores} task slots, scheduler {}",
        opts.bind,
        opts.scheduler
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| Error::Cluster(format!("executor on {}: {e}", opts.bind)))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
