//! `gaussian_kde`: a Gaussian kernel density estimate on an evenly spaced
//! grid, as an aggregate, so the sums over a large score sample run where the
//! scores are (TAAR similarity's likelihood-ratio curves).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::util::{f64_list_scalar, list_f64, list_of};

/// Largest grid accepted: the accumulator holds one sum per point.
const MAX_POINTS: i64 = 1_000_000;

/// `points` evenly spaced values from `lo` (included) towards `hi` (excluded),
/// as numpy's `arange(lo, hi, (hi - lo) / points)` computes them, but always
/// exactly `points` of them (numpy sometimes gives one more).
pub fn grid(lo: f64, hi: f64, points: usize) -> Vec<f64> {
    let delta = (lo + (hi - lo) / points as f64) - lo;
    (0..points).map(|i| lo + i as f64 * delta).collect()
}

/// Sums are kept in fixed point with this many fractional bits (a resolution
/// of 8.5e-22), as integers: they add up exactly, so the result does not
/// depend on the order rows and partial states arrive in (embedded or on a
/// cluster, any partitioning).
const FRACTION_BITS: i32 = 70;

/// One sample's kernel at every grid point, added to `sums`, with the terms
/// of Spark mllib's `KernelDensity`.
fn add_kernel(sums: &mut [i128], grid: &[f64], sample: f64, bandwidth: f64) {
    let log_norm = bandwidth.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln();
    let scale = 2f64.powi(FRACTION_BITS);
    for (s, x) in sums.iter_mut().zip(grid) {
        let z = (x - sample) / bandwidth;
        *s += ((-(z * z / 2.0) - log_norm).exp() * scale).round() as i128;
    }
}

#[user_doc(
    doc_section(label = "Statistics Functions"),
    description = "Gaussian kernel density estimate of the scores of a group, evaluated at `points` evenly \
        spaced values from lo (included) to hi (excluded): x_i = lo + i·(hi − lo)/points. \
        Returns the densities as a list of doubles, computed as Spark mllib's KernelDensity \
        does: (1/n) Σ exp(−((x − s)/h)²/2 − ln h − ½ ln 2π). The sums are exact in fixed point \
        (resolution 2⁻⁷⁰), so the result is the same whatever the row order or partitioning. \
        NULL scores are skipped; NULL when the group has no score. The other arguments must \
        be the same on every row.",
    syntax_example = "gaussian_kde(score, bandwidth, lo, hi, points)",
    sql_example = "SELECT gaussian_kde(s, 0.35, 0.0, 2.0, 5) FROM (VALUES (1.001), (0.334), (2.0)) t(s);",
    argument(name = "score", description = "The sample values, DOUBLE (cast other types)."),
    argument(name = "bandwidth", description = "Kernel standard deviation h, a positive DOUBLE."),
    argument(name = "lo", description = "First grid point."),
    argument(name = "hi", description = "End of the grid (excluded), greater than lo."),
    argument(name = "points", description = "Number of grid points, a BIGINT from 1 to 1,000,000.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GaussianKde {
    signature: Signature,
}

impl GaussianKde {
    pub fn new() -> Self {
        let (f, i) = (DataType::Float64, DataType::Int64);
        Self { signature: Signature::exact(vec![f.clone(), f.clone(), f.clone(), f, i], Volatility::Immutable) }
    }
}

impl Default for GaussianKde {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for GaussianKde {
    fn name(&self) -> &str {
        "gaussian_kde"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_f64())
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<KdeAccumulator>::default())
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(format!("{}[sums]", args.name), list_fixed(), true)),
            Arc::new(Field::new(format!("{}[count]", args.name), DataType::Int64, true)),
        ])
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The grid and bandwidth of one group, fixed by its first row.
#[derive(Debug, PartialEq)]
struct Kernel {
    bandwidth: f64,
    lo: f64,
    hi: f64,
    grid: Vec<f64>,
}

#[derive(Debug, Default)]
struct KdeAccumulator {
    kernel: Option<Kernel>,
    sums: Option<Vec<i128>>,
    count: i64,
}

impl KdeAccumulator {
    fn set_kernel(&mut self, bandwidth: f64, lo: f64, hi: f64, points: i64) -> Result<()> {
        if let Some(k) = &self.kernel {
            if (k.bandwidth, k.lo, k.hi, k.grid.len() as i64) != (bandwidth, lo, hi, points) {
                return exec_err!("gaussian_kde: bandwidth, lo, hi and points must be the same on every row of a group");
            }
        } else {
            if !(bandwidth.is_finite() && bandwidth > 0.0) {
                return exec_err!("gaussian_kde: bandwidth must be a positive number, got {bandwidth}");
            }
            if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                return exec_err!("gaussian_kde: hi must be greater than lo, got lo {lo} and hi {hi}");
            }
            if !(1..=MAX_POINTS).contains(&points) {
                return exec_err!("gaussian_kde: points must be between 1 and {MAX_POINTS}, got {points}");
            }
            self.kernel = Some(Kernel { bandwidth, lo, hi, grid: grid(lo, hi, points as usize) });
        }
        Ok(())
    }

    fn add_sums(&mut self, other: &[i128]) -> Result<()> {
        let sums = self.sums.get_or_insert_with(|| vec![0; other.len()]);
        if sums.len() != other.len() {
            return exec_err!("gaussian_kde: grids of {} and {} points in one group", sums.len(), other.len());
        }
        sums.iter_mut().zip(other).for_each(|(s, o)| *s += o);
        Ok(())
    }
}

impl Accumulator for KdeAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let scores = cast(&values[0], &DataType::Float64)?;
        let scores = scores.as_primitive::<Float64Type>();
        let (h, lo, hi) =
            (values[1].as_primitive::<Float64Type>(), values[2].as_primitive::<Float64Type>(), values[3].as_primitive::<Float64Type>());
        let points = values[4].as_primitive::<Int64Type>();
        for i in 0..scores.len() {
            if scores.is_null(i) {
                continue;
            }
            if h.is_null(i) || lo.is_null(i) || hi.is_null(i) || points.is_null(i) {
                return exec_err!("gaussian_kde: bandwidth, lo, hi and points must not be NULL");
            }
            self.set_kernel(h.value(i), lo.value(i), hi.value(i), points.value(i))?;
            let kernel = self.kernel.as_ref().expect("set above");
            let sums = self.sums.get_or_insert_with(|| vec![0; kernel.grid.len()]);
            add_kernel(sums, &kernel.grid, scores.value(i), kernel.bandwidth);
            self.count += 1;
        }
        Ok(())
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (sums, counts) = (states[0].as_list::<i32>(), states[1].as_primitive::<Int64Type>());
        for i in 0..sums.len() {
            if sums.is_valid(i) {
                let row = sums.value(i);
                let row: Vec<i128> = row.as_primitive::<Decimal128Type>().iter().map(|v| v.unwrap_or(0)).collect();
                self.add_sums(&row)?;
                self.count += counts.value(i);
            }
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let sums = match &self.sums {
            Some(sums) => ScalarValue::List(ScalarValue::new_list_nullable(
                &sums.iter().map(|s| ScalarValue::Decimal128(Some(*s), FIXED_PRECISION, 0)).collect::<Vec<_>>(),
                &DataType::Decimal128(FIXED_PRECISION, 0),
            )),
            None => ScalarValue::try_from(list_fixed())?,
        };
        Ok(vec![sums, ScalarValue::Int64(Some(self.count))])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        // Spark scales by the reciprocal rather than dividing.
        let scale = 1.0 / self.count as f64 / 2f64.powi(FRACTION_BITS);
        Ok(f64_list_scalar(self.sums.as_ref().map(|s| s.iter().map(|v| *v as f64 * scale))))
    }
    fn size(&self) -> usize {
        size_of_val(self)
            + self.sums.as_ref().map_or(0, |s| s.capacity() * 16)
            + self.kernel.as_ref().map_or(0, |k| k.grid.capacity() * 8)
    }
}

/// Fixed-point sums travel between partial and final aggregates as 38-digit decimals.
const FIXED_PRECISION: u8 = 38;

fn list_fixed() -> DataType {
    list_of(DataType::Decimal128(FIXED_PRECISION, 0))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Float64Type;
    use datafusion::prelude::SessionContext;

    use super::grid;

    async fn densities(sql: &str) -> datafusion::error::Result<Vec<Option<Vec<f64>>>> {
        let ctx = SessionContext::new();
        ctx.register_udaf((*crate::density::gaussian_kde()).clone());
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(batches
            .iter()
            .flat_map(|b| {
                let lists = b.column(b.num_columns() - 1).as_list::<i32>().clone();
                (0..lists.len())
                    .map(|i| lists.is_valid(i).then(|| lists.value(i).as_primitive::<Float64Type>().values().to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    #[test]
    fn grid_is_numpy_arange_with_exactly_points_values() {
        assert_eq!(grid(0.0, 2.0, 5), [0.0, 0.4, 0.8, 1.2000000000000002, 1.6]);
        // numpy.arange(0, 1, 1/3) has 3 values, arange(0, 0.3, 0.1) 4: here always `points`.
        assert_eq!(grid(0.0, 0.3, 3).len(), 3);
    }

    #[tokio::test]
    async fn matches_the_hand_computed_example() {
        // taar.md 10.9: intra [0.0, 0.001, 0.0] and inter [1.001, 0.334, 2.0], h = 0.35,
        // 5 points over the range of all six scores, [0.0, 2.0).
        let sql = "SELECT g, gaussian_kde(s, 0.35, 0.0, 2.0, 5) FROM (VALUES \
                   ('intra', 0.0), ('intra', 0.001), ('intra', 0.0), ('inter', 1.001), ('inter', 0.334), ('inter', 2.0)) t(g, s) \
                   GROUP BY g ORDER BY g DESC";
        let got = densities(sql).await.unwrap();
        let expected = [
            vec![1.139833536068365, 0.5938732440738185, 0.08381183434284005, 0.003203879631643264, 3.317464598377417e-05],
            vec![0.24733696042355904, 0.46024556532942634, 0.47984601559193957, 0.36891088418117607, 0.28613162339466985],
        ];
        for (got, want) in got.iter().zip(&expected) {
            let got = got.as_ref().unwrap();
            assert_eq!(got.len(), 5);
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() <= 1e-15 * w.max(1.0), "{got:?} vs {want:?}");
            }
        }
    }

    #[tokio::test]
    async fn row_order_and_partial_states_do_not_change_a_bit() {
        let one = "SELECT gaussian_kde(s, 0.35, 0.0, 2.0, 7) FROM (VALUES (0.1), (1e-9), (1.7), (0.3333), (2.0)) t(s)";
        let reordered = "SELECT gaussian_kde(s, 0.35, 0.0, 2.0, 7) FROM (\
                         SELECT * FROM (VALUES (2.0), (0.3333)) a(s) UNION ALL \
                         SELECT * FROM (VALUES (1.7), (0.1), (1e-9)) b(s))";
        assert_eq!(densities(one).await.unwrap(), densities(reordered).await.unwrap());
    }

    #[tokio::test]
    async fn empty_groups_are_null_and_bad_grids_fail() {
        let got = densities("SELECT gaussian_kde(s, 0.35, 0.0, 1.0, 3) FROM (VALUES (CAST(NULL AS DOUBLE))) t(s)").await.unwrap();
        assert_eq!(got, [None]);
        for (sql, message) in [
            ("gaussian_kde(s, 0.0, 0.0, 1.0, 3)", "bandwidth must be a positive number, got 0"),
            ("gaussian_kde(s, 0.35, 1.0, 1.0, 3)", "hi must be greater than lo, got lo 1 and hi 1"),
            ("gaussian_kde(s, 0.35, 0.0, 1.0, 0)", "points must be between 1 and 1000000, got 0"),
            ("gaussian_kde(s, s + 0.1, 0.0, 1.0, 3)", "must be the same on every row of a group"),
        ] {
            let e = densities(&format!("SELECT {sql} FROM (VALUES (0.5), (0.7)) t(s)")).await.unwrap_err();
            assert!(e.to_string().contains(message), "{sql}: {e}");
        }
    }
}
