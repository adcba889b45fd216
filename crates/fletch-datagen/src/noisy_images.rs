//! `noisy-images`: black-and-white pictures of shapes and letters, and the
//! same pictures observed through Gaussian noise as in Murphy's example
//! (±1 pixels plus N(0, σ²), σ = 2), for `fletch run ising-denoise`.
//!
//! A noisy observation y is written as 8-bit gray, luma = (y / 8 + 1) / 2,
//! clamped (beyond ±8 is 3.5σ away from either colour): the job's defaults
//! (`--observation gray --gray-range 8`) read it back.

use font8x8::{BASIC_FONTS, UnicodeFonts};
use image::{GrayImage, ImageFormat, Luma};
use rand::Rng;

use crate::rng::stream;
use crate::{Error, GenOptions, Result, Sinks};

pub const NOISY_FOLDER: &str = "ising/noisy";
pub const CLEAN_FOLDER: &str = "ising/clean";
/// σ of the noise, and what white and black are in the gray encoding.
pub const NOISE_SIGMA: f64 = 2.0;
pub const GRAY_RANGE: f64 = 8.0;
const IMAGES_AT_SCALE_1: f64 = 8.0;
const SIZES: &[(u32, u32)] = &[(160, 120), (256, 192), (320, 320), (640, 400)];
const STREAM: u64 = 0x15_1A6E;

pub async fn generate(opts: &GenOptions, sinks: &mut Sinks) -> Result<()> {
    let count = ((IMAGES_AT_SCALE_1 * opts.scale).round() as usize).max(2);
    let step = opts.progress.counted_step("generate noisy images", count as u64, "images");
    for i in 0..count {
        let mut rng = stream(opts.seed, &[STREAM, i as u64]);
        let (width, height) = SIZES[i % SIZES.len()];
        let (name, clean) = if i % 2 == 0 { (format!("shapes-{i:03}"), shapes(&mut rng, width, height)) } else { (format!("letters-{i:03}"), letters(&mut rng, width, height)) };
        let noisy = observe(&mut rng, &clean);
        sinks.file(&format!("{CLEAN_FOLDER}/{name}.png"), png(&clean)?).await?;
        sinks.file(&format!("{NOISY_FOLDER}/{name}.png"), png(&noisy)?).await?;
        step.advance(1);
    }
    step.done(None);
    Ok(())
}

fn png(img: &GrayImage) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).map_err(|e| Error::io(format!("cannot encode a PNG: {e}")))?;
    Ok(out.into_inner())
}

const WHITE: Luma<u8> = Luma([255]);
const BLACK: Luma<u8> = Luma([0]);

/// Filled circles and rectangles, white on black.
fn shapes(rng: &mut impl Rng, width: u32, height: u32) -> GrayImage {
    let mut img = GrayImage::from_pixel(width, height, BLACK);
    let small = width.min(height);
    for _ in 0..rng.random_range(3..7) {
        let (cx, cy) = (rng.random_range(0..width) as i64, rng.random_range(0..height) as i64);
        let r = rng.random_range(small / 10..small / 4) as i64;
        let circle = rng.random_bool(0.5);
        for (x, y, p) in img.enumerate_pixels_mut() {
            let (dx, dy) = (x as i64 - cx, y as i64 - cy);
            let inside = if circle { dx * dx + dy * dy <= r * r } else { dx.abs() <= r && dy.abs() <= r * 2 / 3 };
            if inside {
                *p = WHITE;
            }
        }
    }
    img
}

/// A few capital letters of the 8×8 font scaled up, black on white.
fn letters(rng: &mut impl Rng, width: u32, height: u32) -> GrayImage {
    let mut img = GrayImage::from_pixel(width, height, WHITE);
    let count = rng.random_range(2..5u32);
    let scale = (width / (count * 8 + 2)).min(height / 10).max(1);
    let top = (height - 8 * scale) / 2;
    for k in 0..count {
        let letter = char::from(b'A' + rng.random_range(0..26u8));
        let glyph = BASIC_FONTS.get(letter).expect("capital letters have glyphs");
        let left = scale + k * 8 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits & (1 << col) != 0 {
                    for (dx, dy) in (0..scale).flat_map(|dx| (0..scale).map(move |dy| (dx, dy))) {
                        img.put_pixel(left + col * scale + dx, top + row as u32 * scale + dy, BLACK);
                    }
                }
            }
        }
    }
    img
}

/// y = x + N(0, σ²) per pixel (Box–Muller), encoded as gray.
fn observe(rng: &mut impl Rng, clean: &GrayImage) -> GrayImage {
    GrayImage::from_fn(clean.width(), clean.height(), |x, y| {
        let sign = if clean.get_pixel(x, y)[0] > 127 { 1.0 } else { -1.0 };
        let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let observed = sign + NOISE_SIGMA * normal;
        Luma([(((observed / GRAY_RANGE).clamp(-1.0, 1.0) + 1.0) / 2.0 * 255.0).round() as u8])
    })
}
