//! `ab-test`: the blog's email test, synthetic. A weekly email goes out to
//! every recipient once, half in the styled design (the control) and half in
//! plain text. Plain text gets more clicks overall, but fewer on Outlook,
//! more spam reports, and fewer tracked opens (no images to load). The events
//! table has one row per event (`sent`, `open`, `click`, `spam_report`,
//! `unsubscribe`, `conversion`), with the quirks of real logs: repeated
//! clicks, a few recipients logged in both variants, events of recipients
//! never sent to, rows without a recipient. `ab_test/experiment.yaml` says
//! how to judge it (`fletch run ab-readout`).

use std::sync::Arc;

use chrono::Duration;
use datafusion::arrow::array::{RecordBatch, StringBuilder, TimestampMicrosecondBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rand::Rng;

use crate::rng::{Weighted, stream};
use crate::sink::in_waves;
use crate::{GenOptions, Result, Sinks};

pub const TABLE: &str = "ab_events";
/// Where the experiment's description goes (`ab-readout --config`'s default).
pub const EXPERIMENT_FILE: &str = "ab_test/experiment.yaml";
/// Recipients at scale 1.0.
const RECIPIENTS_AT_SCALE_1: f64 = 200_000.0;
const PER_FILE: usize = 25_000;
const STREAM_CHUNK: u64 = 0xAB7;

const PLATFORMS: &[(&str, f64)] = &[("gmail", 0.45), ("apple_mail", 0.25), ("outlook", 0.20), ("yahoo", 0.05), ("other", 0.05)];

/// The experiment `ab-readout` reads by default.
pub const EXPERIMENT: &str = "\
# The weekly email: the styled design (control) against plain text.
name: weekly-email-plain-text
unit: recipient_id
variant: variant
event: event
exposure: sent
control: styled
split: {styled: 0.5, plain: 0.5}
primary: {name: click-through, event: click}
guardrails:
  - {name: spam reports, event: spam_report, max_increase: 0.0005}
  - {name: unsubscribes, event: unsubscribe, max_increase: 0.0015}
secondary:
  - {name: opens, event: open}
  - {name: conversions, event: conversion}
segments: [platform, device]
alpha: 0.05
power: 0.8
minimum_detectable_effect: 0.005
";

pub fn schema() -> SchemaRef {
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("recipient_id", true),
        text("variant", false),
        text("event", false),
        Field::new("event_time", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        text("platform", false),
        text("device", false),
    ]))
}

/// Chances of each event for one recipient: open, click, spam report, unsubscribe, conversion.
fn chances(plain: bool, platform: &str) -> [f64; 5] {
    match (plain, platform) {
        (false, _) => [0.25, 0.030, 0.0010, 0.0020, 0.0040],
        // Plain text renders badly in Outlook.
        (true, "outlook") => [0.22, 0.018, 0.0030, 0.0020, 0.0030],
        (true, _) => [0.22, 0.040, 0.0030, 0.0020, 0.0045],
    }
}

struct Rows {
    id: StringBuilder,
    variant: StringBuilder,
    event: StringBuilder,
    time: TimestampMicrosecondBuilder,
    platform: StringBuilder,
    device: StringBuilder,
}

impl Rows {
    fn new() -> Self {
        Self {
            id: StringBuilder::new(),
            variant: StringBuilder::new(),
            event: StringBuilder::new(),
            time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            platform: StringBuilder::new(),
            device: StringBuilder::new(),
        }
    }

    fn push(&mut self, id: Option<&str>, variant: &str, event: &str, micros: i64, platform: &str, device: &str) {
        self.id.append_option(id);
        self.variant.append_value(variant);
        self.event.append_value(event);
        self.time.append_value(micros);
        self.platform.append_value(platform);
        self.device.append_value(device);
    }

    fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<datafusion::arrow::array::ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.variant.finish()),
            Arc::new(self.event.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.platform.finish()),
            Arc::new(self.device.finish()),
        ];
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}

/// Recipients `first..end`: their rows, in recipient order.
fn chunk(opts: &GenOptions, first: usize, end: usize, recipients: usize) -> Result<RecordBatch> {
    let mut rng = stream(opts.seed, &[STREAM_CHUNK, first as u64]);
    let platforms = Weighted::new(&PLATFORMS.iter().map(|(_, w)| *w).collect::<Vec<_>>());
    let send = opts.start_date.and_hms_opt(9, 0, 0).expect("09:00").and_utc().timestamp_micros();
    let minute = Duration::minutes(1).num_microseconds().expect("fits");
    let mut rows = Rows::new();
    for r in first..end {
        let id = format!("r{r:07}");
        let plain = rng.random_bool(0.5);
        let variant = if plain { "plain" } else { "styled" };
        let platform = PLATFORMS[platforms.sample(&mut rng)].0;
        let device = if rng.random_bool(0.6) { "mobile" } else { "desktop" };
        let sent = send + (r % 120) as i64 * minute;
        rows.push(Some(&id), variant, "sent", sent, platform, device);
        let [open, click, spam, unsubscribe, conversion] = chances(plain, platform);
        let clicked = rng.random_bool(click);
        let opened_at = sent + rng.random_range(1..2_880) * minute;
        // A click needs the email open, though the open is not always tracked.
        if rng.random_bool(open) || (clicked && rng.random_bool(0.8)) {
            rows.push(Some(&id), variant, "open", opened_at, platform, device);
        }
        if clicked {
            let clicks = if rng.random_bool(0.3) { 2 } else { 1 };
            for c in 0..clicks {
                rows.push(Some(&id), variant, "click", opened_at + (1 + 7 * c) * minute, platform, device);
            }
        }
        for (event, chance) in [("spam_report", spam), ("unsubscribe", unsubscribe), ("conversion", conversion)] {
            if rng.random_bool(chance) {
                rows.push(Some(&id), variant, event, opened_at + rng.random_range(1..600) * minute, platform, device);
            }
        }
        // Logged in the other variant too (a cached link, a forwarded email).
        if rng.random_bool(0.0005) {
            rows.push(Some(&id), if plain { "styled" } else { "plain" }, "click", opened_at + 90 * minute, platform, device);
        }
        // An open by someone the test never sent to, and a row that lost its recipient.
        if rng.random_bool(0.0005) {
            rows.push(Some(&format!("r{:07}", recipients + r)), variant, "open", opened_at, platform, device);
        }
        if rng.random_bool(0.0001) {
            rows.push(None, variant, "open", opened_at, platform, device);
        }
    }
    rows.finish()
}

pub async fn generate(opts: &GenOptions, sinks: &mut Sinks) -> Result<()> {
    let recipients = ((RECIPIENTS_AT_SCALE_1 * opts.scale).round() as usize).max(100);
    let chunks: Vec<(usize, usize)> = (0..recipients).step_by(PER_FILE).map(|s| (s, (s + PER_FILE).min(recipients))).collect();
    let table = sinks.open(TABLE)?;
    let step = opts.progress.counted_step(&format!("generate {TABLE}"), chunks.len() as u64, "files");
    in_waves(&chunks, |&(first, end)| chunk(opts, first, end, recipients), async |&(first, _), batch| {
        sinks.get(table).write(&format!("part-{:05}.parquet", first / PER_FILE), &batch).await?;
        step.advance(1);
        Ok(())
    })
    .await?;
    step.done(Some(sinks.get(table).rows()));
    sinks.file(EXPERIMENT_FILE, EXPERIMENT.as_bytes().to_vec()).await
}
