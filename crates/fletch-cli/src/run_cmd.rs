//! `fletch run JOB [flags]`: flags come from the job's parameter specs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use fletch_engine::outputs::Written;
use fletch_engine::params::ParamType;
use fletch_engine::progress::{Progress, fmt_duration, group_thousands};
use fletch_engine::session::Mode;
use fletch_engine::{Error, Result};
use fletch_jobs::framework::{self, COMMON_PARAMS, ParamSpec};
use fletch_jobs::{Job, JobArgs, RunOptions};

use crate::say;

/// The environment variable a common flag falls back to (`--data-root`: `FLETCH_DATA_ROOT`).
pub fn env_var(flag: &str) -> String {
    format!("FLETCH_{}", flag.to_uppercase().replace('-', "_"))
}

/// One flag; a common one (`common`) also read from its [`env_var`].
fn flag(spec: &ParamSpec, common: bool) -> Arg {
    let mut help = spec.help.to_string();
    if let Some(default) = spec.default {
        help.push_str(&format!(" [default: {default}]"));
    }
    if spec.required {
        help.push_str(" [required]");
    }
    let arg = Arg::new(spec.name).long(spec.name).value_name(spec.ty.name().to_uppercase()).allow_negative_numbers(true).help(help);
    let arg = if common { arg.env(env_var(spec.name)) } else { arg };
    // A bare boolean flag means true (`--allow-empty`); `--allow-empty false` still works.
    let arg = match spec.ty {
        ParamType::Bool => arg.num_args(0..=1).default_missing_value("true"),
        _ => arg,
    };
    if spec.repeated { arg.action(ArgAction::Append) } else { arg.action(ArgAction::Set) }
}

/// `fletch run JOB`'s parser: the common flags, the job's own, and what the command adds.
pub fn command(job: &dyn Job) -> Command {
    let spec = job.spec();
    Command::new(spec.name)
        .bin_name(format!("fletch run {}", spec.name))
        .about(spec.summary)
        .args(COMMON_PARAMS.iter().map(|p| flag(p, true)))
        .args(spec.params.iter().map(|p| flag(p, false)))
        .arg(Arg::new("format").long("format").value_parser(["text", "json"]).default_value("text").help("the summary on stdout: text, or one JSON object (outputs, rows, bytes, seconds per step)"))
        .arg(Arg::new("dry-run").long("dry-run").action(ArgAction::SetTrue).help("check the inputs and print the plan of every SQL step (EXPLAIN); runs only the input checks and writes nothing"))
        .arg(Arg::new("print-config").long("print-config").action(ArgAction::SetTrue).help("print every flag's value and where it came from (flag, environment, default), then exit"))
        .arg(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("no progress lines"))
}

/// `budget` is fletch's own `--memory-limit` and `--spill-dir`, which the job's flags override.
pub async fn run(name: &str, raw_args: &[String], quiet: bool, budget: (String, Option<PathBuf>)) -> Result<()> {
    let job = fletch_jobs::find(name).expect("clap checked the job name");
    let cmd = command(job).no_binary_name(true);
    let valid: Vec<_> = cmd.get_arguments().filter_map(|a| a.get_long()).map(|l| format!("--{l}")).collect();
    let matches = match cmd.try_get_matches_from(raw_args) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) => {
            let msg = e.render().to_string();
            let first = msg.lines().next().unwrap_or_default().trim_start_matches("error: ");
            return Err(Error::usage(format!("fletch run {name}: {first}; valid flags: {}", valid.join(", "))));
        }
    };
    if matches.get_flag("print-config") {
        return say(&print_config(job, &matches));
    }
    let quiet = quiet || matches.get_flag("quiet");
    let mut opts = RunOptions::from_flags(|n| matches.get_one::<String>(n).cloned(), quiet)
        .map_err(|e| match e {
            Error::Usage(m) if m.starts_with("missing --") => Error::usage(format!("fletch run {name}: {m}")),
            other => other,
        })?;
    opts.dry_run = matches.get_flag("dry-run");
    let mut raw = BTreeMap::new();
    for spec in job.spec().params {
        if let Some(values) = matches.get_many::<String>(spec.name) {
            raw.insert(spec.name.to_string(), values.cloned().collect::<Vec<_>>());
        }
    }
    let args = JobArgs::parse(job.spec().params, &raw)?;
    fletch_engine::stores::confine_local_files(opts.local_roots());
    let limit = matches.get_one::<String>("memory-limit").cloned().unwrap_or(budget.0);
    fletch_engine::memory::set_budget(&limit, matches.get_one::<String>("spill-dir").map(PathBuf::from).or(budget.1))?;

    let progress = Progress::new(quiet);
    let mode = match &opts.mode {
        Mode::Embedded => "embedded".to_string(),
        Mode::Cluster(cluster) => format!("cluster {}", cluster.scheduler),
    };
    let dry_run = opts.dry_run;
    let dry = if dry_run { " (dry run)" } else { "" };
    progress.note(&format!("{name}: {} on {mode}{dry}", opts.date.format("%Y-%m-%d")));
    let date = opts.date;
    let finished = framework::run(job, opts, &args).await?;
    if matches.get_one::<String>("format").is_some_and(|f| f == "json") {
        let mut report = serde_json::json!({
            "job": name,
            "date": date.to_string(),
            "mode": mode,
            "seconds": progress.elapsed().as_secs_f64(),
            "steps": finished.steps,
            "outputs": finished.outputs,
        });
        if dry_run {
            report["dry_run"] = true.into();
            report["plans"] = serde_json::to_value(&finished.plans).expect("plans serialise");
        }
        return say(&report.to_string());
    }
    if dry_run {
        return say(&dry_run_report(job, &matches, &finished));
    }
    say(&format!("{name} finished in {}", fmt_duration(progress.elapsed())))?;
    for out in &finished.outputs {
        say(&format!("  {}", describe(out)))?;
    }
    Ok(())
}

/// A dry run's text summary: the configuration, each step's plan, and what a run would write.
fn dry_run_report(job: &dyn Job, matches: &ArgMatches, finished: &framework::Finished) -> String {
    let mut out = vec![print_config(job, matches), String::new()];
    for plan in &finished.plans {
        out.push(format!("-- {} ({})", plan.source, plan.becomes));
        out.push(plan.plan.trim_end().to_string());
        out.push(String::new());
    }
    out.push(format!("dry run of {}: {} SQL steps planned, nothing written; a run would write:", job.spec().name, finished.plans.len()));
    out.extend(finished.outputs.iter().map(|o| format!("  {}", o.url)));
    out.join("\n")
}

/// Each flag of `job` with the value a run would use and where it came from.
fn print_config(job: &dyn Job, matches: &ArgMatches) -> String {
    let specs: Vec<&ParamSpec> = COMMON_PARAMS.iter().chain(job.spec().params).collect();
    let width = specs.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut lines = vec![format!("job {}", job.spec().name)];
    for spec in specs {
        let given = || matches.get_many::<String>(spec.name).into_iter().flatten().map(String::as_str).collect::<Vec<_>>().join(",");
        let (value, source) = match matches.value_source(spec.name) {
            Some(ValueSource::EnvVariable) => (given(), format!("environment {}", env_var(spec.name))),
            Some(_) => (given(), "flag".to_string()),
            None => match spec.default {
                Some(d) => (d.to_string(), "default".to_string()),
                None if spec.required => ("(missing)".to_string(), "required".to_string()),
                None => ("(unset)".to_string(), "not given".to_string()),
            },
        };
        lines.push(format!("--{:<width$} {value}  [{source}]", spec.name));
    }
    lines.join("\n")
}

/// One line per output: where it is and how big.
pub fn describe(out: &Written) -> String {
    let rows = out.rows.map_or(String::new(), |r| format!("{} rows, ", group_thousands(r)));
    format!("{}  ({rows}{} files, {} bytes)", out.url, out.files, group_thousands(out.bytes))
}
