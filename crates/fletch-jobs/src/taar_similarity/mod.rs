//! `taar-similarity`: the donor pool and likelihood-ratio curves of TAAR's
//! similarity recommender, a port of mozetl's `taar_similarity`
//! (docs/jobs/taar-similarity.md). Selecting clients, every k-means step,
//! picking donors, pairing and scoring them and the density sums run as SQL
//! (on the executors on a cluster); the driver holds the cluster centers and
//! shapes the JSON.

mod bisecting;
mod donors;

use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use fletch_engine::output::{self, Written};
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Location, Result, catalog};
use fletch_udfs::kde;
use serde_json::{Value, json};

use crate::framework::{Job, JobArgs, OutputFormat, OutputSpec, ParamSpec, RunContext, int_list, string_list};
use crate::taar_lite;
use crate::taar_locale::{DEFAULT_WHITELIST, read_whitelist};
pub use donors::{DonorSchema, ETL_KEYS, quotas};

const CLIENTS: &str = include_str!("../../../../sql/taar-similarity/clients.sql");
const CLUSTERED: &str = include_str!("../../../../sql/taar-similarity/clustered.sql");
const DONORS: &str = include_str!("../../../../sql/taar-similarity/donors.sql");
const PAIR_SCORES: &str = include_str!("../../../../sql/taar-similarity/pair_scores.sql");
const LR_CURVES: &str = include_str!("../../../../sql/taar-similarity/lr_curves.sql");

/// Spark 2.3's HashingTF default.
const NUM_FEATURES: i64 = 1 << 18;
/// The original raises smaller donor counts to this.
const MIN_DONORS: i64 = 100;
const SAMPLE_DAYS: u64 = 90;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::new("num-clusters", ParamType::Int, "clusters of bisecting k-means (it may find fewer)").default("20"),
    ParamSpec::new("num-donors", ParamType::Int, "donors in the pool; values below 100 are raised to 100").default("1000"),
    ParamSpec::new("kernel-bandwidth", ParamType::Float, "bandwidth of the Gaussian kernel density estimates").default("0.35"),
    ParamSpec::new("num-pdf-points", ParamType::Int, "points of the likelihood-ratio curves").default("1000"),
    ParamSpec::new("clients-sample-date-from", ParamType::Date, "first day of clients_daily to read, YYYYMMDD (default --date minus 90 days)"),
    ParamSpec::new("whitelist", ParamType::String, "JSON list of curated guids (path or URL; default <data-root>/telemetry-ml/addon_recommender/only_guids_top_200.json)"),
    ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("taar/similarity/"),
    ParamSpec::new("donor-schema", ParamType::String, "donor field names: etl (city, hours, as the original) or taar (geo_city, seconds, as the TAAR service reads)").default("etl"),
    ParamSpec::new("clusters-table", ParamType::String, "also write every clustered client's cluster as the Parquet table <output-root>/<name>/ (client_id, prediction)"),
];

pub struct TaarSimilarity;

/// The validated flags.
struct Settings {
    clusters: usize,
    donors: i64,
    bandwidth: f64,
    points: i64,
    from: String,
    whitelist: String,
    prefix: String,
    schema: DonorSchema,
    clusters_table: Option<String>,
}

impl Settings {
    fn parse(rc: &RunContext, args: &JobArgs) -> Result<Self> {
        let clusters = args.int_in("num-clusters", 2..=1000)? as usize;
        let mut donors = args.int_in("num-donors", 1..=10_000_000)?;
        if donors < MIN_DONORS {
            log::warn!("--num-donors {donors} is below {MIN_DONORS}; using {MIN_DONORS}, as the original does");
            donors = MIN_DONORS;
        }
        let bandwidth = args
            .float("kernel-bandwidth")
            .filter(|h| h.is_finite() && *h > 0.0)
            .ok_or_else(|| Error::usage("--kernel-bandwidth: expected a positive number"))?;
        let points = args.int_in("num-pdf-points", 1..=1_000_000)?;
        let from = args.date("clients-sample-date-from").unwrap_or(rc.opts.date - chrono::Days::new(SAMPLE_DAYS));
        if from > rc.opts.date {
            return Err(Error::usage(format!(
                "--clients-sample-date-from {} is after --date {}",
                from.format("%Y%m%d"),
                rc.date_compact()
            )));
        }
        Ok(Self {
            clusters,
            donors,
            bandwidth,
            points,
            from: from.format("%Y%m%d").to_string(),
            whitelist: args.string("whitelist").unwrap_or_else(|| rc.opts.data_root.file_url(DEFAULT_WHITELIST).to_string()),
            prefix: args.string("prefix").unwrap_or_default(),
            schema: DonorSchema::parse(&args.string("donor-schema").unwrap_or_default())?,
            clusters_table: args.string("clusters-table"),
        })
    }
}

#[async_trait]
impl Job for TaarSimilarity {
    fn name(&self) -> &'static str {
        "taar-similarity"
    }
    fn about(&self) -> &'static str {
        "TAAR: donor pool and likelihood-ratio curves for the similarity recommender"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn outputs(&self) -> &'static [OutputSpec] {
        &[
            OutputSpec { path: "<prefix>donors.json", format: OutputFormat::Json, about: "[{city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds, active_addons}, ...]" },
            OutputSpec { path: "<prefix>lr_curves.json", format: OutputFormat::Json, about: "[[score, [within-cluster density, across-cluster density]], ...]" },
        ]
    }

    async fn run(&self, rc: &RunContext, args: &JobArgs) -> Result<Vec<Written>> {
        let settings = Settings::parse(rc, args)?;
        let step = rc.progress.step("read whitelist");
        let whitelist = read_whitelist(rc, &settings.whitelist).await?;
        step.done_counting(whitelist.len() as u64, "guids");
        taar_lite::register_clients_daily(rc).await?;
        // Intermediate tables live under the output root, where every executor can read them.
        let scratch = output::staging_for(&rc.opts.output_root, "taar-similarity");
        let result = run_with_scratch(rc, &settings, &whitelist, &scratch).await;
        output::discard(&scratch).await;
        result
    }
}

async fn run_with_scratch(rc: &RunContext, s: &Settings, whitelist: &[String], scratch: &Location) -> Result<Vec<Written>> {
    let mut params = rc.base_params();
    params.set("from", ScalarValue::Utf8(Some(s.from.clone())));
    params.set("end", ScalarValue::Utf8(Some(rc.date_compact())));
    params.set("whitelist", string_list(whitelist));
    params.set("num_features", ScalarValue::Int64(Some(NUM_FEATURES)));
    let clients = scratch_table(rc, scratch, "clients", rc.sql_step("sql/taar-similarity/clients.sql", CLIENTS, &params).await?).await?;
    if clients == 0 {
        return Err(Error::input(format!(
            "no Firefox release client in clients_daily from {} to {} has 3 or more valid whitelisted add-ons; nothing to cluster",
            s.from,
            rc.date_compact()
        )));
    }

    let clustering = bisecting::cluster(rc, s.clusters, rc.opts.seed).await?;
    let moments = bisecting::node_moments(rc, &clustering.model).await?;
    let sizes: Vec<i64> = clustering.leaves.iter().map(|l| moments.get(l).map_or(0, |m| m.rows)).collect();
    rc.progress.note(&format!("{} clusters of {} clients: {sizes:?}", sizes.len(), clients));
    params.set("model", bisecting::model_param(&clustering.model)?);
    params.set("leaves", int_list(&clustering.leaves));
    let clustered = rc.sql_step("sql/taar-similarity/clustered.sql", CLUSTERED, &params).await?;
    rc.ctx.register_table("clustered", clustered.into_view())?;

    let quotas = quotas(&sizes, s.donors);
    if quotas.iter().sum::<i64>() < s.donors {
        log::warn!("only {clients} clients were clustered: all of them are donors, fewer than --num-donors {}", s.donors);
    }
    params.set("quotas", int_list(&quotas));
    scratch_table(rc, scratch, "donors", rc.sql_step("sql/taar-similarity/donors.sql", DONORS, &params).await?).await?;
    let rows = rc.ctx.sql("SELECT * FROM donors ORDER BY prediction, pick").await?.collect().await?;
    let donors = donors::donor_objects(&rows, s.schema)?;

    let step = rc.progress.step("pair and score donors, estimate densities");
    rc.ctx.register_table("pair_scores", rc.sql_step("sql/taar-similarity/pair_scores.sql", PAIR_SCORES, &params).await?.into_view())?;
    params.set("bandwidth", ScalarValue::Float64(Some(s.bandwidth)));
    params.set("points", ScalarValue::Int64(Some(s.points)));
    let batches = rc.sql_step("sql/taar-similarity/lr_curves.sql", LR_CURVES, &params).await?.collect().await?;
    let (curves, pairs) = lr_curves(&batches, s.points as usize)?;
    step.done_counting(pairs, "pairs");

    let mut written = Vec::new();
    if let Some(table) = &s.clusters_table {
        let df = rc.ctx.sql("SELECT client_id, prediction FROM clustered").await?;
        written.push(rc.write_table(table, df, &[]).await?);
    }
    written.extend(rc.write_json(&s.prefix, "donors", &Value::Array(donors)).await?);
    written.extend(rc.write_json(&s.prefix, "lr_curves", &curves).await?);
    Ok(written)
}

/// Writes `df` as `scratch/<name>/` and registers it as table `name`; returns its rows.
async fn scratch_table(rc: &RunContext, scratch: &Location, name: &str, df: datafusion::dataframe::DataFrame) -> Result<u64> {
    let step = rc.progress.step(&format!("stage {name}"));
    let rows = output::write_table(df, scratch, name, &[]).await?.rows.unwrap_or(0);
    step.done(Some(rows));
    if rows > 0 {
        catalog::register_input(&rc.ctx, scratch, name).await?;
    }
    Ok(rows)
}

/// lr_curves.json from the densities of `lr_curves.sql`, and the pairs scored.
/// With one side empty (one cluster: no across-cluster pairs) both curves are
/// the other side's, so every likelihood ratio is 1 where the original wrote NaN.
fn lr_curves(batches: &[RecordBatch], points: usize) -> Result<(Value, u64)> {
    let (mut intra, mut inter, mut range, mut pairs) = (None, None, (0.0, 0.0), 0);
    for b in batches {
        let kinds = b.column(0).as_string::<i32>();
        let (n, lo, hi) = (b.column(1).as_primitive::<Int64Type>(), b.column(2).as_primitive::<Float64Type>(), b.column(3).as_primitive::<Float64Type>());
        let densities = b.column(4).as_list::<i32>();
        for i in 0..b.num_rows() {
            let density: Vec<f64> = densities.value(i).as_primitive::<Float64Type>().values().to_vec();
            range = (lo.value(i), hi.value(i));
            pairs += n.value(i) as u64;
            match kinds.value(i) {
                "intra" => intra = Some(density),
                _ => inter = Some(density),
            }
        }
    }
    let (numerator, denominator) = match (intra, inter) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) | (None, Some(a)) => {
            log::warn!("only one kind of pairs (a single cluster, or single-client clusters): every likelihood ratio is 1");
            (a.clone(), a)
        }
        (None, None) => return Err(Error::input("fewer than 2 donors: no pair to score, no curve to estimate")),
    };
    let grid = kde::grid(range.0, range.1, points);
    let curve = grid.iter().zip(numerator.iter().zip(&denominator)).map(|(x, (n, d))| json!([x, [n, d]])).collect();
    Ok((Value::Array(curve), pairs))
}
