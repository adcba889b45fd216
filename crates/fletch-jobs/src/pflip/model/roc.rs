//! scikit-learn 1.0.2's `roc_curve` (with `drop_intermediate`), `auc`, and
//! pflip's threshold: the first point whose false-positive rate is nearest
//! the target.

/// A ROC curve: thresholds with their rates, highest threshold first.
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

impl Roc {
    /// The curve of `scores` against labels `y` (true = positive).
    pub fn new(y: &[bool], scores: &[f64]) -> Roc {
        // Descending by score; mergesort reversed, so equal scores keep reversed index order.
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        order.reverse();
        let sorted: Vec<f64> = order.iter().map(|&i| scores[i]).collect();
        let mut distinct: Vec<usize> = (0..sorted.len().saturating_sub(1)).filter(|&i| sorted[i + 1] != sorted[i]).collect();
        if !sorted.is_empty() {
            distinct.push(sorted.len() - 1);
        }
        let mut cumulative = Vec::with_capacity(sorted.len());
        let mut positives = 0.0;
        for &i in &order {
            positives += if y[i] { 1.0 } else { 0.0 };
            cumulative.push(positives);
        }
        let mut tps: Vec<f64> = distinct.iter().map(|&i| cumulative[i]).collect();
        let mut fps: Vec<f64> = distinct.iter().zip(&tps).map(|(&i, tp)| 1.0 + i as f64 - tp).collect();
        let mut thresholds: Vec<f64> = distinct.iter().map(|&i| sorted[i]).collect();
        // drop_intermediate: keep the ends and every point where the curve bends.
        if tps.len() > 2 {
            let keep: Vec<bool> = (0..tps.len())
                .map(|i| i == 0 || i == tps.len() - 1 || second_difference(&fps, i) != 0.0 || second_difference(&tps, i) != 0.0)
                .collect();
            let pick = |v: &[f64]| v.iter().zip(&keep).filter(|(_, k)| **k).map(|(x, _)| *x).collect::<Vec<_>>();
            (tps, fps, thresholds) = (pick(&tps), pick(&fps), pick(&thresholds));
        }
        tps.insert(0, 0.0);
        fps.insert(0, 0.0);
        let top = thresholds.first().copied().unwrap_or(0.0) + 1.0;
        thresholds.insert(0, top);
        let (p, n) = (*tps.last().unwrap(), *fps.last().unwrap());
        Roc { fpr: fps.iter().map(|f| f / n).collect(), tpr: tps.iter().map(|t| t / p).collect(), thresholds }
    }

    /// The area under the curve (trapezoids).
    pub fn auc(&self) -> f64 {
        self.fpr.windows(2).zip(self.tpr.windows(2)).map(|(f, t)| (f[1] - f[0]) * (t[1] + t[0]) / 2.0).sum()
    }

    /// The first point whose false-positive rate is nearest `target`: (threshold, tpr, fpr).
    pub fn at_fpr(&self, target: f64) -> (f64, f64, f64) {
        let mut best = 0;
        for (i, f) in self.fpr.iter().enumerate() {
            if (f - target).abs() < (self.fpr[best] - target).abs() {
                best = i;
            }
        }
        (self.thresholds[best], self.tpr[best], self.fpr[best])
    }
}

/// `np.diff(v, 2)` at the interior point `i` (between `i - 1` and `i + 1`).
fn second_difference(v: &[f64], i: usize) -> f64 {
    (v[i + 1] - v[i]) - (v[i] - v[i - 1])
}

/// The true- and false-positive rates of `score > threshold` (the strict
/// rule of prediction, where the curve counts `>=`).
pub fn rates_above(y: &[bool], scores: &[f64], threshold: f64) -> (f64, f64) {
    let (mut tp, mut fp, mut p, mut n) = (0.0, 0.0, 0.0, 0.0);
    for (&label, &s) in y.iter().zip(scores) {
        let flagged = s > threshold;
        match label {
            true => (p, tp) = (p + 1.0, tp + f64::from(u8::from(flagged))),
            false => (n, fp) = (n + 1.0, fp + f64::from(u8::from(flagged))),
        }
    }
    (tp / p, fp / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learns_example() {
        // sklearn's roc_curve docstring: y [1, 1, 2, 2] (2 positive), scores [0.1, 0.4, 0.35, 0.8].
        let roc = Roc::new(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]);
        assert_eq!(roc.fpr, [0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(roc.tpr, [0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(roc.thresholds, [1.8, 0.8, 0.4, 0.35, 0.1]);
        assert_eq!(roc.auc(), 0.75);
    }

    #[test]
    fn straight_runs_are_dropped_and_the_first_nearest_point_wins() {
        // Four negatives in a row: the points between the ends of the run go.
        let y = [true, false, false, false, false, true];
        let s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let roc = Roc::new(&y, &s);
        assert_eq!(roc.fpr, [0.0, 0.0, 1.0, 1.0]);
        assert_eq!(roc.thresholds, [1.9, 0.9, 0.5, 0.4]);
        // Nearest 0.6: 1.0 (0.4 away), not 0.0 (0.6 away).
        assert_eq!(roc.at_fpr(0.6), (0.5, 0.5, 1.0));
        assert_eq!(roc.at_fpr(0.5), (1.9, 0.0, 0.0), "ties go to the first point");
        assert_eq!(rates_above(&y, &s, 0.5), (0.5, 0.75));
    }
}
