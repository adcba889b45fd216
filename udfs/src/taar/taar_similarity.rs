//! `taar_similarity`: TAAR's `SimilarityRecommender`.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;
use serde::Deserialize;

use super::{Recommendation, constant_json, constant_limit, recommendations_array, recommendations_type};
use crate::util::list_of;

/// The service's `CATEGORICAL_FEATURES` and `CONTINUOUS_FEATURES`.
const CATEGORICAL: usize = 3;
const CONTINUOUS: usize = 5;
/// `FLOOR_DISTANCE_ADJUSTMENT`.
const FLOOR: f64 = 0.001;

/// A donor of donors.json, read through the service's field names.
#[derive(Debug, Deserialize)]
struct DonorJson {
    geo_city: Option<String>,
    locale: Option<String>,
    os: Option<String>,
    subsession_length: Option<f64>,
    bookmark_count: Option<f64>,
    tab_open_count: Option<f64>,
    total_uri: Option<f64>,
    unique_tlds: Option<f64>,
    active_addons: Option<Vec<String>>,
}

struct Donor {
    categorical: [Option<String>; CATEGORICAL],
    /// A missing value is NaN, as in the service's numpy cache.
    continuous: [f64; CONTINUOUS],
    addons: Option<Vec<String>>,
}

impl From<DonorJson> for Donor {
    fn from(d: DonorJson) -> Self {
        let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
        Self {
            categorical: [d.geo_city, d.locale, d.os],
            continuous: [nan(d.subsession_length), nan(d.bookmark_count), nan(d.tab_open_count), nan(d.total_uri), nan(d.unique_tlds)],
            addons: d.active_addons,
        }
    }
}

/// One point of lr_curves.json: `[score, [numerator, denominator]]`.
type CurvePoint = (f64, (f64, f64));

struct Model {
    donors: Vec<Donor>,
    curve: Vec<CurvePoint>,
    /// The scores ascend (as lr_curves.json's do): nearest point by bisection.
    ascending: bool,
}

impl Model {
    fn new(donors: Vec<DonorJson>, curve: Vec<CurvePoint>) -> Result<Self> {
        if curve.is_empty() {
            return exec_err!("taar_similarity: lr_curves is empty");
        }
        let ascending = curve.windows(2).all(|w| w[0].0 <= w[1].0);
        Ok(Self { donors: donors.into_iter().map(Donor::from).collect(), curve, ascending })
    }

    /// `compute_clients_dist` for one donor: scipy's Canberra (a 0/0 term is
    /// 0, NaN propagates) plus 0.001, times the share of differing
    /// categories (a missing donor value differs from every client value).
    fn distance(donor: &Donor, categorical: &[&str], continuous: &[f64]) -> f64 {
        let canberra: f64 = donor
            .continuous
            .iter()
            .zip(continuous)
            .map(|(u, v)| {
                let denominator = u.abs() + v.abs();
                if denominator != 0.0 { (u - v).abs() / denominator } else { 0.0 }
            })
            .sum();
        let differing = donor.categorical.iter().zip(categorical).filter(|(d, c)| d.as_deref() != Some(**c)).count();
        (canberra + FLOOR) * (differing as f64 / CATEGORICAL as f64)
    }

    /// `get_lr`: the curve point nearest `score` (the first on a tie; the
    /// first point for NaN, as numpy's argmin), numerator over denominator.
    /// None where Python's division raises (a zero denominator).
    fn likelihood_ratio(&self, score: f64) -> Option<f64> {
        let k = match (score.is_nan(), self.ascending) {
            (true, _) => 0,
            (false, true) => {
                let upper = self.curve.partition_point(|p| p.0 < score);
                match upper {
                    0 => 0,
                    u if u == self.curve.len() => u - 1,
                    u => if (score - self.curve[u - 1].0).abs() <= (self.curve[u].0 - score).abs() { u - 1 } else { u },
                }
            }
            (false, false) => {
                let gap = |p: &CurvePoint| (score - p.0).abs();
                (0..self.curve.len()).fold(0, |best, k| if gap(&self.curve[k]) < gap(&self.curve[best]) { k } else { best })
            }
        };
        let (numerator, denominator) = self.curve[k].1;
        (denominator != 0.0).then(|| numerator / denominator)
    }

    /// `recommend`: donors ranked by likelihood ratio; each donor with a
    /// positive log ratio gives its add-ons that log ratio; summed per guid,
    /// the highest first (ties by guid). None where the service raises.
    fn recommend(&self, categorical: &[&str], continuous: &[f64], limit: usize) -> Option<Vec<Recommendation>> {
        let mut ranked = Vec::with_capacity(self.donors.len());
        for (k, d) in self.donors.iter().enumerate() {
            ranked.push((self.likelihood_ratio(Self::distance(d, categorical, continuous))?, k));
        }
        // numpy's argsort of -lrs: descending, NaN last (ties here by donor order).
        ranked.sort_by(|a, b| match (a.0.is_nan(), b.0.is_nan()) {
            (false, false) => b.0.total_cmp(&a.0),
            (x, y) => x.cmp(&y),
        });
        let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
        for (lr, k) in ranked {
            let log_lr = lr.ln();
            if !(log_lr > 0.0) {
                break;
            }
            for guid in self.donors[k].addons.as_ref()? {
                *sums.entry(guid).or_insert(0.0) += log_lr;
            }
        }
        let mut recs: Vec<Recommendation> = sums.into_iter().map(|(g, w)| (g.to_string(), w)).collect();
        recs.sort_by(|a, b| b.1.total_cmp(&a.1));
        recs.truncate(limit);
        Some(recs)
    }
}

#[user_doc(
    doc_section(label = "TAAR Functions"),
    description = "The add-ons TAAR's similarity recommender (mozilla-taar3 1.0.7 \
        `SimilarityRecommender.recommend`) gives a client: every donor's distance to the client \
        ((Canberra of the continuous features + 0.001) × Hamming of the categorical ones) becomes a \
        likelihood ratio through lr_curves (the nearest score's numerator / denominator); each donor \
        whose log ratio is positive adds it to each of its add-ons; the `limit` highest sums, as a \
        list of {guid, weight}. NULL where the service raises: a zero denominator, a ranked donor \
        without add-ons, a NULL client.",
    syntax_example = "taar_similarity(categorical, continuous, donors, lr_curves, limit)",
    sql_example = "SELECT taar_similarity(['Rome', 'it', 'Linux'], [1, 2, 3, 4, 5], \
        '[{\"geo_city\": \"Paris\", \"locale\": \"it\", \"os\": \"Linux\", \"subsession_length\": 1, \"bookmark_count\": 2, \
        \"tab_open_count\": 3, \"total_uri\": 4, \"unique_tlds\": 5, \"active_addons\": [\"a\"]}]', \
        '[[0.0, [3.0, 1.0]], [1.0, [1.0, 1.0]]]', 4); -- [{guid: a, weight: 1.0986122886681098}]",
    argument(name = "categorical", description = "List [geo_city, locale, os] of the client."),
    argument(name = "continuous", description = "List [subsession_length (seconds), bookmark_count, tab_open_count, total_uri, unique_tlds]."),
    argument(name = "donors", description = "Constant JSON: donors.json in the service's field names (taar-similarity --donor-schema taar)."),
    argument(name = "lr_curves", description = "Constant JSON: lr_curves.json, [[score, [numerator, denominator]], ...]."),
    argument(name = "limit", description = "Constant: how many add-ons at most.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TaarSimilarity {
    signature: Signature,
}

impl TaarSimilarity {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for TaarSimilarity {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TaarSimilarity {
    fn name(&self) -> &str {
        "taar_similarity"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let lists = |t: &DataType| matches!(t, DataType::List(_) | DataType::LargeList(_) | DataType::Null);
        match take_function_args(self.name(), arg_types)? {
            [a, b, _, _, l] if lists(a) && lists(b) && l.is_integer() => {
                Ok(vec![list_of(DataType::Utf8), list_of(DataType::Float64), DataType::Utf8, DataType::Utf8, DataType::Int64])
            }
            other => plan_err!("taar_similarity takes (list of 3 strings, list of 5 numbers, donors JSON, lr_curves JSON, integer limit), got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(recommendations_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [categorical, continuous, donors, curves, limit] = take_function_args(self.name(), &args.args)?;
        let model = Model::new(constant_json(self.name(), "donors", donors)?, constant_json(self.name(), "lr_curves", curves)?)?;
        let limit = constant_limit(self.name(), limit)?;
        let categorical = categorical.to_array(args.number_rows)?;
        let continuous = cast(&continuous.to_array(args.number_rows)?, &list_of(DataType::Float64))?;
        let (categorical, continuous) = (categorical.as_list::<i32>(), continuous.as_list::<i32>());
        let mut rows = Vec::with_capacity(args.number_rows);
        for i in 0..args.number_rows {
            if categorical.is_null(i) || continuous.is_null(i) {
                rows.push(None);
                continue;
            }
            let (cat, cont) = (categorical.value(i), continuous.value(i));
            let cat: Vec<&str> = cat.as_string::<i32>().iter().map(|v| v.unwrap_or("")).collect();
            let cont: Vec<f64> = cont.as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(0.0)).collect();
            if cat.len() != CATEGORICAL || cont.len() != CONTINUOUS {
                return exec_err!("taar_similarity: a client needs {CATEGORICAL} categorical and {CONTINUOUS} continuous features, got {} and {}", cat.len(), cont.len());
            }
            rows.push(model.recommend(&cat, &cont, limit));
        }
        Ok(ColumnarValue::Array(recommendations_array(rows)))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(donors: &str, curve: &str) -> Model {
        Model::new(serde_json::from_str(donors).unwrap(), serde_json::from_str(curve).unwrap()).unwrap()
    }

    const DONORS: &str = r#"[
        {"geo_city": "Rome", "locale": "it", "os": "Linux", "subsession_length": 10, "bookmark_count": 1,
         "tab_open_count": 2, "total_uri": 3, "unique_tlds": 4, "active_addons": ["a", "b"]},
        {"geo_city": "Paris", "locale": "it", "os": "Linux", "subsession_length": 10, "bookmark_count": 1,
         "tab_open_count": 2, "total_uri": 3, "unique_tlds": 4, "active_addons": ["b", "c"]},
        {"geo_city": null, "locale": "fr", "os": "Mac", "subsession_length": null, "bookmark_count": 0,
         "tab_open_count": 0, "total_uri": 0, "unique_tlds": 0, "active_addons": ["d"]}]"#;

    #[test]
    fn distances_follow_the_service() {
        let m = model(DONORS, "[[0.0, [1.0, 1.0]]]");
        let client = (["Rome", "it", "Linux"], [10.0, 1.0, 2.0, 3.0, 5.0]);
        // Same categories: 0 whatever the continuous features.
        assert_eq!(Model::distance(&m.donors[0], &client.0, &client.1), 0.0);
        // One category differs: (1/9 + 0.001) / 3, the spec's reference pair.
        assert_eq!(Model::distance(&m.donors[1], &client.0, &client.1), (1.0 / 9.0 + 0.001) * (1.0 / 3.0));
        // A missing continuous value is NaN, a missing city differs from "".
        assert!(Model::distance(&m.donors[2], &["", "fr", "Mac"], &[0.0; 5]).is_nan());
    }

    #[test]
    fn ranks_donors_by_likelihood_ratio() {
        // Scores 0 → ratio 3 (log 1.0986), 0.037 → nearer 0.0 than 1.0 → 3 as well, NaN → the first point.
        let m = model(DONORS, "[[0.0, [3.0, 1.0]], [1.0, [1.0, 2.0]]]");
        let recs = m.recommend(&["Rome", "it", "Linux"], &[10.0, 1.0, 2.0, 3.0, 5.0], 4).unwrap();
        let l = 3f64.ln();
        // b from both donors, then a, c, d by guid (equal sums).
        assert_eq!(recs, [("b".into(), l + l), ("a".into(), l), ("c".into(), l), ("d".into(), l)]);
        // Ratios ≤ 1 contribute nothing.
        let m = model(DONORS, "[[0.0, [1.0, 1.0]]]");
        assert_eq!(m.recommend(&["x", "y", "z"], &[0.0; 5], 4).unwrap(), []);
        // A zero denominator raises in the service: NULL.
        let m = model(DONORS, "[[0.0, [1.0, 0.0]]]");
        assert_eq!(m.recommend(&["Rome", "it", "Linux"], &[0.0; 5], 4), None);
    }

    #[test]
    fn nearest_point_takes_the_first_on_a_tie() {
        let m = model("[]", "[[0.0, [1.0, 1.0]], [1.0, [2.0, 1.0]], [2.0, [3.0, 1.0]]]");
        assert_eq!(m.likelihood_ratio(0.5), Some(1.0));
        assert_eq!(m.likelihood_ratio(0.51), Some(2.0));
        assert_eq!(m.likelihood_ratio(9.0), Some(3.0));
        assert_eq!(m.likelihood_ratio(-9.0), Some(1.0));
        assert_eq!(m.likelihood_ratio(f64::NAN), Some(1.0));
    }
}
