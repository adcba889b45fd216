//! Audience jobs: each one's record, kept as `<output-root>/<job id>/job.json`
//! so that it survives a restart, and its run: lookalike-seeds (when the
//! seeds are a keyword's clickers) then lookalike-extend, writing under
//! `<output-root>/<job id>/`, at most `--max-concurrent-jobs` at once and the
//! rest queued in submission order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use fletch_engine::location::key_of;
use fletch_engine::{Error, Location, Result};
use fletch_jobs::framework::{self, Job};
use fletch_jobs::lookalike_audience::extend::{LookalikeExtend, SUMMARY};
use fletch_jobs::lookalike_audience::seeds::LookalikeSeeds;
use fletch_jobs::{JobArgs, RunOptions};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::job_root;
use super::upload::{Asked, Submission};

const RECORD: &str = "job.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Queued,
    Running,
    Finished,
    Failed,
}

/// What was asked for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobRequest {
    /// The uploaded seed files, as stored under `<job id>/seeds/`.
    pub seed_files: Vec<String>,
    pub seed_rows: usize,
    #[serde(flatten)]
    pub asked: Asked,
}

/// One job, as `GET /lookalike/status/{job_id}` shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_id: String,
    pub status: Status,
    /// RFC 3339 times.
    pub submitted: String,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub error: Option<String>,
    pub request: JobRequest,
    /// lookalike-extend's summary, once Finished.
    pub summary: Option<Value>,
}

impl JobRecord {
    pub fn status_json(&self) -> Value {
        let url = (self.status == Status::Finished).then(|| format!("/lookalike/extended-audience/{}", self.job_id));
        json!({
            "job_id": self.job_id,
            "status": self.status,
            "url": url,
            "error": self.error,
            "submitted": self.submitted,
            "started": self.started,
            "finished": self.finished,
            "request": self.request,
            "summary": self.summary,
        })
    }

    /// Seconds from `from` to `to` of this record, when both happened.
    pub fn seconds(from: Option<&str>, to: Option<&str>) -> Option<f64> {
        let parse = |t: Option<&str>| t.and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        Some((parse(to)? - parse(from)?).num_milliseconds() as f64 / 1000.0)
    }
}

/// Every job the service knows, and the slots they run in.
pub struct Jobs {
    run: RunOptions,
    store: Arc<dyn ObjectStore>,
    records: Mutex<BTreeMap<String, JobRecord>>,
    slots: Arc<Semaphore>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Jobs {
    /// The jobs under the output root: Queued ones are queued again;
    /// Running ones died with the service and are marked Failed.
    pub async fn open(run: RunOptions, max_concurrent: usize) -> Result<Arc<Self>> {
        if let Some(dir) = run.output_root.local_path() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("cannot create {}: {e}", dir.display())))?;
        }
        let store = run.output_root.store()?;
        let jobs = Arc::new(Self { run, store, records: Mutex::new(BTreeMap::new()), slots: Arc::new(Semaphore::new(max_concurrent.max(1))) });
        let mut queued = Vec::new();
        for mut record in jobs.stored().await? {
            match record.status {
                Status::Running => {
                    record.status = Status::Failed;
                    record.finished = Some(now());
                    record.error = Some(format!("the service stopped while the job ran (started {}); submit it again", record.started.as_deref().unwrap_or("?")));
                    log::warn!("lookalike job {}: {}", record.job_id, record.error.as_deref().unwrap_or_default());
                    jobs.save(&record).await?;
                }
                Status::Queued => queued.push((record.submitted.clone(), record.job_id.clone())),
                Status::Finished | Status::Failed => {}
            }
            jobs.records.lock().expect("records").insert(record.job_id.clone(), record);
        }
        queued.sort();
        if !queued.is_empty() {
            log::info!("{} lookalike jobs queued again", queued.len());
        }
        for (_, job_id) in queued {
            jobs.start(job_id);
        }
        Ok(jobs)
    }

    /// The records under the output root.
    async fn stored(&self) -> Result<Vec<JobRecord>> {
        let root = &self.run.output_root;
        let listed = self.store.list_with_delimiter(Some(&root.prefix())).await.map_err(|e| Error::io(format!("cannot list the jobs under {root}: {e}")))?;
        let mut records = Vec::new();
        for folder in listed.common_prefixes {
            let key = folder.join(RECORD);
            let bytes = match self.store.get(&key).await {
                Ok(got) => got.bytes().await?,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(Error::io(format!("cannot read {key}: {e}"))),
            };
            let record: JobRecord = serde_json::from_slice(&bytes).map_err(|e| Error::input(format!("{key}: not a job record: {e}")))?;
            records.push(record);
        }
        Ok(records)
    }

    /// Stores the upload and queues the job; returns its id.
    pub async fn submit(self: &Arc<Self>, submission: Submission) -> Result<String> {
        let job_id = self.new_id();
        let seeds = job_root(&self.run.output_root, &job_id).join("seeds/");
        let mut seed_files = Vec::new();
        for (i, (name, bytes)) in submission.files.into_iter().enumerate() {
            let stored = format!("{:03}-{}", i + 1, safe_name(&name));
            let url = seeds.file_url(&stored);
            self.store.put(&key_of(&url), PutPayload::from(bytes)).await.map_err(|e| Error::io(format!("cannot write {url}: {e}")))?;
            seed_files.push(stored);
        }
        let request = JobRequest { seed_files, seed_rows: submission.seed_rows, asked: submission.asked };
        let record = JobRecord { job_id: job_id.clone(), status: Status::Queued, submitted: now(), started: None, finished: None, error: None, request, summary: None };
        self.save(&record).await?;
        self.records.lock().expect("records").insert(job_id.clone(), record);
        log::info!("lookalike job {job_id} queued");
        self.start(job_id.clone());
        Ok(job_id)
    }

    /// The service is stopping (`why`): running jobs fail saying so, and
    /// their cluster jobs are cancelled (what they staged goes with their
    /// runs); queued ones stay queued for the next start.
    pub async fn stop(&self, why: &str) {
        let running: Vec<String> = self.all().into_iter().filter(|r| r.status == Status::Running).map(|r| r.job_id).collect();
        for job_id in running {
            self.update(&job_id, |r| {
                r.status = Status::Failed;
                r.finished = Some(now());
                r.error = Some(format!("the service was stopped ({why}) while the job ran; submit it again"));
            })
            .await;
            log::warn!("lookalike job {job_id} failed: the service was stopped ({why})");
        }
        fletch_engine::remote::cancel_running_jobs().await;
    }

    pub fn get(&self, job_id: &str) -> Option<JobRecord> {
        self.records.lock().expect("records").get(job_id).cloned()
    }

    pub fn all(&self) -> Vec<JobRecord> {
        self.records.lock().expect("records").values().cloned().collect()
    }

    /// Where a job's audience table is.
    pub fn audience_location(&self, job_id: &str) -> Location {
        job_root(&self.run.output_root, job_id).join("lookalike_extended_audience/")
    }

    /// The design's id: 11 upper-case hex characters, new to this root.
    fn new_id(&self) -> String {
        let records = self.records.lock().expect("records");
        loop {
            let id = format!("{:011X}", rand::random::<u64>() >> 20);
            if !records.contains_key(&id) {
                return id;
            }
        }
    }

    /// Runs the job when a slot is free.
    fn start(self: &Arc<Self>, job_id: String) {
        let jobs = Arc::clone(self);
        tokio::spawn(async move {
            let _slot = jobs.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
            let Some(record) = jobs.update(&job_id, |r| {
                r.status = Status::Running;
                r.started = Some(now());
            })
            .await
            else {
                return;
            };
            log::info!("lookalike job {job_id} running");
            let outcome = jobs.execute(&record).await;
            jobs.update(&job_id, |r| {
                r.finished = Some(now());
                match outcome {
                    Ok(summary) => {
                        r.status = Status::Finished;
                        r.summary = Some(summary);
                    }
                    Err(e) => {
                        r.status = Status::Failed;
                        r.error = Some(e.to_string());
                    }
                }
            })
            .await;
            if let Some(r) = jobs.get(&job_id) {
                log::info!("lookalike job {job_id} {:?}{}", r.status, r.error.map(|e| format!(": {e}")).unwrap_or_default());
            }
        });
    }

    /// Changes a record and stores it; a record that cannot be stored is logged.
    async fn update(&self, job_id: &str, change: impl FnOnce(&mut JobRecord)) -> Option<JobRecord> {
        let record = {
            let mut records = self.records.lock().expect("records");
            let record = records.get_mut(job_id)?;
            change(record);
            record.clone()
        };
        if let Err(e) = self.save(&record).await {
            log::error!("lookalike job {job_id}: {e}");
        }
        Some(record)
    }

    async fn save(&self, record: &JobRecord) -> Result<()> {
        let url = job_root(&self.run.output_root, &record.job_id).file_url(RECORD);
        let body = serde_json::to_vec_pretty(record).expect("records serialise");
        self.store.put(&key_of(&url), PutPayload::from(body)).await.map_err(|e| Error::io(format!("cannot write {url}: {e}")))?;
        Ok(())
    }

    /// lookalike-seeds (without seed files) and lookalike-extend, writing
    /// under the job's folder; returns extend's summary.
    async fn execute(&self, record: &JobRecord) -> Result<Value> {
        fletch_engine::faults::at("lookalike_service.job_start").await;
        let root = job_root(&self.run.output_root, &record.job_id);
        let opts = RunOptions { output_root: root.clone(), date: Utc::now().date_naive(), quiet: true, ..self.run.clone() };
        let (files, asked) = (&record.request.seed_files, &record.request.asked);
        if files.is_empty() {
            let keyword = asked.keyword.ok_or_else(|| Error::usage("no seed file and no keyword"))?;
            run(&LookalikeSeeds, &opts, &[("keyword-index", keyword.to_string()), ("limit", asked.seeds_limit.to_string()), ("tables-from", "data".into())]).await?;
        }
        let mut flags = vec![("audience-size", asked.audience_size.to_string()), ("method", asked.method.clone()), ("tables-from", "data".into())];
        flags.extend(files.iter().map(|f| ("seeds-file", root.join("seeds/").file_url(f).to_string())));
        flags.extend(asked.min_score.map(|s| ("min-score", s.to_string())));
        run(&LookalikeExtend, &opts, &flags).await?;
        let url = root.file_url(SUMMARY);
        let bytes = self.store.get(&key_of(&url)).await.map_err(|e| Error::io(format!("cannot read {url}: {e}")))?.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::io(format!("{url}: {e}")))
    }
}

/// Runs `job` with `flags` (a flag given twice is repeated).
async fn run(job: &dyn Job, opts: &RunOptions, flags: &[(&str, String)]) -> Result<()> {
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in flags {
        raw.entry(name.to_string()).or_default().push(value.clone());
    }
    let args = JobArgs::parse(job.spec().params, &raw)?;
    framework::run(job, opts.clone(), &args).await.map(|_| ())
}

/// A stored file name: the upload's, with anything but letters, digits,
/// `.`, `-` and `_` replaced, at most 100 characters.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let safe: String = base.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).take(100).collect();
    match safe.trim_start_matches('.') {
        "" => "seeds".into(),
        s => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_stay_in_the_seeds_folder() {
        assert_eq!(safe_name("seeds.csv"), "seeds.csv");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\x\\my seeds (1).txt"), "my_seeds__1_.txt");
        assert_eq!(safe_name(".."), "seeds");
        assert_eq!(safe_name(""), "seeds");
    }

    #[test]
    fn seconds_between_times() {
        assert_eq!(JobRecord::seconds(Some("2026-12-03T10:00:00.000Z"), Some("2026-12-03T10:00:01.500Z")), Some(1.5));
        assert_eq!(JobRecord::seconds(Some("2026-12-03T10:00:00.000Z"), None), None);
    }
}
