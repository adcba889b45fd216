//! Binary logistic regression with an elastic-net penalty, as Spark ML's
//! `LogisticRegression` defines it (standardization on, intercept fitted
//! and not penalized): minimise
//! mean log-loss + λ (α ‖w‖₁ + (1 − α)/2 ‖w‖²) over w = β·σ, the
//! coefficients of the features scaled by their standard deviations.
//! Solved to convergence by proximal Newton steps (a coordinate-descent
//! solve of each quadratic model, then a backtracking line search).

/// The fitted model, in the features' own units.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    pub objective: f64,
    pub iterations: usize,
}

/// The penalty and how the data was stacked.
#[derive(Debug, Clone, Copy)]
pub struct Penalty {
    /// Spark's `regParam`.
    pub lambda: f64,
    /// Spark's `elasticNetParam`.
    pub alpha: f64,
    /// How often the original's stacking repeats every row: the mean loss
    /// does not see it, the standard deviations' n − 1 does.
    pub copies: f64,
}

const MAX_ITERATIONS: usize = 200;
const TOLERANCE: f64 = 1e-12;

/// Fits `labels` (0 or 1) on `rows` (one feature vector each). A feature
/// that does not vary gets coefficient 0, as in Spark.
pub fn fit(rows: &[Vec<f64>], labels: &[f64], p: Penalty) -> Fit {
    let (n, d) = (rows.len() as f64, rows.first().map_or(0, Vec::len));
    let scale: Vec<f64> = (0..d)
        .map(|j| {
            let mean = rows.iter().map(|r| r[j]).sum::<f64>() / n;
            let m2 = rows.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>();
            (p.copies * m2 / (p.copies * n - 1.0)).sqrt()
        })
        .collect();
    let z: Vec<Vec<f64>> = rows.iter().map(|r| r.iter().zip(&scale).map(|(x, s)| if *s > 0.0 { x / s } else { 0.0 }).collect()).collect();
    let model = Model { z: &z, labels, p, active: scale.iter().map(|s| *s > 0.0).collect() };

    let mean_label = labels.iter().sum::<f64>() / n;
    let (mut w, mut b) = (vec![0.0; d], (mean_label / (1.0 - mean_label)).ln());
    let mut objective = model.objective(&w, b);
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        let (dw, db) = model.newton_direction(&w, b);
        // Backtracking: the step is a descent direction of the full objective.
        let mut t = 1.0;
        let (next_w, next_b, next_objective) = loop {
            let cw: Vec<f64> = w.iter().zip(&dw).map(|(w, d)| w + t * d).collect();
            let cb = b + t * db;
            let o = model.objective(&cw, cb);
            if o <= objective || t < 1e-10 {
                break (cw, cb, o);
            }
            t /= 2.0;
        };
        let change = next_w.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold((next_b - b).abs(), f64::max);
        (w, b, objective) = (next_w, next_b, next_objective);
        if change < TOLERANCE {
            break;
        }
    }
    let coefficients = w.iter().zip(&scale).map(|(w, s)| if *s > 0.0 { w / s } else { 0.0 }).collect();
    Fit { coefficients, intercept: b, objective, iterations }
}

struct Model<'a> {
    z: &'a [Vec<f64>],
    labels: &'a [f64],
    p: Penalty,
    active: Vec<bool>,
}

/// log(1 + e^m) without overflow.
fn softplus(m: f64) -> f64 {
    if m > 0.0 { m + (-m).exp().ln_1p() } else { m.exp().ln_1p() }
}

impl Model<'_> {
    fn margin(&self, i: usize, w: &[f64], b: f64) -> f64 {
        self.z[i].iter().zip(w).map(|(z, w)| z * w).sum::<f64>() + b
    }

    fn penalty(&self, w: &[f64]) -> f64 {
        let (l1, l2) = (w.iter().map(|v| v.abs()).sum::<f64>(), w.iter().map(|v| v * v).sum::<f64>());
        self.p.lambda * (self.p.alpha * l1 + (1.0 - self.p.alpha) / 2.0 * l2)
    }

    fn objective(&self, w: &[f64], b: f64) -> f64 {
        let n = self.z.len() as f64;
        let loss: f64 = (0..self.z.len()).map(|i| softplus(self.margin(i, w, b)) - self.labels[i] * self.margin(i, w, b)).sum();
        loss / n + self.penalty(w)
    }

    /// The step to the minimum of the quadratic model of the loss plus the
    /// exact penalty, by cyclic coordinate descent (the intercept last,
    /// unpenalized).
    fn newton_direction(&self, w: &[f64], b: f64) -> (Vec<f64>, f64) {
        let (n, d) = (self.z.len() as f64, w.len());
        // Gradient and Hessian of the mean loss over (w, b), b as coordinate d.
        let (mut g, mut h) = (vec![0.0; d + 1], vec![0.0; (d + 1) * (d + 1)]);
        for (i, z) in self.z.iter().enumerate() {
            let p = 1.0 / (1.0 + (-self.margin(i, w, b)).exp());
            let (r, c) = (p - self.labels[i], p * (1.0 - p));
            let x = |j: usize| if j < d { z[j] } else { 1.0 };
            for j in 0..=d {
                g[j] += r * x(j) / n;
                for k in 0..=d {
                    h[j * (d + 1) + k] += c * x(j) * x(k) / n;
                }
            }
        }
        let (lambda1, lambda2) = (self.p.lambda * self.p.alpha, self.p.lambda * (1.0 - self.p.alpha));
        // Coordinate j of the new point u minimises c·u_j + ½ (H_jj + λ2) u_j² + λ1 |u_j|,
        // c being the model's slope at u without u_j's own term (λ's for coefficients only).
        let start: Vec<f64> = w.iter().copied().chain([b]).collect();
        let mut u = start.clone();
        for _ in 0..10_000 {
            let mut moved: f64 = 0.0;
            for j in (0..=d).filter(|&j| j == d || self.active[j]) {
                let row = &h[j * (d + 1)..(j + 1) * (d + 1)];
                let c = g[j] + row.iter().zip(u.iter().zip(&start)).map(|(h, (u, s))| h * (u - s)).sum::<f64>() - row[j] * u[j];
                let next = match j < d {
                    true => soft_threshold(-c, lambda1) / (row[j] + lambda2),
                    false if row[j] > 0.0 => -c / row[j],
                    false => u[j],
                };
                moved = moved.max((next - u[j]).abs());
                u[j] = next;
            }
            if moved < 1e-15 {
                break;
            }
        }
        let dw = (0..d).map(|j| u[j] - w[j]).collect();
        (dw, u[d] - b)
    }
}

/// sign(v) · max(|v| − t, 0).
fn soft_threshold(v: f64, t: f64) -> f64 {
    if v.abs() > t { v - t * v.signum() } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_PENALTY: Penalty = Penalty { lambda: 0.0, alpha: 0.0, copies: 1.0 };

    #[test]
    fn without_penalty_it_is_the_maximum_likelihood() {
        // x = 0: 1 of 4 positive, x = 1: 3 of 4: b = ln(1/3), b + β = ln 3.
        let rows: Vec<Vec<f64>> = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0].iter().map(|&x| vec![x]).collect();
        let labels = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let f = fit(&rows, &labels, NO_PENALTY);
        assert!((f.intercept - (1.0f64 / 3.0).ln()).abs() < 1e-9, "{f:?}");
        assert!((f.coefficients[0] - 2.0 * 3f64.ln()).abs() < 1e-9, "{f:?}");
        // The units of a feature do not change its effect.
        let scaled: Vec<Vec<f64>> = rows.iter().map(|r| vec![r[0] * 1000.0]).collect();
        assert!((fit(&scaled, &labels, NO_PENALTY).coefficients[0] * 1000.0 - f.coefficients[0]).abs() < 1e-9);
    }

    #[test]
    fn the_penalized_optimum_meets_its_conditions() {
        let rows: Vec<Vec<f64>> = (0..40).map(|i| vec![(i % 7) as f64, ((i * 3) % 5) as f64 * 0.1, 2.0]).collect();
        let labels: Vec<f64> = (0..40).map(|i| ((i % 7 + (i * 3) % 5) > 4) as u8 as f64).collect();
        let p = Penalty { lambda: 0.1, alpha: 0.3, copies: 3.0 };
        let f = fit(&rows, &labels, p);
        // The constant feature gets 0.
        assert_eq!(f.coefficients[2], 0.0);
        // Stationarity in standardized units: ∂loss/∂w_j + λ(1−α) w_j + λα sign(w_j) = 0 for w_j ≠ 0,
        // |∂loss/∂w_j| ≤ λα for w_j = 0; ∂loss/∂b = 0.
        let n = rows.len() as f64;
        let sd: Vec<f64> = (0..2)
            .map(|j| {
                let mean = rows.iter().map(|r| r[j]).sum::<f64>() / n;
                (3.0 * rows.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / (3.0 * n - 1.0)).sqrt()
            })
            .collect();
        let w: Vec<f64> = (0..2).map(|j| f.coefficients[j] * sd[j]).collect();
        let (mut gw, mut gb) = (vec![0.0; 2], 0.0);
        for (r, y) in rows.iter().zip(&labels) {
            let m = f.intercept + (0..2).map(|j| w[j] * r[j] / sd[j]).sum::<f64>();
            let residual = 1.0 / (1.0 + (-m).exp()) - y;
            gb += residual / n;
            (0..2).for_each(|j| gw[j] += residual * r[j] / sd[j] / n);
        }
        assert!(gb.abs() < 1e-9, "{gb}");
        for j in 0..2 {
            match w[j] == 0.0 {
                true => assert!(gw[j].abs() <= 0.1 * 0.3 + 1e-9),
                false => assert!((gw[j] + 0.1 * 0.7 * w[j] + 0.1 * 0.3 * w[j].signum()).abs() < 1e-9, "{j}: {gw:?} {w:?}"),
            }
        }
    }
}
