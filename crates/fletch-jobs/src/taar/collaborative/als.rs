//! The driver's side of implicit ALS: the item factors start random (seeded
//! per add-on, so they do not depend on which add-ons are rated), then each
//! iteration runs `factor_moments.sql` on the executors (every client solved
//! from the items, then summed per item) and solves each item's factors
//! from those sums. Only the items' factors and sums live here.

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StructArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use fletch_engine::batches::column;
use fletch_engine::params::Params;
use fletch_engine::{Error, Result};
use fletch_udfs::factorization::{ItemFactors, solve_spd};
use rand::{Rng, SeedableRng};

use super::STEPS;
use crate::framework::RunContext;

/// The model's hyper-parameters (Spark ML's ALS names).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub rank: usize,
    pub reg: f64,
    pub alpha: f64,
    pub iterations: usize,
}

/// What `factor_moments` summed over the clients.
#[derive(Debug)]
struct Moments {
    gram: Vec<f64>,
    /// Per item index: (users, Σ x xᵀ, Σ x).
    items: Vec<Option<(i64, Vec<f64>, Vec<f64>)>>,
}

/// An add-on's starting factors, as Spark draws them: Gaussian, scaled to
/// length 1; seeded by the run's seed and the guid.
pub fn initial_factors(guid: &str, rank: usize, seed: u64) -> Vec<f64> {
    let key = guid.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01B3));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ key);
    // Box–Muller: rand has no normal distribution without rand_distr.
    let mut v: Vec<f64> = (0..rank)
        .map(|_| {
            let (u, w): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * w).cos()
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// `$model` of `factor_moments.sql`: the items' factors and the settings.
pub fn model_params(factors: &[Vec<f64>], s: Settings) -> Result<Params> {
    let model = ItemFactors { alpha: s.alpha, reg: s.reg, factors: factors.to_vec() };
    let mut params = Params::default();
    params.set_string("model", serde_json::to_string(&model).map_err(|e| Error::io(format!("cannot encode the item factors: {e}")))?);
    Ok(params)
}

/// Runs `settings.iterations` ALS iterations from `factors` (one per item of
/// the `client_items` step's `$items`); returns the items' final factors.
pub async fn train(rc: &mut RunContext, settings: Settings, mut factors: Vec<Vec<f64>>) -> Result<Vec<Vec<f64>>> {
    let progress = rc.progress.clone();
    for iteration in 1..=settings.iterations {
        let step = progress.step(&format!("ALS iteration {iteration}/{}", settings.iterations));
        let batches = rc.run_quietly(&STEPS.factor_moments, &model_params(&factors, settings)?).await?.batches;
        let moments = read_moments(&batches, factors.len(), settings.rank)?;
        let next = solve_items(&moments, settings)?;
        let moved = next.iter().zip(&factors).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).powi(2))).sum::<f64>().sqrt();
        factors = next;
        step.done(None);
        log::info!("ALS iteration {iteration}: item factors moved by {moved:.3e}");
    }
    Ok(factors)
}

/// Each item's factors: (XᵀX + alpha Σ x xᵀ + reg·n·I) y = (1 + alpha) Σ x
/// over its n users, as Spark's implicit ALS solves them.
fn solve_items(m: &Moments, s: Settings) -> Result<Vec<Vec<f64>>> {
    let r = s.rank;
    m.items
        .iter()
        .enumerate()
        .map(|(k, sums)| {
            let (users, outer, sum) = sums.as_ref().ok_or_else(|| Error::input(format!("ALS: item {k} has no client (the ratings changed during the run?)")))?;
            let mut a = m.gram.clone();
            a.iter_mut().zip(outer).for_each(|(a, o)| *a += s.alpha * o);
            (0..r).for_each(|i| a[i * r + i] += s.reg * *users as f64);
            let mut y: Vec<f64> = sum.iter().map(|v| (1.0 + s.alpha) * v).collect();
            solve_spd(&mut a, &mut y).ok_or_else(|| Error::input(format!("ALS: the normal equations of item {k} are not positive definite")))?;
            Ok(y)
        })
        .collect()
}

fn read_moments(batches: &[RecordBatch], items: usize, rank: usize) -> Result<Moments> {
    let mut out = Moments { gram: vec![0.0; rank * rank], items: vec![None; items] };
    for b in batches {
        let s = column::<StructArray>(b, "moments")?;
        let field = |name: &str| s.column_by_name(name).ok_or_else(|| Error::input(format!("factor_moments: no field `{name}`")));
        let floats = |name: &str, i: usize| -> Result<Vec<f64>> { Ok(field(name)?.as_list::<i32>().value(i).as_primitive::<Float64Type>().values().to_vec()) };
        let ints = |name: &str, i: usize| -> Result<Vec<i64>> { Ok(field(name)?.as_list::<i32>().value(i).as_primitive::<Int64Type>().values().to_vec()) };
        for i in (0..b.num_rows()).filter(|&i| s.is_valid(i)) {
            let gram = floats("gram", i)?;
            if gram.is_empty() {
                continue;
            }
            if gram.len() != rank * rank {
                return Err(Error::input(format!("factor_moments: factors of rank {}, the model has {rank}", (gram.len() as f64).sqrt())));
            }
            out.gram = gram;
            let (item, count, outer, sum) = (ints("item", i)?, ints("count", i)?, floats("outer", i)?, floats("sum", i)?);
            for (k, &item) in item.iter().enumerate() {
                let slot = usize::try_from(item).ok().and_then(|j| out.items.get_mut(j)).ok_or_else(|| Error::input(format!("factor_moments: item {item} is not one of {items}")))?;
                *slot = Some((count[k], outer[k * rank * rank..(k + 1) * rank * rank].to_vec(), sum[k * rank..(k + 1) * rank].to_vec()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use fletch_udfs::factorization::add_outer;

    use super::*;

    /// XᵀX of the users' factors.
    fn gram_of(factors: &[Vec<f64>]) -> Vec<f64> {
        let mut g = vec![0.0; factors[0].len().pow(2)];
        factors.iter().for_each(|f| add_outer(&mut g, f, 1.0));
        g
    }

    #[test]
    fn starting_factors_are_unit_length_and_seeded_per_guid() {
        let a = initial_factors("a@x", 5, 42);
        assert!((a.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(a, initial_factors("a@x", 5, 42));
        assert_ne!(a, initial_factors("b@x", 5, 42));
        assert_ne!(a, initial_factors("a@x", 5, 43));
    }

    #[test]
    fn items_solve_their_normal_equations() {
        // Rank 1, two users x = 1 and x = 2; item 0 rated by both, item 1 by the second.
        let s = Settings { rank: 1, reg: 0.5, alpha: 1.0, iterations: 1 };
        let m = Moments { gram: gram_of(&[vec![1.0], vec![2.0]]), items: vec![Some((2, vec![5.0], vec![3.0])), Some((1, vec![4.0], vec![2.0]))] };
        let y = solve_items(&m, s).unwrap();
        // Item 0: (5 + 5 + 1) y = 2·3; item 1: (5 + 4 + 0.5) y = 2·2.
        assert!((y[0][0] - 6.0 / 11.0).abs() < 1e-15 && (y[1][0] - 4.0 / 9.5).abs() < 1e-15, "{y:?}");
        let missing = Moments { gram: vec![1.0], items: vec![None] };
        assert!(solve_items(&missing, s).unwrap_err().to_string().contains("item 0 has no client"));
    }
}
