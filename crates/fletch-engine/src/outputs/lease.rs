//! An exclusive lease on `(output root, job)`: one object created with
//! create-if-absent (`PutMode::Create`), holding who runs and until when.
//! A second run fails at once naming the holder; a lease whose holder is
//! dead (its expiry passed, or its process is gone from this host) is taken
//! over. The holder renews it in the background while the run lasts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::location::{Location, key_of};

/// How long a lease lasts without renewal: a dead run's lease on another host
/// blocks its job for at most this long.
pub const TTL: Duration = Duration::from_secs(300);
/// How often a live run renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(60);

/// What a lease object holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub run_id: String,
    pub job: String,
    pub host: String,
    pub pid: u32,
    /// The process's start time (clock ticks since boot), so a reused pid is not taken for the holder.
    pub pid_start: Option<u64>,
    pub started: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

impl Holder {
    pub fn new(run_id: &str, job: &str) -> Self {
        let now = Utc::now();
        Self {
            run_id: run_id.to_string(),
            job: job.to_string(),
            host: host_name(),
            pid: std::process::id(),
            pid_start: process_start(std::process::id()),
            started: now,
            expires: now + TTL,
        }
    }

    /// Whether the holder can no longer be running: past its expiry, or a
    /// process of this host that has exited.
    pub fn is_dead(&self, now: DateTime<Utc>) -> bool {
        if self.expires < now {
            return true;
        }
        self.host == host_name() && self.pid_start.is_some() && process_start(self.pid) != self.pid_start
    }

    pub fn describe(&self) -> String {
        format!(
            "run {} of {} on host {} (pid {}) since {}; its lease expires at {}",
            self.run_id,
            self.job,
            self.host,
            self.pid,
            self.started.format("%Y-%m-%d %H:%M:%S UTC"),
            self.expires.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// This machine's name, as leases record it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Field 22 of `/proc/<pid>/stat`: when the process started. `None` where there is no procfs.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// A lease this process holds.
#[derive(Debug)]
pub struct Lease {
    store: std::sync::Arc<dyn ObjectStore>,
    key: Path,
    url: String,
    holder: Holder,
    version: Option<UpdateVersion>,
}

impl Lease {
    /// Takes the lease at `url` (an object under `root`) for `holder`, or
    /// fails naming the live run that holds it.
    pub async fn acquire(root: &Location, rel: &str, holder: Holder) -> Result<Self> {
        let url = root.file_url(rel);
        let (store, key) = (root.store()?, key_of(&url));
        let mut lease = Self { store, key, url: url.to_string(), holder, version: None };
        // A few rounds: each lost race re-reads what is there now.
        for _ in 0..5 {
            match lease.put(PutMode::Create).await {
                Ok(()) => return Ok(lease),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(lease.io("create", e)),
            }
            let Some((current, version)) = lease.read().await? else { continue };
            if !current.is_dead(Utc::now()) {
                return Err(Error::Busy(format!("{} is held by {}", lease.url, current.describe())));
            }
            log::warn!("taking over the lease {} from a dead {}", lease.url, current.describe());
            if lease.take_over(&current, version).await? {
                return Ok(lease);
            }
        }
        Err(Error::Busy(format!("{}: other runs keep taking the lease; try again", lease.url)))
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Replaces a dead holder's lease with ours; `false` when another run changed it first.
    async fn take_over(&mut self, dead: &Holder, version: UpdateVersion) -> Result<bool> {
        match self.put(PutMode::Update(version)).await {
            Ok(()) => return Ok(true),
            Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => return Ok(false),
            Err(object_store::Error::NotImplemented { .. }) => {}
            Err(e) => return Err(self.io("take over", e)),
        }
        // No conditional update (local disks): move the dead lease aside, which
        // only one contender can do, and check it was the one we judged dead.
        let aside = Path::from(format!("{}.stale-{}", self.key, self.holder.run_id));
        match self.store.rename(&self.key, &aside).await {
            Ok(()) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(self.io("move aside", e)),
        }
        let moved = self.store.get(&aside).await.map_err(|e| self.io("read", e))?.bytes().await.map_err(|e| self.io("read", e))?;
        let moved_holder: Option<Holder> = serde_json::from_slice(&moved).ok();
        if moved_holder.as_ref().is_some_and(|h| h.run_id != dead.run_id) {
            // A newer lease taken meanwhile: put it back and let the caller re-read.
            let _ = self.store.put_opts(&self.key, PutPayload::from(moved.to_vec()), PutMode::Create.into()).await;
            let _ = self.store.delete(&aside).await;
            return Ok(false);
        }
        let _ = self.store.delete(&aside).await;
        match self.put(PutMode::Create).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.io("create", e)),
        }
    }

    /// Extends the lease; fails if another run took it (this run stalled past its expiry).
    pub async fn renew(&mut self) -> Result<()> {
        self.check().await?;
        self.holder.expires = Utc::now() + TTL;
        let mode = match self.version.clone() {
            Some(v) if v.e_tag.is_some() || v.version.is_some() => PutMode::Update(v),
            _ => PutMode::Overwrite,
        };
        match self.put(mode).await {
            Ok(()) => Ok(()),
            // Stores without conditional updates.
            Err(object_store::Error::NotImplemented { .. }) => self.put(PutMode::Overwrite).await.map_err(|e| self.io("renew", e)),
            Err(object_store::Error::Precondition { .. }) => Err(self.lost()),
            Err(e) => Err(self.io("renew", e)),
        }
    }

    /// Fails unless the lease object still names this run.
    pub async fn check(&self) -> Result<()> {
        match self.read().await? {
            Some((h, _)) if h.run_id == self.holder.run_id => Ok(()),
            _ => Err(self.lost()),
        }
    }

    /// Removes the lease object, if it is still ours.
    pub async fn release(self) -> Result<()> {
        if self.check().await.is_ok() {
            self.store.delete(&self.key).await.map_err(|e| self.io("release", e))?;
        }
        Ok(())
    }

    /// Removes a lease on a local disk at once, without checking it is still
    /// ours (for a run that is being dropped; a run that lost its lease
    /// renewed nothing, so the file names it).
    pub fn release_now(self) {
        if let Some(path) = url::Url::parse(&self.url).ok().and_then(|u| u.to_file_path().ok()) {
            let owned = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Holder>(&b).ok()).is_some_and(|h| h.run_id == self.holder.run_id);
            if owned {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    fn lost(&self) -> Error {
        Error::Busy(format!("lost the lease {} (run {} stalled past its expiry and another run took over): nothing was committed", self.url, self.holder.run_id))
    }

    async fn put(&mut self, mode: PutMode) -> std::result::Result<(), object_store::Error> {
        let body = serde_json::to_vec_pretty(&self.holder).expect("a lease encodes");
        let opts = PutOptions { mode, ..Default::default() };
        let result = self.store.put_opts(&self.key, PutPayload::from(body), opts).await?;
        self.version = Some(result.into());
        Ok(())
    }

    /// The lease object and its version, `None` when there is none (or it is not a lease).
    async fn read(&self) -> Result<Option<(Holder, UpdateVersion)>> {
        let got = match self.store.get(&self.key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.io("read", e)),
        };
        let version = UpdateVersion { e_tag: got.meta.e_tag.clone(), version: got.meta.version.clone() };
        let bytes = got.bytes().await.map_err(|e| self.io("read", e))?;
        match serde_json::from_slice(&bytes) {
            Ok(h) => Ok(Some((h, version))),
            Err(e) => Err(Error::io(format!("lease {} is not a fletch lease: {e}; remove it if no run is writing here", self.url))),
        }
    }

    fn io(&self, what: &str, e: object_store::Error) -> Error {
        Error::io(format!("cannot {what} the lease {}: {e}", self.url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(dir: &std::path::Path) -> Location {
        Location::parse("test", dir.to_str().unwrap()).unwrap()
    }

    async fn acquire(root: &Location, run: &str) -> Result<Lease> {
        Lease::acquire(root, "job.lease", Holder::new(run, "job")).await
    }

    async fn exclusive_until_released(root: Location) {
        let first = acquire(&root, "r1").await.unwrap();
        let e = acquire(&root, "r2").await.unwrap_err().to_string();
        assert!(e.contains("is held by run r1 of job on host") && e.contains(&format!("(pid {})", std::process::id())), "{e}");
        let mut first = first;
        first.renew().await.unwrap();
        first.release().await.unwrap();
        acquire(&root, "r2").await.unwrap().release().await.unwrap();
    }

    #[tokio::test]
    async fn one_holder_at_a_time_on_disk_and_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        exclusive_until_released(root(dir.path())).await;
        exclusive_until_released(Location::parse("test", "memory://lease-test/a").unwrap()).await;
    }

    async fn dead_holders_are_taken_over(root: Location) {
        let store = root.store().unwrap();
        let key = key_of(&root.file_url("job.lease"));
        // Expired, and a live-looking one of this process that expired.
        let mut dead = Holder::new("dead", "job");
        dead.expires = Utc::now() - chrono::Duration::seconds(1);
        store.put(&key, PutPayload::from(serde_json::to_vec(&dead).unwrap())).await.unwrap();
        let mut lease = acquire(&root, "r3").await.unwrap();
        assert_eq!(lease.holder().run_id, "r3");
        lease.renew().await.unwrap();
        // Someone else's lease in its place: ours is lost, renewing says so.
        store.put(&key, PutPayload::from(serde_json::to_vec(&Holder::new("thief", "job")).unwrap())).await.unwrap();
        let e = lease.renew().await.unwrap_err().to_string();
        assert!(e.contains("lost the lease") && e.contains("run r3"), "{e}");
    }

    #[tokio::test]
    async fn dead_holders_are_taken_over_on_disk_and_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        dead_holders_are_taken_over(root(dir.path())).await;
        dead_holders_are_taken_over(Location::parse("test", "memory://lease-test/b").unwrap()).await;
    }

    #[test]
    fn exited_processes_of_this_host_are_dead() {
        let mut h = Holder::new("r", "job");
        assert!(!h.is_dead(Utc::now()));
        // A process that exited: its pid no longer has our start time.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        h.pid = pid;
        assert!(h.pid_start.is_none() || h.is_dead(Utc::now()));
        assert!(Holder { expires: Utc::now() - chrono::Duration::seconds(1), ..Holder::new("r", "job") }.is_dead(Utc::now()));
    }
}
