//! The `fletch scheduler` and `fletch executor` processes: Ballista's, with
//! fletch's session builder, function registry and object stores.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballista_core::config::TaskSchedulingPolicy;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_executor::health::ExecutorHealth;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::create_scheduler;

use crate::auth::Token;
use crate::error::{Error, Result};
use crate::long_poll::Wakeups;
use crate::recovery::Recoveries;
use crate::{codec, remote, server};
use crate::signals::stop_signal;
use crate::session::{cluster_config, executor_registry, runtime_env, scheduler_session_state};

/// Both sides must agree. Pull-staged, not Ballista 55's default push-staged:
/// the scheduler's slot count of a pushing cluster leaks the slots of tasks
/// cancelled when a lost executor rolls their stage back, and the job then
/// waits for ever; executors that pull count their own free slots.
/// `FLETCH_SCHEDULING=push` (on the scheduler and every executor) chooses
/// push-staged: faster for many small jobs, unsafe when executors are lost.
fn policy() -> TaskSchedulingPolicy {
    match std::env::var("FLETCH_SCHEDULING").as_deref() {
        Ok("push") => TaskSchedulingPolicy::PushStaged,
        _ => TaskSchedulingPolicy::PullStaged,
    }
}
/// Executors report every few seconds, so a lost one is noticed in tens of
/// seconds (Ballista's defaults, 60 s beats and a 180 s timeout, suit
/// long-lived services better than batch jobs waiting on its tasks).
pub const HEARTBEAT_SECONDS: u64 = 5;

pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// Host name executors and clients use to reach this scheduler.
    pub external_host: Option<String>,
    pub flight_sql: bool,
    /// An executor silent this long is lost: its tasks run again elsewhere.
    pub executor_timeout_seconds: u64,
    /// Required of every client and executor, when set.
    pub token: Option<Token>,
}

/// Runs a scheduler until SIGINT or SIGTERM ([`Error::Stopped`]).
pub async fn run_scheduler(opts: SchedulerOptions) -> Result<()> {
    let wakeups = Wakeups::default();
    let config = SchedulerConfig {
        bind_host: opts.bind.ip().to_string(),
        bind_port: opts.bind.port(),
        external_host: opts.external_host.unwrap_or_else(|| opts.bind.ip().to_string()),
        scheduling_policy: policy(),
        executor_timeout_seconds: opts.executor_timeout_seconds,
        no_executors_grace_period_seconds: opts.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: HEARTBEAT_SECONDS,
        ..Default::default()
    }
    .with_override_session_builder(Arc::new(scheduler_session_state))
    .with_override_config_producer(Arc::new(cluster_config))
    .with_on_work_available(wakeups.on_work_available());
    let config = SchedulerConfig { override_logical_codec: Some(codec::logical_codec()), override_physical_codec: Some(codec::physical_codec()), ..config };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| Error::Cluster(format!("cannot start the scheduler: {e}")))?;
    let bind = opts.bind;
    let jobs = cluster.job_state();
    wakeups.follow_jobs(&jobs).await?;
    let scheduler = create_scheduler(cluster, Arc::new(config))
        .await
        .map_err(|e| Error::Cluster(format!("scheduler on {bind}: {e}")))?;
    let recoveries = Recoveries::follow(&scheduler, jobs).await?;
    let stop = stop_signal();
    tokio::select! {
        r = server::serve(scheduler, wakeups, recoveries, bind, opts.flight_sql, opts.token) => r,
        stop = stop => {
            log::info!("scheduler stopped by {}", stop.name());
            Err(Error::Stopped(stop))
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
    /// How long to keep trying to reach the scheduler at startup.
    pub scheduler_wait: Duration,
    /// The scheduler's token, presented on every call to it.
    pub token: Option<Token>,
    /// Where to serve `/healthz` and `/readyz` over HTTP, if anywhere.
    pub health_bind: Option<SocketAddr>,
    /// Bytes the executor's tasks may hold, split evenly over the task slots
    /// (Ballista gives each task a spilling pool of its share); `None`: unbounded.
    pub memory_limit: Option<usize>,
}

/// Runs an executor until SIGINT or SIGTERM ([`Error::Stopped`]) or the
/// scheduler stops it. On a signal, Ballista's executor tells the scheduler
/// it is leaving, lets its running tasks finish, and then returns.
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
    let health = ExecutorHealth::new();
    let config = ExecutorProcessConfig {
        bind_host: opts.bind.ip().to_string(),
        external_host: opts.external_host,
        port: opts.bind.port(),
        grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        // Ballista 55 retries for ever whatever this says (its deadline is
        // measured from `Instant::now()` each time); reach_scheduler waits
        // instead, so one attempt is enough here.
        scheduler_connect_timeout_seconds: 0,
        vcores,
        // Ballista reads 0 as unbounded.
        memory_pool_size: Some(opts.memory_limit.unwrap_or(0) as u64),
        task_scheduling_policy: policy(),
        work_dir: Some(opts.work_dir.display().to_string()),
        executor_heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        override_config_producer: Some(Arc::new(cluster_config)),
        override_create_grpc_client_endpoint: opts.token.map(|token| {
            let agent = token.executor_agent();
            Arc::new(move |endpoint: tonic::transport::Endpoint| endpoint.user_agent(agent.clone()).map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)) as _
        }),
        override_function_registry: Some(executor_registry()?),
        override_physical_codec: Some(codec::physical_codec()),
        override_runtime_producer: Some(Arc::new(|_| runtime_env())),
        health: health.clone(),
        ..Default::default()
    };
    log::info!(
        "fletch executor on {} (grpc {grpc_port}), {vcores} task slots, scheduler {}",
        opts.bind,
        opts.scheduler
    );
    reach_scheduler(&opts.scheduler, opts.scheduler_wait).await?;
    // Ballista's executor hears the signal too, and deregisters before it returns.
    let stop = tokio::spawn(stop_signal());
    let executor = start_executor_process(Arc::new(config));
    let executor = async {
        executor.await.map_err(|e| Error::Cluster(format!("executor on {}: {e}", opts.bind)))?;
        match tokio::time::timeout(Duration::from_secs(1), stop).await {
            Ok(Ok(stop)) => {
                log::info!("executor stopped by {}", stop.name());
                Err(Error::Stopped(stop))
            }
            _ => Ok(()),
        }
    };
    match opts.health_bind {
        Some(bind) => tokio::select! {
            done = executor => done,
            served = server::serve_executor_health(bind, health) => served,
        },
        None => executor.await,
    }
}

/// Waits until the scheduler at `addr` answers, saying why not every 10 s;
/// after `wait`, fails naming it.
async fn reach_scheduler(addr: &str, wait: Duration) -> Result<()> {
    let started = Instant::now();
    let mut said: Option<Instant> = None;
    loop {
        let Err(e) = remote::Cluster::new(addr).check_scheduler().await else { return Ok(()) };
        if started.elapsed() >= wait {
            return Err(Error::Cluster(format!("executor: gave up after {}s (--scheduler-wait): {e}", wait.as_secs())));
        }
        if said.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            log::warn!("{e}; retrying for up to {}s more", wait.saturating_sub(started.elapsed()).as_secs());
            said = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
