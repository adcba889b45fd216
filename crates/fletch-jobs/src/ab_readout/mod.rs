//! `ab-readout`: the blog's email test judged the way it should have been
//! (docs/jobs/ab-readout.md). Counting units per variant, segment and event
//! runs in SQL (on the executors on a cluster); the statistics of the few
//! resulting cells, the verdicts and the reports are built here.

mod chart;
mod experiment;
mod readout;
mod report;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::functions::string::expr_fn::concat_ws;
use datafusion::prelude::{Expr, cast, ident, lit};
use fletch_engine::batches::column;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use serde_json::Value;

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};
pub use experiment::Experiment;
use readout::{Cell, Excluded, SEGMENT_SEPARATOR};

crate::sql_steps!("ab-readout" {
    unit_events: Scratch(&[]),
    cells: Collected,
    excluded_units: Collected,
});

/// Where `fletch gen ab-test` writes the experiment, and `--config` defaults to.
pub const EXPERIMENT_FILE: &str = "ab_test/experiment.yaml";

pub struct AbReadout;

const SPEC: JobSpec = JobSpec {
    name: "ab-readout",
    summary: "A/B test readout: rates and differences with intervals, z-tests, guardrails, segments, sample ratio, power; JSON and Markdown",
    params: &[
        ParamSpec::new("config", ParamType::String, "the experiment, YAML (path or URL; default <data-root>/ab_test/experiment.yaml)"),
        ParamSpec::new("events-table", ParamType::String, "folder of the events table under the data root").default("ab_events"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("ab-readout/"),
    ],
    outputs: &[
        OutputSpec { path: "<prefix>readout.json", format: OutputFormat::File, about: "every number of the readout, and a decision per variant" },
        OutputSpec { path: "<prefix>readout.md", format: OutputFormat::File, about: "the readout for people" },
        OutputSpec { path: "<prefix>readout.png", format: OutputFormat::File, about: "rates and intervals per metric and variant" },
    ],
};

#[async_trait]
impl Job for AbReadout {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let location = rc.input_file(args.string("config"), EXPERIMENT_FILE);
        let (url, text) = rc.read_text("experiment", &location).await?;
        let e = Experiment::parse(&url, &text)?;
        let folder = args.string("events-table").unwrap_or_default();
        fletch_engine::outputs::check_path("--events-table", &folder)?;
        rc.register_input(&Input::new("ab_events").at(&folder)).await?;
        register_rows(rc, &e, &url).await?;
        rc.prepare(&STEPS.all(), &[]).await?;

        let mut params = rc.base_params();
        params.set_string("exposure", e.exposure.clone());
        params.set_strings("metric_events", &e.metric_events());
        rc.run(&STEPS.unit_events, &params).await?;
        let cells = read_cells(&rc.run(&STEPS.cells, &params).await?.batches)?;
        let excluded = read_excluded(&rc.run(&STEPS.excluded_units, &params).await?.batches)?;
        let (json, markdown, chart) = (format!("{prefix}readout.json"), format!("{prefix}readout.md"), format!("{prefix}readout.png"));
        if rc.dry_run() {
            rc.stage_json(&json, &Value::Null).await?;
            rc.outputs.stage_file(&markdown, Vec::new()).await?;
            return rc.outputs.stage_file(&chart, Vec::new()).await;
        }

        let readout = readout::build(&e, &url, &cells, excluded)?;
        for warning in &readout.warnings {
            log::warn!("{}: {warning}", e.name);
        }
        for d in &readout.decisions {
            rc.progress.note(&format!("{}: {}; {}", d.variant, d.decision, d.reasons.join("; ")));
        }
        rc.stage_json(&json, &serde_json::to_value(&readout).expect("the readout serialises")).await?;
        rc.outputs.stage_file(&markdown, report::markdown(&readout).into_bytes()).await?;
        rc.outputs.stage_file(&chart, chart::png(&readout)).await
    }
}

/// The view `ab_rows` (`unit`, `variant`, `event`, `segment_key`) over the
/// events table, from the columns the experiment names: identifiers go into
/// the plan as column references, never into SQL text.
async fn register_rows(rc: &mut RunContext, e: &Experiment, source: &str) -> Result<()> {
    let events = rc.ctx.table("ab_events").await?;
    let have: Vec<String> = events.schema().fields().iter().map(|f| f.name().clone()).collect();
    let named = [("unit", &e.unit), ("variant", &e.variant), ("event", &e.event)].into_iter().chain(e.segments.iter().map(|s| ("segments", s)));
    for (key, column) in named {
        if !have.contains(column) {
            return Err(Error::input(format!("experiment {source}: {key}: input table `ab_events` has no column `{column}` (it has {})", have.join(", "))));
        }
    }
    let text = |name: &str| cast(ident(name), DataType::Utf8);
    // NULL would vanish from concat_ws and shift the values after it.
    let segments: Vec<Expr> = e.segments.iter().map(|s| coalesce(vec![text(s), lit("(null)")])).collect();
    let key = if segments.is_empty() { lit("") } else { concat_ws(lit(SEGMENT_SEPARATOR.to_string()), segments) };
    let rows = events.select(vec![text(&e.unit).alias("unit"), text(&e.variant).alias("variant"), text(&e.event).alias("event"), key.alias("segment_key")])?;
    rc.ctx.deregister_table("ab_rows")?;
    rc.ctx.register_table("ab_rows", rows.into_view())?;
    Ok(())
}

fn read_cells(batches: &[RecordBatch]) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    for b in batches {
        let (variant, key, metric) = (column::<StringArray>(b, "variant")?, column::<StringArray>(b, "segment_key")?, column::<StringArray>(b, "metric")?);
        let (units, converted) = (column::<Int64Array>(b, "units")?, column::<Int64Array>(b, "converted")?);
        for i in 0..b.num_rows() {
            cells.push(Cell {
                variant: variant.value(i).to_string(),
                segment_key: if key.is_valid(i) { key.value(i).to_string() } else { String::new() },
                metric: metric.is_valid(i).then(|| metric.value(i).to_string()),
                units: units.value(i) as u64,
                converted: converted.value(i) as u64,
            });
        }
    }
    Ok(cells)
}

fn read_excluded(batches: &[RecordBatch]) -> Result<Excluded> {
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(Excluded::default()) };
    let count = |name: &str| column::<Int64Array>(b, name).map(|c| c.value(0) as u64);
    Ok(Excluded { never_exposed: count("never_exposed")?, several_variants: count("several_variants")?, rows_without_unit: count("rows_without_unit")? })
}
