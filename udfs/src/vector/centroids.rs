//! k-means centroids of dense vectors, for an inverted-file (IVF) index:
//! trained on a sample (k-means++ seeding from a seed, then Lloyd's steps),
//! and each vector's nearest centroids.

use serde::{Deserialize, Serialize};

use crate::hash::splitmix;

/// `k` centroids of `dim` values each, row-major.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Centroids {
    pub dim: usize,
    pub values: Vec<f64>,
}

fn distance2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl Centroids {
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// At most `k` centroids of `points` (rows of `dim` values), the same for
    /// the same seed: k-means++ seeding, then `iterations` Lloyd steps (an
    /// empty cluster keeps its centroid).
    pub fn train(points: &[f64], dim: usize, k: usize, iterations: usize, seed: u64) -> Self {
        let n = points.len().checked_div(dim).unwrap_or(0);
        let row = |i: usize| &points[i * dim..(i + 1) * dim];
        let mut draw = (0u64..).map(move |i| (splitmix(seed ^ splitmix(i)) >> 11) as f64 / (1u64 << 53) as f64);
        let mut chosen: Vec<usize> = Vec::new();
        if n > 0 {
            chosen.push(((draw.next().unwrap_or(0.0) * n as f64) as usize).min(n - 1));
        }
        let mut nearest: Vec<f64> = (0..n).map(|i| chosen.first().map_or(f64::INFINITY, |&c| distance2(row(i), row(c)))).collect();
        while chosen.len() < k.min(n) {
            let total: f64 = nearest.iter().sum();
            if total <= 0.0 {
                break; // Every point is on a centroid already.
            }
            let mut target = draw.next().unwrap_or(0.0) * total;
            let pick = nearest.iter().position(|d| {
                target -= d;
                target < 0.0
            });
            let pick = pick.unwrap_or(n - 1);
            chosen.push(pick);
            for (i, d) in nearest.iter_mut().enumerate() {
                *d = d.min(distance2(row(i), row(pick)));
            }
        }
        let mut centroids = Centroids { dim, values: chosen.iter().flat_map(|&c| row(c).to_vec()).collect() };
        for _ in 0..iterations {
            let mut sums = vec![0.0; centroids.values.len()];
            let mut counts = vec![0usize; centroids.len()];
            for i in 0..n {
                let c = centroids.nearest(row(i), 1)[0];
                counts[c] += 1;
                sums[c * dim..(c + 1) * dim].iter_mut().zip(row(i)).for_each(|(s, x)| *s += x);
            }
            for (c, &count) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                for (v, s) in centroids.values[c * dim..(c + 1) * dim].iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                    *v = s / count as f64;
                }
            }
        }
        centroids
    }

    /// The `probes` centroids nearest `point`, nearest first (the lower
    /// index on a tie).
    pub fn nearest(&self, point: &[f64], probes: usize) -> Vec<usize> {
        let mut d: Vec<(f64, usize)> = (0..self.len()).map(|c| (distance2(point, self.row(c)), c)).collect();
        let probes = probes.min(d.len());
        if probes < d.len() {
            d.select_nth_unstable_by(probes, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            d.truncate(probes);
        }
        d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        d.into_iter().map(|(_, c)| c).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_separated_clusters_the_same_for_a_seed() {
        // Three tight groups around (0, 0), (10, 0) and (0, 10).
        let mut points = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for k in 0..20 {
                points.extend([cx + (k % 5) as f64 * 0.1, cy + (k / 5) as f64 * 0.1]);
            }
        }
        let c = Centroids::train(&points, 2, 3, 10, 7);
        assert_eq!(c, Centroids::train(&points, 2, 3, 10, 7));
        let mut found: Vec<(i64, i64)> = (0..3).map(|i| (c.row(i)[0].round() as i64, c.row(i)[1].round() as i64)).collect();
        found.sort();
        assert_eq!(found, [(0, 0), (0, 10), (10, 0)]);
        let near = c.nearest(&[9.0, 1.0], 2);
        assert_eq!(c.row(near[0])[0].round(), 10.0);
        assert_eq!(near.len(), 2);
        // Fewer points than centroids: one per distinct point.
        assert_eq!(Centroids::train(&[1.0, 1.0, 1.0, 1.0], 2, 5, 3, 1).len(), 1);
    }
}
