//! Logs on stderr: `RUST_LOG` filters them; `--log-format json` writes one
//! JSON object per line (`ts`, `level`, `target`, `message`) for log shippers.

use std::io::Write;

use crate::args::LogFormat;

pub fn init(format: LogFormat, default_filter: &str) {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter));
    match format {
        LogFormat::Text => builder.format_timestamp_millis(),
        LogFormat::Json => builder.format(|out, record| {
            let line = serde_json::json!({
                "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "level": record.level().as_str(),
                "target": record.target(),
                "message": record.args().to_string(),
            });
            writeln!(out, "{line}")
        }),
    };
    builder.init();
}
