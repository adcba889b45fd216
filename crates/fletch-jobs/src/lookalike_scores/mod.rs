//! `lookalike-scores`: Blue Marlin's score generator (spec lookalike.md §9,
//! docs/jobs/lookalike-scores.md). Every train-ready user is scored against
//! the keywords by the DIN model served with TF Serving: `din_scores`, an
//! async UDF, posts one request per user from the executors. The score table
//! is staged and committed only when every user is scored (or skipped, with
//! `--on-model-error skip`, and counted).

use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array, StringArray};
use fletch_engine::batches::{column, ints};
use fletch_engine::catalog::ColumnKind;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use fletch_udfs::http::{self, Failure, with_retries};
use fletch_udfs::lookalike::{DID_ERA_KEYWORDS, ModelCall};

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("lookalike-scores" {
    score_keywords: Check,
    trainready_users: Collected,
    scored_users: View,
    lookalike_score: Output(&["did_bucket"]),
    lookalike_score_normalized: Output(&["did_bucket"]),
});

pub struct LookalikeScores;

const SPEC: JobSpec = JobSpec {
    name: "lookalike-scores",
    summary: "Lookalike: every train-ready user scored on every keyword by the DIN model behind TF Serving (one request per user, from the executors)",
    params: &[
        ParamSpec::new("model-url", ParamType::String, "the served model's predict URL, http://HOST:8501/v1/models/NAME:predict"),
        ParamSpec::new("keywords", ParamType::String, "all (every effective keyword of the mapping) or did-era (only the original's 7: video, shopping, info, social, reading, travel, entertainment)").default("all"),
        ParamSpec::new("din-model-length", ParamType::Int, "intervals of history sent as hist_i, newest first").default("20"),
        ParamSpec::new("model-concurrency", ParamType::Int, "requests in flight per executor process").default("8"),
        ParamSpec::new("model-timeout", ParamType::Int, "seconds one request may take").default("30"),
        ParamSpec::new("model-retries", ParamType::Int, "further attempts of a request that failed transiently (connection, timeout, 429, 5xx)").default("5"),
        ParamSpec::new("on-model-error", ParamType::String, "fail (nothing written) or skip (the user is left out and counted) when the model cannot score a user").default("fail"),
        ParamSpec::new("normalize", ParamType::Bool, "also write kws_norm, the scores over their L2 norm").default("false"),
    ],
    outputs: &[OutputSpec {
        path: "lookalike_score/did_bucket=*/",
        format: OutputFormat::Parquet,
        about: "the train-ready columns plus kws map<string,float> (and kws_norm with --normalize)",
    }],
};

#[async_trait]
impl Job for LookalikeScores {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let url = args.string("model-url").ok_or_else(|| Error::usage("--model-url is required: the predict URL of the served model, http://HOST:8501/v1/models/NAME:predict"))?;
        let status_url = status_url(&url)?;
        let did_era = args.choice("keywords", &["all", "did-era"])? == "did-era";
        let skip_errors = args.choice("on-model-error", &["fail", "skip"])? == "skip";
        let output = match args.bool("normalize") == Some(true) {
            true => &STEPS.lookalike_score_normalized,
            false => &STEPS.lookalike_score,
        };
        let history = args.int_in("din-model-length", 1..=10_000)? as usize;
        let concurrency = args.int_in("model-concurrency", 1..=1024)? as usize;
        let timeout_ms = args.int_in("model-timeout", 1..=3600)? as u64 * 1000;
        let retries = args.int_in("model-retries", 0..=100)? as u32;

        rc.set_output_folder(output, "lookalike_score");
        let steps = [&STEPS.score_keywords, &STEPS.trainready_users, &STEPS.scored_users, output];
        rc.prepare(&steps, &inputs()).await?;
        let mut params = rc.base_params();
        params.set_bool("did_era", did_era);
        params.set_strings("did_era_keywords", DID_ERA_KEYWORDS);
        let keywords = keywords(&rc.run(&STEPS.score_keywords, &params).await?.batches)?;
        if keywords.is_empty() && !rc.dry_run() {
            return Err(Error::input("no keyword to score: no keyword of ad_keywords is in lookalike_keywords (with --keywords did-era: none of the seven)"));
        }
        rc.progress.note(&format!("{} keywords: {}", keywords.len(), keywords.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>().join(", ")));
        if !rc.dry_run() {
            check_model(rc, &status_url, retries).await?;
        }
        let call = ModelCall { url: url.clone(), keywords, history, concurrency, timeout_ms, retries, skip_errors };
        params.set_string("model_call", serde_json::to_string(&call).expect("a model call serialises"));

        let users = rc.run(&STEPS.trainready_users, &params).await?.batches;
        rc.run(&STEPS.scored_users, &params).await?;
        let scored = rc.run(output, &params).await?.rows.unwrap_or(0);
        if rc.dry_run() {
            return Ok(());
        }
        let users = ints(&users, "users")?.first().copied().unwrap_or(0) as u64;
        if scored < users {
            log::warn!("lookalike-scores: {} of {users} users left out: the model could not score them (--on-model-error skip; each is in the executors' log)", users - scored);
        }
        Ok(())
    }
}

fn inputs() -> Vec<Input> {
    use ColumnKind::{Integer, Text};
    vec![
        Input::new("ad_keywords").columns(&[("keyword", Text), ("keyword_index", Integer)]),
        Input::new("lookalike_keywords").made_by("lookalike-prepare").columns(&[("keyword", Text)]),
        Input::new("lookalike_trainready").made_by("lookalike-prepare").columns(&[("did", Text), ("did_index", Integer)]),
    ]
}

/// `(keyword_index, keyword)` of the score_keywords rows.
fn keywords(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for b in batches {
        let (index, keyword) = (column::<Int64Array>(b, "keyword_index")?, column::<StringArray>(b, "keyword")?);
        out.extend((0..b.num_rows()).filter(|&i| index.is_valid(i) && keyword.is_valid(i)).map(|i| (index.value(i), keyword.value(i).to_string())));
    }
    Ok(out)
}

/// TF Serving's model status URL of a predict URL (`.../v1/models/NAME[/versions/V]:predict`).
fn status_url(predict: &str) -> Result<String> {
    let usage = || Error::usage(format!("--model-url {predict}: expected http(s)://HOST:PORT/v1/models/NAME:predict"));
    let parsed = url::Url::parse(predict).map_err(|_| usage())?;
    let base = predict.strip_suffix(":predict").filter(|_| matches!(parsed.scheme(), "http" | "https")).ok_or_else(usage)?;
    if !base.contains("/v1/models/") {
        return Err(usage());
    }
    Ok(base.to_string())
}

/// Fails early, naming the URL, unless TF Serving reports the model AVAILABLE.
async fn check_model(rc: &RunContext, status_url: &str, retries: u32) -> Result<()> {
    let step = rc.progress.step("check the model");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| Error::io(e.to_string()))?;
    let answer = with_retries(retries, status_url, || async {
        let (status, headers, text) = http::answer(client.get(status_url)).await?;
        match status.is_success() {
            true => Ok(text),
            false => Err(Failure::of_status(status, &headers, text.trim())),
        }
    })
    .await
    .map_err(|(f, attempts)| Error::input(format!("the model at {status_url} does not answer: {} ({attempts} attempt(s))", f.message)))?;
    let available = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["model_version_status"].as_array().map(|s| s.iter().any(|s| s["state"] == "AVAILABLE")))
        .unwrap_or(false);
    if !available {
        return Err(Error::input(format!("the model at {status_url} is not AVAILABLE: {answer}")));
    }
    step.done(None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_url_of_the_predict_url() {
        assert_eq!(status_url("http://h:8501/v1/models/lookalike:predict").unwrap(), "http://h:8501/v1/models/lookalike");
        assert_eq!(status_url("http://h:8501/v1/models/m/versions/2:predict").unwrap(), "http://h:8501/v1/models/m/versions/2");
        for bad in ["h:8501/v1/models/m:predict", "http://h:8501/v1/models/m", "ftp://h/v1/models/m:predict", "http://h/m:predict"] {
            assert!(status_url(bad).unwrap_err().to_string().contains("--model-url"), "{bad}");
        }
    }
}
