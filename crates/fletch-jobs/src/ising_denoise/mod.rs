//! `ising-denoise`: the blog's Ising-model image denoising
//! (docs/jobs/ising-denoise.md). Images are cut into tiles with halos, the
//! tiles denoised on the executors, and stitched back exactly as a
//! whole-image run would be; the SQL steps say how, the functions of
//! `fletch_udfs::ising` do the arithmetic.

mod images;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, BinaryArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use fletch_engine::batches::column;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use fletch_udfs::ising::model::{Method, Observation};
use fletch_udfs::ising::Model;

use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("ising-denoise" {
    tiles: Scratch(&[]),
    spread_tiles: View,
    changes: Scratch(&[]),
    stops: Scratch(&[]),
    denoised: Scratch(&[]),
    images: Scratch(&[]),
    ising_metrics: Output(&[]),
    pngs: Collected,
});

/// Where `fletch gen noisy-images` writes, and the job reads by default.
pub const NOISY_FOLDER: &str = "ising/noisy";

pub struct IsingDenoise;

const METHODS: &[&str] = &["mean-field", "icm", "gibbs"];
const OBSERVATIONS: &[&str] = &["gray", "threshold"];

const SPEC: JobSpec = JobSpec {
    name: "ising-denoise",
    summary: "Ising-model image denoising (mean-field, Gibbs, ICM), tiles with halos on the executors; PNGs and per-image metrics",
    params: &[
        ParamSpec::new("images", ParamType::String, "folder of PNG/JPEG images under the data root").default(NOISY_FOLDER),
        ParamSpec::new("images-table", ParamType::String, "instead of --images: a Parquet table under the data root (name, image BYTEA[, reference BYTEA])"),
        ParamSpec::new("reference", ParamType::String, "folder of clean images under the data root, matched by name: error rates before and after"),
        ParamSpec::new("observation", ParamType::String, "gray (luma onto -range..range) or threshold (±1)").default("gray"),
        ParamSpec::new("gray-range", ParamType::Float, "gray observations: what white means (black is minus it)").default("8"),
        ParamSpec::new("threshold", ParamType::Float, "threshold observations: luma (0..1) from which a pixel is +1").default("0.5"),
        ParamSpec::new("method", ParamType::String, "mean-field, icm or gibbs").default("mean-field"),
        ParamSpec::new("coupling", ParamType::Float, "J, the coupling of neighbouring pixels").default("1"),
        ParamSpec::new("noise-sigma", ParamType::Float, "σ of the Gaussian noise: y = x + N(0, σ²)").default("2"),
        ParamSpec::new("neighbourhood", ParamType::Int, "4 or 8 neighbours").default("4"),
        ParamSpec::new("damping", ParamType::Float, "mean-field: weight of the previous value in an update, in [0, 1)").default("0.5"),
        ParamSpec::new("iterations", ParamType::Int, "mean-field and ICM: most sweeps (also the halo of a tile)").default("30"),
        ParamSpec::new("tol", ParamType::Float, "mean-field and ICM: stop after a sweep whose mean absolute change per pixel is at most this").default("0.001"),
        ParamSpec::new("burn-in", ParamType::Int, "Gibbs: sweeps discarded").default("20"),
        ParamSpec::new("samples", ParamType::Int, "Gibbs: sweeps averaged into the posterior mean").default("40"),
        ParamSpec::new("tile-size", ParamType::Int, "interior side of a tile in pixels (0: whole images)").default("256"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("ising-denoise/"),
    ],
    outputs: &[
        OutputSpec { path: "<prefix>images/<name>.png", format: OutputFormat::File, about: "each image denoised, black and white" },
        OutputSpec { path: "<prefix>ising_metrics", format: OutputFormat::Parquet, about: "per image: size, tiles, sweeps, energy and error before and after" },
    ],
};

#[async_trait]
impl Job for IsingDenoise {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let (model, tol) = (model(rc, args)?, tol(args)?);
        let json = serde_json::to_string(&model).expect("the model serialises");
        let listed = match (args.string("images-table"), args.string("reference")) {
            (Some(_), Some(_)) => return Err(Error::usage("--reference: with --images-table, the table's `reference` column holds the clean images")),
            (Some(table), None) => {
                images::register_table(rc, &table).await?;
                None
            }
            (None, reference) => {
                let folder = args.string("images").unwrap_or_default();
                let names = images::register_files(rc, &folder, reference.as_deref()).await?;
                rc.progress.note(&format!("{} images", names.len()));
                Some(names)
            }
        };
        rc.prepare(&STEPS.all(), &[]).await?;
        rc.set_output_folder(&STEPS.ising_metrics, &format!("{prefix}ising_metrics"));

        let mut params = rc.base_params();
        params.set_string("model", json);
        params.set_int("sweeps", i64::from(model.sweeps()));
        params.set_string("method", args.string("method").unwrap_or_default());
        params.set_float("tol", tol);
        for step in [&STEPS.tiles, &STEPS.spread_tiles, &STEPS.changes, &STEPS.stops, &STEPS.denoised, &STEPS.images, &STEPS.ising_metrics] {
            rc.run(step, &params).await?;
        }
        report(rc).await?;
        let mut pngs = pngs(&rc.run(&STEPS.pngs, &params).await?.batches)?;
        if rc.dry_run() {
            // The files a run would write, named from the inputs.
            let names = match listed {
                Some(names) => names,
                None => images::names(rc).await?,
            };
            pngs = names.into_iter().map(|n| (n, Vec::new())).collect();
        }
        for (name, png) in pngs {
            rc.outputs.stage_file(&format!("{prefix}images/{name}.png"), png).await?;
        }
        Ok(())
    }
}

/// The model the flags describe, checked with the flags' names in errors.
fn model(rc: &RunContext, args: &JobArgs) -> Result<Model> {
    let float = |name: &str| args.float(name).unwrap_or_default();
    let count = |name: &str| args.int_in(name, 0..=1_000_000).map(|v| v as u32);
    let method = match args.choice("method", METHODS)? {
        "mean-field" => Method::MeanField,
        "icm" => Method::Icm,
        _ => Method::Gibbs,
    };
    let observation = match args.choice("observation", OBSERVATIONS)? {
        "gray" => Observation::Gray { range: float("gray-range") },
        _ => Observation::Threshold { threshold: float("threshold") },
    };
    let model = Model {
        method,
        coupling: float("coupling"),
        noise_sigma: float("noise-sigma"),
        neighbourhood: args.int_in("neighbourhood", 4..=8)? as u8,
        damping: float("damping"),
        iterations: count("iterations")?,
        burn_in: count("burn-in")?,
        samples: count("samples")?,
        seed: rc.opts.seed,
        observation,
        tile_size: count("tile-size")?,
    };
    model.check().map_err(|e| {
        let flag = match e.field {
            "range" => "gray-range".to_string(),
            field => field.replace('_', "-"),
        };
        Error::usage(format!("--{flag}: {}", e.why))
    })?;
    Ok(model)
}

fn tol(args: &JobArgs) -> Result<f64> {
    match args.float("tol") {
        Some(t) if t.is_finite() && t >= 0.0 => Ok(t),
        t => Err(Error::usage(format!("--tol: expected a number ≥ 0, got {}", t.unwrap_or(f64::NAN)))),
    }
}

/// Logs the metrics: images that did not converge, and the error before and after.
async fn report(rc: &RunContext) -> Result<()> {
    if rc.dry_run() {
        return Ok(());
    }
    let sql = "SELECT count(*) AS images, sum(tiles) AS tiles, count(*) FILTER (WHERE NOT converged) AS unconverged, \
               avg(noisy_error) AS noisy_error, avg(error) AS error FROM ising_metrics";
    let batches = fletch_engine::remote::collect(rc.ctx.sql(sql).await?).await?;
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(()) };
    let int = |i: usize| b.column(i).as_primitive_opt::<Int64Type>().filter(|c| c.is_valid(0)).map(|c| c.value(0));
    let float = |i: usize| b.column(i).as_primitive_opt::<Float64Type>().filter(|c| c.is_valid(0)).map(|c| c.value(0));
    let mut line = format!("{} images in {} tiles", int(0).unwrap_or(0), int(1).unwrap_or(0));
    if let (Some(before), Some(after)) = (float(3), float(4)) {
        line.push_str(&format!("; wrong pixels {:.2}% → {:.2}% (mean over images)", before * 100.0, after * 100.0));
    }
    rc.progress.note(&line);
    if let Some(n) = int(2).filter(|&n| n > 0) {
        log::warn!("{n} images did not converge within --iterations (see `converged` in ising_metrics)");
    }
    Ok(())
}

fn pngs(batches: &[RecordBatch]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for b in batches {
        let (names, pngs) = (column::<StringArray>(b, "name")?, column::<BinaryArray>(b, "png")?);
        for i in 0..b.num_rows() {
            let name = names.value(i);
            fletch_engine::outputs::check_path("image name", name)?;
            out.push((name.to_string(), pngs.value(i).to_vec()));
        }
    }
    Ok(out)
}
