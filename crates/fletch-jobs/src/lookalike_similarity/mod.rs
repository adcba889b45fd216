//! `lookalike-similarity`: Blue Marlin's top-N similarity table (spec
//! lookalike.md §10.4, docs/jobs/lookalike-similarity.md): for every user its
//! `--top-n` most similar users by `√m − euclidean distance`, exactly and
//! with the original's numbers and tie order, or approximately with an IVF
//! index (`--method ivf`). The users are cut into blocks, one task each on
//! the executors; a block reads the candidates folder by folder
//! (fletch_engine::similar_users).

mod ivf;

use std::sync::Arc;

use async_trait::async_trait;
use fletch_engine::batches::ints;
use fletch_engine::catalog::ColumnKind;
use fletch_engine::params::ParamType;
use fletch_engine::similar_users::{SimilarUsers, SimilarUsersTable};
use fletch_engine::{Error, Location, Result};

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("lookalike-similarity" {
    vector_buckets: Check,
    user_count: Collected,
    similarity_users: Scratch(&["block"]),
    similarity_candidates: Scratch(&["bucket"]),
    ivf_sample: Collected,
    ivf_users: Scratch(&["block"]),
    ivf_candidates: Scratch(&["list"]),
    recall_users: Scratch(&[]),
    lookalike_similarity: Output(&["did_bucket"]),
    recall_exact: Collected,
    recall_approximate: Collected,
});

pub struct LookalikeSimilarity;

/// Rows per Parquet row group of the output: about 50 MB of top-10 lists.
const OUTPUT_ROW_GROUP: usize = 65_536;

const SPEC: JobSpec = JobSpec {
    name: "lookalike-similarity",
    summary: "Lookalike: every user's top-N most similar users (√m − euclidean distance over the score vectors), exact or IVF, in blocks on the executors",
    params: &[
        ParamSpec::new("top-n", ParamType::Int, "similar users kept per user (the user itself included)").default("10"),
        ParamSpec::new("did-bucket-size", ParamType::Int, "users of buckets 0 to this − 1 get similar users (default: every bucket)"),
        ParamSpec::new("did-bucket-step", ParamType::Int, "the original's buckets per batch; accepted for its configs, it changes no result (fletch's batches are --block-users)").default("1"),
        ParamSpec::new("cross-bucket-size", ParamType::Int, "candidates come from buckets 0 to this − 1, in bucket order (default: the did-bucket-size; the original's production config had 1)"),
        ParamSpec::new("block-users", ParamType::Int, "users per task").default("4096"),
        ParamSpec::new("method", ParamType::String, "exact (the original's lists, bit for bit) or ivf (approximate: inverted lists over k-means centroids)").default("exact"),
        ParamSpec::new("nlist", ParamType::Int, "ivf: centroids (inverted lists)").default("256"),
        ParamSpec::new("nprobe", ParamType::Int, "ivf: lists searched per user").default("8"),
        ParamSpec::new("recall-sample", ParamType::Int, "ivf: users whose lists are checked against exact ones (recall@N in the log); 0 skips the check").default("1000"),
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
        let ivf = match args.choice("method", &["exact", "ivf"])? {
            "ivf" => Some(ivf::Settings { nlist: args.int_in("nlist", 1..=65_536)? as usize, nprobe: args.int_in("nprobe", 1..=65_536)? as usize, recall_sample: args.int_in("recall-sample", 0..=1_000_000)? }),
            _ => None,
        };
        // A row holds --top-n dids of 64 characters: row groups of DataFusion's
        // default million rows would keep a whole bucket's lists (GBs at a
        // million users) in each open writer.
        rc.ctx.state_ref().write().config_mut().options_mut().execution.parquet.max_row_group_size = OUTPUT_ROW_GROUP;
        let vectors = Input::new("lookalike_score_vector").made_by("lookalike-vectors").columns(&[("did", ColumnKind::Text), ("did_bucket", ColumnKind::TextOrInteger)]);
        let mut steps = vec![&STEPS.vector_buckets, &STEPS.user_count];
        match ivf {
            None => steps.extend([&STEPS.similarity_users, &STEPS.similarity_candidates]),
            Some(_) => steps.extend([&STEPS.ivf_sample, &STEPS.ivf_users, &STEPS.ivf_candidates, &STEPS.recall_users]),
        }
        rc.prepare(&steps, &[vectors]).await?;

        let mut params = rc.base_params();
        let buckets = ints(&rc.run(&STEPS.vector_buckets, &params).await?.batches, "bucket")?;
        let all = buckets.last().map_or(0, |b| b + 1);
        let did_bucket_size = at_least_one(args, "did-bucket-size")?.unwrap_or(all);
        let cross_bucket_size = at_least_one(args, "cross-bucket-size")?.unwrap_or(did_bucket_size);
        params.set_int("did_bucket_size", did_bucket_size);
        params.set_int("cross_bucket_size", cross_bucket_size);
        params.set_int("block_users", block_users);
        let users = ints(&rc.run(&STEPS.user_count, &params).await?.batches, "users")?.first().copied().unwrap_or(0);
        let blocks = (users + block_users - 1) / block_users;
        rc.progress.note(&format!("{users} users in {blocks} blocks, top {top_n} of the users of buckets 0 to {}", cross_bucket_size - 1));

        let (users_at, work, checked) = match &ivf {
            None => {
                let users_at = rc.run(&STEPS.similarity_users, &params).await?.location;
                let at = rc.run(&STEPS.similarity_candidates, &params).await?.location;
                (users_at, SimilarUsers { candidates: folders(at, "bucket", cross_bucket_size), top_n, ivf: None }, None)
            }
            Some(settings) => {
                let index = ivf::train(rc, &STEPS.ivf_sample, &mut params, settings).await?;
                let users_at = rc.run(&STEPS.ivf_users, &params).await?.location;
                let lists = folders(rc.run(&STEPS.ivf_candidates, &params).await?.location, "list", index.centroids.len() as i64);
                let work = SimilarUsers { candidates: lists, top_n, ivf: Some(index) };
                let checked = match settings.recall_sample {
                    0 => None,
                    n => {
                        params.set_int("recall_sample", n);
                        let at = rc.run(&STEPS.recall_users, &params).await?.location;
                        let exact = SimilarUsers { ivf: None, ..work.clone() };
                        Some(SimilarUsersTable { work: exact, blocks: at.map(|a| a.to_string()).into_iter().collect() })
                    }
                };
                (users_at, work, checked)
            }
        };
        // A dry run writes no folder: it plans the output over no block.
        rc.ctx.register_table("similar_users", Arc::new(SimilarUsersTable { work, blocks: folders(users_at, "block", blocks) }))?;
        rc.set_output_folder(&STEPS.lookalike_similarity, "lookalike_similarity");
        let mut last = vec![&STEPS.lookalike_similarity];
        if let Some(checked) = checked {
            rc.ctx.register_table("exact_similar_users", Arc::new(checked))?;
            last.extend([&STEPS.recall_exact, &STEPS.recall_approximate]);
        }
        rc.prepare(&last, &[]).await?;
        rc.run(&STEPS.lookalike_similarity, &params).await?;
        if last.len() > 1 {
            ivf::report_recall(rc, &STEPS.recall_exact, &STEPS.recall_approximate, &params, top_n).await?;
        }
        Ok(())
    }
}

/// `<at>/<name>=0/` … `<at>/<name>=<count − 1>/`, none in a dry run.
fn folders(at: Option<Location>, name: &str, count: i64) -> Vec<String> {
    at.map(|at| (0..count).map(|i| at.join(&format!("{name}={i}/")).to_string()).collect()).unwrap_or_default()
}

fn at_least_one(args: &JobArgs, name: &str) -> Result<Option<i64>> {
    match args.int(name) {
        Some(n) if n < 1 => Err(Error::usage(format!("--{name}: expected at least 1, got {n}"))),
        n => Ok(n),
    }
}
