//! `als_user_factors`: one user's factors given every item's (one half-step of implicit ALS).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Float64Builder, ListBuilder};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::{ItemFactors, add_outer, solve_spd};
use crate::clustering::{list_i64, terms_argument};
use crate::util::{constant_string, list_f64};

#[user_doc(
    doc_section(label = "Factorization Functions"),
    description = "A user's factors in implicit-feedback ALS (Hu, Koren and Volinsky; Spark ML's ALS \
        with implicitPrefs): the solution x of (YᵀY + alpha Σ yᵢyᵢᵀ + reg·n·I) x = (1 + alpha) Σ yᵢ, \
        where Y is every item's factors, the sums run over the n items the user rated (each rating 1) \
        and reg is scaled by n as Spark scales it. NULL for a NULL or empty list.",
    syntax_example = "als_user_factors(items, model)",
    sql_example = "SELECT als_user_factors([0], '{\"alpha\": 1.0, \"reg\": 0.5, \"factors\": [[1.0], [2.0]]}'); -- [0.3076923076923077]",
    argument(name = "items", description = "List of the item indices (0-based rows of factors) the user rated."),
    argument(name = "model", description = "Constant JSON {alpha, reg, factors: [[...], ...]}: every item's factors, one length.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AlsUserFactors {
    signature: Signature,
}

impl AlsUserFactors {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for AlsUserFactors {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for AlsUserFactors {
    fn name(&self) -> &str {
        "als_user_factors"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            // Null: a `$model` placeholder, typed only once its value is bound.
            [items, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null] => Ok(vec![terms_argument(self.name(), items)?, DataType::Utf8]),
            other => plan_err!("als_user_factors takes (list of item indices, JSON model string), got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_f64())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [items, model] = take_function_args(self.name(), &args.args)?;
        let model: ItemFactors = match serde_json::from_str(constant_string(self.name(), "model", model)?) {
            Ok(m) => m,
            Err(e) => return exec_err!("als_user_factors: bad model JSON: {e}"),
        };
        let solver = Solver::new(model)?;
        let items = datafusion::arrow::compute::cast(&items.to_array(args.number_rows)?, &list_i64())?;
        let lists = items.as_list::<i32>();
        let mut out = ListBuilder::new(Float64Builder::new());
        for i in 0..lists.len() {
            let rated: Vec<i64> = match lists.is_valid(i) {
                true => lists.value(i).as_primitive::<Int64Type>().iter().flatten().collect(),
                false => Vec::new(),
            };
            match rated.is_empty() {
                true => out.append_null(),
                false => out.append_value(solver.user(&rated)?.into_iter().map(Some)),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The model with YᵀY, computed once per batch.
struct Solver {
    model: ItemFactors,
    rank: usize,
    gram: Vec<f64>,
}

impl Solver {
    fn new(model: ItemFactors) -> Result<Self> {
        let rank = model.factors.first().map_or(0, Vec::len);
        if rank == 0 || model.factors.iter().any(|f| f.len() != rank) {
            return exec_err!("als_user_factors: the model needs item factors of one non-zero length");
        }
        let mut gram = vec![0.0; rank * rank];
        model.factors.iter().for_each(|y| add_outer(&mut gram, y, 1.0));
        Ok(Self { model, rank, gram })
    }

    fn user(&self, rated: &[i64]) -> Result<Vec<f64>> {
        let (r, alpha) = (self.rank, self.model.alpha);
        let (mut a, mut b) = (self.gram.clone(), vec![0.0; r]);
        for &item in rated {
            let Some(y) = usize::try_from(item).ok().and_then(|k| self.model.factors.get(k)) else {
                return exec_err!("als_user_factors: item {item} is not a row of the model's {} items", self.model.factors.len());
            };
            add_outer(&mut a, y, alpha);
            b.iter_mut().zip(y).for_each(|(b, y)| *b += (1.0 + alpha) * y);
        }
        let reg = self.model.reg * rated.len() as f64;
        (0..r).for_each(|k| a[k * r + k] += reg);
        match solve_spd(&mut a, &mut b) {
            Some(()) => Ok(b),
            None => exec_err!("als_user_factors: the normal equations of a user of {} items are not positive definite (reg > 0 keeps them so)", rated.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_the_implicit_normal_equations() {
        // One factor, items y = [1, 2]; a user of item 0 with alpha 1, reg 0.5
        // (the example of the docs): (1 + 4 + 1·1 + 0.5) x = 2·1.
        let solver = Solver::new(ItemFactors { alpha: 1.0, reg: 0.5, factors: vec![vec![1.0], vec![2.0]] }).unwrap();
        assert_eq!(solver.user(&[0]).unwrap(), [2.0 / 6.5]);
        // Both items: (5 + 1 + 4 + 2·0.5) x = 2·(1 + 2).
        assert!((solver.user(&[0, 1]).unwrap()[0] - 6.0 / 11.0).abs() < 1e-15);
        assert!(solver.user(&[2]).unwrap_err().to_string().contains("item 2 is not a row of the model's 2 items"));
        // Two factors: the solution satisfies the system.
        let solver = Solver::new(ItemFactors { alpha: 2.0, reg: 0.1, factors: vec![vec![1.0, 0.5], vec![-0.5, 1.0], vec![0.2, 0.3]] }).unwrap();
        let x = solver.user(&[0, 2]).unwrap();
        let mut a = solver.gram.clone();
        add_outer(&mut a, &[1.0, 0.5], 2.0);
        add_outer(&mut a, &[0.2, 0.3], 2.0);
        let b = [3.0 * 1.2, 3.0 * 0.8];
        for i in 0..2 {
            let lhs = a[i * 2] * x[0] + a[i * 2 + 1] * x[1] + 0.2 * x[i];
            assert!((lhs - b[i]).abs() < 1e-12, "{lhs} vs {}", b[i]);
        }
    }
}
