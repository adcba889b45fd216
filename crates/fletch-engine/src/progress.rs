//! Step-by-step progress on stderr: name, elapsed time, rows. A step that
//! knows how much it has to do ([`Progress::counted_step`]) shows a bar on a
//! terminal and a line every tenth of the way otherwise; any step still
//! running after [`TICK`] says so periodically when stderr is not a
//! terminal (logs of CronJobs), and shows a spinner when it is. `--quiet`
//! silences all of it; logs proper go through `RUST_LOG`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// How often a running step says so when stderr is not a terminal.
pub const TICK: Duration = Duration::from_secs(30);

/// Where progress lines go: stderr, or a test's collector.
type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Progress lines, and the steps finished so far (clones share them).
#[derive(Clone)]
pub struct Progress {
    quiet: bool,
    /// Bars and spinners (stderr is a terminal), or periodic lines.
    terminal: bool,
    tick: Duration,
    start: Instant,
    sink: Sink,
    finished: Arc<Mutex<Vec<StepTiming>>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").field("quiet", &self.quiet).field("terminal", &self.terminal).finish()
    }
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
        Self {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            tick: TICK,
            start: Instant::now(),
            sink: Arc::new(|line| eprintln!("{line}")),
            finished: Arc::default(),
        }
    }

    /// Progress for a log, not a terminal: lines go to `sink`, a running
    /// step speaks every `tick`.
    pub fn to_log(tick: Duration, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self { quiet: false, terminal: false, tick, start: Instant::now(), sink: Arc::new(sink), finished: Arc::default() }
    }

    /// The steps finished so far, in order.
    pub fn finished(&self) -> Vec<StepTiming> {
        self.finished.lock().expect("finished steps").clone()
    }

    /// Starts timing a step; report it with [`Step::done`].
    pub fn step(&self, name: &str) -> Step<'_> {
        self.start_step(name, None)
    }

    /// A step of `total` `unit`s (files, items, pages), advanced with [`Step::advance`].
    pub fn counted_step(&self, name: &str, total: u64, unit: &str) -> Step<'_> {
        self.start_step(name, Some((total, unit.to_string())))
    }

    fn start_step(&self, name: &str, total: Option<(u64, String)>) -> Step<'_> {
        self.note(&format!("{name} ..."));
        let counter = Arc::new(AtomicU64::new(0));
        let live = match (self.quiet, self.terminal) {
            (true, _) => None,
            (false, true) => Some(Live::Bar(bar(name, total.as_ref()))),
            (false, false) => Some(Live::Ticker { _stop: self.ticker(name, total.clone(), counter.clone()) }),
        };
        Step { progress: self, name: name.to_string(), start: Instant::now(), total, done: counter, live }
    }

    /// A thread that says the step is still running every `tick`, until dropped.
    fn ticker(&self, name: &str, total: Option<(u64, String)>, done: Arc<AtomicU64>) -> mpsc::Sender<()> {
        let (stop, stopped) = mpsc::channel::<()>();
        let (progress, name, started) = (self.clone(), name.to_string(), Instant::now());
        std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(progress.tick) {
                let counted = total.as_ref().map_or(String::new(), |(t, unit)| format!(", {} of {} {unit}", group_thousands(done.load(Ordering::Relaxed)), group_thousands(*t)));
                progress.note(&format!("{name}: running for {}{counted}", fmt_duration(started.elapsed())));
            }
        });
        stop
    }

    /// A free-form progress line.
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            (self.sink)(&format!("[{:>8}] {msg}", fmt_duration(self.start.elapsed())));
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

fn bar(name: &str, total: Option<&(u64, String)>) -> ProgressBar {
    let bar = match total {
        Some((t, unit)) => ProgressBar::new(*t).with_style(
            ProgressStyle::with_template(&format!("{{msg}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} {{elapsed}} (eta {{eta}})")).expect("a valid template").progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template")),
    };
    bar.set_message(name.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// What shows a running step: a bar or spinner, or the ticker thread's stop switch.
enum Live {
    Bar(ProgressBar),
    /// Dropping `_stop` stops the ticker thread.
    Ticker { _stop: mpsc::Sender<()> },
}

pub struct Step<'a> {
    progress: &'a Progress,
    name: String,
    start: Instant,
    total: Option<(u64, String)>,
    done: Arc<AtomicU64>,
    live: Option<Live>,
}

impl Step<'_> {
    /// Counts `n` more units done; off a terminal, says so at every tenth of the total.
    pub fn advance(&self, n: u64) {
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        match (&self.live, &self.total) {
            (Some(Live::Bar(bar)), _) => bar.inc(n),
            (Some(Live::Ticker { .. }), Some((total, unit))) => {
                let every = (total / 10).max(1);
                if (before + n) / every > before / every {
                    self.progress.note(&format!("{}: {} of {} {unit}", self.name, group_thousands(before + n), group_thousands(*total)));
                }
            }
            _ => {}
        }
    }

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

    fn finish(mut self, counted: Option<(u64, &str)>) -> Duration {
        if let Some(Live::Bar(bar)) = self.live.take() {
            bar.finish_and_clear();
        }
        let took = self.start.elapsed();
        let detail = counted.map_or(String::new(), |(n, what)| format!(", {} {what}", group_thousands(n)));
        self.progress.note(&format!("{} done in {}{detail}", self.name, fmt_duration(took)));
        let timing = StepTiming { step: self.name.clone(), seconds: took.as_secs_f64(), count: counted.map(|(n, _)| n), unit: counted.map(|(_, w)| w.to_string()) };
        self.progress.finished.lock().expect("finished steps").push(timing);
        took
    }
}

impl Drop for Step<'_> {
    /// A step given up on (an error) clears its bar; its ticker stops with it.
    fn drop(&mut self) {
        if let Some(Live::Bar(bar)) = self.live.take() {
            bar.finish_and_clear();
        }
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

    /// Off a terminal: a line at each tenth of a counted step, and running
    /// steps speak every tick; finished steps are kept for reports.
    #[test]
    fn logs_count_tenths_and_tick_while_running() {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let collected = lines.clone();
        let progress = Progress::to_log(Duration::from_millis(100), move |l| collected.lock().unwrap().push(l.split_once("] ").unwrap().1.to_string()));
        let step = progress.counted_step("write buckets", 20, "buckets");
        for _ in 0..20 {
            step.advance(1);
        }
        step.done_counting(20, "buckets");
        let slow = progress.step("slow query");
        std::thread::sleep(Duration::from_millis(350));
        slow.done(Some(3));
        std::thread::sleep(Duration::from_millis(150));
        let lines = lines.lock().unwrap().clone();
        let tenths: Vec<&String> = lines.iter().filter(|l| l.starts_with("write buckets: ")).collect();
        assert_eq!(tenths.len(), 10, "{lines:?}");
        assert_eq!(tenths[0], "write buckets: 2 of 20 buckets");
        let ticks = lines.iter().filter(|l| l.starts_with("slow query: running for")).count();
        assert!((2..=4).contains(&ticks), "{lines:?}");
        let last = lines.last().unwrap();
        assert!(last.starts_with("slow query done in 0.3") && last.ends_with("s, 3 rows"), "{lines:?}");
        let finished: Vec<(String, Option<u64>)> = progress.finished().into_iter().map(|s| (s.step, s.count)).collect();
        assert_eq!(finished, [("write buckets".to_string(), Some(20)), ("slow query".to_string(), Some(3))]);
    }
}
