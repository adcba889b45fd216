//! The lookalike audience jobs (spec lookalike.md §11,
//! docs/jobs/lookalike-audience.md), on the tables of lookalike-scores,
//! lookalike-vectors and lookalike-similarity: a seed audience
//! (`lookalike-seeds`), balanced clusters of users (`lookalike-clusters`),
//! the extended audience (`lookalike-extend`) and its validation
//! (`lookalike-validate`). `fletch serve lookalike` runs seeds and extend
//! for uploaded seed files.

mod balance;
pub mod clusters;
pub mod extend;
pub mod seed_files;
pub mod seeds;
pub mod validate;

use fletch_engine::Result;

use crate::framework::{Input, JobArgs};

/// `--tables-from`: where the pipeline's tables are.
pub(crate) const TABLES_FROM: &str = "where the pipeline's tables are: output (one pipeline run: each written by its job under the output root) or data (under the data root, as a finished pipeline that `fletch serve lookalike` reads)";

/// `--scores-from`: where lookalike_score is.
pub(crate) const SCORES_FROM: &str = "where lookalike_score is: output or data (default: as --tables-from; `fletch gen lookalike-scores` writes a sample under the data root)";

/// `lookalike_score`, where `--scores-from` (else `--tables-from`) says.
pub(crate) fn score_table(args: &JobArgs) -> Result<Input> {
    let flag = if args.string("scores-from").is_some() { "scores-from" } else { "tables-from" };
    table_from(args, flag, "lookalike_score", "lookalike-scores")
}

/// A table of the lookalike pipeline, written by job `made_by` under the
/// output root, or under the data root with `--tables-from data`.
pub(crate) fn pipeline_table(args: &JobArgs, table: &str, made_by: &'static str) -> Result<Input> {
    table_from(args, "tables-from", table, made_by)
}

fn table_from(args: &JobArgs, flag: &str, table: &str, made_by: &'static str) -> Result<Input> {
    Ok(match args.choice(flag, &["output", "data"])? {
        "output" => Input::new(table).made_by(made_by),
        _ => Input::new(table),
    })
}
