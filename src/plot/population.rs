//! A virtual population's figures, in one grid of panels under a title, drawn with
//! plotters' own chart mesh rather than the time-course frame:
//!
//! * [`ribbons`]: quantile ribbons of the time course, one panel per compartment, the
//!   5-95 % band light, the 25-75 % band darker, the median as a line. Each panel has its
//!   own log axis from 1e-4 of its highest 95 % quantile (at least one cell) to that
//!   value: the spread across subjects is what the figure is for. Values below the floor
//!   are drawn on it.
//! * [`histograms`]: one panel per metric, with the median marked: how the subjects
//!   spread, and where the middle subject lies.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::prepared::{check_length, check_not_infinite, first_non_finite};
use super::text::FONT_FAMILY;
use super::{backend_error, render, Figure, PlotError, Rendered};

/// Canvas of a panel grid: 7 inches wide at 300 dpi, 2.1 inches a row of panels.
const PANEL_ROW_HEIGHT: u32 = 630;
/// Canvas width (7 inches at 300 dpi).
const WIDTH: u32 = 2100;
/// Panels per row.
const PER_ROW: usize = 3;
/// Title above the panels (300-dpi pixels).
const TITLE_HEIGHT: u32 = 90;
/// Type sizes (300-dpi pixels): title, panel caption, tick labels.
const FONTS: (f64, f64, f64) = (46.0, 38.0, 30.0);

/// Decades below the highest 95 % quantile a panel's log axis shows.
const DECADES: f64 = 4.0;

/// Okabe-Ito blue, of the bands, the ribbons' median and the histograms' bars.
const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);

/// One panel: a compartment's quantiles over time.
#[derive(Debug, Clone, Copy)]
pub struct Band<'a> {
    /// Panel caption.
    pub label: &'a str,
    /// The 5, 25, 50, 75 and 95 % quantiles at each time.
    pub quantiles: &'a [[f64; 5]],
}

/// A population's time course as quantile ribbons, one panel per band.
#[derive(Debug, Clone, Copy)]
pub struct Ribbons<'a> {
    /// Figure title.
    pub title: &'a str,
    /// Time grid (days), one value per quantile row.
    pub time_days: &'a [f64],
    /// The panels.
    pub bands: &'a [Band<'a>],
}

/// Renders the figure at 300 dpi as PNG, and as SVG at a third of the PNG's pixel size.
///
/// # Errors
/// [`PlotError::Empty`], [`PlotError::SeriesSizeMismatch`] or a non-finite value; a
/// rendering or encoding failure otherwise.
pub fn ribbons(r: &Ribbons) -> Result<Rendered, PlotError> {
    render(&checked_ribbons(r)?)
}

/// `r` if it can be drawn.
fn checked_ribbons<'a>(r: &'a Ribbons<'a>) -> Result<&'a Ribbons<'a>, PlotError> {
    if r.time_days.is_empty() {
        return Err(PlotError::Empty { field: "time_days" });
    }
    if r.bands.is_empty() {
        return Err(PlotError::Empty { field: "bands" });
    }
    for b in r.bands {
        let label = b.label;
        check_length(label, r.time_days.len(), b.quantiles.len(), "time points")?;
        if let Some((i, value)) = first_non_finite(b.quantiles.as_flattened()) {
            let (label, index) = (label.to_owned(), i / 5);
            return Err(PlotError::NonFiniteValue {
                label,
                index,
                value,
            });
        }
    }
    Ok(r)
}

/// The canvas of `panels` panels under a title.
fn grid_canvas(panels: usize) -> (u32, u32) {
    let rows = panels.div_ceil(PER_ROW) as u32;
    (WIDTH, TITLE_HEIGHT + rows * PANEL_ROW_HEIGHT)
}

/// Draws `title` and returns the panel areas, row by row.
fn grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: usize,
) -> Result<Vec<DrawingArea<DB, Shift>>, PlotError> {
    root.fill(&WHITE).map_err(backend_error)?;
    let (top, body) = root.split_vertically(TITLE_HEIGHT);
    top.titled(title, (FONT_FAMILY, FONTS.0))
        .map_err(backend_error)?;
    let rows = panels.div_ceil(PER_ROW);
    Ok(body.split_evenly((rows, PER_ROW)))
}

impl Figure for &Ribbons<'_> {
    fn canvas(&self) -> (u32, u32) {
        grid_canvas(self.bands.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let areas = grid(root, self.title, self.bands.len())?;
        let end = self.time_days.last().copied().unwrap_or(1.0).max(1e-9);
        for (band, area) in self.bands.iter().zip(&areas) {
            let top = band.quantiles.iter().map(|q| q[4]).fold(1.0, f64::max) * 1.5;
            let floor = (top * 10f64.powf(-DECADES)).max(1.0);
            let mut chart = ChartBuilder::on(area)
                .caption(band.label, (FONT_FAMILY, FONTS.1))
                .margin(18)
                .x_label_area_size(60)
                .y_label_area_size(110)
                .build_cartesian_2d(0.0..end, (floor..top).log_scale())
                .map_err(backend_error)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("Day")
                .label_style((FONT_FAMILY, FONTS.2))
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0e}"))
                .x_labels(5)
                .y_labels(5)
                .draw()
                .map_err(backend_error)?;
            let at = |k: usize| {
                self.time_days
                    .iter()
                    .zip(band.quantiles)
                    .map(move |(&t, q)| (t, q[k].max(floor)))
            };
            for (low, high, opacity) in [(0, 4, 0.18), (1, 3, 0.38)] {
                let outline: Vec<(f64, f64)> = at(high).chain(at(low).rev()).collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        BLUE.mix(opacity).filled(),
                    )))
                    .map_err(backend_error)?;
            }
            chart
                .draw_series(LineSeries::new(at(2), BLUE.stroke_width(4)))
                .map_err(backend_error)?;
        }
        Ok(())
    }
}

/// Bins of a histogram: enough for a shape at a few hundred subjects without empty gaps.
const BINS: usize = 30;

/// Okabe-Ito vermillion, of the median.
const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);

/// One panel: a metric's values across subjects; NaN (no value) is left out.
#[derive(Debug, Clone, Copy)]
pub struct Histogram<'a> {
    /// Panel caption, with the unit.
    pub label: &'a str,
    /// The values.
    pub values: &'a [f64],
}

/// Histograms of several metrics under one title, in the ribbons' panel grid.
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
    render(&checked_histograms(h)?)
}

/// `h` if it can be drawn.
fn checked_histograms<'a>(h: &'a Histograms<'a>) -> Result<&'a Histograms<'a>, PlotError> {
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
