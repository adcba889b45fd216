//! Step-by-step progress on stderr: name, elapsed time, rows. `--quiet`
//! silences it; logs proper go through `RUST_LOG`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Progress lines, and the steps finished so far (clones share them).
#[derive(Clone, Debug)]
pub struct Progress {
    quiet: bool,
    start: Instant,
    finished: Arc<Mutex<Vec<StepTiming>>>,
}

/// A finished step, for machine-readable reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepTiming {
    pub step: String,
    pub seconds: f64,
    /// What it produced, when counted (`rows`, `outputs`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self { quiet, start: Instant::now(), finished: Arc::default() }
    }

    /// The steps finished so far, in order.
    pub fn finished(&self) -> Vec<StepTiming> {
        self.finished.lock().expect("finished steps").clone()
    }

    /// Starts timing a step; report it with [`Step::done`].
    pub fn step(&self, name: &str) -> Step<'_> {
        self.note(&format!("{name} ..."));
        Step { progress: self, name: name.to_string(), start: Instant::now() }
    }

    /// A free-form progress line.
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("[{:>8}] {msg}", fmt_duration(self.start.elapsed()));
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

pub struct Step<'a> {
    progress: &'a Progress,
    name: String,
    start: Instant,
}

impl Step<'_> {
    /// Reports the step finished, with the rows it produced if known.
    pub fn done(self, rows: Option<u64>) -> Duration {
        match rows {
            Some(n) => self.done_counting(n, "rows"),
            None => self.finish(None),
        }
    }

    /// Reports the step finished with a count of `what` (rows, tables, files).
    pub fn done_counting(self, n: u64, what: &str) -> Duration {
        self.finish(Some((n, what)))
    }

    fn finish(self, counted: Option<(u64, &str)>) -> Duration {
        let took = self.start.elapsed();
        let detail = counted.map_or(String::new(), |(n, what)| format!(", {} {what}", group_thousands(n)));
        self.progress.note(&format!("{} done in {}{detail}", self.name, fmt_duration(took)));
        let timing = StepTiming { step: self.name, seconds: took.as_secs_f64(), count: counted.map(|(n, _)| n), unit: counted.map(|(_, w)| w.to_string()) };
        self.progress.finished.lock().expect("finished steps").push(timing);
        took
    }
}

pub fn fmt_duration(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(44_946_000), "44,946,000");
    }
}
