//! Grouped bar chart of metrics across scenarios: categories along x, one coloured bar
//! per group within each category. Bars suit a few summary numbers of discrete
//! scenarios, where a line would suggest a continuum.
//!
//! Frame, palette and legend are those of the time course; particular to bars are
//! category labels that never collide (level, wrapped, or upright, whichever fits
//! first), bars from zero (or from below the shortest bar on a log axis, see
//! [`YAxis::log_sweep`]), and missing values labelled "n/a".

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Ticks, YAxis};
use super::colour::Fill;
use super::frame::{
    chart_and_legend, draw_mesh, draw_y_tick_labels, draw_y_title, tick_label_gap, y_axis_text_area,
};
use super::legend::{draw_legend_entries, Sample};
use super::lines::PALETTE;
use super::prepared::check_sweep_series;
use super::text::{
    draw_upright, elide_after, set_text, shrinking, widest, wrap_text, wrap_whole, LEFT, RIGHT, TOP,
};
use super::{
    backend_error, offset, px, render, Figure, PlotError, Rendered, Series, AXIS_COLOUR, GRID_LINE,
    OUTER_MARGIN, TICK_FONT, TITLE_MIN_FONT_FRACTION,
};

/// Fraction of each category's width that its group of bars may fill.
const GROUP_FRACTION_MAX: f64 = 0.8;
/// Level category labels may wrap onto at most this many lines before they are turned upright.
const MAX_LABEL_LINES: usize = 3;
/// Upright category labels may take at most this fraction of the height
/// below the title; longer ones are wrapped, shrunk, and as a last resort elided.
const MAX_UPRIGHT_FRACTION: f64 = 0.3;
/// On a log axis the shortest bar is at least this many decades tall (else
/// the axis starts a decade lower), so every positive bar is visible.
const BAR_CLEARANCE: f64 = 0.25;
/// Side of the legend's colour squares.
const LEGEND_SWATCH: f64 = 36.0;
/// Type size of the "n/a" and "0" notes at the foot of bars that cannot be drawn.
const NOTE_FONT: f64 = 28.0;

/// A grouped bar chart; borrowed so callers keep ownership of their data.
#[derive(Debug, Clone, Copy)]
pub struct BarChart<'a> {
    /// Figure title, centred above the axes.
    pub title: &'a str,
    /// Y-axis title with units.
    pub y_label: &'a str,
    /// Category names along the x axis, e.g. metric or scenario names.
    pub categories: &'a [String],
    /// One bar per group in each category, coloured by group and named in
    /// the legend. Each has one value per category; NaN marks a missing
    /// value (no bar, labelled "n/a").
    pub groups: &'a [Series],
    /// Logarithmic y axis. A value <= 0 has no bar on it and is labelled
    /// at the foot of its slot ("0", or "<0").
    pub y_log: bool,
}

/// Draws the bar chart: 2100 x 1260 px (700 x 420 px as SVG).
///
/// # Errors
/// [`PlotError::Empty`], [`PlotError::SeriesSizeMismatch`] or
/// [`PlotError::InfiniteValue`] for invalid input; a rendering or encoding
/// failure otherwise.
pub fn bar_chart(chart: &BarChart) -> Result<Rendered, PlotError> {
    render(&BarFigure::new(chart)?)
}

/// The fill of group `index`: the line palette's colour; after ten groups
/// the colours repeat hatched with white, so no two groups look alike.
fn group_fill(index: usize) -> Fill {
    let colour = PALETTE[index % PALETTE.len()];
    if index < PALETTE.len() {
        Fill::solid(colour)
    } else {
        Fill::hatched(colour, WHITE)
    }
}

/// The bar chart with checked input and its y axis.
struct BarFigure<'a> {
    chart: &'a BarChart<'a>,
    y: YAxis,
}

impl<'a> BarFigure<'a> {
    /// Checks `chart` (see [`bar_chart`] for what is rejected) and derives the y axis.
    fn new(chart: &'a BarChart<'a>) -> Result<Self, PlotError> {
        if chart.categories.is_empty() {
            return Err(PlotError::Empty {
                field: "categories",
            });
        }
        check_sweep_series(chart.groups, "groups", chart.categories.len(), "categories")?;
        let values = chart
            .groups
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .filter(|v| v.is_finite());
        let y = if chart.y_log {
            YAxis::log_sweep(values, BAR_CLEARANCE)
        } else {
            YAxis::linear(values)
        };
        Ok(Self { chart, y })
    }
}

/// How the category labels are set below the axes: each label as one or
/// more lines, level or turned upright, at one type size.
struct CategoryLabels {
    lines: Vec<Vec<String>>,
    em: f64,
    upright: bool,
}

impl CategoryLabels {
    /// The first layout in which no label touches its neighbours, given
    /// each category's `slot` width:
    ///
    /// 1. level, wrapped onto at most [`MAX_LABEL_LINES`] lines at spaces,
    ///    underscores and hyphens (never inside a word part);
    /// 2. upright, reading upwards and ending just below the axis, wrapped
    ///    the same way into lines at most `max_upright` long, as many lines
    ///    side by side as the slot holds, shrinking the type by up to 30 %;
    /// 3. as 2 at the smallest size, with the last line that fits elided.
    fn fit(categories: &[String], slot: u32, max_upright: u32) -> Result<Self, PlotError> {
        let wrap_all = |em: f64, room: u32, max_lines: usize| {
            let each = categories
                .iter()
                .map(|c| wrap_whole(c, em, room, max_lines));
            each.collect::<Result<Option<Vec<_>>, _>>()
        };
        let em = TICK_FONT;
        let room = slot.saturating_sub(px(em * 0.4)).max(1);
        if let Some(lines) = wrap_all(em, room, MAX_LABEL_LINES)? {
            let upright = false;
            return Ok(Self { lines, em, upright });
        }
        let columns = |em: f64| ((f64::from(slot) * 0.9 / (em * 1.2)).floor() as usize).max(1);
        for em in shrinking(TICK_FONT, TITLE_MIN_FONT_FRACTION, 3) {
            if let Some(lines) = wrap_all(em, max_upright, columns(em))? {
                let upright = true;
                return Ok(Self { lines, em, upright });
            }
        }
        // Last resort: the smallest type, as many lines as fit, the last elided.
        let em = TICK_FONT * TITLE_MIN_FONT_FRACTION;
        let mut lines = Vec::with_capacity(categories.len());
        for label in categories {
            let wrapped = wrap_text(label, em, max_upright)?;
            lines.push(if wrapped.len() > columns(em) {
                elide_after(label, wrapped, columns(em) - 1, em, max_upright)?
            } else {
                wrapped
            });
        }
        let upright = true;
        Ok(Self { lines, em, upright })
    }

    /// Distance between the lines of one label.
    fn line_step(&self) -> f64 {
        self.em * if self.upright { 1.2 } else { 1.25 }
    }

    /// Height the labels take below the tick-label gap.
    fn height(&self) -> Result<u32, PlotError> {
        if !self.upright {
            let most = self.lines.iter().map(Vec::len).max().unwrap_or(1);
            return Ok(px(self.line_step() * (most as f64 - 1.0) + self.em * 1.3));
        }
        widest(self.lines.iter().flatten().map(String::as_str), self.em)
    }

    /// Draws the label of category `index` centred on `x`, its top at `top`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        index: usize,
        (x, top): (i32, i32),
    ) -> Result<(), PlotError> {
        let lines = &self.lines[index];
        let first = -0.5 * (lines.len() as f64 - 1.0);
        for (i, line) in lines.iter().enumerate() {
            // Upright lines stand side by side, the first leftmost, each ending just
            // below the axis.
            let shift = ((first + i as f64) * self.line_step()).round() as i32;
            let (anchor, at) = if self.upright {
                (RIGHT, (x + shift, top))
            } else {
                (TOP, (x, top + (i as f64 * self.line_step()).round() as i32))
            };
            set_text(root, line, self.em, anchor, at, self.upright)?;
        }
        Ok(())
    }
}

impl Figure for BarFigure<'_> {
    /// Lays out and draws the figure: grid, bars, axes, labels, legend.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (plot_area, legend_column) = chart_and_legend(root, self.chart.title)?;
        let (chart_width, _) = plot_area.dim_in_pixel();

        let y = &self.y;
        let (y_title, y_title_em, y_area) =
            y_axis_text_area(&plot_area, &y.ticks.labels, self.chart.y_label)?;
        let n = self.chart.categories.len();
        let (margin, margin_right) = (px(OUTER_MARGIN), px(OUTER_MARGIN * 2.0));
        let plot_width = chart_width.saturating_sub(y_area + margin + margin_right);
        let slot = plot_width / n as u32;
        let (_, area_height) = plot_area.dim_in_pixel();
        let max_upright = (f64::from(area_height) * MAX_UPRIGHT_FRACTION) as u32;
        let labels = CategoryLabels::fit(self.chart.categories, slot, max_upright)?;
        let x_area = tick_label_gap() as u32 + labels.height()?;

        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(px(TICK_FONT))
            .margin_right(margin_right)
            .margin_bottom(margin)
            .margin_left(margin)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(
                Ticks::none().coord(0.0, n as f64),
                y.ticks.coord(y.lo, y.hi),
            )
            .map_err(backend_error)?;

        draw_mesh(&mut chart, false)?;
        self.draw_bars(&chart, root)?;
        draw_mesh(&mut chart, true)?;
        let (_, plot_y) = chart.plotting_area().get_pixel_range();
        for i in 0..n {
            let (cx, _) = chart.backend_coord(&(i as f64 + 0.5, y.lo));
            labels.draw(root, i, (cx, plot_y.end + tick_label_gap()))?;
        }
        draw_y_tick_labels(&chart, root, &y.ticks, 0.0)?;
        draw_y_title(&chart, root, (&y_title, y_title_em), y_area)?;

        let entries: Vec<(&str, Sample)> = self
            .chart
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.label.as_str(), Sample::Swatch(group_fill(i))))
            .collect();
        draw_legend_entries(&legend_column, plot_y.start, &entries, &[], LEGEND_SWATCH)
    }
}

impl BarFigure<'_> {
    /// Draws the bars of every group, a zero line when the axis goes below
    /// zero, and the notes at the foot of bars that cannot be drawn.
    fn draw_bars<DB: DrawingBackend>(
        &self,
        chart: &super::Chart<DB>,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), PlotError> {
        let y = &self.y;
        let groups = self.chart.groups.len();
        let block = (0.3 + 0.2 * groups as f64).min(GROUP_FRACTION_MAX);
        let bar = block / groups as f64;
        let base = if y.log_floor.is_some() { y.lo } else { 0.0 };
        let (left_px, base_px) = chart.backend_coord(&(0.0, base));
        let (one_px, _) = chart.backend_coord(&(1.0, base));
        let bar_px = f64::from(one_px - left_px) * bar;
        let gap = (bar_px * 0.12).round().clamp(2.0, 8.0) as i32;
        let note_em = NOTE_FONT.min(bar_px * 0.9);
        for (g, series) in self.chart.groups.iter().enumerate() {
            let fill = group_fill(g);
            for (c, &v) in series.values.iter().enumerate() {
                let x0 = c as f64 + 0.5 - block / 2.0 + g as f64 * bar;
                let (a, _) = chart.backend_coord(&(x0, base));
                let (b, _) = chart.backend_coord(&(x0 + bar, base));
                let (a, b) = (a + gap / 2, b - (gap - gap / 2));
                let top = match y.log_floor {
                    _ if v.is_nan() => None,
                    Some(_) if v <= 0.0 => None,
                    Some(_) => Some(v.log10().clamp(y.lo, y.hi)),
                    None => Some(v.clamp(y.lo, y.hi)),
                };
                let Some(top) = top else {
                    let note = if v.is_nan() {
                        "n/a"
                    } else if v == 0.0 {
                        "0"
                    } else {
                        "<0"
                    };
                    if note_em >= 12.0 {
                        let at = ((a + b) / 2, base_px - offset(8.0));
                        draw_upright(root, note, note_em, LEFT, at)?;
                    }
                    continue;
                };
                let (_, top_px) = chart.backend_coord(&(x0, top));
                if top_px != base_px && b > a {
                    fill.draw(root, (a, top_px.min(base_px)), (b, top_px.max(base_px)))?;
                }
            }
        }
        if y.log_floor.is_none() && y.lo < 0.0 {
            let (x_end, _) = chart.backend_coord(&(self.chart.categories.len() as f64, 0.0));
            root.draw(&PathElement::new(
                vec![(left_px, base_px), (x_end, base_px)],
                AXIS_COLOUR.stroke_width(px(GRID_LINE)),
            ))
            .map_err(backend_error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, svg_has_text, svg_of, svg_text_run};
    use super::*;

    fn scenarios() -> Vec<String> {
        let names = [
            "Peripheral vein",
            "Portal vein",
            "Hepatic artery",
            "Intrasplenic",
        ];
        names
            .into_iter()
            .chain(["Intrahepatic"])
            .map(String::from)
            .collect()
    }

    fn groups(n_categories: usize) -> Vec<Series> {
        let labels = ["Liver fraction", "Lung fraction", "Spleen fraction"];
        let value = |c: usize, g: usize| 0.05 + 0.1 * ((c + 2 * g) % 7) as f64;
        let values = |g| (0..n_categories).map(|c| value(c, g)).collect();
        let group = |(g, label): (usize, &str)| Series {
            label: label.into(),
            values: values(g),
        };
        labels.into_iter().enumerate().map(group).collect()
    }

    fn chart<'a>(categories: &'a [String], groups: &'a [Series], y_log: bool) -> BarChart<'a> {
        BarChart {
            title: "Where the cells are at day 7",
            y_label: "Fraction of dose",
            categories,
            groups,
            y_log,
        }
    }

    #[test]
    fn bar_chart_svg_names_every_category_and_group() {
        let categories = scenarios();
        let mut groups = groups(categories.len());
        groups[1].values[3] = f64::NAN;
        let svg = svg_of(bar_chart(&chart(&categories, &groups, false)));
        assert!(svg.starts_with(r#"<svg width="700" height="420" viewBox="0 0 2100 1260""#));
        let texts = svg_text_run(&svg);
        for text in categories.iter().chain(groups.iter().map(|g| &g.label)) {
            assert!(texts.contains(text.as_str()), "missing {text}");
        }
        assert!(svg_has_text(&svg, "n/a"), "the missing bar is labelled");
        assert!(svg_has_text(&svg, "Fraction of dose"));
        let turned = svg.matches("rotate(270").count();
        assert_eq!(turned, 2, "only the y title and the n/a note are turned");
    }

    #[test]
    fn long_category_labels_turn_upright() {
        let categories: Vec<String> = (0..12)
            .map(|i| format!("liver_engrafted_fraction_day_{i}"))
            .collect();
        let many = groups(categories.len());
        let svg = svg_of(bar_chart(&chart(&categories, &many, true)));
        assert!(svg.matches("rotate(270").count() > 12, "labels are turned");
    }

    #[test]
    fn bar_chart_input_errors_are_precise() {
        let categories = scenarios();
        let fails = |c: &[String], g: &[Series]| error(bar_chart(&chart(c, g, false)));
        let short = fails(&categories, &groups(4));
        assert!(short.contains("has 4 values but there are 5 categories"));
        assert!(fails(&[], &[]).contains("`categories` is empty"));
        assert!(fails(&categories, &[]).contains("`groups` is empty"));
    }
}
