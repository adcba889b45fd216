//! Implicit-feedback matrix factorization (alternating least squares, as
//! Spark ML's `ALS` with `implicitPrefs`), split so that the per-user work
//! runs on the executors: `als_user_factors` solves each user's factors
//! from the driver's item factors, `factor_moments` sums what the driver
//! needs to solve every item's. A user is the list of item indices it rated
//! (each rating 1, so confidence 1 + alpha).

mod als_user_factors;
mod factor_moments;

use serde::{Deserialize, Serialize};

pub use als_user_factors::AlsUserFactors;
pub use factor_moments::FactorMoments;

scalar_udf!(als_user_factors, AlsUserFactors::new());
aggregate_udf!(factor_moments, FactorMoments::new());

/// The item side of one ALS step, as the driver hands it to
/// `als_user_factors` (as JSON).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemFactors {
    /// Confidence of a rating is 1 + alpha.
    pub alpha: f64,
    /// Regularization, scaled by each user's number of ratings (as Spark's).
    pub reg: f64,
    /// One vector per item, all of one length (the rank).
    pub factors: Vec<Vec<f64>>,
}

/// Solves `a x = b` for a symmetric positive definite `a` (n × n, row-major)
/// by Cholesky, in place: `b` becomes x. None when `a` is not positive definite.
pub fn solve_spd(a: &mut [f64], b: &mut [f64]) -> Option<()> {
    let n = b.len();
    // a = L Lᵀ, L written over a's lower triangle.
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let s: f64 = (0..i).map(|k| a[i * n + k] * b[k]).sum();
        b[i] = (b[i] - s) / a[i * n + i];
    }
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[k * n + i] * b[k]).sum();
        b[i] = (b[i] - s) / a[i * n + i];
    }
    Some(())
}

/// Adds `c · x xᵀ` to the n × n row-major `m`.
pub fn add_outer(m: &mut [f64], x: &[f64], c: f64) {
    let n = x.len();
    for i in 0..n {
        let ci = c * x[i];
        for j in 0..n {
            m[i * n + j] += ci * x[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_and_refuses_indefinite_matrices() {
        // [[4, 2], [2, 3]] x = [2, 5] → x = [-0.5, 2].
        let (mut a, mut b) = (vec![4.0, 2.0, 2.0, 3.0], vec![2.0, 5.0]);
        solve_spd(&mut a, &mut b).unwrap();
        assert!((b[0] + 0.5).abs() < 1e-15 && (b[1] - 2.0).abs() < 1e-15, "{b:?}");
        assert!(solve_spd(&mut [1.0, 2.0, 2.0, 1.0], &mut [1.0, 1.0]).is_none());
        assert!(solve_spd(&mut [f64::NAN], &mut [1.0]).is_none());
    }

    #[test]
    fn outer_products_accumulate() {
        let mut m = vec![0.0; 4];
        add_outer(&mut m, &[1.0, 2.0], 0.5);
        assert_eq!(m, [0.5, 1.0, 1.0, 2.0]);
    }
}
