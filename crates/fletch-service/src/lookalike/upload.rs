//! `POST /lookalike/extend-audience`'s multipart body, checked before
//! anything is stored or started: seed files (any part with a file name),
//! and the form fields `keyword`, `audience_size`, `method`, `min_score`
//! and `seeds_limit`.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use multer::{Constraints, Multipart, SizeLimit};
use serde::{Deserialize, Serialize};
use fletch_jobs::lookalike_audience::seed_files;

use super::routes::ApiError;

/// The original's M, when the form gives no `audience_size`.
const DEFAULT_AUDIENCE_SIZE: i64 = 2000;
/// Seeds chosen from a keyword when no file is uploaded (seed_user_selector's 1000).
const DEFAULT_SEEDS_LIMIT: i64 = 1000;
const METHODS: &[&str] = &["similarity", "mean-top10"];

/// A checked request for an extended audience.
pub struct Submission {
    /// Uploaded seed files: their names and contents.
    pub files: Vec<(String, Bytes)>,
    /// Seed dids in the files (repeats counted).
    pub seed_rows: usize,
    pub asked: Asked,
}

/// The form's fields, checked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Asked {
    /// Without files: seeds are the users who clicked this keyword.
    pub keyword: Option<i64>,
    pub seeds_limit: i64,
    pub audience_size: i64,
    pub method: String,
    pub min_score: Option<f64>,
}

/// Reads and checks the upload; a 400 names the first problem.
pub async fn read(headers: &HeaderMap, body: Body, max_bytes: usize) -> Result<Submission, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| ApiError::bad_request(format!("expected a multipart/form-data upload, got content-type `{content_type}`")))?;
    let limit = Constraints::new().size_limit(SizeLimit::new().whole_stream(max_bytes as u64));
    let mut form = Multipart::with_constraints(body.into_data_stream(), boundary, limit);
    let mut files = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| too_large_or(e, max_bytes))? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(file) => {
                let bytes = field.bytes().await.map_err(|e| too_large_or(e, max_bytes))?;
                files.push((if file.is_empty() { format!("seeds-{}", files.len() + 1) } else { file }, bytes));
            }
            None => {
                let text = field.text().await.map_err(|e| too_large_or(e, max_bytes))?;
                fields.push((name, text.trim().to_string()));
            }
        }
    }
    let field = |name: &str| fields.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    if let Some((unknown, _)) = fields.iter().find(|(n, _)| !["keyword", "audience_size", "method", "min_score", "seeds_limit"].contains(&n.as_str())) {
        return Err(ApiError::bad_request(format!("unknown form field `{unknown}`: expected seed files and keyword, audience_size, method, min_score, seeds_limit")));
    }
    let int = |name: &str| -> Result<Option<i64>, ApiError> {
        field(name).map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_request(format!("{name}: expected an integer, got `{v}`")))).transpose()
    };
    let audience_size = int("audience_size")?.unwrap_or(DEFAULT_AUDIENCE_SIZE);
    if audience_size <= 0 {
        return Err(ApiError::bad_request(format!("audience_size: expected a positive number of users, got {audience_size}")));
    }
    let method = field("method").unwrap_or("similarity").to_string();
    if !METHODS.contains(&method.as_str()) {
        return Err(ApiError::bad_request(format!("method: expected similarity or mean-top10, got `{method}`")));
    }
    let min_score = match field("min_score") {
        None => None,
        Some(v) => Some(v.parse::<f64>().ok().filter(|s| s.is_finite()).ok_or_else(|| ApiError::bad_request(format!("min_score: expected a number, got `{v}`")))?),
    };
    let keyword = int("keyword")?;
    if keyword.is_some_and(|k| k < 0) {
        return Err(ApiError::bad_request("keyword: expected a keyword index (0 or more)"));
    }
    let seeds_limit = int("seeds_limit")?.unwrap_or(DEFAULT_SEEDS_LIMIT);
    if seeds_limit <= 0 {
        return Err(ApiError::bad_request(format!("seeds_limit: expected a positive number of seeds, got {seeds_limit}")));
    }
    let mut seed_rows = 0;
    for (name, bytes) in &files {
        seed_rows += seed_files::parse(name, bytes).map_err(|e| ApiError::bad_request(e.to_string()))?.len();
    }
    if files.is_empty() && keyword.is_none() {
        return Err(ApiError::bad_request("empty upload: send seed files (one did a line, or CSV with a did column), or a keyword whose clickers are the seeds"));
    }
    Ok(Submission { files, seed_rows, asked: Asked { keyword, seeds_limit, audience_size, method, min_score } })
}

/// A body over `--max-upload-bytes` is a 400 saying so; other multipart
/// errors are 400s with multer's reason.
fn too_large_or(e: multer::Error, max_bytes: usize) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { .. } => ApiError::bad_request(format!("the upload is larger than the service accepts (--max-upload-bytes {max_bytes})")),
        e => ApiError::bad_request(format!("not a valid multipart upload: {e}")),
    }
}
