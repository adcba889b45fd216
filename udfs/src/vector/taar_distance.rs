//! `taar_distance`: the distance between two clients that TAAR's similarity
//! recommender ranks donors by.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Builder, ListArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::util::list_of;

/// The TAAR floor on the continuous distance (`FLOOR_DISTANCE_ADJUSTMENT`).
const FLOOR: f64 = 0.001;

/// TAAR's `compute_clients_dist` for one pair: `(canberra(continuous) + 0.001)
/// × hamming(categorical)`. NULL features count as `""` and `0` (the
/// original's `safe_get`); a 0/0 Canberra term counts as 0 (scipy's nansum).
pub fn client_distance(cat_a: &[Option<&str>], cont_a: &[Option<f64>], cat_b: &[Option<&str>], cont_b: &[Option<f64>]) -> f64 {
    let differing = cat_a.iter().zip(cat_b).filter(|(a, b)| a.unwrap_or("") != b.unwrap_or("")).count();
    let hamming = differing as f64 / cat_a.len() as f64;
    let canberra: f64 = cont_a
        .iter()
        .zip(cont_b)
        .map(|(a, b)| {
            let (a, b) = (a.unwrap_or(0.0), b.unwrap_or(0.0));
            let denominator = a.abs() + b.abs();
            if denominator == 0.0 { 0.0 } else { (a - b).abs() / denominator }
        })
        .sum();
    ((canberra + FLOOR) * hamming).abs()
}

#[user_doc(
    doc_section(label = "Vector Functions"),
    description = "Distance between two clients as the TAAR service computes it for its similarity \
        recommender: (Canberra distance of the continuous features + 0.001) × Hamming distance \
        (share of differing positions) of the categorical features. NULL features count as '' \
        and 0; a Canberra term with 0/0 counts as 0. NULL when any list is NULL. Identical \
        categorical features give 0 whatever the continuous ones.",
    syntax_example = "taar_distance(categorical_a, continuous_a, categorical_b, continuous_b)",
    sql_example = "SELECT taar_distance(['Boston', 'en-US', 'Windows'], [10, 1, 2, 3, 4], ['Boston', 'en-US', 'Linux'], [10, 1, 2, 3, 5]); -- 0.037370370370370366",
    argument(name = "categorical_a", description = "List of strings, e.g. [city, locale, os]; at least one."),
    argument(name = "continuous_a", description = "List of numbers, e.g. [subsession_hours_sum, bookmark_count, tab_open_count, total_uri, unique_tlds]."),
    argument(name = "categorical_b", description = "Same length as categorical_a."),
    argument(name = "continuous_b", description = "Same length as continuous_a.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TaarDistance {
    signature: Signature,
}

impl TaarDistance {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for TaarDistance {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TaarDistance {
    fn name(&self) -> &str {
        "taar_distance"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let lists: [&DataType; 4] = take_function_args(self.name(), arg_types)?;
        for (i, t) in lists.iter().enumerate() {
            if !matches!(t, DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) | DataType::Null) {
                return plan_err!("taar_distance: argument {} must be a list, got {t}", i + 1);
            }
        }
        Ok(vec![list_of(DataType::Utf8), list_of(DataType::Float64), list_of(DataType::Utf8), list_of(DataType::Float64)])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(taar_distance_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn taar_distance_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let lists: [&ListArray; 4] = take_function_args("taar_distance", args)?.map(|a| a.as_list::<i32>());
    let mut out = Float64Builder::with_capacity(lists[0].len());
    for i in 0..lists[0].len() {
        if lists.iter().any(|l| l.is_null(i)) {
            out.append_null();
            continue;
        }
        let values: Vec<ArrayRef> = lists.iter().map(|l| l.value(i)).collect();
        let (cat_a, cat_b): (Vec<_>, Vec<_>) = (values[0].as_string::<i32>().iter().collect(), values[2].as_string::<i32>().iter().collect());
        let (cont_a, cont_b): (Vec<_>, Vec<_>) =
            (values[1].as_primitive::<Float64Type>().iter().collect(), values[3].as_primitive::<Float64Type>().iter().collect());
        if cat_a.is_empty() || cat_a.len() != cat_b.len() || cont_a.len() != cont_b.len() {
            return exec_err!(
                "taar_distance: categorical lists need one length of at least 1 and continuous lists one length; got {} and {}, {} and {}",
                cat_a.len(),
                cat_b.len(),
                cont_a.len(),
                cont_b.len()
            );
        }
        out.append_value(client_distance(&cat_a, &cont_a, &cat_b, &cont_b));
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOSTON: [Option<&str>; 3] = [Some("Boston"), Some("en-US"), Some("Windows")];
    const U1: [Option<f64>; 5] = [Some(10.0), Some(1.0), Some(2.0), Some(3.0), Some(4.0)];

    #[test]
    fn client_distance_matches_taar() {
        // taar.md 10.7, checked there with scipy.
        let linux = [Some("Boston"), Some("en-US"), Some("Linux")];
        let u = [Some(10.0), Some(1.0), Some(2.0), Some(3.0), Some(5.0)];
        assert_eq!(client_distance(&BOSTON, &U1, &linux, &u), 0.037370370370370366);
        assert_eq!(client_distance(&BOSTON, &U1, &BOSTON, &U1), 0.0);
        // Categorical equal: 0 whatever the continuous features.
        assert_eq!(client_distance(&BOSTON, &U1, &BOSTON, &[Some(0.0); 5]), 0.0);
        // All categorical differ, continuous equal: the floor alone.
        let other = [Some("Rome"), Some("it"), Some("Linux")];
        assert_eq!(client_distance(&BOSTON, &U1, &other, &U1), 0.001);
        // Against zeros every Canberra term is 1: (5 + 0.001) × 1.
        assert_eq!(client_distance(&BOSTON, &U1, &other, &[Some(0.0); 5]), 5.001);
    }

    #[test]
    fn nulls_are_empty_and_zero_and_zero_over_zero_is_zero() {
        // NULL city = '' (equal), en-US vs de differ: hamming 1/3. NULL tab count = 0
        // against 0: a 0/0 term, counted as 0, so only the floor remains.
        let a = [None, Some("en-US"), Some("Linux")];
        let b = [Some(""), Some("de"), Some("Linux")];
        let (x, y) = ([Some(1.0), Some(1.0), None, Some(3.0), Some(4.0)], [Some(1.0), Some(1.0), Some(0.0), Some(3.0), Some(4.0)]);
        assert_eq!(client_distance(&a, &x, &b, &y), 0.001 / 3.0);
        // NULL city against 'Boston' differs, as '' does.
        let c = [None, Some("en-US"), Some("Windows")];
        assert_eq!(client_distance(&c, &U1, &BOSTON, &U1), 0.001 / 3.0);
    }
}

#[cfg(test)]
mod sql_tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn works_in_sql_with_nulls_and_coercion() {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::vector::taar_distance()).clone());
        // Integer continuous features and a NULL element coerce; a NULL list gives NULL.
        let sql = "SELECT taar_distance(['Boston', 'en-US', 'Windows'], [10, 1, 2, 3, 4], ['Boston', 'en-US', 'Linux'], [10, 1, 2, 3, 5]) AS d, \
                   taar_distance([NULL, 'x'], [NULL], ['', 'y'], [0.0]) AS n, \
                   taar_distance(['a'], [1.0], ['b'], CAST(NULL AS DOUBLE[])) AS z";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = pretty_format_batches(&batches).unwrap().to_string();
        assert_eq!(text.lines().nth(3).unwrap(), "| 0.037370370370370366 | 0.0005 |   |");
        let e = async { ctx.sql("SELECT taar_distance(['a'], [1.0], ['a', 'b'], [1.0])").await?.collect().await }.await.unwrap_err();
        assert!(e.to_string().contains("taar_distance: categorical lists need one length"), "{e}");
        let e = ctx.sql("SELECT taar_distance(['a'], [1.0], ['a'])").await.unwrap_err();
        assert!(e.to_string().contains("taar_distance function requires 4 arguments, got 3"), "{e}");
    }
}
