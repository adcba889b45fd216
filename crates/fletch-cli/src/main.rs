//! `fletch`: one binary for jobs, SQL, and the Ballista scheduler and executors.

mod args;
mod jobs_cmd;
mod quickstart;
mod run_cmd;
mod sql_cmd;

use std::io::Write;

use clap::Parser;
use fletch_engine::cluster::{self, ExecutorOptions, SchedulerOptions};
use fletch_engine::{Error, Result};

use args::{Cli, Cmd};

/// `fletch run JOB ...`: everything after JOB goes to the job's own parser,
/// so `fletch run JOB --help` shows the job's flags, not `run`'s.
fn job_args_to_job(mut argv: Vec<String>) -> Vec<String> {
    if argv.get(1).is_some_and(|a| a == "run") && argv.get(2).is_some_and(|j| !j.starts_with('-')) && argv.len() > 3 && argv[3] != "--" {
        argv.insert(3, "--".into());
    }
    argv
}

fn main() {
    let cli = Cli::parse_from(job_args_to_job(std::env::args().collect()));
    let default_log = match cli.cmd {
        Cmd::Scheduler { .. } | Cmd::Executor { .. } => "info",
        _ => "warn",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_log)).init();
    // Ballista's scheduler needs deep stacks for large plans (as its own binary sets).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(dispatch(cli)) {
        // A reader that closed our stdout wanted no more: no message, exit 0.
        if e.exit_code() != 0 {
            eprintln!("error: {e}");
        }
        std::process::exit(e.exit_code());
    }
}

/// A line on stdout; a closed pipe is [`Error::Stdout`], which exits quietly.
pub fn say(line: &str) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{line}").map_err(Error::Stdout)
}

async fn gen_cmd(
    dataset: &str,
    output_root: &str,
    scale: f64,
    seed: u64,
    start_date: Option<&str>,
    days: Option<u32>,
    quiet: bool,
) -> Result<()> {
    let dataset = fletch_datagen::Dataset::from_name(dataset).expect("clap checked the dataset");
    let start_date = match start_date {
        None => dataset.default_start(),
        Some(d) => fletch_engine::params::parse_date(d)
            .ok_or_else(|| Error::usage(format!("--start-date: expected YYYYMMDD, got `{d}`")))?,
    };
    let opts = fletch_datagen::GenOptions {
        output_root: fletch_engine::Location::parse("--output-root", output_root)?,
        scale,
        seed,
        start_date,
        days: days.unwrap_or_else(|| dataset.default_days()),
        progress: fletch_engine::progress::Progress::new(quiet),
    };
    let written = fletch_datagen::generate(dataset, &opts).await?;
    say(&format!("{} generated under {}", dataset.name(), opts.output_root))?;
    for out in &written {
        say(&format!("  {}", run_cmd::describe(out)))?;
    }
    Ok(())
}

async fn dispatch(cli: Cli) -> Result<()> {
    let quiet = cli.quiet;
    match cli.cmd {
        Cmd::Scheduler { bind, external_host, flight_sql } => {
            cluster::run_scheduler(SchedulerOptions { bind, external_host, flight_sql }).await
        }
        Cmd::Executor { scheduler, bind, external_host, work_dir, concurrent_tasks } => {
            cluster::run_executor(ExecutorOptions { scheduler, bind, external_host, work_dir, concurrent_tasks }).await
        }
        Cmd::Sql(sql) => sql_cmd::run(sql, quiet).await,
        Cmd::Run { job, args } => run_cmd::run(&job, &args, quiet).await,
        Cmd::Gen { dataset, output_root, scale, seed, start_date, days } => {
            gen_cmd(&dataset, &output_root, scale, seed, start_date.as_deref(), days, quiet).await
        }
        Cmd::Jobs => say(jobs_cmd::listing().trim_end()),
        Cmd::Functions => say(fletch_udfs::docs::markdown().trim_end()),
        Cmd::Quickstart { dir } => {
            let runs = quickstart::run(&dir, quiet).await?;
            say(&format!("quickstart finished; sample data and outputs are under {}", dir.display()))?;
            for run in runs {
                say(&format!("{}:", run.job))?;
                for out in run.outputs {
                    say(&format!("  {}", run_cmd::describe(&out)))?;
                }
            }
            Ok(())
        }
        Cmd::Repair { output_root } => {
            let root = fletch_engine::Location::parse("--output-root", &output_root)?;
            for line in fletch_engine::outputs::repair(&root).await? {
                say(&line)?;
            }
            Ok(())
        }
    }
    .map_err(|e: Error| e)
}
