//! L1-regularised logistic regression on a binary sparse matrix, as
//! liblinear's L1R_LR (scikit-learn's `solver="liblinear"`) poses it: the
//! intercept is one more feature (intercept_scaling 1), regularised like the
//! others; minimise `‖w‖₁ + C Σ log(1 + exp(−yᵢ wᵀxᵢ))`. Solved by GLMNET:
//! Newton steps whose L1 quadratic model is minimised by coordinate descent
//! over the features that can move, with a backtracking line search; stopped
//! as liblinear stops, when the minimum-norm subgradient's L1 norm falls to
//! `tol · min(positives, negatives) / rows` of its value at zero.

use serde::{Deserialize, Serialize};

/// A binary matrix by column: the rows where each column is 1.
pub struct Columns {
    pub rows: usize,
    pub starts: Vec<usize>,
    pub indices: Vec<u32>,
}

impl Columns {
    /// The columns of a binary matrix given by each row's active columns.
    pub fn of(rows: &[Vec<u64>], width: usize) -> Columns {
        let mut lists = vec![Vec::new(); width];
        for (i, r) in rows.iter().enumerate() {
            for &j in r {
                lists[j as usize].push(i as u32);
            }
        }
        let mut starts = Vec::with_capacity(width + 1);
        starts.push(0);
        for l in &lists {
            starts.push(starts.last().unwrap() + l.len());
        }
        Columns { rows: rows.len(), starts, indices: lists.concat() }
    }

    fn column(&self, j: usize) -> &[u32] {
        &self.indices[self.starts[j]..self.starts[j + 1]]
    }

    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// The objective at the solution.
    pub objective: f64,
    pub newton_iterations: usize,
}

const SIGMA: f64 = 0.01;
const NU: f64 = 1e-12;
const MAX_INNER: usize = 100;
const MAX_LINE_SEARCH: usize = 20;

/// Fits `x` (without the intercept column) to `y` with cost `c`.
pub fn fit(x: &Columns, y: &[bool], c: f64, tol: f64, max_iter: usize) -> Fit {
    let n = x.rows;
    let m = x.len() + 1;
    let bias_rows: Vec<u32> = (0..n as u32).collect();
    let col = |j: usize| if j + 1 == m { &bias_rows[..] } else { x.column(j) };
    let sign: Vec<f64> = y.iter().map(|&p| if p { 1.0 } else { -1.0 }).collect();
    let positives = y.iter().filter(|p| **p).count();
    let eps = tol * positives.min(n - positives).max(1) as f64 / n as f64;

    let mut w = vec![0.0; m];
    let mut z = vec![0.0; n];
    let mut loss = loss_of(&z, &sign, c);
    let (mut g, mut h) = (vec![0.0; m], vec![0.0; m]);
    // Each row's loss slope and curvature, side by side: one load per entry.
    let mut derivatives = vec![(0.0, 0.0); n];
    let mut norm0 = None;
    let mut iterations = 0;
    // Shrinking: a feature at zero whose gradient is well inside [-1, 1] (by
    // the last step's largest violation) leaves, so that later steps visit
    // only the features in play; when those meet the stopping rule, every
    // feature is checked again, and the solver goes on if one violates it.
    let mut in_play: Vec<usize> = (0..m).collect();
    let mut worst_before = f64::INFINITY;
    while iterations < max_iter {
        for (i, d) in derivatives.iter_mut().enumerate() {
            let p = 1.0 / (1.0 + (-sign[i] * z[i]).exp());
            *d = (-c * sign[i] * (1.0 - p), c * p * (1.0 - p));
        }
        let mut norm = 0.0;
        let mut worst: f64 = 0.0;
        in_play.retain(|&j| {
            let (gj, hj) = col(j).iter().fold((0.0, NU), |(g, h), &i| {
                let (slope, curvature) = derivatives[i as usize];
                (g + slope, h + curvature)
            });
            (g[j], h[j]) = (gj, hj);
            if w[j] == 0.0 && gj.abs() < 1.0 - worst_before / n as f64 {
                return false;
            }
            let v = violation(w[j], gj);
            norm += v;
            worst = worst.max(v);
            true
        });
        worst_before = worst;
        let norm0 = *norm0.get_or_insert(norm);
        if norm <= eps * norm0 {
            if in_play.len() == m {
                break;
            }
            in_play = (0..m).collect();
            worst_before = f64::INFINITY;
            continue;
        }
        iterations += 1;
        // Of those, the features that cannot move this step sit it out.
        let margin = worst / n as f64;
        let active: Vec<usize> = in_play.iter().copied().filter(|&j| w[j] != 0.0 || g[j].abs() > 1.0 - margin).collect();
        let mut d = vec![0.0; m];
        let mut xd = vec![0.0; n];
        let inner_eps = (0.1 * norm).max(eps * norm0);
        for _ in 0..MAX_INNER {
            let mut inner_norm = 0.0;
            for &j in &active {
                let rows = col(j);
                let gj = g[j] + rows.iter().map(|&i| derivatives[i as usize].1 * xd[i as usize]).sum::<f64>();
                let wd = w[j] + d[j];
                inner_norm += violation(wd, gj);
                let Some(new_d) = coordinate(w[j], d[j], gj, h[j]) else { continue };
                let step = new_d - d[j];
                d[j] = new_d;
                for &i in rows {
                    xd[i as usize] += step;
                }
            }
            if inner_norm <= inner_eps {
                break;
            }
        }
        // Sufficient decrease of the objective along d.
        let l1 = |v: &[f64]| v.iter().map(|x| x.abs()).sum::<f64>();
        let w_norm = l1(&w);
        let predicted: f64 = (0..m).map(|j| g[j] * d[j]).sum::<f64>() + (0..m).map(|j| (w[j] + d[j]).abs()).sum::<f64>() - w_norm;
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..MAX_LINE_SEARCH {
            let trial_z: Vec<f64> = z.iter().zip(&xd).map(|(a, b)| a + step * b).collect();
            let trial_w: Vec<f64> = w.iter().zip(&d).map(|(a, b)| a + step * b).collect();
            let trial_loss = loss_of(&trial_z, &sign, c);
            if l1(&trial_w) + trial_loss - (w_norm + loss) <= SIGMA * step * predicted {
                (w, z, loss) = (trial_w, trial_z, trial_loss);
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        // No sufficient decrease along d: as liblinear, stop where we are.
        if !accepted {
            break;
        }
    }
    let objective = w.iter().map(|x| x.abs()).sum::<f64>() + loss;
    let intercept = w.pop().expect("the intercept");
    Fit { weights: w, intercept, objective, newton_iterations: iterations }
}

/// One coordinate's new direction `d` (of the quadratic model with gradient
/// `g` and curvature `h` at `w + d`, plus |w + d|), the move capped at 10;
/// `None` when it would barely move. A move to zero lands on exactly zero:
/// a residue such as 1e-18 would keep its violation |g ± 1| and the solver
/// from ever stopping.
fn coordinate(w: f64, d: f64, g: f64, h: f64) -> Option<f64> {
    let wd = w + d;
    let new_d = if g + 1.0 <= h * wd {
        d - ((g + 1.0) / h).clamp(-10.0, 10.0)
    } else if g - 1.0 >= h * wd {
        d - ((g - 1.0) / h).clamp(-10.0, 10.0)
    } else if wd.abs() <= 10.0 {
        -w
    } else {
        d - 10.0 * wd.signum()
    };
    let zeroed = wd != 0.0 && w + new_d == 0.0;
    ((new_d - d).abs() >= 1e-12 || zeroed).then_some(new_d)
}

/// `C Σ log(1 + exp(−yᵢ zᵢ))`, without overflow.
fn loss_of(z: &[f64], sign: &[f64], c: f64) -> f64 {
    c * z.iter().zip(sign).map(|(z, s)| softplus(-s * z)).sum::<f64>()
}

fn softplus(t: f64) -> f64 {
    if t > 0.0 { t + (-t).exp().ln_1p() } else { t.exp().ln_1p() }
}

/// How far `g` is from a subgradient of the loss + ‖·‖₁ at `w` allowing 0.
fn violation(w: f64, g: f64) -> f64 {
    if w > 0.0 {
        (g + 1.0).abs()
    } else if w < 0.0 {
        (g - 1.0).abs()
    } else {
        (g.abs() - 1.0).max(0.0)
    }
}

impl Fit {
    /// `wᵀx + b` of every row of a matrix given by rows.
    pub fn decisions(&self, rows: &[Vec<u64>]) -> Vec<f64> {
        rows.iter().map(|r| self.intercept + r.iter().map(|&j| self.weights[j as usize]).sum::<f64>()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_optimal_when_no_gradient_beats_the_penalty() {
        // At w = 0 the loss gradients are -1 (intercept: 3 positives, 1 negative,
        // C = 1) and -0.5 (the feature), inside the L1 penalty's subgradient [-1, 1].
        let rows = vec![vec![0], vec![0], vec![], vec![0]];
        let fit = fit(&Columns::of(&rows, 1), &[true, true, true, false], 1.0, 1e-8, 100);
        assert_eq!((fit.weights.clone(), fit.intercept, fit.newton_iterations), (vec![0.0], 0.0, 0), "{fit:?}");
        assert!((fit.objective - 4.0 * std::f64::consts::LN_2).abs() < 1e-12);
    }

    #[test]
    fn a_coordinate_moved_to_zero_lands_on_exactly_zero() {
        // |g| < 1 at a residue of 1e-18: zero is the minimum, reached exactly.
        let w = 1.7e-18;
        assert_eq!(coordinate(w, 0.0, -0.5, 1.0).map(|d| w + d), Some(0.0));
        let (w, d) = (0.3, -0.1 - 0.2);
        assert_eq!(coordinate(w, d, 0.2, 2.0).map(|d| w + d), Some(0.0), "accumulated directions too");
        // Already at zero, or a move below 1e-12: nothing to do.
        assert_eq!(coordinate(0.0, 0.0, 0.5, 1.0), None);
        assert_eq!(coordinate(0.5, 0.0, -1.0 - 1e-13, 1.0), None);
        // Outside the penalty's band a Newton step, capped at 10.
        assert_eq!(coordinate(0.0, 0.0, -3.0, 0.5), Some(4.0));
        assert_eq!(coordinate(0.0, 0.0, -30.0, 1.0), Some(10.0));
    }

    #[test]
    fn a_separating_feature_gets_weight_and_the_objective_falls() {
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..200u32 {
            let positive = i % 2 == 0;
            // Feature 0 marks most positives; feature 1 is noise.
            let mut r = Vec::new();
            if positive && i % 10 != 0 {
                r.push(0);
            }
            if i % 3 == 0 {
                r.push(1);
            }
            rows.push(r);
            y.push(positive);
        }
        let x = Columns::of(&rows, 2);
        let fit = fit(&x, &y, 0.04, 1e-4, 100);
        assert!(fit.weights[0] > 0.5, "{fit:?}");
        let zero = 0.04 * 200.0 * std::f64::consts::LN_2;
        assert!(fit.objective < zero, "{} >= {zero}", fit.objective);
        let scores = fit.decisions(&rows);
        let correct = scores.iter().zip(&y).filter(|(s, p)| (**s > 0.0) == **p).count();
        assert!(correct >= 180, "{correct}");
    }
}
