//! `lookalike-seeds`: Blue Marlin's seed_user_selector (spec lookalike.md
//! §11.1, docs/jobs/lookalike-audience.md): a seed audience of users who
//! clicked a keyword, chosen reproducibly by the seed.

use async_trait::async_trait;
use fletch_engine::catalog::ColumnKind;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};

use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};
use super::{TABLES_FROM, pipeline_table};

crate::sql_steps!("lookalike-seeds" {
    lookalike_seeduser: Output(&[]),
});

pub struct LookalikeSeeds;

const SPEC: JobSpec = JobSpec {
    name: "lookalike-seeds",
    summary: "Lookalike: a seed audience, the users who clicked a keyword (and others, of a gender), chosen by the seed",
    params: &[
        ParamSpec::new("keyword-index", ParamType::Int, "the keyword the seeds clicked (the original's run.sh: 29, video)").default("29"),
        ParamSpec::new("also-keyword", ParamType::Int, "a further keyword every seed clicked too (v1.8: 26, social); repeatable").repeated(),
        ParamSpec::new("gender", ParamType::Int, "only users of this gender (v1.8: 1); repeatable").repeated(),
        ParamSpec::new("limit", ParamType::Int, "seeds kept at most").default("1000"),
        ParamSpec::new("tables-from", ParamType::String, TABLES_FROM).default("output"),
    ],
    outputs: &[OutputSpec { path: "lookalike_seeduser/", format: OutputFormat::Parquet, about: "did" }],
};

#[async_trait]
impl Job for LookalikeSeeds {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let keyword = args.int_in("keyword-index", 0..=i32::MAX as i64)?;
        let mut also: Vec<i64> = args.ints("also-keyword");
        also.retain(|k| *k != keyword);
        also.sort_unstable();
        also.dedup();
        let genders = args.ints("gender");
        let limit = args.int_in("limit", 1..=i64::MAX)?;
        let logs = pipeline_table(args, "lookalike_logs", "lookalike-prepare")?
            .columns(&[("did", ColumnKind::Text), ("is_click", ColumnKind::Integer), ("keyword_index", ColumnKind::Integer), ("gender", ColumnKind::TextOrInteger)]);
        rc.prepare(&STEPS.all(), &[logs]).await?;
        let mut params = rc.base_params();
        params.set_int("keyword_index", keyword);
        params.set_ints("also_keywords", &also);
        params.set_int("keywords_clicked", 1 + also.len() as i64);
        params.set_bool("any_gender", genders.is_empty());
        params.set_ints("genders", &genders);
        params.set_int("limit", limit);
        let seeds = rc.run(&STEPS.lookalike_seeduser, &params).await?.rows.unwrap_or(0);
        if seeds == 0 && !rc.dry_run() {
            return Err(Error::input(format!("no seed: no user of lookalike_logs clicked keyword {keyword}{}", describe(&also, &genders))));
        }
        rc.progress.note(&format!("{seeds} seeds (of at most {limit}) clicked keyword {keyword}{}", describe(&also, &genders)));
        Ok(())
    }
}

fn describe(also: &[i64], genders: &[i64]) -> String {
    let list = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let mut s = String::new();
    if !also.is_empty() {
        s += &format!(" and {}", list(also));
    }
    if !genders.is_empty() {
        s += &format!(" with gender {}", list(genders));
    }
    s
}
