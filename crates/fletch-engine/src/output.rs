//! Atomic output writers. A job that fails or is killed before the commit of
//! an output leaves the previous version of that output untouched, and no
//! partial files where consumers look.
//!
//! - JSON: each file is one `put`, atomic on every store (the local store
//!   writes a temporary file and renames it).
//! - Parquet tables: written in full under `<output-root>/.fletch-staging/`,
//!   then swapped in. On local disks the swap is two directory renames; on
//!   object stores it is a rename per object followed by removal of the old
//!   objects, so a reader listing during those milliseconds can see a mix.

use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};
use crate::location::{Location, key_of, relative_key};

/// Hidden folder under the output root for outputs not yet committed.
pub const STAGING_DIR: &str = ".fletch-staging";

/// One committed output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub url: String,
    pub rows: Option<u64>,
    pub files: usize,
    pub bytes: u64,
}

/// Writes `<prefix><base>.json` and its dated copy `<prefix><base><date>.json`
/// under `root`, with identical content. The dated copy goes first, so the
/// undated file (what consumers poll) never points at a date that failed.
pub async fn write_json(
    root: &Location,
    prefix: &str,
    base: &str,
    date: &str,
    value: &serde_json::Value,
) -> Result<Vec<Written>> {
    let body = serde_json::to_vec(value).map_err(|e| Error::io(format!("cannot encode {base}.json: {e}")))?;
    let store = root.store()?;
    let mut written = Vec::new();
    for name in [format!("{prefix}{base}{date}.json"), format!("{prefix}{base}.json")] {
        let url = root.file_url(&name);
        store
            .put(&key_of(&url), PutPayload::from(body.clone()))
            .await
            .map_err(|e| Error::io(format!("cannot write {url}: {e}")))?;
        written.push(Written { url: url.to_string(), rows: None, files: 1, bytes: body.len() as u64 });
    }
    Ok(written)
}

/// Writes `df` as the Parquet table `root/<table>/`, Hive-partitioned by
/// `partition_by`, replacing any previous version only once it is complete.
pub async fn write_table(df: DataFrame, root: &Location, table: &str, partition_by: &[String]) -> Result<Written> {
    let staged = stage_table(df, root, table, partition_by).await?;
    commit_table(&staged.staging, root, table, Some(staged.rows)).await
}

/// A complete new version of `root/<table>/`, readable at `staging` but not
/// yet in place: [`commit_table`] or [`discard`] it.
#[derive(Clone, Debug)]
pub struct Staged {
    pub staging: Location,
    pub table: String,
    pub rows: u64,
}

/// Writes `df` as Parquet under a fresh staging folder for `root/<table>/`;
/// on failure nothing stays behind.
pub async fn stage_table(df: DataFrame, root: &Location, table: &str, partition_by: &[String]) -> Result<Staged> {
    let staging = staging_for(root, table);
    let schema = df.schema().as_arrow().clone();
    let options = DataFrameWriteOptions::new().with_partition_by(partition_by.to_vec());
    let rows = match df.write_parquet(staging.as_str(), options, None).await {
        Ok(batches) => batches
            .iter()
            .filter_map(|b| b.column_by_name("count"))
            .map(|c| c.as_primitive::<UInt64Type>().iter().flatten().sum::<u64>())
            .sum(),
        Err(e) => {
            discard(&staging).await;
            return Err(Error::Engine(e));
        }
    };
    if rows == 0
        && let Err(e) = write_empty(&staging, schema).await
    {
        discard(&staging).await;
        return Err(e);
    }
    Ok(Staged { staging, table: table.to_string(), rows })
}

/// An empty result may leave no file (always so when partitioned); one empty
/// file with every column keeps the table readable, with its schema.
async fn write_empty(staging: &Location, schema: datafusion::arrow::datatypes::Schema) -> Result<()> {
    if usage(staging).await?.0 > 0 {
        return Ok(());
    }
    let encode = |e| Error::io(format!("cannot encode an empty table: {e}"));
    let writer = datafusion::parquet::arrow::ArrowWriter::try_new(Vec::new(), std::sync::Arc::new(schema), None).map_err(encode)?;
    let bytes = writer.into_inner().map_err(encode)?;
    let url = staging.file_url("part-00000.parquet");
    staging.store()?.put(&key_of(&url), PutPayload::from(bytes)).await.map_err(|e| Error::io(format!("cannot write {url}: {e}")))?;
    Ok(())
}

/// A fresh staging folder for a new version of `root/<table>/`. Write the
/// whole table there, then [`commit_table`] it (or [`discard`] it on failure).
pub fn staging_for(root: &Location, table: &str) -> Location {
    root.join(&format!("{STAGING_DIR}/{}", unique_name(table)))
}

/// Swaps a complete staged table in as `root/<table>/`; on failure the
/// staging data is removed and the previous version stays.
pub async fn commit_table(staging: &Location, root: &Location, table: &str, rows: Option<u64>) -> Result<Written> {
    let target = root.join(table);
    if let Err(e) = commit(staging, &target).await {
        discard(staging).await;
        return Err(e);
    }
    let (files, bytes) = usage(&target).await?;
    Ok(Written { url: target.to_string(), rows, files, bytes })
}

/// A name no other run in this or another process will pick.
fn unique_name(table: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{}-{nanos}-{}",
        table.replace('/', "_"),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

async fn commit(staging: &Location, target: &Location) -> Result<()> {
    if let (Some(from), Some(to)) = (staging.local_path(), target.local_path()) {
        return commit_local(&from, &to);
    }
    let store = staging.store()?;
    let new_keys = list_keys(store.as_ref(), &staging.prefix()).await?;
    let old_keys = list_keys(store.as_ref(), &target.prefix()).await?;
    let mut committed = std::collections::HashSet::new();
    for key in &new_keys {
        let rel = relative_key(&staging.prefix(), key);
        let dest = key_of(&target.file_url(&rel));
        store.rename(key, &dest).await.map_err(|e| Error::io(format!("cannot commit {target}: {e}")))?;
        committed.insert(dest);
    }
    for key in old_keys.iter().filter(|k| !committed.contains(*k)) {
        store.delete(key).await.map_err(|e| Error::io(format!("cannot replace {target}: {e}")))?;
    }
    Ok(())
}

fn commit_local(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    let io = |what: &str, e: std::io::Error| Error::io(format!("cannot commit {}: {what}: {e}", to.display()));
    if !from.exists() {
        // Nothing was written (an empty result without partitions still makes
        // a file, so this means an empty partitioned result): commit an empty table.
        std::fs::create_dir_all(from).map_err(|e| io("create", e))?;
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("create parent", e))?;
    }
    let old = from.with_extension("old");
    let had_old = to.exists();
    if had_old {
        std::fs::rename(to, &old).map_err(|e| io("move old version aside", e))?;
    }
    if let Err(e) = std::fs::rename(from, to) {
        if had_old {
            let _ = std::fs::rename(&old, to);
        }
        return Err(io("move new version in", e));
    }
    if had_old {
        std::fs::remove_dir_all(&old).map_err(|e| io("remove old version", e))?;
    }
    // The staging folder itself goes when nothing else is staged there.
    if let Some(staging_root) = from.parent() {
        let _ = std::fs::remove_dir(staging_root);
    }
    Ok(())
}

async fn list_keys(store: &dyn ObjectStore, prefix: &Path) -> Result<Vec<Path>> {
    Ok(store.list(Some(prefix)).map_ok(|m| m.location).try_collect().await?)
}


/// Files and bytes under a location.
pub async fn usage(location: &Location) -> Result<(usize, u64)> {
    let store = location.store()?;
    let metas: Vec<_> = store.list(Some(&location.prefix())).try_collect().await?;
    Ok((metas.len(), metas.iter().map(|m| m.size).sum()))
}

/// Removes a staging folder. Best effort: leftovers are hidden and harmless,
/// so failures are only logged.
pub async fn discard(location: &Location) {
    let result = async {
        let store = location.store()?;
        for key in list_keys(store.as_ref(), &location.prefix()).await? {
            store.delete(&key).await?;
        }
        if let Some(dir) = location.local_path() {
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok::<_, Error>(())
    };
    if let Err(e) = result.await {
        log::warn!("could not remove staging data {location}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::catalog::register_input;
    use crate::session::{Mode, connect};

    async fn table(ctx: &SessionContext, sql: &str) -> DataFrame {
        ctx.sql(sql).await.unwrap()
    }

    async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        text.lines().map(str::to_string).collect()
    }

    /// Write, replace, read back: the same on the local disk and on an object store.
    async fn replace_and_read(root: Location) {
        let ctx = connect(&Mode::Embedded).await.unwrap();
        let v1 = table(&ctx, "SELECT * FROM (VALUES ('a', 1), ('b', 2), ('b', 3)) t(k, v)").await;
        let w = write_table(v1, &root, "t", &["k".to_string()]).await.unwrap();
        assert_eq!((w.rows, w.files), (Some(3), 2), "{w:?}");
        let v2 = table(&ctx, "SELECT * FROM (VALUES ('c', 9)) t(k, v)").await;
        write_table(v2, &root, "t", &["k".to_string()]).await.unwrap();

        let t = register_input(&ctx, &root, "t").await.unwrap();
        assert_eq!((t.files, t.partition_cols.clone()), (1, vec!["k".to_string()]));
        assert_eq!(rows(&ctx, "SELECT k, v FROM t").await[3], "| c | 9 |");
        assert_eq!(rows(&ctx, "SELECT count(*) AS n FROM t").await[3], "| 1 |");
        let (staged, _) = usage(&root.join(STAGING_DIR)).await.unwrap();
        assert_eq!(staged, 0, "staging left behind");
    }

    #[tokio::test]
    async fn tables_are_replaced_whole_on_local_disk() {
        let dir = tempfile::tempdir().unwrap();
        replace_and_read(Location::parse("test", dir.path().to_str().unwrap()).unwrap()).await;
    }

    #[tokio::test]
    async fn tables_are_replaced_whole_on_object_stores() {
        replace_and_read(Location::parse("test", "memory://output-test/root").unwrap()).await;
    }

    #[tokio::test]
    async fn json_and_its_dated_copy_are_identical() {
        let root = Location::parse("test", "memory://json-test/out").unwrap();
        let value = serde_json::json!({"en-US": [["guid-1", 0.5]]});
        let written = write_json(&root, "taar/locale/", "top10_dict", "20261122", &value).await.unwrap();
        let urls: Vec<_> = written.iter().map(|w| w.url.as_str()).collect();
        assert_eq!(
            urls,
            ["memory://json-test/out/taar/locale/top10_dict20261122.json", "memory://json-test/out/taar/locale/top10_dict.json"]
        );
        let store = root.store().unwrap();
        for w in &written {
            let url = url::Url::parse(&w.url).unwrap();
            let body = store.get(&key_of(&url)).await.unwrap().bytes().await.unwrap();
            assert_eq!(&body[..], br#"{"en-US":[["guid-1",0.5]]}"#);
        }
    }

    #[tokio::test]
    async fn empty_partitioned_results_stay_readable_with_every_column() {
        let root = Location::parse("test", "memory://output-test/empty").unwrap();
        let ctx = connect(&Mode::Embedded).await.unwrap();
        let none = table(&ctx, "SELECT * FROM (VALUES ('a', 1)) t(k, v) WHERE v > 5").await;
        let w = write_table(none, &root, "t", &["k".to_string()]).await.unwrap();
        assert_eq!((w.rows, w.files), (Some(0), 1));
        register_input(&ctx, &root, "t").await.unwrap();
        assert_eq!(rows(&ctx, "SELECT count(*) AS n, max(k) AS k, sum(v) AS v FROM t").await[3], "| 0 |   |   |");
    }

    #[tokio::test]
    async fn failed_writes_keep_the_old_table_and_no_staging() {
        let dir = tempfile::tempdir().unwrap();
        let root = Location::parse("test", dir.path().to_str().unwrap()).unwrap();
        let ctx = connect(&Mode::Embedded).await.unwrap();
        write_table(table(&ctx, "SELECT 1 AS v").await, &root, "t", &[]).await.unwrap();
        let bad = table(&ctx, "SELECT CAST(x AS INT) AS v FROM (VALUES ('1'), ('oops')) t(x)").await;
        assert!(write_table(bad, &root, "t", &[]).await.is_err());
        register_input(&ctx, &root, "t").await.unwrap();
        assert_eq!(rows(&ctx, "SELECT v FROM t").await[3], "| 1 |");
        assert_eq!(usage(&root.join(STAGING_DIR)).await.unwrap().0, 0);
    }
}
