//! The files of an input table: which count, and that each is readable.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::execution::cache::cache_manager::FileMetadataCache;
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use crate::error::{Error, Result};
use crate::location::Location;

/// Files read at once when checking a table's footers.
const CONCURRENT_CHECKS: usize = 16;

/// A data file of a table.
pub(super) struct DataFile {
    /// Its path relative to the table folder.
    pub rel: String,
    pub meta: ObjectMeta,
}

/// Parquet files directly in the table folder or in `k=v` partition folders,
/// skipping hidden and marker files (`_SUCCESS`, `.crc`, staging folders).
pub(super) fn is_data_file(rel: &str) -> bool {
    let (dirs, file) = rel.rsplit_once('/').unwrap_or(("", rel));
    file.ends_with(".parquet")
        && !file.starts_with(['.', '_'])
        && (dirs.is_empty() || dirs.split('/').all(|d| d.contains('=') && !d.starts_with(['.', '_'])))
}

/// `k=v` directory names between the table folder and the file.
pub(super) fn partition_cols(rel: &str) -> Vec<String> {
    let dirs = rel.rsplit_once('/').map_or("", |(d, _)| d);
    dirs.split('/').filter_map(|d| d.split_once('=').map(|(k, _)| k.to_string())).collect()
}

/// The data files of the table folder at `location`.
pub(super) async fn table_files(name: &str, location: &Location) -> Result<Vec<DataFile>> {
    let listed = location.list_files().await.map_err(|e| Error::input(format!("input table `{name}`: {e}")))?;
    Ok(listed
        .into_iter()
        .map(|(rel, meta)| DataFile { rel, meta })
        .filter(|f| is_data_file(&f.rel))
        .collect())
}

/// A file that is not readable Parquet.
pub(super) struct Unreadable {
    /// Its object store path.
    pub path: String,
    /// Its path in the table and why (`day=1/a.parquet (empty, 0 bytes)`).
    pub why: String,
}

/// The files of `files` that are not readable Parquet (empty, or without a
/// valid footer), by path. The footers read land in the session's
/// metadata cache, so the schema inference that follows reuses them.
pub(super) async fn unreadable(ctx: &SessionContext, location: &Location, files: &[DataFile]) -> Result<Vec<Unreadable>> {
    let store = location.store()?;
    let cache = ctx.runtime_env().cache_manager.get_file_metadata_cache();
    // Owned arguments: a stream of futures borrowing `files` would not be Send
    // for every lifetime, which the jobs' futures need.
    let checks: Vec<_> = files.iter().map(|f| problem(store.clone(), cache.clone(), f.rel.clone(), f.meta.clone())).collect();
    let mut found: Vec<Unreadable> = futures::stream::iter(checks).buffer_unordered(CONCURRENT_CHECKS).filter_map(std::future::ready).collect().await;
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// The file schema of the Parquet files `files` of the table at `location`.
pub(super) async fn infer_schema(ctx: &SessionContext, location: &Location, files: &[ObjectMeta]) -> Result<SchemaRef> {
    let state = ctx.state();
    let schema = super::skipping::parquet_format(state.config_options()).infer_schema(&state, &location.store()?, files).await;
    schema.map_err(|e| Error::input(format!("input table at {location}: {}", e.find_root())))
}

/// The error for the unreadable files `found` of table `name`, naming the first five.
pub(super) fn unreadable_error(name: &str, location: &Location, files: usize, found: &[Unreadable]) -> Error {
    let shown: Vec<&str> = found.iter().take(5).map(|u| u.why.as_str()).collect();
    let more = if found.len() > shown.len() { format!(" and {} more", found.len() - shown.len()) } else { String::new() };
    Error::input(format!("input table `{name}` at {location}: {} of {files} files are not readable Parquet: {}{more}", found.len(), shown.join(", ")))
}

/// The rows of the Parquet files under `location`, from their footers.
pub async fn rows_in(location: &Location) -> Result<u64> {
    let store = location.store()?;
    let files = table_files(&location.to_string(), location).await?;
    let counts: Vec<_> = files.into_iter().map(|f| footer_rows(store.clone(), f.meta)).collect();
    futures::stream::iter(counts).buffer_unordered(CONCURRENT_CHECKS).try_fold(0, |sum, n| async move { Ok(sum + n) }).await
}

async fn footer_rows(store: Arc<dyn ObjectStore>, meta: ObjectMeta) -> Result<u64> {
    let footer = DFParquetMetadata::new(store.as_ref(), &meta).fetch_metadata().await.map_err(|e| Error::io(format!("cannot read the footer of {}: {}", meta.location, e.find_root())))?;
    Ok(footer.file_metadata().num_rows().max(0) as u64)
}

/// The first text value under `location` that is not UTF-8, as `file F,
/// column C`: DataFusion's own error names neither. Reads every text column
/// of every file, so it is for explaining a failure, not for every run.
pub async fn find_non_utf8(location: &Location) -> Result<Option<String>> {
    let store = location.store()?;
    for file in table_files(&location.to_string(), location).await? {
        let bytes = store.get(&file.meta.location).await.map_err(Error::from)?.bytes().await.map_err(Error::from)?;
        let bad = tokio::task::spawn_blocking(move || non_utf8_column(bytes)).await.map_err(|e| Error::io(e.to_string()))?;
        if let Some(column) = bad.map_err(|e| Error::io(format!("cannot read {}: {e}", file.rel)))? {
            return Ok(Some(format!("file {}, column {column}", file.rel)));
        }
    }
    Ok(None)
}

/// The path of the first text column of a Parquet file holding a value that is not UTF-8.
fn non_utf8_column(file: bytes::Bytes) -> datafusion::parquet::errors::Result<Option<String>> {
    use datafusion::parquet::basic::{ConvertedType, LogicalType};
    use datafusion::parquet::column::reader::get_typed_column_reader;
    use datafusion::parquet::data_type::ByteArrayType;
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

    let reader = SerializedFileReader::new(file)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let text: Vec<usize> = (0..schema.num_columns())
        .filter(|&i| {
            let c = schema.column(i);
            matches!(c.logical_type_ref(), Some(LogicalType::String)) || c.converted_type() == ConvertedType::UTF8
        })
        .collect();
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g)?;
        for &i in &text {
            let mut column = get_typed_column_reader::<ByteArrayType>(group.get_column_reader(i)?);
            let (mut values, mut def, mut rep) = (Vec::new(), Vec::new(), Vec::new());
            loop {
                values.clear();
                def.clear();
                rep.clear();
                let (records, _, _) = column.read_records(8192, Some(&mut def), Some(&mut rep), &mut values)?;
                if values.iter().any(|v| std::str::from_utf8(v.data()).is_err()) {
                    return Ok(Some(schema.column(i).path().string()));
                }
                if records == 0 {
                    break;
                }
            }
        }
    }
    Ok(None)
}

/// Why the file `rel` is not readable Parquet, if it is not.
async fn problem(store: Arc<dyn ObjectStore>, cache: Arc<FileMetadataCache>, rel: String, meta: ObjectMeta) -> Option<Unreadable> {
    let why = if meta.size == 0 {
        "empty, 0 bytes".to_string()
    } else {
        let footer = DFParquetMetadata::new(store.as_ref(), &meta).with_file_metadata_cache(Some(cache));
        footer.fetch_metadata().await.err()?.find_root().to_string()
    };
    Some(Unreadable { path: meta.location.to_string(), why: format!("{rel} ({why})") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_partition_columns_and_skips_markers() {
        assert_eq!(partition_cols("day=2020-01-07/did_bucket=1/part-0.parquet"), ["day", "did_bucket"]);
        assert!(partition_cols("part-0.parquet").is_empty());
        assert!(is_data_file("a=1/x.parquet"));
        assert!(is_data_file("x.parquet"));
        // A folder of tables is not itself a table.
        assert!(!is_data_file("daily_addons/x.parquet"));
        assert!(!is_data_file("_SUCCESS"));
        assert!(!is_data_file(".staging/x.parquet"));
        assert!(!is_data_file("x.parquet.crc"));
    }

    #[tokio::test]
    async fn empty_and_corrupt_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("t");
        for (rel, body) in [("day=1/a.parquet", &b""[..]), ("day=2/b.parquet", b"not parquet at all")] {
            std::fs::create_dir_all(table.join(rel).parent().unwrap()).unwrap();
            std::fs::write(table.join(rel), body).unwrap();
        }
        let location = Location::parse("test", table.to_str().unwrap()).unwrap();
        let files = table_files("t", &location).await.unwrap();
        let found = unreadable(&SessionContext::new(), &location, &files).await.unwrap();
        let e = unreadable_error("t", &location, files.len(), &found).to_string();
        assert!(e.starts_with(&format!("input table `t` at {location}: 2 of 2 files are not readable Parquet: ")), "{e}");
        assert!(e.contains("day=1/a.parquet (empty, 0 bytes)") && e.contains("day=2/b.parquet (Parquet error:"), "{e}");
    }
}
