//! `GET /metrics`: Prometheus' text format, from the job records.

use std::fmt::Write;

use super::jobs::{JobRecord, Status};

const STATUSES: [Status; 4] = [Status::Queued, Status::Running, Status::Finished, Status::Failed];

pub fn render(records: &[JobRecord]) -> String {
    let mut out = String::new();
    out.push_str("# HELP fletch_lookalike_jobs Audience jobs under the output root, by status.\n# TYPE fletch_lookalike_jobs gauge\n");
    for status in STATUSES {
        let _ = writeln!(out, "fletch_lookalike_jobs{{status=\"{status:?}\"}} {}", records.iter().filter(|r| r.status == status).count());
    }
    summary(&mut out, records, "fletch_lookalike_job_run_seconds", "Seconds from a job's start to its end.", |r| JobRecord::seconds(r.started.as_deref(), r.finished.as_deref()));
    summary(&mut out, records, "fletch_lookalike_job_queued_seconds", "Seconds a job waited for a slot.", |r| JobRecord::seconds(Some(&r.submitted), r.started.as_deref()));
    out
}

/// A summary (sum and count) of `span` over the ended jobs, by status.
fn summary(out: &mut String, records: &[JobRecord], name: &str, help: &str, span: fn(&JobRecord) -> Option<f64>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} summary");
    for status in [Status::Finished, Status::Failed] {
        let spans: Vec<f64> = records.iter().filter(|r| r.status == status).filter_map(span).collect();
        let _ = writeln!(out, "{name}_sum{{status=\"{status:?}\"}} {}", spans.iter().sum::<f64>());
        let _ = writeln!(out, "{name}_count{{status=\"{status:?}\"}} {}", spans.len());
    }
}
