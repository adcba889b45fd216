//! `cllr`: the log-likelihood-ratio cost of a recommendation list (TAAR's ensemble training).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Float64Builder, StructArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::recommendations_type;
use crate::util::list_of;

/// The original's `CostLLR.evalcllr` for one list: weights of expected
/// guids are on target, the others off target; NaN weights are dropped,
/// as are terms whose exp is infinite or ≥ 2^53 (`f < f + 1` fails); a side
/// without terms makes the mean NaN, and a NaN cost is 0.
pub fn cost(recommendations: &[(&str, f64)], expected: &[&str]) -> f64 {
    let (on, off): (Vec<_>, Vec<_>) = recommendations.iter().partition(|(g, _)| expected.contains(g));
    let mean_log1p = |exps: Vec<f64>| {
        let kept: Vec<f64> = exps.into_iter().filter(|f| *f < *f + 1.0).map(|f| (1.0 + f).ln()).collect();
        kept.iter().sum::<f64>() / kept.len() as f64
    };
    let logs = |side: Vec<&(&str, f64)>| side.into_iter().map(|(_, w)| *w).filter(|w| !w.is_nan()).map(f64::ln).collect::<Vec<f64>>();
    let c1 = mean_log1p(logs(on).into_iter().map(|l| (-l).exp()).collect()) / std::f64::consts::LN_2;
    let c2 = mean_log1p(logs(off).into_iter().map(|l| (-(-l)).exp()).collect()) / std::f64::consts::LN_2;
    let c = (c1 + c2) / 2.0;
    if c.is_nan() { 0.0 } else { c }
}

#[user_doc(
    doc_section(label = "TAAR Functions"),
    description = "The log-likelihood-ratio cost (Brümmer and du Preez) of a recommendation list against \
        the add-ons that were held out, as TAAR's ensemble job computes it (mozetl `CostLLR.evalcllr`): \
        with on-target weights w (guids in `expected`) and off-target weights v, \
        (mean log2(1 + 1/w) + mean log2(1 + v)) / 2, dropping NaN weights and infinite terms; \
        0 where either side has no term. NULL for a NULL list.",
    syntax_example = "cllr(recommendations, expected)",
    sql_example = "SELECT cllr([named_struct('guid', 'a', 'weight', 1.0), named_struct('guid', 'b', 'weight', 3.0)], ['a']); -- 1.5",
    argument(name = "recommendations", description = "List of {guid, weight}, as the taar_* recommenders return."),
    argument(name = "expected", description = "List of the guids held out.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Cllr {
    signature: Signature,
}

impl Cllr {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for Cllr {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Cllr {
    fn name(&self) -> &str {
        "cllr"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            [DataType::List(_) | DataType::Null, DataType::List(_) | DataType::Null] => Ok(vec![recommendations_type(), list_of(DataType::Utf8)]),
            other => plan_err!("cllr takes (list of {{guid, weight}}, list of guids), got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [recs, expected] = take_function_args(self.name(), &args.args)?;
        let (recs, expected) = (recs.to_array(args.number_rows)?, expected.to_array(args.number_rows)?);
        let (recs, expected) = (recs.as_list::<i32>(), expected.as_list::<i32>());
        let mut out = Float64Builder::with_capacity(args.number_rows);
        for i in 0..args.number_rows {
            if recs.is_null(i) {
                out.append_null();
                continue;
            }
            let list = recs.value(i);
            let items: &StructArray = list.as_struct();
            let (guids, weights) = (items.column(0).as_string::<i32>(), items.column(1).as_primitive::<Float64Type>());
            let pairs: Vec<(&str, f64)> = (0..items.len()).map(|k| (guids.value(k), if weights.is_null(k) { f64::NAN } else { weights.value(k) })).collect();
            let held = expected.is_valid(i).then(|| expected.value(i));
            let held_out: Vec<&str> = held.as_ref().map(|a| a.as_string::<i32>().iter().flatten().collect()).unwrap_or_default();
            out.append_value(cost(&pairs, &held_out));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_match_the_original() {
        // on [1] → log2(2) = 1; off [3] → log2(4) = 2; (1 + 2) / 2.
        assert_eq!(cost(&[("a", 1.0), ("b", 3.0)], &["a"]), 1.5);
        // A side without terms: NaN, so 0.
        assert_eq!(cost(&[("a", 1.0)], &["a"]), 0.0);
        assert_eq!(cost(&[("b", 1.0)], &["a"]), 0.0);
        // A zero on-target weight: exp(inf) is dropped, leaving that side empty.
        assert_eq!(cost(&[("a", 0.0), ("b", 1.0)], &["a"]), 0.0);
        // A negative weight is NaN after the log: dropped; NaN weights too.
        let c = cost(&[("a", -1.0), ("a", 4.0), ("b", f64::NAN), ("c", 0.5)], &["a"]);
        assert!((c - ((1.25f64).log2() + (1.5f64).log2()) / 2.0).abs() < 1e-15, "{c}");
    }
}
