//! `factor_moments`: the sums over users that implicit ALS solves each item's factors from.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int64Array, ListArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef, Fields, Float64Type, Int64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::clustering::{list_i64, terms_argument};
use crate::util::{list_f64, list_of};

/// Sums are kept as exact decimals with 18 fractional digits: integer sums
/// do not depend on the order rows and partitions reach them, so the factors
/// are the same on any number of executors.
const SCALE: i8 = 18;
const ONE: f64 = 1e18;
/// Decimal128(38, 18) holds up to 10^20 in magnitude.
const LIMIT: i128 = 10i128.pow(38);

fn decimals() -> DataType {
    list_of(DataType::Decimal128(38, SCALE))
}

/// The result (`exact` false) or the state (`exact` true): the same fields,
/// the float sums as doubles or as the exact decimals.
fn moments_fields(exact: bool) -> Fields {
    let sums = if exact { decimals() } else { list_f64() };
    Fields::from(vec![
        Field::new("users", DataType::Int64, false),
        Field::new("gram", sums.clone(), false),
        Field::new("item", list_i64(), false),
        Field::new("count", list_i64(), false),
        Field::new("outer", sums.clone(), false),
        Field::new("sum", sums, false),
    ])
}

#[user_doc(
    doc_section(label = "Factorization Functions"),
    description = "The sums over users from which implicit ALS solves every item's factors: a struct of \
        `users` (rows with non-NULL factors), `gram` (Σ x xᵀ over those users, row-major), and per \
        item listed by some user, sorted by `item`: `count` (its users), `outer` (Σ x xᵀ over its \
        users, row-major, one block per item) and `sum` (Σ x, one block per item). Summed exactly \
        (18 decimal places), so the result does not depend on row order or partitioning.",
    syntax_example = "factor_moments(items, factors)",
    sql_example = "SELECT factor_moments(i, x) FROM (VALUES ([0], [1.0]), ([0, 1], [2.0])) v(i, x); -- {users: 2, gram: [5.0], item: [0, 1], count: [2, 1], outer: [5.0, 4.0], sum: [3.0, 2.0]}",
    argument(name = "items", description = "List of the item indices the user rated."),
    argument(name = "factors", description = "The user's factors (a list of numbers, one length for all rows).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FactorMoments {
    signature: Signature,
}

impl FactorMoments {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for FactorMoments {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for FactorMoments {
    fn name(&self) -> &str {
        "factor_moments"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match take_function_args(self.name(), arg_types)? {
            [items, DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) | DataType::Null] => Ok(vec![terms_argument(self.name(), items)?, list_f64()]),
            other => plan_err!("factor_moments takes (list of item indices, list of factors), got {other:?}"),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(moments_fields(false)))
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<MomentsAccumulator>::default())
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format!("{}[moments]", args.name), DataType::Struct(moments_fields(true)), true))])
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug, Default)]
struct ItemSums {
    count: i64,
    outer: Vec<i128>,
    sum: Vec<i128>,
}

#[derive(Debug, Default)]
struct MomentsAccumulator {
    rank: usize,
    users: i64,
    gram: Vec<i128>,
    items: BTreeMap<i64, ItemSums>,
}

fn fixed(v: f64) -> Result<i128> {
    let scaled = (v * ONE).round();
    match scaled.is_finite() && scaled.abs() < LIMIT as f64 {
        true => Ok(scaled as i128),
        false => exec_err!("factor_moments: a factor product of {v} is not finite or beyond ±1e20"),
    }
}

fn add_into(to: &mut [i128], from: &[i128]) -> Result<()> {
    for (a, b) in to.iter_mut().zip(from) {
        *a = match a.checked_add(*b) {
            Some(s) if s.abs() < LIMIT => s,
            _ => return exec_err!("factor_moments: a sum beyond ±1e20"),
        };
    }
    Ok(())
}

impl MomentsAccumulator {
    /// Sets the rank on the first row; later rows must agree.
    fn check_rank(&mut self, rank: usize) -> Result<()> {
        if self.rank == 0 && self.users == 0 {
            self.rank = rank;
            self.gram = vec![0; rank * rank];
        }
        match rank == self.rank {
            true => Ok(()),
            false => exec_err!("factor_moments: factors of {rank} values, earlier rows have {}", self.rank),
        }
    }

    fn add_item(&mut self, item: i64, count: i64, outer: &[i128], sum: &[i128]) -> Result<()> {
        let r = self.rank;
        let s = self.items.entry(item).or_insert_with(|| ItemSums { count: 0, outer: vec![0; r * r], sum: vec![0; r] });
        s.count += count;
        add_into(&mut s.outer, outer)?;
        add_into(&mut s.sum, sum)
    }

    fn value(&self, exact: bool) -> Result<ScalarValue> {
        let sums = |values: Vec<i128>| -> Result<ArrayRef> {
            let n = values.len();
            let values: ArrayRef = match exact {
                true => Arc::new(Decimal128Array::from_iter_values(values).with_precision_and_scale(38, SCALE)?),
                false => Arc::new(Float64Array::from_iter_values(values.into_iter().map(|v| v as f64 / ONE))),
            };
            let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
            Ok(Arc::new(ListArray::new(field, OffsetBuffer::from_lengths([n]), values, None)))
        };
        let ints = |values: Vec<i64>| -> ArrayRef {
            let n = values.len();
            let field = Arc::new(Field::new_list_field(DataType::Int64, true));
            Arc::new(ListArray::new(field, OffsetBuffer::from_lengths([n]), Arc::new(Int64Array::from(values)), None))
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![self.users])),
            sums(self.gram.clone())?,
            ints(self.items.keys().copied().collect()),
            ints(self.items.values().map(|s| s.count).collect()),
            sums(self.items.values().flat_map(|s| s.outer.iter().copied()).collect())?,
            sums(self.items.values().flat_map(|s| s.sum.iter().copied()).collect())?,
        ];
        Ok(ScalarValue::Struct(Arc::new(StructArray::try_new(moments_fields(exact), columns, None)?)))
    }
}

impl Accumulator for MomentsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let items = cast(&values[0], &list_i64())?;
        let (items, factors) = (items.as_list::<i32>(), cast(&values[1], &list_f64())?);
        let factors = factors.as_list::<i32>();
        let mut outer = Vec::new();
        for i in 0..factors.len() {
            if factors.is_null(i) {
                continue;
            }
            let x: Vec<f64> = factors.value(i).as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(0.0)).collect();
            self.check_rank(x.len())?;
            outer.clear();
            for a in &x {
                for b in &x {
                    outer.push(fixed(a * b)?);
                }
            }
            let sum = x.iter().map(|&v| fixed(v)).collect::<Result<Vec<_>>>()?;
            self.users += 1;
            add_into(&mut self.gram, &outer)?;
            if items.is_valid(i) {
                for item in items.value(i).as_primitive::<Int64Type>().iter().flatten() {
                    self.add_item(item, 1, &outer, &sum)?;
                }
            }
        }
        Ok(())
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let s = states[0].as_struct();
        let users = s.column(0).as_primitive::<Int64Type>();
        let list = |c: usize| s.column(c).as_list::<i32>();
        let decimals = |c: usize, i: usize| -> Vec<i128> { list(c).value(i).as_primitive::<Decimal128Type>().values().to_vec() };
        let ints = |c: usize, i: usize| -> Vec<i64> { list(c).value(i).as_primitive::<Int64Type>().values().to_vec() };
        for i in 0..s.len() {
            if s.is_null(i) || users.value(i) == 0 {
                continue;
            }
            let gram = decimals(1, i);
            self.check_rank((gram.len() as f64).sqrt() as usize)?;
            self.users += users.value(i);
            add_into(&mut self.gram, &gram)?;
            let (item, count, outer, sum) = (ints(2, i), ints(3, i), decimals(4, i), decimals(5, i));
            let r = self.rank;
            for (k, (&item, &count)) in item.iter().zip(&count).enumerate() {
                self.add_item(item, count, &outer[k * r * r..(k + 1) * r * r], &sum[k * r..(k + 1) * r])?;
            }
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value(true)?])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.value(false)
    }
    fn size(&self) -> usize {
        size_of_val(self) + (self.gram.len() + self.items.len() * (self.rank * self.rank + self.rank)) * 16
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    async fn run(sql: &str) -> String {
        let ctx = SessionContext::new();
        ctx.register_udaf((*super::super::factor_moments()).clone());
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    #[tokio::test]
    async fn sums_per_item_whatever_the_partitioning() {
        let one = run("SELECT factor_moments(i, x) AS m FROM (VALUES ([0], [1.0, 0.5]), ([0, 1], [2.0, -1.0]), (NULL, [0.0, 1.0]), ([1], NULL)) v(i, x)").await;
        let expected = "{users: 3, gram: [5.0, -1.5, -1.5, 2.25], item: [0, 1], count: [2, 1], outer: [5.0, -1.5, -1.5, 1.25, 4.0, -2.0, -2.0, 1.0], sum: [3.0, -0.5, 2.0, -1.0]}";
        assert!(one.contains(expected), "{one}");
        // The same rows over two inputs (merged states): the same sums.
        let split = run(
            "SELECT factor_moments(i, x) AS m FROM (SELECT * FROM (VALUES ([0], [1.0, 0.5])) a(i, x) UNION ALL \
             SELECT * FROM (VALUES ([0, 1], [2.0, -1.0]), (NULL, [0.0, 1.0])) b(i, x))",
        )
        .await;
        assert!(split.contains(expected), "{split}");
    }
}
