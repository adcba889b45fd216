//! A client's view of a cluster. Ballista's client waits for a job as long
//! as it takes; fletch also watches: it waits for an executor to register
//! (`--executor-wait`), asks the scheduler whether each job's stages still
//! complete (`--stall-timeout`), notices a scheduler that stops answering, and
//! cancels on the scheduler every job it gives up on or is stopped during.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{CancelJobParams, GetJobMetricsParams, GetJobStatusParams, job_status};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use datafusion_proto::protobuf::LogicalPlanNode;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

use crate::auth::Token;
use crate::error::{Error, Result};

/// How long a client waits for a scheduler to answer before giving up.
pub const SCHEDULER_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a watched job's state is asked for.
const POLL: Duration = Duration::from_secs(1);
/// A scheduler that has not answered this long is lost.
const SCHEDULER_SILENCE: Duration = Duration::from_secs(20);

/// How to reach and use a cluster.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    pub token: Option<Token>,
    /// How long to wait for an executor to register before failing.
    pub executor_wait: Duration,
    /// How long a job may go without completing a stage before it is cancelled.
    pub stall_timeout: Duration,
    /// How often a stalled step is run again (its outputs are staged, so it is safe).
    pub job_retries: u32,
}

impl Cluster {
    pub fn new(scheduler: &str) -> Self {
        Self {
            scheduler: scheduler.to_string(),
            token: None,
            executor_wait: Duration::from_secs(120),
            stall_timeout: Duration::from_secs(600),
            job_retries: 1,
        }
    }

    /// The cluster named by the flags `scheduler`, `auth-token-file`,
    /// `executor-wait`, `stall-timeout` and `job-retries` (`flag(name)` gives
    /// each one's value when given); `None` without `scheduler`.
    pub fn from_flags(flag: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let Some(scheduler) = flag("scheduler") else { return Ok(None) };
        let mut cluster = Self::new(&scheduler);
        let seconds = |name: &str, default: Duration| -> Result<Duration> {
            flag(name).map_or(Ok(default), |v| {
                v.parse().ok().filter(|s| *s > 0).map(Duration::from_secs).ok_or_else(|| Error::usage(format!("--{name}: expected a positive number of seconds, got `{v}`")))
            })
        };
        cluster.token = flag("auth-token-file").map(|f| Token::from_file(std::path::Path::new(&f))).transpose()?;
        cluster.executor_wait = seconds("executor-wait", cluster.executor_wait)?;
        cluster.stall_timeout = seconds("stall-timeout", cluster.stall_timeout)?;
        if let Some(r) = flag("job-retries") {
            cluster.job_retries = r.parse().ok().filter(|r| *r <= 10).ok_or_else(|| Error::usage(format!("--job-retries: expected 0 to 10, got `{r}`")))?;
        }
        Ok(Some(cluster))
    }

    /// Validates `HOST:PORT` and checks that a scheduler answers there.
    pub async fn check_scheduler(&self) -> Result<()> {
        let addr = &self.scheduler;
        let (host, port) = addr.rsplit_once(':').ok_or_else(|| Error::usage(format!("--scheduler: expected HOST:PORT, got `{addr}`")))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(Error::usage(format!("--scheduler: expected HOST:PORT, got `{addr}`")));
        }
        match tokio::time::timeout(SCHEDULER_CONNECT_TIMEOUT, SchedulerGrpcClient::connect(format!("http://{addr}"))).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Error::Cluster(format!("cannot reach the scheduler at {addr}: {}", root_cause(&e)))),
            Err(_) => Err(Error::Cluster(format!(
                "cannot reach the scheduler at {addr}: no answer within {}s",
                SCHEDULER_CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Waits until an executor has registered (the scheduler's `/readyz`),
    /// saying so every 10 s, for at most `executor_wait`.
    pub async fn wait_for_executors(&self) -> Result<()> {
        let started = Instant::now();
        let mut said = Instant::now();
        loop {
            if self.ready().await? {
                return Ok(());
            }
            if started.elapsed() >= self.executor_wait {
                return Err(Error::Cluster(format!(
                    "no executor registered with the scheduler at {} within {}s: start executors (fletch executor --scheduler {}) or raise --executor-wait",
                    self.scheduler,
                    self.executor_wait.as_secs(),
                    self.scheduler
                )));
            }
            if said.elapsed() >= Duration::from_secs(10) {
                log::warn!(
                    "waiting for an executor to register with the scheduler at {} ({}s of --executor-wait {}s)",
                    self.scheduler,
                    started.elapsed().as_secs(),
                    self.executor_wait.as_secs()
                );
                said = Instant::now();
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The scheduler's `/readyz`: whether an executor is registered.
    async fn ready(&self) -> Result<bool> {
        let fail = |e: std::io::Error| Error::Cluster(format!("cannot ask the scheduler at {} for executors: {e}", self.scheduler));
        let mut stream = tokio::time::timeout(SCHEDULER_CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&self.scheduler))
            .await
            .map_err(|_| fail(std::io::ErrorKind::TimedOut.into()))?
            .map_err(fail)?;
        let request = format!("GET /readyz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.scheduler);
        stream.write_all(request.as_bytes()).await.map_err(fail)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.map_err(fail)?;
        let status = String::from_utf8_lossy(&answer).split_whitespace().nth(1).unwrap_or_default().to_string();
        match status.as_str() {
            "200" => Ok(true),
            "503" => Ok(false),
            other => Err(Error::Cluster(format!("the scheduler at {} answered /readyz with `{other}`: is it a fletch scheduler?", self.scheduler))),
        }
    }

    async fn client(&self) -> Result<SchedulerGrpcClient<Channel>> {
        SchedulerGrpcClient::connect(format!("http://{}", self.scheduler))
            .await
            .map_err(|e| Error::Cluster(format!("lost the scheduler at {}: {}", self.scheduler, root_cause(&e))))
    }

    /// A request carrying the token, when there is one.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            request.metadata_mut().insert("authorization", token.bearer().parse().expect("a printable token"));
        }
        request
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Jobs this process has running on a cluster, to cancel when it is stopped.
static RUNNING: LazyLock<Mutex<Vec<(Cluster, String)>>> = LazyLock::new(Default::default);

/// Cancels every job this process runs on a cluster (on SIGTERM or SIGINT).
pub async fn cancel_running_jobs() {
    let jobs: Vec<_> = RUNNING.lock().expect("running jobs").drain(..).collect();
    for (cluster, job) in jobs {
        cancel(&cluster, &job).await;
    }
}

async fn cancel(cluster: &Cluster, job: &str) {
    let cancelled = async { cluster.client().await?.cancel_job(cluster.request(CancelJobParams { job_id: job.to_string() })).await.map_err(|e| Error::Cluster(e.to_string())) };
    match cancelled.await {
        Ok(_) => log::warn!("cancelled job {job} on the scheduler at {}", cluster.scheduler),
        Err(e) => log::warn!("could not cancel job {job} on the scheduler at {}: {e}", cluster.scheduler),
    }
}

/// Runs `df` to its batches; on a cluster, watched.
pub async fn collect(df: DataFrame) -> Result<Vec<RecordBatch>> {
    let Some(cluster) = df.task_ctx().session_config().get_extension::<Cluster>() else {
        return Ok(df.collect().await?);
    };
    let task_ctx = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    let run = datafusion::physical_plan::collect(plan.clone(), task_ctx);
    watched(&cluster, plan, run).await
}

/// Runs `df` as a stream of batches; on a cluster, the job is watched while
/// the stream is read.
pub async fn stream(df: DataFrame) -> Result<SendableRecordBatchStream> {
    let Some(cluster) = df.task_ctx().session_config().get_extension::<Cluster>() else {
        return Ok(df.execute_stream().await?);
    };
    let task_ctx = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    let schema = plan.schema();
    let inner = datafusion::physical_plan::execute_stream(plan.clone(), task_ctx)?;
    let running = Arc::new(Running::default());
    let watch = {
        let running = running.clone();
        Box::pin(async move { watch(&cluster, plan, &running).await })
    };
    let watched = futures::stream::unfold((inner, Some(watch), running), |(mut inner, watch, running)| async move {
        let Some(mut watch) = watch else { return None };
        tokio::select! {
            next = inner.next() => match next {
                Some(batch) => Some((batch, (inner, Some(watch), running))),
                None => {
                    running.done();
                    None
                }
            },
            problem = &mut watch => Some((Err(datafusion::error::DataFusionError::External(Box::new(problem))), (inner, None, running))),
        }
    });
    Ok(Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, watched)))
}

async fn watched(cluster: &Cluster, plan: Arc<dyn ExecutionPlan>, run: impl Future<Output = datafusion::error::Result<Vec<RecordBatch>>>) -> Result<Vec<RecordBatch>> {
    let running = Running::default();
    tokio::select! {
        done = run => {
            running.done();
            Ok(done?)
        }
        problem = watch(cluster, plan, &running) => Err(problem),
    }
}

/// Watches the job of `plan` until something is wrong with it (it never
/// returns otherwise: the caller stops watching when the job is done).
async fn watch(cluster: &Cluster, plan: Arc<dyn ExecutionPlan>, running: &Running) -> Error {
    let Some(query) = plan.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>() else {
        return std::future::pending().await;
    };
    let mut client: Option<SchedulerGrpcClient<Channel>> = None;
    let (mut job, mut stages, mut progressed, mut silent_since) = (None::<String>, 0usize, Instant::now(), None::<Instant>);
    loop {
        tokio::time::sleep(POLL).await;
        let Some(id) = job.clone().or_else(|| query.job_id().map(|j| j.to_string())) else { continue };
        if job.is_none() {
            running.add(cluster, &id);
            job = Some(id.clone());
            progressed = Instant::now();
        }
        let answer = async {
            if client.is_none() {
                client = Some(cluster.client().await?);
            }
            let c = client.as_mut().expect("connected above");
            let status = c.get_job_status(cluster.request(GetJobStatusParams { job_id: id.clone() })).await.map_err(|e| Error::Cluster(e.to_string()))?;
            let is_running = matches!(status.into_inner().status.and_then(|s| s.status), Some(job_status::Status::Running(_)));
            let done = match is_running {
                true => c.get_job_metrics(cluster.request(GetJobMetricsParams { job_id: id.clone() })).await.map(|m| m.into_inner().stages.len()).unwrap_or(stages),
                false => stages,
            };
            Ok::<_, Error>((is_running, done))
        };
        match answer.await {
            Ok((is_running, done)) => {
                silent_since = None;
                if done != stages || !is_running {
                    (stages, progressed) = (done, Instant::now());
                } else if progressed.elapsed() >= cluster.stall_timeout {
                    running.done();
                    cancel(cluster, &id).await;
                    return Error::Stalled(format!(
                        "job {id} on the scheduler at {} completed no stage for {}s (--stall-timeout); it was cancelled",
                        cluster.scheduler,
                        cluster.stall_timeout.as_secs()
                    ));
                }
            }
            Err(e) => {
                client = None;
                let since = *silent_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= SCHEDULER_SILENCE {
                    running.done();
                    return Error::Cluster(format!("lost the scheduler at {} while it ran job {id}: {e}", cluster.scheduler));
                }
            }
        }
    }
}

/// A watched job's entry in [`RUNNING`]: removed once the job is done or
/// given up; a query dropped before (a signal) leaves it for
/// [`cancel_running_jobs`].
#[derive(Default)]
struct Running(Mutex<Option<String>>);

impl Running {
    fn add(&self, cluster: &Cluster, job: &str) {
        RUNNING.lock().expect("running jobs").push((cluster.clone(), job.to_string()));
        *self.0.lock().expect("job") = Some(job.to_string());
    }

    fn done(&self) {
        if let Some(job) = self.0.lock().expect("job").take() {
            RUNNING.lock().expect("running jobs").retain(|(_, j)| *j != job);
        }
    }
}
