//! The donor pool: how many donors each cluster gives, and donors.json.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::json::WriterBuilder;
use datafusion::arrow::json::writer::JsonArray;
use fletch_engine::{Error, Result};
use serde_json::{Map, Value};

/// The donor objects' keys in the ETL's schema (what the original wrote).
pub const ETL_KEYS: [&str; 9] =
    ["city", "subsession_hours_sum", "locale", "os", "bookmark_count", "tab_open_count", "total_uri", "unique_tlds", "active_addons"];

/// Which names and units donors.json uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DonorSchema {
    /// The original ETL's: `city`, `subsession_hours_sum` in hours, NULLs kept.
    Etl,
    /// What the TAAR service's similarity recommender reads: `geo_city`,
    /// `subsession_length` in seconds, NULLs as its distance treats them
    /// ('' and 0), since it would turn a NULL number into NaN.
    Taar,
}

impl DonorSchema {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "etl" => Ok(Self::Etl),
            "taar" => Ok(Self::Taar),
            other => Err(Error::usage(format!("--donor-schema: expected etl or taar, got `{other}`"))),
        }
    }
}

/// Donors per cluster, exactly `donors` in all (or every client when there
/// are fewer): each cluster's share of the clients, rounded down, and the
/// donors left over to the largest remainders (the lower cluster on a tie).
pub fn quotas(sizes: &[i64], donors: i64) -> Vec<i64> {
    let total: i64 = sizes.iter().sum();
    if total <= donors {
        return sizes.to_vec();
    }
    let share = |n: i64| (donors as i128 * n as i128 / total as i128) as i64;
    let mut quotas: Vec<i64> = sizes.iter().map(|&n| share(n)).collect();
    let mut by_remainder: Vec<usize> = (0..sizes.len()).collect();
    by_remainder.sort_by_key(|&c| (std::cmp::Reverse(donors as i128 * sizes[c] as i128 % total as i128), c));
    let left = donors - quotas.iter().sum::<i64>();
    for &c in by_remainder.iter().take(left as usize) {
        quotas[c] += 1;
    }
    quotas
}

/// The donor objects of donors.json from the rows of `donors.sql`.
pub fn donor_objects(batches: &[RecordBatch], schema: DonorSchema) -> Result<Vec<Value>> {
    let mut writer = WriterBuilder::new().with_explicit_nulls(true).build::<_, JsonArray>(Vec::new());
    for b in batches {
        writer.write(b)?;
    }
    writer.finish()?;
    let body = writer.into_inner();
    let rows: Vec<Map<String, Value>> =
        if body.is_empty() { Vec::new() } else { serde_json::from_slice(&body).map_err(|e| Error::io(format!("donor rows: {e}")))? };
    Ok(rows.into_iter().map(|row| Value::Object(donor(row, schema))).collect())
}

fn donor(mut row: Map<String, Value>, schema: DonorSchema) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ETL_KEYS {
        let v = row.remove(key).unwrap_or(Value::Null);
        match schema {
            DonorSchema::Etl => {
                out.insert(key.to_string(), v);
            }
            DonorSchema::Taar => {
                let (name, v) = match key {
                    "city" => ("geo_city", if v.is_null() { Value::from("") } else { v }),
                    "locale" | "os" => (key, if v.is_null() { Value::from("") } else { v }),
                    "subsession_hours_sum" => ("subsession_length", Value::from(v.as_f64().unwrap_or(0.0) * 3600.0)),
                    "active_addons" => (key, v),
                    _ => (key, if v.is_null() { Value::from(0) } else { v }),
                };
                out.insert(name.to_string(), v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn quotas_are_proportional_and_sum_exactly() {
        // 100 donors from 1,000 clients: 30 / 50 / 20.
        assert_eq!(quotas(&[300, 500, 200], 100), [30, 50, 20]);
        // 10 donors from 1 / 1 / 1: 3.33 each, the leftover to the lowest cluster.
        assert_eq!(quotas(&[1000, 1000, 1000], 10), [4, 3, 3]);
        // Largest remainder: 7 of 2 / 5 / 3 (x 0.7 = 1.4 / 3.5 / 2.1) → 1 / 4 / 2.
        assert_eq!(quotas(&[20, 50, 30], 7), [1, 4, 2]);
        // Fewer clients than donors: all of them.
        assert_eq!(quotas(&[2, 3], 100), [2, 3]);
        assert_eq!(quotas(&[0, 9, 0], 4), [0, 4, 0]);
    }

    #[test]
    fn taar_schema_renames_converts_and_fills_nulls() {
        let row = json!({"client_id": "c", "prediction": 1, "pick": 1, "city": null, "subsession_hours_sum": 1.5,
            "locale": "de", "os": "Linux", "bookmark_count": null, "tab_open_count": 4, "total_uri": 9,
            "unique_tlds": 2.5, "active_addons": ["a", "b", "c"]});
        let Value::Object(row) = row else { unreachable!() };
        let etl = donor(row.clone(), DonorSchema::Etl);
        assert_eq!(etl.keys().collect::<std::collections::BTreeSet<_>>(), ETL_KEYS.iter().map(|k| k.to_string()).collect::<Vec<_>>().iter().collect());
        assert_eq!((etl["city"].clone(), etl["bookmark_count"].clone()), (Value::Null, Value::Null));
        let taar = Value::Object(donor(row, DonorSchema::Taar));
        assert_eq!(
            taar,
            json!({"geo_city": "", "subsession_length": 5400.0, "locale": "de", "os": "Linux", "bookmark_count": 0,
                   "tab_open_count": 4, "total_uri": 9, "unique_tlds": 2.5, "active_addons": ["a", "b", "c"]})
        );
        assert!(DonorSchema::parse("spark").unwrap_err().to_string().contains("expected etl or taar"));
    }
}
