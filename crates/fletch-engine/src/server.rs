//! The scheduler's one port: Ballista's scheduler gRPC service, Flight SQL
//! (`--flight-sql`), `/jobs/ID/recovery`, `/slots`, `/healthz` and `/readyz`, behind the token check
//! ([`crate::auth`]) when a token is configured. The port is bound before
//! anything says it listens.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;

use crate::auth::{self, Token};
use crate::error::{Error, Result};
use crate::flight_sql::{self, Scheduler};
use crate::long_poll::{LongPoll, Wakeups};
use crate::recovery::Recoveries;

/// The gRPC path of Arrow Flight (and so Flight SQL) calls.
const FLIGHT_SERVICE: &str = "/arrow.flight.protocol.FlightService/";

/// Serves `scheduler` on `bind` until the future is dropped; its idle
/// executors' polls and its clients' status requests wait for news
/// ([`crate::long_poll`]).
pub async fn serve(scheduler: Scheduler, wakeups: Wakeups, recoveries: Recoveries, bind: SocketAddr, flight_sql: bool, token: Option<Token>) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| Error::Cluster(format!("scheduler: cannot listen on {bind}: {e}")))?;
    // Without TCP_NODELAY (axum's default) every gRPC answer waited for the
    // executor's delayed ACK: 40 ms per poll, so per task handed out.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            log::warn!("scheduler: cannot set TCP_NODELAY on a connection: {e}");
        }
    });
    let config = scheduler.state.config.clone();
    let mut routes = tonic::service::RoutesBuilder::default();
    routes.add_service(
        SchedulerGrpcServer::new(LongPoll::new(scheduler.clone(), wakeups))
            .max_decoding_message_size(config.grpc_server_max_decoding_message_size as usize)
            .max_encoding_message_size(config.grpc_server_max_encoding_message_size as usize),
    );
    if flight_sql {
        routes.add_service(flight_sql::service(scheduler.clone(), token.clone()));
    }
    let slots = axum::Router::new().route("/slots", get(task_slots)).with_state(scheduler.clone());
    let health = axum::Router::new().route("/healthz", get(|| async { "ok\n" })).route("/readyz", get(readyz)).with_state(scheduler);
    let jobs = axum::Router::new().route("/jobs/{id}/recovery", get(recovery)).with_state(recoveries);
    let mut app = routes.routes().into_axum_router().merge(jobs).merge(slots);
    if let Some(token) = token {
        app = app.layer(middleware::from_fn_with_state(token, require_token));
    } else if !bind.ip().is_loopback() {
        log::warn!("scheduler on {bind} has no --auth-token-file: anyone who reaches the port can run SQL; give it a token or bind a loopback address");
    }
    // The scheduler reads each executor's address from axum's connection info.
    let app = app.merge(health).into_make_service_with_connect_info::<SocketAddr>();
    log::info!("fletch scheduler listening on {bind} (flight sql: {flight_sql})");
    axum::serve(listener, app).await.map_err(|e| Error::Cluster(format!("scheduler on {bind} stopped: {e}")))
}

/// Serves an executor's `/healthz` (200 while the process runs) and
/// `/readyz` (200 while its last heartbeat to the scheduler succeeded, 503
/// otherwise) on `bind`, for Kubernetes probes; no token, nothing else.
pub async fn serve_executor_health(bind: SocketAddr, health: ballista_executor::health::ExecutorHealth) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| Error::Cluster(format!("executor: cannot serve health on {bind}: {e}")))?;
    let ready = |State(health): State<ballista_executor::health::ExecutorHealth>| async move {
        match health.is_ready() {
            true => (StatusCode::OK, "ready: heartbeats reach the scheduler\n"),
            false => (StatusCode::SERVICE_UNAVAILABLE, "not ready: no heartbeat reached the scheduler yet, or the last failed\n"),
        }
    };
    let app = axum::Router::new().route("/healthz", get(|| async { "ok\n" })).route("/readyz", get(ready)).with_state(health);
    log::info!("executor health on http://{bind}/healthz and /readyz");
    axum::serve(listener, app).await.map_err(|e| Error::Cluster(format!("executor health on {bind} stopped: {e}")))
}

/// 200 once an executor is registered, 503 before (Kubernetes readiness; clients wait on it).
async fn readyz(State(scheduler): State<Scheduler>) -> Response {
    if scheduler.is_ready() {
        (StatusCode::OK, "ready: executors registered\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: no executor registered\n").into_response()
    }
}

/// The task slots of the registered executors, a number (clients size their jobs by it).
async fn task_slots(State(scheduler): State<Scheduler>) -> Response {
    match scheduler.state.executor_manager.get_executors_state().await {
        Ok(executors) => format!("{}\n", executors.iter().map(|(e, ..)| u64::from(e.specification.vcores)).sum::<u64>()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// What a finished job recovered from (JSON [`crate::recovery::Recovery`]); 404 for an unknown job.
async fn recovery(State(recoveries): State<Recoveries>, Path(job): Path<String>) -> Response {
    match recoveries.of(&job).await {
        Ok(Some(r)) => axum::Json(r).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no finished job {job}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// Flight SQL checks its own sessions (see [`crate::auth`]); everything else
/// on the port needs the token.
async fn require_token(State(token): State<Token>, request: Request<Body>, next: Next) -> Response {
    if request.uri().path().starts_with(FLIGHT_SERVICE) || token.admits(request.headers()) {
        next.run(request).await
    } else {
        log::warn!("refused an unauthenticated request for {}", request.uri().path());
        auth::refusal(&request)
    }
}
