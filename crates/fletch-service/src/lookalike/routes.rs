//! The HTTP API: paths of the design (spec §11.5) with its misspelt keys
//! fixed, errors as JSON, and the optional bearer token.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use fletch_engine::auth::Token;
use serde_json::json;

use super::jobs::{Jobs, Status};
use super::{download, metrics, upload};

/// An error answer: `{"error": "..."}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }
    pub fn not_found(job_id: &str) -> Self {
        Self { status: StatusCode::NOT_FOUND, message: format!("no job {job_id}") }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self { status: StatusCode::CONFLICT, message: message.into() }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

struct App {
    jobs: Arc<Jobs>,
    max_upload_bytes: usize,
}

/// Every route; with a token, all but `/healthz` answer 401 without it.
pub fn router(jobs: Arc<Jobs>, token: Option<Token>, max_upload_bytes: usize) -> Router {
    let app = Arc::new(App { jobs, max_upload_bytes });
    let api = Router::new()
        .route("/lookalike/extend-audience", post(extend_audience))
        .route("/lookalike/status/{job_id}", get(status))
        .route("/lookalike/extended-audience/{job_id}", get(extended_audience))
        .route("/metrics", get(metrics_text))
        .with_state(app);
    let api = match token {
        Some(token) => api.layer(middleware::from_fn(move |request: Request, next: Next| {
            let admitted = token.admits_bearer(request.headers());
            async move {
                match admitted {
                    true => next.run(request).await,
                    false => (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], Json(json!({"error": "missing or wrong token: send authorization: Bearer <token> (the service's --token-file)"}))).into_response(),
                }
            }
        })),
        None => api,
    };
    Router::new().route("/healthz", get(|| async { "ok\n" })).merge(api)
}

async fn extend_audience(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let submission = upload::read(&headers, body, app.max_upload_bytes).await?;
    let job_id = app.jobs.submit(submission).await.map_err(|e| ApiError::internal(format!("cannot store the job: {e}")))?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job_id": job_id}))).into_response())
}

async fn status(State(app): State<Arc<App>>, Path(job_id): Path<String>) -> Result<Response, ApiError> {
    let record = app.jobs.get(&job_id).ok_or_else(|| ApiError::not_found(&job_id))?;
    Ok(Json(record.status_json()).into_response())
}

async fn extended_audience(State(app): State<Arc<App>>, Path(job_id): Path<String>) -> Result<Response, ApiError> {
    let record = app.jobs.get(&job_id).ok_or_else(|| ApiError::not_found(&job_id))?;
    if record.status != Status::Finished {
        return Err(ApiError::conflict(format!("job {job_id} is {:?}: its audience can be downloaded once it is Finished", record.status)));
    }
    let stream = download::csv(&app.jobs.audience_location(&job_id)).await.map_err(|e| ApiError::internal(format!("cannot read the audience of {job_id}: {e}")))?;
    let disposition = format!("attachment; filename=\"extended-audience-{job_id}.csv\"");
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)], Body::from_stream(stream)).into_response())
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics::render(&app.jobs.all())).into_response()
}
