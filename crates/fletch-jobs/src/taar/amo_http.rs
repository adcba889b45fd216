//! GETs of the AMO API, shared by the AMO jobs: JSON answers, transient
//! failures retried ([`crate::http`]), the last failure naming the URL.

use std::time::Duration;

use fletch_engine::{Error, Result};
use serde_json::Value;

use crate::http::{Failure, with_retries};

pub struct AmoHttp {
    client: reqwest::Client,
    retries: u32,
}

impl AmoHttp {
    pub fn new(timeout_secs: u64, retries: u32) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout_secs))
            .build()
            .map_err(|e| Error::io(format!("HTTP client: {e}")))?;
        Ok(Self { client, retries })
    }

    /// GETs JSON, retrying transient failures; the last failure fails the job with its URL.
    pub async fn get(&self, url: &str) -> Result<Value> {
        let attempt = || async {
            let response = self.client.get(url).send().await.map_err(|e| Failure::of_request(&e))?;
            let (status, headers) = (response.status(), response.headers().clone());
            if !status.is_success() {
                return Err(Failure::of_status(status, &headers, ""));
            }
            let body = response.bytes().await.map_err(|e| Failure::of_request(&e))?;
            serde_json::from_slice(&body).map_err(|e| Failure::permanent(format!("not JSON: {e}")))
        };
        with_retries(self.retries, url, attempt)
            .await
            .map_err(|(f, attempts)| Error::io(format!("AMO request failed after {attempts} attempts: {url}: {}", f.message)))
    }
}
