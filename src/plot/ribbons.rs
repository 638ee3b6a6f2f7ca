//! Quantile ribbons of a virtual population's time course: one panel per compartment,
//! the 5-95 % band light, the 25-75 % band darker, the median as a line.
//!
//! Drawn with plotters' own chart mesh rather than the time-course frame. Each panel has
//! its own log axis from 1e-4 of its highest 95 % quantile (at least one cell) to that
//! value: the spread across subjects is what the figure is for. Values below the floor
//! are drawn on it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::prepared::{check_length, first_non_finite};
use super::text::FONT_FAMILY;
use super::{backend_error, render, Figure, PlotError, Rendered};

/// Canvas of a panel grid: 7 inches wide at 300 dpi, 2.1 inches a row of panels.
pub(super) const PANEL_ROW_HEIGHT: u32 = 630;
/// Canvas width (7 inches at 300 dpi).
pub(super) const WIDTH: u32 = 2100;
/// Panels per row.
pub(super) const PER_ROW: usize = 3;
/// Title above the panels (300-dpi pixels).
pub(super) const TITLE_HEIGHT: u32 = 90;
/// Type sizes (300-dpi pixels): title, panel caption, tick labels.
pub(super) const FONTS: (f64, f64, f64) = (46.0, 38.0, 30.0);

/// Decades below the highest 95 % quantile a panel's log axis shows.
const DECADES: f64 = 4.0;

/// Okabe-Ito blue, of the bands and the median.
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
    render(&checked(r)?)
}

/// `r` if it can be drawn.
fn checked<'a>(r: &'a Ribbons<'a>) -> Result<&'a Ribbons<'a>, PlotError> {
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
pub(super) fn grid_canvas(panels: usize) -> (u32, u32) {
    let rows = panels.div_ceil(PER_ROW) as u32;
    (WIDTH, TITLE_HEIGHT + rows * PANEL_ROW_HEIGHT)
}

/// Draws `title` and returns the panel areas, row by row.
pub(super) fn grid<DB: DrawingBackend>(
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
