//! Histograms of a virtual population's metrics, one panel per metric, in the panel grid
//! of the ribbons (`ribbons`), with the median marked: how the subjects spread, and where
//! the middle subject lies.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::prepared::check_not_infinite;
use super::ribbons::{grid, grid_canvas, FONTS};
use super::text::FONT_FAMILY;
use super::{backend_error, render, Figure, PlotError, Rendered};

/// Bins of a histogram: enough for a shape at a few hundred subjects without empty gaps.
const BINS: usize = 30;

/// Okabe-Ito vermillion, of the median.
const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
/// Okabe-Ito blue, of the bars.
const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);

/// One panel: a metric's values across subjects; NaN (no value) is left out.
#[derive(Debug, Clone, Copy)]
pub struct Histogram<'a> {
    /// Panel caption, with the unit.
    pub label: &'a str,
    /// The values.
    pub values: &'a [f64],
}

/// Histograms of several metrics under one title.
#[derive(Debug, Clone, Copy)]
pub struct Histograms<'a> {
    /// Figure title.
    pub title: &'a str,
    /// The panels.
    pub panels: &'a [Histogram<'a>],
}

/// Renders the figure at 300 dpi as PNG, and as SVG at a third of the PNG's pixel size.
///
/// # Errors
/// [`PlotError::Empty`] or an infinite value; a
/// rendering or encoding failure otherwise.
pub fn histograms(h: &Histograms) -> Result<Rendered, PlotError> {
    render(&checked(h)?)
}

/// `h` if it can be drawn.
fn checked<'a>(h: &'a Histograms<'a>) -> Result<&'a Histograms<'a>, PlotError> {
    if h.panels.is_empty() {
        return Err(PlotError::Empty { field: "panels" });
    }
    for p in h.panels {
        check_not_infinite(p.label, p.values)?;
    }
    Ok(h)
}

/// The bin range of `values` (finite): their extent, widened when they are all equal.
fn range(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi > lo {
        (lo, hi)
    } else {
        let half = (lo.abs() * 0.05).max(1e-12);
        (lo - half, hi + half)
    }
}

impl Figure for &Histograms<'_> {
    fn canvas(&self) -> (u32, u32) {
        grid_canvas(self.panels.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let areas = grid(root, self.title, self.panels.len())?;
        for (panel, area) in self.panels.iter().zip(&areas) {
            let mut values: Vec<f64> = panel
                .values
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            let (lo, hi) = range(&values);
            let width = (hi - lo) / BINS as f64;
            let mut counts = [0u32; BINS];
            for v in &values {
                counts[(((v - lo) / width) as usize).min(BINS - 1)] += 1;
            }
            let top = f64::from(counts.iter().copied().max().unwrap_or(0).max(1)) * 1.1;
            let mut chart = ChartBuilder::on(area)
                .caption(panel.label, (FONT_FAMILY, FONTS.1))
                .margin(18)
                .x_label_area_size(60)
                .y_label_area_size(90)
                .build_cartesian_2d(lo..hi, 0.0..top)
                .map_err(backend_error)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .label_style((FONT_FAMILY, FONTS.2))
                .x_label_formatter(&|v| format!("{v:.2e}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .x_labels(3)
                .y_labels(4)
                .draw()
                .map_err(backend_error)?;
            chart
                .draw_series(counts.iter().enumerate().map(|(k, &c)| {
                    let x0 = lo + k as f64 * width;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width, f64::from(c))],
                        BLUE.mix(0.7).filled(),
                    )
                }))
                .map_err(backend_error)?;
            values.sort_unstable_by(f64::total_cmp);
            if let Some(&median) = values.get(values.len() / 2) {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(median, 0.0), (median, top)],
                        VERMILLION.stroke_width(4),
                    )))
                    .map_err(backend_error)?;
            }
        }
        Ok(())
    }
}
