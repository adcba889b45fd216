//! The Ising model of a denoising run and its three inference methods, on a
//! rectangular region of an image (a tile with its halo, or a whole image).
//!
//! Every update of a pixel reads only its neighbours, and one phase (a
//! mean-field iteration, or one colour class of an ICM or Gibbs sweep) moves
//! information by one pixel. So a tile computed with a halo of
//! [`Model::halo`] pixels is exact in its interior: tiled and whole-image
//! runs give the same bits.

use serde::{Deserialize, Serialize};

use crate::hash::splitmix;

/// Inference method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Damped parallel mean-field updates (Murphy §21.3.2).
    MeanField,
    /// Iterated conditional modes, one colour class at a time.
    Icm,
    /// Gibbs sampling, one colour class at a time (Murphy §24.2.2).
    Gibbs,
}

/// How pixel values become observations `y`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Observation {
    /// ±1 by comparing the luma (0..1) with a threshold.
    Threshold { threshold: f64 },
    /// A real value: luma 0..1 mapped linearly onto −range..range.
    Gray { range: f64 },
}

/// A model setting out of its range.
#[derive(Debug)]
pub struct Invalid {
    pub field: &'static str,
    pub why: &'static str,
}

/// Everything a run's functions need, passed to them as one JSON string.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub method: Method,
    /// J: the coupling of neighbouring pixels.
    pub coupling: f64,
    /// σ of the Gaussian local evidence: y = x + N(0, σ²).
    pub noise_sigma: f64,
    /// 4 or 8.
    pub neighbourhood: u8,
    /// Mean-field: the weight of the previous value in each update.
    pub damping: f64,
    /// Mean-field and ICM: the most sweeps run.
    pub iterations: u32,
    /// Gibbs: sweeps discarded before averaging, then sweeps averaged.
    pub burn_in: u32,
    pub samples: u32,
    pub seed: u64,
    pub observation: Observation,
    /// Interior side of a tile in pixels; 0 never tiles.
    pub tile_size: u32,
}

impl Model {
    pub fn parse(json: &str) -> Result<Self, String> {
        let m: Model = serde_json::from_str(json).map_err(|e| format!("ising model {json}: {e}"))?;
        m.check().map_err(|e| format!("ising model: {} {}", e.field, e.why))?;
        Ok(m)
    }

    pub fn check(&self) -> Result<(), Invalid> {
        let bad = |field, why| Err(Invalid { field, why });
        if !self.coupling.is_finite() {
            return bad("coupling", "must be a finite number");
        }
        if !(self.noise_sigma.is_finite() && self.noise_sigma > 0.0) {
            return bad("noise_sigma", "must be a positive number");
        }
        if self.neighbourhood != 4 && self.neighbourhood != 8 {
            return bad("neighbourhood", "must be 4 or 8");
        }
        if !(0.0..1.0).contains(&self.damping) {
            return bad("damping", "must be in [0, 1)");
        }
        match self.method {
            Method::Gibbs if self.samples == 0 => return bad("samples", "must be at least 1"),
            Method::MeanField | Method::Icm if self.iterations == 0 => return bad("iterations", "must be at least 1"),
            _ => {}
        }
        match self.observation {
            Observation::Threshold { threshold } if !(0.0..=1.0).contains(&threshold) => bad("threshold", "must be in [0, 1]"),
            Observation::Gray { range } if !(range.is_finite() && range > 0.0) => bad("range", "must be a positive number"),
            _ => Ok(()),
        }
    }

    /// Colour classes updated one after another in a sweep: the chequerboard
    /// for 4 neighbours, 2×2 blocks for 8 (diagonals must differ too).
    /// Mean-field updates every pixel at once.
    pub fn phases(&self) -> u32 {
        match (self.method, self.neighbourhood) {
            (Method::MeanField, _) => 1,
            (_, 4) => 2,
            _ => 4,
        }
    }

    /// Sweeps of a run: the most for mean-field and ICM (which may stop
    /// earlier), burn-in plus samples for Gibbs.
    pub fn sweeps(&self) -> u32 {
        match self.method {
            Method::Gibbs => self.burn_in + self.samples,
            _ => self.iterations,
        }
    }

    /// Pixels around a tile that make its interior exact: one per phase.
    pub fn halo(&self) -> u32 {
        self.sweeps().saturating_mul(self.phases())
    }

    /// The colour class of global pixel (x, y).
    fn colour(&self, x: u32, y: u32) -> u32 {
        match self.phases() {
            1 => 0,
            2 => (x + y) % 2,
            _ => x % 2 + 2 * (y % 2),
        }
    }

    fn offsets(&self) -> &'static [(i32, i32)] {
        const FOUR: &[(i32, i32)] = &[(-1, 0), (1, 0), (0, -1), (0, 1)];
        const EIGHT: &[(i32, i32)] = &[(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, -1), (-1, 1), (1, 1)];
        if self.neighbourhood == 4 { FOUR } else { EIGHT }
    }

    /// Luma (0..1) as an observation.
    pub fn observe(&self, luma: f32) -> f32 {
        match self.observation {
            Observation::Threshold { threshold } => {
                if f64::from(luma) >= threshold {
                    1.0
                } else {
                    -1.0
                }
            }
            Observation::Gray { range } => ((2.0 * f64::from(luma) - 1.0) * range) as f32,
        }
    }

    /// E(x) = −J Σ_edges x_i x_j − Σ_i x_i y_i / σ² of the ±1 image `x`.
    pub fn energy(&self, x: &[f32], y: &[f32], width: usize) -> f64 {
        let height = x.len() / width.max(1);
        let evidence = 1.0 / (self.noise_sigma * self.noise_sigma);
        let mut pairs = 0.0;
        let mut data = 0.0;
        // Each edge once: to the right and downwards (and the two lower diagonals).
        let forward: &[(i32, i32)] = if self.neighbourhood == 4 { &[(1, 0), (0, 1)] } else { &[(1, 0), (0, 1), (-1, 1), (1, 1)] };
        for r in 0..height {
            for c in 0..width {
                let i = r * width + c;
                data += f64::from(x[i]) * f64::from(y[i]);
                for &(dc, dr) in forward {
                    let (nc, nr) = (c as i64 + i64::from(dc), r as i64 + i64::from(dr));
                    if nc >= 0 && (nc as usize) < width && (nr as usize) < height {
                        pairs += f64::from(x[i]) * f64::from(x[nr as usize * width + nc as usize]);
                    }
                }
            }
        }
        -self.coupling * pairs - evidence * data
    }
}

/// ±1 decision of a denoised value (a mean or a mean-field magnetisation):
/// ties go to +1.
pub fn decide(v: f32) -> f32 {
    if v >= 0.0 { 1.0 } else { -1.0 }
}

/// A rectangle of an image: its observations and its place in the image
/// (for the colour classes and the random numbers of Gibbs sampling).
pub struct Region<'a> {
    pub y: &'a [f32],
    pub width: usize,
    pub height: usize,
    /// Global column and row of the region's first pixel.
    pub x0: u32,
    pub y0: u32,
    /// Identifies the image in the random streams (a hash of its name).
    pub image_key: u64,
}

/// What a run produced over a region.
pub struct Run {
    /// Per pixel: the magnetisation (mean-field), the state (ICM) or the
    /// posterior mean (Gibbs).
    pub values: Vec<f32>,
    /// Per sweep, the sum of the pixels' absolute changes inside `watch`
    /// (mean-field, ICM), each rounded to a multiple of 2⁻²⁴: sums of such
    /// numbers are exact in any order, so the sum over an image's tiles is
    /// the whole image's to the bit.
    pub changes: Vec<f64>,
}

/// A rectangle within a region, in the region's coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl Model {
    /// Runs `sweeps` sweeps over `region`, recording the change inside
    /// `watch` per sweep.
    pub fn run(&self, region: &Region, watch: Window, sweeps: u32) -> Run {
        let n = region.width * region.height;
        let evidence = 1.0 / (self.noise_sigma * self.noise_sigma);
        let field = |i: usize| f64::from(region.y[i]) * evidence;
        let mut state: Vec<f64> = match self.method {
            // Murphy's start: the posterior mean under the evidence alone.
            Method::MeanField => (0..n).map(|i| field(i).tanh()).collect(),
            _ => (0..n).map(|i| f64::from(decide(region.y[i]))).collect(),
        };
        let mut sum = vec![0.0f64; if self.method == Method::Gibbs { n } else { 0 }];
        let mut changes = Vec::new();
        let offsets = self.offsets();
        let local = |state: &[f64], c: usize, r: usize| -> f64 {
            let mut s = 0.0;
            for &(dc, dr) in offsets {
                let (nc, nr) = (c as i64 + i64::from(dc), r as i64 + i64::from(dr));
                if nc >= 0 && nr >= 0 && (nc as usize) < region.width && (nr as usize) < region.height {
                    s += state[nr as usize * region.width + nc as usize];
                }
            }
            self.coupling * s
        };
        let watched = |i: usize| {
            let (c, r) = (i % region.width, i / region.width);
            c >= watch.x && c < watch.x + watch.width && r >= watch.y && r < watch.y + watch.height
        };
        for sweep in 1..=sweeps {
            let mut change = 0.0f64;
            match self.method {
                Method::MeanField => {
                    let next: Vec<f64> = (0..n)
                        .map(|i| {
                            let target = (local(&state, i % region.width, i / region.width) + field(i)).tanh();
                            self.damping * state[i] + (1.0 - self.damping) * target
                        })
                        .collect();
                    for i in (0..n).filter(|&i| watched(i)) {
                        change += exact(next[i] - state[i]);
                    }
                    state = next;
                }
                Method::Icm | Method::Gibbs => {
                    for phase in 0..self.phases() {
                        for r in 0..region.height {
                            for c in 0..region.width {
                                let (gx, gy) = (region.x0 + c as u32, region.y0 + r as u32);
                                if self.colour(gx, gy) != phase {
                                    continue;
                                }
                                let i = r * region.width + c;
                                let s = local(&state, c, r) + field(i);
                                let new = if self.method == Method::Icm {
                                    if s > 0.0 {
                                        1.0
                                    } else if s < 0.0 {
                                        -1.0
                                    } else {
                                        state[i]
                                    }
                                } else {
                                    let p = 1.0 / (1.0 + (-2.0 * s).exp());
                                    if uniform(self.seed, region.image_key, gx, gy, sweep) < p { 1.0 } else { -1.0 }
                                };
                                if watched(i) {
                                    change += exact(new - state[i]);
                                }
                                state[i] = new;
                            }
                        }
                    }
                    if self.method == Method::Gibbs && sweep > self.burn_in {
                        sum.iter_mut().zip(&state).for_each(|(s, x)| *s += x);
                    }
                }
            }
            if self.method != Method::Gibbs {
                changes.push(change);
            }
        }
        let values = match self.method {
            Method::Gibbs => {
                let samples = f64::from(sweeps.saturating_sub(self.burn_in).max(1));
                sum.iter().map(|s| (s / samples) as f32).collect()
            }
            _ => state.iter().map(|&v| v as f32).collect(),
        };
        Run { values, changes }
    }
}

/// |d| rounded to a multiple of 2⁻²⁴ (see [`Run::changes`]).
fn exact(d: f64) -> f64 {
    const UNIT: f64 = (1u64 << 24) as f64;
    (d.abs() * UNIT).round() / UNIT
}

/// A uniform number in [0, 1) for one pixel of one sweep, the same whichever
/// tile or executor computes it (a counter-based generator: SplitMix64's
/// finaliser over the key).
pub fn uniform(seed: u64, image: u64, x: u32, y: u32, sweep: u32) -> f64 {
    let mut h = splitmix(seed ^ 0x6A09_E667_F3BC_C909);
    h = splitmix(h ^ image);
    h = splitmix(h ^ ((u64::from(x) << 32) | u64::from(y)));
    h = splitmix(h ^ u64::from(sweep));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a of an image's name: its key in the random streams.
pub fn image_key(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ising::{Stitched, cut};

    fn model(method: Method) -> Model {
        Model {
            method,
            coupling: 1.0,
            noise_sigma: 2.0,
            neighbourhood: 4,
            damping: 0.5,
            iterations: 6,
            burn_in: 3,
            samples: 4,
            seed: 7,
            observation: Observation::Gray { range: 8.0 },
            tile_size: 0,
        }
    }

    /// y = (2, −2, 2) in a row, σ = 2, J = 1: local fields ±0.5.
    fn row<'a>(y: &'a [f32]) -> Region<'a> {
        Region { y, width: 3, height: 1, x0: 0, y0: 0, image_key: 1 }
    }
    const ALL: Window = Window { x: 0, y: 0, width: 3, height: 1 };

    #[test]
    fn one_mean_field_step_by_hand() {
        // μ⁰ = tanh(±0.5) = ±a; μ¹₀ = ½a + ½tanh(−a + 0.5), μ¹₁ = −½a + ½tanh(2a − 0.5).
        let run = model(Method::MeanField).run(&row(&[2.0, -2.0, 2.0]), ALL, 1);
        let expected = [0.24999094419208162f64, -0.03081277479687089, 0.24999094419208162];
        for (got, want) in run.values.iter().zip(expected) {
            assert!((f64::from(*got) - want).abs() < 1e-6, "{:?}", run.values);
        }
        // |Δ| summed: 2(a − μ¹₀) + (μ¹₁ + a).
        let a = 0.46211715726000974;
        assert!((run.changes[0] - (2.0 * (a - 0.24999094419208162) + (a - 0.03081277479687089))).abs() < 1e-6);
    }

    #[test]
    fn one_icm_sweep_by_hand() {
        // Colour 0 (pixels 0 and 2): −1 + 0.5 < 0 flips both; colour 1: −2 − 0.5 stays −1.
        let m = model(Method::Icm);
        let run = m.run(&row(&[2.0, -2.0, 2.0]), ALL, 1);
        assert_eq!(run.values, [-1.0, -1.0, -1.0]);
        assert_eq!(run.changes, [4.0]);
        // A second sweep changes nothing: a fixed point.
        assert_eq!(m.run(&row(&[2.0, -2.0, 2.0]), ALL, 2).changes, [4.0, 0.0]);
    }

    #[test]
    fn energy_by_hand() {
        let m = model(Method::Icm);
        let y = [2.0, -2.0, 2.0];
        // Pairs −J(1 + 1), evidence −¼(−2 + 2 − 2).
        assert_eq!(m.energy(&[-1.0, -1.0, -1.0], &y, 3), -1.5);
        // Pairs −J(−1 − 1), evidence −¼(2 + 2 + 2).
        assert_eq!(m.energy(&[1.0, -1.0, 1.0], &y, 3), 0.5);
    }

    /// A seeded noisy image, encoded as a gray PNG as `fletch gen noisy-images` writes them.
    fn noisy_png(width: u32, height: u32) -> Vec<u8> {
        let img = image::GrayImage::from_fn(width, height, |x, y| {
            let clean = if (x / 5 + y / 7) % 2 == 0 { 1.0 } else { -1.0 };
            let noise = 2.0 * (uniform(3, 9, x, y, 0) * 2.0 - 1.0) * 1.7;
            image::Luma([(((clean + noise) / 8.0 + 1.0) / 2.0 * 255.0).round().clamp(0.0, 255.0) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn denoise(m: &Model, png: &[u8]) -> Vec<f32> {
        let parts = cut(m, "img", png, None).unwrap().into_iter().map(|t| {
            let run = m.run(&t.region(), t.interior(), m.sweeps());
            let values = t.crop(&run.values);
            (t, values)
        });
        Stitched::new(parts.collect()).unwrap().x
    }

    #[test]
    fn tiles_with_halos_denoise_as_the_whole_image() {
        let png = noisy_png(37, 23);
        for method in [Method::MeanField, Method::Icm, Method::Gibbs] {
            for neighbourhood in [4, 8] {
                let whole = Model { neighbourhood, ..model(method) };
                let tiled = Model { tile_size: 8, ..whole.clone() };
                assert_eq!(cut(&tiled, "img", &png, None).unwrap().len(), 15);
                assert_eq!(denoise(&whole, &png), denoise(&tiled, &png), "{method:?}, {neighbourhood} neighbours");
            }
        }
    }

    #[test]
    fn gibbs_depends_on_the_seed_only() {
        let png = noisy_png(20, 20);
        let m = model(Method::Gibbs);
        assert_eq!(denoise(&m, &png), denoise(&m, &png));
        assert_ne!(denoise(&m, &png), denoise(&Model { seed: 8, ..m.clone() }, &png));
    }

    #[test]
    fn halo_is_one_pixel_per_phase() {
        assert_eq!(model(Method::MeanField).halo(), 6);
        assert_eq!(model(Method::Icm).halo(), 12);
        assert_eq!(Model { neighbourhood: 8, ..model(Method::Gibbs) }.halo(), 28);
    }

    #[test]
    fn bad_models_are_named() {
        let bad = |m: Model| m.check().unwrap_err().field;
        assert_eq!(bad(Model { noise_sigma: 0.0, ..model(Method::Icm) }), "noise_sigma");
        assert_eq!(bad(Model { neighbourhood: 6, ..model(Method::Icm) }), "neighbourhood");
        assert_eq!(bad(Model { damping: 1.0, ..model(Method::MeanField) }), "damping");
        assert_eq!(bad(Model { samples: 0, ..model(Method::Gibbs) }), "samples");
        assert!(Model::parse("{\"method\": \"annealing\"}").unwrap_err().contains("annealing"));
    }
}
