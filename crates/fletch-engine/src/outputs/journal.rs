//! The commit journal: every move of a commit, written before the first one.
//! Each move can be applied again after a crash at any point, so the next
//! run of the job (or `fletch repair`) finishes an interrupted commit by
//! applying the whole journal once more.

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::location::{Location, key_of, relative_key};

pub const FILE: &str = "journal.json";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub run_id: String,
    pub moves: Vec<Move>,
}

/// One output going into place: `<run>/<kind>/<path>` becomes `<root>/<path>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub kind: Kind,
    pub path: String,
    /// Object stores: the staged table's files, relative to it. Whatever
    /// else the target holds afterwards belongs to the previous version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Table,
    File,
}

impl Kind {
    /// The folder of the run that holds outputs of this kind.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Table => "tables",
            Kind::File => "files",
        }
    }
}

impl Journal {
    pub async fn write(&self, run: &Location) -> Result<()> {
        let url = run.file_url(FILE);
        let body = serde_json::to_vec_pretty(self).expect("a journal encodes");
        run.store()?.put(&key_of(&url), body.into()).await.map_err(|e| Error::io(format!("cannot write the commit journal {url}: {e}")))?;
        Ok(())
    }

    /// The journal of `run`, `None` when the run never started its commit.
    pub async fn read(run: &Location) -> Result<Option<Self>> {
        let url = run.file_url(FILE);
        match run.store()?.get(&key_of(&url)).await {
            Ok(got) => {
                let bytes = got.bytes().await?;
                serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::io(format!("commit journal {url} is unreadable: {e}")))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::io(format!("cannot read the commit journal {url}: {e}"))),
        }
    }

    /// Applies every move, in order.
    pub async fn apply(&self, run: &Location, root: &Location) -> Result<()> {
        for m in &self.moves {
            m.apply(run, root).await.map_err(|e| Error::io(format!("commit of {} into {root}: {e}", m.path)))?;
            crate::faults::at("commit.after_move").await;
        }
        Ok(())
    }
}

impl Move {
    fn staged_url(&self, run: &Location) -> url::Url {
        run.file_url(&format!("{}/{}", self.kind.folder(), self.path))
    }

    async fn apply(&self, run: &Location, root: &Location) -> Result<()> {
        let (from, to) = (self.staged_url(run), root.file_url(&self.path));
        match (from.to_file_path(), to.to_file_path()) {
            (Ok(from), Ok(to)) => {
                let old = run.file_url(&format!("old/{}", self.path)).to_file_path().expect("local run folder");
                apply_local(&from, &to, &old)
            }
            _ => self.apply_in_store(run, root).await,
        }
    }

    /// Object stores: each staged object moved to its place, then the previous
    /// version's other objects deleted.
    async fn apply_in_store(&self, run: &Location, root: &Location) -> Result<()> {
        let store = root.store()?;
        match self.kind {
            Kind::File => {
                let (from, to) = (key_of(&self.staged_url(run)), key_of(&root.file_url(&self.path)));
                match store.rename(&from, &to).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            Kind::Table => {
                let (staged, target) = (run.join(&format!("tables/{}", self.path)), root.join(&self.path));
                let files = self.files.as_deref().unwrap_or_default();
                for rel in files {
                    let (from, to) = (key_of(&staged.file_url(rel)), key_of(&target.file_url(rel)));
                    match store.rename(&from, &to).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                let prefix = target.prefix();
                let previous: Vec<_> = store.list(Some(&prefix)).map_ok(|m| m.location).try_collect().await?;
                for key in previous.iter().filter(|k| !files.contains(&relative_key(&prefix, k))) {
                    store.delete(key).await?;
                }
                Ok(())
            }
        }
    }
}

/// Local disks: the previous version moved aside, the new one renamed in, the
/// old one removed. Each rename is atomic and a repeat finds the work done.
fn apply_local(from: &std::path::Path, to: &std::path::Path, old: &std::path::Path) -> Result<()> {
    let io = |what: &str, e: std::io::Error| Error::io(format!("{what} {}: {e}", to.display()));
    if from.exists() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("cannot create the parent of", e))?;
        }
        // A file replaces its predecessor in one rename; a folder cannot.
        if to.is_dir() {
            std::fs::create_dir_all(old.parent().expect("old/ has a parent")).map_err(|e| io("cannot move aside", e))?;
            std::fs::rename(to, old).map_err(|e| io("cannot move aside", e))?;
        }
        std::fs::rename(from, to).map_err(|e| io("cannot move into place", e))?;
    }
    if old.exists() {
        std::fs::remove_dir_all(old).map_err(|e| io("cannot remove the previous version of", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &std::path::Path, body: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    #[test]
    fn local_moves_can_be_repeated_after_a_crash_at_any_point() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to, old) = (dir.path().join("run/t"), dir.path().join("t"), dir.path().join("run/old/t"));
        // Crash after moving the old version aside, before moving the new one in.
        write(&from.join("new.parquet"), "new");
        write(&old.join("old.parquet"), "old");
        apply_local(&from, &to, &old).unwrap();
        assert!(to.join("new.parquet").exists() && !old.exists() && !from.exists());
        // Crash after the whole move, before the cleanup: a repeat changes nothing.
        apply_local(&from, &to, &old).unwrap();
        assert_eq!(std::fs::read_to_string(to.join("new.parquet")).unwrap(), "new");
    }
}
