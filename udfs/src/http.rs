//! Retries of remote calls, the same for every HTTP client of fletch (the AMO
//! API, DynamoDB, the lookalike model): transient failures only (connection errors, timeouts, 429,
//! 5xx), exponential backoff with jitter from 200 ms to 10 s, `Retry-After`
//! honoured, every retry logged. backon schedules them.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

/// One failed attempt of a call.
#[derive(Clone, Debug)]
pub struct Failure {
    pub message: String,
    /// Worth another attempt.
    pub transient: bool,
    /// What the server asked to wait (`Retry-After` seconds).
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), transient: false, retry_after: None }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self { message: message.into(), transient: true, retry_after: None }
    }

    /// A request that got no answer: timeouts and connection failures are transient.
    pub fn of_request(e: &reqwest::Error) -> Self {
        let message = if e.is_timeout() { "timed out".to_string() } else { root_cause(e) };
        Self { message, transient: e.is_timeout() || e.is_connect() || e.is_request() || e.is_body(), retry_after: None }
    }

    /// A non-success answer: 429 and 5xx are transient, with their `Retry-After`.
    pub fn of_status(status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap, detail: &str) -> Self {
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let message = if detail.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {detail}") };
        Self { message, transient: status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error(), retry_after }
    }
}

/// Sends `request` and reads the whole answer: its status, headers and text.
/// No answer (or a broken one) is [`Failure::of_request`]; the caller judges the status.
pub async fn answer(request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, String), Failure> {
    let response = request.send().await.map_err(|e| Failure::of_request(&e))?;
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.map_err(|e| Failure::of_request(&e))?;
    Ok((status, headers, text))
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Runs `attempt` until it succeeds, fails permanently, or `retries` more
/// attempts have failed; `what` names the call in the log. Returns the last
/// failure and the number of attempts made.
pub async fn with_retries<T, F, Fut>(retries: u32, what: &str, attempt: F) -> Result<T, (Failure, u32)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut attempts = 0u32;
    let mut counted = attempt;
    let policy = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .with_max_times(retries as usize);
    let result = (|| {
        attempts += 1;
        counted()
    })
    .retry(policy)
    .when(|f: &Failure| f.transient)
    // A retry waits at least what the server asked for.
    .adjust(|f: &Failure, wait| wait.map(|w| f.retry_after.map_or(w, |asked| asked.max(w))))
    .notify(|f: &Failure, wait| log::info!("{what}: {} (retrying in {:.1}s)", f.message, wait.as_secs_f64()))
    .await;
    result.map_err(|f| (f, attempts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_transient_failures_only() {
        let mut calls = 0;
        let got = with_retries(3, "test", || {
            calls += 1;
            let n = calls;
            async move { if n < 3 { Err(Failure::transient("busy")) } else { Ok(n) } }
        })
        .await;
        assert_eq!(got.unwrap(), 3);

        let mut calls = 0;
        let (failure, attempts) = with_retries(3, "test", || {
            calls += 1;
            async { Err::<(), _>(Failure::permanent("404")) }
        })
        .await
        .unwrap_err();
        assert_eq!((failure.message.as_str(), attempts, calls), ("404", 1, 1));

        let (_, attempts) = with_retries(2, "test", || async { Err::<(), _>(Failure::transient("down")) }).await.unwrap_err();
        assert_eq!(attempts, 3);
    }

    #[test]
    fn statuses_are_classified() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let f = Failure::of_status(reqwest::StatusCode::TOO_MANY_REQUESTS, &headers, "");
        assert!(f.transient && f.retry_after == Some(Duration::from_secs(7)));
        assert!(Failure::of_status(reqwest::StatusCode::BAD_GATEWAY, &Default::default(), "").transient);
        assert!(!Failure::of_status(reqwest::StatusCode::NOT_FOUND, &Default::default(), "no such add-on").transient);
    }
}
