//! `fletch serve lookalike`: the audience service Blue Marlin designed and
//! never built (spec lookalike.md §11.5, docs/lookalike-service.md). An
//! advertiser uploads a seed audience, gets a job id, polls its status and
//! downloads the extended audience as CSV.
//!
//! - [`routes`]: the HTTP API, its errors and bearer-token check;
//! - [`upload`]: a multipart upload checked into a [`upload::Submission`];
//! - [`jobs`]: job records kept under the output root, a queue with at most
//!   `--max-concurrent-jobs` running, each running lookalike-seeds (when no
//!   file was uploaded) and lookalike-extend;
//! - [`download`]: the audience as streamed CSV;
//! - [`metrics`]: Prometheus text.

mod download;
mod jobs;
mod metrics;
mod routes;
mod upload;

use std::net::SocketAddr;
use std::sync::Arc;

use fletch_engine::auth::Token;
use fletch_engine::{Error, Location, Result};
use fletch_jobs::RunOptions;


/// How the service runs.
pub struct Config {
    pub bind: SocketAddr,
    /// Where the jobs run (data root: the pipeline's tables; mode: embedded
    /// or a cluster). Each job writes under `<output-root>/<job id>/`.
    pub run: RunOptions,
    pub max_concurrent_jobs: usize,
    pub max_upload_bytes: usize,
    /// Required of every request but `/healthz` when set.
    pub token: Option<Token>,
}

/// Serves until SIGINT or SIGTERM, then fails the running jobs (cancelling
/// their cluster jobs). Jobs queued before a restart are queued again; jobs
/// that were running when the service died are marked Failed.
pub async fn serve(config: Config) -> Result<()> {
    let jobs = jobs::Jobs::open(config.run.clone(), config.max_concurrent_jobs).await?;
    let app = routes::router(Arc::clone(&jobs), config.token, config.max_upload_bytes);
    let listener = tokio::net::TcpListener::bind(config.bind).await.map_err(|e| Error::io(format!("cannot listen on {}: {e}", config.bind)))?;
    log::info!("lookalike service on http://{}, jobs under {}", config.bind, config.run.output_root);
    let stop = fletch_engine::signals::stop_signal();
    let (stopped, heard) = tokio::sync::oneshot::channel();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let signal = stop.await;
            log::info!("{}: stopping the lookalike service", signal.name());
            let _ = stopped.send(signal);
        })
        .await
        .map_err(|e| Error::io(format!("lookalike service: {e}")))?;
    if let Ok(signal) = heard.await {
        jobs.stop(signal.name()).await;
    }
    Ok(())
}

/// `<output-root>/<job id>/`.
fn job_root(root: &Location, job_id: &str) -> Location {
    root.join(&format!("{job_id}/"))
}
