//! `fletch scheduler --flight-sql` with two executors, queried the way a
//! notebook does: the Python ADBC Flight SQL driver (tests/setup.sh installs
//! it) registers job outputs, runs fletch UDFs and multi-stage aggregates, and
//! gets the same Arrow results as the embedded engine. The example notebook
//! (docs/notebooks/explore-taar-outputs.ipynb) runs top to bottom on it.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Cluster, consumer, fixture_table, fletch, ok, python, repo_path, sql_json};

/// The rows of `sql` run embedded over the tables under `root`, as lists in `columns` order.
fn embedded(root: &Path, sql: &str, columns: &[&str]) -> Vec<Vec<Value>> {
    sql_json(root, sql)
        .iter().map(|r| columns.iter().map(|c| r[*c].clone()).collect()).collect()
}

/// A quickstart-shaped directory: `data/` inputs and the taar-profiles output under `output/`.
fn outputs(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (data, out) = (dir.join("data"), dir.join("output"));
    fixture_table(&data, "taar_profiles_main_summary.sql", "main_summary", "submission_date_s3");
    fixture_table(&data, "taar_locale_clients.sql", "clients_daily", "submission_date_s3");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    ok(fletch(&["run", "taar-profiles", "-q", "--data-root", d, "--output-root", o, "--date", "20261121"]));
    (data, out)
}

#[test]
fn notebook_queries_over_flight_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = outputs(tmp.path());
    let profiles = out.join("taar/profiles");
    let cluster = Cluster::start_with(&tmp.path().join("cluster"), 2, &[], &["--flight-sql"], &[]);
    let uri = format!("grpc://{}", cluster.scheduler);

    let queries = [
        // Grouped by the Hive partition folder: a multi-stage plan over a DDL-registered table.
        ("per_prefix", &profiles, "SELECT client_id_prefix, count(*) AS n, min(ttl) AS ttl FROM client_profiles GROUP BY client_id_prefix ORDER BY client_id_prefix"),
        ("payloads", &profiles, "SELECT client_id, CAST(zlib_decompress(json_payload) AS VARCHAR) AS payload FROM client_profiles ORDER BY client_id"),
        ("locales", &data, "SELECT coalesce(locale, '(none)') AS locale, count(DISTINCT client_id) AS clients FROM clients_daily GROUP BY 1 ORDER BY clients DESC, locale"),
        ("buckets", &data, "SELECT did_bucket(client_id, 4) AS bucket, count(*) AS n FROM clients_daily GROUP BY 1 ORDER BY 1"),
    ];
    let location = |root: &Path, table: &str| format!("{}/{table}/", root.display());
    let request = json!({
        "setup": [
            format!("CREATE EXTERNAL TABLE client_profiles STORED AS PARQUET LOCATION '{}'", location(&profiles, "client_profiles")),
            format!("CREATE EXTERNAL TABLE clients_daily STORED AS PARQUET LOCATION '{}'", location(&data, "clients_daily")),
        ],
        "queries": queries.iter().map(|(name, _, sql)| (name.to_string(), json!(sql))).collect::<serde_json::Map<_, _>>(),
        "failing": {
            "parameter": "SELECT count(*) FROM client_profiles WHERE ttl > ?",
            "insert": "INSERT INTO client_profiles SELECT * FROM client_profiles",
            "copy": "COPY client_profiles TO '/nonexistent/copy.parquet'",
        },
    });
    let got: Value = serde_json::from_str(&python(&[&consumer("flight_sql.py"), &uri, &request.to_string()], &[])).unwrap();

    let tables: Vec<&str> = got["tables"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(tables.contains(&"client_profiles") && tables.contains(&"clients_daily"), "{tables:?}");
    for (name, root, sql) in queries {
        let result = &got["results"][name];
        let columns: Vec<&str> = result["schema"].as_array().unwrap().iter().map(|c| c[0].as_str().unwrap()).collect();
        let rows: Vec<Vec<Value>> = serde_json::from_value(result["rows"].clone()).unwrap();
        assert_eq!(rows, embedded(root, sql, &columns), "{name}: Flight SQL and embedded differ");
    }

    // Hand-checked: the five profiles of taar_profiles.rs, one per prefix, all with the
    // TTL of 2026-11-22 + 60 days; the prefix arrives as a string, not a dictionary.
    let ttl = 1_795_305_600 + 60 * 86_400;
    let per_prefix = &got["results"]["per_prefix"];
    assert_eq!(per_prefix["schema"], json!([["client_id_prefix", "string"], ["n", "int64"], ["ttl", "int64"]]));
    assert_eq!(per_prefix["rows"], json!(["45", "4e", "57", "5a", "66"].map(|p| json!([p, 1, ttl]))));
    assert_eq!(got["results"]["payloads"]["rows"].as_array().unwrap().len(), 5);
    let finished = cluster.finished_tasks();
    assert!(finished.iter().all(|&n| n > 0), "both executors ran tasks: {finished:?}");

    // What Flight SQL does not do fails with a message saying so (docs/notebooks.md).
    let errors = &got["errors"];
    assert!(errors["parameter"].as_str().unwrap().starts_with("NOT_IMPLEMENTED"), "{errors}");
    assert!(errors["insert"].as_str().unwrap().contains("does not support INSERT"), "{errors}");
    assert!(errors["copy"].as_str().unwrap().contains("does not support COPY"), "{errors}");

    // The example notebook, every code cell in order, on the same cluster and outputs.
    let notebook = repo_path("docs/notebooks/explore-taar-outputs.ipynb");
    let dir = tmp.path().to_str().unwrap();
    let printed = python(&[&consumer("run_notebook.py"), &notebook], &[("FLETCH_FLIGHT_SQL", &uri), ("FLETCH_QUICKSTART", dir)]);
    for expected in ["client_profiles", "clients_daily", "Rome"] {
        assert!(printed.contains(expected), "notebook output lacks {expected}:\n{printed}");
    }
}
