//! Column selection as scikit-learn 1.0.2 does it for pflip:
//! `SelectPercentile(chi2)` with its tie rule, and `VarianceThreshold` on
//! binary columns; quantiles as numpy and pandas interpolate them.

/// chi² of each binary column against binary labels: Σ over both classes of
/// (observed − expected)² / expected, expected = class share × column count.
pub fn chi2(column_rows: &[Vec<u32>], y: &[bool]) -> Vec<f64> {
    let n = y.len() as f64;
    let positive_share = y.iter().filter(|p| **p).count() as f64 / n;
    column_rows
        .iter()
        .map(|rows| {
            let count = rows.len() as f64;
            let positives = rows.iter().filter(|&&i| y[i as usize]).count() as f64;
            let observed = [count - positives, positives];
            let expected = [(1.0 - positive_share) * count, positive_share * count];
            observed.iter().zip(expected).map(|(o, e)| (o - e) * (o - e) / e).sum()
        })
        .collect()
}

/// `SelectPercentile`'s mask: scores above the (100 − p)-th percentile, then
/// ties at it in column order up to `int(n · p / 100)` kept (Python slicing:
/// when more than that are above, all but the last ties' excess are kept).
pub fn select_percentile(scores: &[f64], percentile: f64) -> Vec<bool> {
    if percentile >= 100.0 {
        return vec![true; scores.len()];
    }
    if percentile <= 0.0 {
        return vec![false; scores.len()];
    }
    let clean: Vec<f64> = scores.iter().map(|s| if s.is_nan() { f64::MIN } else { *s }).collect();
    let threshold = percentile_of(&clean, 100.0 - percentile);
    let mut mask: Vec<bool> = clean.iter().map(|s| *s > threshold).collect();
    let ties: Vec<usize> = (0..clean.len()).filter(|&i| clean[i] == threshold).collect();
    let max_features = (clean.len() as f64 * percentile / 100.0) as i64;
    let room = max_features - mask.iter().filter(|m| **m).count() as i64;
    let end = if room >= 0 { (room as usize).min(ties.len()) } else { ties.len().saturating_sub(room.unsigned_abs() as usize) };
    for &i in &ties[..end] {
        mask[i] = true;
    }
    mask
}

/// `np.percentile(values, q)` with linear interpolation.
pub fn percentile_of(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    interpolate(&sorted, q / 100.0)
}

/// `Series.quantile(q)`: linear, NaN skipped; NaN when nothing is left.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() { f64::NAN } else { interpolate(&sorted, q) }
}

/// numpy's linear interpolation between order statistics (its `_lerp`).
fn interpolate(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let t = position - below as f64;
    let (a, b) = (sorted[below], sorted[above]);
    if t >= 0.5 { b - (b - a) * (1.0 - t) } else { a + (b - a) * t }
}

/// `VarianceThreshold(t)` on a binary column of `ones` ones in `n` rows:
/// population variance p(1 − p) above `t` (at t = 0: not constant).
pub fn varies(ones: usize, n: usize, t: f64) -> bool {
    let p = ones as f64 / n as f64;
    if t == 0.0 { ones > 0 && ones < n } else { p * (1.0 - p) > t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_matches_scikit_learn() {
        // sklearn.feature_selection.chi2 on X = [[1,0],[1,1],[0,1],[0,1]], y = [1,1,0,0]: [2.0, 0.3333…].
        let columns = vec![vec![0, 1], vec![1, 2, 3]];
        let scores = chi2(&columns, &[true, true, false, false]);
        assert!((scores[0] - 2.0).abs() < 1e-12 && (scores[1] - 1.0 / 3.0).abs() < 1e-12, "{scores:?}");
    }

    #[test]
    fn percentile_selection_keeps_ties_in_column_order() {
        // 10 scores, 50 %: threshold = median 2.0; above: 3, 4 (2 of 5); ties 2.0 at 1, 4, 6, 8 fill 3 more.
        let s = [1.0, 2.0, 3.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 0.0];
        let kept: Vec<usize> = select_percentile(&s, 50.0).iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i).collect();
        assert_eq!(kept, [1, 2, 4, 5, 6]);
        assert_eq!(select_percentile(&s, 100.0), vec![true; 10]);
    }

    #[test]
    fn quantiles_interpolate_as_numpy() {
        assert_eq!(quantile(&[1.0, f64::NAN, 3.0, 2.0, 4.0], 0.5), 2.5);
        assert!((quantile(&[0.0, 10.0], 0.999) - 9.99).abs() < 1e-12);
        assert!(quantile(&[f64::NAN], 0.5).is_nan());
        assert_eq!(percentile_of(&[5.0, 1.0, 3.0], 50.0), 3.0);
    }

    #[test]
    fn variance_thresholds_on_binary_columns() {
        assert!(!varies(0, 10, 0.0) && !varies(10, 10, 0.0) && varies(1, 10, 0.0));
        // p(1 - p) > 0.001 needs about one row in a thousand.
        assert!(!varies(1, 1001, 0.001) && varies(2, 1001, 0.001));
    }
}
