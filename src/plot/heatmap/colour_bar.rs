//! The heatmap's colour bar: one scale for every panel, with its ticks, the
//! "n/a" square for missing cells and its title.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::super::axis::Ticks;
use super::super::colour::{viridis, Fill};
use super::super::frame::{thin_ticks, tick_label_gap};
use super::super::text::{draw_label, draw_upright, fit_axis_title, widest, BOTTOM, LEFT};
use super::super::{
    backend_error, offset, px, PlotError, AXIS_COLOUR, AXIS_LINE, GRID_LINE, TICK_FONT, TICK_MARK,
};
use super::HeatmapFigure;

/// Width of the colour bar.
pub(super) const BAR_WIDTH: f64 = 45.0;
/// Gap between the last panel column and the colour bar.
pub(super) const BAR_GAP: f64 = 64.0;
/// The colour bar is at most this tall (3.3 in); with many rows of panels
/// it is centred beside them instead of stretching the full height.
pub(super) const BAR_MAX_HEIGHT: f64 = 1000.0;
/// Height of each band of the colour gradient: fine enough that the steps
/// are invisible, few enough to keep the SVG small.
pub(super) const BAR_STEP: i32 = 2;

/// Where the colour bar goes and the text beside it.
pub(super) struct BarLayout {
    /// Top and bottom of the gradient (equal when nothing can be coloured).
    pub(super) top: i32,
    pub(super) bottom: i32,
    /// Colour bar ticks whose labels fit.
    pub(super) ticks: Ticks,
    /// Top of the "n/a" square, when some cell is missing.
    pub(super) missing_top: Option<i32>,
    /// The colour bar title, fitted to the bar's height, and its em size.
    pub(super) title: (String, f64),
    /// Width from the bar's right edge to the end of its title.
    pub(super) text_width: i32,
}

impl HeatmapFigure<'_> {
    /// Places the colour bar beside the panels, spanning `block` (top and
    /// bottom of all cells) up to [`BAR_MAX_HEIGHT`], with the "n/a" square
    /// below it when needed.
    pub(super) fn colour_bar_layout(
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
        let labels = ticks.labels.iter().map(String::as_str);
        let label_width =
            widest(labels.chain(self.any_missing.then_some("n/a")), TICK_FONT)? as i32;
        let title_room = if bar_h > 0 {
            bar_h
        } else {
            block_bottom - block_top
        };
        let title = fit_axis_title(self.input.colour_label, title_room.max(1) as u32)?;
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

    /// Draws the colour bar at `left`: gradient, outline, ticks and labels,
    /// the "n/a" square when cells are missing, and the bar's title.
    pub(super) fn draw_colour_bar<DB: DrawingBackend>(
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
                draw_label(root, label, TICK_FONT, LEFT, (label_x, at))?;
            }
        }
        if let Some(top) = bar.missing_top {
            let side = offset(BAR_WIDTH);
            Fill::MISSING.draw(root, (left, top), (right, top + side))?;
            draw_label(root, "n/a", TICK_FONT, LEFT, (label_x, top + side / 2))?;
        }
        let (title, em) = &bar.title;
        let centre = if height > 0 {
            (bar.top + bar.bottom) / 2
        } else {
            bar.missing_top.unwrap_or(bar.top)
        };
        draw_upright(root, title, *em, BOTTOM, (right + bar.text_width, centre))
    }
}
