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

/// The squared euclidean distance of two vectors, summed in dimension order.
pub fn distance2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl Centroids {
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Centroid `i`'s values.
    pub fn row(&self, i: usize) -> &[f64] {
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
            for (i, c) in centroids.nearest(points, 1).into_iter().enumerate() {
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

    /// The `probes` centroids nearest each of `points` (rows of `dim`
    /// values), nearest first, the lower index on a tie: `probes` indices a
    /// point, one point after another. Float32 matrix products screen (a
    /// real kernel, fast on any CPU), f64 distances summed in dimension
    /// order decide, so the answer is the same bits on every machine.
    pub fn nearest(&self, points: &[f64], probes: usize) -> Vec<usize> {
        let (k, dim) = (self.len(), self.dim);
        let probes = probes.min(k);
        let n = points.len().checked_div(dim).unwrap_or(0);
        let mut out = Vec::with_capacity(n * probes);
        if probes == 0 || n == 0 {
            return out;
        }
        let narrow: Vec<f32> = self.values.iter().map(|x| *x as f32).collect();
        let norms: Vec<f64> = narrow.chunks_exact(dim).map(|c| c.iter().map(|x| f64::from(*x).powi(2)).sum()).collect();
        let max_norm = norms.iter().copied().fold(0.0, f64::max);
        let (mut dots, mut approx, mut sorted, mut pick) = (vec![0.0f32; SCREEN_ROWS * k], Vec::with_capacity(k), Vec::with_capacity(k), Vec::with_capacity(k));
        for p0 in (0..n).step_by(SCREEN_ROWS) {
            let rows = SCREEN_ROWS.min(n - p0);
            let block: Vec<f32> = points[p0 * dim..(p0 + rows) * dim].iter().map(|x| *x as f32).collect();
            // dots (rows × k) = P (rows × dim) · Cᵀ (dim × k), both row-major.
            unsafe {
                matrixmultiply::sgemm(rows, dim, k, 1.0, block.as_ptr(), dim as isize, 1, narrow.as_ptr(), 1, dim as isize, 0.0, dots.as_mut_ptr(), k as isize, 1);
            }
            for r in 0..rows {
                let point = &points[(p0 + r) * dim..(p0 + r + 1) * dim];
                // d² − |p|² ≈ |c|² − 2·p·c, within `slack` of the exact value.
                approx.clear();
                approx.extend(dots[r * k..(r + 1) * k].iter().zip(&norms).map(|(d, c)| c - 2.0 * f64::from(*d)));
                let norm: f64 = point.iter().map(|x| x * x).sum();
                let slack = 4.0 * (dim + 2) as f64 * f64::from(f32::EPSILON) * (1.0 + norm + max_norm);
                sorted.clone_from(&approx);
                let (_, kth, _) = sorted.select_nth_unstable_by(probes - 1, f64::total_cmp);
                let cut = *kth + 2.0 * slack;
                pick.clear();
                pick.extend((0..k).filter(|&c| approx[c] <= cut).map(|c| (distance2(point, self.row(c)), c)));
                pick.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                out.extend(pick.iter().take(probes).map(|(_, c)| *c));
            }
        }
        out
    }
}

/// Points screened per matrix product.
const SCREEN_ROWS: usize = 256;

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

    #[test]
    fn the_screen_finds_the_exact_nearest_with_ties() {
        // Centroids on a grid, so that many points are equally far from two or more.
        let values: Vec<f64> = (0..12 * 3).map(|i| ((i * 37 % 11) as f64 - 5.0) / 2.0).collect();
        let c = Centroids { dim: 3, values: [values.clone(), values[..6].to_vec()].concat() };
        let points: Vec<f64> = (0..300 * 3).map(|i| ((i * 13 % 23) as f64 - 11.0) / 4.0).collect();
        let found = c.nearest(&points, 4);
        for (p, point) in points.chunks(3).enumerate() {
            let mut order: Vec<usize> = (0..c.len()).collect();
            order.sort_by(|&a, &b| distance2(point, c.row(a)).total_cmp(&distance2(point, c.row(b))).then(a.cmp(&b)));
            assert_eq!(found[p * 4..p * 4 + 4], order[..4], "point {p}");
        }
        assert_eq!(c.nearest(&points, 1), (0..300).map(|p| found[p * 4]).collect::<Vec<_>>());
        assert_eq!(c.nearest(&points[..3], 99).len(), c.len());
    }
}
