//! Writing generated tables: Parquet files with fixed writer settings (so
//! the bytes depend only on the data), staged and committed as a whole.
//! Zstandard: random hex ids (lookalike's 64-character dids) take half the
//! bytes they take with Snappy, and read no slower.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use fletch_engine::location::key_of;
use fletch_engine::{Error, Location, Result};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutPayload};

pub fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_created_by("fletch gen".to_string())
        .build();
    fletch_engine::outputs::parquet_bytes(batch.schema(), std::slice::from_ref(batch), Some(props)).map_err(|e| Error::io(format!("cannot encode Parquet: {e}")))
}

pub async fn put(location: &Location, rel: &str, body: Vec<u8>) -> Result<()> {
    let url = location.file_url(rel);
    location
        .store()?
        .put(&key_of(&url), PutPayload::from(body))
        .await
        .map_err(|e| Error::io(format!("cannot write {url}: {e}")))?;
    Ok(())
}

/// One table being generated into its staging folder.
pub struct TableSink {
    table: String,
    staging: Location,
    rows: u64,
}

impl TableSink {
    pub fn new(table: &str, staging: Location) -> Self {
        Self { table: table.to_string(), staging, rows: 0 }
    }

    /// Adds one Parquet file at `rel` (e.g. `day=2020-01-01/part-00000.parquet`).
    pub async fn write(&mut self, rel: &str, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        put(&self.staging, rel, parquet_bytes(batch)?).await
    }

    /// Adds a file already encoded (Parquet made elsewhere, JSON pages);
    /// count its rows with [`TableSink::add_rows`].
    pub async fn write_bytes(&mut self, rel: &str, body: Vec<u8>) -> Result<()> {
        put(&self.staging, rel, body).await
    }

    /// Adds many small encoded files, several writes in flight at once.
    pub async fn write_all(&mut self, files: Vec<(String, Vec<u8>)>) -> Result<()> {
        let staging = &self.staging;
        futures::stream::iter(files.into_iter().map(|(rel, body)| async move { put(staging, &rel, body).await }))
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    pub fn add_rows(&mut self, rows: u64) {
        self.rows += rows;
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn staging(&self) -> &Location {
        &self.staging
    }
}

/// Builds every job's output on all cores, one wave of as many jobs as cores
/// at a time (so memory stays bounded), and hands each wave's outputs, in
/// job order, to `write`. Output does not depend on the number of cores.
pub async fn in_waves<J: Sync, R: Send>(
    jobs: &[J],
    make: impl Fn(&J) -> Result<R> + Sync,
    mut write: impl AsyncFnMut(&J, R) -> Result<()>,
) -> Result<()> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    for wave in jobs.chunks(workers) {
        let made = std::thread::scope(|s| {
            let handles: Vec<_> = wave.iter().map(|job| s.spawn(|| make(job))).collect();
            handles.into_iter().map(|h| h.join().expect("generator thread")).collect::<Result<Vec<_>>>()
        })?;
        for (job, out) in wave.iter().zip(made) {
            write(job, out).await?;
        }
    }
    Ok(())
}
