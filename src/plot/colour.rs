//! Colours for filled areas: viridis, the colour scale a heatmap shares across its
//! panels, and the fills (solid or hatched) of cells, bars and their legend samples:
//! one colour-blind-safe map, one scale per figure, one look for missing data.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{extent, Ticks};
use super::{backend_error, PlotError};

/// Background of a missing heatmap cell: a light grey, unlike any viridis colour.
const MISSING_COLOUR: RGBColor = RGBColor(0xE6, 0xE6, 0xE6);
/// Hatching over missing cells, so they read as "no data" in greyscale too,
/// where viridis' pale yellow end could pass for light grey.
const MISSING_HATCH: RGBColor = RGBColor(0xA6, 0xA6, 0xA6);
/// Distance between hatch lines, measured along the axes: 1.5 mm.
const HATCH_SPACING: i32 = 18;
/// Hatch line width: 0.25 mm.
const HATCH_LINE: f64 = 3.0;

/// Viridis as hex RGB, sampled at 32 evenly spaced points of matplotlib's 256-entry
/// table (entries round(k * 255 / 31), k = 0..31, rounded to 8 bits).
///
/// Source: `_viridis_data` in matplotlib's `lib/matplotlib/_cm_listed.py`;
/// viridis is by Stéfan van der Walt and Nathaniel Smith and released under
/// CC0 (public domain). Linear interpolation between these anchors stays
/// within 2/255 of the full table in every channel.
const VIRIDIS: [u32; 32] = [
    0x440154, 0x470D60, 0x48186A, 0x482475, 0x472E7C, 0x453882, 0x424186, 0x3E4C8A, 0x3A548C,
    0x365D8D, 0x32658E, 0x2E6D8E, 0x2B758E, 0x287D8E, 0x25848E, 0x228C8D, 0x1F948C, 0x1E9C89,
    0x20A386, 0x25AB82, 0x2EB37C, 0x3ABA76, 0x48C16E, 0x58C765, 0x69CD5B, 0x7FD34E, 0x93D741,
    0xA8DB34, 0xBDDF26, 0xD5E21A, 0xEAE51A, 0xFDE725,
];

/// The viridis colour at `t` in [0, 1] (clamped): dark purple at 0, yellow
/// at 1. Perceptually uniform, so equal steps in value look like equal steps
/// in colour, and readable by people with the common colour-vision deficiencies.
pub(super) fn viridis(t: f64) -> RGBColor {
    let last = VIRIDIS.len() - 1;
    let x = t.clamp(0.0, 1.0) * last as f64;
    let i = (x.floor() as usize).min(last - 1);
    let f = x - i as f64;
    let mix = |shift: u32| {
        let channel = |hex: u32| f64::from((hex >> shift) & 0xFF);
        let (p, q) = (channel(VIRIDIS[i]), channel(VIRIDIS[i + 1]));
        (p + f * (q - p)).round() as u8
    };
    RGBColor(mix(16), mix(8), mix(0))
}

/// The mapping from values to colours that every panel of a heatmap shares,
/// so equal colours mean equal values across panels.
#[derive(Debug, Clone)]
pub(super) struct ColourScale {
    /// Value (log10 of it on a log scale) drawn darkest.
    pub(super) lo: f64,
    /// Value (log10 of it on a log scale) drawn brightest.
    pub(super) hi: f64,
    log: bool,
    /// Tick positions (in the same units as `lo` and `hi`) and labels for the colour bar.
    pub(super) ticks: Ticks,
}

impl ColourScale {
    /// A scale spanning the drawable `values` exactly (finite values; on a
    /// log scale only the positive ones), or `None` when none is drawable.
    /// A single distinct value sits mid-scale.
    pub(super) fn new(values: impl Iterator<Item = f64>, log: bool) -> Option<Self> {
        let shown = values.filter(|v| v.is_finite() && (!log || *v > 0.0));
        let (lo, hi) = extent(shown.map(|v| if log { v.log10() } else { v }))?;
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else if log {
            (lo - 0.5, hi + 0.5)
        } else {
            let half = if lo == 0.0 { 1.0 } else { 0.5 * lo.abs() };
            (lo - half, hi + half)
        };
        let ticks = if log {
            Ticks::log_sweep(lo, hi)
        } else {
            Ticks::linear(lo, hi, false)
        };
        Some(Self { lo, hi, log, ticks })
    }

    /// Where `value` falls on the scale, 0 (darkest) to 1 (brightest), or
    /// `None` for a value the scale cannot show (NaN, or <= 0 on a log scale).
    pub(super) fn fraction(&self, value: f64) -> Option<f64> {
        if !value.is_finite() || (self.log && value <= 0.0) {
            return None;
        }
        let v = if self.log { value.log10() } else { value };
        Some(((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0))
    }

    /// The fill for `value`: its viridis colour, or the missing-data fill.
    pub(super) fn fill(&self, value: f64) -> Fill {
        self.fraction(value)
            .map_or(Fill::MISSING, |t| Fill::solid(viridis(t)))
    }
}

/// How a rectangle is filled: a solid colour, optionally hatched with thin
/// diagonal lines.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fill {
    colour: RGBColor,
    hatch: Option<RGBColor>,
}

impl Fill {
    /// Missing data: light grey, hatched darker grey.
    pub(super) const MISSING: Self = Self {
        colour: MISSING_COLOUR,
        hatch: Some(MISSING_HATCH),
    };

    /// A plain colour.
    pub(super) fn solid(colour: RGBColor) -> Self {
        Self {
            colour,
            hatch: None,
        }
    }

    /// A colour hatched with `hatch`.
    pub(super) fn hatched(colour: RGBColor, hatch: RGBColor) -> Self {
        Self {
            colour,
            hatch: Some(hatch),
        }
    }

    /// Fills the rectangle from `upper_left` to `bottom_right` (exclusive),
    /// in canvas pixels.
    ///
    /// Hatch lines run at 45 degrees on a grid fixed to the canvas, and each
    /// is drawn as the polygon where its stroke overlaps the rectangle, so
    /// it neither pokes out of the rectangle nor stops short of its edge:
    /// adjacent hatched cells join into one seamless pattern.
    pub(super) fn draw<DB: DrawingBackend>(
        self,
        area: &DrawingArea<DB, Shift>,
        upper_left: (i32, i32),
        bottom_right: (i32, i32),
    ) -> Result<(), PlotError> {
        area.draw(&Rectangle::new(
            [upper_left, bottom_right],
            self.colour.filled(),
        ))
        .map_err(backend_error)?;
        let Some(hatch) = self.hatch else {
            return Ok(());
        };
        let (x0, y0) = upper_left;
        let (x1, y1) = bottom_right;
        // A stroke along x + y = c covers |x + y - c| <= width / sqrt(2).
        let half_band = HATCH_LINE / std::f64::consts::SQRT_2;
        let corners =
            [(x0, y0), (x1, y0), (x1, y1), (x0, y1)].map(|(x, y)| (f64::from(x), f64::from(y)));
        let first = (x0 + y0).div_euclid(HATCH_SPACING);
        let last = (x1 + y1).div_euclid(HATCH_SPACING) + 1;
        for k in first..=last {
            let c = f64::from(k * HATCH_SPACING);
            let piece = clip_to_band(&corners, c - half_band, c + half_band);
            if piece.len() < 3 {
                continue;
            }
            let points: Vec<(i32, i32)> = piece
                .iter()
                .map(|&(x, y)| (x.round() as i32, y.round() as i32))
                .collect();
            area.draw(&Polygon::new(points, hatch.filled()))
                .map_err(backend_error)?;
        }
        Ok(())
    }
}

/// The part of convex `polygon` where `lo <= x + y <= hi` (Sutherland-Hodgman
/// clipping against the two half-planes).
fn clip_to_band(polygon: &[(f64, f64)], lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let keep_above = |p: &[(f64, f64)], bound: f64, sign: f64| {
        let inside = |&(x, y): &(f64, f64)| sign * (x + y - bound) >= 0.0;
        let mut out = Vec::with_capacity(p.len() + 2);
        for (i, a) in p.iter().enumerate() {
            let b = &p[(i + 1) % p.len()];
            if inside(a) {
                out.push(*a);
            }
            if inside(a) != inside(b) {
                let (fa, fb) = (a.0 + a.1 - bound, b.0 + b.1 - bound);
                let t = fa / (fa - fb);
                out.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
            }
        }
        out
    };
    let above = keep_above(polygon, lo, 1.0);
    if above.is_empty() {
        return above;
    }
    keep_above(&above, hi, -1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_middle_match_matplotlib() {
        assert_eq!(
            (viridis(0.0), viridis(1.0)),
            (RGBColor(68, 1, 84), RGBColor(253, 231, 37))
        );
        // matplotlib's entry 128 of 255 is (0.127568, 0.566949, 0.550556).
        let RGBColor(r, g, b) = viridis(128.0 / 255.0);
        for (got, want) in [r, g, b].into_iter().zip([32.5, 144.6, 140.4]) {
            assert!((f64::from(got) - want).abs() <= 2.0, "{got} vs {want}");
        }
        assert_eq!(
            (viridis(-1.0), viridis(2.0)),
            (viridis(0.0), viridis(1.0)),
            "clamped"
        );
    }

    #[test]
    fn colour_scale_skips_what_it_cannot_show() {
        let values = [f64::NAN, 0.0, -1.0, 10.0, 1000.0];
        let log = ColourScale::new(values.into_iter(), true).expect("two positive values");
        assert_eq!((log.lo, log.hi), (1.0, 3.0));
        assert_eq!(log.fraction(100.0), Some(0.5));
        assert_eq!((log.fraction(0.0), log.fraction(f64::NAN)), (None, None));
        assert!(ColourScale::new([f64::NAN, 0.0].into_iter(), true).is_none());
        let flat = ColourScale::new([4.0, 4.0].into_iter(), false).expect("one value");
        assert_eq!(flat.fraction(4.0), Some(0.5));
    }

    #[test]
    fn hatch_strokes_are_clipped_to_the_cell() {
        let square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];
        // A band along the anti-diagonal, cut off by the square.
        let piece = clip_to_band(&square, 9.0, 11.0);
        assert!(piece.len() >= 4);
        for &(x, y) in &piece {
            assert!((0.0..=10.0).contains(&x) && (0.0..=10.0).contains(&y));
            assert!((9.0 - 1e-9..=11.0 + 1e-9).contains(&(x + y)));
        }
        let missed = clip_to_band(&square, 25.0, 27.0).is_empty();
        assert!(missed, "band misses the square");
    }
}
