//! Which jobs recovered from a lost executor. Ballista 55 reruns a lost
//! executor's tasks and rolls back the stages that read its outputs; in
//! fletch's chaos trials some of those recoveries completed with rows
//! repeated, and some never completed. So fletch trusts no recovery: the
//! scheduler keeps which executors it lost and when, and answers
//! `GET /jobs/ID/recovery`; the client cancels a job that lost an executor
//! and runs its step again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use ballista_core::serde::protobuf::task_status;
use ballista_scheduler::cluster::{ClusterStateEvent, JobState};
use ballista_scheduler::state::execution_graph::ExecutionGraph;
use ballista_scheduler::state::execution_stage::ExecutionStage;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::flight_sql::Scheduler;

/// What a job recovered from; empty when it ran without loss.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// Stages that ran more than once.
    pub stages_rerun: Vec<usize>,
    /// Executors removed while the job ran.
    pub executors_lost: Vec<String>,
}

impl Recovery {
    pub fn is_empty(&self) -> bool {
        self.stages_rerun.is_empty() && self.executors_lost.is_empty()
    }

    /// `executor X lost; stages 1, 3 ran again`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.executors_lost.is_empty() {
            parts.push(format!("executor {} lost", self.executors_lost.join(", ")));
        }
        if !self.stages_rerun.is_empty() {
            let stages: Vec<String> = self.stages_rerun.iter().map(usize::to_string).collect();
            parts.push(format!("stage {} ran again", stages.join(", ")));
        }
        parts.join("; ")
    }
}

/// The scheduler's record of lost executors, and the jobs' graphs.
#[derive(Clone)]
pub struct Recoveries {
    scheduler: Scheduler,
    /// Finished jobs (running ones are in the scheduler's cache).
    jobs: Arc<dyn JobState>,
    /// Executors removed, with the time in milliseconds.
    lost: Arc<Mutex<Vec<(u64, String)>>>,
}

impl Recoveries {
    /// Starts following `scheduler`'s executors: logs each that joins
    /// (pull-staged executors register with their first poll, which Ballista
    /// does not log) and records each that is removed.
    pub async fn follow(scheduler: &Scheduler, jobs: Arc<dyn JobState>) -> Result<Self> {
        let manager = scheduler.state.executor_manager.clone();
        let mut events = manager.cluster_state_events().await.map_err(|e| Error::Cluster(format!("scheduler: cannot watch executors: {e}")))?;
        let recoveries = Self { scheduler: scheduler.clone(), jobs, lost: Arc::default() };
        let lost = recoveries.lost.clone();
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                match event {
                    ClusterStateEvent::RegisteredExecutor { executor_id } => match manager.get_executor_metadata(&executor_id).await {
                        Ok(m) => log::info!("executor {executor_id} registered from {}:{}", m.host, m.port),
                        Err(_) => log::info!("executor {executor_id} registered"),
                    },
                    ClusterStateEvent::RemovedExecutor { executor_id } => lost.lock().expect("lost executors").push((now_millis(), executor_id)),
                }
            }
        });
        Ok(recoveries)
    }

    /// What the running or finished job `job` recovered from; `None` for a
    /// job the scheduler does not know (or no longer keeps).
    pub async fn of(&self, job: &str) -> Result<Option<Recovery>> {
        let id = job.to_string().into();
        if let Some(running) = self.scheduler.state.task_manager.get_running_job_cache().get(&id) {
            return Ok(Some(self.recovery(running.execution_graph.read().await.as_ref())));
        }
        let finished = self.jobs.get_execution_graph(&id).await.map_err(|e| Error::Cluster(format!("job {job}: {e}")))?;
        Ok(finished.map(|graph| self.recovery(graph.as_ref())))
    }

    /// Stages run again, and executors removed while the job ran that ran
    /// some of its tasks (a retry that never used a dying executor is not
    /// blamed for its removal).
    fn recovery(&self, graph: &dyn ExecutionGraph) -> Recovery {
        let mut stages_rerun: Vec<usize> = graph.stages().iter().filter(|(_, s)| attempt(s) > 0).map(|(id, _)| *id).collect();
        stages_rerun.sort_unstable();
        let used: HashSet<&str> = graph.stages().values().flat_map(executors).collect();
        let (start, end) = (graph.start_time(), graph.end_time());
        let end = if end == 0 { u64::MAX } else { end };
        let lost = self.lost.lock().expect("lost executors");
        let executors_lost = lost.iter().filter(|(t, e)| (start..=end).contains(t) && used.contains(e.as_str())).map(|(_, e)| e.clone()).collect();
        Recovery { stages_rerun, executors_lost }
    }
}

/// The executors that ran (or run) tasks of `stage`.
fn executors(stage: &ExecutionStage) -> impl Iterator<Item = &str> {
    let tasks = match stage {
        ExecutionStage::Running(s) => s.task_infos.as_slice(),
        ExecutionStage::Successful(s) => s.task_infos.as_slice(),
        ExecutionStage::Failed(s) => s.task_infos.as_slice(),
        ExecutionStage::UnResolved(_) | ExecutionStage::Resolved(_) => &[],
    };
    tasks.iter().filter_map(|t| match &t.task_status {
        task_status::Status::Running(r) => Some(r.executor_id.as_str()),
        task_status::Status::Successful(s) => Some(s.executor_id.as_str()),
        task_status::Status::Failed(_) => None,
    })
}

fn attempt(stage: &ExecutionStage) -> usize {
    match stage {
        ExecutionStage::UnResolved(s) => s.stage_attempt_num,
        ExecutionStage::Resolved(s) => s.stage_attempt_num,
        ExecutionStage::Running(s) => s.stage_attempt_num,
        ExecutionStage::Successful(s) => s.stage_attempt_num,
        ExecutionStage::Failed(s) => s.stage_attempt_num,
    }
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_says_what_happened() {
        assert!(Recovery::default().is_empty());
        let r = Recovery { stages_rerun: vec![1, 3], executors_lost: vec!["e1".into()] };
        assert_eq!(r.describe(), "executor e1 lost; stage 1, 3 ran again");
    }
}
