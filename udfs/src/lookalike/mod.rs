//! Functions of the Blue Marlin lookalike pipeline.

mod did_bucket;
mod keyword_histories;
mod naive_utc_seconds;

pub use did_bucket::{DidBucket, bucket_of};
pub use keyword_histories::{HISTORY_FIELDS, KeywordHistories};
pub use naive_utc_seconds::{NaiveUtcSeconds, naive_utc_seconds_of};

scalar_udf!(did_bucket, DidBucket::new());
scalar_udf!(naive_utc_seconds, NaiveUtcSeconds::new());
aggregate_udf!(keyword_histories, KeywordHistories::new());
