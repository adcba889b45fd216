//! `<output-root>/_manifest.json`: what each dataset under the root was
//! generated with and how many rows each table has, so jobs and benchmarks
//! can say what they ran on (and benchmarks can reuse matching data).

use fletch_engine::location::key_of;
use fletch_engine::{Error, Result};
use object_store::ObjectStoreExt;
use serde_json::{Value, json};

use crate::{Dataset, GENERATOR_VERSION, GenOptions};

pub const FILE: &str = "_manifest.json";

/// The root's manifest with `dataset`'s entry replaced: what it was
/// generated with, and `(table, rows, files, bytes)` of each of its tables.
pub async fn updated(opts: &GenOptions, dataset: Dataset, tables: &[(String, u64, usize, u64)]) -> Result<Vec<u8>> {
    let url = opts.output_root.file_url(FILE);
    let store = opts.output_root.store()?;
    let mut manifest = match store.get(&key_of(&url)).await {
        Ok(got) => serde_json::from_slice(&got.bytes().await?).unwrap_or_else(|_| json!({})),
        Err(object_store::Error::NotFound { .. }) => json!({}),
        Err(e) => return Err(Error::io(format!("cannot read {url}: {e}"))),
    };
    let tables: serde_json::Map<String, Value> =
        tables.iter().map(|(name, rows, files, bytes)| (name.clone(), json!({"rows": rows, "files": files, "bytes": bytes}))).collect();
    manifest["datasets"][dataset.name()] = json!({
        "generator": GENERATOR_VERSION,
        "scale": opts.scale,
        "seed": opts.seed,
        "start_date": opts.start_date.format("%Y%m%d").to_string(),
        "days": opts.days,
        "tables": tables,
    });
    serde_json::to_vec_pretty(&manifest).map_err(|e| Error::io(format!("{FILE}: {e}")))
}
