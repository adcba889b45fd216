//! No silent wrong output and all-or-nothing commits: unreadable input files,
//! empty windows, paths that would leave the output root, concurrent runs,
//! and runs killed before or during their commit.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Cluster, assert_fails, fletch, fletch_bin, fletch_env, generated_taar_data, ok, python, stderr, tree};

const DATE: &str = "20261121";
const PREFIX: &str = "telemetry-ml/addon_recommender/";
/// The six files `taar-amowhitelist` writes, in commit order.
const AMO_OUTPUTS: [&str; 6] = [
    "whitelist_addons_database20261121.json",
    "whitelist_addons_database.json",
    "featured_addons_database20261121.json",
    "featured_addons_database.json",
    "featured_whitelist_addons20261121.json",
    "featured_whitelist_addons.json",
];

fn run_args<'a>(job: &'a str, data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run", job, "-q", "--data-root", data, "--output-root", out, "--date", DATE];
    args.extend(extra);
    args
}

fn run(job: &str, data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    fletch(&run_args(job, data.to_str().unwrap(), out.to_str().unwrap(), extra))
}

fn amo_files(out: &Path) -> Vec<Vec<u8>> {
    AMO_OUTPUTS.iter().map(|f| std::fs::read(out.join(PREFIX).join(f)).unwrap()).collect()
}

fn nothing_staged(out: &Path) {
    assert!(!out.join(".fletch-staging").exists(), "staging or lease left: {:?}", tree(&out.join(".fletch-staging")));
}

/// A run of `fletch` in the background, with extra environment.
fn spawn(args: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(fletch_bin()).args(args).envs(env.iter().copied()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(60), "{what} did not happen");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn generated(dir: &Path) -> PathBuf {
    generated_taar_data(dir, "0.01")
}

#[test]
fn empty_and_corrupt_input_files_fail_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path());
    let out = tmp.path().join("out");
    ok(run("taar-lite-guidranking", &data, &out, &[]));
    let before = tree(&out);

    // A zero-length file used to be skipped: the install total dropped by its rows, exit 0.
    let day = data.join("clients_daily/submission_date_s3=20261115");
    let file = std::fs::read_dir(&day).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&file, b"").unwrap();
    let r = run("taar-lite-guidranking", &data, &out, &[]);
    let name = format!("submission_date_s3=20261115/{}", file.file_name().unwrap().to_string_lossy());
    assert_fails(&r, 1, &format!("input table `clients_daily` at file://{}/clients_daily/: 1 of 28 files are not readable Parquet: {name} (empty, 0 bytes)", data.display()), "empty file");
    // A file that is not Parquet is named too, with the reader's reason.
    std::fs::write(&file, b"not parquet").unwrap();
    let r = run("taar-lite-guidranking", &data, &out, &[]);
    assert_fails(&r, 1, &format!("{name} (Parquet error:"), "corrupt file");
    assert_eq!(tree(&out), before, "the failed runs changed the outputs");
}

/// `--skip-unreadable-files` reads what the other files hold, on a cluster
/// too (whose scheduler lists the files again), and names what it left out.
#[test]
fn unreadable_files_are_skipped_when_asked_embedded_and_on_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path());
    let day = data.join("clients_daily/submission_date_s3=20261115");
    let file = std::fs::read_dir(&day).unwrap().next().unwrap().unwrap().path();
    // The reference: the same data without that file.
    std::fs::rename(&file, tmp.path().join("moved.parquet")).unwrap();
    let want = tmp.path().join("want");
    ok(run("taar-lite-guidranking", &data, &want, &[]));
    std::fs::write(&file, b"not parquet").unwrap();
    let name = format!("submission_date_s3=20261115/{}", file.file_name().unwrap().to_string_lossy());

    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    for (label, extra) in [("embedded", vec![]), ("cluster", vec!["--scheduler", cluster.scheduler.as_str()])] {
        let out = tmp.path().join(format!("out-{label}"));
        let r = run("taar-lite-guidranking", &data, &out, &[&["--skip-unreadable-files"], &extra[..]].concat());
        let log = stderr(&r);
        ok(r);
        assert!(log.contains("input table clients_daily: skipping 1 of 28 files, not readable Parquet (--skip-unreadable-files)"), "{label}: {log}");
        assert!(log.contains(&format!("skipped {name} (Parquet error:")), "{label}: {log}");
        let visible = |root: &Path| tree(root).into_iter().filter(|(f, _)| !f.starts_with('.')).collect::<Vec<_>>();
        assert_eq!(visible(&out), visible(&want), "{label}: outputs differ from a run without the file");
    }
}

/// DataFusion fails on text that is not UTF-8 naming no table, column or file.
#[test]
fn text_that_is_not_utf8_is_located() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let table = data.join("names/day=1");
    std::fs::create_dir_all(&table).unwrap();
    // pyarrow checks nothing when given the buffers of a string array.
    let write = "import sys, pyarrow as pa, pyarrow.parquet as pq\n\
                 good = pa.array(['ann', 'bob'])\n\
                 raw = pa.array([b'cy', b'd\\xffn'], type=pa.binary())\n\
                 bad = pa.Array.from_buffers(pa.string(), 2, raw.buffers())\n\
                 pq.write_table(pa.table({'id': [1, 2], 'name': good}), sys.argv[1] + '/part-0.parquet')\n\
                 pq.write_table(pa.table({'id': [3, 4], 'name': bad}), sys.argv[1] + '/part-1.parquet')";
    python(&["-c", write, table.to_str().unwrap()], &[]);
    let sql = tmp.path().join("names.sql");
    std::fs::write(&sql, "SELECT upper(name) AS name FROM names").unwrap();
    let r = run("sql-file", &data, &out, &["--sql", sql.to_str().unwrap()]);
    let place = format!("input table `names` at file://{}/names/ holds text that is not UTF-8 (file day=1/part-1.parquet, column name)", data.display());
    assert_fails(&r, 1, &place, "not UTF-8");
    assert!(!out.join("names").exists(), "nothing written");
}

/// object_store's "No space left on device" names no file; fletch adds the
/// folder it was writing and the SQL step. A 64 KiB tmpfs stands in for a
/// full disk (where mounting is not allowed, the test says so and passes).
#[test]
fn a_full_disk_is_named() {
    struct Mounted(PathBuf);
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let (data, disk) = (tmp.path().join("data"), tmp.path().join("disk"));
    std::fs::create_dir_all(data.join("t")).unwrap();
    std::fs::create_dir_all(&disk).unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(&disk).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("a_full_disk_is_named: cannot mount a tmpfs here; not tested");
        return;
    }
    let _unmount = Mounted(disk.clone());
    let sql = tmp.path().join("big.sql");
    std::fs::write(&sql, "SELECT repeat('x', 1000) || CAST(v AS VARCHAR) AS s FROM generate_series(1, 200000) t(v)").unwrap();
    let out = disk.join("out");
    let r = run("sql-file", &data, &out, &["--sql", sql.to_str().unwrap()]);
    assert_fails(&r, 1, &format!("error: {}: cannot write file://{}/.fletch-staging/sql-file.big/", sql.display(), out.display()), "disk full");
    assert_fails(&r, 1, "No space left on device", "disk full");
    assert_eq!(std::fs::read_dir(&disk).unwrap().count(), 0, "nothing left on the full disk");
}

#[test]
fn an_empty_window_keeps_the_previous_outputs_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path());
    let amo = tmp.path().join("amo");
    ok(run("taar-amowhitelist", &data, &amo, &[]));
    let whitelist = amo.join(PREFIX).join("whitelist_addons_database.json");
    let w = whitelist.to_str().unwrap();
    for (job, extra, output) in [
        ("taar-locale", vec![], "taar/locale/top10_dict.json"),
        ("taar-lite-guidranking", vec![], "taar/lite/guid_install_ranking.json"),
        ("taar-lite-guidguid", vec!["--whitelist", w], "taar/lite/guid_coinstallation.json"),
    ] {
        let out = tmp.path().join(job);
        ok(run(job, &data, &out, &extra));
        let good = std::fs::read(out.join(output)).unwrap();
        assert!(good.len() > 2, "{job}: {}", String::from_utf8_lossy(&good));
        // The generated days end on 20261121; a month later there is nothing.
        let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
        let mut args = vec!["run", job, "-q", "--data-root", d, "--output-root", o, "--date", "20261231"];
        args.extend(&extra);
        let r = fletch(&args);
        assert_fails(&r, 1, "no clients_daily rows from 2026120", job);
        assert!(stderr(&r).contains("to 20261231 under") && stderr(&r).contains("the previous outputs stay"), "{job}: {}", stderr(&r));
        assert_eq!(std::fs::read(out.join(output)).unwrap(), good, "{job}: outputs replaced");
        args.push("--allow-empty");
        ok(fletch(&args));
        assert_eq!(std::fs::read(out.join(output)).unwrap(), b"{}", "{job}: --allow-empty writes the empty output");
    }
}

#[test]
fn names_that_become_paths_stay_under_the_output_root() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path());
    let sql = tmp.path().join("q.sql");
    std::fs::write(&sql, "SELECT 1 AS x").unwrap();
    let s = sql.to_str().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("keep"), "keep").unwrap();
    let out = tmp.path().join("nested/out");
    for (job, flag, extra) in [
        ("sql-file", "--table", vec!["--sql", s]),
        ("taar-locale", "--prefix", vec![]),
        ("taar-lite-guidranking", "--prefix", vec![]),
        ("taar-lite-guidguid", "--prefix", vec![]),
        ("taar-amowhitelist", "--prefix", vec![]),
        ("taar-amodump", "--prefix", vec![]),
        ("taar-similarity", "--prefix", vec![]),
        ("taar-similarity", "--clusters-table", vec![]),
        ("taar-profiles", "--prefix", vec![]),
    ] {
        for bad in ["../../victim", "/etc/x/", "a//b/", ".fletch-staging/"] {
            let mut args = vec![flag, bad];
            args.extend(&extra);
            let r = run(job, &data, &out, &args);
            assert_fails(&r, 2, &format!("{flag} `{bad}`"), &format!("{job} {flag} {bad}"));
        }
    }
    assert_eq!(std::fs::read_to_string(victim.join("keep")).unwrap(), "keep");
    assert!(!out.exists(), "nothing may be written: {:?}", tree(&out));
}

#[test]
fn a_second_run_of_a_job_fails_at_once_naming_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path());
    let out = tmp.path().join("out");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    // The first run holds its lease while it waits before committing.
    let mut first = spawn(&run_args("taar-amowhitelist", d, o, &[]), &[("FLETCH_FAULTS", "commit.before_journal=sleep:30")]);
    let lease = out.join(".fletch-staging/taar-amowhitelist.lease");
    wait_until("the first run's lease", || lease.exists() && out.join(".fletch-staging/taar-amowhitelist").exists());
    let started = Instant::now();
    let second = run("taar-amowhitelist", &data, &out, &[]);
    assert_fails(&second, 1, "taar-amowhitelist.lease is held by run ", "second run");
    assert!(stderr(&second).contains("of taar-amowhitelist on host ") && stderr(&second).contains(&format!("(pid {})", first.id())), "{}", stderr(&second));
    assert!(started.elapsed() < Duration::from_secs(10), "the second run waited {:?}", started.elapsed());
    // Another job may write the same root meanwhile.
    ok(run("taar-lite-guidranking", &data, &out, &[]));
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn a_run_killed_while_staging_leaves_nothing_for_long() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path());
    let out = tmp.path().join("out");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let mut killed = spawn(&run_args("taar-amowhitelist", d, o, &["--min-rating", "4.5"]), &[("FLETCH_FAULTS", "commit.before_journal=sleep:30")]);
    wait_until("staged outputs", || tree(&out.join(".fletch-staging")).iter().any(|(f, _)| f.ends_with("whitelist_addons_database.json")));
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(!out.join(PREFIX).exists(), "nothing was committed");
    // The next run takes over the dead run's lease (its process is gone) and removes its staging.
    ok(run("taar-amowhitelist", &data, &out, &[]));
    nothing_staged(&out);
    let fresh = tmp.path().join("fresh");
    ok(run("taar-amowhitelist", &data, &fresh, &[]));
    assert_eq!(amo_files(&out), amo_files(&fresh));
}

#[test]
fn a_commit_cut_short_is_finished_by_the_next_run_or_by_repair() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path());
    let (strict, loose) = (tmp.path().join("strict"), tmp.path().join("loose"));
    ok(run("taar-amowhitelist", &data, &strict, &["--min-rating", "4.5"]));
    ok(run("taar-amowhitelist", &data, &loose, &["--min-rating", "1.0"]));
    assert_ne!(amo_files(&strict)[0], amo_files(&loose)[0], "the two versions must differ");

    for finisher in ["repair", "next run"] {
        let out = tmp.path().join(finisher.replace(' ', "-"));
        ok(run("taar-amowhitelist", &data, &out, &["--min-rating", "1.0"]));
        // The process dies right after the first of its six moves.
        let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
        let crashed = fletch_env(&run_args("taar-amowhitelist", d, o, &["--min-rating", "4.5"]), &[("FLETCH_FAULTS", "commit.after_move=abort")]);
        assert!(!crashed.status.success(), "the injected crash did not happen: {}", stderr(&crashed));
        let mixed = amo_files(&out);
        assert_eq!((&mixed[0], &mixed[1]), (&amo_files(&strict)[0], &amo_files(&loose)[1]), "a mix of the two runs");
        match finisher {
            "repair" => {
                let report = ok(fletch(&["repair", "--output-root", o]));
                assert_eq!(report, "taar-amowhitelist: repaired\n");
                assert_eq!(amo_files(&out), amo_files(&strict), "repair finishes the interrupted commit");
            }
            _ => {
                let next = fletch(&run_args("taar-amowhitelist", d, o, &["--min-rating", "1.0"]));
                assert!(next.status.success(), "{}", stderr(&next));
                assert!(stderr(&next).contains("finishing the interrupted commit of taar-amowhitelist run"), "{}", stderr(&next));
                assert_eq!(amo_files(&out), amo_files(&loose), "the next run's own outputs, complete");
            }
        }
        nothing_staged(&out);
    }
}

/// Ranking a million 32-character hashes sorts more than 128 MB fit.
const BIG_SORT: &str = "SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY h) AS r FROM \
    (SELECT md5(CAST(v AS VARCHAR)) AS h FROM generate_series(1, 1000000) AS t(v)))";

/// The `spill_count` of the plan's SortExec in an EXPLAIN ANALYZE.
fn sort_spills(explained: &str) -> u64 {
    let line = explained.lines().find(|l| l.contains("SortExec")).unwrap_or_else(|| panic!("no SortExec in\n{explained}"));
    let count = line.split("spill_count=").nth(1).unwrap_or_else(|| panic!("no spill_count in {line}"));
    count.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn a_memory_limit_makes_sorts_spill_and_names_itself_when_too_small() {
    let tmp = tempfile::tempdir().unwrap();
    let spill = tmp.path().join("spill");
    let explain = format!("EXPLAIN ANALYZE {BIG_SORT}");
    let bounded = ok(fletch(&["sql", "-q", "--memory-limit", "128M", "--spill-dir", spill.to_str().unwrap(), "-c", &explain]));
    assert!(sort_spills(&bounded) > 0, "{bounded}");
    assert!(spill.is_dir());
    let unbounded = ok(fletch(&["sql", "-q", "--memory-limit", "none", "-c", &explain]));
    assert_eq!(sort_spills(&unbounded), 0, "{unbounded}");

    // Too small even to spill: the error says which budget to raise.
    let r = fletch(&["sql", "-q", "--memory-limit", "1M", "-c", BIG_SORT]);
    assert_fails(&r, 1, "raise --memory-limit", "a budget smaller than a sort's merge buffer");
    let r = fletch(&["sql", "-q", "--memory-limit", "lots", "-c", "SELECT 1"]);
    assert_fails(&r, 2, "--memory-limit: expected bytes", "a limit that is no size");
    let r = fletch(&["run", "taar-locale", "-q", "--data-root", "x", "--output-root", "y", "--memory-limit", "8X"]);
    assert_fails(&r, 2, "`8X`", "a job's limit that is no size");

    // On a cluster the executors' own budgets apply (to the hashes as a table:
    // Ballista cannot ship generate_series).
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("hashes")).unwrap();
    let hashes = data.join("hashes/part-0.parquet");
    let copy = format!("COPY (SELECT CAST(md5(CAST(v AS VARCHAR)) AS VARCHAR) AS h FROM generate_series(1, 1000000) AS t(v)) TO '{}'", hashes.display());
    ok(fletch(&["sql", "-q", "--allowed-roots", data.to_str().unwrap(), "-c", &copy]));
    let cluster = Cluster::start_with(&tmp.path().join("cluster"), 2, &[], &[], &["--memory-limit", "1M"]);
    let rank = "SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY h) AS r FROM hashes)";
    let r = fletch(&["sql", "-q", "--data-root", data.to_str().unwrap(), "--scheduler", &cluster.scheduler, "-c", rank]);
    assert_fails(&r, 1, "raise --memory-limit", "executors whose budget is too small");
}
