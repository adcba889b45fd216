//! One error type whose variants decide the exit code and the message users see.

use std::fmt;

use datafusion::error::DataFusionError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// Bad flag or parameter value: exit 2, like a clap usage error.
    Usage(String),
    /// A missing or malformed input (table, file, column): exit 1.
    Input(String),
    /// The scheduler could not be reached or refused us: exit 1.
    Cluster(String),
    /// Anything the engine reported while planning or running: exit 1.
    Engine(DataFusionError),
    /// A SQL statement that failed: where it came from (file, statement), and why.
    Sql { source: String, error: DataFusionError },
    /// Another run holds the output root's lease for this job: exit 1.
    Busy(String),
    /// A job on a cluster stalled (it was cancelled) or lost results with an
    /// executor; running its step again is safe (outputs are staged): exit 1.
    Interrupted(String),
    /// Writing results to stdout failed; a reader that closed the pipe
    /// (`fletch sql ... | head`) is no failure: exit 0.
    Stdout(std::io::Error),
    /// Reading or writing an object store or local file: exit 1.
    Io(String),
    /// A scheduler or executor stopped by SIGINT (exit 130) or SIGTERM (143)
    /// once it had shut down cleanly.
    Stopped(crate::signals::Stop),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Stopped(stop) => stop.exit_code(),
            Error::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
            _ => 1,
        }
    }
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }
    pub fn io(msg: impl Into<String>) -> Self {
        Error::Io(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Input(m) | Error::Cluster(m) | Error::Io(m) | Error::Busy(m) | Error::Interrupted(m) => f.write_str(m),
            // DataFusion wraps errors in layers ("External error: Execution error: ...");
            // the innermost one is the message that helps.
            Error::Engine(e) => write!(f, "{}", root_message(e)),
            Error::Sql { source, error } => write!(f, "{source}: {}", root_message(error)),
            Error::Stdout(e) => write!(f, "cannot write to stdout: {e}"),
            Error::Stopped(stop) => write!(f, "stopped by {}", stop.name()),
        }
    }
}

/// The innermost message of `e`, with a cluster job's failure made readable.
fn root_message(e: &DataFusionError) -> String {
    let root = e.find_root().to_string();
    let message = job_failure(&root).unwrap_or_else(|| root.trim().to_string());
    if message.contains("Resources exhausted") || message.contains("ResourcesExhausted") {
        // Sorts and aggregations spill; a hash join's build side and open Parquet writers cannot.
        return format!("{message}\nthe process's memory budget is too small for this step: raise --memory-limit (FLETCH_MEMORY_LIMIT; an executor's own on a cluster)");
    }
    message
}

/// A Ballista job failure says what failed as the Debug text of the task's
/// error (`Job J failed: Job failed due to stage S failed: Task failed due
/// to runtime execution error: DataFusionError(Shared(External(...)))`).
/// This keeps the job, the stage, and the message (and path) inside.
fn job_failure(message: &str) -> Option<String> {
    let (head, rest) = message.split_once(" failed: Job failed due to stage ")?;
    let job = head.rsplit_once("Job ")?.1;
    let (stage, rest) = rest.split_once(" failed: ")?;
    let attempts = rest.split_once(" failed ").and_then(|(_, r)| r.split_once(" times")).map(|(n, _)| format!(", {n} attempts")).unwrap_or_default();
    let mut reason = rest.rsplit_once("most recent failure reason: ").map_or(rest, |(_, r)| r).trim().to_string();
    if let Some(quoted) = reason.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        reason = quoted.replace("\\\"", "\"").replace("\\\\", "\\");
    }
    let debug = reason.split_once(" error: ").map_or(reason.as_str(), |(_, d)| d);
    Some(format!("job {job} failed in stage {stage}{attempts}: {}", innermost(debug)))
}

/// The message inside nested `Variant(...)` wrappers: a string's text, or a
/// struct's `message` (with its `path`, as I/O errors carry them).
fn innermost(debug: &str) -> String {
    let mut text = debug.trim();
    while let Some(open) = text.find('(').filter(|&i| i > 0 && text[..i].chars().all(char::is_alphanumeric) && text.ends_with(')')) {
        text = &text[open + 1..text.len() - 1];
    }
    if let Some(string) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return string.replace("\\\"", "\"");
    }
    match (debug_field(text, "message"), debug_field(text, "path")) {
        (Some(message), Some(path)) => format!("{message}: {}", path.rsplit_once('#').filter(|(_, n)| n.chars().all(|c| c.is_ascii_digit())).map_or(path, |(p, _)| p)),
        (Some(message), None) => message.to_string(),
        _ => text.to_string(),
    }
}

/// The string field `name` of the innermost struct in `debug`, a value's
/// Debug text (`Status { code: .., message: "why" }` gives `why`).
pub(crate) fn debug_field<'a>(debug: &'a str, name: &str) -> Option<&'a str> {
    let start = debug.rfind(&format!("{name}: \""))? + name.len() + 3;
    debug[start..].split('"').next()
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Engine(e) | Error::Sql { error: e, .. } => Some(e),
            Error::Stdout(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DataFusionError> for Error {
    /// One of ours that passed through DataFusion (a stream's error) comes back as itself.
    fn from(e: DataFusionError) -> Self {
        match e {
            DataFusionError::External(inner) => match inner.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(inner) => Error::Engine(DataFusionError::External(inner)),
            },
            e => Error::Engine(e),
        }
    }
}

impl From<object_store::Error> for Error {
    fn from(e: object_store::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        Error::Engine(DataFusionError::ArrowError(Box::new(e), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_job_failures_keep_the_inner_message() {
        let cast = r#"Execution error: Job 038HNXFY76000 failed: Job failed due to stage 1 failed: Task failed due to runtime execution error: DataFusionError(Shared(External(ArrowError(CastError("Cannot cast string 'x1' to value of Int32 type")))))"#;
        assert_eq!(job_failure(cast).unwrap(), "job 038HNXFY76000 failed in stage 1: Cannot cast string 'x1' to value of Int32 type");
        let io = r#"Execution error: Job 038HNXRWJG000 failed: Job failed due to stage 1 failed: Task 0 in Stage 1 failed 4 times, fail the stage, most recent failure reason: "Task failed due to IO error: DataFusionError(Shared(External(DataFusionError(IoError(Custom { kind: Other, error: Generic { store: \"LocalFileSystem\", source: UnableToOpenFile { source: Os { code: 20, kind: NotADirectory, message: \"Not a directory\" }, path: \"/tmp/t/part.parquet/x.parquet#1\" } } })))))""#;
        assert_eq!(job_failure(io).unwrap(), "job 038HNXRWJG000 failed in stage 1, 4 attempts: Not a directory: /tmp/t/part.parquet/x.parquet");
        assert_eq!(job_failure("Execution error: Divide by zero"), None);
    }
}
