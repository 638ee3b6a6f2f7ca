//! Line plot of a metric against one sweep axis, one line per value of another: e.g.
//! liver AUC against dose, one line per dosing interval.
//!
//! Drawn like the time course, with two things a sweep needs: a marker at every
//! computed point (a sweep is a handful of runs, not a continuous curve), and gaps where
//! a value is missing (NaN) rather than a line bridging a failed run.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Ticks, YAxis};
use super::frame::{xy_figure, Axes};
use super::legend::Sample;
use super::lines::{canvas_mapping, draw_run, rounded, runs, SeriesStyle};
use super::prepared::{check_coordinates, check_sweep_series};
use super::{render, Figure, PlotError, Rendered, Series};

/// On a log y axis, the lowest marker stays at least this many decades
/// above the axis line (else the axis starts a decade lower).
const MARKER_CLEARANCE: f64 = 0.04;
/// Space left beyond the first and last x value, as a fraction of their
/// span, so the end markers are not cut by the axes.
const X_PADDING: f64 = 0.04;

/// A line plot of one metric over a sweep axis; borrowed so callers keep
/// ownership of their data.
#[derive(Debug, Clone, Copy)]
pub struct LinePlot<'a> {
    /// Figure title, centred above the axes.
    pub title: &'a str,
    /// X-axis title with units, e.g. `"Dose (cells)"`.
    pub x_label: &'a str,
    /// Y-axis title with units, e.g. `"Liver AUC (cell days)"`.
    pub y_label: &'a str,
    /// The swept values, strictly increasing and finite (positive on a log axis).
    pub x_values: &'a [f64],
    /// Logarithmic x axis, for doses and other values swept over decades.
    pub x_log: bool,
    /// Logarithmic y axis. Values <= 0 cannot be placed on it and leave a
    /// gap, as NaN does.
    pub y_log: bool,
    /// One line per series, each with one value per x value; NaN marks a
    /// missing value (a gap in the line, no marker). The labels go in the legend.
    pub lines: &'a [Series],
}

/// Draws the line plot: 2100 x 1260 px (700 x 420 px as SVG).
///
/// # Errors
/// [`PlotError::Empty`], [`PlotError::BadCoordinate`],
/// [`PlotError::SeriesSizeMismatch`] or [`PlotError::InfiniteValue`] for
/// invalid input; a rendering or encoding failure otherwise.
pub fn line_plot(plot: &LinePlot) -> Result<Rendered, PlotError> {
    render(&LineFigure::new(plot)?)
}

/// A sweep axis in the units the chart uses (log10 of the value on a log axis).
struct SweepAxis {
    /// Where each input value sits.
    positions: Vec<f64>,
    axis: YAxis,
}

impl SweepAxis {
    /// The x axis over checked `values`, padded so end markers fit.
    fn new(values: &[f64], log: bool) -> Self {
        let positions: Vec<f64> = if log {
            values.iter().map(|v| v.log10()).collect()
        } else {
            values.to_vec()
        };
        let (first, last) = (positions[0], positions[positions.len() - 1]);
        let pad = if last > first {
            X_PADDING * (last - first)
        } else if log {
            0.5
        } else if first == 0.0 {
            1.0
        } else {
            0.5 * first.abs()
        };
        let (lo, hi) = (first - pad, last + pad);
        let ticks = Ticks::sweep(values, positions.clone(), lo, hi, log);
        let log_floor = log.then(|| 10_f64.powf(lo));
        let axis = YAxis {
            lo,
            hi,
            log_floor,
            ticks,
        };
        Self { positions, axis }
    }
}

/// The line plot with checked input and derived axes.
struct LineFigure<'a> {
    plot: &'a LinePlot<'a>,
    x: SweepAxis,
    y: YAxis,
}

impl<'a> LineFigure<'a> {
    /// Checks `plot` (see [`line_plot`] for what is rejected) and derives the axes.
    fn new(plot: &'a LinePlot<'a>) -> Result<Self, PlotError> {
        check_coordinates(plot.x_values, plot.x_log, "x_values")?;
        check_sweep_series(plot.lines, "lines", plot.x_values.len(), "x values")?;
        let values = || {
            plot.lines
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .filter(|v| v.is_finite())
        };
        let y = if plot.y_log {
            YAxis::log_sweep(values(), MARKER_CLEARANCE)
        } else {
            YAxis::linear(values())
        };
        Ok(Self {
            plot,
            x: SweepAxis::new(plot.x_values, plot.x_log),
            y,
        })
    }
}

impl Figure for LineFigure<'_> {
    /// Frame, lines, then the markers on top (so no line hides a data point), and the
    /// legend.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (x, y) = (&self.x, &self.y);
        let axes = Axes::new(&x.axis, y, (self.plot.x_label, self.plot.y_label));
        xy_figure(root, self.plot.title, &axes, |chart| {
            let to_canvas = canvas_mapping(chart);
            let mut markers = Vec::new();
            let mut entries = Vec::new();
            for (index, series) in self.plot.lines.iter().enumerate() {
                let style = SeriesStyle::for_index(index);
                for run in line_runs(&x.positions, &series.values, y.log_floor) {
                    let points: Vec<(f64, f64)> = run.iter().map(&to_canvas).collect();
                    if points.len() > 1 {
                        draw_run(root, &points, style)?;
                    }
                }
                for (&pos, &v) in x.positions.iter().zip(&series.values) {
                    let axis_value = match y.log_floor {
                        Some(floor) if v >= floor => v.log10(),
                        None if v.is_finite() => v,
                        _ => continue,
                    };
                    markers.push((style, rounded(to_canvas(&(pos, axis_value)))));
                }
                entries.push((series.label.as_str(), Sample::LineWithMarker(style)));
            }
            for (style, centre) in markers {
                style.draw_marker(root, centre)?;
            }
            Ok((entries, Vec::new()))
        })
    }
}

/// Splits one line into drawable runs of (x, axis value) points: a NaN ends
/// a run, and on a log axis (`log_floor`) so does a value below the axis,
/// as in the time course.
fn line_runs(positions: &[f64], values: &[f64], log_floor: Option<f64>) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < values.len() {
        let end = values[start..]
            .iter()
            .position(|v| v.is_nan())
            .map_or(values.len(), |n| start + n);
        if end > start {
            out.extend(runs(&positions[start..end], &values[start..end], log_floor));
        }
        start = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, series, svg_has_text, svg_of};
    use super::*;

    /// Lines of a saturating dose response over a log-spaced dose sweep.
    fn demo(n_lines: usize) -> (Vec<f64>, Vec<Series>) {
        let doses: Vec<f64> = (0..=10)
            .map(|i| 1e5 * 10_f64.powf(f64::from(i) / 5.0))
            .collect();
        let lines = (0..n_lines)
            .map(|k| {
                let label = format!("Every {} days", 7 * (k + 1));
                series(&label, &doses, |d| 1e4 * d / (d + 1e6) / (1.0 + k as f64))
            })
            .collect();
        (doses, lines)
    }

    fn plot<'a>(x: &'a [f64], lines: &'a [Series], x_log: bool, y_log: bool) -> LinePlot<'a> {
        LinePlot {
            title: "Liver AUC by dose",
            x_label: "Dose (cells)",
            y_label: "Liver AUC (cell days)",
            x_values: x,
            x_log,
            y_log,
            lines,
        }
    }

    #[test]
    fn line_plot_svg_has_every_label_and_a_marker_per_point() {
        let (doses, mut lines) = demo(6);
        lines[2].values[4] = f64::NAN;
        let svg = svg_of(line_plot(&plot(&doses, &lines, true, true)));
        assert!(svg.starts_with(r#"<svg width="700" height="420" viewBox="0 0 2100 1260""#));
        let titles = [
            "Liver AUC by dose",
            "Dose (cells)",
            "Liver AUC (cell days)",
            "1e6",
        ];
        for text in titles
            .into_iter()
            .chain(lines.iter().map(|l| l.label.as_str()))
        {
            assert!(svg_has_text(&svg, text), "missing {text}");
        }
        // Two discs (halo, colour) per data point and legend entry; one point is missing.
        let circles = svg.matches("<circle").count();
        assert_eq!(circles, 2 * (6 * doses.len() - 1) + 2 * 6);
        line_plot(&plot(&doses, &lines, false, true)).expect("linear x, log y");
    }

    #[test]
    fn nan_splits_a_line_and_zero_leaves_a_log_axis() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let v = [1.0, 2.0, f64::NAN, 4.0, 0.0, 6.0];
        let linear = line_runs(&x, &v, None);
        assert_eq!(linear.len(), 2);
        assert_eq!(linear[1], vec![(4.0, 4.0), (5.0, 0.0), (6.0, 6.0)]);
        let log = line_runs(&x, &v, Some(0.1));
        assert_eq!(log.len(), 3, "the zero splits the second run on a log axis");
    }

    #[test]
    fn line_plot_input_errors_are_precise() {
        let (doses, _) = demo(0);
        let fails =
            |x: &[f64], lines: &[Series], x_log| error(line_plot(&plot(x, lines, x_log, false)));
        let short = [series("short", &doses[..3], |_| 1.0)];
        let two = [series("two", &[1.0, 2.0], |v| v)];
        let infinite = [series("inf", &[1.0, 2.0], |v| 1.0 / (2.0 - v))];
        let cases = [
            (
                fails(&doses, &short, true),
                "\"short\" has 3 values but there are 11 x values",
            ),
            (fails(&doses, &[], true), "`lines` is empty"),
            (fails(&[0.0, 1.0], &two, true), "`x_values[0]` is 0"),
            (
                fails(&[2.0, 1.0], &two, false),
                "`x_values[1]` is 1, but sweep coordinates must increase strictly",
            ),
            (
                fails(&[1.0, 2.0], &infinite, false),
                "infinite value (inf) at position 1",
            ),
        ];
        for (got, want) in cases {
            assert!(got.contains(want), "{got}");
        }
    }
}
