//! Command-line shape of `fletch`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "fletch",
    version,
    long_version = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("FLETCH_GIT_REVISION"), ")\n", env!("FLETCH_ENGINE_VERSIONS")),
    about = "Recommendation and audience ETL as SQL + Rust UDFs on DataFusion and Ballista"
)]
pub struct Cli {
    /// No progress lines on stderr (logs still follow RUST_LOG).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Logs on stderr as text lines or as JSON objects (one per line).
    #[arg(long, global = true, value_enum, env = "FLETCH_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Memory this process's queries may hold before sorts and aggregations
    /// spill to disk: bytes (8G, 512M), a share of the machine's or the
    /// container's memory (75%), or `none`.
    // The ids are the jobs' flag names, so that completions can merge them.
    #[arg(id = "memory-limit", long, value_name = "SIZE", global = true, env = "FLETCH_MEMORY_LIMIT", default_value = fletch_engine::memory::DEFAULT_LIMIT)]
    pub memory_limit: String,
    /// Where queries spill (default: an executor's --work-dir/spill, else the OS's temp directory).
    #[arg(id = "spill-dir", long, value_name = "DIR", global = true, env = "FLETCH_SPILL_DIR")]
    pub spill_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Run a Ballista scheduler with every fletch function.
    Scheduler {
        /// Address for the scheduler's gRPC service and (with --flight-sql)
        /// Flight SQL. Loopback by default: bind other interfaces explicitly.
        #[arg(long, env = "FLETCH_BIND", default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
        /// Host name executors and clients reach this scheduler by (default: the bind IP).
        #[arg(long, env = "FLETCH_EXTERNAL_HOST")]
        external_host: Option<String>,
        /// Serve Arrow Flight SQL on the same port, for SQL notebooks.
        #[arg(long, env = "FLETCH_FLIGHT_SQL")]
        flight_sql: bool,
        /// Seconds without a heartbeat after which an executor counts as lost
        /// and its tasks run again on the others (executors beat every 5 s).
        #[arg(long, env = "FLETCH_EXECUTOR_TIMEOUT", default_value_t = 30)]
        executor_timeout: u64,
        /// A file holding a token every client and executor must present;
        /// without it, anyone who reaches the port can run SQL.
        #[arg(long, env = "FLETCH_AUTH_TOKEN_FILE")]
        auth_token_file: Option<PathBuf>,
        /// Comma-separated local folders SQL may read and write (none by default).
        #[arg(long, env = "FLETCH_ALLOWED_ROOTS", default_value = "")]
        allowed_roots: String,
    },
    /// Run a Ballista executor with every fletch function.
    Executor {
        /// The scheduler's HOST:PORT.
        #[arg(long, env = "FLETCH_SCHEDULER")]
        scheduler: String,
        /// Arrow Flight address; the executor's gRPC service takes the next
        /// port. Loopback by default: bind other interfaces explicitly.
        #[arg(long, env = "FLETCH_BIND", default_value = "127.0.0.1:50051")]
        bind: SocketAddr,
        /// Host name the scheduler and other executors reach this executor by.
        #[arg(long, env = "FLETCH_EXTERNAL_HOST")]
        external_host: Option<String>,
        /// Directory for shuffle files.
        #[arg(long, env = "FLETCH_WORK_DIR")]
        work_dir: PathBuf,
        /// Serve `/healthz` and `/readyz` over HTTP here (Kubernetes probes);
        /// readiness follows the heartbeats to the scheduler.
        #[arg(long, env = "FLETCH_HEALTH_BIND")]
        health_bind: Option<SocketAddr>,
        /// Concurrent task slots (0: one per core).
        #[arg(long, env = "FLETCH_CONCURRENT_TASKS", default_value_t = 0)]
        concurrent_tasks: usize,
        /// Seconds to keep trying to reach the scheduler at startup before exiting.
        #[arg(long, env = "FLETCH_SCHEDULER_WAIT", default_value_t = 120)]
        scheduler_wait: u64,
        /// A file holding the scheduler's token (its --auth-token-file).
        #[arg(long, env = "FLETCH_AUTH_TOKEN_FILE")]
        auth_token_file: Option<PathBuf>,
        /// Comma-separated local folders SQL may read and write (none by default).
        #[arg(long, env = "FLETCH_ALLOWED_ROOTS", default_value = "")]
        allowed_roots: String,
    },
    /// Run SQL with every fletch function: -f FILE, -c SQL, or interactively.
    Sql(SqlArgs),
    /// Run a job (see `fletch jobs`); `fletch run JOB --help` lists its flags.
    Run {
        #[arg(value_parser = PossibleValuesParser::new(fletch_jobs::all().iter().map(|j| j.spec().name)))]
        job: String,
        /// The job's flags.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Generate a synthetic input dataset under --output-root (see docs/data.md).
    Gen(GenArgs),
    /// Run a long-lived HTTP service whose jobs run embedded or on a cluster.
    Serve {
        #[command(subcommand)]
        service: Service,
    },
    /// List the jobs with their parameters, types and defaults.
    Jobs {
        #[arg(long, value_enum, default_value_t = Summary::Text)]
        format: Summary,
    },
    /// Print the reference of every fletch SQL function (Markdown).
    Functions,
    /// Generate a small sample and run every job on it embedded.
    Quickstart {
        /// Where the sample data and the outputs go.
        #[arg(long, default_value = "fletch-quickstart")]
        dir: PathBuf,
    },
    /// Finish commits that killed runs left half done, and remove what they
    /// staged, for every job not running now under the output root.
    Repair {
        #[arg(long, env = "FLETCH_OUTPUT_ROOT")]
        output_root: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    /// covering every job's flags: `source <(fletch completions bash)`.
    Completions { shell: clap_complete::Shell },
    /// Print fletch's man page (roff): `fletch man > fletch.1`.
    Man,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Summary {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct GenArgs {
    #[arg(value_parser = PossibleValuesParser::new(fletch_datagen::Dataset::ALL.iter().map(|d| d.name())))]
    pub dataset: String,
    /// Where to write; use it as `fletch run --data-root`.
    #[arg(long)]
    pub output_root: String,
    /// Size: 1.0 is the dataset's reference size (see docs/data.md).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub scale: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First day, YYYYMMDD (default: the dataset's own, see docs/data.md).
    #[arg(long)]
    pub start_date: Option<String>,
    /// Number of days (default: the dataset's own).
    #[arg(long)]
    pub days: Option<u32>,
    /// The summary on stdout: text, or one JSON object.
    #[arg(long, value_enum, default_value_t = Summary::Text)]
    pub format: Summary,
}

#[derive(Subcommand)]
pub enum Service {
    /// The lookalike audience service: upload a seed audience, poll the job,
    /// download the extended audience (docs/lookalike-service.md).
    Lookalike(LookalikeServeArgs),
}

#[derive(Args)]
pub struct LookalikeServeArgs {
    /// Address of the HTTP API. Loopback by default: bind other interfaces explicitly.
    #[arg(long, env = "FLETCH_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Where the lookalike pipeline's tables are (lookalike_similarity,
    /// lookalike_score, lookalike_logs): the output root of its jobs.
    #[arg(long, env = "FLETCH_DATA_ROOT")]
    pub data_root: String,
    /// Where each job writes, under `<output-root>/<job id>/`: its seed
    /// files, job record and extended audience.
    #[arg(long, env = "FLETCH_OUTPUT_ROOT")]
    pub output_root: String,
    /// Run the jobs on the Ballista scheduler at HOST:PORT instead of embedded.
    #[arg(long, env = "FLETCH_SCHEDULER")]
    pub scheduler: Option<String>,
    /// File holding the scheduler's token (its --auth-token-file).
    #[arg(long, env = "FLETCH_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<String>,
    /// A file holding the token every request but /healthz must send as
    /// `authorization: Bearer <token>`; without it, anyone who reaches the port can submit jobs.
    #[arg(long, env = "FLETCH_SERVICE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Jobs running at once; later ones wait in submission order.
    #[arg(long, env = "FLETCH_MAX_CONCURRENT_JOBS", default_value_t = 2)]
    pub max_concurrent_jobs: usize,
    /// The largest upload accepted (bytes); larger ones get a 400.
    #[arg(long, env = "FLETCH_MAX_UPLOAD_BYTES", default_value_t = 64 << 20)]
    pub max_upload_bytes: usize,
    /// Seed of every random choice of the jobs (the seeds chosen from a keyword).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Comma-separated local folders SQL may read and write besides the two roots.
    #[arg(long, env = "FLETCH_ALLOWED_ROOTS", default_value = "")]
    pub allowed_roots: String,
}

#[derive(Args)]
pub struct SqlArgs {
    /// Run on the Ballista scheduler at HOST:PORT instead of embedded.
    #[arg(long, env = "FLETCH_SCHEDULER")]
    pub scheduler: Option<String>,
    /// File holding the scheduler's token (its --auth-token-file).
    #[arg(long, env = "FLETCH_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<String>,
    /// Seconds to wait for an executor to register with the scheduler.
    #[arg(long)]
    pub executor_wait: Option<u64>,
    /// Seconds a cluster job may complete no stage before it is cancelled.
    #[arg(long)]
    pub stall_timeout: Option<u64>,
    /// SQL file(s) to run, statements separated by `;`.
    #[arg(short, long = "file")]
    pub file: Vec<PathBuf>,
    /// SQL to run (may hold several statements).
    #[arg(short, long = "command")]
    pub command: Vec<String>,
    /// Register every Parquet table folder under this root first.
    #[arg(long, env = "FLETCH_DATA_ROOT")]
    pub data_root: Option<String>,
    /// Leave out files under --data-root that are not readable Parquet, naming them in the log.
    #[arg(long)]
    pub skip_unreadable_files: bool,
    /// Comma-separated local folders SQL may read and write besides --data-root.
    #[arg(long, env = "FLETCH_ALLOWED_ROOTS", default_value = "")]
    pub allowed_roots: String,
    /// Parameter NAME=VALUE or NAME:TYPE=VALUE, used as $NAME.
    #[arg(long)]
    pub param: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Rows printed per result (0: all); default 40 when stdout is a
    /// terminal, all when it is piped.
    #[arg(long)]
    pub maxrows: Option<usize>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}
