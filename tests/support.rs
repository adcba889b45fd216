//! Running the `fletch` binary, a local cluster, a moto (S3, DynamoDB) server and a GCS emulator in tests.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// The `fletch` under test: this build's, or `FLETCH_BIN` (benches/chaos.sh
/// runs the chaos trials on the release build).
pub fn fletch_bin() -> &'static str {
    static BIN: LazyLock<String> = LazyLock::new(|| std::env::var("FLETCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_fletch").to_string()));
    &BIN
}

/// Runs `fletch args...` with extra environment variables and returns its output.
pub fn fletch_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(fletch_bin());
    // fletch reads its flags from FLETCH_* variables too: only `env`'s count.
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("FLETCH_")) {
        command.env_remove(name);
    }
    command.args(args).env_remove("RUST_LOG").envs(env.iter().copied()).output().expect("run fletch")
}

pub fn fletch(args: &[&str]) -> Output {
    fletch_env(args, &[])
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: Output) -> String {
    assert!(o.status.success(), "fletch failed ({:?}):\n{}\n{}", o.status, stderr(&o), stdout(&o));
    stdout(&o)
}

/// Asserts that a run (`what`, for messages) exited with `code` and said `needle` on stderr.
pub fn assert_fails(r: &Output, code: i32, needle: &str, what: &str) {
    assert_eq!(r.status.code(), Some(code), "{what}: {}", stderr(r));
    assert!(stderr(r).contains(needle), "{what}: `{needle}` not in {}", stderr(r));
}

/// Runs SQL quietly, embedded or on `scheduler`, over the tables under `data_root`, as CSV.
pub fn sql_csv(scheduler: Option<&str>, data_root: &Path, sql: &str, env: &[(&str, &str)]) -> String {
    sql_output("csv", scheduler, data_root, sql, env)
}

/// Runs SQL quietly and embedded over the tables under `data_root`; one JSON object per row.
pub fn sql_json(data_root: &Path, sql: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(&sql_output("json", None, data_root, sql, &[])).unwrap()
}

fn sql_output(format: &str, scheduler: Option<&str>, data_root: &Path, sql: &str, env: &[(&str, &str)]) -> String {
    let root = data_root.to_str().unwrap();
    let mut args = vec!["sql", "-q", "--format", format, "--data-root", root, "-c", sql];
    if let Some(s) = scheduler {
        args.extend(["--scheduler", s]);
    }
    ok(fletch_env(&args, env))
}

/// A file of this repository, e.g. `tests/fixtures/events.sql`. Found when
/// the test runs: another clone sharing the target folder may have built
/// this binary, and a path compiled in would be that clone's.
pub fn repo_path(path: &str) -> String {
    format!("{}/../../{path}", std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}

/// A port nothing listens on (and, with `pair`, the next one too). Ports come
/// from a counter below the kernel's ephemeral range (32768+), so tests
/// starting clusters at the same time never pick the same ones, and ports the
/// OS hands out to clients cannot collide with them either.
pub fn free_port(pair: bool) -> u16 {
    const FIRST: u16 = 20_000;
    const COUNT: u16 = 12_000;
    static TAKEN: AtomicU16 = AtomicU16::new(0);
    // Each test process starts at its own place in the range, and wraps.
    let start = (std::process::id() % 400) as u16 * 30;
    let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
    loop {
        let taken = TAKEN.fetch_add(2, Ordering::SeqCst);
        assert!(taken < COUNT, "test ports exhausted");
        let port = FIRST + (start + taken) % COUNT;
        if free(port) && (!pair || free(port + 1)) {
            return port;
        }
    }
}

/// Waits until something listens on `addr`, showing `log` if it never does.
pub fn wait_for_port(addr: &str, log: &Path) {
    wait_for(addr, Duration::from_secs(30), || TcpStream::connect(addr).is_ok(), &[log.to_path_buf()]);
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool, logs: &[PathBuf]) {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > timeout {
            let logs: String = logs.iter().map(|p| format!("--- {}\n{}", p.display(), std::fs::read_to_string(p).unwrap_or_default())).collect();
            panic!("{what} not ready after {timeout:?}\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Child processes stopped with SIGTERM (then SIGKILL) when dropped, so a
/// failing test still shuts its servers down.
pub struct Processes {
    children: Vec<(String, Child)>,
}

impl Processes {
    /// One process, `program args...`, its output in `log`.
    pub fn start(name: &str, program: &str, args: &[String], log: &Path) -> Processes {
        Processes::start_env(name, program, args, &[], log)
    }

    /// [`Processes::start`] with `env` added to the environment.
    pub fn start_env(name: &str, program: &str, args: &[String], env: &[(&str, &str)], log: &Path) -> Processes {
        let mut procs = Processes { children: Vec::new() };
        procs.spawn(name, Command::new(program).args(args).envs(env.iter().copied()), log);
        procs
    }

    fn spawn(&mut self, name: &str, cmd: &mut Command, log: &Path) {
        let log = File::create(log).unwrap();
        let child = cmd.stdout(log.try_clone().unwrap()).stderr(log).stdin(Stdio::null()).spawn().unwrap();
        self.children.push((name.to_string(), child));
    }

    /// The process id of the process called `name`.
    pub fn pid(&self, name: &str) -> u32 {
        self.children.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no process {name}")).1.id()
    }

    /// Sends `signal` (e.g. `STOP`, `CONT`) to the process called `name`.
    pub fn signal(&self, name: &str, signal: &str) {
        let (_, child) = self.children.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no process {name}"));
        assert!(Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap().success());
    }

    /// Sends `signal` to the process called `name` and waits up to 20 s for
    /// it to exit: its exit code, or None if it had to be killed.
    pub fn stop_one(&mut self, name: &str, signal: &str) -> Option<i32> {
        self.signal(name, signal);
        let at = self.children.iter().position(|(n, _)| n == name).expect("signalled above");
        let (_, mut child) = self.children.remove(at);
        exited_within_20s(&mut child).and_then(|status| status.code())
    }

    /// Stops every process, the last started first (executors before their
    /// scheduler, so they can say goodbye to it); returns those that did not
    /// exit by themselves within 20 s of SIGTERM.
    pub fn stop(&mut self) -> Vec<String> {
        let mut forced = Vec::new();
        for (name, child) in self.children.iter_mut().rev() {
            // A process a test froze must run again to hear SIGTERM.
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            if exited_within_20s(child).is_none() {
                forced.push(name.clone());
            }
        }
        self.children.clear();
        forced
    }
}

/// `child`'s exit status if it exits within 20 s; else it is killed and None.
fn exited_within_20s(child: &mut Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().ok().flatten() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

impl Drop for Processes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A scheduler and executors of the `fletch` binary on loopback.
pub struct Cluster {
    pub scheduler: String,
    pub procs: Processes,
    scheduler_log: PathBuf,
    executor_logs: Vec<PathBuf>,
}

impl Cluster {
    pub fn start(dir: &Path, executors: usize, env: &[(&str, &str)]) -> Cluster {
        Cluster::start_with(dir, executors, env, &[], &[])
    }

    /// A cluster whose scheduler and executors also get `scheduler_flags`
    /// (e.g. `--flight-sql`) and `executor_flags`. Its SQL may use the local
    /// folder `dir` is in (the test's temporary folder).
    pub fn start_with(dir: &Path, executors: usize, env: &[(&str, &str)], scheduler_flags: &[&str], executor_flags: &[&str]) -> Cluster {
        std::fs::create_dir_all(dir).unwrap();
        let allowed = dir.parent().unwrap().to_str().unwrap().to_string();
        let mut procs = Processes { children: Vec::new() };
        let port = free_port(false);
        let scheduler = format!("127.0.0.1:{port}");
        let scheduler_log = dir.join("scheduler.log");
        procs.spawn(
            "scheduler",
            Command::new(fletch_bin())
                .args(["scheduler", "--bind", &scheduler, "--allowed-roots", &allowed])
                .args(scheduler_flags)
                .envs(env.iter().copied())
                .env("RUST_LOG", "info"),
            &scheduler_log,
        );
        wait_for("scheduler", Duration::from_secs(30), || TcpStream::connect(&scheduler).is_ok(), std::slice::from_ref(&scheduler_log));
        let mut logs = vec![scheduler_log.clone()];
        for i in 0..executors {
            let bind = format!("127.0.0.1:{}", free_port(true));
            let log = dir.join(format!("executor{i}.log"));
            let work = dir.join(format!("executor{i}"));
            procs.spawn(
                &format!("executor{i}"),
                Command::new(fletch_bin())
                    .args(["executor", "--scheduler", &scheduler, "--bind", &bind, "--concurrent-tasks", "2", "--allowed-roots", &allowed, "--work-dir"])
                    .arg(&work)
                    .args(executor_flags)
                    .envs(env.iter().copied())
                    .env("RUST_LOG", "info"),
                &log,
            );
            logs.push(log);
        }
        // The scheduler logs each registration; wait until every executor is in.
        let registered = || {
            std::fs::read_to_string(&scheduler_log).unwrap_or_default().matches("registered from").count()
        };
        wait_for("executors", Duration::from_secs(60), || registered() >= executors, &logs);
        Cluster { scheduler, procs, scheduler_log, executor_logs: logs[1..].to_vec() }
    }

    /// What the scheduler has logged so far.
    pub fn scheduler_log(&self) -> String {
        std::fs::read_to_string(&self.scheduler_log).unwrap_or_default()
    }

    /// How many tasks each executor has finished, from its log.
    pub fn finished_tasks(&self) -> Vec<usize> {
        self.executor_logs
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default().matches("Finished task").count())
            .collect()
    }
}

/// A moto server (installed by tests/setup.sh) on loopback: S3 and DynamoDB
/// APIs at one endpoint, and the AWS variables that point fletch at it.
pub struct Moto {
    pub endpoint: String,
    env: Vec<(&'static str, String)>,
    _procs: Processes,
}

pub fn venv_bin(name: &str) -> PathBuf {
    let bin = PathBuf::from(repo_path(&format!(".venv/bin/{name}")));
    assert!(bin.exists(), "{} is missing: run `bash tests/setup.sh` (tests/run.sh does) first", bin.display());
    bin
}

/// A script under tests/consumers/: a real client of fletch's outputs.
pub fn consumer(name: &str) -> String {
    repo_path(&format!("tests/consumers/{name}"))
}

/// Runs the test venv's `python args...`; returns stdout, failing the test on a non-zero exit.
pub fn python(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(venv_bin("python")).args(args).envs(env.iter().copied()).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "python {args:?} failed:\n{stderr}\n{stdout}");
    stdout.into_owned()
}

impl Moto {
    pub fn start(dir: &Path) -> Moto {
        let moto = venv_bin("moto_server");
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port(false);
        let mut procs = Processes { children: Vec::new() };
        let log = dir.join("moto.log");
        procs.spawn("moto", Command::new(&moto).args(["-H", "127.0.0.1", "-p", &port.to_string()]), &log);
        let addr = format!("127.0.0.1:{port}");
        wait_for("moto", Duration::from_secs(60), || TcpStream::connect(&addr).is_ok(), &[log]);
        let endpoint = format!("http://{addr}");
        let env = vec![
            ("AWS_ACCESS_KEY_ID", "fletch-test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "fletch-test-secret".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
        ];
        Moto { endpoint, env, _procs: procs }
    }

    pub fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    pub fn create_bucket(&self, bucket: &str) {
        let code = "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1]).create_bucket(Bucket=sys.argv[2])";
        python(&["-c", code, &self.endpoint, bucket], &self.env());
    }
}

/// A Google Cloud Storage emulator (gcp-storage-emulator, installed by
/// tests/setup.sh) on loopback holding one bucket in memory, and the variable
/// that points Google's client libraries (and fletch) at it.
pub struct GcsEmulator {
    host: String,
    _procs: Processes,
}

impl GcsEmulator {
    pub fn start(dir: &Path, bucket: &str) -> GcsEmulator {
        let emulator = venv_bin("gcp-storage-emulator");
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port(false).to_string();
        let mut procs = Processes { children: Vec::new() };
        let log = dir.join("gcs.log");
        let args = ["start", "--host", "127.0.0.1", "--port", &port, "--default-bucket", bucket, "--in-memory"];
        procs.spawn("gcs", Command::new(&emulator).args(args), &log);
        let addr = format!("127.0.0.1:{port}");
        wait_for("gcs emulator", Duration::from_secs(60), || TcpStream::connect(&addr).is_ok(), &[log]);
        GcsEmulator { host: format!("http://{addr}"), _procs: procs }
    }

    pub fn env(&self) -> Vec<(&str, &str)> {
        vec![("STORAGE_EMULATOR_HOST", self.host.as_str())]
    }
}

/// Every file under `dir`, relative, with its bytes (hidden folders included).
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A SQL file under tests/fixtures/.
pub fn fixture(name: &str) -> String {
    repo_path(&format!("tests/fixtures/{name}"))
}

/// Writes the result of tests/fixtures/<sql> as table `table`, partitioned by
/// `partition`, under `data` (through the sql-file job; `data` may hold other
/// files already).
pub fn fixture_table(data: &Path, sql: &str, table: &str, partition: &str) {
    let empty = tempfile::tempdir().unwrap();
    let (e, d, sql) = (empty.path().to_str().unwrap(), data.to_str().unwrap(), fixture(sql));
    ok(fletch(&["run", "sql-file", "-q", "--data-root", e, "--output-root", d, "--sql", &sql, "--table", table, "--partition-by", partition]));
}

/// Writes a clients_daily fixture (tests/fixtures/<sql>) and the curated
/// whitelist `whitelist` (JSON) where TAAR jobs look for them, under `dir/data`.
pub fn curated_input(dir: &Path, sql: &str, whitelist: &str) -> String {
    let data = dir.join("data");
    let at = data.join("telemetry-ml/addon_recommender/only_guids_top_200.json");
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::write(at, whitelist).unwrap();
    fixture_table(&data, sql, "clients_daily", "submission_date_s3");
    data.to_str().unwrap().to_string()
}

/// Generates clients_daily at `scale` and the AMO data (TAAR's inputs) under `dir/data`; returns that root.
pub fn generated_taar_data(dir: &Path, scale: &str) -> PathBuf {
    let data = dir.join("data");
    let d = data.to_str().unwrap();
    ok(fletch(&["gen", "clients-daily", "-q", "--output-root", d, "--scale", scale]));
    ok(fletch(&["gen", "amo", "-q", "--output-root", d]));
    data
}

/// Writes the `events` fixture table (tests/fixtures/events.sql, partitioned
/// by day) under `dir/data` and returns that data root.
pub fn sample(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    fixture_table(&data, "events.sql", "events", "day");
    data
}
