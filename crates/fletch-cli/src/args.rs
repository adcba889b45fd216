//! Command-line shape of `fletch`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "fletch", version, about = "Recommendation and audience ETL as SQL + Rust UDFs on DataFusion and Ballista")]
pub struct Cli {
    /// No progress lines on stderr (logs still follow RUST_LOG).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Run a Ballista scheduler with every fletch function.
    Scheduler {
        /// Address for gRPC, REST and (with --flight-sql) Flight SQL.
        #[arg(long, default_value = "0.0.0.0:50050")]
        bind: SocketAddr,
        /// Host name executors and clients reach this scheduler by (default: the bind IP).
        #[arg(long)]
        external_host: Option<String>,
        /// Serve Arrow Flight SQL on the same port, for SQL notebooks.
        #[arg(long)]
        flight_sql: bool,
    },
    /// Run a Ballista executor with every fletch function.
    Executor {
        /// The scheduler's HOST:PORT.
        #[arg(long)]
        scheduler: String,
        /// Arrow Flight address; the executor's gRPC service takes the next port.
        #[arg(long, default_value = "0.0.0.0:50051")]
        bind: SocketAddr,
        /// Host name the scheduler and other executors reach this executor by.
        #[arg(long)]
        external_host: Option<String>,
        /// Directory for shuffle files.
        #[arg(long)]
        work_dir: PathBuf,
        /// Concurrent task slots (0: one per core).
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
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
    Gen {
        #[arg(value_parser = PossibleValuesParser::new(fletch_datagen::Dataset::ALL.iter().map(|d| d.name())))]
        dataset: String,
        /// Where to write; use it as `fletch run --data-root`.
        #[arg(long)]
        output_root: String,
        /// Size: 1.0 is the dataset's reference size (see docs/data.md).
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        scale: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// First day, YYYYMMDD (default: the dataset's own, see docs/data.md).
        #[arg(long)]
        start_date: Option<String>,
        /// Number of days (default: the dataset's own).
        #[arg(long)]
        days: Option<u32>,
    },
    /// List the jobs with their parameters, types and defaults.
    Jobs,
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
        #[arg(long)]
        output_root: String,
    },
}

#[derive(Args)]
pub struct SqlArgs {
    /// Run on the Ballista scheduler at HOST:PORT instead of embedded.
    #[arg(long)]
    pub scheduler: Option<String>,
    /// SQL file(s) to run, statements separated by `;`.
    #[arg(short, long = "file")]
    pub file: Vec<PathBuf>,
    /// SQL to run (may hold several statements).
    #[arg(short, long = "command")]
    pub command: Vec<String>,
    /// Register every Parquet table folder under this root first.
    #[arg(long)]
    pub data_root: Option<String>,
    /// Parameter NAME=VALUE or NAME:TYPE=VALUE, used as $NAME.
    #[arg(long)]
    pub param: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}
