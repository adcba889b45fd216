//! The same queries and job on a real cluster (scheduler + two executor
//! processes on loopback) and embedded must give the same results.

use crate::support::{Cluster, ok, sample, sql_csv, fletch};

/// Each covers a shape that has broken in Ballista before or needs every
/// process to know fletch's functions. All are totally ordered.
const QUERIES: &[(&str, &str)] = &[
    ("scalar udf", "SELECT did_bucket(client_id, 4) AS bucket, count(*) AS n FROM events GROUP BY 1 ORDER BY 1"),
    (
        "groups-accumulator udaf",
        "SELECT locale, keyword_histories(CAST(day AS BIGINT), CAST(did_bucket(client_id, 3) AS BIGINT), 'k' || did_bucket(client_id, 3), 1, 0)['kwi_show_counts'] AS h \
         FROM events GROUP BY locale ORDER BY locale",
    ),
    (
        "window",
        "SELECT locale, rn, client_id, day FROM (SELECT locale, client_id, day, \
         row_number() OVER (PARTITION BY locale ORDER BY hours DESC, client_id, day) AS rn FROM events) \
         WHERE rn <= 3 ORDER BY locale, rn",
    ),
    (
        "unnest of structs",
        "SELECT addon['addon_id'] AS addon_id, sum(CASE WHEN addon['enabled'] THEN 1 ELSE 0 END) AS enabled, \
         count(*) AS installs FROM (SELECT unnest(addons) AS addon FROM events) GROUP BY 1 ORDER BY 1",
    ),
    (
        "nested functions",
        "SELECT array_length(addons) AS n, map(['l'], [locale])['l'] AS m, count(*) AS c FROM events GROUP BY 1, 2 ORDER BY 1, 2",
    ),
    (
        "taar similarity udfs",
        "SELECT spark_hashing_tf_index(addon['addon_id'], 16) AS idx, \
         sum(CASE WHEN taar_distance(make_array(locale, 'x'), make_array(hours, 1.0), make_array('en-US', 'x'), make_array(1.0, 1.0)) > 0.01 \
         THEN 1 ELSE 0 END) AS far, count(*) AS n FROM (SELECT locale, hours, unnest(addons) AS addon FROM events) GROUP BY 1 ORDER BY 1",
    ),
    (
        "kernel density udaf",
        "SELECT locale, round(gaussian_kde(CAST(hours AS DOUBLE), 0.5, 0.0, 24.0, 4)[1], 9) AS d0, \
         round(gaussian_kde(CAST(hours AS DOUBLE), 0.5, 0.0, 24.0, 4)[3], 9) AS d2 FROM events GROUP BY locale ORDER BY locale",
    ),
    (
        "k-means udfs",
        "SELECT bisecting_kmeans_leaf(terms, '{\"idf\": [[0, 1.0], [1, 1.0]], \"centers\": [[2, [[0, 1.0]]], [3, [[1, 1.0]]]]}') AS leaf, \
         term_moments(terms) AS m FROM (SELECT [spark_hashing_tf_index(locale, 2), spark_hashing_tf_index(client_id, 2)] AS terms FROM events) \
         GROUP BY 1 ORDER BY 1",
    ),
    ("order by limit", "SELECT client_id, day, hours FROM events ORDER BY hours DESC, client_id, day LIMIT 7"),
];

#[test]
fn cluster_matches_embedded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sample(&tmp.path().join("sample"));
    let mut cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let remote = Some(cluster.scheduler.as_str());

    // The first job: a query over 83 KB is planned with as many partitions
    // as the cluster has task slots (two executors of two), not
    // DataFusion's 16, so its three stages (scan, grouping, the sorted
    // results) run at most 4 + 4 + 1 tasks (20 with 16 partitions).
    let per_locale = "SELECT locale, count(*) AS n FROM events GROUP BY locale ORDER BY locale";
    assert_eq!(sql_csv(remote, &data, per_locale, &[]), sql_csv(None, &data, per_locale, &[]));
    let tasks: usize = cluster.finished_tasks().iter().sum();
    assert!((3..=9).contains(&tasks), "{tasks} tasks");

    // Hand-checked: 2,000 clients x 7 days, minus the (client + day) % 3 == 0 pairs.
    assert_eq!(sql_csv(remote, &data, "SELECT count(*) AS n FROM events", &[]), "n\n9333\n");

    for (name, sql) in QUERIES {
        let embedded = sql_csv(None, &data, sql, &[]);
        let distributed = sql_csv(remote, &data, sql, &[]);
        assert!(embedded.lines().count() > 1, "{name}: no rows\n{embedded}");
        assert_eq!(distributed, embedded, "{name}: cluster and embedded differ");
    }
    // A fletch table function: its provider crosses to the scheduler through
    // fletch's codec; the rows it reads travel to the executors in the plan.
    let whitelist = data.join("whitelist.json");
    std::fs::write(&whitelist, r#"["addon-3", "addon-14", "not-installed", "addon-0"]"#).unwrap();
    let joined = format!(
        "SELECT w.position, w.value, count(a.id) AS installs FROM json_list('{}') AS w \
         LEFT JOIN (SELECT addon['addon_id'] AS id FROM (SELECT unnest(addons) AS addon FROM events)) AS a \
         ON a.id = w.value GROUP BY 1, 2 ORDER BY 1",
        whitelist.display()
    );
    let embedded = sql_csv(None, &data, &joined, &[]);
    assert_eq!(sql_csv(remote, &data, &joined, &[]), embedded);
    let lines: Vec<_> = embedded.lines().collect();
    assert_eq!(lines.len(), 5, "{embedded}");
    assert_eq!(lines[3], "2,not-installed,0");

    let (_, order_by_limit) = QUERIES.iter().find(|(name, _)| *name == "order by limit").unwrap();
    let limited = sql_csv(remote, &data, order_by_limit, &[]);
    assert_eq!(limited.lines().count(), 8, "LIMIT 7 plus header:\n{limited}");

    // COPY ... TO Parquet runs on the executors; read both copies back embedded.
    // Under the data root: the only local folder `fletch sql` may write here.
    let copies = data.join("copies");
    for (mode, scheduler) in [("cluster", remote), ("embedded", None)] {
        let target = copies.join(mode);
        let copy = format!(
            "COPY (SELECT client_id, day, did_bucket(client_id, 2) AS bucket FROM events) TO '{}/' STORED AS PARQUET",
            target.display()
        );
        sql_csv(scheduler, &data, &copy, &[]);
    }
    let summary = "SELECT bucket, count(*) AS n, min(client_id) AS lo, max(client_id) AS hi FROM {} GROUP BY 1 ORDER BY 1";
    assert_eq!(
        sql_csv(None, &copies, &summary.replace("{}", "cluster"), &[]),
        sql_csv(None, &copies, &summary.replace("{}", "embedded"), &[])
    );

    // The job framework's atomic Parquet writer, partitioned, through the cluster.
    let sql_file = tmp.path().join("by_day.sql");
    std::fs::write(&sql_file, "SELECT day, locale, client_id, did_bucket(client_id, 2) AS bucket FROM events").unwrap();
    let outputs = tmp.path().join("outputs");
    for (mode, scheduler) in [("cluster", remote), ("embedded", None)] {
        let root = outputs.join(mode);
        let mut args = vec!["run", "sql-file", "-q", "--data-root", data.to_str().unwrap(), "--output-root", root.to_str().unwrap()];
        args.extend(["--sql", sql_file.to_str().unwrap(), "--partition-by", "day", "--date", "20261122"]);
        if let Some(s) = scheduler {
            args.extend(["--scheduler", s]);
        }
        let out = ok(fletch(&args));
        assert!(out.contains("9,333 rows"), "{out}");
        let days: Vec<_> = std::fs::read_dir(root.join("by_day")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(days.len(), 7, "{mode}: one folder per day: {days:?}");
    }
    let per_day = "SELECT day, bucket, count(*) AS n FROM by_day GROUP BY 1, 2 ORDER BY 1, 2";
    assert_eq!(sql_csv(None, &outputs.join("cluster"), per_day, &[]), sql_csv(None, &outputs.join("embedded"), per_day, &[]));

    let tasks = cluster.finished_tasks();
    assert!(tasks.iter().all(|&n| n > 0), "work did not reach every executor: {tasks:?}");

    let forced = cluster.procs.stop();
    assert!(forced.is_empty(), "did not stop on SIGTERM: {forced:?}");
}
