//! `taar_locale`: TAAR's `LocaleRecommender`.

use std::collections::HashMap;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::plan_err;
use datafusion::common::utils::take_function_args;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::{Recommendation, constant_json, constant_limit, recommendations_array, recommendations_type};

/// `top10_dict.json` as the service's cache holds it: each locale's list
/// sorted by weight, highest first (a stable sort: ties keep file order).
fn sorted(mut model: HashMap<String, Vec<Recommendation>>) -> HashMap<String, Vec<Recommendation>> {
    model.values_mut().for_each(|l| l.sort_by(|a, b| b.1.total_cmp(&a.1)));
    model
}

#[user_doc(
    doc_section(label = "TAAR Functions"),
    description = "The add-ons TAAR's locale recommender (mozilla-taar3 1.0.7 `LocaleRecommender.recommend`) \
        gives a client: the first `limit` of its locale's list in top10_dict.json, by weight, highest first. \
        An empty list for a locale the file lacks, an empty or NULL locale.",
    syntax_example = "taar_locale(locale, top_addons, limit)",
    sql_example = "SELECT taar_locale('fr', '{\"fr\": [[\"a\", 1.0], [\"b\", 3.0]]}', 1); -- [{guid: b, weight: 3.0}]",
    argument(name = "locale", description = "The client's locale."),
    argument(name = "top_addons", description = "Constant JSON: top10_dict.json of taar-locale, {locale: [[guid, weight], ...]}."),
    argument(name = "limit", description = "Constant: how many add-ons at most.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TaarLocale {
    signature: Signature,
}

impl TaarLocale {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for TaarLocale {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TaarLocale {
    fn name(&self) -> &str {
        "taar_locale"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            [_, _, l] if l.is_integer() => Ok(vec![DataType::Utf8, DataType::Utf8, DataType::Int64]),
            other => plan_err!("taar_locale takes (locale, top add-ons JSON, integer limit), got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(recommendations_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [locale, model, limit] = take_function_args(self.name(), &args.args)?;
        let model = sorted(constant_json(self.name(), "top add-ons", model)?);
        let limit = constant_limit(self.name(), limit)?;
        let locales = locale.to_array(args.number_rows)?;
        let rows: Vec<_> = locales
            .as_string::<i32>()
            .iter()
            .map(|l| Some(l.filter(|l| !l.is_empty()).and_then(|l| model.get(l)).map_or_else(Vec::new, |top| top.iter().take(limit).cloned().collect())))
            .collect();
        Ok(ColumnarValue::Array(recommendations_array(rows)))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_each_locale_stably_by_weight() {
        let model = sorted(serde_json::from_str(r#"{"fr": [["a", 1.0], ["b", 3.0], ["c", 1.0], ["d", 2.0]]}"#).unwrap());
        let guids: Vec<&str> = model["fr"].iter().map(|(g, _)| g.as_str()).collect();
        assert_eq!(guids, ["b", "d", "a", "c"]);
    }
}
