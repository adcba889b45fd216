//! `fletch`: one binary for jobs, SQL, and the Ballista scheduler and executors.

mod args;
mod completions;
mod jobs_cmd;
mod logging;
mod quickstart;
mod repl;
mod run_cmd;
mod serve_cmd;
mod sql_cmd;

use std::io::{IsTerminal, Write};

use clap::Parser;
use fletch_engine::auth::Token;
use fletch_engine::cluster::{self, ExecutorOptions, SchedulerOptions};
use fletch_engine::signals::stop_signal;
use fletch_engine::{Error, Location, Result};

use args::{Cli, Cmd, GenArgs, Summary};

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
        Cmd::Scheduler { .. } | Cmd::Executor { .. } | Cmd::Serve { .. } => "info,ballista_core::execution_plans::distributed_query=off",
        // Ballista's client logs a failed job, which fletch then reports itself.
        _ => "warn,ballista_core::execution_plans::distributed_query=off",
    };
    logging::init(cli.log_format, default_log);
    // Ballista's scheduler needs deep stacks for large plans (as its own binary sets).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .expect("tokio runtime");
    // The scheduler and executor handle signals themselves, and so does the
    // SQL shell at a terminal (Ctrl-C cancels a statement there, not the shell).
    let stoppable = match &cli.cmd {
        Cmd::Scheduler { .. } | Cmd::Executor { .. } | Cmd::Serve { .. } => false,
        Cmd::Sql(sql) => !(sql.file.is_empty() && sql.command.is_empty() && std::io::stdin().is_terminal()),
        _ => true,
    };
    let code = runtime.block_on(async {
        tokio::select! {
            result = dispatch(cli) => match result {
                Ok(()) => 0,
                // A reader that closed our stdout wanted no more: no message, exit 0.
                // A stopped scheduler or executor has logged why.
                Err(e @ Error::Stopped(_)) => e.exit_code(),
                Err(e) => {
                    if e.exit_code() != 0 {
                        eprintln!("error: {e}");
                    }
                    e.exit_code()
                }
            },
            // The commands that handle signals themselves are not `stoppable`
            // (and a disabled branch's future is made but never polled).
            stop = async { stop_signal().await }, if stoppable => {
                // The command's future is dropped: what it staged is removed.
                fletch_engine::remote::cancel_running_jobs().await;
                eprintln!("stopped by {}; running cluster jobs cancelled, staged outputs removed", stop.name());
                stop.exit_code()
            }
        }
    });
    std::process::exit(code);
}

/// Confines what SQL of this process may read and write on local disks to
/// `roots` and the comma-separated `--allowed-roots` (docs/operations.md).
pub fn confine(roots: &[&Location], allowed_roots: &str) -> Result<()> {
    let extra = Location::parse_list("--allowed-roots", allowed_roots)?;
    fletch_engine::stores::confine_local_files(roots.iter().copied().chain(&extra).filter_map(Location::local_path).collect());
    Ok(())
}

/// A line on stdout; a closed pipe is [`Error::Stdout`], which exits quietly.
pub fn say(line: &str) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{line}").map_err(Error::Stdout)
}

async fn gen_cmd(args: &GenArgs, quiet: bool) -> Result<()> {
    let dataset = fletch_datagen::Dataset::from_name(&args.dataset).expect("clap checked the dataset");
    let start_date = match args.start_date.as_deref() {
        None => dataset.default_start(),
        Some(d) => fletch_engine::params::parse_date(d)
            .ok_or_else(|| Error::usage(format!("--start-date: expected YYYYMMDD, got `{d}`")))?,
    };
    let output_root = fletch_engine::Location::parse("--output-root", &args.output_root)?;
    confine(&[&output_root], "")?;
    let opts = fletch_datagen::GenOptions {
        output_root,
        scale: args.scale,
        seed: args.seed,
        start_date,
        days: args.days.unwrap_or_else(|| dataset.default_days()),
        progress: fletch_engine::progress::Progress::new(quiet),
    };
    let written = fletch_datagen::generate(dataset, &opts).await?;
    if args.format == Summary::Json {
        let report = serde_json::json!({"dataset": dataset.name(), "output_root": opts.output_root.to_string(), "outputs": written});
        return say(&report.to_string());
    }
    say(&format!("{} generated under {}", dataset.name(), opts.output_root))?;
    for out in &written {
        say(&format!("  {}", run_cmd::describe(out)))?;
    }
    Ok(())
}

async fn dispatch(cli: Cli) -> Result<()> {
    let quiet = cli.quiet;
    let spill_dir = match &cli.cmd {
        Cmd::Executor { work_dir, .. } => cli.spill_dir.or_else(|| Some(work_dir.join("spill"))),
        _ => cli.spill_dir,
    };
    let budget = (cli.memory_limit, spill_dir);
    // `fletch run JOB --memory-limit ...` is the job's flag: run_cmd sets the budget.
    if !matches!(cli.cmd, Cmd::Run { .. }) {
        fletch_engine::memory::set_budget(&budget.0, budget.1.clone())?;
    }
    match cli.cmd {
        Cmd::Scheduler { bind, external_host, flight_sql, executor_timeout, auth_token_file, allowed_roots } => {
            confine(&[], &allowed_roots)?;
            if executor_timeout < 2 * cluster::HEARTBEAT_SECONDS {
                return Err(Error::usage(format!(
                    "--executor-timeout: expected at least {} seconds (two heartbeats)",
                    2 * cluster::HEARTBEAT_SECONDS
                )));
            }
            let token = auth_token_file.as_deref().map(Token::from_file).transpose()?;
            cluster::run_scheduler(SchedulerOptions { bind, external_host, flight_sql, executor_timeout_seconds: executor_timeout, token }).await
        }
        Cmd::Executor { scheduler, bind, external_host, work_dir, health_bind, concurrent_tasks, scheduler_wait, auth_token_file, allowed_roots } => {
            confine(&[], &allowed_roots)?;
            let token = auth_token_file.as_deref().map(Token::from_file).transpose()?;
            let scheduler_wait = std::time::Duration::from_secs(scheduler_wait);
            let memory_limit = fletch_engine::memory::limit_bytes(&budget.0)?;
            cluster::run_executor(ExecutorOptions { scheduler, bind, external_host, work_dir, concurrent_tasks, scheduler_wait, token, health_bind, memory_limit }).await
        }
        Cmd::Sql(sql) => sql_cmd::run(sql, quiet).await,
        Cmd::Run { job, args } => run_cmd::run(&job, &args, quiet, budget).await,
        Cmd::Gen(args) => gen_cmd(&args, quiet).await,
        Cmd::Serve { service: args::Service::Lookalike(args) } => serve_cmd::lookalike(args).await,
        Cmd::Jobs { format: Summary::Json } => say(&jobs_cmd::json().to_string()),
        Cmd::Jobs { format: Summary::Text } => say(jobs_cmd::listing().trim_end()),
        Cmd::Functions => say(fletch_udfs::docs::markdown().trim_end()),
        Cmd::Quickstart { dir } => {
            confine(&[], &dir.display().to_string())?;
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
        Cmd::Completions { shell } => completions::completions(shell),
        Cmd::Man => completions::man(),
        Cmd::Repair { output_root } => {
            let root = fletch_engine::Location::parse("--output-root", &output_root)?;
            confine(&[&root], "")?;
            for line in fletch_engine::outputs::repair(&root).await? {
                say(&line)?;
            }
            Ok(())
        }
    }
    .map_err(|e: Error| e)
}
