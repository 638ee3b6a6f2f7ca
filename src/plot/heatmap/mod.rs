//! Heatmap of a metric over two sweep axes, faceted into panels by a third:
//! e.g. liver AUC over dose and dosing interval, one panel per route.
//!
//! * **One colour scale for all panels**, shown once as a colour bar, so the
//!   same colour means the same value in every panel.
//! * **Viridis**, perceptually uniform and colour-blind-safe; on a log colour
//!   scale values <= 0 have no colour and are drawn as missing.
//! * **Missing is visibly missing**: NaN cells are light grey with grey
//!   hatching (unlike any viridis colour, in greyscale too), and the colour
//!   bar has an "n/a" entry.
//! * **Cells sit on the grid values**, with edges halfway between neighbours
//!   (geometric midpoints on a log axis). A linear axis with at most 12 values
//!   (dosing intervals of 7, 14, 28, 56, 84 days) is drawn as categories:
//!   equal cells, each labelled with its value.
//! * **Shared axes are labelled once**: up to three panels a row share the
//!   axis titles; y tick labels in the first column, x tick labels under the
//!   lowest panel of each column.
//! * **Print size**: seven inches wide; each row of panels beyond the first
//!   makes the figure taller rather than the panels flatter.
//!
//! `grid` turns grid values into cells and panels into rows, `layout` places
//! titles, panels and axes, `colour_bar` sizes and draws the scale; this file
//! checks the input and draws the cells.

mod colour_bar;
mod grid;
mod layout;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::colour::{ColourScale, Fill};
use super::frame::draw_title;
use super::prepared::{check_coordinates, check_not_infinite};
use super::text::{draw_label, fit_text, BOTTOM};
use super::{backend_error, offset, render, Figure, PlotError, Rendered, CANVAS, SVG_SCALE};
use colour_bar::BAR_GAP;
use grid::{panel_grid, GridAxis};
use layout::{Bands, PanelRect};

/// Panel titles: 9 pt.
const PANEL_TITLE_FONT: f64 = 38.0;
/// At most this many panels share a row.
const MAX_COLUMNS: usize = 3;
/// Horizontal gap between panels: room for the tick marks and for x tick
/// labels that overhang a panel's edges.
const COLUMN_GAP: f64 = 100.0;
/// Height of the cells of each panel when there are several rows: 1.7 in,
/// about as tall as a panel in a row of three is wide.
const ROW_CELLS_HEIGHT: f64 = 520.0;

/// A heatmap figure: one or more panels of a metric over the same two axes;
/// borrowed so callers keep ownership of their data.
#[derive(Debug, Clone, Copy)]
pub struct Heatmap<'a> {
    /// Figure title, centred above the panels.
    pub title: &'a str,
    /// X-axis title with units, shared by all panels.
    pub x_label: &'a str,
    /// Y-axis title with units, shared by all panels.
    pub y_label: &'a str,
    /// Title of the colour bar, with units: what the colours mean.
    pub colour_label: &'a str,
    /// X grid coordinates: finite and strictly increasing (positive on a log axis).
    pub x_values: &'a [f64],
    /// Y grid coordinates: finite and strictly increasing (positive on a log axis).
    pub y_values: &'a [f64],
    /// Logarithmic x axis (cell edges at geometric midpoints).
    pub x_log: bool,
    /// Logarithmic y axis (cell edges at geometric midpoints).
    pub y_log: bool,
    /// Logarithmic colour scale, for metrics spanning decades; values <= 0
    /// cannot be coloured on it and are drawn as missing.
    pub colour_log: bool,
    /// Values the colour scale spans at least, beyond the data's own range: (0, 1) for a
    /// share, so that shares of 0.95 and 1 are not drawn as the darkest and brightest.
    pub colour_span: Option<(f64, f64)>,
    /// The panels, laid out up to three a row in the order given.
    pub panels: &'a [Panel],
}

/// One panel of a [`Heatmap`]: the metric over the whole grid for one value
/// of the faceting parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Small title above the panel, e.g. the route.
    pub title: String,
    /// Values row by row: `z[iy * x_values.len() + ix]`. NaN marks a missing
    /// value (drawn hatched grey); infinities are rejected.
    pub z: Vec<f64>,
}

/// Draws the heatmap: 2100 px wide (700 px as SVG), 1260 px tall for one row of panels and taller for more rows.
///
/// # Errors
/// [`PlotError::Empty`], [`PlotError::BadCoordinate`],
/// [`PlotError::PanelSizeMismatch`] or [`PlotError::InfiniteValue`] for
/// invalid input; a rendering or encoding failure otherwise.
pub fn heatmap(input: &Heatmap) -> Result<Rendered, PlotError> {
    render(&HeatmapFigure::new(input)?)
}

/// The heatmap with checked input, derived axes and colour scale.
struct HeatmapFigure<'a> {
    input: &'a Heatmap<'a>,
    x: GridAxis,
    y: GridAxis,
    /// `None` when no cell has a value the colour scale can show.
    scale: Option<ColourScale>,
    /// Whether any cell is drawn as missing (so the colour bar explains it).
    any_missing: bool,
    /// Panel grid: `(columns, rows)`.
    grid: (usize, usize),
}

impl<'a> HeatmapFigure<'a> {
    /// Checks `input` (see [`heatmap`] for what is rejected) and derives
    /// the axes, the shared colour scale and the panel grid.
    fn new(input: &'a Heatmap<'a>) -> Result<Self, PlotError> {
        check_coordinates(input.x_values, input.x_log, "x_values")?;
        check_coordinates(input.y_values, input.y_log, "y_values")?;
        if input.panels.is_empty() {
            return Err(PlotError::Empty { field: "panels" });
        }
        let (nx, ny) = (input.x_values.len(), input.y_values.len());
        for panel in input.panels {
            if panel.z.len() != nx * ny {
                return Err(PlotError::PanelSizeMismatch {
                    panel: panel.title.clone(),
                    expected: nx * ny,
                    actual: panel.z.len(),
                    nx,
                    ny,
                });
            }
            check_not_infinite(&panel.title, &panel.z)?;
        }
        let values = || input.panels.iter().flat_map(|p| p.z.iter().copied());
        let span = input.colour_span.into_iter().flat_map(|(lo, hi)| [lo, hi]);
        let scale = ColourScale::new(values().chain(span), input.colour_log);
        let any_missing = values().any(|v| scale.as_ref().is_none_or(|s| s.fraction(v).is_none()));
        Ok(Self {
            input,
            x: GridAxis::new(input.x_values, input.x_log),
            y: GridAxis::new(input.y_values, input.y_log),
            scale,
            any_missing,
            grid: panel_grid(input.panels.len()),
        })
    }

    /// Whether any panel has a title (a single unfaceted panel may have none).
    fn titled(&self) -> bool {
        self.input.panels.iter().any(|p| !p.title.trim().is_empty())
    }
}

impl Figure for HeatmapFigure<'_> {
    /// 2100 px wide; 1260 px tall for one row of panels, and for more rows
    /// as tall as rows of [`ROW_CELLS_HEIGHT`] cells need (a multiple of
    /// three, so the SVG's display size is exact).
    fn canvas(&self) -> (u32, u32) {
        let (width, height) = CANVAS;
        let (_, rows) = self.grid;
        if rows <= 1 {
            return (width, height);
        }
        let bands = Bands::new(self.titled());
        let row = bands.panel_title + offset(ROW_CELLS_HEIGHT) + bands.tick_labels;
        let total = bands.title + rows as i32 * row + bands.x_title + bands.margin;
        let total = (total.max(0) as u32).max(height);
        (width, total.div_ceil(SVG_SCALE) * SVG_SCALE)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        root.fill(&WHITE).map_err(backend_error)?;
        let layout = self.layout(root)?;
        draw_title(&layout.title_column(root), self.input.title)?;
        let n = self.input.panels.len();
        let (columns, _) = self.grid;
        for (k, panel) in self.input.panels.iter().enumerate() {
            let rect = layout.panel_rect(k, columns);
            self.draw_panel(root, panel, layout.panel_title_em, &rect)?;
            // X tick labels under the lowest panel of each column, y tick
            // labels left of the first column.
            let labels = (k + columns >= n, k % columns == 0);
            self.draw_panel_axes(root, &layout, &rect, labels)?;
        }
        self.draw_axis_titles(root, &layout)?;
        self.draw_colour_bar(root, &layout.bar, layout.right + offset(BAR_GAP))
    }
}

impl HeatmapFigure<'_> {
    /// Draws one panel: its title at em size `title_em` (elided if still
    /// too long) and its cells (axes are drawn by the caller).
    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        panel: &Panel,
        title_em: f64,
        rect: &PanelRect,
    ) -> Result<(), PlotError> {
        let (title, em) = fit_text(
            &panel.title,
            title_em,
            1.0,
            (rect.x.1 - rect.x.0).max(1) as u32,
        )?;
        let at = ((rect.x.0 + rect.x.1) / 2, rect.y.1 - offset(12.0));
        draw_label(root, &title, em, BOTTOM, at)?;
        let (xs, ys) = (self.x.edge_pixels(rect.x), self.y.edge_pixels(rect.y));
        let nx = xs.len() - 1;
        for (iy, row) in panel.z.chunks(nx).enumerate() {
            for (ix, &v) in row.iter().enumerate() {
                let fill = self.scale.as_ref().map_or(Fill::MISSING, |s| s.fill(v));
                // Each cell reaches one pixel under the next one drawn (to
                // its right and above), so SVG viewers show no seams.
                let right = xs[ix + 1] + i32::from(ix + 1 < nx);
                let top = ys[iy + 1] - i32::from(iy + 2 < ys.len());
                fill.draw(root, (xs[ix], top), (right, ys[iy]))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode, error, svg_has_text};
    use super::*;

    /// Log-spaced doses from 1e5 to 1e7.
    fn doses(n: usize) -> Vec<f64> {
        let step = |i: usize| i as f64 / (n - 1) as f64;
        (0..n).map(|i| 1e5 * 100_f64.powf(step(i))).collect()
    }

    pub(super) const INTERVALS: [f64; 5] = [7.0, 14.0, 28.0, 56.0, 84.0];

    /// `n` panels of a smooth surface over doses x intervals.
    fn panels(n: usize, x: &[f64], y: &[f64]) -> Vec<Panel> {
        let z = |k: usize| {
            y.iter()
                .flat_map(move |&iv| x.iter().map(move |&d| d * 10.0 / iv * k as f64))
        };
        let panel = |k: usize| Panel {
            title: format!("Route {k}"),
            z: z(k + 1).collect(),
        };
        (0..n).map(panel).collect()
    }

    fn figure<'a>(x: &'a [f64], y: &'a [f64], panels: &'a [Panel]) -> Heatmap<'a> {
        Heatmap {
            title: "Liver AUC by dose and interval",
            x_label: "Dose (cells)",
            y_label: "Dosing interval (days)",
            colour_label: "Liver AUC (cell days)",
            x_values: x,
            y_values: y,
            x_log: true,
            y_log: false,
            colour_log: true,
            colour_span: None,
            panels,
        }
    }

    #[test]
    fn heatmap_is_seven_inches_wide_labelled_and_grows_with_rows() {
        let (x, y) = (doses(21), INTERVALS.to_vec());
        let one_row = panels(3, &x, &y);
        let bytes = heatmap(&figure(&x, &y, &one_row)).expect("renders").png;
        let phys = bytes.windows(4).position(|w| w == b"pHYs").expect("pHYs");
        assert_eq!(&bytes[phys + 4..phys + 8], &11811_u32.to_be_bytes());
        let (w, h, buf) = decode(&bytes);
        assert_eq!((w, h), CANVAS);
        // The colour bar's ends are (near) viridis' ends.
        let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 4);
        assert!(buf.chunks(3).any(|p| near(p, [253, 231, 37])), "yellow end");
        assert!(buf.chunks(3).any(|p| near(p, [68, 1, 84])), "purple end");
        let non_white = buf.chunks(3).filter(|p| *p != [255, 255, 255]).count();
        let filled = non_white > (w * h / 3) as usize;
        assert!(filled, "cells fill most of the figure");

        let two_rows = panels(5, &x, &y);
        let figure = heatmap(&figure(&x, &y, &two_rows)).expect("renders");
        let (w2, h2, _) = decode(&figure.png);
        let taller = w2 == 2100 && h2 > 1260 && h2 % 3 == 0;
        assert!(taller, "taller for two rows: {h2}");
        let head = format!(
            r#"<svg width="700" height="{}" viewBox="0 0 2100 {h2}""#,
            h2 / 3
        );
        assert!(figure.svg.starts_with(&head), "{}", &figure.svg[..80]);
        let titles = [
            "Liver AUC by dose and interval",
            "Dose (cells)",
            "Dosing interval (days)",
        ];
        let texts = ["Liver AUC (cell days)", "1e6", "84", "Route 0", "Route 4"];
        for text in titles.into_iter().chain(texts) {
            assert!(svg_has_text(&figure.svg, text), "missing {text}");
        }
        assert!(!svg_has_text(&figure.svg, "n/a"), "nothing is missing");
    }

    #[test]
    fn missing_cells_are_hatched_grey_and_explained() {
        let (x, y) = ([1.0, 2.0, 3.0], [10.0, 20.0]);
        let panels = [Panel {
            title: "Some missing".into(),
            z: vec![1.0, f64::NAN, 3.0, 0.0, 5.0, 6.0],
        }];
        let mut input = figure(&x, &y, &panels);
        input.x_log = false;
        let figure = heatmap(&input).expect("renders");
        let explained = svg_has_text(&figure.svg, "n/a");
        assert!(explained, "the colour bar explains missing cells");
        let count = |buf: &[u8], c: u8| buf.chunks(3).filter(|p| *p == [c, c, c]).count();
        let (_, _, buf) = decode(&figure.png);
        let grey = count(&buf, 0xE6);
        // Two missing cells (NaN, and 0 on the log colour scale) of ~1/6 of the cell area.
        assert!(grey > 50_000, "grey background ({grey} px)");
        assert!(count(&buf, 0xA6) > 5_000, "grey hatching");
        // On a linear colour scale the zero is a value, not missing.
        input.colour_log = false;
        let (_, _, linear) = decode(&heatmap(&input).expect("renders").png);
        let fewer = count(&linear, 0xE6) < grey * 3 / 4;
        assert!(fewer, "one missing cell fewer");
    }

    #[test]
    fn heatmap_input_errors_are_precise() {
        let (x, y) = (doses(4), INTERVALS.to_vec());
        let good = panels(2, &x, &y);
        let mut short = good.clone();
        short[1].z.pop();
        let mut infinite = good.clone();
        infinite[0].z[3] = f64::INFINITY;
        let mut log_y = figure(&x, &[0.0, 1.0], &good);
        log_y.y_log = true;
        let fails = |x, y, panels| error(heatmap(&figure(x, y, panels)));
        let cases = [
            (
                fails(&x, &y, &short),
                "\"Route 1\" has 19 values but the grid has 20",
            ),
            (fails(&x, &y, &[]), "`panels` is empty"),
            (fails(&[], &y, &good), "`x_values` is empty"),
            (error(heatmap(&log_y)), "`y_values[0]` is 0"),
            (
                fails(&x, &[1.0, f64::NAN], &good),
                "`y_values[1]` is NaN, but coordinates must be finite",
            ),
            (
                fails(&x, &y, &infinite),
                "infinite value (inf) at position 3",
            ),
        ];
        for (got, want) in cases {
            assert!(got.contains(want), "{got}");
        }
        let all_missing = [Panel {
            title: "Nothing".into(),
            z: vec![f64::NAN; 20],
        }];
        let svg = heatmap(&figure(&x, &y, &all_missing))
            .expect("all missing renders")
            .svg;
        assert!(svg_has_text(&svg, "n/a"));
    }
}
