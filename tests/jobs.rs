//! The job framework through the `sql-file` job and `fletch quickstart`.

use crate::support::{fixture, fletch, ok, sample, sql_csv, stderr};

#[test]
fn fixture_report_is_hand_checkable() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sample(tmp.path());
    let out = tmp.path().join("output");
    ok(run_sql_file(data.to_str().unwrap(), out.to_str().unwrap(), &fixture("daily_addons.sql"), &[]));
    // 4 locales x 7 days.
    assert_eq!(sql_csv(None, &out, "SELECT count(*) AS n FROM daily_addons", &[]), "n\n28\n");
    // Day 0 drops clients with u % 3 == 0; `de` is u % 4 == 1: 500 - 166 = 334.
    assert_eq!(
        sql_csv(None, &out, "SELECT clients FROM daily_addons WHERE day = '20261115' AND locale = 'de'", &[]),
        "clients\n334\n"
    );
    // The fixture is partitioned by day; partition values come back as strings.
    assert_eq!(
        sql_csv(None, &data, "SELECT day, count(*) AS n FROM events WHERE day <= '20261116' GROUP BY day ORDER BY day", &[]),
        "day,n\n20261115,1333\n20261116,1334\n"
    );
}

#[test]
fn quickstart_generates_every_dataset_and_runs_every_job() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(fletch(&["quickstart", "-q", "--dir", tmp.path().to_str().unwrap()]));
    for line in ["gen clients-daily:", "gen main-summary:", "gen amo:", "gen lookalike:", "sql-file:", "output/locale_top_addons/", "taar-locale:", "output/taar/locale/top10_dict.json",
                 "taar-amowhitelist:", "output/telemetry-ml/addon_recommender/whitelist_addons_database.json",
                 "taar-lite-guidguid:", "output/taar/lite/guid_coinstallation.json",
                 "taar-lite-guidranking:", "output/taar/lite/guid_install_ranking.json",
                 "taar-collaborative:", "output/telemetry-ml/addon_recommender/item_matrix.json",
                 "taar-ensemble:", "output/taar/ensemble/ensemble_weight_daily.json",
                 "taar-profiles:", "output/taar/profiles/client_profiles/",
                 "gen ab-test:", "ab-readout:", "output/ab-readout/readout.md",
                 "gen noisy-images:", "ising-denoise:", "output/ising-denoise/images/letters-001.png", "output/ising-denoise/ising_metrics/",
                 "gen webapp:", "access-logs:", "output/web/behaviour/",
                 "gen lookalike-scores:", "lookalike-vectors:", "output/lookalike_score_vector/", "output/lookalike_score_matrix/",
                 "lookalike-similarity:", "output/lookalike_similarity/",
                 "db-import users:", "output/web/users/", "db-import transactions:", "output/web/transactions/",
                 "sql-file actions_by_segment:", "output/actions_by_segment/", "sql-file signup_funnel:", "output/signup_funnel/"] {
        assert!(out.contains(line), "{line} missing from:\n{out}");
    }
    // Up to three ranked, curated add-ons per locale, most clients first.
    let report = sql_csv(None, &tmp.path().join("output"), "SELECT locale, rank, guid, clients FROM locale_top_addons ORDER BY locale, rank", &[]);
    let rows: Vec<Vec<&str>> = report.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 30, "{report}");
    let curated: Vec<String> = serde_json::from_slice(
        &std::fs::read(tmp.path().join("data/telemetry-ml/addon_recommender/only_guids_top_200.json")).unwrap(),
    )
    .unwrap();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a[0] == b[0] {
            assert_eq!(b[1].parse::<u32>().unwrap(), a[1].parse::<u32>().unwrap() + 1, "{report}");
            assert!(b[3].parse::<u32>().unwrap() <= a[3].parse::<u32>().unwrap(), "{report}");
        }
    }
    assert!(rows.iter().all(|r| r[1].parse::<u32>().unwrap() <= 3 && curated.iter().any(|g| g == r[2])), "{report}");
    web_reports_hold_every_generated_user(&tmp.path().join("output"));
    dry_runs_plan_every_step_and_name_what_runs_write(tmp.path(), &out);
}

/// The web reports over the generated application (100 users at the sample's
/// scale, each with an account): every user once in the funnel, each stage
/// within the one before, and requests only of users that exist.
fn web_reports_hold_every_generated_user(out: &std::path::Path) {
    let funnel = crate::support::sql_json(out, "SELECT sum(signed_up) AS users, sum(with_account) AS accounts, bool_and(seen <= signed_up AND transacted <= with_account AND with_account <= signed_up) AS ordered, sum(transacted) > 0 AS some FROM signup_funnel");
    assert_eq!(funnel, [serde_json::json!({"users": 100, "accounts": 100, "ordered": true, "some": true})]);
    let web = out.join("web");
    let users = crate::support::sql_json(&web, "SELECT count(*) AS n FROM users");
    assert_eq!(users, [serde_json::json!({"n": 100})]);
    let segments = crate::support::sql_json(out, "SELECT sum(requests) AS requests, max(users) AS most FROM actions_by_segment");
    let routed = crate::support::sql_json(&web, "SELECT count(*) AS n FROM behaviour WHERE params['user_id'] IS NOT NULL OR params['account_id'] IS NOT NULL");
    let (requests, routed) = (segments[0]["requests"].as_i64().unwrap(), routed[0]["n"].as_i64().unwrap());
    // Every generated id exists, so every request naming a user or account is counted.
    assert_eq!(requests, routed, "{segments:?}");
    assert!(segments[0]["most"].as_i64().unwrap() <= 100);
}

/// Each job of the quickstart again with `--dry-run`, into a fresh output
/// root: nothing is written there, every SQL file of the jobs is planned, and
/// the outputs a dry run names are the ones the quickstart's run wrote.
fn dry_runs_plan_every_step_and_name_what_runs_write(dir: &std::path::Path, quickstart: &str) {
    let (data, dry) = (dir.join("data"), dir.join("dry"));
    let (data, dry_root) = (data.to_str().unwrap(), dry.to_str().unwrap());
    let report = dir.join("locale_top_addons.sql");
    let whitelist = dir.join("output/telemetry-ml/addon_recommender/whitelist_addons_database.json");
    let routes = dir.join("data/webapp/routes.tsv");
    let sqlite = ["--connect", "sqlite://webapp/webapp.sqlite", "--prefix", "web/", "--table"];
    let jobs: [(&str, Vec<&str>); 14] = [
        ("sql-file", vec!["--sql", report.to_str().unwrap()]),
        ("taar-amowhitelist", vec![]),
        ("taar-locale", vec![]),
        ("taar-similarity", vec![]),
        ("taar-collaborative", vec![]),
        ("taar-lite-guidguid", vec!["--whitelist", whitelist.to_str().unwrap()]),
        ("taar-lite-guidranking", vec![]),
        ("taar-profiles", vec![]),
        ("lookalike-prepare", vec![]),
        ("ab-readout", vec![]),
        ("ising-denoise", vec!["--reference", "ising/clean"]),
        ("pflip-features", vec![]),
        ("access-logs", vec!["--routes", routes.to_str().unwrap()]),
        ("db-import users", [&sqlite[..], &["users", "--split-by", "user_id"]].concat()),
    ];
    let mut planned = std::collections::BTreeSet::new();
    for (label, flags) in jobs {
        let job = label.split(' ').next().unwrap();
        let mut args = vec!["run", job, "--data-root", data, "--output-root", dry_root, "--date", "20261121", "--dry-run", "--format", "json", "-q"];
        args.extend(flags);
        let summary: serde_json::Value = serde_json::from_str(&ok(fletch(&args))).unwrap();
        assert_eq!(summary["dry_run"], true);
        let sources: Vec<&str> = summary["plans"].as_array().unwrap().iter().map(|p| p["source"].as_str().unwrap()).collect();
        for plan in summary["plans"].as_array().unwrap() {
            let text = plan["plan"].as_str().unwrap();
            assert!(text.contains("logical_plan:") && text.contains("physical_plan:"), "{job}: {plan}");
        }
        if job == "taar-locale" {
            assert_eq!(sources, ["sql/taar/window_rows.sql", "sql/taar-locale/client_addons.sql", "sql/taar-locale/locale_counts.sql"]);
        }
        planned.extend(sources.iter().map(|s| s.to_string()));
        // The same outputs, under the other root, as the run's summary lists them.
        let would: Vec<String> = summary["outputs"].as_array().unwrap().iter().map(|o| o["url"].as_str().unwrap().replace("/dry/", "/output/")).collect();
        let section = quickstart.split(&format!("\n{label}:\n")).nth(1).unwrap_or_else(|| panic!("{label} not in {quickstart}"));
        let wrote: Vec<&str> = section.lines().take_while(|l| l.starts_with("  ")).map(|l| l.trim().split("  (").next().unwrap()).collect();
        assert_eq!(would, wrote, "{job}");
    }
    assert!(!dry.exists(), "a dry run wrote {}", dry.display());
    // taar-ensemble, the lookalike application, pflip-train and pflip-predict read what earlier jobs wrote under the
    // output root: planned over the quickstart's (a dry run writes nothing),
    // the quickstart's runs and other variants.
    let output = dir.join("output");
    let model = ["--model-url", "http://127.0.0.1:9/v1/models/lookalike:predict"];
    let models = ["--models-root", output.to_str().unwrap()];
    let in_quickstart: [(&str, Vec<&str>, bool); 18] = [
        ("taar-ensemble", models.to_vec(), true),
        ("taar-ensemble", [&models[..], &["--training-table", "training"]].concat(), false),
        ("lookalike-vectors", vec!["--scores-from", "data"], true),
        ("lookalike-similarity", vec![], true),
        ("lookalike-seeds", vec![], true),
        ("lookalike-clusters", vec!["--num-clusters", "16", "--target-cluster-size", "40"], true),
        ("lookalike-extend", vec![], true),
        ("lookalike-validate", vec!["--scores-from", "data", "--plan1-sample", "300", "--plan1-top", "50"], true),
        ("lookalike-extend", vec!["--small-seed-threshold", "0"], false),
        ("lookalike-extend", vec!["--method", "mean-top10", "--scores-from", "data"], false),
        ("lookalike-scores", model.to_vec(), false),
        ("lookalike-scores", [&model[..], &["--normalize"]].concat(), false),
        ("lookalike-vectors", vec!["--scores-from", "data", "--keywords-from", "effective"], false),
        ("lookalike-similarity", vec!["--method", "ivf"], false),
        ("pflip-train", vec![], true),
        ("pflip-predict", vec![], true),
        ("pflip-predict", vec!["--write-features", "--at-cutoff", "MAX"], false),
        // Without the clean stage the click log's stand-in is planned instead of it.
        ("lookalike-prepare", vec!["--stages", "keywords"], false),
    ];
    for (job, flags, ran) in in_quickstart {
        let mut args = vec!["run", job, "--data-root", data, "--output-root", output.to_str().unwrap(), "--date", "20261121", "--dry-run", "--format", "json", "-q"];
        args.extend(flags);
        let summary: serde_json::Value = serde_json::from_str(&ok(fletch(&args))).unwrap();
        planned.extend(summary["plans"].as_array().unwrap().iter().map(|p| p["source"].as_str().unwrap().to_string()));
        if ran {
            let would: Vec<&str> = summary["outputs"].as_array().unwrap().iter().map(|o| o["url"].as_str().unwrap()).collect();
            let section = quickstart.split(&format!("\n{job}:\n")).nth(1).unwrap_or_else(|| panic!("{job} not in {quickstart}"));
            let wrote: Vec<&str> = section.lines().take_while(|l| l.starts_with("  ")).map(|l| l.trim().split("  (").next().unwrap()).collect();
            assert_eq!(would, wrote, "{job}");
        }
    }
    // Every step of every job was planned (taar-similarity's cluster
    // assignments run only with --clusters-table; the quickstart's and the web
    // reports' SQL is sql-file's).
    let repo = std::path::PathBuf::from(crate::support::repo_path("sql"));
    for folder in std::fs::read_dir(&repo).unwrap().map(|e| e.unwrap().path()).filter(|p| !p.ends_with("quickstart") && !p.ends_with("web")) {
        for file in std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()) {
            let source = format!("sql/{}/{file}", folder.file_name().unwrap().to_str().unwrap());
            assert!(planned.contains(&source) || source == "sql/taar-similarity/cluster_assignments.sql", "{source} was not planned: {planned:?}");
        }
    }
}

fn run_sql_file(data: &str, out: &str, sql: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "sql-file", "-q", "--data-root", data, "--output-root", out, "--sql", sql, "--date", "20261122"];
    args.extend(extra);
    fletch(&args)
}

#[test]
fn sql_file_binds_typed_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    std::fs::create_dir(&data).unwrap();
    let sql = tmp.path().join("picked.sql");
    std::fs::write(
        &sql,
        "CREATE VIEW v AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t(id, name);\n\
         SELECT id, name, $label AS label, $date AS run_date, $seed AS seed FROM v WHERE id <= $max_id ORDER BY id;",
    )
    .unwrap();
    let (d, o, s) = (data.to_str().unwrap(), out.to_str().unwrap(), sql.to_str().unwrap());
    let summary = ok(run_sql_file(d, o, s, &["--param", "max_id:int=2", "--param", "label=it's; DROP TABLE v"]));
    assert!(summary.contains("picked/") && summary.contains("2 rows"), "{summary}");
    assert_eq!(
        sql_csv(None, &out, "SELECT * FROM picked ORDER BY id", &[]),
        "id,name,label,run_date,seed\n1,a,it's; DROP TABLE v,2026-11-22,42\n2,b,it's; DROP TABLE v,2026-11-22,42\n"
    );
    // A parameter the SQL needs but nobody gave.
    let missing = run_sql_file(d, o, s, &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("No value found for placeholder with name $max_id"), "{}", stderr(&missing));
}

#[test]
fn failed_runs_leave_previous_output_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sample(&tmp.path().join("sample"));
    let out = tmp.path().join("out");
    let sql = tmp.path().join("t.sql");
    let (d, o, s) = (data.to_str().unwrap(), out.to_str().unwrap(), sql.to_str().unwrap());

    std::fs::write(&sql, "SELECT day, count(*) AS n FROM events GROUP BY day").unwrap();
    ok(run_sql_file(d, o, s, &[]));
    let before = sql_csv(None, &out, "SELECT * FROM t ORDER BY day", &[]);
    assert_eq!(before.lines().count(), 8);

    // Fails while running (a cast error on real rows), after the write started.
    std::fs::write(&sql, "SELECT day, CAST(client_id AS INT) AS n FROM events").unwrap();
    let failed = run_sql_file(d, o, s, &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(stderr(&failed).contains("Cannot cast string 'client-"), "{}", stderr(&failed));
    assert_eq!(sql_csv(None, &out, "SELECT * FROM t ORDER BY day", &[]), before);
    let staging = out.join(".fletch-staging");
    let leftovers: Vec<_> = std::fs::read_dir(&staging).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    assert!(leftovers.is_empty(), "staging not cleaned: {leftovers:?}");

    // A successful re-run replaces the table exactly (no files of the old version remain).
    std::fs::write(&sql, "SELECT day FROM events GROUP BY day HAVING day = '20261121'").unwrap();
    ok(run_sql_file(d, o, s, &[]));
    assert_eq!(sql_csv(None, &out, "SELECT * FROM t", &[]), "day\n20261121\n");
}

#[test]
fn jobs_lists_parameters_with_types_and_defaults() {
    let listing = ok(fletch(&["jobs"]));
    assert!(listing.contains("sql-file: run a SQL file"), "{listing}");
    assert!(listing.contains("--seed") && listing.contains("[int, default 42]"), "{listing}");
    assert!(listing.contains("--param") && listing.contains("repeatable"), "{listing}");
    assert!(listing.contains("writes <table>/ (Parquet table)"), "{listing}");
}
