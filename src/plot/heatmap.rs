//! Heatmap of a metric over two sweep axes, faceted into panels by a third:
//! e.g. liver AUC over dose and dosing interval, one panel per route.
//!
//! The choices that make such a figure honest and readable:
//!
//! * **One colour scale for all panels**, shown once as a labelled colour
//!   bar at the right, so the same colour means the same value in every
//!   panel and panels can be compared at a glance.
//! * **Viridis**, perceptually uniform and colour-blind-safe (see
//!   [`viridis`](super::colour::viridis)); on a log colour scale values
//!   <= 0 have no colour and are drawn as missing.
//! * **Missing is visibly missing.** NaN cells are light grey with grey
//!   hatching (distinct from every viridis colour, in greyscale too) and the
//!   colour bar explains them with an "n/a" entry.
//! * **Cells sit on the grid values.** Each cell is centred on its grid
//!   value, with edges halfway between neighbours: arithmetic midpoints on a
//!   linear axis, geometric ones on a log axis (so log-spaced doses get
//!   equal-width cells). A linear axis with few values (at most 12, such as
//!   dosing intervals of 7, 14, 28, 56, 84 days) is drawn as categories:
//!   equal-width cells, each labelled with its value, rather than cells as
//!   uneven as the values' spacing.
//! * **Shared axes are labelled once.** Panels (up to three a row) share
//!   the axis titles; y tick labels appear in the first column and x tick
//!   labels under the lowest panel of each column. Each panel has its own
//!   small title.
//! * **Print size.** Seven inches wide like every figure; one row of panels
//!   fits the standard 4.2 inch height, and each further row makes the
//!   figure taller rather than the panels flatter.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Ticks;
use super::colour::{viridis, ColourScale, Fill};
use super::frame::{draw_title, thin_ticks, tick_label_gap, title_band_height};
use super::lineplot::FEW_VALUES;
use super::prepared::{check_coordinates, check_not_infinite};
use super::text::{draw_label, fit_text, text_width, Orientation};
use super::{
    backend_error, offset, px, render, Figure, PlotError, Rendered, AXIS_COLOUR, AXIS_LINE,
    AXIS_TITLE_FONT, CANVAS, GRID_LINE, OUTER_MARGIN, SVG_SCALE, TICK_FONT, TICK_MARK, TITLE_FONT,
    TITLE_MIN_FONT_FRACTION,
};

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
/// Width of the colour bar.
const BAR_WIDTH: f64 = 45.0;
/// Gap between the last panel column and the colour bar.
const BAR_GAP: f64 = 64.0;
/// The colour bar is at most this tall (3.3 in); with many rows of panels
/// it is centred beside them instead of stretching the full height.
const BAR_MAX_HEIGHT: f64 = 1000.0;
/// Height of each band of the colour gradient: fine enough that the steps
/// are invisible, few enough to keep the SVG small.
const BAR_STEP: i32 = 2;

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
/// [`PlotError::Empty`], [`PlotError::NonFiniteCoordinate`],
/// [`PlotError::CoordinatesNotIncreasing`], [`PlotError::NonPositiveOnLogAxis`],
/// [`PlotError::PanelSizeMismatch`] or [`PlotError::InfiniteValue`] for
/// invalid input; a rendering or encoding failure otherwise.
pub fn heatmap(input: &Heatmap) -> Result<Rendered, PlotError> {
    render(&HeatmapFigure::new(input)?)
}

/// One grid axis of the heatmap, in axis units: log10 of the value on a log
/// axis, the value's index on a categorical one, the value itself otherwise.
#[derive(Debug)]
struct GridAxis {
    /// The `n + 1` cell edges, increasing.
    edges: Vec<f64>,
    ticks: Ticks,
    log: bool,
}

impl GridAxis {
    /// The axis over checked `values` (see the module documentation).
    fn new(values: &[f64], log: bool) -> Self {
        let categorical = !log && values.len() <= FEW_VALUES;
        let centres: Vec<f64> = if log {
            values.iter().map(|v| v.log10()).collect()
        } else if categorical {
            (0..values.len()).map(|i| i as f64).collect()
        } else {
            values.to_vec()
        };
        let edges = cell_edges(&centres);
        let (lo, hi) = (edges[0], edges[edges.len() - 1]);
        let ticks = if log {
            Ticks::log_sweep(lo, hi)
        } else if categorical {
            Ticks::at_values(centres, values)
        } else {
            Ticks::linear(lo, hi, false)
        };
        Self { edges, ticks, log }
    }

    /// Low end of the axis: the first cell's outer edge.
    fn lo(&self) -> f64 {
        self.edges[0]
    }

    /// High end of the axis: the last cell's outer edge.
    fn hi(&self) -> f64 {
        self.edges[self.edges.len() - 1]
    }

    /// Pixel position of axis value `u` when the axis runs from pixel `from`
    /// (at its low end) to pixel `to`.
    fn to_pixel(&self, u: f64, (from, to): (i32, i32)) -> i32 {
        let f = (u - self.lo()) / (self.hi() - self.lo());
        (f64::from(from) + f * f64::from(to - from)).round() as i32
    }
}

/// Cell edges around increasing `centres`: halfway between neighbours, and
/// as far beyond the first and last centre as the neighbouring half-gap (half
/// a unit for a single centre).
fn cell_edges(centres: &[f64]) -> Vec<f64> {
    if let [only] = centres {
        return vec![only - 0.5, only + 0.5];
    }
    let n = centres.len();
    let mut edges = Vec::with_capacity(n + 1);
    edges.push(centres[0] - 0.5 * (centres[1] - centres[0]));
    edges.extend(centres.windows(2).map(|w| 0.5 * (w[0] + w[1])));
    edges.push(centres[n - 1] + 0.5 * (centres[n - 1] - centres[n - 2]));
    edges
}

/// Grid of panels: `(columns, rows)`. Rows are filled as evenly as three a
/// row allows, so four panels make two rows of two rather than three and one.
fn panel_grid(panels: usize) -> (usize, usize) {
    let rows = panels.div_ceil(MAX_COLUMNS).max(1);
    (panels.div_ceil(rows).max(1), rows)
}

/// Fixed vertical bands of the layout, in canvas pixels.
struct Bands {
    title: i32,
    panel_title: i32,
    tick_labels: i32,
    x_title: i32,
    margin: i32,
}

impl Bands {
    /// The bands for panels with titles (`titled`) or without: untitled
    /// panels keep only room for a tick label overhanging their top edge.
    fn new(titled: bool) -> Self {
        Self {
            title: offset(TITLE_FONT * 1.6 + OUTER_MARGIN),
            panel_title: if titled {
                offset(PANEL_TITLE_FONT * 1.9)
            } else {
                offset(TICK_FONT * 0.8)
            },
            tick_labels: tick_label_gap() + offset(TICK_FONT * 1.2),
            x_title: offset(AXIS_TITLE_FONT * 1.5),
            margin: offset(OUTER_MARGIN),
        }
    }

    /// Height of one row's cells on a canvas `height` tall with `rows` rows.
    fn cells_height(&self, height: u32, rows: usize) -> i32 {
        let fixed = self.title + self.x_title + self.margin;
        (height as i32 - fixed) / rows as i32 - self.panel_title - self.tick_labels
    }

    /// Top of the cells of row `row`.
    fn cells_top(&self, cells_height: i32, row: usize) -> i32 {
        self.title
            + row as i32 * (self.panel_title + cells_height + self.tick_labels)
            + self.panel_title
    }
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
        let scale = ColourScale::new(values(), input.colour_log);
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

/// Where everything goes, in canvas pixels, and the text that fits there.
struct Layout {
    bands: Bands,
    /// Height of each panel's cells.
    cells_h: i32,
    /// Top of the first row's cells and bottom of the last row's.
    block: (i32, i32),
    /// Left edge of the first panel column and right edge of the last.
    left: i32,
    right: i32,
    /// Width of each panel and the gap between panels.
    panel_w: i32,
    gap: i32,
    /// Width of the area the title is centred over.
    title_width: u32,
    /// Ticks shared by all panels, thinned so their labels fit.
    x_ticks: Ticks,
    y_ticks: Ticks,
    /// Whether each x tick label stays clear of the neighbouring panel.
    x_label_kept: Vec<bool>,
    /// The shared y-axis title, fitted to the height of the panels, and its em size.
    y_title: (String, f64),
    /// Em size of every panel title.
    panel_title_em: f64,
    bar: BarLayout,
}

impl Layout {
    /// The part of the canvas the title is centred over: all but the colour bar.
    fn title_column<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> DrawingArea<DB, Shift> {
        root.split_horizontally(self.title_width).0
    }

    /// The cells of panel `k` in a grid `columns` wide.
    fn panel_rect(&self, k: usize, columns: usize) -> PanelRect {
        let (row, column) = (k / columns, k % columns);
        let x0 = self.left + column as i32 * (self.panel_w + self.gap);
        let top = self.bands.cells_top(self.cells_h, row);
        PanelRect {
            x: (x0, x0 + self.panel_w),
            y: (top + self.cells_h, top),
        }
    }
}

/// A panel's cell area in canvas pixels: `x` = (left, right), `y` =
/// (bottom, top), i.e. each from the axis' low end to its high end.
struct PanelRect {
    x: (i32, i32),
    y: (i32, i32),
}

/// Where the colour bar goes and the text beside it.
struct BarLayout {
    /// Top and bottom of the gradient (equal when nothing can be coloured).
    top: i32,
    bottom: i32,
    /// Colour bar ticks whose labels fit.
    ticks: Ticks,
    /// Top of the "n/a" square, when some cell is missing.
    missing_top: Option<i32>,
    /// The colour bar title, fitted to the bar's height, and its em size.
    title: (String, f64),
    /// Width from the bar's right edge to the end of its title.
    text_width: i32,
}

impl HeatmapFigure<'_> {
    /// Lays the figure out on `root`'s canvas.
    ///
    /// The colour bar column is sized from its text, which depends on the
    /// bar's height; a title that needs two lines lowers the panels. So the
    /// title band is settled first, over the width left of a provisional
    /// colour bar, and the bar is then laid out beside the final panels.
    fn layout<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<Layout, PlotError> {
        let (width, height) = root.dim_in_pixel();
        let (columns, rows) = self.grid;
        let mut bands = Bands::new(self.titled());
        let margin = bands.margin;
        let bar_column = |bar: &BarLayout| offset(BAR_GAP + BAR_WIDTH) + bar.text_width + margin;
        let block = |bands: &Bands| {
            let cells_h = bands.cells_height(height, rows);
            let top = bands.cells_top(cells_h, 0);
            (cells_h, (top, bands.cells_top(cells_h, rows - 1) + cells_h))
        };
        let (_, provisional_block) = block(&bands);
        let provisional = self.colour_bar_layout(provisional_block)?;
        let title_width = (width as i32 - bar_column(&provisional)).max(1) as u32;
        bands.title = title_band_height(title_width, self.input.title)? as i32;
        let (cells_h, (block_top, block_bottom)) = block(&bands);
        let bar = self.colour_bar_layout((block_top, block_bottom))?;

        // Left band: the shared y title and the first column's tick labels.
        let y_ticks = thin_ticks(
            &self.y.ticks,
            self.y.log,
            |u| self.y.to_pixel(u, (block_top + cells_h, block_top)),
            |_| Ok(px(TICK_FONT * 1.1)),
        )?;
        let mut y_tick_width = 0;
        for label in &y_ticks.labels {
            y_tick_width = y_tick_width.max(text_width(label, TICK_FONT)? as i32);
        }
        let y_title = fit_text(
            self.input.y_label,
            AXIS_TITLE_FONT,
            TITLE_MIN_FONT_FRACTION,
            (block_bottom - block_top).max(1) as u32,
        )?;
        let left = margin + offset(y_title.1 * 1.6) + y_tick_width + tick_label_gap();
        let right = width as i32 - bar_column(&bar);
        let gap = offset(COLUMN_GAP);
        let panel_w = (right - left - (columns as i32 - 1) * gap) / columns as i32;

        // X tick labels that fit side by side and stay clear of the next panel.
        let x_span = (left, left + panel_w);
        let x_ticks = thin_ticks(
            &self.x.ticks,
            self.x.log,
            |u| self.x.to_pixel(u, x_span),
            |label| text_width(label, TICK_FONT),
        )?;
        let mut x_label_kept = Vec::with_capacity(x_ticks.major.len());
        for (&u, label) in x_ticks.major.iter().zip(&x_ticks.labels) {
            let half = text_width(label, TICK_FONT)? as i32 / 2;
            let at = self.x.to_pixel(u, x_span);
            let clear = offset(4.0);
            x_label_kept.push(
                at - half >= x_span.0 - gap / 2 + clear && at + half <= x_span.1 + gap / 2 - clear,
            );
        }

        // One type size for all panel titles: the largest at which each
        // fits (long ones are elided at the smallest size).
        let mut panel_title_em = PANEL_TITLE_FONT;
        for panel in self.input.panels {
            let (_, em) = fit_text(
                &panel.title,
                PANEL_TITLE_FONT,
                TITLE_MIN_FONT_FRACTION,
                panel_w.max(1) as u32,
            )?;
            panel_title_em = panel_title_em.min(em);
        }

        Ok(Layout {
            bands,
            cells_h,
            block: (block_top, block_bottom),
            left,
            right,
            panel_w,
            gap,
            title_width,
            x_ticks,
            y_ticks,
            x_label_kept,
            y_title,
            panel_title_em,
            bar,
        })
    }

    /// Draws a panel's axis lines and outward tick marks, and (per `labels`:
    /// x, y) its tick labels.
    fn draw_panel_axes<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        layout: &Layout,
        rect: &PanelRect,
        (x_labels, y_labels): (bool, bool),
    ) -> Result<(), PlotError> {
        let tick_len = offset(TICK_MARK);
        let axis = AXIS_COLOUR.stroke_width(px(AXIS_LINE));
        let line = |from: (i32, i32), to: (i32, i32)| {
            root.draw(&PathElement::new(vec![from, to], axis))
                .map_err(backend_error)
        };
        let (bottom, left) = (rect.y.0, rect.x.0);
        for &u in &layout.x_ticks.major {
            let at = self.x.to_pixel(u, rect.x);
            line((at, bottom), (at, bottom + tick_len))?;
        }
        for &u in &layout.y_ticks.major {
            let at = self.y.to_pixel(u, rect.y);
            line((left, at), (left - tick_len, at))?;
        }
        line((left, rect.y.1), (left, bottom))?;
        line((left, bottom), (rect.x.1, bottom))?;
        if x_labels {
            let ticks = &layout.x_ticks;
            let kept = ticks
                .major
                .iter()
                .zip(&ticks.labels)
                .zip(&layout.x_label_kept);
            for ((&u, label), _) in kept.filter(|(_, &k)| k) {
                draw_label(
                    root,
                    label,
                    TICK_FONT,
                    Pos::new(HPos::Center, VPos::Top),
                    (self.x.to_pixel(u, rect.x), bottom + tick_label_gap()),
                    Orientation::Horizontal,
                )?;
            }
        }
        if y_labels {
            for (&u, label) in layout.y_ticks.major.iter().zip(&layout.y_ticks.labels) {
                draw_label(
                    root,
                    label,
                    TICK_FONT,
                    Pos::new(HPos::Right, VPos::Center),
                    (left - tick_label_gap(), self.y.to_pixel(u, rect.y)),
                    Orientation::Horizontal,
                )?;
            }
        }
        Ok(())
    }

    /// Draws the shared x-axis title under the panels and the shared y-axis
    /// title, reading upwards, at their left.
    fn draw_axis_titles<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        layout: &Layout,
    ) -> Result<(), PlotError> {
        let (_, height) = root.dim_in_pixel();
        let margin = layout.bands.margin;
        let (x_title, x_title_em) = fit_text(
            self.input.x_label,
            AXIS_TITLE_FONT,
            TITLE_MIN_FONT_FRACTION,
            (layout.right - layout.left).max(1) as u32,
        )?;
        draw_label(
            root,
            &x_title,
            x_title_em,
            Pos::new(HPos::Center, VPos::Bottom),
            ((layout.left + layout.right) / 2, height as i32 - margin),
            Orientation::Horizontal,
        )?;
        let (y_title, y_title_em) = &layout.y_title;
        draw_label(
            root,
            y_title,
            *y_title_em,
            Pos::new(HPos::Center, VPos::Top),
            (margin, (layout.block.0 + layout.block.1) / 2),
            Orientation::Vertical,
        )
    }

    /// Places the colour bar beside the panels, spanning `block` (top and
    /// bottom of all cells) up to [`BAR_MAX_HEIGHT`], with the "n/a" square
    /// below it when needed.
    fn colour_bar_layout(
        &self,
        (block_top, block_bottom): (i32, i32),
    ) -> Result<BarLayout, PlotError> {
        let side = offset(BAR_WIDTH);
        let missing_space = if self.any_missing { side * 2 } else { 0 };
        let available = block_bottom - block_top - missing_space;
        let bar_h = if self.scale.is_some() {
            available.min(offset(BAR_MAX_HEIGHT)).max(0)
        } else {
            0
        };
        let top = block_top + (available - bar_h) / 2;
        let bottom = top + bar_h;
        let ticks = match &self.scale {
            Some(scale) => {
                let to_px = |u: f64| {
                    let f = (u - scale.lo) / (scale.hi - scale.lo);
                    (f64::from(bottom) - f * f64::from(bar_h)).round() as i32
                };
                thin_ticks(&scale.ticks, self.input.colour_log, to_px, |_| {
                    Ok(px(TICK_FONT * 1.1))
                })?
            }
            None => Ticks::none(),
        };
        let missing_top = self.any_missing.then_some(bottom + side);
        let mut label_width = 0;
        for label in ticks
            .labels
            .iter()
            .map(String::as_str)
            .chain(self.any_missing.then_some("n/a"))
        {
            label_width = label_width.max(text_width(label, TICK_FONT)? as i32);
        }
        let title_room = if bar_h > 0 {
            bar_h
        } else {
            block_bottom - block_top
        };
        let title = fit_text(
            self.input.colour_label,
            AXIS_TITLE_FONT,
            TITLE_MIN_FONT_FRACTION,
            title_room.max(1) as u32,
        )?;
        let text_width = tick_label_gap() + label_width + offset(TICK_MARK) + offset(title.1 * 1.3);
        Ok(BarLayout {
            top,
            bottom,
            ticks,
            missing_top,
            title,
            text_width,
        })
    }

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
        draw_label(
            root,
            &title,
            em,
            Pos::new(HPos::Center, VPos::Bottom),
            ((rect.x.0 + rect.x.1) / 2, rect.y.1 - offset(12.0)),
            Orientation::Horizontal,
        )?;
        let xs: Vec<i32> = self
            .x
            .edges
            .iter()
            .map(|&u| self.x.to_pixel(u, rect.x))
            .collect();
        let ys: Vec<i32> = self
            .y
            .edges
            .iter()
            .map(|&u| self.y.to_pixel(u, rect.y))
            .collect();
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

    /// Draws the colour bar at `left`: gradient, outline, ticks and labels,
    /// the "n/a" square when cells are missing, and the bar's title.
    fn draw_colour_bar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        bar: &BarLayout,
        left: i32,
    ) -> Result<(), PlotError> {
        let right = left + offset(BAR_WIDTH);
        let height = bar.bottom - bar.top;
        let label_x = right + tick_label_gap();
        if let Some(scale) = &self.scale {
            let mut y = bar.top;
            while y < bar.bottom {
                let next = (y + BAR_STEP).min(bar.bottom);
                let centre = f64::from(y + next) / 2.0;
                let t = (f64::from(bar.bottom) - centre) / f64::from(height.max(1));
                let overlap = i32::from(next < bar.bottom);
                Fill::solid(viridis(t)).draw(root, (left, y), (right, next + overlap))?;
                y = next;
            }
            let line = AXIS_COLOUR.stroke_width(px(GRID_LINE));
            root.draw(&Rectangle::new(
                [(left, bar.top), (right, bar.bottom)],
                line,
            ))
            .map_err(backend_error)?;
            let axis = AXIS_COLOUR.stroke_width(px(AXIS_LINE));
            for (&u, label) in bar.ticks.major.iter().zip(&bar.ticks.labels) {
                let f = (u - scale.lo) / (scale.hi - scale.lo);
                let at = (f64::from(bar.bottom) - f * f64::from(height)).round() as i32;
                root.draw(&PathElement::new(
                    vec![(right, at), (right + offset(TICK_MARK), at)],
                    axis,
                ))
                .map_err(backend_error)?;
                draw_label(
                    root,
                    label,
                    TICK_FONT,
                    Pos::new(HPos::Left, VPos::Center),
                    (label_x, at),
                    Orientation::Horizontal,
                )?;
            }
        }
        if let Some(top) = bar.missing_top {
            let side = offset(BAR_WIDTH);
            Fill::MISSING.draw(root, (left, top), (right, top + side))?;
            draw_label(
                root,
                "n/a",
                TICK_FONT,
                Pos::new(HPos::Left, VPos::Center),
                (label_x, top + side / 2),
                Orientation::Horizontal,
            )?;
        }
        let (title, em) = &bar.title;
        let centre = if height > 0 {
            (bar.top + bar.bottom) / 2
        } else {
            bar.missing_top.unwrap_or(bar.top)
        };
        draw_label(
            root,
            title,
            *em,
            Pos::new(HPos::Center, VPos::Bottom),
            (right + bar.text_width, centre),
            Orientation::Vertical,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::svg_has_text;
    use super::*;

    /// Log-spaced doses from 1e5 to 1e7.
    fn doses(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 1e5 * 100_f64.powf(i as f64 / (n - 1) as f64))
            .collect()
    }

    const INTERVALS: [f64; 5] = [7.0, 14.0, 28.0, 56.0, 84.0];

    /// `n` panels of a smooth surface over doses x intervals.
    fn panels(n: usize, x: &[f64], y: &[f64]) -> Vec<Panel> {
        (0..n)
            .map(|k| Panel {
                title: format!("Route {k}"),
                z: y.iter()
                    .flat_map(|&iv| x.iter().map(move |&d| d * 10.0 / iv * (k + 1) as f64))
                    .collect(),
            })
            .collect()
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
            panels,
        }
    }

    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = ::png::Decoder::new(bytes).read_info().expect("decodes");
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).expect("frame");
        (frame.width, frame.height, buf)
    }

    #[test]
    fn cell_edges_are_midpoints() {
        assert_eq!(cell_edges(&[0.0, 1.0, 3.0]), vec![-0.5, 0.5, 2.0, 4.0]);
        assert_eq!(cell_edges(&[2.0]), vec![1.5, 2.5]);
        // Geometric midpoints on a log axis: between 1e5 and 1e7 lies 1e6.
        let log = GridAxis::new(&[1e5, 1e7], true);
        assert!((log.edges[1] - 6.0).abs() < 1e-12);
        assert_eq!(log.ticks.labels, ["1e4", "1e5", "1e6", "1e7", "1e8"]);
        // Few linear values are categories, ticked at each value.
        let intervals = GridAxis::new(&INTERVALS, false);
        assert_eq!(intervals.edges, vec![-0.5, 0.5, 1.5, 2.5, 3.5, 4.5]);
        assert_eq!(intervals.ticks.labels, ["7", "14", "28", "56", "84"]);
        // Under two decades, 1-2-5 ticks.
        let narrow = GridAxis::new(&[1e5, 2e5, 4e5, 8e5], true);
        assert!(narrow.ticks.labels.contains(&"2e5".to_owned()));
    }

    #[test]
    fn panels_fill_rows_evenly() {
        assert_eq!(panel_grid(1), (1, 1));
        assert_eq!(panel_grid(3), (3, 1));
        assert_eq!(panel_grid(4), (2, 2));
        assert_eq!(panel_grid(5), (3, 2));
        assert_eq!(panel_grid(7), (3, 3));
    }

    #[test]
    fn heatmap_png_is_seven_inches_wide_and_grows_with_rows() {
        let (x, y) = (doses(21), INTERVALS.to_vec());
        let one_row = panels(3, &x, &y);
        let bytes = heatmap(&figure(&x, &y, &one_row)).expect("renders").png;
        assert!(bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]));
        let phys = bytes.windows(4).position(|w| w == b"pHYs").expect("pHYs");
        assert_eq!(&bytes[phys + 4..phys + 8], &11811_u32.to_be_bytes());
        let (w, h, buf) = decode(&bytes);
        assert_eq!((w, h), CANVAS);
        // The colour bar's ends are (near) viridis' ends.
        let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 4);
        assert!(buf.chunks(3).any(|p| near(p, [253, 231, 37])), "yellow end");
        assert!(buf.chunks(3).any(|p| near(p, [68, 1, 84])), "purple end");
        let non_white = buf.chunks(3).filter(|p| *p != [255, 255, 255]).count();
        assert!(
            non_white > (w * h / 3) as usize,
            "cells fill most of the figure"
        );

        let two_rows = panels(5, &x, &y);
        let svg = heatmap(&figure(&x, &y, &two_rows)).expect("renders").svg;
        let (w2, h2, _) = decode(&heatmap(&figure(&x, &y, &two_rows)).expect("renders").png);
        assert_eq!(w2, 2100);
        assert!(h2 > 1260 && h2 % 3 == 0, "taller for two rows: {h2}");
        let head = format!(
            r#"<svg width="700" height="{}" viewBox="0 0 2100 {h2}""#,
            h2 / 3
        );
        assert!(svg.starts_with(&head), "{}", &svg[..80]);
    }

    #[test]
    fn heatmap_svg_labels_panels_axes_and_colour_bar() {
        let (x, y) = (doses(21), INTERVALS.to_vec());
        let panels = panels(5, &x, &y);
        let svg = heatmap(&figure(&x, &y, &panels)).expect("renders").svg;
        for p in &panels {
            assert!(svg_has_text(&svg, &p.title), "missing {}", p.title);
        }
        for text in [
            "Liver AUC by dose and interval",
            "Dose (cells)",
            "Dosing interval (days)",
            "Liver AUC (cell days)",
            "1e6",
            "84",
        ] {
            assert!(svg_has_text(&svg, text), "missing {text}");
        }
        assert!(!svg_has_text(&svg, "n/a"), "nothing is missing");
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
        let svg = heatmap(&input).expect("renders").svg;
        assert!(
            svg_has_text(&svg, "n/a"),
            "the colour bar explains missing cells"
        );
        let (_, _, buf) = decode(&heatmap(&input).expect("renders").png);
        let grey = buf.chunks(3).filter(|p| *p == [0xE6, 0xE6, 0xE6]).count();
        let hatch = buf.chunks(3).filter(|p| *p == [0xA6, 0xA6, 0xA6]).count();
        // Two missing cells (NaN, and 0 on the log colour scale) of ~1/6 of the cell area.
        assert!(grey > 50_000, "grey background ({grey} px)");
        assert!(hatch > 5_000, "grey hatching ({hatch} px)");
        // On a linear colour scale the zero is a value, not missing.
        input.colour_log = false;
        let (_, _, linear) = decode(&heatmap(&input).expect("renders").png);
        let grey_linear = linear
            .chunks(3)
            .filter(|p| *p == [0xE6, 0xE6, 0xE6])
            .count();
        assert!(grey_linear < grey * 3 / 4, "one missing cell fewer");
    }

    #[test]
    fn heatmap_input_errors_are_precise() {
        let (x, y) = (doses(4), INTERVALS.to_vec());
        let good = panels(2, &x, &y);
        let mut bad = good.clone();
        bad[1].z.pop();
        assert!(matches!(
            heatmap(&figure(&x, &y, &bad)),
            Err(PlotError::PanelSizeMismatch { ref panel, expected: 20, actual: 19, nx: 4, ny: 5 })
                if panel == "Route 1"
        ));
        assert!(matches!(
            heatmap(&figure(&x, &y, &[])),
            Err(PlotError::Empty { field: "panels" })
        ));
        assert!(matches!(
            heatmap(&figure(&[], &y, &good)),
            Err(PlotError::Empty { field: "x_values" })
        ));
        let mut log_y = figure(&x, &[0.0, 1.0], &good);
        log_y.y_log = true;
        assert!(matches!(
            heatmap(&log_y),
            Err(PlotError::NonPositiveOnLogAxis {
                field: "y_values",
                index: 0,
                ..
            })
        ));
        assert!(matches!(
            heatmap(&figure(&x, &[1.0, f64::NAN], &good)),
            Err(PlotError::NonFiniteCoordinate {
                field: "y_values",
                index: 1,
                ..
            })
        ));
        let mut infinite = good.clone();
        infinite[0].z[3] = f64::INFINITY;
        assert!(matches!(
            heatmap(&figure(&x, &y, &infinite)),
            Err(PlotError::InfiniteValue { index: 3, .. })
        ));
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
