//! `readout.png`: one panel per metric, one row per variant, the rate as a
//! dot on its interval, each panel on its own scale (spam rates are tenths
//! of a percent, opens tens). Drawn pixel by pixel with an 8×8 bitmap font,
//! so the bytes depend on the numbers alone.

use font8x8::{BASIC_FONTS, UnicodeFonts};
use image::{ImageFormat, Rgb, RgbImage};

use super::readout::{MetricReadout, Readout};

const WIDTH: u32 = 960;
/// Text is the font scaled by this.
const SCALE: u32 = 2;
const CHAR: u32 = 8 * SCALE;
const PLOT_LEFT: u32 = 200;
const PLOT_RIGHT: u32 = 760;
const ROW: u32 = 28;
const TITLE: u32 = 34;
const GAP: u32 = 30;

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const INK: Rgb<u8> = Rgb([40, 40, 40]);
const AXIS: Rgb<u8> = Rgb([190, 190, 190]);
const CONTROL: Rgb<u8> = Rgb([120, 120, 120]);
const NEUTRAL: Rgb<u8> = Rgb([31, 119, 180]);
const BETTER: Rgb<u8> = Rgb([44, 160, 44]);
const WORSE: Rgb<u8> = Rgb([214, 39, 40]);

fn fill(img: &mut RgbImage, x0: u32, y0: u32, x1: u32, y1: u32, color: Rgb<u8>) {
    for y in y0..y1.min(img.height()) {
        for x in x0..x1.min(img.width()) {
            img.put_pixel(x, y, color);
        }
    }
}

/// `text` with its top left corner at (x, y); characters outside Basic Latin show as `?`.
fn text(img: &mut RgbImage, x: u32, y: u32, text: &str, color: Rgb<u8>) {
    for (i, c) in text.chars().enumerate() {
        let glyph = BASIC_FONTS.get(c).or_else(|| BASIC_FONTS.get('?')).expect("'?' has a glyph");
        let left = x + i as u32 * CHAR;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let (px, py) = (left + col * SCALE, y + row as u32 * SCALE);
                    fill(img, px, py, px + SCALE, py + SCALE, color);
                }
            }
        }
    }
}

fn percent(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

/// The color of `variant`'s row in `m`: the control grey, a treatment green
/// when significantly better (red when worse; for guardrails, red when failing).
fn color(m: &MetricReadout, control: &str, variant: &str) -> Rgb<u8> {
    let Some(c) = m.total.comparisons.iter().find(|c| c.variant == variant) else { return CONTROL };
    debug_assert_ne!(variant, control);
    match (c.guardrail, c.significant, c.stats.diff > 0.0) {
        (Some("fail"), ..) => WORSE,
        (Some(_), ..) => BETTER,
        (None, true, true) if m.role == "primary" => BETTER,
        (None, true, false) if m.role == "primary" => WORSE,
        _ => NEUTRAL,
    }
}

fn panel_height(r: &Readout) -> u32 {
    TITLE + ROW * r.variants.len() as u32 + GAP
}

/// The chart of `r`'s metrics as PNG bytes.
pub fn png(r: &Readout) -> Vec<u8> {
    let height = 20 + panel_height(r) * r.metrics.len() as u32;
    let mut img = RgbImage::from_pixel(WIDTH, height, WHITE);
    for (i, m) in r.metrics.iter().enumerate() {
        let top = 10 + i as u32 * panel_height(r);
        let mut title = format!("{} ({})", m.name, m.role);
        if let Some(max) = m.max_increase {
            title.push_str(&format!(", at most +{:.2} pp", max * 100.0));
        }
        text(&mut img, 10, top + 6, &title, INK);
        let high = m.total.rates.values().map(|rate| rate.ci.1).fold(0.0, f64::max).max(1e-6) * 1.1;
        let x_of = |v: f64| PLOT_LEFT + ((v / high).clamp(0.0, 1.0) * (PLOT_RIGHT - PLOT_LEFT) as f64).round() as u32;
        for (row, variant) in r.variants.iter().enumerate() {
            let y = top + TITLE + row as u32 * ROW;
            let rate = &m.total.rates[variant];
            let shade = color(m, &r.control, variant);
            text(&mut img, 10, y + 4, variant, INK);
            fill(&mut img, PLOT_LEFT, y + ROW / 2, PLOT_RIGHT, y + ROW / 2 + 1, AXIS);
            fill(&mut img, x_of(rate.ci.0), y + ROW / 2 - 2, x_of(rate.ci.1) + 1, y + ROW / 2 + 3, shade);
            let dot = x_of(rate.rate);
            fill(&mut img, dot.saturating_sub(5), y + ROW / 2 - 6, dot + 6, y + ROW / 2 + 7, shade);
            text(&mut img, PLOT_RIGHT + 14, y + 4, &percent(rate.rate), INK);
        }
        let axis_y = top + TITLE + ROW * r.variants.len() as u32;
        fill(&mut img, PLOT_LEFT, axis_y - 2, PLOT_LEFT + 1, axis_y + 3, INK);
        fill(&mut img, PLOT_RIGHT, axis_y - 2, PLOT_RIGHT + 1, axis_y + 3, INK);
        let end = percent(high);
        text(&mut img, PLOT_LEFT - 2 * CHAR, axis_y - CHAR / 2 + 1, "0", AXIS);
        text(&mut img, PLOT_RIGHT - end.len() as u32 * CHAR / 2, axis_y + 4, &end, AXIS);
    }
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png).expect("PNG encodes into memory");
    bytes
}
