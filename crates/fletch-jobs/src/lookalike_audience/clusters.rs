//! `lookalike-clusters`: users clustered by their score vectors and balanced
//! to a target size (spec lookalike.md §11.3): k-means on a seeded sample on
//! the driver, every user assigned to its nearest centroid on the executors,
//! then clusters cut or merged as [`balance`] plans.

use async_trait::async_trait;
use fletch_engine::batches::ints;
use fletch_engine::catalog::ColumnKind;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};

use super::balance::balance;
use super::{TABLES_FROM, pipeline_table};
use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};
use crate::sampled_kmeans;

crate::sql_steps!("lookalike-clusters" {
    cluster_sample: Collected,
    clustered_users: Scratch(&[]),
    cluster_sizes: Collected,
    lookalike_balanced_clusters: Output(&["did_bucket"]),
    cluster_report: Collected,
});

pub struct LookalikeClusters;

/// Lloyd steps (pyspark's KMeans default maxIter).
const ITERATIONS: usize = 20;

const SPEC: JobSpec = JobSpec {
    name: "lookalike-clusters",
    summary: "Lookalike: users clustered by k-means of their score vectors, then balanced to a target cluster size",
    params: &[
        ParamSpec::new("num-clusters", ParamType::Int, "k-means clusters before balancing (the original experiment's k)").default("100"),
        ParamSpec::new("target-cluster-size", ParamType::Int, "users per balanced cluster: each holds fewer than 2× this, at most one fewer than 0.9× this").default("1000"),
        ParamSpec::new("train-sample", ParamType::Int, "users whose vectors k-means is trained on, chosen by --seed").default("100000"),
        ParamSpec::new("tables-from", ParamType::String, TABLES_FROM).default("output"),
    ],
    outputs: &[OutputSpec {
        path: "lookalike_balanced_clusters/did_bucket=*/",
        format: OutputFormat::Parquet,
        about: "did, score_vector, c1, cluster_id (0 to k − 1)",
    }],
};

#[async_trait]
impl Job for LookalikeClusters {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let k = args.int_in("num-clusters", 1..=65_536)? as usize;
        let target = args.int_in("target-cluster-size", 1..=i64::MAX / 10)?;
        let vectors = pipeline_table(args, "lookalike_score_vector", "lookalike-vectors")?.columns(&[("did", ColumnKind::Text)]);
        rc.prepare(&STEPS.all(), &[vectors]).await?;
        let mut params = rc.base_params();
        params.set_int("sample_size", args.int_in("train-sample", 1..=100_000_000)?);
        let centroids = sampled_kmeans::train(rc, &STEPS.cluster_sample, &mut params, k, ITERATIONS, "k-means centroids").await?;
        rc.run(&STEPS.clustered_users, &params).await?;
        let counted = rc.run(&STEPS.cluster_sizes, &params).await?.batches;
        let mut sizes = vec![0; centroids.len()];
        for (cluster, users) in ints(&counted, "kmeans_cluster")?.into_iter().zip(ints(&counted, "users")?) {
            *sizes.get_mut(cluster as usize).ok_or_else(|| Error::input(format!("cluster {cluster} has no centroid")))? = users;
        }
        let fates = balance(&sizes, &centroids, target);
        params.set_ints("first_id", &fates.iter().map(|f| f.first_id).collect::<Vec<_>>());
        params.set_ints("pieces", &fates.iter().map(|f| f.pieces).collect::<Vec<_>>());
        params.set_ints("sizes", &sizes);
        rc.run(&STEPS.lookalike_balanced_clusters, &params).await?;
        let report = rc.run(&STEPS.cluster_report, &params).await?.batches;
        let first = |name: &str| ints(&report, name).map(|v| v.first().copied().unwrap_or(0));
        rc.progress.note(&format!(
            "{} users in {} k-means clusters became {} clusters of {} to {} users (target {target})",
            first("users")?,
            sizes.iter().filter(|s| **s > 0).count(),
            first("clusters")?,
            first("smallest")?,
            first("largest")?
        ));
        Ok(())
    }
}
