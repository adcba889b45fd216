//! `taar-ensemble`: the weights TAAR's ensemble recommender gives its
//! collaborative, similarity and locale recommenders, a port of mozetl's
//! `taar_ensemble` (docs/jobs/taar-ensemble.md). Selecting the training
//! clients, asking the three recommenders (the service's own logic as
//! `taar_*` functions, fed the models of taar-collaborative, taar-similarity
//! and taar-locale) and costing their lists run as SQL, on the executors on
//! a cluster; the driver fits the logistic regression on the three costs.

mod regression;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Float64Array, Int32Array, RecordBatch};
use fletch_engine::batches::column;
use fletch_engine::outputs::check_path;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};
use regression::Penalty;

crate::sql_steps!("taar-ensemble" {
    latest_days in "taar": View,
    addon_rows: View,
    clients: Scratch(&[]),
    stacked: Scratch(&[]),
    regression_rows: Collected,
    training_table: Output(&[]),
});

const SAMPLE_DAYS: u64 = 7;
/// The original's `PREDICTOR_ORDER`.
const RECOMMENDERS: [&str; 3] = ["collaborative", "similarity", "locale"];
/// The original's four folds put every client in three training sets.
const FOLD_COPIES: f64 = 3.0;

/// The `active_addons` fields the original's add-on filter reads.
const ADDON_FIELDS: &[&str] = &["addon_id", "type", "is_system", "app_disabled", "user_disabled", "foreign_install", "install_day"];

/// A model file: its flag, its path under --models-root, what it is, and
/// the check that it parses as the service would load it.
struct ModelFile {
    flag: &'static str,
    default: &'static str,
    what: &'static str,
    check: fn(&str) -> std::result::Result<(), String>,
}

const MODELS: [ModelFile; 5] = [
    ModelFile { flag: "item-matrix", default: "telemetry-ml/addon_recommender/item_matrix.json", what: "taar-collaborative's item matrix", check: parses::<Vec<fletch_udfs::taar::ItemRow>> },
    ModelFile { flag: "addon-mapping", default: "telemetry-ml/addon_recommender/addon_mapping.json", what: "taar-collaborative's add-on mapping", check: parses::<Map<String, Value>> },
    ModelFile { flag: "donors", default: "taar/similarity/donors.json", what: "taar-similarity's donors", check: check_donors },
    ModelFile { flag: "lr-curves", default: "taar/similarity/lr_curves.json", what: "taar-similarity's likelihood-ratio curves", check: parses::<Vec<(f64, (f64, f64))>> },
    ModelFile { flag: "top-addons", default: "taar/locale/top10_dict.json", what: "taar-locale's top add-ons per locale", check: parses::<Map<String, Value>> },
];

pub struct TaarEnsemble;

const SPEC: JobSpec = JobSpec {
    name: "taar-ensemble",
    summary: "TAAR: the ensemble recommender's weight for each recommender (logistic regression on their costs)",
    params: &[
        ParamSpec::new("reg-param", ParamType::Float, "strength of the elastic-net penalty (Spark's regParam)").default("0.1"),
        ParamSpec::new("elastic-net-param", ParamType::Float, "share of the penalty that is L1 (Spark's elasticNetParam)").default("0.01"),
        ParamSpec::new("min-installed-addons", ParamType::Int, "train on clients with more valid add-ons than this").default("4"),
        ParamSpec::new("client-sample-date-from", ParamType::Date, "first day of clients_daily to read, YYYYMMDD (default --date minus 7 days)"),
        ParamSpec::new("models-root", ParamType::String, "where the recommenders' models are (the output root of taar-collaborative, taar-similarity and taar-locale; default --data-root)"),
        ParamSpec::new("item-matrix", ParamType::String, "item_matrix.json (path or URL; default <models-root>/telemetry-ml/addon_recommender/item_matrix.json)"),
        ParamSpec::new("addon-mapping", ParamType::String, "addon_mapping.json (default <models-root>/telemetry-ml/addon_recommender/addon_mapping.json)"),
        ParamSpec::new("donors", ParamType::String, "donors.json in TAAR's field names (default <models-root>/taar/similarity/donors.json)"),
        ParamSpec::new("lr-curves", ParamType::String, "lr_curves.json (default <models-root>/taar/similarity/lr_curves.json)"),
        ParamSpec::new("top-addons", ParamType::String, "top10_dict.json (default <models-root>/taar/locale/top10_dict.json)"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("taar/ensemble/"),
        ParamSpec::new("training-table", ParamType::String, "also write every training client's inputs, recommendations, costs and label as the Parquet table <output-root>/<name>/"),
    ],
    outputs: &[
        OutputSpec { path: "<prefix>ensemble_weight_daily.json", format: OutputFormat::Json, about: "{\"ensemble_weights\": {collaborative, similarity, locale}}" },
        OutputSpec { path: "<training-table>/", format: OutputFormat::Parquet, about: "the training clients with their recommendations and costs, with --training-table" },
    ],
};

#[async_trait]
impl Job for TaarEnsemble {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let lambda = args.float("reg-param").filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| Error::usage("--reg-param: expected a number ≥ 0"))?;
        let alpha = args.float("elastic-net-param").filter(|v| (0.0..=1.0).contains(v)).ok_or_else(|| Error::usage("--elastic-net-param: expected a number from 0 to 1"))?;
        let min_installed = args.int_in("min-installed-addons", 1..=98)?;
        let from = args.date("client-sample-date-from").unwrap_or(rc.opts.date - chrono::Days::new(SAMPLE_DAYS));
        if from > rc.opts.date {
            return Err(Error::usage(format!("--client-sample-date-from {} is after --date {}", from.format("%Y%m%d"), rc.date_compact())));
        }
        let prefix = args.prefix()?;
        let training_table = args.string("training-table").map(|t| check_path("--training-table", &t).map(|()| t)).transpose()?;
        if let Some(table) = &training_table {
            rc.set_output_folder(&STEPS.training_table, table);
        }

        let mut params = rc.base_params();
        for (flag, text) in read_models(rc, args).await? {
            params.set_string(&flag.replace('-', "_"), text);
        }
        let inputs = [
            Input::new("clients_daily").reading("active_addons", ADDON_FIELDS),
            Input::new("clients_daily_sizes").at("clients_daily").reading("active_addons", &["is_system"]),
        ];
        rc.prepare(&STEPS.all(), &inputs).await?;
        params.set_string("from", from.format("%Y%m%d").to_string());
        params.set_string("end", rc.date_compact());
        params.set_int("min_installed", min_installed);
        rc.run(&STEPS.latest_days, &params).await?;
        rc.run(&STEPS.addon_rows, &params).await?;
        let clients = rc.run(&STEPS.clients, &params).await?.rows.unwrap_or(0);
        if clients == 0 && !rc.dry_run() {
            return Err(Error::input(format!(
                "no Firefox release client in clients_daily from {} to {} has more than {min_installed} valid add-ons with install days; nothing to train on",
                from.format("%Y%m%d"),
                rc.date_compact()
            )));
        }
        rc.run(&STEPS.stacked, &params).await?;
        let rows = rc.run(&STEPS.regression_rows, &params).await?.batches;
        if training_table.is_some() {
            rc.run(&STEPS.training_table, &params).await?;
        }
        let weights = match rc.dry_run() {
            true => Value::Null,
            false => fit_weights(rc, &rows, clients, Penalty { lambda, alpha, copies: FOLD_COPIES })?,
        };
        super::stage_dated_json(rc, &prefix, "ensemble_weight_daily", &weights).await
    }
}

/// The regression on the rows of `regression_rows.sql` (`clients` were
/// asked), as ensemble_weight_daily.json.
fn fit_weights(rc: &RunContext, rows: &[RecordBatch], clients: u64, penalty: Penalty) -> Result<Value> {
    let (features, labels) = regression_rows(rows)?;
    if features.len() < clients as usize {
        log::warn!("{} of {clients} training clients left out: TAAR's similarity recommender raises for them (a zero density in lr_curves)", clients as usize - features.len());
    }
    let positives = labels.iter().filter(|&&l| l == 1.0).count();
    rc.progress.note(&format!("{} training clients, {positives} with a positive cost", features.len()));
    if positives == 0 || positives == labels.len() {
        return Err(Error::input(format!(
            "all {} training clients have label {}: the regression has nothing to separate (the original fails here too)",
            labels.len(),
            (positives > 0) as u8
        )));
    }
    let step = rc.progress.step("logistic regression");
    let fit = regression::fit(&features, &labels, penalty);
    step.done(None);
    log::info!("ensemble regression: {} iterations, objective {}, intercept {}, coefficients {:?}", fit.iterations, fit.objective, fit.intercept, fit.coefficients);
    ensemble_weights(&fit.coefficients)
}

/// Reads each model file as text (what the `taar_*` functions take),
/// checking it parses as the service would load it. Returns (flag, text).
async fn read_models(rc: &RunContext, args: &JobArgs) -> Result<Vec<(&'static str, String)>> {
    let root = match args.string("models-root") {
        Some(r) => fletch_engine::Location::parse("--models-root", &r)?,
        None => rc.opts.data_root.clone(),
    };
    let step = rc.progress.step("read models");
    let mut out = Vec::new();
    for m in &MODELS {
        let location = args.string(m.flag).unwrap_or_else(|| root.file_url(m.default).to_string());
        let (url, text) = rc.read_text(m.what, &location).await?;
        (m.check)(&text).map_err(|e| Error::input(format!("{} {url}: {e}", m.what)))?;
        out.push((m.flag, text));
    }
    step.done_counting(out.len() as u64, "files");
    Ok(out)
}

fn parses<T: DeserializeOwned>(text: &str) -> std::result::Result<(), String> {
    serde_json::from_str::<T>(text).map(|_| ()).map_err(|e| e.to_string())
}

/// Donors must carry the field names TAAR's similarity recommender reads:
/// with taar-similarity's default names it would compare every client's
/// city and hours with nothing.
fn check_donors(text: &str) -> std::result::Result<(), String> {
    let donors: Vec<Map<String, Value>> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match donors.first() {
        None => Err("no donor".into()),
        Some(d) if !d.contains_key("geo_city") || !d.contains_key("subsession_length") => Err(
            "donors lack geo_city and subsession_length, the names TAAR's similarity recommender reads (run taar-similarity with --donor-schema taar)".into(),
        ),
        Some(_) => Ok(()),
    }
}

fn regression_rows(batches: &[RecordBatch]) -> Result<(Vec<Vec<f64>>, Vec<f64>)> {
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for b in batches {
        let label = column::<Int32Array>(b, "label")?;
        let costs = RECOMMENDERS.iter().map(|r| column::<Float64Array>(b, &format!("cllr_{r}"))).collect::<Result<Vec<_>>>()?;
        for i in (0..b.num_rows()).filter(|&i| label.is_valid(i)) {
            labels.push(label.value(i) as f64);
            features.push(costs.iter().map(|c| c.value(i)).collect());
        }
    }
    Ok((features, labels))
}

/// ensemble_weight_daily.json, after the original's `verify_valid_coefs`:
/// every weight must be positive.
fn ensemble_weights(coefficients: &[f64]) -> Result<Value> {
    let weights: Map<String, Value> = RECOMMENDERS.iter().zip(coefficients).map(|(r, c)| (r.to_string(), json!(c))).collect();
    if let Some((r, c)) = RECOMMENDERS.iter().zip(coefficients).find(|(_, c)| !(**c > 0.0)) {
        return Err(Error::input(format!(
            "the {r} recommender's weight is {c}, not positive: the ensemble would ignore or invert it, so no weights are written (the original's verify_valid_coefs); weights {:?}",
            coefficients
        )));
    }
    Ok(json!({"ensemble_weights": weights}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_must_be_positive() {
        assert_eq!(ensemble_weights(&[0.5, 1.0, 2.0]).unwrap(), json!({"ensemble_weights": {"collaborative": 0.5, "similarity": 1.0, "locale": 2.0}}));
        let e = ensemble_weights(&[0.5, 0.0, 2.0]).unwrap_err().to_string();
        assert!(e.contains("similarity recommender's weight is 0"), "{e}");
        assert!(ensemble_weights(&[f64::NAN, 1.0, 1.0]).is_err());
    }

    #[test]
    fn donors_need_the_service_names() {
        assert!(check_donors(r#"[{"geo_city": "Rome", "subsession_length": 3600}]"#).is_ok());
        assert!(check_donors(r#"[{"city": "Rome", "subsession_hours_sum": 1.0}]"#).unwrap_err().contains("--donor-schema taar"));
        assert!(check_donors("[]").is_err());
    }
}
