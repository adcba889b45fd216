//! Functions of the Blue Marlin lookalike pipeline.

mod did_bucket;
mod din_scores;
mod keyword_histories;
mod naive_utc_seconds;

pub use did_bucket::{DidBucket, bucket_of};
pub use din_scores::{DinScores, ModelCall, history_of, request_body, score_map_builder, score_map_type, scores_of};
pub use keyword_histories::{HISTORY_FIELDS, KeywordHistories};
pub use naive_utc_seconds::{NaiveUtcSeconds, naive_utc_seconds_of};

scalar_udf!(did_bucket, DidBucket::new());

/// The documentation of an async function of this family (see [`crate::docs`]).
pub fn async_documentation(name: &str) -> Option<datafusion::logical_expr::Documentation> {
    use datafusion::logical_expr::ScalarUDFImpl;
    static DIN_SCORES: std::sync::LazyLock<DinScores> = std::sync::LazyLock::new(DinScores::new);
    (name == "din_scores").then(|| DIN_SCORES.documentation().cloned()).flatten()
}

/// The shared instance of `din_scores`, an async UDF (DataFusion runs it in an `AsyncFuncExec`).
pub fn din_scores() -> std::sync::Arc<datafusion::logical_expr::ScalarUDF> {
    static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion::logical_expr::ScalarUDF>> = std::sync::LazyLock::new(|| {
        std::sync::Arc::new(datafusion::logical_expr::async_udf::AsyncScalarUDF::new(std::sync::Arc::new(DinScores::new())).into_scalar_udf())
    });
    std::sync::Arc::clone(&INSTANCE)
}
scalar_udf!(naive_utc_seconds, NaiveUtcSeconds::new());
aggregate_udf!(keyword_histories, KeywordHistories::new());
