//! The experiment's description (`--config`, YAML): which columns say who
//! saw what, the control, the metrics and their roles, the segments, and the
//! test's parameters.

use std::collections::BTreeMap;

use fletch_engine::{Error, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: String,
    /// The column identifying a unit (user, recipient).
    #[serde(default = "defaults::unit")]
    pub unit: String,
    /// The column naming the variant a row belongs to.
    #[serde(default = "defaults::variant")]
    pub variant: String,
    /// The column naming the event.
    #[serde(default = "defaults::event")]
    pub event: String,
    /// The event that puts a unit in the test (`sent`, `exposed`).
    #[serde(default = "defaults::exposure")]
    pub exposure: String,
    /// The variant the others are compared with.
    pub control: String,
    /// Expected shares of units per variant; equal shares when absent.
    #[serde(default)]
    pub split: BTreeMap<String, f64>,
    /// Higher is better; the decision rests on it.
    pub primary: Metric,
    /// Higher is worse; each has the worst acceptable increase.
    #[serde(default)]
    pub guardrails: Vec<Guardrail>,
    /// Reported, not decided on.
    #[serde(default)]
    pub secondary: Vec<Metric>,
    /// Columns to break every metric down by.
    #[serde(default)]
    pub segments: Vec<String>,
    #[serde(default = "defaults::alpha")]
    pub alpha: f64,
    #[serde(default = "defaults::power")]
    pub power: f64,
    /// The smallest absolute change of the primary rate worth detecting.
    pub minimum_detectable_effect: Option<f64>,
    /// The sample-ratio check fails below this p-value.
    #[serde(default = "defaults::srm_alpha")]
    pub srm_alpha: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub name: String,
    /// The share of exposed units with at least one such event.
    pub event: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrail {
    pub name: String,
    pub event: String,
    /// The largest absolute increase of the rate that is acceptable.
    pub max_increase: f64,
}

mod defaults {
    pub fn unit() -> String {
        "unit_id".into()
    }
    pub fn variant() -> String {
        "variant".into()
    }
    pub fn event() -> String {
        "event".into()
    }
    pub fn exposure() -> String {
        "exposed".into()
    }
    pub fn alpha() -> f64 {
        0.05
    }
    pub fn power() -> f64 {
        0.8
    }
    pub fn srm_alpha() -> f64 {
        0.001
    }
}

/// A metric of the readout, whatever its role.
#[derive(Clone, Debug)]
pub struct Measure {
    pub name: String,
    pub event: String,
    pub role: Role,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Role {
    Primary,
    Guardrail { max_increase: f64 },
    Secondary,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Guardrail { .. } => "guardrail",
            Role::Secondary => "secondary",
        }
    }
}

impl Experiment {
    /// Parses and checks `text`, read from `source`.
    pub fn parse(source: &str, text: &str) -> Result<Self> {
        let e: Experiment = serde_norway::from_str(text).map_err(|e| Error::input(format!("experiment {source}: {e}")))?;
        let bad = |what: String| Err(Error::input(format!("experiment {source}: {what}")));
        if !(e.alpha > 0.0 && e.alpha < 0.5) {
            return bad(format!("alpha: expected a number in (0, 0.5), got {}", e.alpha));
        }
        if !(e.power > 0.0 && e.power < 1.0) {
            return bad(format!("power: expected a number in (0, 1), got {}", e.power));
        }
        if !(e.srm_alpha > 0.0 && e.srm_alpha < 1.0) {
            return bad(format!("srm_alpha: expected a number in (0, 1), got {}", e.srm_alpha));
        }
        if let Some(mde) = e.minimum_detectable_effect.filter(|m| !(*m > 0.0 && *m < 1.0)) {
            return bad(format!("minimum_detectable_effect: expected an absolute change in (0, 1), got {mde}"));
        }
        if let Some((v, s)) = e.split.iter().find(|(_, s)| s.partial_cmp(&&0.0) != Some(std::cmp::Ordering::Greater)) {
            return bad(format!("split: {v}: expected a positive share, got {s}"));
        }
        if let Some(g) = e.guardrails.iter().find(|g| !(g.max_increase >= 0.0 && g.max_increase < 1.0)) {
            return bad(format!("guardrails: {}: max_increase: expected an absolute rate change in [0, 1), got {}", g.name, g.max_increase));
        }
        let measures = e.measures();
        for (i, m) in measures.iter().enumerate() {
            if m.event == e.exposure {
                return bad(format!("metric {}: its event `{}` is the exposure event", m.name, m.event));
            }
            if measures[..i].iter().any(|n| n.name == m.name) {
                return bad(format!("metric name `{}` used twice", m.name));
            }
        }
        Ok(e)
    }

    /// Every metric: the primary first, then guardrails, then secondary ones.
    pub fn measures(&self) -> Vec<Measure> {
        let measure = |m: &Metric, role| Measure { name: m.name.clone(), event: m.event.clone(), role };
        std::iter::once(measure(&self.primary, Role::Primary))
            .chain(self.guardrails.iter().map(|g| Measure { name: g.name.clone(), event: g.event.clone(), role: Role::Guardrail { max_increase: g.max_increase } }))
            .chain(self.secondary.iter().map(|m| measure(m, Role::Secondary)))
            .collect()
    }

    /// The distinct events the metrics count.
    pub fn metric_events(&self) -> Vec<String> {
        let mut events: Vec<String> = self.measures().into_iter().map(|m| m.event).collect();
        events.sort();
        events.dedup();
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_key() {
        let e = Experiment::parse("e.yaml", "name: t\ncontrol: a\nprimary: {name: ctr, event: click}\n").unwrap();
        assert_eq!((e.unit.as_str(), e.exposure.as_str(), e.alpha), ("unit_id", "exposed", 0.05));
        let typo = Experiment::parse("e.yaml", "name: t\ncontrol: a\nprimary: {name: ctr, event: click}\nsegmets: [x]\n").unwrap_err().to_string();
        assert!(typo.starts_with("experiment e.yaml: unknown field `segmets`"), "{typo}");
        let alpha = Experiment::parse("e.yaml", "name: t\ncontrol: a\nprimary: {name: ctr, event: click}\nalpha: 5\n").unwrap_err().to_string();
        assert_eq!(alpha, "experiment e.yaml: alpha: expected a number in (0, 0.5), got 5");
        let exposure = Experiment::parse("e.yaml", "name: t\ncontrol: a\nprimary: {name: ctr, event: exposed}\n").unwrap_err().to_string();
        assert!(exposure.contains("is the exposure event"), "{exposure}");
    }
}
