//! `lookalike-validate`: does the extended audience click the keyword more
//! than random users do (spec lookalike.md §11.4)? Plan 0 compares the
//! audience's clicks in the newest interval of a test train-ready table with
//! as many random non-seed users'; plan 1 (its literal-key bug fixed) checks
//! that the users the model scores highest for the keyword are the users
//! who click it. Written as one JSON report.

use async_trait::async_trait;
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use fletch_engine::batches::{column, ints, strings};
use fletch_engine::catalog::ColumnKind;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use serde_json::json;

use super::{SCORES_FROM, TABLES_FROM, pipeline_table, score_table, seed_files};
use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};
use crate::proportions;

crate::sql_steps!("lookalike-validate" {
    keyword_name: Check,
    seed_users in "lookalike-extend": View,
    audience_size: Collected,
    random_users: View,
    test_history: View,
    plan0_groups: Collected,
    plan1_overlap: Collected,
});

pub struct LookalikeValidate;

pub const REPORT: &str = "lookalike_validation.json";

const SPEC: JobSpec = JobSpec {
    name: "lookalike-validate",
    summary: "Lookalike: the extended audience's clicks on the keyword against random users' (plan 0) and scores against actual interest (plan 1), as a JSON report",
    params: &[
        ParamSpec::new("keyword-index", ParamType::Int, "the keyword the audience is for").default("29"),
        ParamSpec::new("test-trainready", ParamType::String, "folder under the data root of a train-ready table of a later period (the original's lookalike_trainready_jimmy_test); default: the pipeline's lookalike_trainready"),
        ParamSpec::new("seeds-file", ParamType::String, "the seed files the audience was extended from (else lookalike_seeduser); repeatable").repeated(),
        ParamSpec::new("confidence", ParamType::Float, "level of the confidence intervals").default("0.95"),
        ParamSpec::new("plan1-sample", ParamType::Int, "plan 1: scored users sampled").default("1000"),
        ParamSpec::new("plan1-top", ParamType::Int, "plan 1: users compared at the top of each ranking").default("500"),
        ParamSpec::new("tables-from", ParamType::String, TABLES_FROM).default("output"),
        ParamSpec::new("scores-from", ParamType::String, SCORES_FROM),
    ],
    outputs: &[OutputSpec { path: REPORT, format: OutputFormat::File, about: "plan 0: clickers, clicks, lift and the difference's interval; plan 1: overlap of the top users" }],
};

#[async_trait]
impl Job for LookalikeValidate {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let keyword_index = args.int_in("keyword-index", 0..=i32::MAX as i64)?;
        let confidence = args.float("confidence").filter(|c| *c > 0.0 && *c < 1.0).ok_or_else(|| Error::usage("--confidence: expected a level between 0 and 1, such as 0.95"))?;
        let plan1_top = args.int_in("plan1-top", 1..=i64::MAX)?;
        let seed_input = seed_files::seed_rows(rc, &args.strings("seeds-file")).await?;
        let test = match args.string("test-trainready") {
            Some(folder) => {
                fletch_engine::outputs::check_path("--test-trainready", &folder)?;
                Input::new("test_trainready").at(&folder)
            }
            None => pipeline_table(args, "test_trainready", "lookalike-prepare")?.at("lookalike_trainready"),
        };
        let inputs = [
            seed_input,
            test.columns(&[("did", ColumnKind::Text)]),
            Input::new("lookalike_extended_audience").made_by("lookalike-extend").columns(&[("did", ColumnKind::Text)]),
            score_table(args)?.columns(&[("did", ColumnKind::Text)]),
        ];
        rc.prepare(&STEPS.all(), &inputs).await?;
        let mut params = rc.base_params();
        params.set_int("keyword_index", keyword_index);
        params.set_string("keyword_count", format!(",{keyword_index}:([0-9]+),"));
        params.set_int("plan1_sample", args.int_in("plan1-sample", 1..=i64::MAX)?);
        params.set_int("plan1_top", plan1_top);
        let keyword = strings(&rc.run(&STEPS.keyword_name, &params).await?.batches, "keyword")?.into_iter().next();
        let keyword = match keyword {
            Some(k) => k,
            None if rc.dry_run() => String::new(),
            None => return Err(Error::input(format!("--keyword-index {keyword_index}: no such keyword in ad_keywords"))),
        };
        params.set_string("keyword", &keyword);
        rc.run(&STEPS.seed_users, &params).await?;
        let audience_users = ints(&rc.run(&STEPS.audience_size, &params).await?.batches, "users")?;
        params.set_int("audience_users", audience_users.first().copied().unwrap_or(0));
        rc.run(&STEPS.random_users, &params).await?;
        rc.run(&STEPS.test_history, &params).await?;
        let groups = rc.run(&STEPS.plan0_groups, &params).await?.batches;
        let overlap = rc.run(&STEPS.plan1_overlap, &params).await?.batches;
        if rc.dry_run() {
            // Named as an output; a dry run writes nothing.
            return rc.stage_json(REPORT, &json!({})).await;
        }
        let (audience, random) = (group(&groups, "audience")?, group(&groups, "random")?);
        let compared = proportions::compare(random.clickers, random.users, audience.clickers, audience.users, 1.0 - confidence);
        let sampled = ints(&overlap, "sampled")?.first().copied().unwrap_or(0);
        let in_both = ints(&overlap, "overlap")?.first().copied().unwrap_or(0);
        let compared_top = plan1_top.min(sampled);
        rc.progress.note(&format!(
            "plan 0: {} of {} audience users clicked {keyword} ({keyword_index}) in the newest interval, {} of {} random users (lift {}); plan 1: {in_both} of the top {compared_top} in both rankings",
            audience.clickers,
            audience.users,
            random.clickers,
            random.users,
            compared.ratio.map_or("undefined: no random user clicked".into(), |r| format!("{r:.3}"))
        ));
        let report = json!({
            "keyword_index": keyword_index,
            "keyword": keyword,
            "confidence": confidence,
            "plan0": {
                "audience": audience.json(),
                "random": random.json(),
                "lift": compared.ratio,
                "lift_interval": compared.ratio_ci.map(|(lo, hi)| [lo, hi]),
                "difference": compared.diff,
                "difference_interval": [compared.diff_ci.0, compared.diff_ci.1],
                "p_value": compared.p_value,
            },
            "plan1": {
                "sampled": sampled,
                "top": compared_top,
                "overlap": in_both,
                "share": if compared_top > 0 { Some(in_both as f64 / compared_top as f64) } else { None },
            },
        });
        rc.stage_json(REPORT, &report).await
    }
}

/// One row of plan 0.
struct Group {
    users: u64,
    clickers: u64,
    clicks: u64,
}

impl Group {
    fn json(&self) -> serde_json::Value {
        json!({"users": self.users, "clickers": self.clickers, "clicks": self.clicks, "click_rate": self.clickers as f64 / self.users.max(1) as f64})
    }
}

fn group(batches: &[RecordBatch], name: &str) -> Result<Group> {
    for b in batches {
        let (of, users, clickers, clicks) = (column::<StringArray>(b, "users_of")?, column::<Int64Array>(b, "users")?, column::<Int64Array>(b, "clickers")?, column::<Int64Array>(b, "clicks")?);
        if let Some(i) = (0..b.num_rows()).find(|&i| of.value(i) == name) {
            return Ok(Group { users: users.value(i) as u64, clickers: clickers.value(i) as u64, clicks: clicks.value(i) as u64 });
        }
    }
    Err(Error::input(format!("plan0_groups: no row for the {name} users")))
}
