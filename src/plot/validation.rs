//! Model against data: for one validation case, the model per organ over time as a curve
//! and the study's observations as markers, SDs as error bars, ranges as brackets.
//!
//! Each unit (percent of the injected dose, percent of a series' first value) gets a
//! panel of its own; each organ keeps one colour across panels. The y axes are
//! logarithmic because agreement is judged on the fold scale, and are set by the data and
//! by the curves over the observed span.
//!
//! Qualitative statements become ranges whose bounds may stand in for "no bound" (0
//! below, 10000 % above). Such a bound must not stretch the axis over empty decades: a
//! lower bound of 0 and any bound more than `OPEN_BOUND_FACTOR` beyond the rest of the
//! panel run to the axis edge without a cap, so the reader sees an open end.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Ticks, YAxis};
use super::frame::{chart_and_legend, framed_chart, Axes, Entries};
use super::legend::{draw_legend_entries, Sample, LEGEND_SAMPLE};
use super::lines::{canvas_mapping, draw_run, rounded, runs, SeriesStyle, PALETTE};
use super::marks::{draw_bar, draw_marker, DataMark, RANGE_CAP, RANGE_LINE, SD_CAP, SD_LINE};
use super::prepared::check_length;
use super::{offset, px, render, Figure, PlotError, Rendered, OUTER_MARGIN};

/// A range bound more than this factor beyond every other value of its panel is drawn as
/// open (see the module documentation).
const OPEN_BOUND_FACTOR: f64 = 10.0;
/// Horizontal offset between the marks of neighbouring organs in a panel, so organs
/// observed at the same time do not hide each other's bars (the curves stay in place).
const DODGE: f64 = 30.0;
/// Horizontal gap between panels: room for the next panel's y-axis text.
const PANEL_GAP: f64 = 30.0;
/// Space left before time 0 and after the last time, as a fraction of the span, so
/// markers at the ends are not cut by the axes.
const X_PADDING: f64 = 0.03;

/// One observation as drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataPoint {
    /// Hours after the first administration.
    pub time_h: f64,
    /// The observed value, if the row gives one.
    pub value: Option<f64>,
    /// Its standard deviation.
    pub sd: Option<f64>,
    /// A range `(low, high)`, if the row gives one.
    pub range: Option<(f64, f64)>,
    /// Whether the value is a series' reference (100 % by definition): drawn hollow.
    pub reference: bool,
}

/// One organ in a panel: the model curve and the observations.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganTrack {
    /// Legend label (the organ).
    pub label: String,
    /// Palette index, the same for an organ in every panel and figure.
    pub colour: usize,
    /// Times of the curve (hours, ascending).
    pub curve_h: Vec<f64>,
    /// The model's value at each curve time, in the panel's unit.
    pub curve: Vec<f64>,
    /// The observations.
    pub points: Vec<DataPoint>,
}

/// One panel: every organ observed in one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPanel {
    /// Y-axis title with the unit.
    pub y_label: String,
    /// The organs.
    pub tracks: Vec<OrganTrack>,
}

/// A model-versus-data figure.
#[derive(Debug, Clone, Copy)]
pub struct ModelVsData<'a> {
    /// Figure title, centred above the panels.
    pub title: &'a str,
    /// X-axis title with units, shared by the panels.
    pub x_label: &'a str,
    /// The panels, left to right.
    pub panels: &'a [DataPanel],
}

/// Draws the figure: 2100 x 1260 px (700 x 420 px as SVG).
///
/// # Errors
/// [`PlotError::Empty`] without panels or tracks, [`PlotError::SeriesSizeMismatch`] when a
/// curve's times and values differ in length, [`PlotError::InfiniteValue`] for a
/// non-finite number; a rendering or encoding failure otherwise.
pub fn model_vs_data(plot: &ModelVsData) -> Result<Rendered, PlotError> {
    render(&DataFigure::new(plot)?)
}

/// The figure with checked input and each panel's axes.
struct DataFigure<'a> {
    plot: &'a ModelVsData<'a>,
    /// The shared time axis (hours).
    x: YAxis,
    axes: Vec<YAxis>,
}

impl<'a> DataFigure<'a> {
    fn new(plot: &'a ModelVsData<'a>) -> Result<Self, PlotError> {
        if plot.panels.is_empty() {
            return Err(PlotError::Empty { field: "panels" });
        }
        let mut x_hi: f64 = 0.0;
        for panel in plot.panels {
            if panel.tracks.is_empty() {
                return Err(PlotError::Empty { field: "tracks" });
            }
            for track in &panel.tracks {
                let (label, times) = (&track.label, track.curve_h.len());
                check_length(label, times, track.curve.len(), "curve times")?;
                let numbers = track.curve_h.iter().chain(&track.curve).copied().chain(
                    track.points.iter().flat_map(|p| {
                        [p.time_h]
                            .into_iter()
                            .chain(p.value)
                            .chain(p.sd)
                            .chain(p.range.into_iter().flat_map(|(l, h)| [l, h]))
                    }),
                );
                if let Some((index, value)) = numbers.enumerate().find(|(_, v)| !v.is_finite()) {
                    let label = label.clone();
                    return Err(PlotError::InfiniteValue {
                        label,
                        index,
                        value,
                    });
                }
                x_hi = track
                    .curve_h
                    .iter()
                    .chain(track.points.iter().map(|p| &p.time_h))
                    .fold(x_hi, |a, &t| a.max(t));
            }
        }
        let x_hi = if x_hi > 0.0 { x_hi } else { 1.0 };
        let x = YAxis {
            lo: -X_PADDING * x_hi,
            hi: x_hi * (1.0 + X_PADDING),
            log_floor: None,
            ticks: Ticks::linear(0.0, x_hi, false),
        };
        let axes = plot.panels.iter().map(panel_axis).collect();
        Ok(Self { plot, x, axes })
    }
}

/// The values that set a panel's axis: curves, observed values and their SD, and the
/// range bounds that are not open.
fn panel_axis(panel: &DataPanel) -> YAxis {
    let core = core_values(panel);
    let (lo, hi) = extent(&core);
    let bounds: Vec<f64> = panel
        .tracks
        .iter()
        .flat_map(|t| t.points.iter().filter_map(|p| p.range))
        .flat_map(|(l, h)| [l, h])
        .filter(|&b| !is_open(b, lo, hi))
        .collect();
    let mut axis = YAxis::log(core.into_iter().chain(bounds));
    // Each label at its own precision ("0.1", "1", "100"), as on the sweep figures.
    axis.ticks = Ticks::log_sweep(axis.lo, axis.hi);
    axis
}

/// The positive values of a panel other than range bounds: observed values and their
/// value + SD, and the curves from the panel's first observation on (before it, a curve
/// may start from zero, and its rise would stretch the axis over decades with no data).
fn core_values(panel: &DataPanel) -> Vec<f64> {
    let first = panel
        .tracks
        .iter()
        .flat_map(|t| t.points.iter().map(|p| p.time_h))
        .fold(f64::INFINITY, f64::min);
    panel
        .tracks
        .iter()
        .flat_map(|t| {
            let curve = t
                .curve_h
                .iter()
                .zip(&t.curve)
                .filter(move |(&h, _)| h >= first)
                .map(|(_, &v)| v);
            curve.chain(t.points.iter().flat_map(|p| {
                p.value
                    .into_iter()
                    .chain(p.value.zip(p.sd).map(|(v, sd)| v + sd))
            }))
        })
        .filter(|&v| v > 0.0)
        .collect()
}

/// Smallest and largest of `values` (infinity and 0 when empty).
fn extent(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(l, h), &v| (l.min(v), h.max(v)))
}

/// Whether a range bound is drawn open, given the smallest and largest other positive
/// values of its panel (`lo` infinite when there are none).
fn is_open(bound: f64, lo: f64, hi: f64) -> bool {
    bound <= 0.0 || (hi > 0.0 && (bound > hi * OPEN_BOUND_FACTOR || bound < lo / OPEN_BOUND_FACTOR))
}

impl Figure for DataFigure<'_> {
    /// Splits the chart column into panels, draws each (grid, axes, curves, then ranges,
    /// error bars and markers on top), and the legend: organs, then the marks used.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (plot_area, legend_column) = chart_and_legend(root, self.plot.title)?;
        let (width, _) = plot_area.dim_in_pixel();
        let n = self.plot.panels.len() as u32;
        let gap = px(PANEL_GAP);
        let panel_width = (width.saturating_sub(gap * (n - 1))) / n;
        let mut rest = plot_area;
        let mut top = 0;
        for (i, (panel, y)) in self.plot.panels.iter().zip(&self.axes).enumerate() {
            let (area, right) = rest.split_horizontally(panel_width);
            rest = if i + 1 < self.plot.panels.len() {
                right.split_horizontally(gap).1
            } else {
                right
            };
            top = self.draw_panel(root, &area, panel, y)?;
        }

        let tracks = || self.plot.panels.iter().flat_map(|p| &p.tracks);
        let mut entries: Entries = Vec::new();
        for track in tracks() {
            if !entries.iter().any(|(label, _)| *label == track.label) {
                let sample = Sample::Line(SeriesStyle::for_index(track.colour));
                entries.push((&track.label, sample));
            }
        }
        let mut marks = vec![("Model", Sample::Line(SeriesStyle::neutral()))];
        for (label, mark) in [
            ("Observed", DataMark::Marker),
            ("Reference (100 % by definition)", DataMark::Reference),
            ("± SD", DataMark::Sd),
            ("Range (no cap: open end)", DataMark::Range),
        ] {
            if tracks().flat_map(|t| &t.points).any(|p| shows(p, mark)) {
                marks.push((label, Sample::DataMark(mark)));
            }
        }
        draw_legend_entries(&legend_column, top, &entries, &marks, LEGEND_SAMPLE)
    }
}

/// Whether observation `p` is drawn with `mark`.
fn shows(p: &DataPoint, mark: DataMark) -> bool {
    match mark {
        DataMark::Marker => p.value.is_some() && !p.reference,
        DataMark::Reference => p.reference,
        DataMark::Sd => p.sd.is_some(),
        DataMark::Range => p.range.is_some(),
    }
}

impl DataFigure<'_> {
    /// Draws one panel; returns the canvas y of the top of its axes.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        panel: &DataPanel,
        y: &YAxis,
    ) -> Result<i32, PlotError> {
        let titles = (self.plot.x_label, panel.y_label.as_str());
        let axes = Axes::new(&self.x, y, titles);
        let chart = framed_chart(root, area, &axes, OUTER_MARGIN, |_| Ok(()))?;

        let to_canvas = canvas_mapping(&chart);
        let floor = y.log_floor.unwrap_or(f64::MIN_POSITIVE);
        // Axis value of a data value, clamped to the axis (for bars running off it).
        let level = |v: f64| {
            if v <= 0.0 {
                y.lo
            } else {
                v.log10().clamp(y.lo, y.hi)
            }
        };
        let pixel = |t: f64, axis_value: f64| rounded(to_canvas(&(t, axis_value)));
        for track in &panel.tracks {
            let style = SeriesStyle::for_index(track.colour);
            for run in runs(&track.curve_h, &track.curve, y.log_floor) {
                let points: Vec<(f64, f64)> = run.iter().map(&to_canvas).collect();
                draw_run(root, &points, style)?;
            }
        }
        let (lo, hi) = extent(&core_values(panel));
        let mut markers = Vec::new();
        let centre = (panel.tracks.len() as f64 - 1.0) / 2.0;
        // Dodged marks stay inside the axes, range caps included.
        let (plot_x, _) = chart.plotting_area().get_pixel_range();
        let inside = (
            plot_x.start + offset(RANGE_CAP),
            plot_x.end - offset(RANGE_CAP),
        );
        for (k, track) in panel.tracks.iter().enumerate() {
            let colour = PALETTE[track.colour % PALETTE.len()];
            let dodge = ((k as f64 - centre) * DODGE).round() as i32;
            let pixel = |t: f64, axis_value: f64| {
                let (x, y) = pixel(t, axis_value);
                ((x + dodge).clamp(inside.0, inside.1), y)
            };
            for p in &track.points {
                if let Some((low, high)) = p.range {
                    let ends =
                        [low, high].map(|b| (pixel(p.time_h, level(b)), !is_open(b, lo, hi)));
                    draw_bar(root, colour, RANGE_LINE, RANGE_CAP, ends[0], ends[1])?;
                }
                if let (Some(v), Some(sd)) = (p.value, p.sd) {
                    let low = v - sd;
                    let ends = (pixel(p.time_h, level(low)), low > floor);
                    let high = (pixel(p.time_h, level(v + sd)), true);
                    draw_bar(root, colour, SD_LINE, SD_CAP, ends, high)?;
                }
                if let Some(v) = p.value.filter(|&v| v >= floor) {
                    markers.push((colour, p.reference, pixel(p.time_h, v.log10())));
                }
            }
        }
        for (colour, hollow, centre) in markers {
            draw_marker(root, colour, hollow, centre)?;
        }
        let (_, plot_y) = chart.plotting_area().get_pixel_range();
        Ok(plot_y.start)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, svg_has_text};
    use super::*;

    fn track(label: &str, colour: usize, points: Vec<DataPoint>) -> OrganTrack {
        let curve_h: Vec<f64> = (0..=50).map(|i| f64::from(i) * 0.5).collect();
        let curve = curve_h.iter().map(|t| 100.0 * (-t / 20.0).exp()).collect();
        let label = label.into();
        OrganTrack {
            label,
            colour,
            curve_h,
            curve,
            points,
        }
    }

    /// An observation at `time_h`: a value with its SD, or a range.
    fn point(
        time_h: f64,
        value: Option<f64>,
        sd: Option<f64>,
        range: Option<(f64, f64)>,
    ) -> DataPoint {
        let reference = value == Some(100.0);
        DataPoint {
            time_h,
            value,
            sd,
            range,
            reference,
        }
    }

    fn panel(y_label: &str, tracks: Vec<OrganTrack>) -> DataPanel {
        DataPanel {
            y_label: y_label.into(),
            tracks,
        }
    }

    fn plot(panels: &[DataPanel]) -> ModelVsData<'_> {
        ModelVsData {
            title: "study: method",
            x_label: "Time (h)",
            panels,
        }
    }

    #[test]
    fn draws_every_label_marker_and_open_range() {
        let lung = track("lung", 0, vec![point(0.0, Some(92.0), Some(7.0), None)]);
        let reference = point(2.0, Some(100.0), None, None);
        let above = point(20.0, None, None, Some((105.0, 10000.0)));
        let spleen = track("spleen", 3, vec![reference, above]);
        let liver = track(
            "liver",
            2,
            vec![point(20.0, None, None, Some((0.0, 110.0)))],
        );
        let panels = [
            panel("% of injected dose", vec![lung]),
            panel("% of the earliest value", vec![spleen, liver]),
        ];
        let figure = model_vs_data(&plot(&panels)).expect("renders");
        let labels = [
            "study: method",
            "Time (h)",
            "% of injected dose",
            "lung",
            "spleen",
        ];
        for text in labels
            .into_iter()
            .chain(["liver", "Model", "Observed", "± SD"])
        {
            assert!(svg_has_text(&figure.svg, text), "missing {text}");
        }
        // The open 10000 % bound does not stretch the axis to 1e4.
        assert!(!svg_has_text(&figure.svg, "1e4"));
        assert_eq!(panel_axis(&panels[1]).hi.ceil(), 3.0);
        assert!(figure.png.windows(4).any(|w| w == b"pHYs"));
    }

    #[test]
    fn rejects_empty_and_mismatched_input() {
        assert!(error(model_vs_data(&plot(&[]))).contains("`panels` is empty"));
        let mut bad = track("lung", 0, vec![]);
        bad.curve.pop();
        let panels = [panel("y", vec![bad])];
        let message = error(model_vs_data(&plot(&panels)));
        assert!(message.contains("\"lung\" has 50 values but there are 51 curve times"));
    }
}
