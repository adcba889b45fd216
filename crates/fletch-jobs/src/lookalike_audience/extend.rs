//! `lookalike-extend`: the extended audience of a seed set (spec lookalike.md
//! §11.2, §10.6): the `--audience-size` best users that are no seed, from the
//! top-N similarity table (`similarity`) or by the legacy mean of each user's
//! ten largest similarities to the seeds (`mean-top10`).

use async_trait::async_trait;
use fletch_engine::batches::{floats, ints, strings, vectors};
use fletch_engine::catalog::ColumnKind;
use fletch_engine::params::{ParamType, Params};
use fletch_engine::{Error, Result};
use fletch_udfs::vector::{Measure, SeedSimilarity};
use serde_json::json;

use super::{SCORES_FROM, TABLES_FROM, pipeline_table, score_table, seed_files};
use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("lookalike-extend" {
    seed_users: View,
    seeds_with_similar_users: Check,
    seeds_with_scores: Check,
    seed_list_candidates: View,
    user_list_candidates: View,
    user_vectors: View,
    seed_keywords: Collected,
    seed_vectors: Collected,
    mean_top10_candidates: View,
    lookalike_extended_audience: Output(&[]),
    audience_summary: Collected,
});

pub struct LookalikeExtend;

/// The summary file beside the audience.
pub const SUMMARY: &str = "lookalike_extended_audience_summary.json";

const SPEC: JobSpec = JobSpec {
    name: "lookalike-extend",
    summary: "Lookalike: a seed audience extended by the --audience-size most similar users that are no seed",
    params: &[
        ParamSpec::new("audience-size", ParamType::Int, "users in the extended audience at most (the original's M)").default("2000"),
        ParamSpec::new("method", ParamType::String, "similarity (from lookalike-similarity's top-N lists) or mean-top10 (the legacy mean of each user's 10 largest similarities to the seeds, over lookalike_score)").default("similarity"),
        ParamSpec::new("seeds-file", ParamType::String, "a seed file (one did a line, or CSV with a did column), path or URL; repeatable. Default: lookalike_seeduser, written by lookalike-seeds").repeated(),
        ParamSpec::new("small-seed-threshold", ParamType::Int, "similarity: below this many seeds found, the audience is the users whose similar users hold a seed; from it on, the seeds' own similar users").default("1000"),
        ParamSpec::new("min-score", ParamType::Float, "candidates scoring below this are left out (default: none is)"),
        ParamSpec::new("measure", ParamType::String, "mean-top10: dot (over the L2-normalised scores, the original's default) or euclidean (1 − distance / √dim over the raw scores)").default("dot"),
        ParamSpec::new("legacy-mean", ParamType::Bool, "mean-top10: keep the original's initial 0.0 among the largest similarities (with fewer than 10 seeds it is averaged in)").default("false"),
        ParamSpec::new("tables-from", ParamType::String, TABLES_FROM).default("output"),
        ParamSpec::new("scores-from", ParamType::String, SCORES_FROM),
    ],
    outputs: &[
        OutputSpec { path: "lookalike_extended_audience/", format: OutputFormat::Parquet, about: "did, score: the audience, best first" },
        OutputSpec { path: SUMMARY, format: OutputFormat::File, about: "seeds given and found, method, audience size, score range" },
    ],
};

enum Method {
    Similarity { threshold: i64 },
    MeanTop10 { measure: Measure, initial_zero: bool },
}

#[async_trait]
impl Job for LookalikeExtend {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let audience_size = args.int_in("audience-size", 1..=i64::MAX)?;
        let method = match args.choice("method", &["similarity", "mean-top10"])? {
            "similarity" => Method::Similarity { threshold: args.int_in("small-seed-threshold", 0..=i64::MAX)? },
            _ => Method::MeanTop10 {
                measure: match args.choice("measure", &["dot", "euclidean"])? {
                    "dot" => Measure::Dot,
                    _ => Measure::Euclidean,
                },
                initial_zero: args.bool("legacy-mean") == Some(true),
            },
        };
        let min_score = match args.float("min-score") {
            Some(s) if !s.is_finite() => return Err(Error::usage(format!("--min-score: expected a finite number, got {s}"))),
            given => given.unwrap_or(f64::NEG_INFINITY),
        };
        let seed_input = seed_files::seed_rows(rc, &args.strings("seeds-file")).await?;
        let mut params = rc.base_params();
        params.set_int("audience_size", audience_size);
        params.set_float("min_score", min_score);

        let (found_step, table, steps): (_, _, Vec<_>) = match method {
            Method::Similarity { .. } => (&STEPS.seeds_with_similar_users, "lookalike_similarity", vec![&STEPS.seed_users, &STEPS.seeds_with_similar_users, &STEPS.seed_list_candidates, &STEPS.user_list_candidates]),
            Method::MeanTop10 { .. } => (&STEPS.seeds_with_scores, "lookalike_score", vec![&STEPS.seed_users, &STEPS.seeds_with_scores, &STEPS.user_vectors, &STEPS.seed_keywords, &STEPS.seed_vectors, &STEPS.mean_top10_candidates]),
        };
        let inputs = [
            seed_input,
            pipeline_table(args, "lookalike_similarity", "lookalike-similarity")?.columns(&[("did", ColumnKind::Text)]),
            score_table(args)?.columns(&[("did", ColumnKind::Text)]),
        ];
        rc.prepare(&steps, &inputs).await?;
        rc.run(&STEPS.seed_users, &params).await?;
        let counts = rc.run(found_step, &params).await?.batches;
        let (given, found) = (ints(&counts, "given")?.first().copied().unwrap_or(0), ints(&counts, "found")?.first().copied().unwrap_or(0));
        if given > found {
            log::warn!("lookalike-extend: {} of {given} seeds are not in {table} and are skipped", given - found);
        }
        if found == 0 && !rc.dry_run() {
            return Err(Error::input(format!("none of the {given} seeds is in {table}: no audience to extend")));
        }
        let (candidates, described) = match method {
            Method::Similarity { threshold } if found >= threshold => (&STEPS.seed_list_candidates, format!("similarity: the similar users of {found} seeds")),
            Method::Similarity { threshold } => (&STEPS.user_list_candidates, format!("similarity: users with one of {found} seeds (fewer than {threshold}) among their similar users")),
            Method::MeanTop10 { measure, initial_zero } => {
                bind_seed_vectors(rc, &mut params, measure, initial_zero).await?;
                (&STEPS.mean_top10_candidates, format!("mean-top10 ({measure:?}) against {found} seeds").to_lowercase())
            }
        };
        rc.progress.note(&described);
        rc.run(candidates, &params).await?;
        rc.ctx.register_table("audience_candidates", rc.ctx.table_provider(candidates.name).await?)?;
        rc.prepare(&[&STEPS.lookalike_extended_audience, &STEPS.audience_summary], &[]).await?;
        rc.run(&STEPS.lookalike_extended_audience, &params).await?;
        let summary = rc.run(&STEPS.audience_summary, &params).await?.batches;
        let users = ints(&summary, "users")?.first().copied().unwrap_or(0);
        if users < audience_size && !rc.dry_run() {
            log::warn!("lookalike-extend: {users} users, fewer than --audience-size {audience_size}: no more candidates score at least --min-score");
        }
        let document = json!({
            "method": described,
            "seeds_given": given,
            "seeds_found": found,
            "seeds_missing": given - found,
            "audience_size_requested": audience_size,
            "audience_size": users,
            "min_score": floats(&summary, "min_score")?.first(),
            "max_score": floats(&summary, "max_score")?.first(),
        });
        rc.stage_json(SUMMARY, &document).await
    }
}

/// Binds `$keywords` (the seeds' keywords) and `$normalized` into the
/// users' vectors, and `$seeds`, the seeds' vectors every task compares its
/// users with.
async fn bind_seed_vectors(rc: &mut RunContext, params: &mut Params, measure: Measure, initial_zero: bool) -> Result<()> {
    params.set_bool("normalized", measure == Measure::Dot);
    let keywords = strings(&rc.run(&STEPS.seed_keywords, params).await?.batches, "keyword")?;
    params.set_strings("keywords", &keywords);
    rc.run(&STEPS.user_vectors, params).await?;
    let (values, _) = vectors(&rc.run(&STEPS.seed_vectors, params).await?.batches, "vector")?;
    let seeds = SeedSimilarity { measure, top: 10, initial_zero, dim: keywords.len().max(1), values };
    params.set_string("seeds", serde_json::to_string(&seeds).expect("seed vectors serialise"));
    Ok(())
}
