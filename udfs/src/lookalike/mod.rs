//! Functions of the Blue Marlin lookalike pipeline, one module each.

mod did_bucket;
mod keyword_histories;
mod naive_utc_seconds;

use datafusion::logical_expr::DocSection;

pub use did_bucket::{DidBucket, bucket_of, did_bucket_udf};
pub use keyword_histories::{HISTORY_FIELDS, KeywordHistories, keyword_histories_udaf};
pub use naive_utc_seconds::{NaiveUtcSeconds, naive_utc_seconds, naive_utc_seconds_udf};

const SECTION: DocSection = DocSection { include: true, label: "Lookalike Functions", description: None };
