//! Publication-quality figures, each drawn once with plotters' SVG backend and
//! rasterized from that SVG to a 300 dpi PNG ([`Rendered`]): the time course
//! ([`time_course`]); for sweeps and comparisons a faceted heatmap ([`heatmap`]),
//! a line plot ([`line_plot`]) and a grouped bar chart ([`bar_chart`]); model
//! against data ([`model_vs_data`]); observed against predicted
//! ([`observed_vs_predicted`]); the trial atlas ([`atlas_exposure`],
//! [`atlas_dose`]); and a population's ribbons and histograms ([`ribbons`],
//! [`histograms`]).
//!
//! The figures go straight into a manuscript, so legibility in print wins over
//! flexibility:
//!
//! * **Embedded font.** DejaVu Sans is compiled in; text is measured with its
//!   metrics and the PNG rasterized with it alone, so figures are the same on a
//!   server without fonts. The SVG names the generic `sans-serif`.
//! * **Print size.** 7 x 4.2 inches at 300 dpi (2100 x 1260 px) with a `pHYs`
//!   chunk declaring 300 dpi, which submission systems check; type and line
//!   sizes are chosen for that size. The SVG is the same drawing, displayed at
//!   700 x 420 px.
//! * **The legend never hides data.** It has its own column right of the axes,
//!   wraps labels onto at most two lines, and shrinks or summarises the tail as
//!   "+ N more" rather than overflow (`legend`).
//! * **Distinct colours.** Ten colours built on the colour-blind-safe Okabe-Ito
//!   palette (`lines::PALETTE`); beyond ten they repeat dashed, then dotted.
//! * **Doses are visible but quiet**: grey triangles above the axes, a dashed
//!   line per bolus and a light band per infusion, beneath the curves (`doses`).
//! * **Ticks a reader can use**: 1-2-5 steps, weekly steps on day axes,
//!   decades on log axes, compact labels ("2e5") (`axis`).
//! * **Log axes do not lie about zero.** The time course's floor is the largest
//!   power of ten not above `max(smallest positive value, min(1, 1e-3 x peak))`,
//!   so a cell count never reaches below one cell while fractions of dose still
//!   get three decades; curves are cut at the floor, interpolated in log space,
//!   and resume above it. With no positive value the axis shows 1-10.
//! * **Non-finite numbers are errors, not gaps**: a NaN in a time course means a
//!   bug upstream and is a [`PlotError`]. In the sweep figures NaN marks a
//!   failed grid point and is drawn as missing (hatched cells, gaps, "n/a"
//!   bars); only infinities are errors there.
//!
//! Every figure is one drawing routine (the private `Figure` trait) run on the
//! SVG backend; `render` turns that SVG into the PNG (`png` says why resvg).
//! The parts: input checks (`prepared`), axes and ticks (`axis`), text and the
//! font (`text`), the x-y frame (`frame`), strokes (`lines`), markers and bars
//! (`marks`), dose marks (`doses`), the legend (`legend`) and fills (`colour`).

mod atlas;
mod axis;
mod barchart;
mod colour;
mod doses;
mod frame;
mod heatmap;
mod legend;
mod lineplot;
mod lines;
mod marks;
// Shadows the `png` crate in this file, where the crate is `::png`.
mod png;
mod population;
mod prepared;
mod scatter;
mod text;
mod validation;

use plotters::coord::Shift;
use plotters::prelude::*;

pub use atlas::{atlas_dose, atlas_exposure, AtlasDose, AtlasExposure, AtlasPoint, Response};
pub use barchart::{bar_chart, BarChart};
pub use heatmap::{heatmap, Heatmap, Panel};
pub use lineplot::{line_plot, LinePlot};
pub use population::{histograms, ribbons, Band, Histogram, Histograms, Ribbons};
pub use scatter::{observed_vs_predicted, ObservedVsPredicted, ScatterGroup};
pub use validation::{model_vs_data, DataPanel, DataPoint, ModelVsData, OrganTrack};

use axis::TickAxis;
use doses::{draw_dose_marks, DOSE_TRIANGLE_HEIGHT};
use frame::{chart_and_legend, framed_chart, Axes, Entries};
use legend::{draw_legend_entries, Sample, LEGEND_SAMPLE};
use lines::{draw_series, SeriesStyle};
use prepared::Prepared;

/// Drawing canvas, and the PNG size: 7 x 4.2 inches at 300 dpi.
const CANVAS: (u32, u32) = (2100, 1260);
/// The SVG is displayed at 100 px per inch, one third of the canvas size in
/// each direction (700 x 420 for the 2100 x 1260 canvas); its viewBox is the
/// full canvas.
const SVG_SCALE: u32 = 3;

/// Fraction of the figure width given to the axes; the rest holds the legend.
const CHART_FRACTION: f64 = 0.78;

// Design sizes in 300-dpi pixels (1 pt = 4.17 px); fonts are em sizes.
/// Title: 11 pt.
const TITLE_FONT: f64 = 46.0;
/// Axis titles: 9.6 pt.
const AXIS_TITLE_FONT: f64 = 40.0;
/// Titles that do not fit may shrink to this fraction of their size before
/// they are elided.
const TITLE_MIN_FONT_FRACTION: f64 = 0.7;
/// Tick labels: 8.4 pt.
const TICK_FONT: f64 = 35.0;
/// Axis lines: 0.25 mm.
const AXIS_LINE: f64 = 3.0;
/// Grid lines: light grey, 0.17 mm.
const GRID_LINE: f64 = 2.0;
/// Tick marks outside the axes: 1 mm.
const TICK_MARK: f64 = 12.0;
/// White margin around the figure's content: 2 mm.
const OUTER_MARGIN: f64 = 24.0;

const AXIS_COLOUR: RGBColor = RGBColor(0x40, 0x40, 0x40);
const GRID_COLOUR: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
const MINOR_GRID_COLOUR: RGBColor = RGBColor(0xF0, 0xF0, 0xF0);

/// One curve: legend label and y values (same length as [`PlotInput::time_days`]).
///
/// Values are kept as plain `f64` so any quantity (cells, cells per gram,
/// fraction of dose) can be drawn; the caller names the unit in
/// [`PlotInput::y_label`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Text shown next to the curve's line sample in the legend.
    pub label: String,
    /// One value per time point; must be finite.
    pub values: Vec<f64>,
}

/// A dose administration to mark: a bolus has `end_day == start_day`; an
/// infusion spans `[start_day, end_day]`.
///
/// Marking doses lets a reader relate peaks and washout to the schedule
/// without cross-referencing a table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoseMark {
    /// Day the administration starts.
    pub start_day: f64,
    /// Day the administration ends; equal to `start_day` for a bolus.
    pub end_day: f64,
}

/// How the y axis maps values; cell numbers often span many decades, hence [`YScale::Log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YScale {
    /// Linear axis from zero (or the most negative value) to 5 % above the peak.
    Linear,
    /// Decade axis; see the module documentation for how zeros and the floor are handled.
    Log,
}

/// Everything needed to draw one figure; borrowed so callers keep ownership of their data.
#[derive(Debug, Clone, Copy)]
pub struct PlotInput<'a> {
    /// Figure title, centred above the axes.
    pub title: &'a str,
    /// Y-axis title including units, e.g. `"Live cells"`.
    pub y_label: &'a str,
    /// Time grid in days, non-decreasing and finite.
    pub time_days: &'a [f64],
    /// Curves to draw, each with one value per time point.
    pub series: &'a [Series],
    /// Dose administrations to mark beneath the curves.
    pub doses: &'a [DoseMark],
    /// Linear or logarithmic y axis.
    pub y_scale: YScale,
}

/// Why a figure could not be produced. Input problems are reported precisely so
/// the caller can point at the offending series or dose.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A series value is NaN or infinite (treated as an upstream bug, not a gap).
    #[error("series \"{label}\" has a non-finite value ({value}) at time point {index}")]
    NonFiniteValue {
        /// Label of the offending series.
        label: String,
        /// Position within the series.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A dose has a non-finite time or ends before it starts.
    #[error("dose {index} is invalid: start {start_day} d, end {end_day} d (need finite times with end >= start)")]
    InvalidDose {
        /// Position in `doses`.
        index: usize,
        /// Its start day.
        start_day: f64,
        /// Its end day.
        end_day: f64,
    },
    /// A figure was given nothing to draw along one of its inputs.
    #[error("cannot plot: `{field}` is empty")]
    Empty {
        /// Name of the empty input field: `time_days`, `series`, `x_values`,
        /// `y_values`, `panels`, `lines`, `categories` or `groups`.
        field: &'static str,
    },
    /// A time point or a grid coordinate of a sweep figure breaks its axis's rule
    /// (`rule`): finite; increasing, strictly on a sweep grid, where a repeated value
    /// would give a cell of zero width (and a time grid going backwards would fold the
    /// curves back on themselves); positive on a logarithmic axis.
    #[error("`{field}[{index}]` is {value}, but {rule}")]
    BadCoordinate {
        /// Name of the input field: `time_days`, `x_values` or `y_values`.
        field: &'static str,
        /// Position within it.
        index: usize,
        /// The offending value.
        value: f64,
        /// What the value must be.
        rule: &'static str,
    },
    /// A heatmap panel does not have one value per grid cell.
    #[error("panel \"{panel}\" has {actual} values but the grid has {expected} cells ({nx} x values times {ny} y values)")]
    PanelSizeMismatch {
        /// Title of the offending panel.
        panel: String,
        /// Number of grid cells, `nx * ny`.
        expected: usize,
        /// Number of values in the panel.
        actual: usize,
        /// Number of x values.
        nx: usize,
        /// Number of y values.
        ny: usize,
    },
    /// A series does not have one value per time point, x value or category.
    #[error("series \"{label}\" has {actual} values but there are {expected} {of}")]
    SeriesSizeMismatch {
        /// Label of the offending series.
        label: String,
        /// Number of x values or categories.
        expected: usize,
        /// Number of values in the series.
        actual: usize,
        /// What the values correspond to: `"time points"`, `"x values"` or
        /// `"categories"`.
        of: &'static str,
    },
    /// A value in a sweep figure is infinite. NaN marks a missing value and is
    /// drawn as such; an infinity means a bug upstream, so it is reported.
    #[error("\"{label}\" has an infinite value ({value}) at position {index}; use NaN for a missing value")]
    InfiniteValue {
        /// Title of the panel or label of the series.
        label: String,
        /// Position within its values.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The embedded font could not be parsed (a build problem, not a user error).
    #[error("the embedded DejaVu Sans font could not be loaded")]
    Font,
    /// The drawing backend failed; the message comes from plotters.
    #[error("drawing failed: {0}")]
    Backend(String),
    /// Encoding the rasterized pixels as PNG failed.
    #[error("PNG encoding failed: {0}")]
    PngEncoding(#[from] ::png::EncodingError),
}

/// A figure in both formats: the SVG as drawn, and the PNG rasterized from it.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// 300 dpi PNG at the canvas size (2100 x 1260 px for most figures),
    /// with a `pHYs` chunk declaring 300 dpi.
    pub png: Vec<u8>,
    /// SVG document displayed at one third of the canvas size (700 x 420 px
    /// for most figures) over a viewBox of the full canvas, text kept as text.
    pub svg: String,
}

/// Draws the time-course figure.
///
/// # Errors
/// Any [`PlotError`]: invalid input, or a rendering or encoding failure.
pub fn time_course(input: &PlotInput) -> Result<Rendered, PlotError> {
    let prep = Prepared::new(input)?;
    render(&TimeCourse { input, prep })
}

/// A figure with validated input, ready to be drawn.
trait Figure {
    /// Canvas size in 300-dpi pixels: the PNG's size, and the SVG's viewBox;
    /// 7 x 4.2 inches unless the figure needs more height.
    fn canvas(&self) -> (u32, u32) {
        CANVAS
    }

    /// Draws the whole figure onto `root`, which covers the full canvas.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

/// Draws `figure` once as SVG and rasterizes that SVG as the PNG.
///
/// The SVG is drawn on the full canvas (plotters rounds coordinates to whole
/// units, so a 300-dpi canvas keeps curves smooth and lines as thin as in the
/// PNG) and declares a display size of one third of it: 100 px per inch.
fn render(figure: &impl Figure) -> Result<Rendered, PlotError> {
    let (w, h) = figure.canvas();
    let mut drawn = String::new();
    {
        let root = SVGBackend::with_string(&mut drawn, (w, h)).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(backend_error)?;
    }
    let svg = drawn.replacen(
        &format!("<svg width=\"{w}\" height=\"{h}\""),
        &format!(
            "<svg width=\"{}\" height=\"{}\"",
            w / SVG_SCALE,
            h / SVG_SCALE
        ),
        1,
    );
    let png = png::rasterize(&svg, (w, h))?;
    Ok(Rendered { png, svg })
}

/// Converts any plotters drawing error into the backend-neutral [`PlotError::Backend`].
fn backend_error<E: std::error::Error + Send + Sync>(err: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Backend(err.to_string())
}

/// A point on the canvas, in backend pixels.
type Pixel = (i32, i32);

/// A design length (300-dpi pixels) as a whole number of canvas units, at least one.
fn px(size: f64) -> u32 {
    size.round().max(1.0) as u32
}

/// [`px`] as a signed coordinate offset.
fn offset(size: f64) -> i32 {
    px(size) as i32
}

/// The chart over the axes, in days by axis units; the submodules that draw
/// on it (curves, dose marks) take it in this form.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<TickAxis, TickAxis>>;

/// The time-course figure: the input with its derived axes (see [`Prepared`]).
struct TimeCourse<'a> {
    input: &'a PlotInput<'a>,
    prep: Prepared,
}

impl Figure for TimeCourse<'_> {
    /// Bottom to top: dose marks, grid, axes, curves, so dose marks never
    /// cover data or axis lines.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (input, prep) = (self.input, &self.prep);
        let mut axes = Axes::new(&prep.x_axis, &prep.y_axis, ("Time (days)", input.y_label));
        axes.headroom = DOSE_TRIANGLE_HEIGHT + TICK_FONT * 0.6;
        let (plot_area, legend_column) = chart_and_legend(root, input.title)?;
        let beneath = |chart: &Chart<DB>| draw_dose_marks(chart, root, prep);
        let chart = framed_chart(root, &plot_area, &axes, OUTER_MARGIN * 2.0, beneath)?;
        draw_series(root, &chart, input, prep)?;
        let style = |i| Sample::Line(SeriesStyle::for_index(i));
        let series = input.series.iter().enumerate();
        let series: Entries = series.map(|(i, s)| (s.label.as_str(), style(i))).collect();
        let mut marks = Vec::new();
        if !prep.doses.is_empty() {
            marks.push(("Dose", Sample::Dose));
        }
        if prep.doses.iter().any(|(a, b)| b > a) {
            marks.push(("Infusion", Sample::Infusion));
        }
        let (_, plot_y) = chart.plotting_area().get_pixel_range();
        draw_legend_entries(&legend_column, plot_y.start, &series, &marks, LEGEND_SAMPLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` decaying series over four weeks, shared by the tests of every submodule.
    pub(super) fn demo_series(n: usize) -> (Vec<f64>, Vec<Series>) {
        let times: Vec<f64> = (0..=56).map(|i| f64::from(i) * 0.5).collect();
        let series = (0..n)
            .map(|k| {
                series(&format!("Compartment {k}"), &times, |t| {
                    1e6 * (-(0.2 + 0.1 * k as f64) * t).exp()
                })
            })
            .collect();
        (times, series)
    }

    /// A series labelled `label` of `f` at each of `at`.
    pub(super) fn series(label: &str, at: &[f64], f: impl Fn(f64) -> f64) -> Series {
        let values = at.iter().map(|&t| f(t)).collect();
        Series {
            label: label.into(),
            values,
        }
    }

    /// The message of the error `result` must be.
    pub(super) fn error<T: std::fmt::Debug>(result: Result<T, PlotError>) -> String {
        result.expect_err("must fail").to_string()
    }

    /// The SVG of a figure that must render.
    pub(super) fn svg_of(figure: Result<Rendered, PlotError>) -> String {
        figure.expect("renders").svg
    }

    /// Whether `svg` has a text element reading exactly `text` (plotters
    /// writes each text on a line of its own).
    pub(super) fn svg_has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    /// The texts of `svg`, in drawing order, joined by spaces: a label
    /// wrapped onto several lines (drawn one after the other) reads whole.
    pub(super) fn svg_text_run(svg: &str) -> String {
        svg.split("<text")
            .skip(1)
            .filter_map(|element| {
                let body = element.split_once(">\n")?.1;
                Some(body.split_once("\n</text>")?.0.to_owned())
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Width, height and RGB pixels of a PNG.
    pub(super) fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = ::png::Decoder::new(bytes).read_info().expect("decodes");
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).expect("frame");
        (frame.width, frame.height, buf)
    }

    /// A bolus (`start == end`) or an infusion.
    pub(super) fn dose(start_day: f64, end_day: f64) -> DoseMark {
        DoseMark { start_day, end_day }
    }

    /// A figure of `series` with this module's standard title and y label.
    pub(super) fn input<'a>(
        times: &'a [f64],
        series: &'a [Series],
        doses: &'a [DoseMark],
        y_scale: YScale,
    ) -> PlotInput<'a> {
        let (title, y_label) = ("Live MSCs by organ", "Live cells");
        PlotInput {
            title,
            y_label,
            time_days: times,
            series,
            doses,
            y_scale,
        }
    }

    #[test]
    fn svg_lists_every_label_of_ten_series() {
        let (times, series) = demo_series(10);
        let doses = [dose(1.0, 2.0)];
        let figure = time_course(&input(&times, &series, &doses, YScale::Linear)).expect("renders");
        let svg = figure.svg;
        assert!(svg.starts_with(r#"<svg width="700" height="420" viewBox="0 0 2100 1260""#));
        assert_eq!(decode(&figure.png).0, 2100);
        let labels = series.iter().map(|s| s.label.as_str());
        let titles = [
            "Time (days)",
            "Live cells",
            "Live MSCs by organ",
            "Dose",
            "Infusion",
        ];
        for text in labels.chain(titles) {
            assert!(svg_has_text(&svg, text), "missing {text}");
        }
        assert!(!svg.contains(" more"), "ten series fit without eliding");
    }

    #[test]
    fn zeros_on_a_log_axis_and_a_single_time_point_render() {
        let times = [0.0, 1.0, 2.0, 3.0];
        let curves = [
            series("zeros", &times, |_| 0.0),
            series("mixed", &times, |t| [0.0, 1e5, 0.0, 10.0][t as usize]),
        ];
        let doses = [dose(1.0, 1.5)];
        time_course(&input(&times, &curves, &doses, YScale::Log)).expect("log with zeros");
        for scale in [YScale::Log, YScale::Linear] {
            time_course(&input(&times, &curves[..1], &[], scale)).expect("all zeros");
        }
        let one = [series("one", &[2.0], |_| 5.0)];
        let svg = svg_of(time_course(&input(&[2.0], &one, &[], YScale::Linear)));
        assert!(svg.contains("<circle"), "a lone point is drawn as a dot");
    }
}
