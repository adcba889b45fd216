//! Dry runs (`fletch run JOB --dry-run`): the job runs its own code, but
//! each SQL step is only planned against the real inputs (their tables and
//! columns checked) and its plan kept. Steps that check inputs
//! ([`Becomes::Check`]) run; any other step's result is a view (tables) or
//! empty (collected results), and nothing is written.

use datafusion::arrow::array::{Array, StringArray};
use datafusion::dataframe::DataFrame;
use fletch_engine::params::Params;
use fletch_engine::remote;
use fletch_engine::script::Script;
use fletch_engine::Result;

use super::context::RunContext;
use super::steps::{Becomes, Ran, SqlStep, in_sql};

/// The plan of one SQL step of a dry run, as `EXPLAIN` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StepPlan {
    /// The SQL file (or script) the step runs.
    pub source: String,
    /// What its result becomes: `view`, `scratch`, `check`, `collected` or `output FOLDER`.
    pub becomes: String,
    /// The logical and physical plans.
    pub plan: String,
}

impl RunContext {
    /// Whether this run only plans (`--dry-run`).
    pub fn dry_run(&self) -> bool {
        self.opts.dry_run
    }

    /// `step` in a dry run: planned, its plan kept, and its result a view
    /// later steps plan against (collected results are empty).
    pub(super) async fn plan_step(&mut self, step: &SqlStep, params: &Params) -> Result<Ran> {
        let df = Script::parse(step.file, step.sql)?.plan_to_last(&self.ctx, params).await?;
        match step.becomes {
            Becomes::Output(_) => {
                let folder = self.output_folder(step);
                self.plan_output(step.file, &folder, &df).await?;
            }
            Becomes::View => self.keep_plan(step.file, "view", &df).await?,
            Becomes::Scratch(_) => self.keep_plan(step.file, "scratch", &df).await?,
            Becomes::Collected | Becomes::Check => {
                self.keep_plan(step.file, "collected", &df).await?;
                return Ok(Ran::default());
            }
        }
        self.ctx.deregister_table(step.name)?;
        self.ctx.register_table(step.name, df.into_view())?;
        Ok(Ran::default())
    }

    /// The output table `folder` that `df` (from `source`) would write: its
    /// plan kept, and listed with the run's outputs.
    pub async fn plan_output(&mut self, source: &str, folder: &str, df: &DataFrame) -> Result<()> {
        self.keep_plan(source, &format!("output {folder}"), df).await?;
        self.outputs.plan_table(folder)
    }

    /// Keeps `df`'s plan as `EXPLAIN` gives it (on a cluster, the
    /// scheduler's), once per source: steps that run many times plan alike.
    pub(super) async fn keep_plan(&mut self, source: &str, becomes: &str, df: &DataFrame) -> Result<()> {
        if self.plans.iter().any(|p| p.source == source) {
            return Ok(());
        }
        let explained = remote::collect(df.clone().explain(false, false)?).await.map_err(|e| in_sql(source, e))?;
        let mut plan = String::new();
        for batch in &explained {
            let text = |i: usize| batch.column(i).as_any().downcast_ref::<StringArray>().cloned();
            let (Some(kinds), Some(plans)) = (text(0), text(1)) else { continue };
            for row in 0..batch.num_rows() {
                if kinds.is_valid(row) && plans.is_valid(row) {
                    plan.push_str(&format!("{}:\n{}\n", kinds.value(row), plans.value(row).trim_end()));
                }
            }
        }
        self.progress.note(&format!("planned {source}"));
        self.plans.push(StepPlan { source: source.to_string(), becomes: becomes.to_string(), plan });
        Ok(())
    }
}
