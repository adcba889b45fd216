//! Test hooks: faults injected at named points, so tests can reproduce a
//! crash or a slow step exactly where it matters (a commit half done).
//! `FLETCH_FAULTS=point=action[,point=action...]`, where action is `abort`
//! (the process dies at once, as on SIGKILL) or `sleep:SECONDS`. Unset in
//! production; docs/operations.md lists the points.

use std::time::Duration;

/// Acts on the fault set for `point`, if any.
pub async fn at(point: &str) {
    let Ok(faults) = std::env::var("FLETCH_FAULTS") else { return };
    for fault in faults.split(',') {
        match fault.split_once('=') {
            Some((p, "abort")) if p == point => {
                log::warn!("fault injected at {point}: aborting");
                std::process::abort();
            }
            Some((p, action)) if p == point => {
                if let Some(seconds) = action.strip_prefix("sleep:").and_then(|s| s.parse::<f64>().ok()) {
                    log::warn!("fault injected at {point}: sleeping {seconds}s");
                    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                }
            }
            _ => {}
        }
    }
}
