//! `taar-profiles`: per-client TAAR profile blobs from one day of
//! `main_summary`, a port of mozetl's `taar_dynamo` (docs/jobs/taar-profiles.md).
//! The selection, hashing, JSON and compression are SQL (on the executors on
//! a cluster) writing a Parquet table; the optional DynamoDB export streams
//! that table from the driver in signed `BatchWriteItem` calls.


use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use datafusion::arrow::array::{BinaryArray, Int64Array, RecordBatch, StringArray};
use fletch_engine::batches::column;
use fletch_engine::params::ParamType;
use fletch_engine::progress::Step;
use fletch_engine::{Error, Result};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::dynamodb::{BATCH_SIZE, DynamoDb};
use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext, rerun_interrupted};

crate::sql_steps!("taar-profiles" {
    profile_candidates: View,
    client_profiles: Output(&["client_id_prefix"]),
    rejected_rows: Collected,
});

pub struct TaarProfiles;

const SPEC: JobSpec = JobSpec {
    name: "taar-profiles",
    summary: "TAAR: per-client profile blobs from one day of main_summary, optionally into DynamoDB",
    params: &[
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("taar/profiles/"),
        ParamSpec::new("sample-rate", ParamType::Float, "share of clients to export, chosen with --seed; 0 exports all").default("0"),
        ParamSpec::new("ttl-days", ParamType::Int, "items expire this many days after the end of --date").default("60"),
        ParamSpec::new("dynamodb-endpoint", ParamType::String, "DynamoDB API URL (e.g. https://dynamodb.us-west-2.amazonaws.com); also write the profiles there"),
        ParamSpec::new("dynamodb-table", ParamType::String, "DynamoDB table (partition key client_id, a string)"),
        ParamSpec::new("dynamodb-region", ParamType::String, "region the DynamoDB requests are signed for (default: AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's region, else us-west-2)"),
        ParamSpec::new("dynamodb-workers", ParamType::Int, "BatchWriteItem calls in flight at once").default("4"),
        ParamSpec::new("retries", ParamType::Int, "re-sends of a throttled, failed or partly unprocessed batch, with backoff").default("8"),
    ],
    outputs: &[OutputSpec {
        path: "<prefix>client_profiles/",
        format: OutputFormat::Parquet,
        about: "(client_id SHA-256 hex, ttl, json_payload zlib) partitioned by client_id_prefix",
    }],
};

#[async_trait]
impl Job for TaarProfiles {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let sample_rate = args.float("sample-rate").filter(|r| (0.0..=1.0).contains(r));
        let sample_rate = sample_rate.ok_or_else(|| Error::usage("--sample-rate: expected a number from 0 to 1"))?;
        let ttl_days = args.int_in("ttl-days", 1..=3650)?;
        let dynamo = match (args.string("dynamodb-endpoint"), args.string("dynamodb-table")) {
            (Some(endpoint), Some(table)) => {
                let region = match args.string("dynamodb-region") {
                    Some(region) => region,
                    None => fletch_engine::aws::region()?.unwrap_or_else(|| "us-west-2".into()),
                };
                let client = DynamoDb::new(&endpoint, &region, &table, args.int_in("retries", 0..=20)? as u32)?;
                let step = rc.progress.step(&format!("check DynamoDB table {table}"));
                client.check_table().await?;
                step.done(None);
                Some((client, args.int_in("dynamodb-workers", 1..=64)? as usize))
            }
            (None, None) => None,
            _ => return Err(Error::usage("--dynamodb-endpoint and --dynamodb-table go together")),
        };

        let mut params = rc.base_params();
        params.set_string("day", rc.date_compact());
        params.set_float("sample_rate", sample_rate);
        params.set_int("ttl", expiry(rc, ttl_days));
        rc.set_output_folder(&STEPS.client_profiles, &format!("{prefix}client_profiles"));
        rc.prepare(&STEPS.all(), &[]).await?;
        rc.run(&STEPS.profile_candidates, &params).await?;
        let written = rc.run(&STEPS.client_profiles, &params).await?;
        report_rejected(&rc.run(&STEPS.rejected_rows, &params).await?.batches)?;

        // From the staged table: a failed export commits nothing. Putting an
        // item again is harmless, so an interrupted export starts over.
        if let Some((client, workers)) = dynamo {
            if rc.dry_run() {
                rc.progress.note("a run would export the profiles to DynamoDB (its table checked above)");
                return Ok(());
            }
            rerun_interrupted!(rc.job_retries(), "export to DynamoDB", {
                let df = rc.ctx.table(STEPS.client_profiles.name).await?.select_columns(&["client_id", "ttl", "json_payload"])?;
                export(rc, &client, df, written.rows.unwrap_or(0), workers).await
            })?;
        }
        Ok(())
    }
}

/// Expiry in epoch seconds: `ttl_days` after the end of the run date. The
/// original used the wall clock; a date-based TTL keeps reruns identical.
fn expiry(rc: &RunContext, ttl_days: i64) -> i64 {
    let end = (rc.opts.date + chrono::Days::new(1)).and_hms_opt(0, 0, 0).expect("midnight");
    end.and_utc().timestamp() + ttl_days * 86_400
}

/// Logs how many latest subsessions became no profile, and why.
fn report_rejected(batches: &[RecordBatch]) -> Result<()> {
    for b in batches {
        let (why, n) = (column::<StringArray>(b, "problem")?, column::<Int64Array>(b, "row_count")?);
        for i in (0..b.num_rows()).filter(|&i| n.value(i) > 0) {
            log::warn!("taar-profiles: {} rows skipped: {}", n.value(i), why.value(i));
        }
    }
    Ok(())
}

/// The DynamoDB items of a batch of `(client_id, ttl, json_payload)` rows.
fn items(batch: &RecordBatch) -> Result<Vec<Value>> {
    let ids = column::<StringArray>(batch, "client_id")?;
    let ttls = column::<Int64Array>(batch, "ttl")?;
    let payloads = column::<BinaryArray>(batch, "json_payload")?;
    Ok((0..batch.num_rows())
        .map(|i| {
            json!({
                "client_id": { "S": ids.value(i) },
                "TTL": { "N": ttls.value(i).to_string() },
                "json_payload": { "B": BASE64.encode(payloads.value(i)) },
            })
        })
        .collect())
}

async fn export(rc: &RunContext, client: &DynamoDb, df: datafusion::dataframe::DataFrame, total: u64, workers: usize) -> Result<()> {
    let step = rc.progress.counted_step("write items to DynamoDB", total, "items");
    let mut batches = fletch_engine::remote::stream(df).await?;
    // Calls carry full batches of items whatever size the table's record
    // batches are (a cluster writes small files, one per task and prefix).
    let (mut done, mut open, mut full) = (0u64, Vec::with_capacity(BATCH_SIZE), Vec::new());
    while let Some(batch) = batches.try_next().await? {
        for item in items(&batch)? {
            open.push(item);
            if open.len() == BATCH_SIZE {
                full.push(std::mem::replace(&mut open, Vec::with_capacity(BATCH_SIZE)));
            }
        }
        if full.len() >= workers {
            done += put(client, std::mem::take(&mut full), workers, &step).await?;
        }
    }
    full.extend((!open.is_empty()).then_some(open));
    done += put(client, full, workers, &step).await?;
    step.done_counting(done, "items");
    Ok(())
}

/// Writes `chunks` with `workers` calls in flight; returns the items written.
async fn put(client: &DynamoDb, chunks: Vec<Vec<Value>>, workers: usize, step: &Step<'_>) -> Result<u64> {
    let n = chunks.iter().map(Vec::len).sum::<usize>() as u64;
    futures::stream::iter(chunks).map(|c| client.put_batch(c)).buffer_unordered(workers).try_collect::<Vec<()>>().await?;
    step.advance(n);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn items_are_dynamodb_json() {
        let schema = Schema::new(vec![
            Field::new("client_id", DataType::Utf8, true),
            Field::new("ttl", DataType::Int64, true),
            Field::new("json_payload", DataType::Binary, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["ab"])),
                Arc::new(Int64Array::from(vec![7])),
                Arc::new(BinaryArray::from(vec![b"\x78\x9c".as_ref()])),
            ],
        )
        .unwrap();
        assert_eq!(items(&batch).unwrap(), vec![json!({"client_id": {"S": "ab"}, "TTL": {"N": "7"}, "json_payload": {"B": "eJw="}})]);
    }
}
