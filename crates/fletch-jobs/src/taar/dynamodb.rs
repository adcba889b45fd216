//! A small DynamoDB-API client for `taar-profiles`: SigV4-signed
//! `DescribeTable` and `BatchWriteItem` over HTTP(S), with the retries the
//! original lacked. Unprocessed items are re-sent exactly as they were (the
//! original hashed their client ids a second time).

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use fletch_engine::{Error, Result};
use object_store::aws::AwsCredentialProvider;
use serde_json::{Value, json};

use fletch_udfs::http::{Failure, answer, with_retries};

/// DynamoDB's limit of put requests in one `BatchWriteItem`.
pub const BATCH_SIZE: usize = 25;

pub struct DynamoDb {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    table: String,
    credentials: AwsCredentialProvider,
    retries: u32,
}

impl DynamoDb {
    /// A client for `table` at `endpoint`, with the credentials S3 stores
    /// use ([`fletch_engine::aws`]: environment, profile, web identity,
    /// container or instance metadata).
    pub fn new(endpoint: &str, region: &str, table: &str, retries: u32) -> Result<Self> {
        if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
            return Err(Error::usage(format!("--dynamodb-endpoint: expected an http(s) URL, got `{endpoint}`")));
        }
        let credentials = fletch_engine::aws::credentials().map_err(|e| Error::usage(format!("--dynamodb-endpoint: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::io(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string() + "/",
            region: region.to_string(),
            table: table.to_string(),
            credentials,
            retries,
        })
    }

    /// Fails with a clear error unless the table exists and is ACTIVE.
    pub async fn check_table(&self) -> Result<()> {
        let body = json!({ "TableName": self.table });
        let status = with_retries(self.retries, "DynamoDB DescribeTable", || self.call("DescribeTable", &body)).await.map_err(|(f, _)| fail(f))?;
        match status["Table"]["TableStatus"].as_str() {
            Some("ACTIVE") => Ok(()),
            other => Err(Error::input(format!("DynamoDB table {} is {}, not ACTIVE", self.table, other.unwrap_or("in an unknown state")))),
        }
    }

    /// Writes one batch of at most [`BATCH_SIZE`] items (DynamoDB JSON),
    /// re-sending unprocessed items with backoff until all are written or
    /// the retries are used up.
    pub async fn put_batch(&self, items: Vec<Value>) -> Result<()> {
        let total = items.len();
        let pending = Mutex::new(items.into_iter().map(|item| json!({ "PutRequest": { "Item": item } })).collect::<Vec<_>>());
        let (this, pending_ref) = (self, &pending);
        let result = with_retries(self.retries, "DynamoDB BatchWriteItem", move || async move {
            let batch = pending_ref.lock().expect("pending items").clone();
            let response = this.call("BatchWriteItem", &json!({ "RequestItems": { &this.table: batch } })).await?;
            let left = take_requests(response["UnprocessedItems"].clone(), &this.table);
            let unwritten = left.len();
            *pending_ref.lock().expect("pending items") = left;
            match unwritten {
                0 => Ok(()),
                n => Err(Failure::transient(format!("{n} of {total} items unprocessed"))),
            }
        })
        .await;
        match result {
            Ok(()) => Ok(()),
            Err((f, attempts)) if f.transient => Err(Error::io(format!(
                "DynamoDB table {}: {} of {total} items still unwritten after {attempts} attempts ({})",
                self.table,
                pending.lock().expect("pending items").len(),
                f.message
            ))),
            Err((f, _)) => Err(fail(f)),
        }
    }

    /// One signed DynamoDB API call. Throttling, 5xx statuses and transport
    /// errors are transient failures; other API errors name the table.
    async fn call(&self, operation: &str, body: &Value) -> std::result::Result<Value, Failure> {
        let body = serde_json::to_vec(body).expect("JSON values serialise");
        let target = format!("DynamoDB_20120810.{operation}");
        let headers = [("content-type", "application/x-amz-json-1.0"), ("x-amz-target", target.as_str())];
        // Cached by the provider, and renewed before temporary credentials expire.
        let credential = self.credentials.get_credential().await.map_err(|e| Failure::permanent(format!("AWS credentials for DynamoDB: {e}")))?;
        let identity: Identity = Credentials::new(&credential.key_id, &credential.secret_key, credential.token.clone(), None, "fletch").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| Failure::permanent(format!("DynamoDB signing: {e}")))?
            .into();
        let signable = SignableRequest::new("POST", &self.endpoint, headers.iter().copied(), SignableBody::Bytes(&body))
            .map_err(|e| Failure::permanent(format!("--dynamodb-endpoint {}: {e}", self.endpoint)))?;
        let (signature, _) = sign(signable, &params).map_err(|e| Failure::permanent(format!("DynamoDB signing: {e}")))?.into_parts();
        let mut request = self.http.post(&self.endpoint).body(body);
        for (name, value) in headers.iter().copied().chain(signature.headers()) {
            request = request.header(name, value);
        }
        let where_ = format!("DynamoDB {operation} on {} at {}", self.table, self.endpoint);
        let in_call = |f: Failure| Failure { message: format!("{where_}: {}", f.message), ..f };
        let (status, headers, text) = answer(request).await.map_err(in_call)?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let kind = value["__type"].as_str().unwrap_or_default().rsplit('#').next().unwrap_or_default().to_string();
        let message = value["message"].as_str().or(value["Message"].as_str()).unwrap_or(&text);
        let mut failure = in_call(Failure::of_status(status, &headers, &format!("{kind}: {message}")));
        // DynamoDB throttles with HTTP 400 and a type that says so.
        failure.transient |= ["Throttling", "ProvisionedThroughputExceeded", "RequestLimitExceeded"].iter().any(|t| kind.contains(t));
        Err(failure)
    }
}

/// A call that failed for good: its own error (transient ones ran out of retries).
fn fail(f: Failure) -> Error {
    if f.transient { Error::io(f.message) } else { Error::input(f.message) }
}

/// The put requests for `table` in a `RequestItems`-shaped object.
fn take_requests(mut items: Value, table: &str) -> Vec<Value> {
    let requests = match &mut items {
        Value::Object(o) if o.contains_key("RequestItems") => o["RequestItems"][table].take(),
        Value::Object(o) => o.remove(table).unwrap_or_default(),
        _ => Value::Null,
    };
    match requests {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn unprocessed_items_are_taken_unchanged() {
        let item = json!({"PutRequest": {"Item": {"client_id": {"S": "ab"}}}});
        assert_eq!(super::take_requests(json!({"t": [item.clone()]}), "t"), vec![item.clone()]);
        assert_eq!(super::take_requests(json!({"RequestItems": {"t": [item.clone()]}}), "t"), vec![item]);
        assert!(super::take_requests(json!({}), "t").is_empty());
        assert!(super::take_requests(json!(null), "t").is_empty());
    }
}
