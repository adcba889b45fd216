//! `taar-similarity`: the donor pool and likelihood-ratio curves of TAAR's
//! similarity recommender, a port of mozetl's `taar_similarity`
//! (docs/jobs/taar-similarity.md). Selecting clients, every k-means step,
//! picking donors, pairing and scoring them and the density sums run as SQL
//! (on the executors on a cluster); the driver holds the cluster centers and
//! shapes the JSON.

mod bisecting;
mod donors;

use async_trait::async_trait;
use datafusion::arrow::array::{Float64Array, Int64Array, ListArray, RecordBatch, StringArray};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Float64Type;
use fletch_engine::batches::column;
use fletch_engine::outputs::check_path;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use fletch_udfs::density::grid;
use serde_json::{Value, json};

use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};
pub use donors::{DonorSchema, ETL_KEYS, quotas};

crate::sql_steps!("taar-similarity" {
    latest_days in "taar": View,
    client_addons: View,
    valid_addons in "taar": View,
    clients: Scratch(&[]),
    node_moments: Collected,
    clustered: View,
    donors: Scratch(&[]),
    donor_rows: Collected,
    pair_scores: View,
    lr_curves: Collected,
    cluster_assignments: Output(&[]),
});

/// Spark 2.3's HashingTF default.
const NUM_FEATURES: i64 = 1 << 18;
/// The original raises smaller donor counts to this.
const MIN_DONORS: i64 = 100;
const SAMPLE_DAYS: u64 = 90;

pub struct TaarSimilarity;

const SPEC: JobSpec = JobSpec {
    name: "taar-similarity",
    summary: "TAAR: donor pool and likelihood-ratio curves for the similarity recommender",
    params: &[
        ParamSpec::new("num-clusters", ParamType::Int, "clusters of bisecting k-means (it may find fewer)").default("20"),
        ParamSpec::new("num-donors", ParamType::Int, "donors in the pool; values below 100 are raised to 100").default("1000"),
        ParamSpec::new("kernel-bandwidth", ParamType::Float, "bandwidth of the Gaussian kernel density estimates").default("0.35"),
        ParamSpec::new("num-pdf-points", ParamType::Int, "points of the likelihood-ratio curves").default("1000"),
        ParamSpec::new("clients-sample-date-from", ParamType::Date, "first day of clients_daily to read, YYYYMMDD (default --date minus 90 days)"),
        ParamSpec::new("whitelist", ParamType::String, "JSON list of curated guids (path or URL; default <data-root>/telemetry-ml/addon_recommender/only_guids_top_200.json)"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("taar/similarity/"),
        ParamSpec::new("donor-schema", ParamType::String, "donor field names: etl (city, hours, as the original) or taar (geo_city, seconds, as the TAAR service reads)").default("etl"),
        ParamSpec::new("clusters-table", ParamType::String, "also write every clustered client's cluster as the Parquet table <output-root>/<name>/ (client_id, prediction)"),
    ],
    outputs: &[
        OutputSpec { path: "<prefix>donors.json", format: OutputFormat::Json, about: "[{city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds, active_addons}, ...]" },
        OutputSpec { path: "<prefix>lr_curves.json", format: OutputFormat::Json, about: "[[score, [within-cluster density, across-cluster density]], ...]" },
        OutputSpec { path: "<clusters-table>/", format: OutputFormat::Parquet, about: "(client_id, prediction) of every clustered client, with --clusters-table" },
    ],
};

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
            whitelist: rc.input_file(args.string("whitelist"), super::CURATED_WHITELIST),
            prefix: args.prefix()?,
            schema: DonorSchema::parse(&args.string("donor-schema").unwrap_or_default())?,
            clusters_table: args.string("clusters-table").map(|t| check_path("--clusters-table", &t).map(|()| t)).transpose()?,
        })
    }
}

#[async_trait]
impl Job for TaarSimilarity {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let s = Settings::parse(rc, args)?;
        if let Some(table) = &s.clusters_table {
            rc.set_output_folder(&STEPS.cluster_assignments, table);
        }
        let whitelist = super::curated_whitelist(rc, &s.whitelist).await?;
        rc.prepare(&STEPS.all(), &super::clients_daily_inputs()).await?;

        let mut params = rc.base_params();
        params.set_string("from", s.from.clone());
        params.set_string("end", rc.date_compact());
        params.set_strings("whitelist", &whitelist);
        params.set_int("num_features", NUM_FEATURES);
        rc.run(&STEPS.latest_days, &params).await?;
        rc.run(&STEPS.client_addons, &params).await?;
        rc.run(&STEPS.valid_addons, &params).await?;
        let staged = rc.run(&STEPS.clients, &params).await?;
        let clients = staged.rows.unwrap_or(0);
        if clients == 0 && !rc.dry_run() {
            return Err(Error::input(format!(
                "no Firefox release client in clients_daily from {} to {} has 3 or more valid whitelisted add-ons; nothing to cluster",
                s.from,
                rc.date_compact()
            )));
        }

        let seed = rc.opts.seed;
        let steps = bisecting::Steps::choose(rc, &staged).await?;
        let clustering = match rc.dry_run() {
            // The steps after the clustering are planned with a tree of one leaf.
            true => bisecting::Clustering::single(),
            false => bisecting::cluster(rc, &steps, s.clusters, seed).await?,
        };
        let moments = bisecting::node_moments(rc, &steps, &clustering.model).await?;
        let sizes: Vec<i64> = clustering.leaves.iter().map(|l| moments.get(l).map_or(0, |m| m.rows)).collect();
        if !rc.dry_run() {
            rc.progress.note(&format!("{} clusters of {} clients: {sizes:?}", sizes.len(), clients));
        }
        params.set("model", bisecting::model_param(&clustering.model)?);
        params.set_ints("leaves", &clustering.leaves);
        rc.run(&STEPS.clustered, &params).await?;

        let quotas = quotas(&sizes, s.donors);
        if quotas.iter().sum::<i64>() < s.donors && !rc.dry_run() {
            log::warn!("only {clients} clients were clustered: all of them are donors, fewer than --num-donors {}", s.donors);
        }
        params.set_ints("quotas", &quotas);
        rc.run(&STEPS.donors, &params).await?;
        let donors = donors::donor_objects(&rc.run(&STEPS.donor_rows, &params).await?.batches, s.schema)?;

        rc.run(&STEPS.pair_scores, &params).await?;
        params.set_float("bandwidth", s.bandwidth);
        params.set_int("points", s.points);
        let densities = rc.run(&STEPS.lr_curves, &params).await?.batches;
        let curves = match rc.dry_run() {
            true => Value::Null,
            false => {
                let (curves, pairs) = lr_curves(&densities, s.points as usize)?;
                rc.progress.note(&format!("{pairs} donor pairs scored"));
                curves
            }
        };

        if s.clusters_table.is_some() {
            rc.run(&STEPS.cluster_assignments, &params).await?;
        }
        super::stage_dated_json(rc, &s.prefix, "donors", &Value::Array(donors)).await?;
        super::stage_dated_json(rc, &s.prefix, "lr_curves", &curves).await
    }
}

/// lr_curves.json from the densities of `lr_curves.sql`, and the pairs scored.
/// With one side empty (one cluster: no across-cluster pairs) both curves are
/// the other side's, so every likelihood ratio is 1 where the original wrote NaN.
fn lr_curves(batches: &[RecordBatch], points: usize) -> Result<(Value, u64)> {
    let (mut intra, mut inter, mut range, mut pairs) = (None, None, (0.0, 0.0), 0);
    for b in batches {
        let kinds = column::<StringArray>(b, "kind")?;
        let (n, lo, hi) = (column::<Int64Array>(b, "pairs")?, column::<Float64Array>(b, "lo")?, column::<Float64Array>(b, "hi")?);
        let densities = column::<ListArray>(b, "density")?;
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
    let grid = grid(range.0, range.1, points);
    let curve = grid.iter().zip(numerator.iter().zip(&denominator)).map(|(x, (n, d))| json!([x, [n, d]])).collect();
    Ok((Value::Array(curve), pairs))
}
