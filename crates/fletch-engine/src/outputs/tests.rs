use datafusion::prelude::SessionContext;

use super::*;
use crate::catalog::register_input;
use crate::session::{Mode, connect};

async fn frame(ctx: &SessionContext, sql: &str) -> DataFrame {
    ctx.sql(sql).await.unwrap()
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    text.lines().map(str::to_string).collect()
}

async fn read(root: &Location, path: &str) -> Option<Vec<u8>> {
    match root.store().unwrap().get(&key_of(&root.file_url(path))).await {
        Ok(got) => Some(got.bytes().await.unwrap().to_vec()),
        Err(_) => None,
    }
}

/// Nothing under the staging folder (and, on disk, not the folder itself).
async fn nothing_staged(root: &Location) {
    assert_eq!(usage(&root.join(STAGING_DIR)).await.unwrap().0, 0, "staging left behind");
    if let Some(dir) = root.join(STAGING_DIR).local_path() {
        assert!(!dir.exists(), "empty {} left behind", dir.display());
    }
}

/// Write, replace, read back: tables and files go in together.
async fn replace_and_read(root: Location) {
    let ctx = connect(&Mode::Embedded).await.unwrap();
    let mut out = Outputs::begin(&root, "job").await.unwrap();
    let t = out.stage_table("t", frame(&ctx, "SELECT * FROM (VALUES ('a', 1), ('b', 2), ('b', 3)) t(k, v)").await, &["k".to_string()]).await.unwrap();
    assert_eq!(t.rows, 3);
    out.stage_file("docs/a.json", b"[1]".to_vec()).await.unwrap();
    let written = out.commit().await.unwrap();
    assert_eq!((written[0].rows, written[0].files), (Some(3), 2), "{written:?}");
    assert_eq!((written[1].url.ends_with("/docs/a.json"), written[1].bytes), (true, 3));

    let mut out = Outputs::begin(&root, "job").await.unwrap();
    out.stage_table("t", frame(&ctx, "SELECT * FROM (VALUES ('c', 9)) t(k, v)").await, &["k".to_string()]).await.unwrap();
    out.stage_file("docs/a.json", b"[2]".to_vec()).await.unwrap();
    out.commit().await.unwrap();

    let t = register_input(&ctx, &root, "t").await.unwrap();
    assert_eq!((t.files, t.partition_cols.clone()), (1, vec!["k".to_string()]));
    assert_eq!(rows(&ctx, "SELECT k, v FROM t").await[3], "| c | 9 |");
    assert_eq!(read(&root, "docs/a.json").await.unwrap(), b"[2]");
    nothing_staged(&root).await;
}

#[tokio::test]
async fn outputs_are_replaced_whole_on_local_disk() {
    let dir = tempfile::tempdir().unwrap();
    replace_and_read(Location::parse("test", dir.path().to_str().unwrap()).unwrap()).await;
}

#[tokio::test]
async fn outputs_are_replaced_whole_on_object_stores() {
    replace_and_read(Location::parse("test", "memory://outputs-test/root").unwrap()).await;
}

#[tokio::test]
async fn empty_partitioned_results_stay_readable_with_every_column() {
    let root = Location::parse("test", "memory://outputs-test/empty").unwrap();
    let ctx = connect(&Mode::Embedded).await.unwrap();
    let mut out = Outputs::begin(&root, "job").await.unwrap();
    out.stage_table("t", frame(&ctx, "SELECT * FROM (VALUES ('a', 1)) t(k, v) WHERE v > 5").await, &["k".to_string()]).await.unwrap();
    let w = out.commit().await.unwrap();
    assert_eq!((w[0].rows, w[0].files), (Some(0), 1));
    register_input(&ctx, &root, "t").await.unwrap();
    assert_eq!(rows(&ctx, "SELECT count(*) AS n, max(k) AS k, sum(v) AS v FROM t").await[3], "| 0 |   |   |");
}

#[tokio::test]
async fn discarded_runs_keep_every_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let root = Location::parse("test", dir.path().to_str().unwrap()).unwrap();
    let ctx = connect(&Mode::Embedded).await.unwrap();
    let mut out = Outputs::begin(&root, "job").await.unwrap();
    out.stage_table("t", frame(&ctx, "SELECT 1 AS v").await, &[]).await.unwrap();
    out.stage_file("a.json", b"old".to_vec()).await.unwrap();
    out.commit().await.unwrap();

    let mut out = Outputs::begin(&root, "job").await.unwrap();
    out.stage_file("a.json", b"new".to_vec()).await.unwrap();
    let bad = frame(&ctx, "SELECT CAST(x AS INT) AS v FROM (VALUES ('1'), ('oops')) t(x)").await;
    assert!(out.stage_table("t", bad, &[]).await.is_err());
    out.discard().await;
    register_input(&ctx, &root, "t").await.unwrap();
    assert_eq!(rows(&ctx, "SELECT v FROM t").await[3], "| 1 |");
    assert_eq!(read(&root, "a.json").await.unwrap(), b"old");
    nothing_staged(&root).await;
}

#[tokio::test]
async fn scratch_tables_are_readable_and_never_committed() {
    let root = Location::parse("test", "memory://outputs-test/scratch").unwrap();
    let ctx = connect(&Mode::Embedded).await.unwrap();
    let mut out = Outputs::begin(&root, "job").await.unwrap();
    assert_eq!(out.scratch_table(&ctx, "s", frame(&ctx, "SELECT 7 AS v").await, &[]).await.unwrap().rows, 1);
    assert_eq!(rows(&ctx, "SELECT v FROM s").await[3], "| 7 |");
    assert!(out.commit().await.unwrap().is_empty());
    assert_eq!(usage(&root).await.unwrap().0, 0);
}

#[tokio::test]
async fn a_second_run_of_a_job_fails_at_once_naming_the_first() {
    let root = Location::parse("test", "memory://outputs-test/busy").unwrap();
    let first = Outputs::begin(&root, "job").await.unwrap();
    let e = Outputs::begin(&root, "job").await.err().unwrap();
    assert!(matches!(e, Error::Busy(_)), "{e}");
    assert!(e.to_string().contains(&format!("held by run {} of job on host", first.run_id())), "{e}");
    // Other jobs are not blocked.
    Outputs::begin(&root, "other").await.unwrap().discard().await;
    first.discard().await;
    Outputs::begin(&root, "job").await.unwrap().discard().await;
}

#[tokio::test]
async fn bad_output_names_are_refused_before_anything_is_written() {
    let root = Location::parse("test", "memory://outputs-test/names").unwrap();
    let mut out = Outputs::begin(&root, "job").await.unwrap();
    for bad in ["../victim", "/abs", "a//b", "a/./b", ".hidden", "a/.fletch-staging/x", ""] {
        let e = out.stage_file(bad, Vec::new()).await.unwrap_err();
        assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        assert!(e.to_string().starts_with(&format!("output `{bad}`")), "{e}");
        assert!(out.table_dir(bad).is_err(), "{bad}");
    }
    out.stage_file("a.json", Vec::new()).await.unwrap();
    assert!(out.stage_file("a.json", Vec::new()).await.unwrap_err().to_string().contains("written twice"));
    out.discard().await;
}

/// A run killed during its commit, after the journal and part of the moves:
/// the next run of the job finishes that commit before starting.
async fn interrupted_commit_is_finished_by_the_next_run(root: Location) {
    let ctx = connect(&Mode::Embedded).await.unwrap();
    let mut out = Outputs::begin(&root, "job").await.unwrap();
    out.stage_table("a", frame(&ctx, "SELECT 1 AS v").await, &[]).await.unwrap();
    out.stage_table("b", frame(&ctx, "SELECT 1 AS v").await, &[]).await.unwrap();
    out.commit().await.unwrap();

    let mut out = Outputs::begin(&root, "job").await.unwrap();
    out.stage_table("a", frame(&ctx, "SELECT 2 AS v").await, &[]).await.unwrap();
    out.stage_table("b", frame(&ctx, "SELECT 2 AS v").await, &[]).await.unwrap();
    out.stage_file("c.json", b"2".to_vec()).await.unwrap();
    // What commit() does up to its first move, then the process "dies".
    let mut moves = Vec::new();
    for s in &out.staged {
        let staged = out.run.join(&format!("{}/{}", s.kind.folder(), s.path));
        let files = match (s.kind, staged.local_path()) {
            (Kind::Table, None) => Some(list_relative(&staged).await.unwrap()),
            _ => None,
        };
        moves.push(Move { kind: s.kind, path: s.path.clone(), files });
    }
    let journal = Journal { run_id: out.run_id.clone(), moves };
    journal.write(&out.run).await.unwrap();
    Journal { run_id: journal.run_id.clone(), moves: journal.moves[..1].to_vec() }.apply(&out.run, &root).await.unwrap();
    out.done = true;
    out.stop_renewing();
    let lease = out.lease.lock().await.take().unwrap();
    drop(out);
    // The dead run's lease expired (another host) or its process is gone.
    drop(lease);
    let lease_key = key_of(&root.file_url(&format!("{STAGING_DIR}/job.lease")));
    let mut dead = Holder::new("dead", "job");
    dead.expires = chrono::Utc::now() - chrono::Duration::seconds(1);
    root.store().unwrap().put(&lease_key, PutPayload::from(serde_json::to_vec(&dead).unwrap())).await.unwrap();

    // Mixed state now: a is new, b still old.
    register_input(&ctx, &root, "b").await.unwrap();
    assert_eq!(rows(&ctx, "SELECT v FROM b").await[3], "| 1 |");
    Outputs::begin(&root, "job").await.unwrap().discard().await;
    for t in ["a", "b"] {
        register_input(&ctx, &root, t).await.unwrap();
        assert_eq!(rows(&ctx, &format!("SELECT v FROM {t}")).await[3], "| 2 |", "{t}");
    }
    assert_eq!(read(&root, "c.json").await.unwrap(), b"2");
    nothing_staged(&root).await;
}

#[tokio::test]
async fn interrupted_commits_are_finished_on_disk_and_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    interrupted_commit_is_finished_by_the_next_run(Location::parse("test", dir.path().to_str().unwrap()).unwrap()).await;
    interrupted_commit_is_finished_by_the_next_run(Location::parse("test", "memory://outputs-test/crash").unwrap()).await;
}

#[tokio::test]
async fn killed_runs_staging_is_removed_by_the_next_run_and_by_repair() {
    let dir = tempfile::tempdir().unwrap();
    let root = Location::parse("test", dir.path().to_str().unwrap()).unwrap();
    let ctx = connect(&Mode::Embedded).await.unwrap();
    // A run "killed" before its commit: staging and a lease of a gone process.
    let mut out = Outputs::begin(&root, "job").await.unwrap();
    let staged = out.stage_table("t", frame(&ctx, "SELECT 1 AS v").await, &[]).await.unwrap();
    out.done = true;
    out.stop_renewing();
    let run_id = out.run_id.clone();
    drop(out.lease.lock().await.take());
    drop(out);
    // The lease of a process that is gone: same host, another start time.
    let dead = Holder { pid_start: Some(1), ..Holder::new(&run_id, "job") };
    let body = serde_json::to_vec(&dead).unwrap();
    let lease_file = dir.path().join(format!("{STAGING_DIR}/job.lease"));
    std::fs::write(&lease_file, body).unwrap();
    assert!(staged.location.local_path().unwrap().exists());

    let report = repair(&root).await.unwrap();
    assert_eq!(report, ["job: repaired"]);
    assert!(!root.join("t").local_path().unwrap().exists(), "uncommitted data must not appear");
    nothing_staged(&root).await;
}
