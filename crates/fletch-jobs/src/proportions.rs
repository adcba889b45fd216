//! Statistics of proportions (the share of units that had an event), for
//! ab-readout's readouts and lookalike-validate's audiences. Each function
//! follows a textbook formula, named where it is, and is checked against
//! scipy/statsmodels in the tests.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

fn normal() -> Normal {
    Normal::standard()
}

/// The two-sided critical value z_{1 - alpha/2}.
pub fn z_critical(alpha: f64) -> f64 {
    normal().inverse_cdf(1.0 - alpha / 2.0)
}

/// Wilson's score interval for `x` of `n` (statsmodels `proportion_confint(method="wilson")`).
pub fn wilson(x: u64, n: u64, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (x, n, z) = (x as f64, n as f64, z_critical(alpha));
    let p = x / n;
    let center = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (center - half, center + half)
}

/// Treatment (`xt` of `nt`) against control (`xc` of `nc`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// pt − pc.
    pub diff: f64,
    /// Wald interval of the difference (unpooled variance).
    pub diff_ci: (f64, f64),
    /// pt / pc; None when the control had no event.
    pub ratio: Option<f64>,
    /// Katz's log interval of the ratio; None when either side had no event.
    pub ratio_ci: Option<(f64, f64)>,
    /// The pooled two-proportion z statistic (statsmodels `proportions_ztest`).
    pub z: f64,
    /// Its two-sided p-value.
    pub p_value: f64,
}

pub fn compare(xc: u64, nc: u64, xt: u64, nt: u64, alpha: f64) -> Comparison {
    let (fxc, fnc, fxt, fnt) = (xc as f64, nc as f64, xt as f64, nt as f64);
    let (pc, pt) = (fxc / fnc.max(1.0), fxt / fnt.max(1.0));
    let diff = pt - pc;
    let zc = z_critical(alpha);
    let se = (pc * (1.0 - pc) / fnc.max(1.0) + pt * (1.0 - pt) / fnt.max(1.0)).sqrt();
    let pooled = (fxc + fxt) / (fnc + fnt).max(1.0);
    let se0 = (pooled * (1.0 - pooled) * (1.0 / fnc.max(1.0) + 1.0 / fnt.max(1.0))).sqrt();
    let z = if se0 > 0.0 { diff / se0 } else { 0.0 };
    let p_value = 2.0 * (1.0 - normal().cdf(z.abs()));
    let ratio = (xc > 0).then(|| pt / pc);
    let ratio_ci = (xc > 0 && xt > 0).then(|| {
        let se = (1.0 / fxt - 1.0 / fnt + 1.0 / fxc - 1.0 / fnc).sqrt();
        let r = (pt / pc).ln();
        ((r - zc * se).exp(), (r + zc * se).exp())
    });
    Comparison { diff, diff_ci: (diff - zc * se, diff + zc * se), ratio, ratio_ci, z, p_value }
}

/// Pearson's chi-square goodness of fit of `observed` counts to `shares`
/// (scipy `chisquare`): the statistic and its p-value.
pub fn chi_square(observed: &[u64], shares: &[f64]) -> (f64, f64) {
    let total: f64 = observed.iter().sum::<u64>() as f64;
    let share_sum: f64 = shares.iter().sum();
    let chi2: f64 = observed
        .iter()
        .zip(shares)
        .map(|(&o, &s)| {
            let e = total * s / share_sum;
            if e > 0.0 { (o as f64 - e).powi(2) / e } else { 0.0 }
        })
        .sum();
    let df = observed.len().saturating_sub(1).max(1) as f64;
    let p = 1.0 - ChiSquared::new(df).expect("positive degrees of freedom").cdf(chi2);
    (chi2, p)
}

/// Units per variant that a two-sided test at `alpha` needs to detect an
/// absolute change of `mde` from the rate `base` with probability `power`
/// (Fleiss' formula without continuity correction).
pub fn sample_size(base: f64, mde: f64, alpha: f64, power: f64) -> Option<u64> {
    let (p1, p2) = (base, base + mde);
    if mde == 0.0 || !(0.0..=1.0).contains(&p2) {
        return None;
    }
    let mean = (p1 + p2) / 2.0;
    let (za, zb) = (z_critical(alpha), normal().inverse_cdf(power));
    let n = (za * (2.0 * mean * (1.0 - mean)).sqrt() + zb * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt()).powi(2) / (mde * mde);
    Some(n.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    /// Worked by hand: 30 of 1000 against 45 of 1000.
    #[test]
    fn hand_checked_comparison() {
        let c = compare(30, 1000, 45, 1000, 0.05);
        assert!(close(c.diff, 0.015));
        // pooled p = 0.0375; se0 = sqrt(0.0375 * 0.9625 * 0.002) = 0.0084963...
        assert!(close(c.z, 0.015 / (0.0375f64 * 0.9625 * 0.002).sqrt()));
        assert!((c.z - 1.765_470).abs() < 1e-6, "{}", c.z);
        assert!((c.p_value - 0.077_485).abs() < 1e-6, "{}", c.p_value);
        assert!(close(c.ratio.unwrap(), 1.5));
        let (lo, hi) = wilson(0, 10, 0.05);
        assert!(lo.abs() < 1e-15, "{lo}");
        assert!((hi - 0.277_533).abs() < 1e-5, "{hi}");
    }

    #[test]
    fn chi_square_of_an_even_split() {
        let (chi2, p) = chi_square(&[5100, 4900], &[0.5, 0.5]);
        assert!(close(chi2, 4.0));
        assert!((p - 0.045_500).abs() < 1e-5, "{p}");
    }
}
