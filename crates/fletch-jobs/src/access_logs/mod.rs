//! `access-logs`: web server access logs into a behaviour table
//! (docs/jobs/access-logs.md). Reading, parsing and routing run in SQL over
//! `parse_access_log` and `route_request`, on the executors on a cluster;
//! the job checks the format and routes first, and counts the lines that
//! did not parse.

mod lines;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array, StringArray};
use fletch_engine::batches::column;
use fletch_engine::outputs::TableFormat;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use fletch_udfs::weblog::log_format::LogFormat;
use fletch_udfs::weblog::routes::Routes;

use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("access-logs" {
    behaviour: Output(&["day"]),
    lines: Collected,
    malformed: Collected,
});

pub struct AccessLogs;

const SPEC: JobSpec = JobSpec {
    name: "access-logs",
    summary: "Web access logs (Common, Combined, any LogFormat; plain or .gz) parsed and routed to the application's named URLs: a behaviour table",
    params: &[
        ParamSpec::new("input", ParamType::String, "log files under the data root: a folder or a glob").default("access_logs"),
        ParamSpec::new("line-format", ParamType::String, "common, combined or an Apache LogFormat string").default("combined"),
        ParamSpec::new("routes", ParamType::String, "the application's URL patterns, `name<TAB>regex` per line (path or URL); without it no action is set"),
        ParamSpec::new("max-malformed-ratio", ParamType::Float, "fail when more of the lines than this do not parse").default("0.01"),
        ParamSpec::new("output-format", ParamType::String, "the behaviour table's files: parquet, or jsonl.gz (gzipped JSON lines, for a Hive JSON SerDe table)").default("parquet"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("web/"),
    ],
    outputs: &[OutputSpec { path: "<prefix>behaviour", format: OutputFormat::Parquet, about: "one row per request, partitioned by day (UTC); JSON lines with --output-format jsonl.gz" }],
};

#[async_trait]
impl Job for AccessLogs {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let output_format = match args.choice("output-format", &["parquet", "jsonl.gz"])? {
            "jsonl.gz" => TableFormat::JsonLinesGz,
            _ => TableFormat::Parquet,
        };
        let format = args.string("line-format").unwrap_or_default();
        LogFormat::compile(&format).map_err(|e| Error::usage(format!("--line-format: {e}")))?;
        let max_ratio = match args.float("max-malformed-ratio") {
            Some(r) if (0.0..=1.0).contains(&r) => r,
            r => return Err(Error::usage(format!("--max-malformed-ratio: expected a number in [0, 1], got {}", r.unwrap_or(f64::NAN)))),
        };
        let routes = match args.string("routes") {
            Some(location) => {
                let (url, text) = rc.read_text("routes", &location).await?;
                let compiled = Routes::parse(&text).map_err(|e| Error::input(format!("{url}: {e}")))?;
                rc.progress.note(&format!("{} routes from {url}", compiled.len()));
                text
            }
            None => {
                log::info!("no --routes: requests get no action");
                String::new()
            }
        };
        // DataFusion 55 pushes each `p['field']` towards the scan as its own
        // expression, evaluating parse_access_log once per output column
        // (five times slower); with the pushdown off it runs once per line.
        rc.ctx.state_ref().write().config_mut().options_mut().optimizer.enable_leaf_expression_pushdown = false;
        let input = args.string("input").unwrap_or_default();
        let files = lines::register(rc, &input).await?;
        rc.progress.note(&format!("{files} log files"));
        rc.prepare(&STEPS.all(), &[]).await?;
        rc.set_output_folder(&STEPS.behaviour, &format!("{prefix}behaviour"));
        rc.set_output_format(&STEPS.behaviour, output_format);

        let mut params = rc.base_params();
        params.set_string("log_format", format);
        params.set_string("routes", routes);
        let parsed = rc.run(&STEPS.behaviour, &params).await?.rows.unwrap_or(0);
        let read = rc.run(&STEPS.lines, &params).await?;
        let malformed = rc.run(&STEPS.malformed, &params).await?;
        if rc.dry_run() {
            return Ok(());
        }
        let lines = read.batches.iter().find(|b| b.num_rows() > 0).map(|b| column::<Int64Array>(b, "lines").map(|c| c.value(0))).transpose()?.unwrap_or(0) as u64;
        let bad = lines.saturating_sub(parsed);
        if bad == 0 {
            return Ok(());
        }
        let mut examples = Vec::new();
        for b in &malformed.batches {
            let c = column::<StringArray>(b, "line")?;
            examples.extend((0..b.num_rows()).filter(|&i| c.is_valid(i)).map(|i| format!("  {}", c.value(i))));
        }
        let ratio = bad as f64 / lines as f64;
        let summary = format!("{bad} of {lines} lines ({:.3}%) do not have the log format's shape; for example:\n{}", ratio * 100.0, examples.join("\n"));
        if ratio > max_ratio {
            return Err(Error::input(format!("{summary}\nmore than --max-malformed-ratio {max_ratio}: nothing written")));
        }
        log::warn!("{summary}");
        Ok(())
    }
}
