//! `--method ivf`: centroids trained on the driver over a seeded sample of
//! the vectors (a few MB), the candidates split into inverted lists on the
//! executors (`nearest_centroid`), and the recall of the approximate lists
//! against exact ones on a sample of users, reported in the log.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use fletch_engine::batches::column;
use fletch_engine::params::Params;
use fletch_engine::similar_users::Ivf;
use fletch_engine::{Error, Result};

use crate::framework::{RunContext, SqlStep};
use crate::sampled_kmeans;

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
    let centroids = sampled_kmeans::train(rc, sample, params, s.nlist, ITERATIONS, "IVF centroids").await?;
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
