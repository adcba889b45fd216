//! `lookalike-similarity`: Blue Marlin's top-N similarity table (spec
//! lookalike.md §10.4, docs/jobs/lookalike-similarity.md): for every user its
//! `--top-n` most similar users by `√m − euclidean distance`, exactly and
//! with the original's numbers and tie order. The users are cut into blocks,
//! one task each on the executors; a block reads the candidates bucket by
//! bucket (fletch_engine::similar_users).

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array};
use fletch_engine::batches::column;
use fletch_engine::catalog::ColumnKind;
use fletch_engine::params::ParamType;
use fletch_engine::similar_users::{SimilarUsers, SimilarUsersTable};
use fletch_engine::{Error, Result};
use std::sync::Arc;

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("lookalike-similarity" {
    vector_buckets: Check,
    user_count: Collected,
    similarity_users: Scratch(&["block"]),
    similarity_candidates: Scratch(&["bucket"]),
    lookalike_similarity: Output(&["did_bucket"]),
});

pub struct LookalikeSimilarity;

const SPEC: JobSpec = JobSpec {
    name: "lookalike-similarity",
    summary: "Lookalike: every user's top-N most similar users (√m − euclidean distance over the score vectors), exact, in blocks on the executors",
    params: &[
        ParamSpec::new("top-n", ParamType::Int, "similar users kept per user (the user itself included)").default("10"),
        ParamSpec::new("did-bucket-size", ParamType::Int, "users of buckets 0 to this − 1 get similar users (default: every bucket)"),
        ParamSpec::new("did-bucket-step", ParamType::Int, "the original's buckets per batch; accepted for its configs, it changes no result (fletch's batches are --block-users)").default("1"),
        ParamSpec::new("cross-bucket-size", ParamType::Int, "candidates come from buckets 0 to this − 1, in bucket order (default: the did-bucket-size; the original's production config had 1)"),
        ParamSpec::new("block-users", ParamType::Int, "users per task").default("4096"),
    ],
    outputs: &[OutputSpec {
        path: "lookalike_similarity/did_bucket=*/",
        format: OutputFormat::Parquet,
        about: "did, top_n_similar_user list<struct<did string, score float>>, best first",
    }],
};

#[async_trait]
impl Job for LookalikeSimilarity {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let top_n = args.int_in("top-n", 1..=10_000)? as usize;
        args.int_in("did-bucket-step", 1..=1_000_000)?;
        let block_users = args.int_in("block-users", 1..=1_000_000)?;
        let vectors = Input::new("lookalike_score_vector").made_by("lookalike-vectors").columns(&[("did", ColumnKind::Text), ("did_bucket", ColumnKind::TextOrInteger)]);
        rc.prepare(&[&STEPS.vector_buckets, &STEPS.user_count, &STEPS.similarity_users, &STEPS.similarity_candidates], &[vectors]).await?;
        let mut params = rc.base_params();
        let buckets = ints(&rc.run(&STEPS.vector_buckets, &params).await?.batches, "bucket")?;
        let all = buckets.last().map_or(0, |b| b + 1);
        let did_bucket_size = match args.int("did-bucket-size") {
            Some(n) if n >= 1 => n,
            Some(n) => return Err(Error::usage(format!("--did-bucket-size: expected at least 1, got {n}"))),
            None => all,
        };
        let cross_bucket_size = match args.int("cross-bucket-size") {
            Some(n) if n >= 1 => n,
            Some(n) => return Err(Error::usage(format!("--cross-bucket-size: expected at least 1, got {n}"))),
            None => did_bucket_size,
        };
        params.set_int("did_bucket_size", did_bucket_size);
        params.set_int("cross_bucket_size", cross_bucket_size);
        params.set_int("block_users", block_users);
        let users = ints(&rc.run(&STEPS.user_count, &params).await?.batches, "users")?.first().copied().unwrap_or(0);
        let blocks = (users + block_users - 1) / block_users;
        rc.progress.note(&format!("{users} users in {blocks} blocks, top {top_n} of the users of buckets 0 to {}", cross_bucket_size - 1));
        let users_at = rc.run(&STEPS.similarity_users, &params).await?.location;
        let candidates_at = rc.run(&STEPS.similarity_candidates, &params).await?.location;
        // A dry run writes no folder: it plans the output over no block.
        let folders = |at: Option<fletch_engine::Location>, name: &str, count: i64| -> Vec<String> {
            at.map(|at| (0..count).map(|i| at.join(&format!("{name}={i}/")).to_string()).collect()).unwrap_or_default()
        };
        let work = SimilarUsers { candidates: folders(candidates_at, "bucket", cross_bucket_size), top_n };
        let table = SimilarUsersTable { work, blocks: folders(users_at, "block", blocks) };
        rc.ctx.register_table("similar_users", Arc::new(table))?;
        rc.set_output_folder(&STEPS.lookalike_similarity, "lookalike_similarity");
        rc.prepare(&[&STEPS.lookalike_similarity], &[]).await?;
        rc.run(&STEPS.lookalike_similarity, &params).await?;
        Ok(())
    }
}

fn ints(batches: &[datafusion::arrow::record_batch::RecordBatch], name: &str) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for b in batches {
        let c = column::<Int64Array>(b, name)?;
        out.extend((0..b.num_rows()).filter(|&i| c.is_valid(i)).map(|i| c.value(i)));
    }
    Ok(out)
}
