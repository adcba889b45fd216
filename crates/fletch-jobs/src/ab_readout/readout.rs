//! From counts per variant, segment and metric to the readout: rates with
//! intervals, comparisons with the control, the sample-ratio check, guardrail
//! verdicts, segment reversals, power, and a decision per variant.

use std::collections::{BTreeMap, BTreeSet};

use fletch_engine::{Error, Result};
use serde::Serialize;

use super::experiment::{Experiment, Measure, Role};
use crate::proportions::{self as stats, Comparison};

/// Separates segment values in a segment key.
pub const SEGMENT_SEPARATOR: char = '\u{1f}';

/// The exposed units of one variant and segment combination, and how many
/// of them had `metric` (None: a row for the units alone).
#[derive(Clone, Debug)]
pub struct Cell {
    pub variant: String,
    pub segment_key: String,
    pub metric: Option<String>,
    pub units: u64,
    pub converted: u64,
}

/// Units and rows the readout leaves out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Excluded {
    /// Units with events but no exposure.
    pub never_exposed: u64,
    /// Units seen in more than one variant.
    pub several_variants: u64,
    /// Rows whose unit is NULL.
    pub rows_without_unit: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Rate {
    pub units: u64,
    pub converted: u64,
    pub rate: f64,
    /// Wilson interval.
    pub ci: (f64, f64),
}

#[derive(Clone, Debug, Serialize)]
pub struct VariantComparison {
    pub variant: String,
    #[serde(flatten)]
    pub stats: Comparison,
    pub significant: bool,
    /// `pass` or `fail`, for guardrails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Breakdown {
    pub rates: BTreeMap<String, Rate>,
    pub comparisons: Vec<VariantComparison>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SegmentReadout {
    pub value: String,
    #[serde(flatten)]
    pub breakdown: Breakdown,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricReadout {
    pub name: String,
    pub event: String,
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_increase: Option<f64>,
    #[serde(flatten)]
    pub total: Breakdown,
    /// Per segment column (in the experiment's order), per value.
    pub segments: Vec<SegmentColumn>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SegmentColumn {
    pub column: String,
    pub values: Vec<SegmentReadout>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SampleRatio {
    pub expected: BTreeMap<String, f64>,
    pub chi2: f64,
    pub p_value: f64,
    pub mismatch: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Power {
    pub minimum_detectable_effect: f64,
    pub base_rate: f64,
    pub power: f64,
    /// Units per variant the test needed.
    pub needed_per_variant: Option<u64>,
    /// Units of the smallest variant.
    pub smallest_variant: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub variant: String,
    /// `ship`, `do not ship`, `inconclusive` or `invalid`.
    pub decision: &'static str,
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Readout {
    pub experiment: String,
    pub control: String,
    pub alpha: f64,
    pub variants: Vec<String>,
    pub units: BTreeMap<String, u64>,
    pub excluded: Excluded,
    pub sample_ratio: SampleRatio,
    pub metrics: Vec<MetricReadout>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<Power>,
    pub warnings: Vec<String>,
    pub decisions: Vec<Decision>,
}

/// Percentage points, signed: `+0.56 pp`.
pub fn pp(x: f64) -> String {
    format!("{:+.2} pp", x * 100.0)
}

/// A p-value: three decimals, or the exponent when smaller.
pub fn p_value(p: f64) -> String {
    match p {
        _ if p >= 0.001 => format!("{p:.3}"),
        _ if p < 1e-16 => "< 1e-16".to_string(),
        _ => format!("{p:.1e}"),
    }
}

/// The counts of `cells`, looked up by variant, segment key and metric.
struct Counts<'a> {
    units: BTreeMap<(&'a str, &'a str), u64>,
    converted: BTreeMap<(&'a str, &'a str, &'a str), u64>,
}

impl<'a> Counts<'a> {
    fn new(cells: &'a [Cell]) -> Self {
        let mut counts = Counts { units: BTreeMap::new(), converted: BTreeMap::new() };
        for c in cells {
            counts.units.insert((&c.variant, &c.segment_key), c.units);
            if let Some(metric) = &c.metric {
                counts.converted.insert((&c.variant, &c.segment_key, metric), c.converted);
            }
        }
        counts
    }

    /// Units and converted units of `variant` over the segment keys `keep` accepts.
    fn rate(&self, variant: &str, event: &str, keep: &dyn Fn(&str) -> bool, alpha: f64) -> Rate {
        let units: u64 = self.units.iter().filter(|((v, k), _)| *v == variant && keep(k)).map(|(_, n)| n).sum();
        let converted: u64 = self.converted.iter().filter(|((v, k, m), _)| *v == variant && *m == event && keep(k)).map(|(_, n)| n).sum();
        let rate = if units > 0 { converted as f64 / units as f64 } else { 0.0 };
        Rate { units, converted, rate, ci: stats::wilson(converted, units, alpha) }
    }
}

/// The readout of `experiment` from `cells`.
pub fn build(experiment: &Experiment, source: &str, cells: &[Cell], excluded: Excluded) -> Result<Readout> {
    let e = experiment;
    let counts = Counts::new(cells);
    let seen: BTreeSet<&str> = cells.iter().map(|c| c.variant.as_str()).collect();
    if !seen.contains(e.control.as_str()) {
        let seen: Vec<&str> = seen.into_iter().collect();
        return Err(Error::input(format!(
            "experiment {source}: control `{}` has no exposed unit (variants with exposed units: {})",
            e.control,
            if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
        )));
    }
    let variants: Vec<String> =
        std::iter::once(e.control.clone()).chain(seen.iter().filter(|v| **v != e.control).map(|v| v.to_string())).collect();
    if !e.split.is_empty() && e.split.keys().collect::<BTreeSet<_>>() != variants.iter().collect::<BTreeSet<_>>() {
        return Err(Error::input(format!(
            "experiment {source}: split names {}, but the exposed units are in {}",
            e.split.keys().cloned().collect::<Vec<_>>().join(", "),
            variants.join(", ")
        )));
    }
    let all = |_: &str| true;
    let units: BTreeMap<String, u64> = variants.iter().map(|v| (v.clone(), counts.rate(v, &e.primary.event, &all, e.alpha).units)).collect();

    let expected: BTreeMap<String, f64> = variants.iter().map(|v| (v.clone(), e.split.get(v).copied().unwrap_or(1.0))).collect();
    let share_sum: f64 = expected.values().sum();
    let expected: BTreeMap<String, f64> = expected.into_iter().map(|(v, s)| (v, s / share_sum)).collect();
    let observed: Vec<u64> = variants.iter().map(|v| units[v]).collect();
    let shares: Vec<f64> = variants.iter().map(|v| expected[v]).collect();
    let (chi2, p_value) = stats::chi_square(&observed, &shares);
    let sample_ratio = SampleRatio { expected, chi2, p_value, mismatch: variants.len() > 1 && p_value < e.srm_alpha };

    let keys: BTreeSet<&str> = cells.iter().map(|c| c.segment_key.as_str()).collect();
    let metrics: Vec<MetricReadout> = e
        .measures()
        .iter()
        .map(|m| {
            let segments = e
                .segments
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    let values: BTreeSet<&str> = keys.iter().map(|k| segment_value(k, i)).collect();
                    let by_value = values
                        .into_iter()
                        .map(|value| {
                            let keep = |k: &str| segment_value(k, i) == value;
                            SegmentReadout { value: value.to_string(), breakdown: breakdown(e, m, &variants, &counts, &keep) }
                        })
                        .collect();
                    SegmentColumn { column: column.clone(), values: by_value }
                })
                .collect();
            MetricReadout {
                name: m.name.clone(),
                event: m.event.clone(),
                role: m.role.name(),
                max_increase: match m.role {
                    Role::Guardrail { max_increase } => Some(max_increase),
                    _ => None,
                },
                total: breakdown(e, m, &variants, &counts, &all),
                segments,
            }
        })
        .collect();

    let primary = &metrics[0];
    let power = e.minimum_detectable_effect.map(|mde| {
        let base_rate = primary.total.rates[&e.control].rate;
        Power {
            minimum_detectable_effect: mde,
            base_rate,
            power: e.power,
            needed_per_variant: stats::sample_size(base_rate, mde, e.alpha, e.power),
            smallest_variant: units.values().copied().min().unwrap_or(0),
        }
    });
    let mut warnings = Vec::new();
    if excluded.never_exposed > 0 {
        warnings.push(format!("{} units had events but were never exposed ({}); they are left out", excluded.never_exposed, e.exposure));
    }
    if excluded.several_variants > 0 {
        warnings.push(format!("{} units were seen in more than one variant; they are left out", excluded.several_variants));
    }
    if excluded.rows_without_unit > 0 {
        warnings.push(format!("{} rows have no {}; they are left out", excluded.rows_without_unit, e.unit));
    }
    if sample_ratio.mismatch {
        warnings.push(format!(
            "sample ratio mismatch: units per variant {} differ from the expected split (chi-square {:.2}, p = {}); the assignment or the logging is broken, so no comparison can be trusted",
            variants.iter().map(|v| format!("{v} {}", units[v])).collect::<Vec<_>>().join(", "),
            chi2,
            self::p_value(p_value)
        ));
    }
    warnings.extend(reversals(primary));
    if let Some(p) = power.as_ref().filter(|p| p.needed_per_variant.is_some_and(|n| p.smallest_variant < n)) {
        warnings.push(format!(
            "underpowered: detecting {} on {} from {:.2} % with power {} needs {} units per variant; the smallest variant has {}",
            pp(p.minimum_detectable_effect),
            primary.name,
            p.base_rate * 100.0,
            p.power,
            p.needed_per_variant.unwrap_or(0),
            p.smallest_variant
        ));
    }
    let decisions = variants[1..].iter().map(|v| decide(v, &metrics, e.alpha, sample_ratio.mismatch)).collect();
    Ok(Readout {
        experiment: e.name.clone(),
        control: e.control.clone(),
        alpha: e.alpha,
        variants,
        units,
        excluded,
        sample_ratio,
        metrics,
        power,
        warnings,
        decisions,
    })
}

/// Value `i` of a segment key.
fn segment_value(key: &str, i: usize) -> &str {
    key.split(SEGMENT_SEPARATOR).nth(i).unwrap_or("")
}

fn breakdown(e: &Experiment, m: &Measure, variants: &[String], counts: &Counts, keep: &dyn Fn(&str) -> bool) -> Breakdown {
    let rates: BTreeMap<String, Rate> = variants.iter().map(|v| (v.clone(), counts.rate(v, &m.event, keep, e.alpha))).collect();
    let control = &rates[&e.control];
    let comparisons = variants[1..]
        .iter()
        .map(|v| {
            let r = &rates[v];
            let stats = stats::compare(control.converted, control.units, r.converted, r.units, e.alpha);
            let guardrail = match m.role {
                Role::Guardrail { max_increase } => Some(if stats.diff_ci.1 <= max_increase { "pass" } else { "fail" }),
                _ => None,
            };
            VariantComparison { variant: v.clone(), significant: stats.p_value < e.alpha, stats, guardrail }
        })
        .collect();
    Breakdown { rates, comparisons }
}

/// Segments where a variant's primary difference is significant and of the
/// other sign than in total; a column all of whose segments point against
/// the total is Simpson's paradox.
fn reversals(primary: &MetricReadout) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, total) in primary.total.comparisons.iter().enumerate() {
        let sign = total.stats.diff.signum();
        if total.stats.diff == 0.0 {
            continue;
        }
        for SegmentColumn { column, values } in &primary.segments {
            let against: Vec<&SegmentReadout> = values.iter().filter(|s| s.breakdown.comparisons[i].stats.diff.signum() == -sign).collect();
            if values.len() > 1 && against.len() == values.len() {
                warnings.push(format!(
                    "Simpson's paradox: {} {} {} in total, yet the other way in every {column}; the mix of {column} differs between variants",
                    total.variant,
                    if sign > 0.0 { "wins" } else { "loses" },
                    primary.name
                ));
                continue;
            }
            for s in against.into_iter().filter(|s| s.breakdown.comparisons[i].significant) {
                let c = &s.breakdown.comparisons[i];
                warnings.push(format!(
                    "segment reversal: {} {} {} in total ({}) but {} for {column} = {} ({}, p = {})",
                    total.variant,
                    if sign > 0.0 { "wins" } else { "loses" },
                    primary.name,
                    pp(total.stats.diff),
                    if sign > 0.0 { "loses" } else { "wins" },
                    s.value,
                    pp(c.stats.diff),
                    p_value(c.stats.p_value)
                ));
            }
        }
    }
    warnings
}

/// Ship only when the primary metric wins significantly and every guardrail
/// passes: a primary win with a failing guardrail is "do not ship".
fn decide(variant: &str, metrics: &[MetricReadout], alpha: f64, mismatch: bool) -> Decision {
    fn comparison<'m>(m: &'m MetricReadout, variant: &str) -> &'m VariantComparison {
        m.total.comparisons.iter().find(|c| c.variant == variant).expect("every variant is compared")
    }
    if mismatch {
        return Decision { variant: variant.into(), decision: "invalid", reasons: vec!["sample ratio mismatch".into()] };
    }
    let primary = &metrics[0];
    let p = comparison(primary, variant);
    let mut reasons = Vec::new();
    let failing: Vec<&MetricReadout> = metrics.iter().filter(|m| comparison(m, variant).guardrail == Some("fail")).collect();
    for m in &failing {
        let c = comparison(m, variant);
        reasons.push(format!(
            "guardrail {} fails: {} ({:.0} % CI up to {}), worst acceptable {}",
            m.name,
            pp(c.stats.diff),
            (1.0 - alpha) * 100.0,
            pp(c.stats.diff_ci.1),
            pp(m.max_increase.unwrap_or(0.0))
        ));
    }
    let win = p.significant && p.stats.diff > 0.0;
    let loss = p.significant && p.stats.diff < 0.0;
    let verdict = format!("{} {} (p = {})", primary.name, pp(p.stats.diff), p_value(p.stats.p_value));
    let decision = if loss {
        reasons.insert(0, format!("{verdict}: worse than the control"));
        "do not ship"
    } else if win && failing.is_empty() {
        reasons.insert(0, format!("{verdict}: better than the control, every guardrail passes"));
        "ship"
    } else if win {
        reasons.insert(0, format!("{verdict}: better than the control, but a guardrail fails"));
        "do not ship"
    } else {
        reasons.insert(0, format!("{verdict}: no significant difference"));
        "inconclusive"
    };
    Decision { variant: variant.into(), decision, reasons }
}
