//! Dose marks: infusion bands, dashed bolus lines and the triangles above the axes,
//! in one grey look, beneath the curves; the legend reuses the triangle and band.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::prepared::Prepared;
use super::{backend_error, offset, px, Chart, PlotError};

/// Dashed bolus lines: 0.25 mm.
const DOSE_LINE: f64 = 3.0;
/// Dose triangles above the axes: 2 mm wide, 1.7 mm tall.
const DOSE_TRIANGLE_HALF_WIDTH: f64 = 12.0;
/// See [`DOSE_TRIANGLE_HALF_WIDTH`].
pub(super) const DOSE_TRIANGLE_HEIGHT: f64 = 20.0;
const DOSE_COLOUR: RGBColor = RGBColor(0x80, 0x80, 0x80);
pub(super) const INFUSION_COLOUR: RGBColor = RGBColor(0xDA, 0xDA, 0xDA);

/// Draws each dose's mark inside the axes (an infusion's band, a bolus's
/// dashed line) and its triangle above them; called before the grid, so
/// the marks lie beneath everything else.
pub(super) fn draw_dose_marks<DB: DrawingBackend>(
    chart: &Chart<DB>,
    root: &DrawingArea<DB, Shift>,
    prep: &Prepared,
) -> Result<(), PlotError> {
    let y = &prep.y_axis;
    let dose_line = DOSE_COLOUR.stroke_width(px(DOSE_LINE));
    let area = chart.plotting_area();
    for &(start, end) in &prep.doses {
        if end > start {
            let band = Rectangle::new([(start, y.lo), (end, y.hi)], INFUSION_COLOUR.filled());
            area.draw(&band).map_err(backend_error)?;
        } else {
            let line = [(start, y.lo), (start, y.hi)];
            area.draw(&DashedPathElement::new(line, px(14.0), px(10.0), dose_line))
                .map_err(backend_error)?;
        }
        let (tx, ty) = chart.backend_coord(&(start, y.hi));
        root.draw(&dose_triangle((tx, ty - offset(4.0))))
            .map_err(backend_error)?;
    }
    Ok(())
}

/// A small downward triangle whose tip is at `tip`, marking a dose time.
pub(super) fn dose_triangle(tip: (i32, i32)) -> Polygon<(i32, i32)> {
    let half = offset(DOSE_TRIANGLE_HALF_WIDTH);
    let height = offset(DOSE_TRIANGLE_HEIGHT);
    let (x, y) = tip;
    Polygon::new(
        vec![(x - half, y - height), (x + half, y - height), (x, y)],
        DOSE_COLOUR.filled(),
    )
}
