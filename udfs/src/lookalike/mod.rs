//! Functions of the Blue Marlin lookalike pipeline.

mod did_bucket;
mod din_scores;
mod keyword_histories;
mod naive_utc_seconds;

pub use did_bucket::{DidBucket, bucket_of};
pub use din_scores::{DID_ERA_KEYWORDS, DinScores, ModelCall, history_of, request_body, score_map_builder, score_map_type, scores_of};
pub use keyword_histories::{HISTORY_FIELDS, KeywordHistories};
pub use naive_utc_seconds::{NaiveUtcSeconds, naive_utc_seconds_of};

scalar_udf!(did_bucket, DidBucket::new());

/// The documentation of an async function of this family (see [`crate::docs`]).
pub fn async_documentation(name: &str) -> Option<datafusion::logical_expr::Documentation> {
    use datafusion::logical_expr::ScalarUDFImpl;
    static DIN_SCORES: std::sync::LazyLock<DinScores> = std::sync::LazyLock::new(DinScores::new);
    (name == "din_scores").then(|| DIN_SCORES.documentation().cloned()).flatten()
}
async_scalar_udf!(din_scores, DinScores::new());
scalar_udf!(naive_utc_seconds, NaiveUtcSeconds::new());
aggregate_udf!(keyword_histories, KeywordHistories::new());
