//! GETs of the AMO API, shared by the AMO jobs: JSON answers, transient
//! failures retried ([`crate::http`]), the last failure naming the URL.

use std::time::Duration;

use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use serde_json::Value;

use crate::framework::{JobArgs, ParamSpec};
use fletch_udfs::http::{Failure, with_retries};

/// The flags of every AMO client: requests in flight, timeout, retries.
pub const PARAMS: [ParamSpec; 3] = [
    ParamSpec::new("workers", ParamType::Int, "requests in flight at once").default("8"),
    ParamSpec::new("timeout-secs", ParamType::Int, "timeout of one request").default("10"),
    ParamSpec::new("retries", ParamType::Int, "retries of a request that failed transiently (timeout, connection, 429, 5xx), with backoff").default("3"),
];

pub struct AmoHttp {
    client: reqwest::Client,
    retries: u32,
}

impl AmoHttp {
    /// A client as [`PARAMS`] say, and the requests to keep in flight.
    pub fn from_args(args: &JobArgs) -> Result<(Self, usize)> {
        let http = Self::new(args.int_in("timeout-secs", 1..=3600)? as u64, args.int_in("retries", 0..=20)? as u32)?;
        Ok((http, args.int_in("workers", 1..=256)? as usize))
    }

    fn new(timeout_secs: u64, retries: u32) -> Result<Self> {
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
