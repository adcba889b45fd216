//! `--method ivf`: centroids trained on the driver over a seeded sample of
//! the vectors (a few MB), the candidates split into inverted lists on the
//! executors (`nearest_centroid`), and the recall of the approximate lists
//! against exact ones on a sample of users, reported in the log.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::Float32Type;
use fletch_engine::batches::column;
use fletch_engine::params::Params;
use fletch_engine::similar_users::Ivf;
use fletch_engine::{Error, Result};
use fletch_udfs::vector::Centroids;

use crate::framework::{RunContext, SqlStep};

/// Training vectors per centroid, and Lloyd steps.
const SAMPLE_PER_LIST: i64 = 64;
const ITERATIONS: usize = 20;

pub struct Settings {
    pub nlist: usize,
    pub nprobe: usize,
    pub recall_sample: i64,
}

/// Trains the centroids on `sample`'s vectors and binds them as `$centroids`.
pub async fn train(rc: &mut RunContext, sample: &SqlStep, params: &mut Params, s: &Settings) -> Result<Ivf> {
    params.set_int("sample_size", SAMPLE_PER_LIST * s.nlist as i64);
    let batches = rc.run(sample, params).await?.batches;
    let mut points = Vec::new();
    let mut dim = 0;
    for b in &batches {
        let vectors = b.column_by_name("score_vector").ok_or_else(|| Error::input("ivf_sample: no score_vector"))?.as_list::<i32>();
        for i in (0..b.num_rows()).filter(|&i| vectors.is_valid(i)) {
            let v = vectors.value(i);
            dim = v.len();
            points.extend(v.as_primitive::<Float32Type>().iter().map(|x| f64::from(x.unwrap_or(0.0))));
        }
    }
    let (nlist, seed) = (s.nlist, rc.opts.seed);
    let step = rc.progress.step("train the IVF centroids");
    let centroids = tokio::task::spawn_blocking(move || Centroids::train(&points, dim, nlist, ITERATIONS, seed))
        .await
        .map_err(|e| Error::io(format!("training the IVF centroids: {e}")))?;
    step.done(Some(centroids.len() as u64));
    if centroids.len() < s.nlist && !rc.dry_run() {
        log::warn!("lookalike-similarity: {} centroids, not --nlist {}: the sample has fewer distinct vectors", centroids.len(), s.nlist);
    }
    params.set_string("centroids", serde_json::to_string(&centroids).expect("centroids serialise"));
    Ok(Ivf { centroids, probes: s.nprobe })
}

/// Logs recall@N: the share of the checked users' exact similar users that
/// the approximate lists hold.
pub async fn report_recall(rc: &mut RunContext, exact: &SqlStep, approximate: &SqlStep, params: &Params, top_n: usize) -> Result<()> {
    let truth = lists(&rc.run(exact, params).await?.batches)?;
    let found = lists(&rc.run(approximate, params).await?.batches)?;
    if rc.dry_run() || truth.is_empty() {
        return Ok(());
    }
    let (mut hits, mut total) = (0usize, 0usize);
    for (did, exact) in &truth {
        let empty = BTreeSet::new();
        let approximate = found.get(did).unwrap_or(&empty);
        hits += exact.intersection(approximate).count();
        total += exact.len();
    }
    rc.progress.note(&format!("recall@{top_n} against exact lists: {:.4} on {} users", hits as f64 / total.max(1) as f64, truth.len()));
    Ok(())
}

/// Each did's similar dids.
fn lists(batches: &[RecordBatch]) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out = BTreeMap::new();
    for b in batches {
        let dids = column::<StringArray>(b, "did")?;
        let similar = b.column_by_name("top_n_similar_user").ok_or_else(|| Error::input("no top_n_similar_user"))?.as_list::<i32>();
        for i in (0..b.num_rows()).filter(|&i| dids.is_valid(i) && similar.is_valid(i)) {
            let items = similar.value(i);
            let names = items.as_struct().column(0).as_string::<i32>().iter().flatten().map(str::to_string).collect();
            out.insert(dids.value(i).to_string(), names);
        }
    }
    Ok(out)
}
