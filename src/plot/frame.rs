//! The frame every x-y figure shares: the title band, the room the y-axis text needs,
//! grid and axis lines, tick labels and axis titles; so a change of type size or line
//! weight reaches every figure and the figures of one manuscript look alike. The
//! heatmap reuses the title and the tick thinning.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Ticks, YAxis};
use super::legend::{draw_legend_entries, Sample, LEGEND_SAMPLE};
use super::text::{
    draw_label, draw_upright, elide_after, fit_axis_title, fit_text, shrinking, text_width, widest,
    wrap_text, wrap_whole, BOTTOM, CENTRE, RIGHT, TOP,
};
use super::{
    backend_error, offset, px, Chart, PlotError, AXIS_COLOUR, AXIS_LINE, AXIS_TITLE_FONT,
    CHART_FRACTION, GRID_COLOUR, GRID_LINE, MINOR_GRID_COLOUR, OUTER_MARGIN, TICK_FONT, TICK_MARK,
    TITLE_FONT, TITLE_MIN_FONT_FRACTION,
};

/// A region of a figure.
type Area<DB> = DrawingArea<DB, Shift>;

/// Clears `root`, splits it into the chart column and the legend column to its right
/// (every figure with a legend keeps its legend outside the data), and draws `title` over
/// the chart column: returns the plot area below the title (as wide as the chart column)
/// and the legend column.
pub(super) fn chart_and_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<(Area<DB>, Area<DB>), PlotError> {
    root.fill(&WHITE).map_err(backend_error)?;
    let (width, _) = root.dim_in_pixel();
    let chart_width = (f64::from(width) * CHART_FRACTION).round() as u32;
    let (chart_column, legend_column) = root.split_horizontally(chart_width);
    let plot_area = draw_title(&chart_column, title)?;
    Ok((plot_area, legend_column))
}

/// Draws `title` centred over `column` and returns the part of `column`
/// below the title band.
///
/// A title too wide for the column is first shrunk (by up to 15 %), then
/// set on two lines, which may shrink to 70 %, and only then is the second
/// line elided: automatically generated titles of sweep figures carry
/// their filter conditions at the end, which eliding would hide. The band
/// grows by a line for a two-line title.
pub(super) fn draw_title<DB: DrawingBackend>(
    column: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let (width, _) = column.dim_in_pixel();
    let margin = px(OUTER_MARGIN);
    let (lines, em, title_band) = title_layout(width, title)?;
    let line_h = em * TITLE_LINE_SPACING;
    let (title_area, rest) = column.split_vertically(title_band);
    let centre = (title_band + margin) as i32 / 2;
    for (i, line) in lines.iter().enumerate() {
        let shift = ((i as f64 - 0.5 * (lines.len() as f64 - 1.0)) * line_h).round() as i32;
        let at = (width as i32 / 2, centre + shift);
        draw_label(&title_area, line, em, CENTRE, at)?;
    }
    Ok(rest)
}

/// Height of the band [`draw_title`] gives `title` over `column`.
pub(super) fn title_band_height(column_width: u32, title: &str) -> Result<u32, PlotError> {
    Ok(title_layout(column_width, title)?.2)
}

/// The title's lines, their em size and the height of the title band over
/// a column `width` wide.
fn title_layout(width: u32, title: &str) -> Result<(Vec<String>, f64, u32), PlotError> {
    let max_width = width.saturating_sub(2 * px(OUTER_MARGIN));
    let (lines, em) = title_lines(title, max_width)?;
    let extra = em * TITLE_LINE_SPACING * (lines.len() as f64 - 1.0);
    let band = px(TITLE_FONT * 1.6 + OUTER_MARGIN + extra);
    Ok((lines, em, band))
}

/// Line spacing of two-line titles, in ems.
const TITLE_LINE_SPACING: f64 = 1.2;
/// A title may shrink to this fraction of its size to stay on one line.
const TITLE_ONE_LINE_MIN_FRACTION: f64 = 0.85;

/// The lines of a title and their em size; see [`draw_title`].
fn title_lines(title: &str, max_width: u32) -> Result<(Vec<String>, f64), PlotError> {
    let (one, em) = fit_text(title, TITLE_FONT, TITLE_ONE_LINE_MIN_FRACTION, max_width)?;
    if one == title {
        return Ok((vec![one], em));
    }
    for em in shrinking(TITLE_FONT, TITLE_MIN_FONT_FRACTION, 3) {
        if let Some(lines) = wrap_whole(title, em, max_width, 2)? {
            return Ok((lines, em));
        }
    }
    let em = TITLE_FONT * TITLE_MIN_FONT_FRACTION;
    let lines = wrap_text(title, em, max_width)?;
    Ok((elide_after(title, lines, 1, em, max_width)?, em))
}

/// The y-axis title fitted to the height of `plot_area`, and the width the
/// y axis needs for its tick labels and title: `(title, title em, width)`.
pub(super) fn y_axis_text_area<DB: DrawingBackend>(
    plot_area: &DrawingArea<DB, Shift>,
    tick_labels: &[String],
    y_label: &str,
) -> Result<(String, f64, u32), PlotError> {
    let y_tick_width = widest(tick_labels.iter().map(String::as_str), TICK_FONT)?;
    let (_, plot_height) = plot_area.dim_in_pixel();
    let (y_title, y_title_em) =
        fit_axis_title(y_label, plot_height.saturating_sub(px(TICK_FONT * 4.0)))?;
    let y_area = 2 * px(TICK_MARK) + y_tick_width + px(y_title_em * 1.6);
    Ok((y_title, y_title_em, y_area))
}

/// Draws the grid at the major (and, on log axes, minor) ticks, or with `axes` the left
/// and bottom axis lines with outward tick marks. Plotters gets empty labels: all text
/// is drawn by [`draw_label`].
pub(super) fn draw_mesh<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    axes: bool,
) -> Result<(), PlotError> {
    let no_label = |_: &f64| String::new();
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&no_label)
        .y_label_formatter(&no_label);
    if axes {
        mesh.disable_mesh()
            .axis_style(AXIS_COLOUR.stroke_width(px(AXIS_LINE)))
            .set_all_tick_mark_size(px(TICK_MARK));
    } else {
        mesh.disable_axes()
            .bold_line_style(GRID_COLOUR.stroke_width(px(GRID_LINE)))
            .light_line_style(MINOR_GRID_COLOUR.stroke_width(px(GRID_LINE * 0.5)));
    }
    mesh.draw().map_err(backend_error)
}

/// Gap between an axis line and its tick labels: room for the tick mark and as much again.
pub(super) fn tick_label_gap() -> i32 {
    2 * offset(TICK_MARK)
}

/// Draws the y tick labels left of the axes; `x_lo` is the left end of the x axis.
pub(super) fn draw_y_tick_labels<DB: DrawingBackend>(
    chart: &Chart<DB>,
    root: &DrawingArea<DB, Shift>,
    ticks: &Ticks,
    x_lo: f64,
) -> Result<(), PlotError> {
    let (plot_x, _) = chart.plotting_area().get_pixel_range();
    for (&pos, label) in ticks.major.iter().zip(&ticks.labels) {
        let (_, py) = chart.backend_coord(&(x_lo, pos));
        let at = (plot_x.start - tick_label_gap(), py);
        draw_label(root, label, TICK_FONT, RIGHT, at)?;
    }
    Ok(())
}

/// Draws the (already fitted) y-axis title, reading upwards, at the left
/// edge of the `y_area` band left of the axes.
pub(super) fn draw_y_title<DB: DrawingBackend>(
    chart: &Chart<DB>,
    root: &DrawingArea<DB, Shift>,
    (title, em): (&str, f64),
    y_area: u32,
) -> Result<(), PlotError> {
    let (plot_x, plot_y) = chart.plotting_area().get_pixel_range();
    draw_upright(
        root,
        title,
        em,
        TOP,
        (
            plot_x.start - y_area as i32,
            (plot_y.start + plot_y.end) / 2,
        ),
    )
}

/// What [`framed_chart`] needs of an x-y chart's axes. The x ticks are thinned before
/// they are drawn; on a log x axis (one with a floor) its 2s and 5s go first.
pub(super) struct Axes<'a> {
    pub(super) x: &'a YAxis,
    pub(super) y: &'a YAxis,
    /// X- and y-axis titles, with units.
    pub(super) titles: (&'a str, &'a str),
    /// Space above the axes: room for the top tick label (and the time
    /// course's dose triangles).
    pub(super) headroom: f64,
}

impl<'a> Axes<'a> {
    /// Axes with room above them for the top tick label.
    pub(super) fn new(x: &'a YAxis, y: &'a YAxis, titles: (&'a str, &'a str)) -> Self {
        let headroom = TICK_FONT;
        Axes {
            x,
            y,
            titles,
            headroom,
        }
    }
}

/// Builds the chart over `area`, with `margin_right` (300-dpi pixels) to its right, and
/// draws what `beneath` draws (the time course's dose marks), then the frame: grid,
/// axes, tick labels and axis titles, all beneath the data the caller draws next.
///
/// The chart is built twice: once to learn where the x ticks land, then with only the
/// ticks whose labels fit side by side ([`thin_ticks`]), since how many fit depends on
/// the width left after the y-axis text. The time course, the sweep line plot, the
/// model-versus-data panels and the observed-versus-predicted scatter share this, so
/// their frames match.
pub(super) fn framed_chart<'a, DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &'a DrawingArea<DB, Shift>,
    axes: &Axes,
    margin_right: f64,
    beneath: impl FnOnce(&Chart<'a, DB>) -> Result<(), PlotError>,
) -> Result<Chart<'a, DB>, PlotError> {
    let (x, y) = (axes.x, axes.y);
    let (y_title, y_title_em, y_area) = y_axis_text_area(area, &y.ticks.labels, axes.titles.1)?;
    // Below the axes: one line of tick labels and the x-axis title.
    let x_area = 2 * px(TICK_MARK) + px(TICK_FONT * 1.2 + AXIS_TITLE_FONT * 1.5);
    let build = |x_ticks: &Ticks| {
        ChartBuilder::on(area)
            .margin_top(px(axes.headroom))
            .margin_right(px(margin_right))
            .margin_bottom(px(OUTER_MARGIN))
            .margin_left(px(OUTER_MARGIN))
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x_ticks.coord(x.lo, x.hi), y.ticks.coord(y.lo, y.hi))
            .map_err(backend_error)
    };
    let probe = build(&x.ticks)?;
    let x_ticks = thin_ticks(
        &x.ticks,
        x.log_floor.is_some(),
        |pos| probe.backend_coord(&(pos, y.lo)).0,
        |label| text_width(label, TICK_FONT),
    )?;
    drop(probe);
    let mut chart = build(&x_ticks)?;
    beneath(&chart)?;
    draw_mesh(&mut chart, false)?;
    draw_mesh(&mut chart, true)?;
    let (plot_x, plot_y) = chart.plotting_area().get_pixel_range();
    for (&pos, label) in x_ticks.major.iter().zip(&x_ticks.labels) {
        let at = (
            chart.backend_coord(&(pos, y.lo)).0,
            plot_y.end + tick_label_gap(),
        );
        draw_label(root, label, TICK_FONT, TOP, at)?;
    }
    draw_y_tick_labels(&chart, root, &y.ticks, x.lo)?;
    let at = ((plot_x.start + plot_x.end) / 2, plot_y.end + x_area as i32);
    draw_label(root, axes.titles.0, AXIS_TITLE_FONT, BOTTOM, at)?;
    draw_y_title(&chart, root, (&y_title, y_title_em), y_area)?;
    Ok(chart)
}

/// Legend entries: each label with its sample.
pub(super) type Entries<'a> = Vec<(&'a str, Sample)>;

/// Draws an x-y figure with a legend: `title`, the frame of `axes`, then what `draw`
/// draws on the chart, and the legend of the entries it returns, `(series, marks)` (see
/// [`draw_legend_entries`]), level with the top of the axes.
pub(super) fn xy_figure<'e, DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    axes: &Axes,
    draw: impl FnOnce(&Chart<DB>) -> Result<(Entries<'e>, Entries<'e>), PlotError>,
) -> Result<(), PlotError> {
    let (plot_area, legend_column) = chart_and_legend(root, title)?;
    let chart = framed_chart(root, &plot_area, axes, OUTER_MARGIN * 2.0, |_| Ok(()))?;
    let (series, marks) = draw(&chart)?;
    let (_, plot_y) = chart.plotting_area().get_pixel_range();
    draw_legend_entries(&legend_column, plot_y.start, &series, &marks, LEGEND_SAMPLE)
}

/// Keeps only as many of `ticks` as can be labelled without the labels
/// touching: `centre(pos)` is a tick's pixel position along the axis and
/// `size(label)` the label's extent along it. On a log axis (`log`, positions
/// in log10 units) the 2s and 5s go first; after that every second, third, ...
/// tick is kept, starting with the first, so the kept ticks stay evenly spread.
pub(super) fn thin_ticks(
    ticks: &Ticks,
    log: bool,
    centre: impl Fn(f64) -> i32,
    size: impl Fn(&str) -> Result<u32, PlotError>,
) -> Result<Ticks, PlotError> {
    let gap = offset(TICK_FONT * 0.5);
    let overlaps = |t: &Ticks| -> Result<bool, PlotError> {
        let mut spans = Vec::with_capacity(t.major.len());
        for (&pos, label) in t.major.iter().zip(&t.labels) {
            let half = size(label)? as i32 / 2;
            let c = centre(pos);
            spans.push((c - half, c + half));
        }
        spans.sort_unstable();
        Ok(spans.windows(2).any(|w| w[1].0 - w[0].1 < gap))
    };
    if !overlaps(ticks)? {
        return Ok(ticks.clone());
    }
    // Dropping the 2s and 5s helps only if at least two decades remain.
    let decades = ticks.decades_only();
    let base = if log && decades.major.len() >= 2 {
        if !overlaps(&decades)? {
            return Ok(decades);
        }
        decades
    } else {
        ticks.clone()
    };
    for stride in 2..base.major.len().max(2) {
        let thinned = base.every(stride);
        if !overlaps(&thinned)? {
            return Ok(thinned);
        }
    }
    Ok(base.every(base.major.len().max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thins `ticks` for labels `width` px wide at `px_per_unit` px per axis unit.
    fn thinned(ticks: &Ticks, log: bool, px_per_unit: f64, width: u32) -> Vec<String> {
        let thin = thin_ticks(ticks, log, |u| (u * px_per_unit) as i32, |_| Ok(width));
        thin.expect("no text measured").labels
    }

    #[test]
    fn crowded_labels_are_thinned_evenly() {
        let ticks = Ticks::log_sweep(5.0, 6.5);
        assert_eq!(ticks.labels, ["1e5", "2e5", "5e5", "1e6", "2e6"]);
        assert_eq!(
            thinned(&ticks, true, 1000.0, 60),
            ticks.labels,
            "room for all"
        );
        assert_eq!(
            thinned(&ticks, true, 150.0, 60),
            ["1e5", "1e6"],
            "decades first"
        );
        let values: Vec<f64> = (0..12).map(f64::from).collect();
        let every = Ticks::at_values(values.clone(), &values);
        assert_eq!(
            thinned(&every, false, 50.0, 60),
            ["0", "2", "4", "6", "8", "10"]
        );
        // 3e5 to 4.2e5: no decade in range, so the fallback ticks are linear values.
        let narrow = Ticks::log_sweep(3e5_f64.log10(), 4.2e5_f64.log10());
        let survive = thinned(&narrow, true, 2000.0, 90).len() >= 2;
        assert!(survive, "labels survive thinning");
    }
}
