//! `taar-locale`: per-locale top add-ons with differential privacy, a port of
//! mozetl's `taar_locale` (docs/jobs/taar-locale.md). Counting runs in SQL
//! (on the executors on a cluster); the locale × whitelist grid, the noise
//! and the top-N run here on the driver.

use std::collections::HashMap;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use fletch_engine::batches::column;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use rand::Rng;
use serde_json::{Value, json};

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("taar-locale" {
    window_rows in "taar": Check,
    client_addons: View,
    locale_counts: Collected,
});

/// The original's per-client cap, the same for every locale.
const LOCALE_LIMIT: i64 = 1;

/// `client_addons.sql` reads these fields of each add-on and nothing else.
const ADDON_FIELDS: &[&str] = &["addon_id", "type", "blocklisted", "signed_state", "user_disabled", "app_disabled", "is_system"];

pub struct TaarLocale;

const SPEC: JobSpec = JobSpec {
    name: "taar-locale",
    summary: "TAAR: top add-ons per locale with Laplace noise (differential privacy)",
    params: &[
        ParamSpec::new("num-addons", ParamType::Int, "add-ons listed per locale").default("10"),
        ParamSpec::new("client-data-num-days", ParamType::Int, "days of clients_daily before --date to read (the window is num-days + 1 days back to --date)").default("28"),
        ParamSpec::new("epsilon", ParamType::Float, "differential-privacy epsilon; noise scale is cap / epsilon").default("0.4"),
        ParamSpec::new("noise", ParamType::String, "laplace, or none (not private: for tests and audits)").default("laplace"),
        ParamSpec::new("whitelist", ParamType::String, "JSON list of curated guids (path or URL; default <data-root>/telemetry-ml/addon_recommender/only_guids_top_200.json)"),
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default("taar/locale/"),
        super::ALLOW_EMPTY,
    ],
    outputs: &[OutputSpec { path: "<prefix>top10_dict.json", format: OutputFormat::Json, about: "{locale: [[guid, weight], ...]}" }],
};

#[async_trait]
impl Job for TaarLocale {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let num_addons = args.int_in("num-addons", 1..=10_000)? as usize;
        let days = args.int_in("client-data-num-days", 0..=3650)?;
        let epsilon = args.float("epsilon").filter(|e| *e > 0.0).ok_or_else(|| Error::usage("--epsilon: expected a positive number"))?;
        let laplace = args.choice("noise", &["laplace", "none"])? == "laplace";
        let whitelist = super::curated_whitelist(rc, &rc.input_file(args.string("whitelist"), super::CURATED_WHITELIST)).await?;
        rc.prepare(&STEPS.all(), &[Input::new("clients_daily").reading("active_addons", ADDON_FIELDS)]).await?;

        // The original reads num-days + 1 days back, the run date included.
        let mut params = super::window_params(rc, days + 2);
        super::require_rows(rc, &STEPS.window_rows, &params, days + 2, args).await?;
        params.set_int("limit", LOCALE_LIMIT);
        params.set_strings("whitelist", &whitelist);
        rc.run(&STEPS.client_addons, &params).await?;
        let counted = rc.run(&STEPS.locale_counts, &params).await?;
        let (locales, counts) = locale_counts(&counted.batches)?;
        rc.progress.note(&format!("{} locales", locales.len()));

        let scale = LOCALE_LIMIT as f64 / epsilon;
        let mut noise = rng_for(rc.opts.seed);
        let mut dict = serde_json::Map::new();
        for locale in &locales {
            let cells: Vec<f64> = whitelist
                .iter()
                .map(|g| {
                    let n = counts.get(&(locale.clone(), g.clone())).copied().unwrap_or(0) as f64;
                    if laplace { n + laplace_sample(&mut noise, scale) } else { n }
                })
                .collect();
            let top = top_addons(&whitelist, &cells, num_addons);
            dict.insert(locale.clone(), Value::Array(top.into_iter().map(|(g, w)| json!([g, w])).collect()));
        }
        let prefix = args.prefix()?;
        super::stage_dated_json(rc, &prefix, "top10_dict", &Value::Object(dict)).await
    }
}

/// Clients per (locale, add-on).
type Counts = HashMap<(String, String), i64>;

/// The locales (sorted) and the clients per (locale, add-on) of `locale_counts.sql`.
fn locale_counts(batches: &[RecordBatch]) -> Result<(Vec<String>, Counts)> {
    let mut locales = std::collections::BTreeSet::new();
    let mut counts = HashMap::new();
    for b in batches {
        let (locale, addon, n) = (column::<StringArray>(b, "locale")?, column::<StringArray>(b, "addon")?, column::<Int64Array>(b, "clients")?);
        for i in 0..b.num_rows() {
            locales.insert(locale.value(i).to_string());
            if addon.is_valid(i) {
                counts.insert((locale.value(i).to_string(), addon.value(i).to_string()), n.value(i));
            }
        }
    }
    Ok((locales.into_iter().collect(), counts))
}

/// The noise stream of a run: one per seed, drawn in grid order.
pub fn rng_for(seed: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x7AA2_10CA_1E00_0000)
}

/// One draw of Laplace(0, scale), by inverting its CDF.
pub fn laplace_sample(rng: &mut impl Rng, scale: f64) -> f64 {
    loop {
        let u: f64 = rng.random::<f64>() - 0.5;
        if u > -0.5 {
            return -scale * u.signum() * (1.0 - 2.0 * u.abs()).ln();
        }
    }
}

/// The original's `get_top_addons_by_locale` for one locale: shift so the
/// minimum is 0, normalise to proportions, keep the `n` largest; ties go to
/// the later whitelist entry (what the original published). A locale whose
/// shifted counts sum to 0 gets weights 0.0 where the original wrote NaN.
pub fn top_addons(whitelist: &[String], counts: &[f64], n: usize) -> Vec<(String, f64)> {
    let min = counts.iter().copied().fold(f64::INFINITY, f64::min);
    let shifted: Vec<f64> = counts.iter().map(|c| c - min).collect();
    let sum: f64 = shifted.iter().sum();
    let weights: Vec<f64> = shifted.iter().map(|s| if sum > 0.0 { s / sum } else { 0.0 }).collect();
    let mut order: Vec<usize> = (0..whitelist.len()).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(b.cmp(&a)));
    order.into_iter().take(n).map(|i| (whitelist[i].clone(), weights[i])).collect()
}

#[cfg(test)]
mod tests {
    use statrs::distribution::{ContinuousCDF, Laplace};

    use super::*;

    fn guids(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("g{i}")).collect()
    }

    #[test]
    fn shifts_normalises_and_breaks_ties_by_later_entry() {
        let top = top_addons(&guids(4), &[3.0, 1.0, 3.0, 2.0], 3);
        // shifted 2, 0, 2, 1 of 5; g1 and g3 tie and the later one comes first.
        assert_eq!(top, [("g3".to_string(), 0.4), ("g1".to_string(), 0.4), ("g4".to_string(), 0.2)]);
    }

    #[test]
    fn equal_counts_give_zero_weights_not_nan() {
        let top = top_addons(&guids(3), &[5.0, 5.0, 5.0], 10);
        assert_eq!(top, [("g3".to_string(), 0.0), ("g2".to_string(), 0.0), ("g1".to_string(), 0.0)]);
        assert_eq!(serde_json::to_string(&json!(top)).unwrap(), r#"[["g3",0.0],["g2",0.0],["g1",0.0]]"#);
    }

    #[test]
    fn noise_is_laplace_by_kolmogorov_smirnov() {
        let scale = 1.0 / 0.4;
        let mut rng = rng_for(42);
        let mut draws: Vec<f64> = (0..5_000).map(|_| laplace_sample(&mut rng, scale)).collect();
        draws.sort_by(f64::total_cmp);
        let dist = Laplace::new(0.0, scale).unwrap();
        let n = draws.len() as f64;
        let d = draws
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let f = dist.cdf(*x);
                (f - i as f64 / n).abs().max((((i + 1) as f64) / n - f).abs())
            })
            .fold(0.0, f64::max);
        // Critical value at alpha = 0.01: 1.63 / sqrt(n).
        assert!(d < 1.63 / n.sqrt(), "KS statistic {d}");
        // And it is not some other scale: Laplace(0, 2 * scale) is rejected.
        let wrong = Laplace::new(0.0, 2.0 * scale).unwrap();
        let d_wrong = draws.iter().enumerate().map(|(i, x)| (wrong.cdf(*x) - i as f64 / n).abs()).fold(0.0, f64::max);
        assert!(d_wrong > 1.63 / n.sqrt(), "KS statistic against the wrong scale {d_wrong}");
    }

    #[test]
    fn same_seed_same_noise() {
        let a: Vec<f64> = (0..5).map(|_| laplace_sample(&mut rng_for(7), 2.5)).collect();
        let mut r = rng_for(7);
        let b: Vec<f64> = (0..5).map(|_| laplace_sample(&mut r, 2.5)).collect();
        assert_eq!(a[0], b[0]);
        assert_ne!(b[0], b[1]);
    }
}
