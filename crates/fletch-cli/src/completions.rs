//! `fletch completions SHELL` and `fletch man`: generated from the same
//! parsers the commands use, with each job a subcommand of `run`.

use clap::{Command, CommandFactory};

use crate::args::Cli;
use crate::{Result, run_cmd, say};

/// fletch's whole command tree: `run` gains one subcommand per job, so
/// completion offers the jobs and then each job's flags.
fn full_command() -> Command {
    Cli::command().mut_subcommand("run", |run| run.subcommands(fletch_jobs::all().iter().map(|job| run_cmd::command(*job))))
}

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut full_command(), "fletch", &mut out);
    say(String::from_utf8_lossy(&out).trim_end())
}

pub fn man() -> Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(full_command()).render(&mut out).map_err(fletch_engine::Error::Stdout)?;
    say(String::from_utf8_lossy(&out).trim_end())
}
