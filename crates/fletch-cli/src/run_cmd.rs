//! `fletch run JOB [flags]`: flags come from the job's parameter specs.

use std::collections::BTreeMap;

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, Command};
use fletch_engine::output::Written;
use fletch_engine::progress::{fmt_duration, group_thousands};
use fletch_engine::{Error, Result};
use fletch_jobs::framework::{COMMON_PARAMS, ParamSpec};
use fletch_jobs::{Job, JobArgs, RunContext, RunOptions};

fn flag(spec: &ParamSpec) -> Arg {
    let arg = Arg::new(spec.name)
        .long(spec.name)
        .value_name(spec.ty.name().to_uppercase())
        .allow_negative_numbers(true)
        .help(spec.help);
    if spec.repeated { arg.action(ArgAction::Append) } else { arg.action(ArgAction::Set) }
}

fn command(job: &dyn Job) -> Command {
    Command::new(format!("fletch run {}", job.name()))
        .no_binary_name(true)
        .about(job.about())
        .args(COMMON_PARAMS.iter().chain(job.params()).map(flag))
        .arg(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("no progress lines"))
}

pub async fn run(name: &str, raw_args: &[String], quiet: bool) -> Result<()> {
    let job = fletch_jobs::find(name).expect("clap checked the job name");
    let cmd = command(job);
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
    let get = |n: &str| matches.get_one::<String>(n).map(String::as_str);
    let missing: Vec<_> = COMMON_PARAMS.iter().filter(|p| p.required && get(p.name).is_none()).map(|p| format!("--{}", p.name)).collect();
    if !missing.is_empty() {
        return Err(Error::usage(format!("fletch run {name}: missing {}", missing.join(", "))));
    }
    let opts = RunOptions::new(
        get("data-root").expect("checked"),
        get("output-root").expect("checked"),
        get("date"),
        get("seed"),
        get("scheduler"),
        quiet || matches.get_flag("quiet"),
    )?;
    let mut raw = BTreeMap::new();
    for spec in job.params() {
        if let Some(values) = matches.get_many::<String>(spec.name) {
            raw.insert(spec.name.to_string(), values.cloned().collect::<Vec<_>>());
        }
    }
    let args = JobArgs::parse(job.params(), &raw)?;

    let rc = RunContext::connect(opts).await?;
    rc.progress.note(&format!("{name}: {} on {}", rc.opts.date.format("%Y-%m-%d"), mode_name(&rc)));
    let outputs = job.run(&rc, &args).await?;
    println!("{name} finished in {}", fmt_duration(rc.progress.elapsed()));
    for out in &outputs {
        println!("  {}", describe(out));
    }
    Ok(())
}

fn mode_name(rc: &RunContext) -> String {
    match &rc.opts.mode {
        fletch_engine::session::Mode::Embedded => "embedded".into(),
        fletch_engine::session::Mode::Cluster(addr) => format!("cluster {addr}"),
    }
}

/// One line per output: where it is and how big.
pub fn describe(out: &Written) -> String {
    let rows = out.rows.map_or(String::new(), |r| format!("{} rows, ", group_thousands(r)));
    format!("{}  ({rows}{} files, {} bytes)", out.url, out.files, group_thousands(out.bytes))
}
