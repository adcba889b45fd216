//! `din_scores`: a user's keyword scores from the lookalike model served by
//! TF Serving, one POST per user as Blue Marlin's score_generator sends it.
//! An async UDF, so on a cluster the calls run on the executors, several at
//! once (bounded per process), with retries of transient failures only.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, Float32Builder, Int64Array, ListArray, MapBuilder, MapFieldNames, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::utils::take_function_args;
use datafusion::common::{DataFusionError, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::async_udf::AsyncScalarUDFImpl;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;
use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::http::{Failure, answer, with_retries};
use crate::util::constant_string;

/// The keywords the did-era score generator scored (it hard-coded them), in its order.
pub const DID_ERA_KEYWORDS: &[&str] = &["video", "shopping", "info", "social", "reading", "travel", "entertainment"];

/// How `din_scores` calls the model: its first argument, as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ModelCall {
    /// `http://host:8501/v1/models/NAME:predict`.
    pub url: String,
    /// `(keyword_index, keyword)` scored for every user, in this order.
    pub keywords: Vec<(i64, String)>,
    /// Intervals of history sent (`din_model_length`).
    pub history: usize,
    /// Requests in flight per process.
    pub concurrency: usize,
    pub timeout_ms: u64,
    /// Further attempts of a transiently failing request.
    pub retries: u32,
    /// A user the model cannot score gets NULL (and a warning) instead of failing the query.
    pub skip_errors: bool,
}

#[user_doc(
    doc_section(label = "Lookalike Functions"),
    description = "The served lookalike model's score of every keyword for one user, as a map \
        keyword → score: one POST to TF Serving's predict API with one instance per keyword \
        ({\"hist_i\", \"u\", \"i\", \"j\", \"sl\"}, `hist_i` = the keyword indices of the user's newest \
        `history` intervals of kwi_show_counts). Runs asynchronously (on the executors on a cluster), \
        `concurrency` requests at once per process, retrying connection errors, timeouts, 429 and 5xx \
        with backoff (honouring Retry-After). A model error, a wrong number of predictions or a value \
        that is not a number fails the query naming the did, or gives NULL with `skip_errors`.",
    syntax_example = "din_scores(model_call_json, did, did_index, kwi_show_counts)",
    argument(name = "model_call_json", description = "Constant JSON: url, keywords [[index, keyword], ...], history, concurrency, timeout_ms, retries, skip_errors."),
    argument(name = "did", description = "The user (named in errors)."),
    argument(name = "did_index", description = "The user's index, sent as `u`."),
    argument(name = "kwi_show_counts", description = "Per interval, newest first, `index:count,...`.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DinScores {
    signature: Signature,
}

impl DinScores {
    pub fn new() -> Self {
        Self { signature: Signature::any(4, Volatility::Volatile) }
    }
}

impl Default for DinScores {
    fn default() -> Self {
        Self::new()
    }
}

/// `map<string, float>` with Spark's field names, the type of `kws`.
pub fn score_map_type() -> DataType {
    let entries = Fields::from(vec![Field::new("key", DataType::Utf8, false), Field::new("value", DataType::Float32, true)]);
    DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
}

/// A builder of [`score_map_type`] values.
pub fn score_map_builder(capacity: usize) -> MapBuilder<StringBuilder, Float32Builder> {
    let names = MapFieldNames { entry: "entries".into(), key: "key".into(), value: "value".into() };
    MapBuilder::with_capacity(Some(names), StringBuilder::new(), Float32Builder::new(), capacity)
}

/// The keyword indices of the newest `history` intervals, newest first
/// (score_generator's `hist_i`): the part before `:` of each `index:count`.
pub fn history_of(kwi_show_counts: &[impl AsRef<str>], history: usize) -> std::result::Result<Vec<i64>, String> {
    let mut hist = Vec::new();
    for interval in kwi_show_counts.iter().take(history) {
        for pair in interval.as_ref().split(',').filter(|p| !p.is_empty()) {
            let index = pair.split(':').next().unwrap_or_default();
            hist.push(index.trim().parse().map_err(|_| format!("kwi_show_counts holds `{pair}`, not index:count"))?);
        }
    }
    Ok(hist)
}

/// The predict request of one user, exactly score_generator's body.
pub fn request_body(call: &ModelCall, did_index: i64, hist: &[i64]) -> String {
    let instances: Vec<serde_json::Value> = call
        .keywords
        .iter()
        .map(|(k, _)| serde_json::json!({"hist_i": hist, "u": did_index, "i": k, "j": k, "sl": hist.len()}))
        .collect();
    serde_json::json!({ "instances": instances }).to_string()
}

/// The scores of a successful answer, one per keyword, or why it is not one.
pub fn scores_of(answer: &str, keywords: usize) -> std::result::Result<Vec<f32>, String> {
    let value: serde_json::Value = serde_json::from_str(answer).map_err(|e| format!("the answer is not JSON ({e}): {}", clip(answer)))?;
    if let Some(error) = value.get("error") {
        return Err(format!("the model answered an error: {}", error.as_str().map_or_else(|| error.to_string(), str::to_string)));
    }
    let Some(predictions) = value.get("predictions").and_then(|p| p.as_array()) else {
        return Err(format!("the answer has no `predictions` list: {}", clip(answer)));
    };
    if predictions.len() != keywords {
        return Err(format!("{} predictions for {keywords} keywords", predictions.len()));
    }
    predictions
        .iter()
        .map(|p| {
            let score = p.as_array().filter(|a| a.len() == 1).map_or(p, |a| &a[0]);
            score.as_f64().map(|s| s as f32).ok_or_else(|| format!("the prediction {p} is not a number"))
        })
        .collect()
}

fn clip(text: &str) -> String {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// One HTTP client per process; its connections are reused by every call.
static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .user_agent(format!("fletch/{} pid/{}", env!("CARGO_PKG_VERSION"), std::process::id()))
        .build()
        .expect("an HTTP client")
});

/// Requests in flight to each model URL, per process (`concurrency` of the first call).
fn slots(call: &ModelCall) -> Arc<Semaphore> {
    static SLOTS: LazyLock<Mutex<HashMap<String, Arc<Semaphore>>>> = LazyLock::new(Default::default);
    let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(slots.entry(call.url.clone()).or_insert_with(|| Arc::new(Semaphore::new(call.concurrency.max(1)))))
}

/// One attempt: the scores, or a failure that is transient for connection
/// errors, timeouts, 429 and 5xx.
async fn attempt(call: &ModelCall, body: &str) -> std::result::Result<Vec<f32>, Failure> {
    let request = CLIENT
        .post(&call.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(Duration::from_millis(call.timeout_ms))
        .body(body.to_string());
    let (status, headers, text) = answer(request).await?;
    if !status.is_success() {
        let detail = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| clip(&text));
        return Err(Failure::of_status(status, &headers, &detail));
    }
    scores_of(&text, call.keywords.len()).map_err(|e| Failure::permanent(format!("HTTP {status}: {e}")))
}

/// The scores of one user, or the error naming it.
async fn score_user(call: &ModelCall, did: &str, did_index: i64, shows: Vec<String>) -> Result<Option<Vec<f32>>> {
    let hist = history_of(&shows, call.history).map_err(|e| DataFusionError::Execution(format!("din_scores: user {did}: {e}")))?;
    let body = request_body(call, did_index, &hist);
    let slots = slots(call);
    let what = format!("model {} for user {did}", call.url);
    let result = with_retries(call.retries, &what, || async {
        let _slot = slots.acquire().await.map_err(|_| Failure::permanent("closed"))?;
        attempt(call, &body).await
    })
    .await;
    match result {
        Ok(scores) => Ok(Some(scores)),
        Err((failure, attempts)) => {
            let message = format!("model {}: user {did} (did_index {did_index}): {} ({attempts} attempt(s))", call.url, failure.message);
            if call.skip_errors {
                log::warn!("skipped: {message}");
                Ok(None)
            } else {
                Err(DataFusionError::Execution(message))
            }
        }
    }
}

impl ScalarUDFImpl for DinScores {
    fn name(&self) -> &str {
        "din_scores"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(score_map_type())
    }
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("din_scores is asynchronous")
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[async_trait]
impl AsyncScalarUDFImpl for DinScores {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [call, dids, indices, shows] = take_function_args("din_scores", &args.args)?;
        let call: ModelCall = serde_json::from_str(constant_string("din_scores", "model call", call)?)
            .map_err(|e| DataFusionError::Execution(format!("din_scores: the model call is not valid: {e}")))?;
        let dids = cast(&dids.to_array(rows)?, &DataType::Utf8)?;
        let dids: &StringArray = dids.as_string();
        let indices = cast(&indices.to_array(rows)?, &DataType::Int64)?;
        let indices: &Int64Array = indices.as_primitive();
        let shows = shows.to_array(rows)?;
        let shows = cast(&shows, &DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))))?;
        let shows: &ListArray = shows.as_list();
        let users = (0..rows).map(|i| {
            let intervals: Vec<String> = match shows.is_valid(i) {
                true => {
                    let list = shows.value(i);
                    let list = list.as_string::<i32>();
                    list.iter().flatten().map(str::to_string).collect()
                }
                false => Vec::new(),
            };
            let call = &call;
            async move {
                if dids.is_null(i) || indices.is_null(i) {
                    return Ok(None);
                }
                score_user(call, dids.value(i), indices.value(i), intervals).await
            }
        });
        let scores: Vec<Option<Vec<f32>>> = stream::iter(users).buffered(call.concurrency.max(1)).collect::<Vec<_>>().await.into_iter().collect::<Result<_>>()?;
        let mut out = score_map_builder(rows);
        for user in scores {
            if let Some(scores) = user {
                for ((_, keyword), score) in call.keywords.iter().zip(scores) {
                    out.keys().append_value(keyword);
                    out.values().append_value(score);
                }
                out.append(true)?;
            } else {
                out.append(false)?;
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(keywords: &[(i64, &str)]) -> ModelCall {
        ModelCall {
            url: "http://127.0.0.1:1/v1/models/m:predict".into(),
            keywords: keywords.iter().map(|(i, k)| (*i, k.to_string())).collect(),
            history: 20,
            concurrency: 2,
            timeout_ms: 1000,
            retries: 0,
            skip_errors: false,
        }
    }

    #[test]
    fn request_is_score_generators() {
        // The worked example of spec §9.
        let hist = history_of(&["25:2,29:1", "14:3"], 20).unwrap();
        assert_eq!(hist, [25, 29, 14]);
        let body: serde_json::Value = serde_json::from_str(&request_body(&call(&[(14, "info"), (25, "shopping")]), 7, &hist)).unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            r#"{"instances":[{"hist_i":[25,29,14],"u":7,"i":14,"j":14,"sl":3},{"hist_i":[25,29,14],"u":7,"i":25,"j":25,"sl":3}]}"#,
        )
        .unwrap();
        assert_eq!(body, expected);
        assert_eq!(history_of(&["1:1", "2:1", "3:1"], 2).unwrap(), [1, 2]);
        assert_eq!(history_of(&[] as &[&str], 20).unwrap(), Vec::<i64>::new());
        assert!(history_of(&["x:1"], 20).unwrap_err().contains("x:1"));
    }

    #[test]
    fn answers_are_checked() {
        assert_eq!(scores_of(r#"{"predictions":[[0.53],[0.11]]}"#, 2).unwrap(), [0.53f32, 0.11]);
        assert!(scores_of(r#"{"predictions":[[0.53]]}"#, 2).unwrap_err().contains("1 predictions for 2 keywords"));
        assert!(scores_of(r#"{"predictions":[["x"],[0.1]]}"#, 2).unwrap_err().contains("not a number"));
        assert!(scores_of(r#"{"error":"bad u"}"#, 2).unwrap_err().contains("bad u"));
        assert!(scores_of(r#"{"predictions":[[0.5"#, 1).unwrap_err().contains("not JSON"));
    }

    #[tokio::test]
    async fn an_unreachable_model_names_the_user() {
        let err = score_user(&call(&[(1, "a")]), "d1", 3, vec!["1:1".to_string()]).await.unwrap_err().to_string();
        assert!(err.contains("user d1 (did_index 3)") && err.contains("1 attempt"), "{err}");
        let skipped = score_user(&ModelCall { skip_errors: true, ..call(&[(1, "a")]) }, "d1", 3, vec![]).await.unwrap();
        assert_eq!(skipped, None);
    }
}
