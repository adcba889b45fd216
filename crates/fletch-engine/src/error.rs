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
    /// A job on a cluster stopped making progress and was cancelled; running
    /// its step again is safe (outputs are staged): exit 1.
    Stalled(String),
    /// Writing results to stdout failed; a reader that closed the pipe
    /// (`fletch sql ... | head`) is no failure: exit 0.
    Stdout(std::io::Error),
    /// Reading or writing an object store or local file: exit 1.
    Io(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
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
            Error::Usage(m) | Error::Input(m) | Error::Cluster(m) | Error::Io(m) | Error::Busy(m) | Error::Stalled(m) => f.write_str(m),
            // DataFusion wraps errors in layers ("External error: Execution error: ...");
            // the innermost one is the message that helps.
            Error::Engine(e) => write!(f, "{}", e.find_root().to_string().trim()),
            Error::Sql { source, error } => write!(f, "{source}: {}", error.find_root().to_string().trim()),
            Error::Stdout(e) => write!(f, "cannot write to stdout: {e}"),
        }
    }
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
    fn from(e: DataFusionError) -> Self {
        Error::Engine(e)
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
