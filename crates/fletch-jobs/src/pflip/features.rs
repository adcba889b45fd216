//! `pflip-features`: the training table of pflip plus (A4-A7): each labelled
//! note on a post after 2024-08-19, once as of entering stabilization (MIN)
//! and once as of going CRH (MAX), with every feature of the original.

use async_trait::async_trait;
use datafusion::arrow::array::{Int64Array, StringArray};
use fletch_engine::batches::column;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};

use super::{INPUT, fail_on_problems, register_tables, widen_set_features};
use crate::framework::{Becomes, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("pflip-features" {
    input_checks in "pflip": Check,
    candidates in "pflip": View,
    cutoff_notes: View,
    training_checks: Check,
    labels: View,
    scope_posts: View,
    rater_factors in "pflip": View,
    post_ratings in "pflip": Scratch(&[]),
    cutoffs in "pflip": Scratch(&[]),
    scored: Scratch(&[]),
    post_checks in "pflip": Check,
    set_ratings in "pflip": View,
    set_features in "pflip": Scratch(&[]),
    timing in "pflip": View,
    peer_counts in "pflip": View,
    training_rows: Collected,
    pflip_features in "pflip": Output(&[]),
});

/// `_MIN_TWEET_ID`: posts after it (2024-08-19 23:41:43 UTC) are trained on.
pub const MIN_TWEET_ID: &str = "1825679568688054351";
/// A note's cutoff keeps at least this many of its ratings (`minRatings`).
pub const MIN_RATINGS: i64 = 5;

pub struct PflipFeatures;

const SPEC: JobSpec = JobSpec {
    name: "pflip-features",
    summary: "Community Notes pflip plus: the training table, every feature of the original per labelled note and cutoff (MIN, MAX)",
    params: &[
        ParamSpec::new("input", ParamType::String, INPUT).default("community_notes"),
        ParamSpec::new("rating-recency-minutes", ParamType::Int, "ratingRecencyCutoffMinutes: a cutoff is this long before the status it is taken at").default("15"),
        ParamSpec::new("min-tweet-id", ParamType::Int, "train on notes on posts with a larger id (_MIN_TWEET_ID)").default(MIN_TWEET_ID),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("pflip/"),
    ],
    outputs: &[OutputSpec { path: "<prefix>pflip_features", format: OutputFormat::Parquet, about: "one row per labelled note and cutoff: 165 columns, named as in the original" }],
};

#[async_trait]
impl Job for PflipFeatures {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let recency = args.int_in("rating-recency-minutes", 0..=10_080)?;
        let min_tweet_id = args.int_in("min-tweet-id", 0..=i64::MAX)?;
        register_tables(rc, &args.string("input").unwrap_or_default()).await?;
        // The final step reads set_features_wide, which the steps before it make.
        let steps = STEPS.all();
        let (all, last) = steps.split_at(steps.len() - 1);
        rc.prepare(all, &[]).await?;
        rc.set_output_folder(&STEPS.pflip_features, &format!("{prefix}pflip_features"));

        let mut params = rc.base_params();
        params.set_int("recency_ms", recency * 60_000);
        params.set_int("min_tweet_id", min_tweet_id);
        params.set_int("min_ratings", MIN_RATINGS);
        params.set_strings("modes", &["MIN", "MAX"]);
        for step in all {
            let ran = rc.run(step, &params).await?;
            match step.becomes {
                Becomes::Check => fail_on_problems(&ran)?,
                Becomes::Collected => report(rc, &ran.batches)?,
                _ => {}
            }
        }
        widen_set_features(rc).await?;
        rc.prepare(last, &[]).await?;
        let rows = rc.run(&STEPS.pflip_features, &params).await?.rows.unwrap_or(0);
        if rows == 0 && !rc.dry_run() {
            return Err(Error::input("no training rows: no labelled note on a post after --min-tweet-id has a rating"));
        }
        Ok(())
    }
}

/// Logs the labelled notes by label, and those left out for want of a rating.
fn report(rc: &RunContext, batches: &[datafusion::arrow::array::RecordBatch]) -> Result<()> {
    for b in batches {
        let (label, labelled, kept) = (column::<StringArray>(b, "LABEL")?, column::<Int64Array>(b, "labelled")?, column::<Int64Array>(b, "with_cutoffs")?);
        for i in 0..b.num_rows() {
            let left_out = labelled.value(i) - kept.value(i);
            rc.progress.note(&format!("{}: {} notes ({} rows){}", label.value(i), kept.value(i), 2 * kept.value(i), if left_out > 0 { format!("; {left_out} labelled notes without a rating left out") } else { String::new() }));
        }
    }
    Ok(())
}
