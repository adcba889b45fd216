//! `taar_collaborative`: TAAR's `CollaborativeRecommender`.

use std::collections::{HashMap, HashSet};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion::arrow::datatypes::DataType;
use datafusion_macros::user_doc;
use serde::Deserialize;
use serde_json::Value;

use super::{Recommendation, constant_json, constant_limit, recommendations_array, recommendations_type};
use crate::util::list_of;

/// An add-on's id in TAAR's collaborative model: Java's `String.hashCode`
/// over the guid's code points (as TAAR computes it in Python) masked to 23 bits.
pub fn positive_hash(guid: &str) -> i64 {
    let h = guid.chars().fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(c as u32));
    (h & 0x7F_FFFF) as i64
}

/// One row of `item_matrix.json`.
#[derive(Debug, Deserialize)]
pub struct ItemRow {
    pub id: i64,
    pub features: Vec<f64>,
}

/// One value of `addon_mapping.json`.
#[derive(Debug, Deserialize)]
struct MappingEntry {
    id: Option<String>,
    #[serde(rename = "isWebextension")]
    is_webextension: Option<Value>,
}

/// The model as the service's cache holds it.
struct Model {
    rows: Vec<ItemRow>,
    mapping: HashMap<String, MappingEntry>,
}

impl Model {
    fn new(rows: Vec<ItemRow>, mapping: HashMap<String, MappingEntry>) -> Result<Self> {
        let rank = rows.first().map_or(0, |r| r.features.len());
        if rows.iter().any(|r| r.features.len() != rank) {
            return exec_err!("taar_collaborative: the item matrix's rows have features of different lengths");
        }
        if let Some((hash, _)) = mapping.iter().find(|(_, e)| e.id.is_none()) {
            return exec_err!("taar_collaborative: addon_mapping entry {hash} has no \"id\" guid");
        }
        Ok(Self { rows, mapping })
    }

    /// The service's `_recommend`: the client is the sum of its add-ons'
    /// factors; every WebExtension it lacks is scored by the dot product with
    /// it, the highest first (ties in matrix order).
    fn recommend(&self, installed: &[&str], limit: usize) -> Vec<Recommendation> {
        let hashes: HashSet<i64> = installed.iter().map(|g| positive_hash(g)).collect();
        let rank = self.rows.first().map_or(0, |r| r.features.len());
        let mut user = vec![0.0; rank];
        for row in self.rows.iter().filter(|r| hashes.contains(&r.id)) {
            user.iter_mut().zip(&row.features).for_each(|(u, f)| *u += f);
        }
        // A dict in the original: a guid keeps its first position, its last score.
        let (mut scored, mut position): (Vec<Recommendation>, HashMap<&str, usize>) = (Vec::new(), HashMap::new());
        for row in &self.rows {
            let Some(entry) = self.mapping.get(&row.id.to_string()) else { continue };
            let webextension = entry.is_webextension.as_ref().is_some_and(|v| *v != Value::Bool(false));
            if hashes.contains(&row.id) || !webextension {
                continue;
            }
            let guid = entry.id.as_deref().expect("checked in Model::new");
            let score: f64 = user.iter().zip(&row.features).map(|(u, f)| u * f).sum();
            match position.get(guid) {
                Some(&k) => scored[k].1 = score,
                None => {
                    position.insert(guid, scored.len());
                    scored.push((guid.to_string(), score));
                }
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(limit);
        scored
    }
}

#[user_doc(
    doc_section(label = "TAAR Functions"),
    description = "The add-ons TAAR's collaborative recommender (mozilla-taar3 1.0.7 \
        `CollaborativeRecommender.recommend`) gives a client: the client's vector is the sum of the \
        item factors of its installed add-ons; every WebExtension of the add-on mapping it has not \
        installed is weighted by the dot product with that vector; the `limit` highest, as a list \
        of {guid, weight}. NULL for a NULL list.",
    syntax_example = "taar_collaborative(installed, item_matrix, addon_mapping, limit)",
    sql_example = "SELECT taar_collaborative(['a'], '[{\"id\": 97, \"features\": [1.0]}, {\"id\": 98, \"features\": [2.0]}]', \
        '{\"97\": {\"id\": \"a\", \"isWebextension\": true}, \"98\": {\"id\": \"b\", \"isWebextension\": true}}', 4); -- [{guid: b, weight: 2.0}]",
    argument(name = "installed", description = "List of the client's add-on guids."),
    argument(name = "item_matrix", description = "Constant JSON: item_matrix.json, [{id, features}, ...], id = positive_hash(guid)."),
    argument(name = "addon_mapping", description = "Constant JSON: addon_mapping.json, {\"<id>\": {id: guid, isWebextension}, ...}."),
    argument(name = "limit", description = "Constant: how many add-ons at most.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TaarCollaborative {
    signature: Signature,
}

impl TaarCollaborative {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for TaarCollaborative {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TaarCollaborative {
    fn name(&self) -> &str {
        "taar_collaborative"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            [DataType::List(_) | DataType::LargeList(_) | DataType::Null, _, _, l] if l.is_integer() => {
                Ok(vec![list_of(DataType::Utf8), DataType::Utf8, DataType::Utf8, DataType::Int64])
            }
            other => plan_err!("taar_collaborative takes (list of guids, item matrix JSON, add-on mapping JSON, integer limit), got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(recommendations_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [installed, matrix, mapping, limit] = take_function_args(self.name(), &args.args)?;
        let model = Model::new(constant_json(self.name(), "item matrix", matrix)?, constant_json(self.name(), "add-on mapping", mapping)?)?;
        let limit = constant_limit(self.name(), limit)?;
        let installed = installed.to_array(args.number_rows)?;
        let lists = installed.as_list::<i32>();
        let rows = (0..lists.len()).map(|i| {
            lists.is_valid(i).then(|| {
                let guids = lists.value(i);
                let guids: Vec<&str> = guids.as_string::<i32>().iter().flatten().collect();
                model.recommend(&guids, limit)
            })
        });
        Ok(ColumnarValue::Array(recommendations_array(rows.collect::<Vec<_>>())))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(matrix: &str, mapping: &str) -> Model {
        Model::new(serde_json::from_str(matrix).unwrap(), serde_json::from_str(mapping).unwrap()).unwrap()
    }

    #[test]
    fn hashes_as_taar_does() {
        // Python: positive_hash(s) = java_string_hashcode(s) & 0x7FFFFF.
        assert_eq!(positive_hash("a"), 97);
        assert_eq!(positive_hash("ab"), 97 * 31 + 98);
        // mozilla-taar3's positive_hash("uBlock0@raymondhill.net").
        assert_eq!(positive_hash("uBlock0@raymondhill.net"), 469578);
        assert_eq!(positive_hash(""), 0);
    }

    #[test]
    fn scores_what_the_client_lacks_by_dot_product() {
        let (a, b, c, d) = (positive_hash("a"), positive_hash("b"), positive_hash("c"), positive_hash("d"));
        let m = model(
            &format!(r#"[{{"id": {a}, "features": [1.0, 0.0]}}, {{"id": {b}, "features": [0.5, 1.0]}},
                         {{"id": {c}, "features": [2.0, -1.0]}}, {{"id": {d}, "features": [3.0, 3.0]}}]"#),
            &format!(r#"{{"{a}": {{"id": "a", "isWebextension": true}}, "{b}": {{"id": "b", "isWebextension": true}},
                         "{c}": {{"id": "c", "isWebextension": true}}, "{d}": {{"id": "d", "isWebextension": false}}}}"#),
        );
        // Client [a, b]: vector (1.5, 1.0); c scores 2.0; d is no WebExtension; a and b are installed.
        assert_eq!(m.recommend(&["a", "b"], 4), [("c".to_string(), 2.0)]);
        // Client [a]: b 0.5, c 2.0 → c first; limit 1.
        assert_eq!(m.recommend(&["a"], 1), [("c".to_string(), 2.0)]);
        // Unknown add-ons: every score 0, in matrix order.
        assert_eq!(m.recommend(&["zzz"], 4), [("a".to_string(), 0.0), ("b".to_string(), 0.0), ("c".to_string(), 0.0)]);
    }
}
