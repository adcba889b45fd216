//! Step-by-step progress on stderr: name, elapsed time, rows. `--quiet`
//! silences it; logs proper go through `RUST_LOG`.

use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Progress {
    quiet: bool,
    start: Instant,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self { quiet, start: Instant::now() }
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
            None => self.finish(String::new()),
        }
    }

    /// Reports the step finished with a count of `what` (rows, tables, files).
    pub fn done_counting(self, n: u64, what: &str) -> Duration {
        self.finish(format!(", {} {what}", group_thousands(n)))
    }

    fn finish(self, detail: String) -> Duration {
        let took = self.start.elapsed();
        self.progress.note(&format!("{} done in {}{detail}", self.name, fmt_duration(took)));
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
