//! `pflip-train`: pflip plus's model (A8, A9) from `pflip-features`' table:
//! a seeded 0.9 split, the feature pipeline fitted on the training rows, an
//! L1 logistic regression solved as liblinear poses it, and the threshold
//! where the training ROC's false-positive rate is nearest 0.6; one JSON file.

use std::collections::BTreeMap;

use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, RecordBatch};
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::json;

use super::model::file::{FORMAT, ModelFile, Parameters, Rates};
use super::model::frame::{Frame, take};
use super::model::logistic::{self, Columns};
use super::model::pipeline::Pipeline;
use super::model::roc::{Roc, rates_above};
use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("pflip-train" {
    training_frame: Collected,
});

pub struct PflipTrain;

const SPEC: JobSpec = JobSpec {
    name: "pflip-train",
    summary: "Community Notes pflip plus: the feature pipeline and L1 logistic regression fitted on pflip-features' table, the ROC threshold; one JSON model",
    params: &[
        ParamSpec::new("train-size", ParamType::Float, "share of the rows trained on (trainSize); the rest validate").default("0.9"),
        ParamSpec::new("c", ParamType::Float, "inverse regularisation strength C").default("0.04"),
        ParamSpec::new("tol", ParamType::Float, "the solver's tolerance, liblinear's rule (the original's 1e-4 stops up to 0.1 % above the optimum)").default("0.0000001"),
        ParamSpec::new("max-iter", ParamType::Int, "the solver's Newton iterations at most").default("2500"),
        ParamSpec::new("crh-fp-rate", ParamType::Float, "the threshold's false-positive rate on the training rows (crhFpRate)").default("0.6"),
        ParamSpec::new("write-matrix", ParamType::Bool, "also write the transformed training matrix and labels (<prefix>pflip_training_matrix.json)").default("false"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root, where pflip-features wrote").default("pflip/"),
    ],
    outputs: &[OutputSpec { path: "<prefix>pflip_model.json", format: OutputFormat::File, about: "the fitted pipeline, weights, intercept, threshold, training and validation rates, versions" }],
};

#[async_trait]
impl Job for PflipTrain {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let train_size = args.float("train-size").filter(|v| *v > 0.0 && *v < 1.0).ok_or_else(|| Error::usage("--train-size: expected a share in (0, 1)"))?;
        let c = args.float("c").filter(|v| *v > 0.0).ok_or_else(|| Error::usage("--c: expected a positive number"))?;
        let tol = args.float("tol").filter(|v| *v > 0.0).ok_or_else(|| Error::usage("--tol: expected a positive number"))?;
        let max_iter = args.int_in("max-iter", 1..=1_000_000)? as usize;
        let fp_rate = args.float("crh-fp-rate").filter(|v| (0.0..=1.0).contains(v)).ok_or_else(|| Error::usage("--crh-fp-rate: expected a rate in [0, 1]"))?;
        super::keep_identifier_case(rc);
        let features = Input::new("pflip_features").at(&format!("{prefix}pflip_features")).made_by("pflip-features");
        rc.prepare(&STEPS.all(), &[features]).await?;
        let params = rc.base_params();
        let frame = rc.run(&STEPS.training_frame, &params).await?;
        let model_path = format!("{prefix}pflip_model.json");
        if rc.dry_run() {
            // Nothing is fitted; the file a run writes is named.
            return rc.stage_json(&model_path, &json!({})).await;
        }
        let (all, labels) = read_frame(&frame.batches)?;
        if all.rows() < 10 {
            return Err(Error::input(format!("pflip_features has {} rows: too few to train on", all.rows())));
        }
        // train_test_split: a seeded shuffle, floor(train_size · n) rows for training.
        let mut order: Vec<usize> = (0..all.rows()).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(rc.opts.seed));
        let n_train = (train_size * all.rows() as f64).floor() as usize;
        let (train_rows, validation_rows) = order.split_at(n_train);
        let (train, y_train) = (all.take(train_rows), take(&labels, train_rows));
        let (validation, y_validation) = (all.take(validation_rows), take(&labels, validation_rows));

        let step = rc.progress.step("fit the feature pipeline");
        let fitted = tokio::task::spawn_blocking(move || Pipeline::fit(&train, &y_train).map(|fit| (fit, y_train)))
            .await
            .map_err(|e| Error::io(format!("fitting the pipeline: {e}")))?;
        let ((pipeline, matrix), y_train) = fitted.map_err(|e| Error::input(format!("the feature pipeline cannot be fitted on these rows: {e}")))?;
        step.done(Some(matrix.width));
        let validation_matrix = pipeline.transform(&validation).map_err(Error::input)?;

        let step = rc.progress.step("fit the L1 logistic regression");
        let x = Columns::of(&matrix.rows, matrix.width as usize);
        let fit = logistic::fit(&x, &y_train, c, tol, max_iter);
        step.done(Some(fit.newton_iterations as u64));

        let train_scores = fit.decisions(&matrix.rows);
        let roc = Roc::new(&y_train, &train_scores);
        let (threshold, tpr, fpr) = roc.at_fpr(fp_rate);
        let auc = roc.auc();
        let validation_scores = fit.decisions(&validation_matrix.rows);
        let (v_tpr, v_fpr) = rates_above(&y_validation, &validation_scores, threshold);
        let v_auc = Roc::new(&y_validation, &validation_scores).auc();
        let weights: BTreeMap<u64, f64> = fit.weights.iter().enumerate().filter(|(_, w)| **w != 0.0).map(|(j, w)| (j as u64, *w)).collect();
        rc.progress.note(&format!(
            "{} training rows, {} columns, {} non-zero weights, objective {:.6}; threshold {threshold:.6}: training tpr {tpr:.4} fpr {fpr:.4} auc {auc:.4}; validation ({} rows) tpr {v_tpr:.4} fpr {v_fpr:.4} auc {v_auc:.4}",
            matrix.rows.len(),
            matrix.width,
            weights.len(),
            fit.objective,
            y_validation.len()
        ));
        let model = ModelFile {
            format: FORMAT.into(),
            model: "pflip plus (communitynotes 6bcc2d5), scikit-learn 1.0.2 semantics, liblinear L1R_LR".into(),
            fletch: env!("CARGO_PKG_VERSION").into(),
            parameters: Parameters { c, tol, max_iter, train_size, crh_fp_rate: fp_rate, seed: rc.opts.seed },
            pipeline,
            columns: matrix.width,
            features: weights.keys().map(|&j| (j, matrix.names.name(j))).collect(),
            weights,
            intercept: fit.intercept,
            objective: fit.objective,
            threshold,
            training: Rates { rows: matrix.rows.len(), tpr, fpr, auc },
            validation: Rates { rows: y_validation.len(), tpr: v_tpr, fpr: v_fpr, auc: v_auc },
        };
        let value = serde_json::to_value(&model).map_err(|e| Error::io(format!("cannot encode the model: {e}")))?;
        rc.stage_json(&model_path, &value).await?;
        if args.bool("write-matrix").unwrap_or(false) {
            let mut indptr = vec![0usize];
            let mut indices = Vec::new();
            for r in &matrix.rows {
                indices.extend(r.iter().copied());
                indptr.push(indices.len());
            }
            let written = json!({"shape": [matrix.rows.len(), matrix.width], "indptr": indptr, "indices": indices, "y": y_train, "scores": train_scores});
            rc.stage_json(&format!("{prefix}pflip_training_matrix.json"), &written).await?;
        }
        Ok(())
    }
}

/// The features table as a [`Frame`], and its labels (FLIP = true).
fn read_frame(batches: &[RecordBatch]) -> Result<(Frame, Vec<bool>)> {
    let mut frame = Frame::default();
    let mut labels = Vec::new();
    for b in batches {
        frame.extend(b)?;
        let label = b.column_by_name("LABEL").ok_or_else(|| Error::input("pflip_features has no LABEL column"))?.as_string::<i32>();
        labels.extend(label.iter().map(|l| l == Some("FLIP")));
    }
    Ok((frame, labels))
}
