//! k-means centroids trained on the driver over a seeded sample of score
//! vectors (a few MB), for steps on the executors to assign every vector to
//! its nearest (`nearest_centroid`): lookalike-similarity's IVF lists and
//! lookalike-clusters' clusters.

use fletch_engine::batches::vectors;
use fletch_engine::params::Params;
use fletch_engine::{Error, Result};
use fletch_udfs::vector::Centroids;

use crate::framework::{RunContext, SqlStep};

/// Trains at most `k` centroids (`iterations` Lloyd steps, seeded by the
/// run's seed) on the `score_vector` column of step `sample`'s result, and
/// binds them as `$centroids`. `what` names them in the progress line.
pub async fn train(rc: &mut RunContext, sample: &SqlStep, params: &mut Params, k: usize, iterations: usize, what: &str) -> Result<Centroids> {
    let (points, dim) = vectors(&rc.run(sample, params).await?.batches, "score_vector")?;
    let seed = rc.opts.seed;
    let step = rc.progress.step(&format!("train the {what}"));
    let centroids = tokio::task::spawn_blocking(move || Centroids::train(&points, dim, k, iterations, seed))
        .await
        .map_err(|e| Error::io(format!("training the {what}: {e}")))?;
    step.done(Some(centroids.len() as u64));
    if centroids.len() < k && !rc.dry_run() {
        log::warn!("{} centroids, not {k}: the sample has fewer distinct vectors", centroids.len());
    }
    params.set_string("centroids", serde_json::to_string(&centroids).expect("centroids serialise"));
    Ok(centroids)
}
