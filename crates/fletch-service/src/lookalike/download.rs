//! A finished job's audience as CSV (`did,score`, best first), streamed
//! batch by batch rather than built in memory.

use bytes::Bytes;
use datafusion::arrow::csv::WriterBuilder;
use datafusion::prelude::{ParquetReadOptions, col};
use fletch_engine::session::{Mode, connect};
use fletch_engine::{Error, Location, Result};
use futures::{Stream, StreamExt};

/// The audience table at `location`, in rank order, as CSV chunks.
pub async fn csv(location: &Location) -> Result<impl Stream<Item = std::io::Result<Bytes>> + use<>> {
    let ctx = connect(&Mode::Embedded).await?;
    let df = ctx
        .read_parquet(location.as_str(), ParquetReadOptions::default())
        .await?
        .select(vec![col("did"), col("score")])?
        .sort(vec![col("score").sort(false, true), col("did").sort(true, true)])?;
    let batches = df.execute_stream().await?;
    let mut header = true;
    Ok(batches.map(move |batch| {
        let batch = batch.map_err(|e| std::io::Error::other(Error::from(e).to_string()))?;
        let mut writer = WriterBuilder::new().with_header(std::mem::take(&mut header)).build(Vec::new());
        writer.write(&batch).map_err(std::io::Error::other)?;
        Ok(Bytes::from(writer.into_inner()))
    }))
}
