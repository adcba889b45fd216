//! The job model: a job declares itself ([`JobSpec`]), its SQL steps
//! ([`sql_steps!`](crate::sql_steps)) and inputs ([`Input`]); [`run`] gives
//! it a session and one output transaction, and commits what it staged when
//! it succeeds or discards it when it fails.

mod args;
mod context;
mod dry_run;
mod spec;
mod steps;

use async_trait::async_trait;
use fletch_engine::outputs::{Outputs, Written};
use fletch_engine::progress::StepTiming;
use fletch_engine::session;
use fletch_engine::Result;

pub use args::JobArgs;
pub use context::{RunContext, RunOptions};
pub use dry_run::StepPlan;
pub use spec::{COMMON_PARAMS, JobSpec, OutputFormat, OutputSpec, ParamSpec};
pub use steps::{Becomes, Input, InputRoot, Ran, SqlStep, in_sql};
pub(crate) use steps::rerun_interrupted;

#[async_trait]
pub trait Job: Sync {
    fn spec(&self) -> &'static JobSpec;

    /// Runs the job, staging its outputs in `rc.outputs`.
    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()>;

    /// Runs of one name exclude each other on an output root (the lease's name).
    fn lease_name(&self, _args: &JobArgs) -> String {
        self.spec().name.to_string()
    }
}

/// What a successful run committed (a dry run: would have), and its steps.
pub struct Finished {
    pub outputs: Vec<Written>,
    pub steps: Vec<StepTiming>,
    /// A dry run's plan of each SQL step.
    pub plans: Vec<StepPlan>,
}

/// Runs `job` with one output transaction: what it staged is committed when
/// it succeeds and discarded when it fails. A dry run takes no lease and
/// writes nothing.
pub async fn run(job: &dyn Job, opts: RunOptions, args: &JobArgs) -> Result<Finished> {
    let ctx = session::connect(&opts.mode).await?;
    let outputs = match opts.dry_run {
        true => Outputs::dry(&opts.output_root, &job.lease_name(args)),
        false => Outputs::begin(&opts.output_root, &job.lease_name(args)).await?,
    };
    let mut rc = RunContext::new(ctx, opts, outputs);
    let result = match job.run(&mut rc, args).await {
        Err(e) if e.to_string().contains("non UTF-8") => Err(rc.locate_non_utf8(e).await),
        done => done,
    };
    let RunContext { outputs, progress, plans, opts, .. } = rc;
    match result {
        Ok(()) if opts.dry_run => Ok(Finished { outputs: outputs.commit().await?, steps: progress.finished(), plans }),
        Ok(()) => {
            let step = progress.step("commit outputs");
            let written = outputs.commit().await?;
            step.done_counting(written.len() as u64, "outputs");
            Ok(Finished { outputs: written, steps: progress.finished(), plans })
        }
        Err(e) => {
            outputs.discard().await;
            Err(e)
        }
    }
}
