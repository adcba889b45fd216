//! Ballista's scheduler gRPC service with two of its calls held open until
//! there is news. Ballista 55's pulling executors ask for work and, told
//! there is none, ask again 50 ms later; its client asks for a job's status
//! and, told it runs, asks again 50 ms later. Every stage of every job paid
//! both waits: lookalike-prepare took 43.2 s on a local cluster pulling,
//! 40.6 s with these holds and 37.5 s pushing (docs/operations.md). Here an
//! idle executor's poll waits on the scheduler for the next runnable stage
//! or job, and a status request for the next change of its job's status,
//! each for at most [`HOLD`]. Every other call, and every poll from an
//! executor with tasks still running (its next poll carries their results),
//! is Ballista's own.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use ballista_core::serde::protobuf::executor_resource::Resource;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpc;
use ballista_core::serde::protobuf::{self as pb, ExecutorHeartbeat, executor_status, job_status};
use ballista_scheduler::cluster::{JobState, JobStateEvent};
use ballista_scheduler::config::OnWorkAvailableFn;
use futures::StreamExt;
use tokio::sync::Notify;
use tokio::time::Instant;
use tonic::{Request, Response, Status};

use crate::error::{Error, Result};
use crate::flight_sql::Scheduler;

/// The longest a poll or a status request is held. Each poll is also the
/// executor's heartbeat, so this stays far below its timeout; the scheduler
/// says when work appears, so the hold only runs out when nothing happens.
pub const HOLD: Duration = Duration::from_secs(1);

/// Wake-ups for held calls: `work` when a job or a stage becomes runnable
/// (give its callback to the scheduler's config), `jobs` when a job's status
/// changes ([`Wakeups::follow_jobs`]).
#[derive(Clone, Default)]
pub struct Wakeups {
    work: Arc<Notify>,
    jobs: Arc<Notify>,
}

impl Wakeups {
    /// For `SchedulerConfig::with_on_work_available`.
    pub fn on_work_available(&self) -> OnWorkAvailableFn {
        let work = self.work.clone();
        Arc::new(move |_| work.notify_waiters())
    }

    /// Wakes held status requests whenever the scheduler saves a job's status.
    pub async fn follow_jobs(&self, jobs: &Arc<dyn JobState>) -> Result<()> {
        let mut events = jobs.job_state_events().await.map_err(|e| Error::Cluster(format!("scheduler: cannot watch jobs: {e}")))?;
        let notify = self.jobs.clone();
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let JobStateEvent::JobUpdated { .. } = event {
                    notify.notify_waiters();
                }
            }
        });
        Ok(())
    }
}

/// The scheduler's gRPC service with held polls and status requests.
pub struct LongPoll {
    inner: Scheduler,
    wakeups: Wakeups,
}

impl LongPoll {
    pub fn new(inner: Scheduler, wakeups: Wakeups) -> Self {
        Self { inner, wakeups }
    }

    fn alive(&self, executor: &str) -> bool {
        alive(self.inner.state.executor_manager.get_executor_hearbeat(executor))
    }
}

/// Whether the scheduler still counts an executor as alive (as Ballista's
/// own check does: pulling executors' heartbeats carry no status): one that
/// said it stopped while its poll was held must not be handed tasks.
fn alive(heartbeat: Option<ExecutorHeartbeat>) -> bool {
    heartbeat.is_some_and(|h| {
        !matches!(
            h.status.and_then(|s| s.status),
            Some(executor_status::Status::Dead(_) | executor_status::Status::Terminating(_))
        )
    })
}

/// An executor with every task slot free: once the results its poll carries
/// are recorded it has nothing left to report, so holding its poll delays
/// nothing (an executor with a task running reports it on its next poll).
fn idle(params: &pb::PollWorkParams) -> bool {
    let vcores = params.metadata.as_ref().and_then(|m| m.specification.as_ref()).and_then(|s| {
        s.resources.iter().find_map(|r| match r.resource {
            Some(Resource::Vcores(n)) => Some(n),
            None => None,
        })
    });
    vcores.is_some_and(|n| n > 0 && n == params.num_free_vcores)
}

/// Anything for the executor to do.
fn has_work(result: &pb::PollWorkResult) -> bool {
    !result.tasks.is_empty() || !result.jobs_to_clean.is_empty()
}

/// A job still queued or running, whose status may yet change.
fn unsettled(result: &pb::GetJobStatusResult) -> bool {
    matches!(
        result.status.as_ref().and_then(|s| s.status.as_ref()),
        Some(job_status::Status::Queued(_) | job_status::Status::Running(_))
    )
}

/// Asks until `is_news` says the answer is news, waiting on `news` in
/// between, for at most [`HOLD`]; gives the last answer.
async fn hold<T, Fut>(news: &Notify, mut ask: impl FnMut() -> Fut, is_news: impl Fn(&T) -> bool) -> std::result::Result<T, Status>
where
    Fut: Future<Output = std::result::Result<T, Status>>,
{
    let deadline = Instant::now() + HOLD;
    loop {
        // Listening before asking: news in between still wakes this call.
        let mut woken = pin!(news.notified());
        woken.as_mut().enable();
        let answer = ask().await?;
        if is_news(&answer) || tokio::time::timeout_at(deadline, woken).await.is_err() {
            return Ok(answer);
        }
    }
}

#[tonic::async_trait]
impl SchedulerGrpc for LongPoll {
    type ExecuteQueryPushStream = <Scheduler as SchedulerGrpc>::ExecuteQueryPushStream;

    async fn poll_work(&self, request: Request<pb::PollWorkParams>) -> std::result::Result<Response<pb::PollWorkResult>, Status> {
        if !idle(request.get_ref()) {
            return self.inner.poll_work(request).await;
        }
        let params = request.get_ref();
        let again = pb::PollWorkParams { metadata: params.metadata.clone(), num_free_vcores: params.num_free_vcores, task_status: Vec::new() };
        let executor = again.metadata.as_ref().map(|m| m.id.clone()).unwrap_or_default();
        // Ballista reads the executor's address from the connection when its metadata has none.
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().cloned();
        let (again, executor) = (&again, executor.as_str());
        let mut first = Some(request);
        let ask = || {
            let first = first.take();
            async move {
                let request = match first {
                    Some(request) => request,
                    // Not asked for again (that would register it anew); its last answer had no work either.
                    None if !self.alive(executor) => return Ok(Response::new(pb::PollWorkResult::default())),
                    None => {
                        let mut request = Request::new(again.clone());
                        if let Some(peer) = peer {
                            request.extensions_mut().insert(peer);
                        }
                        request
                    }
                };
                self.inner.poll_work(request).await
            }
        };
        hold(&self.wakeups.work, ask, |answer| has_work(answer.get_ref()) || !self.alive(executor)).await
    }

    async fn get_job_status(&self, request: Request<pb::GetJobStatusParams>) -> std::result::Result<Response<pb::GetJobStatusResult>, Status> {
        let params = request.into_inner();
        let ask = || self.inner.get_job_status(Request::new(params.clone()));
        hold(&self.wakeups.jobs, ask, |answer| !unsettled(answer.get_ref())).await
    }

    async fn register_executor(&self, request: Request<pb::RegisterExecutorParams>) -> std::result::Result<Response<pb::RegisterExecutorResult>, Status> {
        self.inner.register_executor(request).await
    }

    async fn heart_beat_from_executor(&self, request: Request<pb::HeartBeatParams>) -> std::result::Result<Response<pb::HeartBeatResult>, Status> {
        self.inner.heart_beat_from_executor(request).await
    }

    async fn update_task_status(&self, request: Request<pb::UpdateTaskStatusParams>) -> std::result::Result<Response<pb::UpdateTaskStatusResult>, Status> {
        self.inner.update_task_status(request).await
    }

    async fn create_update_session(&self, request: Request<pb::CreateUpdateSessionParams>) -> std::result::Result<Response<pb::CreateUpdateSessionResult>, Status> {
        self.inner.create_update_session(request).await
    }

    async fn remove_session(&self, request: Request<pb::RemoveSessionParams>) -> std::result::Result<Response<pb::RemoveSessionResult>, Status> {
        self.inner.remove_session(request).await
    }

    async fn execute_query_push(&self, request: Request<pb::ExecuteQueryParams>) -> std::result::Result<Response<Self::ExecuteQueryPushStream>, Status> {
        self.inner.execute_query_push(request).await
    }

    async fn execute_query(&self, request: Request<pb::ExecuteQueryParams>) -> std::result::Result<Response<pb::ExecuteQueryResult>, Status> {
        self.inner.execute_query(request).await
    }

    async fn get_job_metrics(&self, request: Request<pb::GetJobMetricsParams>) -> std::result::Result<Response<pb::GetJobMetricsResult>, Status> {
        self.inner.get_job_metrics(request).await
    }

    async fn executor_stopped(&self, request: Request<pb::ExecutorStoppedParams>) -> std::result::Result<Response<pb::ExecutorStoppedResult>, Status> {
        self.inner.executor_stopped(request).await
    }

    async fn cancel_job(&self, request: Request<pb::CancelJobParams>) -> std::result::Result<Response<pb::CancelJobResult>, Status> {
        // SchedulerServer has an inherent `cancel_job` of its own.
        SchedulerGrpc::cancel_job(&self.inner, request).await
    }

    async fn clean_job_data(&self, request: Request<pb::CleanJobDataParams>) -> std::result::Result<Response<pb::CleanJobDataResult>, Status> {
        self.inner.clean_job_data(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executor(vcores: u32) -> pb::ExecutorRegistration {
        pb::ExecutorRegistration {
            id: "e1".into(),
            specification: Some(pb::ExecutorSpecification { resources: vec![pb::ExecutorResource { resource: Some(Resource::Vcores(vcores)) }] }),
            ..Default::default()
        }
    }

    #[test]
    fn only_an_executor_with_every_slot_free_is_held() {
        let poll = |free, task_status| pb::PollWorkParams { metadata: Some(executor(4)), num_free_vcores: free, task_status };
        assert!(idle(&poll(4, vec![])));
        assert!(!idle(&poll(3, vec![])), "a running task's result would wait");
        assert!(idle(&poll(4, vec![pb::TaskStatus::default()])), "its last results are recorded before the hold");
        assert!(!idle(&pb::PollWorkParams { metadata: None, num_free_vcores: 4, task_status: vec![] }));
        let no_slots = pb::PollWorkParams { metadata: Some(executor(0)), num_free_vcores: 0, task_status: vec![] };
        assert!(!idle(&no_slots));
    }

    #[test]
    fn an_executor_is_alive_until_it_is_dead_or_gone() {
        let beat = |status: Option<executor_status::Status>| Some(ExecutorHeartbeat { status: status.map(|s| pb::ExecutorStatus { status: Some(s) }), ..Default::default() });
        assert!(alive(beat(None)), "pulling executors' heartbeats have no status");
        assert!(alive(beat(Some(executor_status::Status::Active(String::new())))));
        assert!(!alive(beat(Some(executor_status::Status::Dead(String::new())))));
        assert!(!alive(beat(Some(executor_status::Status::Terminating(String::new())))));
        assert!(!alive(None), "removed");
    }

    #[test]
    fn status_requests_are_held_only_while_the_job_is_queued_or_running() {
        let status = |s| pb::GetJobStatusResult { status: Some(pb::JobStatus { status: s, ..Default::default() }), ..Default::default() };
        assert!(unsettled(&status(Some(job_status::Status::Queued(Default::default())))));
        assert!(unsettled(&status(Some(job_status::Status::Running(Default::default())))));
        assert!(!unsettled(&status(Some(job_status::Status::Successful(Default::default())))));
        assert!(!unsettled(&status(Some(job_status::Status::Failed(Default::default())))));
        assert!(!unsettled(&status(None)), "a job not yet planned is answered at once");
        assert!(!unsettled(&pb::GetJobStatusResult::default()), "an unknown job");
    }
}
