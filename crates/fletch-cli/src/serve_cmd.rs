//! `fletch serve SERVICE`: long-lived HTTP services (fletch-service).

use fletch_engine::auth::Token;
use fletch_engine::Result;
use fletch_jobs::RunOptions;
use fletch_service::lookalike::{self, Config};

use crate::args::LookalikeServeArgs;
use crate::confine;

pub async fn lookalike(args: LookalikeServeArgs) -> Result<()> {
    let flags = [
        ("data-root", Some(args.data_root)),
        ("output-root", Some(args.output_root)),
        ("scheduler", args.scheduler),
        ("auth-token-file", args.auth_token_file),
        ("seed", Some(args.seed.to_string())),
    ];
    let run = RunOptions::from_flags(|name| flags.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone()), true)?;
    confine(&[&run.data_root, &run.output_root], &args.allowed_roots)?;
    let token = args.token_file.as_deref().map(|f| Token::read("--token-file", f)).transpose()?;
    if token.is_none() && !args.bind.ip().is_loopback() {
        log::warn!("--token-file not given: anyone who reaches {} can submit jobs", args.bind);
    }
    lookalike::serve(Config { bind: args.bind, run, max_concurrent_jobs: args.max_concurrent_jobs.max(1), max_upload_bytes: args.max_upload_bytes, token }).await
}
