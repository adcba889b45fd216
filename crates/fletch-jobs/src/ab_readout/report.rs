//! The readout as a Markdown page for people: the decision first, then one
//! table of every metric, the primary metric by segment, warnings, power.

use fletch_engine::progress::group_thousands;

use super::readout::{Breakdown, Readout, SegmentColumn, p_value, pp};

fn percent(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

fn interval((lo, hi): (f64, f64), f: fn(f64) -> String) -> String {
    format!("[{}, {}]", f(lo), f(hi))
}

fn ratio(x: f64) -> String {
    format!("{x:.3}")
}

/// One row per treatment of `b`: each variant's rate, then the comparison.
fn rows(b: &Breakdown, control: &str, label: &str, extra: &dyn Fn(usize) -> String) -> Vec<String> {
    let c = &b.rates[control];
    b.comparisons
        .iter()
        .enumerate()
        .map(|(i, cmp)| {
            let t = &b.rates[&cmp.variant];
            let ratio_text = match (cmp.stats.ratio, cmp.stats.ratio_ci) {
                (Some(r), Some(ci)) => format!("{} {}", ratio(r), interval(ci, ratio)),
                (Some(r), None) => ratio(r),
                _ => "–".into(),
            };
            format!(
                "| {label} | {} ({}/{}) | {} {} ({}/{}) | {} {} | {} | {} |{}",
                percent(c.rate),
                group_thousands(c.converted),
                group_thousands(c.units),
                cmp.variant,
                percent(t.rate),
                group_thousands(t.converted),
                group_thousands(t.units),
                pp(cmp.stats.diff),
                interval(cmp.stats.diff_ci, pp),
                ratio_text,
                p_value(cmp.stats.p_value),
                extra(i)
            )
        })
        .collect()
}

pub fn markdown(r: &Readout) -> String {
    let level = format!("{:.0} %", (1.0 - r.alpha) * 100.0);
    let mut out = vec![format!("# A/B readout: {}", r.experiment), String::new()];
    for d in &r.decisions {
        out.push(format!("**{}: {}.** {}", d.variant, d.decision, d.reasons.join("; ")));
        out.push(String::new());
    }
    let units: Vec<String> = r.variants.iter().map(|v| format!("{v} {}", group_thousands(r.units[v]))).collect();
    out.push(format!(
        "Units: {} (control {}); sample ratio check: chi-square {:.2}, p = {}{}.",
        units.join(", "),
        r.control,
        r.sample_ratio.chi2,
        p_value(r.sample_ratio.p_value),
        if r.sample_ratio.mismatch { ", **mismatch**" } else { "" }
    ));
    out.push(String::new());
    out.push(format!("Rates are the share of exposed units with at least one event ({level} Wilson intervals); differences and ratios are against the control ({level} intervals), p-values from the pooled two-proportion z-test."));
    out.push(String::new());
    out.push("![Rates and intervals per metric and variant](readout.png)".into());
    out.push(String::new());
    out.push(format!("| metric | {} | treatment | difference | ratio | p | verdict |", r.control));
    out.push("|---|---|---|---|---|---|---|".into());
    for m in &r.metrics {
        let label = format!("{} ({})", m.name, m.role);
        let verdict = |i: usize| {
            let c = &m.total.comparisons[i];
            let text = match (c.guardrail, c.significant) {
                (Some(g), _) => format!("{g} (worst acceptable {})", pp(m.max_increase.unwrap_or(0.0))),
                (None, true) => "significant".into(),
                (None, false) => "not significant".into(),
            };
            format!(" {text} |")
        };
        out.extend(rows(&m.total, &r.control, &label, &verdict));
    }
    let primary = &r.metrics[0];
    for SegmentColumn { column, values } in &primary.segments {
        out.push(String::new());
        out.push(format!("## {} by {column}", primary.name));
        out.push(String::new());
        out.push(format!("| {column} | {} | treatment | difference | ratio | p |", r.control));
        out.push("|---|---|---|---|---|---|".into());
        for s in values {
            out.extend(rows(&s.breakdown, &r.control, &s.value, &|_| String::new()));
        }
    }
    if !r.warnings.is_empty() {
        out.push(String::new());
        out.push("## Warnings".into());
        out.push(String::new());
        out.extend(r.warnings.iter().map(|w| format!("- {w}")));
    }
    if let Some(p) = &r.power {
        out.push(String::new());
        out.push("## Power".into());
        out.push(String::new());
        out.push(match p.needed_per_variant {
            Some(n) => format!(
                "Detecting {} on {} from {} with power {} at alpha {} needs {} units per variant; the smallest variant had {}.",
                pp(p.minimum_detectable_effect),
                primary.name,
                percent(p.base_rate),
                p.power,
                r.alpha,
                group_thousands(n),
                group_thousands(p.smallest_variant)
            ),
            None => format!("A change of {} from {} is not a rate: no sample size.", pp(p.minimum_detectable_effect), percent(p.base_rate)),
        });
    }
    let excluded = &r.excluded;
    out.push(String::new());
    out.push(format!(
        "Left out: {} units never exposed, {} units in several variants, {} rows without a unit.",
        excluded.never_exposed, excluded.several_variants, excluded.rows_without_unit
    ));
    out.join("\n") + "\n"
}
