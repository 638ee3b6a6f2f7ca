//! The heatmap's page layout: the fixed bands, where each panel's cells go,
//! the ticks and axis titles that fit, and drawing the panels' axes.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::super::axis::Ticks;
use super::super::frame::{thin_ticks, tick_label_gap, title_band_height};
use super::super::text::{
    draw_label, draw_upright, fit_axis_title, fit_text, text_width, widest, BOTTOM, RIGHT, TOP,
};
use super::super::{
    backend_error, offset, px, PlotError, AXIS_COLOUR, AXIS_LINE, AXIS_TITLE_FONT, OUTER_MARGIN,
    TICK_FONT, TICK_MARK, TITLE_FONT, TITLE_MIN_FONT_FRACTION,
};
use super::colour_bar::{BarLayout, BAR_GAP, BAR_WIDTH};
use super::{HeatmapFigure, COLUMN_GAP, PANEL_TITLE_FONT};

/// Fixed vertical bands of the layout, in canvas pixels.
pub(super) struct Bands {
    pub(super) title: i32,
    pub(super) panel_title: i32,
    pub(super) tick_labels: i32,
    pub(super) x_title: i32,
    pub(super) margin: i32,
}

impl Bands {
    /// The bands for panels with titles (`titled`) or without: untitled
    /// panels keep only room for a tick label overhanging their top edge.
    pub(super) fn new(titled: bool) -> Self {
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
    pub(super) fn cells_height(&self, height: u32, rows: usize) -> i32 {
        let fixed = self.title + self.x_title + self.margin;
        (height as i32 - fixed) / rows as i32 - self.panel_title - self.tick_labels
    }

    /// Top of the cells of row `row`.
    pub(super) fn cells_top(&self, cells_height: i32, row: usize) -> i32 {
        self.title
            + row as i32 * (self.panel_title + cells_height + self.tick_labels)
            + self.panel_title
    }
}

/// Where everything goes, in canvas pixels, and the text that fits there.
pub(super) struct Layout {
    pub(super) bands: Bands,
    /// Height of each panel's cells.
    pub(super) cells_h: i32,
    /// Top of the first row's cells and bottom of the last row's.
    pub(super) block: (i32, i32),
    /// Left edge of the first panel column and right edge of the last.
    pub(super) left: i32,
    pub(super) right: i32,
    /// Width of each panel and the gap between panels.
    pub(super) panel_w: i32,
    pub(super) gap: i32,
    /// Width of the area the title is centred over.
    pub(super) title_width: u32,
    /// Ticks shared by all panels, thinned so their labels fit.
    pub(super) x_ticks: Ticks,
    pub(super) y_ticks: Ticks,
    /// Whether each x tick label stays clear of the neighbouring panel.
    pub(super) x_label_kept: Vec<bool>,
    /// The shared y-axis title, fitted to the height of the panels, and its em size.
    pub(super) y_title: (String, f64),
    /// Em size of every panel title.
    pub(super) panel_title_em: f64,
    pub(super) bar: BarLayout,
}

impl Layout {
    /// The part of the canvas the title is centred over: all but the colour bar.
    pub(super) fn title_column<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> DrawingArea<DB, Shift> {
        root.split_horizontally(self.title_width).0
    }

    /// The cells of panel `k` in a grid `columns` wide.
    pub(super) fn panel_rect(&self, k: usize, columns: usize) -> PanelRect {
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
pub(super) struct PanelRect {
    pub(super) x: (i32, i32),
    pub(super) y: (i32, i32),
}

impl HeatmapFigure<'_> {
    /// Lays the figure out on `root`'s canvas.
    ///
    /// The colour bar column is sized from its text, which depends on the
    /// bar's height; a title that needs two lines lowers the panels. So the
    /// title band is settled first, over the width left of a provisional
    /// colour bar, and the bar is then laid out beside the final panels.
    pub(super) fn layout<DB: DrawingBackend>(
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
        let y_tick_width = widest(y_ticks.labels.iter().map(String::as_str), TICK_FONT)? as i32;
        let y_title = fit_axis_title(self.input.y_label, (block_bottom - block_top).max(1) as u32)?;
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
    pub(super) fn draw_panel_axes<DB: DrawingBackend>(
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
                let at = (self.x.to_pixel(u, rect.x), bottom + tick_label_gap());
                draw_label(root, label, TICK_FONT, TOP, at)?;
            }
        }
        if y_labels {
            for (&u, label) in layout.y_ticks.major.iter().zip(&layout.y_ticks.labels) {
                let at = (left - tick_label_gap(), self.y.to_pixel(u, rect.y));
                draw_label(root, label, TICK_FONT, RIGHT, at)?;
            }
        }
        Ok(())
    }

    /// Draws the shared x-axis title under the panels and the shared y-axis
    /// title, reading upwards, at their left.
    pub(super) fn draw_axis_titles<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        layout: &Layout,
    ) -> Result<(), PlotError> {
        let (_, height) = root.dim_in_pixel();
        let margin = layout.bands.margin;
        let (x_title, x_title_em) = fit_axis_title(
            self.input.x_label,
            (layout.right - layout.left).max(1) as u32,
        )?;
        let at = ((layout.left + layout.right) / 2, height as i32 - margin);
        draw_label(root, &x_title, x_title_em, BOTTOM, at)?;
        let (y_title, y_title_em) = &layout.y_title;
        let at = (margin, (layout.block.0 + layout.block.1) / 2);
        draw_upright(root, y_title, *y_title_em, TOP, at)
    }
}
