//! `lookalike-scores`: a ready `lookalike_score` table (did, kws, did_bucket)
//! for the users `lookalike` generates with the same seed and scale, so the
//! similarity stages run without a served model (the quickstart does).
//! Users follow a few tastes over the did-era's seven scored keywords, so
//! similar users exist; scores are in (0, 1) like the model's.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use fletch_udfs::lookalike::{DID_ERA_KEYWORDS, bucket_of, score_map_builder, score_map_type};
use rand::Rng;

use crate::lookalike::persona_dids;
use crate::rng::stream;
use crate::{GenOptions, Result, Sinks};

pub const SCORES: &str = "lookalike_score";
/// lookalike-prepare's default number of user buckets.
const BUCKETS: u64 = 2;
const TASTES: usize = 8;
const STREAM_SCORES: u64 = 0x5C0E;

pub async fn generate(opts: &GenOptions, sinks: &mut Sinks) -> Result<()> {
    let mut rng = stream(opts.seed, &[STREAM_SCORES]);
    let tastes: Vec<Vec<f64>> = (0..TASTES).map(|_| DID_ERA_KEYWORDS.iter().map(|_| rng.random_range(0.05..0.95)).collect()).collect();
    let mut buckets: BTreeMap<u64, Vec<(String, Vec<f32>)>> = BTreeMap::new();
    for did in persona_dids(opts)? {
        let taste = &tastes[rng.random_range(0..TASTES)];
        let scores = taste.iter().map(|c| (c + rng.random_range(-0.08..0.08)).clamp(0.001, 0.999) as f32).collect();
        buckets.entry(bucket_of(&did, BUCKETS)).or_default().push((did, scores));
    }
    let schema = Arc::new(Schema::new(vec![Field::new("did", DataType::Utf8, true), Field::new("kws", score_map_type(), true)]));
    let sink = sinks.open(SCORES)?;
    for (bucket, users) in buckets {
        let mut kws = score_map_builder(users.len());
        for (_, scores) in &users {
            for (keyword, score) in DID_ERA_KEYWORDS.iter().zip(scores) {
                kws.keys().append_value(keyword);
                kws.values().append_value(*score);
            }
            kws.append(true)?;
        }
        let dids = StringArray::from_iter_values(users.iter().map(|(d, _)| d.as_str()));
        let columns: Vec<ArrayRef> = vec![Arc::new(dids), Arc::new(kws.finish())];
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        sinks.get(sink).write(&format!("did_bucket={bucket}/part-00000.parquet"), &batch).await?;
    }
    Ok(())
}
