//! `pflip-predict`: pflip plus's predictions (A9, A10) with a model from
//! `pflip-train`: by default every note on a post with a note in
//! stabilization, its features as of now (the latest rating of its batch of
//! posts); `--at-cutoff` and `--offset-hours` score notes as of a cutoff,
//! as HEAD's `predict_at_cutoff` and `predict_at_offset_hours` do. The
//! features are SQL on the executors; the fitted pipeline and the weights
//! score the feature rows on the driver.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{cast, lit};
use fletch_engine::batches::column;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};

use super::model::file::{FORMAT, ModelFile};
use super::model::frame::Frame;
use super::{INPUT, fail_on_problems, register_tables, widen_set_features};
use crate::framework::{Becomes, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("pflip-predict" {
    input_checks in "pflip": Check,
    candidates in "pflip": View,
    cutoff_notes: View,
    target_posts: View,
    scope_posts: View,
    rater_factors in "pflip": View,
    post_ratings in "pflip": Scratch(&[]),
    cutoffs in "pflip": Scratch(&[]),
    to_score: Scratch(&[]),
    scored: Scratch(&[]),
    post_checks in "pflip": Check,
    set_ratings in "pflip": View,
    set_features in "pflip": Scratch(&[]),
    timing in "pflip": View,
    peer_counts in "pflip": View,
    pflip_features in "pflip": Scratch(&[]),
    feature_rows: Collected,
    pflip_prediction_features: Output(&[]),
    pflip_predictions: Output(&[]),
});

/// The scratch table of the driver's scores, which `pflip_predictions` reads.
const SCORES: &str = "scores";

pub struct PflipPredict;

const SPEC: JobSpec = JobSpec {
    name: "pflip-predict",
    summary: "Community Notes pflip plus: FLIP/CRH predictions with a pflip-train model for the notes on posts with a note in stabilization, or as of a cutoff",
    params: &[
        ParamSpec::new("input", ParamType::String, INPUT).default("community_notes"),
        ParamSpec::new("model", ParamType::String, "the model file pflip-train wrote (a path or URL; default <output-root>/<prefix>pflip_model.json)"),
        ParamSpec::new("batch-tweets", ParamType::Int, "posts per batch (maxBatchSize): a batch's notes share its latest rating as their present").default("10000"),
        ParamSpec::new("at-cutoff", ParamType::String, "MIN or MAX: score every note with that scoring cutoff, as of it (predict_at_cutoff)"),
        ParamSpec::new("offset-hours", ParamType::Float, "score every note that went CRH, as of this many hours after (predict_at_offset_hours)"),
        ParamSpec::new("rating-recency-minutes", ParamType::Int, "ratingRecencyCutoffMinutes, for --at-cutoff").default("15"),
        ParamSpec::new("write-features", ParamType::Bool, "also write the scored rows' features (<prefix>pflip_prediction_features), to see why a note was flagged").default("false"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("pflip/"),
    ],
    outputs: &[
        OutputSpec {
            path: "<prefix>pflip_predictions",
            format: OutputFormat::Parquet,
            about: "noteId, PFLIP_SCORE (the decision function), PFLIP_PROBA (its sigmoid), PFLIP_LABEL (FLIP when the score is above the threshold, else CRH)",
        },
        OutputSpec { path: "<prefix>pflip_prediction_features", format: OutputFormat::Parquet, about: "with --write-features: the scored rows' 165 feature columns (LABEL empty)" },
    ],
};

#[async_trait]
impl Job for PflipPredict {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let batch_tweets = args.int_in("batch-tweets", 1..=100_000_000)?;
        let recency = args.int_in("rating-recency-minutes", 0..=10_080)?;
        let at = match (args.string("at-cutoff"), args.float("offset-hours")) {
            (Some(_), Some(_)) => return Err(Error::usage("--at-cutoff and --offset-hours each choose the notes' cutoff: give one")),
            (Some(_), None) => args.choice("at-cutoff", &["MIN", "MAX"])?,
            (None, Some(h)) if h.is_finite() && h.abs() <= 1e6 => "OFFSET",
            (None, Some(_)) => return Err(Error::usage("--offset-hours: expected a number of hours")),
            (None, None) => "NOW",
        };
        let model = read_model(rc, args, &prefix).await?;
        register_tables(rc, &args.string("input").unwrap_or_default()).await?;
        // pflip_features reads set_features_wide, and pflip_predictions the
        // driver's scores: each part is prepared when what it reads exists.
        let features: Vec<_> = STEPS.all().into_iter().take_while(|s| s.name != STEPS.pflip_features.name).collect();
        let mut rows = vec![&STEPS.pflip_features, &STEPS.feature_rows];
        if args.bool("write-features").unwrap_or(false) {
            rows.push(&STEPS.pflip_prediction_features);
            rc.set_output_folder(&STEPS.pflip_prediction_features, &format!("{prefix}pflip_prediction_features"));
        }
        rc.prepare(&features, &[]).await?;
        rc.set_output_folder(&STEPS.pflip_predictions, &format!("{prefix}pflip_predictions"));

        let mut params = rc.base_params();
        params.set_string("at", at);
        let modes: Vec<&str> = ["MIN", "MAX"].into_iter().filter(|m| *m == at).collect();
        params.set_strings("modes", &modes);
        params.set_int("batch_tweets", batch_tweets);
        params.set_int("recency_ms", recency * 60_000);
        params.set_int("min_ratings", super::features::MIN_RATINGS);
        params.set_int("offset_ms", (args.float("offset-hours").unwrap_or(0.0) * 3_600_000.0).round() as i64);
        params.set_float("threshold", model.threshold);
        for step in features {
            let ran = rc.run(step, &params).await?;
            if step.becomes == Becomes::Check {
                fail_on_problems(&ran)?;
            }
        }
        widen_set_features(rc).await?;
        rc.prepare(&rows, &[]).await?;
        let mut collected = Vec::new();
        for step in rows {
            let ran = rc.run(step, &params).await?;
            if step.becomes == Becomes::Collected {
                collected = ran.batches;
            }
        }
        score(rc, &model, &collected).await?;
        rc.prepare(&[&STEPS.pflip_predictions], &[]).await?;
        let written = rc.run(&STEPS.pflip_predictions, &params).await?.rows.unwrap_or(0);
        if written == 0 && !rc.dry_run() {
            rc.progress.note(match at {
                "NOW" => "no note is in stabilization: no predictions",
                _ => "no note has a cutoff of this kind: no predictions",
            });
        }
        Ok(())
    }
}

/// The model file, checked to be pflip-train's.
async fn read_model(rc: &RunContext, args: &JobArgs, prefix: &str) -> Result<ModelFile> {
    let location = args.string("model").unwrap_or_else(|| rc.opts.output_root.file_url(&format!("{prefix}pflip_model.json")).to_string());
    let (url, value): (String, serde_json::Value) = rc.read_json("--model", &location).await?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(Error::input(format!("--model {url}: not a model pflip-train wrote (expected \"format\": \"{FORMAT}\")")));
    }
    serde_json::from_value(value).map_err(|e| Error::input(format!("--model {url}: {e}")))
}

/// Scores the feature rows on the driver into the scratch table [`SCORES`]
/// (noteId, PFLIP_SCORE), batch by batch.
async fn score(rc: &mut RunContext, model: &ModelFile, batches: &[RecordBatch]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![Field::new("noteId", DataType::Int64, false), Field::new("PFLIP_SCORE", DataType::Float64, false)]));
    if rc.dry_run() {
        // Nothing is scored: the output step plans against an empty table of the same shape.
        let empty = rc.ctx.read_empty()?.select(vec![cast(lit(0i64), DataType::Int64).alias("noteId"), cast(lit(0.0), DataType::Float64).alias("PFLIP_SCORE")])?;
        rc.ctx.register_table(SCORES, empty.filter(lit(false))?.into_view())?;
        return Ok(());
    }
    let step = rc.progress.counted_step("score the notes", batches.iter().map(|b| b.num_rows() as u64).sum(), "notes");
    let mut scored = vec![RecordBatch::new_empty(schema.clone())];
    for b in batches.iter().filter(|b| b.num_rows() > 0) {
        let mut frame = Frame::default();
        frame.extend(b)?;
        let scores = model.scores(&frame).map_err(|e| Error::input(format!("the model cannot score these notes: {e}")))?;
        let ids = column::<Int64Array>(b, "noteId")?.clone();
        scored.push(RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(Float64Array::from(scores))])?);
        step.advance(b.num_rows() as u64);
    }
    step.done(None);
    rc.outputs.scratch_batches(&rc.ctx, SCORES, &scored).await?;
    Ok(())
}
