//! What a job declares about itself: its name, summary, flags and outputs.

use fletch_engine::params::ParamType;

/// A job's declaration: one `const` per job, read by `fletch jobs`, `fletch
/// run JOB --help` and the docs.
#[derive(Debug)]
pub struct JobSpec {
    pub name: &'static str,
    /// One line for `fletch jobs`.
    pub summary: &'static str,
    /// The job's own flags (the common ones are [`COMMON_PARAMS`]).
    pub params: &'static [ParamSpec],
    /// What the job writes under the output root.
    pub outputs: &'static [OutputSpec],
}

/// One job-specific flag (`--name`).
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    /// Shown by `fletch jobs`; applied when the flag is absent.
    pub default: Option<&'static str>,
    pub required: bool,
    /// The flag may be given several times.
    pub repeated: bool,
    pub help: &'static str,
}

impl ParamSpec {
    pub const fn new(name: &'static str, ty: ParamType, help: &'static str) -> Self {
        Self { name, ty, default: None, required: false, repeated: false, help }
    }
    pub const fn default(self, default: &'static str) -> Self {
        Self { default: Some(default), ..self }
    }
    pub const fn required(self) -> Self {
        Self { required: true, ..self }
    }
    pub const fn repeated(self) -> Self {
        Self { repeated: true, ..self }
    }
}

/// One output a job declares.
#[derive(Clone, Copy, Debug)]
pub struct OutputSpec {
    /// Path under the output root; `<flag>` marks a part set by a flag.
    pub path: &'static str,
    pub format: OutputFormat,
    pub about: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// A Parquet table folder, optionally Hive-partitioned.
    Parquet,
    /// A JSON file and its dated copy `<name><YYYYMMDD>.json`.
    Json,
    /// A folder of TFRecord files of `tf.train.Example` records.
    TfRecord,
    /// One file (a JSON document, a Markdown report).
    File,
}

impl OutputFormat {
    pub fn describe(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "Parquet table",
            OutputFormat::Json => "JSON + dated copy",
            OutputFormat::TfRecord => "TFRecord files",
            OutputFormat::File => "file",
        }
    }
}

/// The flags every `fletch run JOB` takes.
pub const COMMON_PARAMS: &[ParamSpec] = &[
    ParamSpec::new("data-root", ParamType::String, "where input tables live (path, file://, s3://, gs://, memory://)").required(),
    ParamSpec::new("output-root", ParamType::String, "where outputs go (path, file://, s3://, gs://, memory://)").required(),
    ParamSpec::new("date", ParamType::Date, "the run date, YYYYMMDD; defaults to today (UTC)"),
    ParamSpec::new("seed", ParamType::Int, "seed for every random choice").default("42"),
    ParamSpec::new("skip-unreadable-files", ParamType::Bool, "leave out input files that are not readable Parquet, naming them in the log (else the run fails naming them)").default("false"),
    ParamSpec::new("allowed-roots", ParamType::String, "comma-separated local folders SQL may read and write besides the data and output roots"),
    ParamSpec::new("scheduler", ParamType::String, "HOST:PORT of a Ballista scheduler; embedded when absent"),
    ParamSpec::new("auth-token-file", ParamType::String, "file holding the scheduler's token (its --auth-token-file)"),
    ParamSpec::new("executor-wait", ParamType::Int, "seconds to wait for an executor to register with the scheduler").default("120"),
    ParamSpec::new("stall-timeout", ParamType::Int, "seconds a cluster job may complete no stage before it is cancelled").default("600"),
    ParamSpec::new("job-retries", ParamType::Int, "how often a step whose cluster job stalled or lost an executor runs again").default("1"),
    ParamSpec::new("memory-limit", ParamType::String, "memory embedded queries may hold before sorts and aggregations spill: bytes (8G, 512M), a share of the machine's or container's memory, or none [default: fletch's --memory-limit, 75%]"),
    ParamSpec::new("spill-dir", ParamType::String, "where embedded queries spill [default: the OS's temp directory]"),
];
