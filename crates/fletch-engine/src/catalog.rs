//! Input tables: a folder under the data root named after the table, holding
//! Parquet files, optionally Hive-partitioned (`day=2020-01-07/`). Partition
//! values are strings, as in the original Hive tables.

use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::TryStreamExt;
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::location::Location;

/// What was registered for one input table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputTable {
    pub name: String,
    pub location: Location,
    pub files: usize,
    pub partition_cols: Vec<String>,
}

/// Parquet files, skipping hidden and marker files (`_SUCCESS`, `.crc`, staging dirs).
fn is_data_file(rel: &str) -> bool {
    rel.ends_with(".parquet") && !rel.split('/').any(|part| part.starts_with(['.', '_']))
}

/// `k=v` directory names between the table folder and the file.
fn partition_cols(rel: &str) -> Vec<String> {
    let dirs = rel.rsplit_once('/').map_or("", |(d, _)| d);
    dirs.split('/').filter_map(|d| d.split_once('=').map(|(k, _)| k.to_string())).collect()
}

/// Registers `data_root/<name>/` as table `name`.
/// A missing or empty folder is an error naming the table and the path searched.
pub async fn register_input(ctx: &SessionContext, data_root: &Location, name: &str) -> Result<InputTable> {
    let location = data_root.join(name);
    let store = location.store()?;
    let prefix = location.prefix();
    let files: Vec<String> = store
        .list(Some(&prefix))
        .map_ok(|meta| relative(&prefix, &meta.location))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| Error::input(format!("input table `{name}`: cannot list {location}: {e}")))?
        .into_iter()
        .filter(|rel| is_data_file(rel))
        .collect();
    let Some(first) = files.first() else {
        return Err(Error::input(format!(
            "input table `{name}` not found: no Parquet files under {location}"
        )));
    };
    let cols = partition_cols(first);
    let options = ParquetReadOptions::default()
        .table_partition_cols(cols.iter().map(|c| (c.clone(), DataType::Utf8)).collect());
    ctx.register_parquet(name, location.as_str(), options)
        .await
        .map_err(|e| Error::input(format!("input table `{name}` at {location}: {}", e.find_root())))?;
    log::info!("registered input table {name}: {} files under {location}", files.len());
    Ok(InputTable { name: name.to_string(), location, files: files.len(), partition_cols: cols })
}

/// Registers every table folder directly under `data_root` that holds Parquet files.
pub async fn register_all_inputs(ctx: &SessionContext, data_root: &Location) -> Result<Vec<InputTable>> {
    if let Some(dir) = data_root.local_path().filter(|d| !d.is_dir()) {
        return Err(Error::input(format!("--data-root: {} is not a directory", dir.display())));
    }
    let store = data_root.store()?;
    let listing = store
        .list_with_delimiter(Some(&data_root.prefix()))
        .await
        .map_err(|e| Error::input(format!("--data-root: cannot list {data_root}: {e}")))?;
    let mut tables = Vec::new();
    for dir in listing.common_prefixes {
        let Some(name) = dir.filename().map(str::to_string) else { continue };
        if name.starts_with(['.', '_']) {
            continue;
        }
        match register_input(ctx, data_root, &name).await {
            Ok(t) => tables.push(t),
            Err(Error::Input(msg)) if msg.contains("no Parquet files") => {
                log::info!("skipping {name}: {msg}")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(tables)
}

fn relative(prefix: &Path, path: &Path) -> String {
    path.prefix_match(prefix)
        .map(|parts| parts.map(|p| p.as_ref().to_string()).collect::<Vec<_>>().join("/"))
        .unwrap_or_else(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_partition_columns_and_skips_markers() {
        assert_eq!(partition_cols("day=2020-01-07/did_bucket=1/part-0.parquet"), ["day", "did_bucket"]);
        assert!(partition_cols("part-0.parquet").is_empty());
        assert!(is_data_file("a=1/x.parquet"));
        assert!(!is_data_file("_SUCCESS"));
        assert!(!is_data_file(".staging/x.parquet"));
        assert!(!is_data_file("x.parquet.crc"));
    }
}
