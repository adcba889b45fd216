//! Helpers for the generators' tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Int64Type, Schema};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::SessionContext;
use fletch_engine::Location;
use fletch_engine::progress::Progress;

use crate::{Dataset, GenOptions, generate};

/// Generates `dataset` under `dir` with default dates and returns the root.
pub async fn gen_into(dataset: Dataset, dir: &Path, scale: f64, seed: u64) -> Location {
    let root = Location::parse("test", dir.to_str().unwrap()).unwrap();
    let opts = GenOptions {
        output_root: root.clone(),
        scale,
        seed,
        start_date: dataset.default_start(),
        days: dataset.default_days(),
        progress: Progress::new(true),
    };
    generate(dataset, &opts).await.unwrap();
    root
}

/// Every file under `dir` (relative path → bytes).
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir).into_iter().map(|path| (path.strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())).collect()
}

/// The paths of every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The Arrow schema a Parquet file of table folder `table` under `dir`
/// holds (an embedded session reads its strings as views).
pub fn file_schema(dir: &Path, table: &str) -> Schema {
    let mut parquet: Vec<PathBuf> = files(&dir.join(table)).into_iter().filter(|f| f.extension().is_some_and(|e| e == "parquet")).collect();
    parquet.sort();
    let file = std::fs::File::open(&parquet[0]).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file).unwrap().schema().as_ref().clone()
}

/// The first value of a query returning one BIGINT.
pub async fn scalar_i64(ctx: &SessionContext, sql: &str) -> i64 {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}
