//! scikit-learn 1.0.2's `KBinsDiscretizer(strategy="kmeans", encode="onehot")`
//! for one column: 1-D Lloyd k-means from the midpoints of uniform bins,
//! edges halfway between the sorted centres, edges closer than 1e-8 merged,
//! and 1.0.2's digitize with a relative and absolute epsilon.

use serde::{Deserialize, Serialize};

/// KMeans' `max_iter`.
const MAX_ITER: usize = 300;
/// KMeans' `tol`, scaled by the column's variance.
const TOL: f64 = 1e-4;

/// A fitted column: its bin edges (`n_bins + 1` of them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    pub edges: Vec<f64>,
}

impl Bins {
    /// Fits `n_bins` bins to `x` (no NaN). Fails as KMeans does when there
    /// are fewer values than bins.
    pub fn fit(x: &[f64], n_bins: usize) -> Result<Bins, String> {
        let (min, max) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if x.is_empty() || min == max {
            // One bin. scikit-learn's edges are ±inf, which JSON cannot hold;
            // `bin` clips every value into the one bin either way.
            let v = if x.is_empty() { 0.0 } else { min };
            return Ok(Bins { edges: vec![v, v] });
        }
        if x.len() < n_bins {
            return Err(format!("n_samples={} should be >= n_clusters={n_bins}", x.len()));
        }
        let uniform: Vec<f64> = (0..=n_bins).map(|i| linspace(min, max, n_bins, i)).collect();
        let init: Vec<f64> = uniform.windows(2).map(|w| (w[1] + w[0]) * 0.5).collect();
        let mut centres = kmeans_1d(x, &init);
        centres.sort_by(f64::total_cmp);
        let mut edges = vec![min];
        edges.extend(centres.windows(2).map(|w| (w[1] + w[0]) * 0.5));
        edges.push(max);
        // Merge bins whose edges are (nearly) equal.
        let mut kept = vec![edges[0]];
        for w in edges.windows(2) {
            if w[1] - w[0] > 1e-8 {
                kept.push(w[1]);
            }
        }
        Ok(Bins { edges: kept })
    }

    pub fn len(&self) -> usize {
        self.edges.len() - 1
    }

    /// Each bin's values, as text to 4 decimals (the edges themselves are in
    /// the model): the first and last bins are open-ended.
    pub fn ranges(&self) -> Vec<String> {
        let last = self.len() - 1;
        (0..self.len())
            .map(|i| match (i, i == last) {
                (0, true) => "(-inf, inf)".to_string(),
                (0, false) => format!("(-inf, {:.4})", self.edges[1]),
                (_, true) => format!("[{:.4}, inf)", self.edges[i]),
                _ => format!("[{:.4}, {:.4})", self.edges[i], self.edges[i + 1]),
            })
            .collect()
    }

    /// The bin of `v`: `digitize(v + 1e-8 + 1e-5·|v|, edges[1:])`, clipped to the bins.
    pub fn bin(&self, v: f64) -> usize {
        let shifted = v + (1e-8 + 1e-5 * v.abs());
        let index = if shifted.is_nan() { self.edges.len() - 1 } else { self.edges[1..].partition_point(|&e| e <= shifted) };
        index.min(self.len() - 1)
    }
}

/// `np.linspace(min, max, n + 1)[i]`.
fn linspace(min: f64, max: f64, n: usize, i: usize) -> f64 {
    if i == n {
        return max;
    }
    let step = (max - min) / n as f64;
    min + i as f64 * step
}

/// Lloyd's algorithm on one column as scikit-learn runs it: the data and
/// centres shifted by the mean, nearest centre by `c² − 2xc` (the first on
/// ties), an empty cluster given the point farthest from its centre, stop
/// when no label changes or the centres move less than `tol · var(x)`.
fn kmeans_1d(x: &[f64], init: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let xs: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let variance = xs.iter().map(|v| v * v).sum::<f64>() / n;
    let tol = variance * TOL;
    let mut centres: Vec<f64> = init.iter().map(|c| c - mean).collect();
    let mut labels = vec![usize::MAX; xs.len()];
    let mut strict = false;
    for _ in 0..MAX_ITER {
        let previous = labels.clone();
        assign(&xs, &centres, &mut labels);
        let updated = update(&xs, &centres, &mut labels);
        let shift: f64 = centres.iter().zip(&updated).map(|(a, b)| (a - b) * (a - b)).sum();
        centres = updated;
        if labels == previous {
            strict = true;
            break;
        }
        if shift <= tol {
            break;
        }
    }
    if !strict {
        assign(&xs, &centres, &mut labels);
    }
    centres.iter().map(|c| c + mean).collect()
}

fn assign(xs: &[f64], centres: &[f64], labels: &mut [usize]) {
    for (x, label) in xs.iter().zip(labels.iter_mut()) {
        let mut best = (f64::INFINITY, 0);
        for (k, c) in centres.iter().enumerate() {
            let d = c * c - 2.0 * x * c;
            if d < best.0 {
                best = (d, k);
            }
        }
        *label = best.1;
    }
}

/// New centres: the means of their points; an empty cluster takes the point
/// farthest from its old centre, out of that point's cluster.
fn update(xs: &[f64], centres: &[f64], labels: &mut [usize]) -> Vec<f64> {
    let k = centres.len();
    let (mut sums, mut counts) = (vec![0.0; k], vec![0.0; k]);
    for (x, &l) in xs.iter().zip(labels.iter()) {
        sums[l] += x;
        counts[l] += 1.0;
    }
    let empty: Vec<usize> = (0..k).filter(|&c| counts[c] == 0.0).collect();
    if !empty.is_empty() {
        let mut far: Vec<usize> = (0..xs.len()).collect();
        let distance = |i: usize| (xs[i] - centres[labels[i]]).powi(2);
        // Farthest first; scikit-learn's argpartition leaves ties in an unspecified order, here the later point.
        far.sort_by(|&a, &b| distance(b).total_cmp(&distance(a)).then(b.cmp(&a)));
        for (&cluster, &point) in empty.iter().zip(&far) {
            let old = labels[point];
            sums[old] -= xs[point];
            counts[old] -= 1.0;
            sums[cluster] = xs[point];
            counts[cluster] = 1.0;
        }
    }
    (0..k).map(|c| if counts[c] > 0.0 { sums[c] / counts[c] } else { centres[c] }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_columns_get_one_bin() {
        let b = Bins::fit(&[2.0, 2.0, 2.0], 5).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b.bin(2.0), 0);
        assert_eq!(b.bin(-9.0), 0);
    }

    #[test]
    fn well_separated_groups_get_a_bin_each() {
        let x = [0.0, 0.1, 0.2, 5.0, 5.1, 5.2, 10.0, 10.1, 10.2];
        let b = Bins::fit(&x, 3).unwrap();
        assert_eq!(b.len(), 3);
        // Centres 0.1, 5.1, 10.1: edges at 2.6 and 7.6.
        assert!((b.edges[1] - 2.6).abs() < 1e-12 && (b.edges[2] - 7.6).abs() < 1e-12, "{:?}", b.edges);
        let bins: Vec<usize> = x.iter().map(|&v| b.bin(v)).collect();
        assert_eq!(bins, [0, 0, 0, 1, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn the_epsilon_puts_a_value_just_below_an_edge_above_it() {
        let b = Bins { edges: vec![0.0, 1.0, 2.0] };
        assert_eq!(b.bin(1.0 - 5e-6), 1, "within 1e-8 + 1e-5·|v| of the edge");
        assert_eq!(b.bin(1.0 - 1e-4), 0);
        assert_eq!(b.bin(7.0), 1, "clipped to the last bin");
    }

    #[test]
    fn fewer_distinct_values_than_bins_merge_bins() {
        // Three distinct values, 7 bins: empty clusters take far points, then equal edges merge.
        let x: Vec<f64> = [0.0, 1.0, 2.0].iter().cycle().take(30).copied().collect();
        let b = Bins::fit(&x, 7).unwrap();
        let bins: std::collections::BTreeSet<usize> = x.iter().map(|&v| b.bin(v)).collect();
        assert_eq!(bins.len(), 3, "{:?}", b.edges);
        assert!(b.len() <= 7 && b.edges.windows(2).all(|w| w[1] - w[0] > 1e-8));
    }

    #[test]
    fn too_few_values_fail_as_kmeans_does() {
        assert_eq!(Bins::fit(&[0.0, 1.0], 3).unwrap_err(), "n_samples=2 should be >= n_clusters=3");
    }
}
