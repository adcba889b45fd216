//! `lookalike-vectors`: Blue Marlin's score_vector_table and score_matrix_table
//! (spec lookalike.md §10.1, §10.2; docs/jobs/lookalike-vectors.md): each
//! user's keyword scores as a dense vector over the keywords in ascending
//! order, with its squared norm `c1`, and one matrix row per bucket.

use async_trait::async_trait;
use fletch_engine::batches::strings;
use fletch_engine::catalog::ColumnKind;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("lookalike-vectors" {
    mapping_keywords: Check,
    effective_keywords: Check,
    lookalike_score_vector: Output(&["did_bucket"]),
    lookalike_score_matrix: Output(&["did_bucket"]),
});

pub struct LookalikeVectors;

const SPEC: JobSpec = JobSpec {
    name: "lookalike-vectors",
    summary: "Lookalike: score vectors over the keywords (did, score_vector, c1) and one score matrix per user bucket",
    params: &[
        ParamSpec::new("keywords-from", ParamType::String, "the vectors' dimensions: mapping (every keyword of ad_keywords, the did-era) or effective (lookalike_keywords, HEAD)").default("mapping"),
        ParamSpec::new("scores-from", ParamType::String, "where lookalike_score is: output (written by lookalike-scores) or data (under the data root, as `fletch gen lookalike` writes a sample)").default("output"),
    ],
    outputs: &[
        OutputSpec { path: "lookalike_score_vector/did_bucket=*/", format: OutputFormat::Parquet, about: "did, score_vector list<float> over the keywords ascending, c1 float" },
        OutputSpec { path: "lookalike_score_matrix/did_bucket=*/", format: OutputFormat::Parquet, about: "one row per bucket: did_list, score_matrix, c1_list, aligned" },
    ],
};

#[async_trait]
impl Job for LookalikeVectors {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let dimensions = match args.choice("keywords-from", &["mapping", "effective"])? {
            "mapping" => &STEPS.mapping_keywords,
            _ => &STEPS.effective_keywords,
        };
        let scores = Input::new("lookalike_score").columns(&[("did", ColumnKind::Text)]);
        let scores = match args.choice("scores-from", &["output", "data"])? {
            "output" => scores.made_by("lookalike-scores"),
            _ => scores,
        };
        rc.set_output_folder(&STEPS.lookalike_score_vector, "lookalike_score_vector");
        rc.set_output_folder(&STEPS.lookalike_score_matrix, "lookalike_score_matrix");
        let steps = [dimensions, &STEPS.lookalike_score_vector, &STEPS.lookalike_score_matrix];
        let inputs = [
            Input::new("ad_keywords").columns(&[("keyword", ColumnKind::Text)]),
            Input::new("lookalike_keywords").made_by("lookalike-prepare").columns(&[("keyword", ColumnKind::Text)]),
            scores,
        ];
        rc.prepare(&steps, &inputs).await?;
        let mut params = rc.base_params();
        let keywords = strings(&rc.run(dimensions, &params).await?.batches, "keyword")?;
        if keywords.is_empty() && !rc.dry_run() {
            return Err(Error::input(format!("no keyword in {}: the vectors would have no dimension", dimensions.file)));
        }
        rc.progress.note(&format!("{} dimensions: {}", keywords.len(), keywords.join(", ")));
        params.set_strings("keywords", &keywords);
        rc.run(&STEPS.lookalike_score_vector, &params).await?;
        rc.run(&STEPS.lookalike_score_matrix, &params).await?;
        Ok(())
    }
}
