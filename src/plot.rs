//! Publication-quality time-course figures, as 300 dpi PNG or as SVG.
//!
//! The figures are meant to go straight into a manuscript, so the choices
//! below favour legibility in print over flexibility:
//!
//! * **Embedded font.** DejaVu Sans is compiled into the binary and registered
//!   once under the family name `"sans-serif"`, so figures render identically
//!   on a headless server or in a container that has no system fonts at all.
//! * **Print size.** The PNG is a 7 x 4.2 inch figure at 300 dpi
//!   (2100 x 1260 px) and carries a `pHYs` chunk declaring 300 dpi, which is
//!   what journal submission systems check. Type and line sizes are chosen for
//!   that print size (axis titles about 9.5 pt, lines about 0.4 mm). The SVG is
//!   the same drawing on the same canvas, displayed at 700 x 420 px (every
//!   size divided by three); one drawing routine serves both, told only how
//!   each backend handles text.
//! * **The legend never hides data.** It lives in its own column to the right
//!   of the axes, wraps long labels, and shrinks (or summarises the tail as
//!   "+ N more") rather than overflow when there are many series.
//! * **Colour-blind-safe colours.** Series use the Okabe-Ito palette without
//!   its pale yellow (too faint on white paper); after seven series the
//!   colours repeat with dashed, then dotted, lines so curves stay
//!   distinguishable in greyscale too.
//! * **Doses are visible but quiet.** Each administration gets a grey
//!   triangle just above the axes; a bolus also gets a thin dashed vertical
//!   line and an infusion a light grey band (beneath the grid) at least one
//!   line width wide. All dose marks are drawn beneath the curves; marks
//!   outside the time range are not drawn, and bands are clipped to it.
//! * **Ticks a reader can use.** Both axes get "nice" ticks (1-2-5 steps,
//!   weekly steps for day axes of two weeks to half a year, decades on log
//!   axes). Labels are plain below 10^4 and compact scientific above
//!   ("2e5", "1.5e6"), one style per linear axis.
//! * **Even letter spacing in the PNG.** Plotters' bitmap text drops each
//!   glyph's side bearing; the bearings are read from the embedded font and
//!   glyphs placed one by one, so labels are spaced as the font intends.
//! * **Log axes do not lie about zero.** Zero and negative values have no
//!   place on a log axis. The axis floor is the largest power of ten not above
//!   `max(smallest positive value, min(1, 1e-3 x peak))`: for cell counts (peak
//!   of at least 1000) the axis therefore never extends below one cell, while
//!   data with small magnitudes (fractions of dose) still get three decades.
//!   Curves are cut where they drop below the floor (interpolated to the floor
//!   line in log space, never drawn down to "zero") and resume when they rise
//!   above it again. A plot with no positive value shows the empty decade 1-10.
//! * **Non-finite numbers are errors, not gaps.** A NaN or infinity in the time
//!   grid, a series or a dose means a bug upstream; silently dropping it would
//!   produce a plausible-looking but wrong figure, so it is reported as a
//!   [`PlotError`] instead.

use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle, FontTransform};

/// The embedded font, so rendering never depends on fonts installed on the host.
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// The one font family used for every piece of text.
const FONT_FAMILY: &str = "sans-serif";

/// Drawing canvas, and the PNG size: 7 x 4.2 inches at 300 dpi.
const CANVAS: (u32, u32) = (2100, 1260);
/// 300 dots per inch expressed in the unit the PNG `pHYs` chunk uses (1 in = 0.0254 m).
const PNG_PIXELS_PER_METRE: u32 = 11811;
/// Display size of the SVG (100 px per inch); its viewBox is the full [`CANVAS`].
const SVG_SIZE: (u32, u32) = (700, 420);

/// DejaVu Sans (ascent - descent) / em = (1901 + 483) / 2048. The bitmap text
/// rasteriser takes a font "size" equal to this height, while SVG's
/// `font-size` is the em, so the two backends need different numbers for the
/// same printed type size.
const DEJAVU_HEIGHT_PER_EM: f64 = 1.1641;

/// Fraction of the figure width given to the axes; the rest holds the legend.
const CHART_FRACTION: f64 = 0.78;

// Design sizes in 300-dpi pixels (1 pt = 4.17 px); fonts are em sizes.
/// Title: 11 pt.
const TITLE_FONT: f64 = 46.0;
/// Axis titles: 9.6 pt.
const AXIS_TITLE_FONT: f64 = 40.0;
/// Tick labels: 8.4 pt.
const TICK_FONT: f64 = 35.0;
/// Legend labels: 8.4 pt.
const LEGEND_FONT: f64 = 35.0;
/// The legend font may shrink to this fraction of `LEGEND_FONT` (6.3 pt)
/// before the tail of the series list is elided.
const LEGEND_MIN_FONT_FRACTION: f64 = 0.75;
/// Data lines: 0.42 mm, clearly heavier than every other line.
const SERIES_LINE: f64 = 5.0;
/// Axis lines: 0.25 mm.
const AXIS_LINE: f64 = 3.0;
/// Grid lines: light grey, 0.17 mm.
const GRID_LINE: f64 = 2.0;
/// Dashed bolus lines: 0.25 mm.
const DOSE_LINE: f64 = 3.0;
/// Tick marks outside the axes: 1 mm.
const TICK_MARK: f64 = 12.0;
/// White margin around the figure's content: 2 mm.
const OUTER_MARGIN: f64 = 24.0;
/// Dose triangles above the axes: 2 mm wide, 1.7 mm tall.
const DOSE_TRIANGLE_HALF_WIDTH: f64 = 12.0;
/// See [`DOSE_TRIANGLE_HALF_WIDTH`].
const DOSE_TRIANGLE_HEIGHT: f64 = 20.0;
/// How far, in canvas pixels, a drawn curve may deviate from the data when
/// dense output is simplified: a tenth of a line width, invisible.
const SIMPLIFY_TOLERANCE: f64 = 0.5;
/// A curve is cut where it turns back by more than 120 degrees (the cosine
/// of the angle between its incoming and outgoing directions exceeds this),
/// because plotters' mitred joins spike at such turns.
const SHARP_TURN_COS: f64 = 0.5;
/// Length of the line sample in front of each legend label.
const LEGEND_SAMPLE: f64 = 80.0;

/// Okabe-Ito palette minus its yellow, ordered so the first few series contrast most.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
];
const TEXT_COLOUR: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);
const AXIS_COLOUR: RGBColor = RGBColor(0x40, 0x40, 0x40);
const GRID_COLOUR: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
const MINOR_GRID_COLOUR: RGBColor = RGBColor(0xF0, 0xF0, 0xF0);
const DOSE_COLOUR: RGBColor = RGBColor(0x80, 0x80, 0x80);
const INFUSION_COLOUR: RGBColor = RGBColor(0xDA, 0xDA, 0xDA);

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
    /// `time_days` is empty, so there is nothing to put on the x axis.
    #[error("cannot plot: the time grid is empty")]
    NoTimePoints,
    /// `series` is empty, so the figure would contain no data.
    #[error("cannot plot: no series were given")]
    NoSeries,
    /// A series has a different number of values than there are time points.
    #[error("series \"{label}\" has {actual} values but there are {expected} time points")]
    LengthMismatch {
        /// Label of the offending series.
        label: String,
        /// Number of time points.
        expected: usize,
        /// Number of values in the series.
        actual: usize,
    },
    /// A time point is NaN or infinite.
    #[error("time point {index} is not a finite number ({value})")]
    NonFiniteTime {
        /// Position in `time_days`.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The time grid goes backwards, which would draw curves that fold back on themselves.
    #[error("time points must not decrease: time point {index} ({value} d) is earlier than the one before it")]
    TimeNotSorted {
        /// Position in `time_days` of the first point earlier than its predecessor.
        index: usize,
        /// The offending value.
        value: f64,
    },
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
    /// The embedded font could not be parsed (a build problem, not a user error).
    #[error("the embedded DejaVu Sans font could not be loaded")]
    Font,
    /// The drawing backend failed; the message comes from plotters.
    #[error("drawing failed: {0}")]
    Backend(String),
    /// Encoding the rendered pixels as PNG failed.
    #[error("PNG encoding failed: {0}")]
    PngEncoding(#[from] png::EncodingError),
}

/// Renders the figure as PNG bytes: 2100 x 1260 px, declared as 300 dpi.
///
/// # Errors
/// Any [`PlotError`]: invalid input, or a rendering or encoding failure.
pub fn render_png(input: &PlotInput) -> Result<Vec<u8>, PlotError> {
    let prepared = Prepared::new(input)?;
    ensure_font()?;
    let (width, height) = CANVAS;
    let mut rgb = vec![0_u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, CANVAS).into_drawing_area();
        draw_figure(&root, input, &prepared, Target::PNG)?;
        root.present().map_err(backend_error)?;
    }
    encode_png(&rgb, width, height)
}

/// Renders the figure as an SVG document, 700 x 420 px, text kept as text.
///
/// The drawing uses the same 2100 x 1260 unit canvas as the PNG, and the
/// document declares a 700 x 420 display size over that viewBox: everything
/// appears at one third of its PNG pixel size, while coordinates (which
/// plotters rounds to whole units) and stroke widths keep the PNG's
/// precision, so curves stay smooth and lines as thin as in the PNG.
///
/// # Errors
/// Any [`PlotError`]: invalid input or a rendering failure.
pub fn render_svg(input: &PlotInput) -> Result<String, PlotError> {
    let prepared = Prepared::new(input)?;
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CANVAS).into_drawing_area();
        draw_figure(&root, input, &prepared, Target::SVG)?;
        root.present().map_err(backend_error)?;
    }
    let (w, h) = CANVAS;
    let (display_w, display_h) = SVG_SIZE;
    Ok(svg.replacen(
        &format!("<svg width=\"{w}\" height=\"{h}\""),
        &format!("<svg width=\"{display_w}\" height=\"{display_h}\""),
        1,
    ))
}

/// Registers the embedded font with plotters exactly once per process.
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// Converts any plotters drawing error into the backend-neutral [`PlotError::Backend`].
fn backend_error<E: std::error::Error + Send + Sync>(err: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Backend(err.to_string())
}

/// Encodes an RGB buffer as PNG with sRGB and 300 dpi physical-size chunks.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_source_srgb(png::SrgbRenderingIntent::Perceptual);
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: PNG_PIXELS_PER_METRE,
        yppu: PNG_PIXELS_PER_METRE,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// Validated input plus the derived axes, computed once and shared by both renderers.
struct Prepared {
    /// X range in days.
    x_range: (f64, f64),
    /// Y axis in "axis space" (log10 of the value for a log axis).
    y_axis: YAxis,
    /// Tick positions and labels on the x axis.
    x_ticks: Ticks,
    /// Dose marks clipped to the x range.
    doses: Vec<(f64, f64)>,
}

impl Prepared {
    fn new(input: &PlotInput) -> Result<Self, PlotError> {
        let times = input.time_days;
        let (first, last) = match (times.first(), times.last()) {
            (Some(&first), Some(&last)) => (first, last),
            _ => return Err(PlotError::NoTimePoints),
        };
        if input.series.is_empty() {
            return Err(PlotError::NoSeries);
        }
        for (index, &value) in times.iter().enumerate() {
            if !value.is_finite() {
                return Err(PlotError::NonFiniteTime { index, value });
            }
            if index > 0 && value < times[index - 1] {
                return Err(PlotError::TimeNotSorted { index, value });
            }
        }
        for series in input.series {
            if series.values.len() != times.len() {
                return Err(PlotError::LengthMismatch {
                    label: series.label.clone(),
                    expected: times.len(),
                    actual: series.values.len(),
                });
            }
            if let Some((index, &value)) = series
                .values
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(PlotError::NonFiniteValue {
                    label: series.label.clone(),
                    index,
                    value,
                });
            }
        }
        for (index, dose) in input.doses.iter().enumerate() {
            let ok = dose.start_day.is_finite()
                && dose.end_day.is_finite()
                && dose.end_day >= dose.start_day;
            if !ok {
                return Err(PlotError::InvalidDose {
                    index,
                    start_day: dose.start_day,
                    end_day: dose.end_day,
                });
            }
        }

        // A single instant cannot span an axis; pad half a day either side.
        let x_range = if last > first {
            (first, last)
        } else {
            (first - 0.5, last + 0.5)
        };
        let doses = input
            .doses
            .iter()
            .filter(|d| d.end_day >= x_range.0 && d.start_day <= x_range.1)
            .map(|d| (d.start_day.max(x_range.0), d.end_day.min(x_range.1)))
            .collect();
        let all_values = || input.series.iter().flat_map(|s| s.values.iter().copied());
        let y_axis = match input.y_scale {
            YScale::Linear => YAxis::linear(all_values()),
            YScale::Log => YAxis::log(all_values()),
        };
        Ok(Self {
            x_range,
            y_axis,
            x_ticks: Ticks::linear(x_range.0, x_range.1, true),
            doses,
        })
    }
}

/// The y axis in the coordinates the chart uses.
struct YAxis {
    /// Bottom of the axis (log10 units for a log axis).
    lo: f64,
    /// Top of the axis (log10 units for a log axis).
    hi: f64,
    /// `Some(floor)` for a log axis: values below `floor` are not drawn.
    log_floor: Option<f64>,
    /// Tick positions (axis units) and labels.
    ticks: Ticks,
}

impl YAxis {
    fn linear(values: impl Iterator<Item = f64>) -> Self {
        let (min, max) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let lo = if min < 0.0 { 1.05 * min } else { 0.0 };
        let hi = if max > 0.0 { 1.05 * max } else { 0.0 };
        // All zeros: show a unit range rather than a degenerate axis.
        let (lo, hi) = if hi > lo { (lo, hi) } else { (0.0, 1.0) };
        Self {
            lo,
            hi,
            log_floor: None,
            ticks: Ticks::linear(lo, hi, false),
        }
    }

    fn log(values: impl Iterator<Item = f64>) -> Self {
        let positive =
            values
                .filter(|&v| v > 0.0)
                .fold(None, |acc: Option<(f64, f64)>, v| match acc {
                    None => Some((v, v)),
                    Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
                });
        let (lo, hi) = match positive {
            None => (0.0, 1.0),
            Some((min_pos, peak)) => {
                let floor = min_pos.max((1e-3 * peak).min(1.0));
                let lo = floor.log10().floor();
                // A little headroom above the peak, extended to the next
                // decade when that is close (so the top is labelled), and
                // at least one full decade in total.
                let top = peak.log10() + 0.1;
                let hi = if top.ceil() - top < 0.4 {
                    top.ceil()
                } else {
                    top
                };
                let hi = hi.max(lo + 1.0);
                (lo, hi)
            }
        };
        Self {
            lo,
            hi,
            log_floor: Some(10_f64.powf(lo)),
            ticks: Ticks::log(lo, hi),
        }
    }

    /// Splits one series into drawable runs of (day, axis value) points.
    ///
    /// On a log axis a run ends where the curve drops below the floor: the
    /// last segment is cut at the floor line (interpolated in log space) so the
    /// curve visibly leaves the axes at the bottom instead of stopping short.
    fn runs(&self, times: &[f64], values: &[f64]) -> Vec<Vec<(f64, f64)>> {
        let Some(floor) = self.log_floor else {
            return vec![times.iter().copied().zip(values.iter().copied()).collect()];
        };
        let floor_axis = floor.log10();
        let crossing = |i: usize, j: usize| {
            // Both values are positive here, so their logs are finite.
            let (a, b) = (values[i].log10(), values[j].log10());
            let frac = (floor_axis - a) / (b - a);
            (times[i] + frac * (times[j] - times[i]), floor_axis)
        };
        let mut runs = Vec::new();
        let mut current: Vec<(f64, f64)> = Vec::new();
        for (i, (&t, &v)) in times.iter().zip(values).enumerate() {
            if v >= floor {
                if current.is_empty() && i > 0 && values[i - 1] > 0.0 && values[i - 1] < floor {
                    current.push(crossing(i - 1, i));
                }
                current.push((t, v.log10()));
            } else if !current.is_empty() {
                if v > 0.0 {
                    current.push(crossing(i - 1, i));
                }
                runs.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            runs.push(current);
        }
        runs
    }
}

/// Major tick positions with their labels, plus optional minor grid positions.
struct Ticks {
    /// Tick positions in axis units.
    major: Vec<f64>,
    /// Label for each major tick.
    labels: Vec<String>,
    /// Minor grid positions in axis units (log axes only).
    minor: Vec<f64>,
}

impl Ticks {
    /// "Nice" ticks (1, 2, 5 x 10^k) on a linear axis; for day axes spanning
    /// two weeks to about half a year, weekly multiples are preferred.
    fn linear(lo: f64, hi: f64, days: bool) -> Self {
        const TARGET: f64 = 6.0;
        let span = hi - lo;
        let count = |step: f64| (hi / step + 1e-9).floor() - (lo / step - 1e-9).ceil() + 1.0;
        let base_exp = (span / 20.0).log10().floor() as i32;
        let mut candidates: Vec<(f64, f64)> = (base_exp..=base_exp + 3)
            .flat_map(|e| [1.0, 2.0, 5.0].map(|m| (m * 10_f64.powi(e), 0.0)))
            .collect();
        if days && (14.0..=200.0).contains(&span) {
            candidates.extend([(7.0, 1.5), (14.0, 1.5), (28.0, 1.5)]);
        }
        let step = candidates
            .iter()
            .filter(|(step, _)| (2.0..=10.0).contains(&count(*step)))
            .map(|&(step, bonus)| (step, (count(step) - TARGET).abs() - bonus))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(span / TARGET, |(step, _)| step);
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        let major: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
        let labels = format_tick_labels(&major, true);
        Self {
            major,
            labels,
            minor: Vec::new(),
        }
    }

    /// Decade ticks on a log axis (given in log10 units); 1-2-5 ticks when the
    /// axis spans under 2.5 decades, every n-th decade when it spans very many.
    fn log(lo: f64, hi: f64) -> Self {
        let decades = hi - lo;
        let first = lo.ceil() as i32;
        let last = hi.floor() as i32;
        let mantissas: &[f64] = if decades < 2.5 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let every = ((decades / 10.0).ceil() as i32).max(1);
        let mut values = Vec::new();
        let mut minor = Vec::new();
        for e in (lo.floor() as i32)..=last + 1 {
            let decade = 10_f64.powi(e);
            for m in 1..10 {
                let pos = f64::from(e) + f64::from(m).log10();
                if pos < lo - 1e-9 || pos > hi + 1e-9 {
                    continue;
                }
                let is_major = mantissas.contains(&f64::from(m)) && (e - first) % every == 0;
                if is_major {
                    values.push(f64::from(m) * decade);
                } else if decades <= 4.0 {
                    minor.push(pos);
                }
            }
        }
        let labels = format_tick_labels(&values, false);
        Self {
            major: values.iter().map(|v| v.log10()).collect(),
            labels,
            minor,
        }
    }

    /// A linear coordinate over `lo..hi` that uses these ticks verbatim.
    fn coord(&self, lo: f64, hi: f64) -> TickAxis {
        TickAxis {
            inner: (lo..hi).into(),
            major: self.major.clone(),
            minor: self.minor.clone(),
        }
    }
}

/// A linear coordinate whose grid and tick positions are chosen by [`Ticks`]
/// rather than by plotters, so both axes get "nice", consistently formatted
/// ticks and log axes (drawn in log10 units) get decade ticks.
struct TickAxis {
    inner: RangedCoordf64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Formats tick values legibly for counts: plain numbers below 10^4 and
/// scientific notation ("2e5", "1.5e6") from 10^4 up (and below 10^-3), with
/// one precision per style so "1.0e6" and "1.5e6" line up. With `uniform`
/// (linear axes) the largest tick decides the style for the whole axis, so
/// "5000" never sits next to "1.0e4"; log axes read naturally as
/// 1, 10, 100, 1000, 1e4. Negative numbers get a typographic minus.
fn format_tick_labels(values: &[f64], uniform: bool) -> Vec<String> {
    let largest = values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let scientific = |v: f64| {
        let magnitude = if uniform { largest } else { v.abs() };
        v != 0.0 && !(1e-3..1e4).contains(&magnitude)
    };
    let exact = |text: &str, v: f64| {
        text.parse::<f64>()
            .is_ok_and(|p| (p - v).abs() <= 1e-9 * v.abs().max(f64::MIN_POSITIVE))
    };
    let sci_precision = (0..=3)
        .find(|&p| {
            values
                .iter()
                .filter(|v| scientific(**v))
                .all(|&v| exact(&format!("{v:.p$e}"), v))
        })
        .unwrap_or(3);
    let plain_precision = (0..=6)
        .find(|&p| {
            values
                .iter()
                .filter(|v| !scientific(**v) && **v != 0.0)
                .all(|&v| exact(&format!("{v:.p$}"), v))
        })
        .unwrap_or(6);
    values
        .iter()
        .map(|&v| {
            let text = if v == 0.0 {
                "0".to_owned()
            } else if scientific(v) {
                format!("{v:.sci_precision$e}")
            } else {
                format!("{v:.plain_precision$}")
            };
            text.replace('-', "\u{2212}")
        })
        .collect()
}

/// How text is set on one backend.
///
/// Both renderers share one drawing routine over the same 2100 x 1260 unit
/// canvas (the SVG just declares a 700 x 420 display size, see
/// [`render_svg`]); they differ only in how plotters sizes and places text.
#[derive(Debug, Clone, Copy)]
struct Target {
    /// Plotters font size to request per unit of em size.
    font_per_em: f64,
    /// Place glyphs one by one with their side bearings and correct the
    /// baseline (bitmap only); SVG text is left to the viewer's text engine.
    place_glyphs: bool,
}

impl Target {
    /// The bitmap rasteriser's font size is the font's ascent-to-descent height.
    const PNG: Self = Self {
        font_per_em: DEJAVU_HEIGHT_PER_EM,
        place_glyphs: true,
    };
    /// Plotters' SVG backend writes `font-size` = size / 1.24, and SVG's
    /// `font-size` is the em. Layout widths are still estimated with DejaVu's
    /// metrics at this size, which overestimates the rendered width by ~6 %:
    /// a margin for viewers whose sans-serif is wider.
    const SVG: Self = Self {
        font_per_em: 1.24,
        place_glyphs: false,
    };

    /// The embedded font at a design em size.
    fn font(self, em: f64) -> TextStyle<'static> {
        TextStyle::from((FONT_FAMILY, em * self.font_per_em).into_font()).color(&TEXT_COLOUR)
    }

    /// Width `text` occupies at design em size `em` (for SVG, an upper bound).
    fn text_width<DB: DrawingBackend>(
        self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        em: f64,
    ) -> Result<u32, PlotError> {
        let (w, _) = area
            .estimate_text_size(text, &self.font(em))
            .map_err(backend_error)?;
        Ok(w)
    }
}

/// A design length (300-dpi pixels) as a whole number of canvas units, at least one.
fn px(size: f64) -> u32 {
    size.round().max(1.0) as u32
}

/// [`px`] as a signed coordinate offset.
fn offset(size: f64) -> i32 {
    px(size) as i32
}

/// Text orientation for [`draw_label`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Orientation {
    Horizontal,
    /// Rotated a quarter turn anticlockwise, reading bottom to top.
    Vertical,
}

/// Draws one line of text at design em size `em` with `anchor` at `pos`.
///
/// SVG text is emitted as a single element. Bitmap text is drawn glyph by
/// glyph: plotters' rasteriser drops each glyph's left side bearing, which
/// spaces letters unevenly ("In jured", "si te"), so each glyph is drawn at
/// its pen position plus the bearing read from the embedded font, and the
/// baseline is moved to where an SVG viewer would put it for the same anchor.
fn draw_label<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    target: Target,
    text: &str,
    em: f64,
    anchor: Pos,
    pos: (i32, i32),
    orientation: Orientation,
) -> Result<(), PlotError> {
    let style = match orientation {
        Orientation::Horizontal => target.font(em),
        Orientation::Vertical => target.font(em).transform(FontTransform::Rotate270),
    };
    let bearings = Bearings::get().filter(|_| target.place_glyphs);
    let Some(bearings) = bearings else {
        return area
            .draw_text(text, &style.pos(anchor), pos)
            .map_err(backend_error);
    };
    let width = |t: &str| -> Result<i32, PlotError> {
        let (w, _) = area.estimate_text_size(t, &style).map_err(backend_error)?;
        Ok(w as i32)
    };
    let start = match anchor.h_pos {
        HPos::Left => 0,
        HPos::Center => -width(text)? / 2,
        HPos::Right => -width(text)?,
    };
    // Baseline offset (in ems) that matches the SVG text anchors.
    let drop_em = match anchor.v_pos {
        VPos::Top => 0.18,
        VPos::Center => 0.16,
        VPos::Bottom => 0.08,
    };
    let drop = (drop_em * em).round() as i32;
    let size = em * target.font_per_em;
    let glyph_style = style.pos(Pos::new(HPos::Left, anchor.v_pos));
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        let glyph = &text[i..end];
        // Pen position including kerning with the previous glyph.
        let pen = width(&text[..end])? - width(glyph)?;
        let along = start + pen + bearings.left_bearing_px(c, size);
        let at = match orientation {
            Orientation::Horizontal => (pos.0 + along, pos.1 + drop),
            Orientation::Vertical => (pos.0 + drop, pos.1 - along),
        };
        area.draw_text(glyph, &glyph_style, at)
            .map_err(backend_error)?;
    }
    Ok(())
}

/// Left side bearings of the embedded font, read from its `cmap`, `hhea` and
/// `hmtx` tables (plotters does not expose them; see [`draw_label`]).
struct Bearings {
    /// Offset of the format-4 (Unicode BMP) `cmap` subtable.
    cmap4: usize,
    /// Offset of the `hmtx` table.
    hmtx: usize,
    /// Number of full (advance, bearing) records in `hmtx`.
    num_hmetrics: usize,
    /// Ascent minus descent in font units: the rasteriser's unit of font size.
    height_units: f64,
}

impl Bearings {
    /// The embedded font's tables, parsed once; `None` if they cannot be read,
    /// in which case text is drawn as plotters draws it.
    fn get() -> Option<&'static Self> {
        static TABLES: OnceLock<Option<Bearings>> = OnceLock::new();
        TABLES.get_or_init(|| Self::parse(DEJAVU_SANS)).as_ref()
    }

    fn parse(font: &[u8]) -> Option<Self> {
        let table = |tag: &[u8; 4]| {
            (0..usize::from(be_u16(font, 4)?)).find_map(|i| {
                let record = 12 + 16 * i;
                if font.get(record..record + 4)? == tag {
                    be_u32(font, record + 8).map(|o| o as usize)
                } else {
                    None
                }
            })
        };
        let hhea = table(b"hhea")?;
        let ascent = be_u16(font, hhea + 4)? as i16;
        let descent = be_u16(font, hhea + 6)? as i16;
        let num_hmetrics = usize::from(be_u16(font, hhea + 34)?);
        let hmtx = table(b"hmtx")?;
        let cmap = table(b"cmap")?;
        let cmap4 = (0..usize::from(be_u16(font, cmap + 2)?)).find_map(|i| {
            let record = cmap + 4 + 8 * i;
            let platform = be_u16(font, record)?;
            let encoding = be_u16(font, record + 2)?;
            let subtable = cmap + be_u32(font, record + 4)? as usize;
            let unicode = platform == 0 || (platform == 3 && encoding == 1);
            (unicode && be_u16(font, subtable)? == 4).then_some(subtable)
        })?;
        Some(Self {
            cmap4,
            hmtx,
            num_hmetrics,
            height_units: f64::from(i32::from(ascent) - i32::from(descent)),
        })
    }

    /// Glyph index of `c` via the format-4 `cmap` subtable (0 = missing glyph).
    fn glyph(&self, c: char) -> Option<u16> {
        let font = DEJAVU_SANS;
        let code = u16::try_from(u32::from(c)).ok()?;
        let sub = self.cmap4;
        let seg_x2 = usize::from(be_u16(font, sub + 6)?);
        let ends = sub + 14;
        let starts = ends + seg_x2 + 2;
        let deltas = starts + seg_x2;
        let range_offsets = deltas + seg_x2;
        for seg in (0..seg_x2).step_by(2) {
            if code > be_u16(font, ends + seg)? {
                continue;
            }
            let first = be_u16(font, starts + seg)?;
            if code < first {
                return Some(0);
            }
            let delta = be_u16(font, deltas + seg)?;
            let range_offset = usize::from(be_u16(font, range_offsets + seg)?);
            if range_offset == 0 {
                return Some(code.wrapping_add(delta));
            }
            let at = range_offsets + seg + range_offset + 2 * usize::from(code - first);
            let glyph = be_u16(font, at)?;
            return Some(if glyph == 0 {
                0
            } else {
                glyph.wrapping_add(delta)
            });
        }
        Some(0)
    }

    /// Left side bearing of `c` in font units.
    fn left_bearing_units(&self, c: char) -> Option<i16> {
        let glyph = usize::from(self.glyph(c)?);
        let at = if glyph < self.num_hmetrics {
            self.hmtx + 4 * glyph + 2
        } else {
            self.hmtx + 4 * self.num_hmetrics + 2 * (glyph - self.num_hmetrics)
        };
        be_u16(DEJAVU_SANS, at).map(|v| v as i16)
    }

    /// Left side bearing of `c` in pixels at rasteriser font size `size`
    /// (rounded down, as the rasteriser rounds glyph bounds).
    fn left_bearing_px(&self, c: char, size: f64) -> i32 {
        let units = self.left_bearing_units(c).unwrap_or(0);
        (f64::from(units) * size / self.height_units).floor() as i32
    }
}

/// Big-endian `u16` at `at`, if in bounds.
fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Big-endian `u32` at `at`, if in bounds.
fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Line appearance of one series.
#[derive(Debug, Clone, Copy)]
struct SeriesStyle {
    colour: RGBColor,
    /// `Some((dash, gap))` in backend units for dashed or dotted lines.
    dash: Option<(u32, u32)>,
    width: u32,
}

impl SeriesStyle {
    /// Colour cycles through the palette; each further cycle switches the dash pattern.
    fn for_index(index: usize) -> Self {
        let colour = PALETTE[index % PALETTE.len()];
        let dash = match (index / PALETTE.len()) % 3 {
            0 => None,
            1 => Some((px(24.0), px(12.0))),
            _ => Some((px(6.0), px(12.0))),
        };
        Self {
            colour,
            dash,
            width: px(SERIES_LINE),
        }
    }

    fn shape(self) -> ShapeStyle {
        self.colour.stroke_width(self.width)
    }
}

/// Fits one line of text into `max_width`: first by shrinking the font (down
/// to `min_fraction` of `em`), then by eliding the end with an ellipsis.
/// Returns the text and the em size to draw it at.
fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    target: Target,
    text: &str,
    em: f64,
    min_fraction: f64,
    max_width: u32,
) -> Result<(String, f64), PlotError> {
    let width = |t: &str, e: f64| target.text_width(area, t, e);
    let full = width(text, em)?;
    if full <= max_width {
        return Ok((text.to_owned(), em));
    }
    let shrunk = (em * f64::from(max_width) / f64::from(full)).max(em * min_fraction);
    if width(text, shrunk)? <= max_width {
        return Ok((text.to_owned(), shrunk));
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (1..chars.len()).rev() {
        let head: String = chars[..keep].iter().collect();
        let candidate = format!("{}\u{2026}", head.trim_end());
        if width(&candidate, shrunk)? <= max_width {
            return Ok((candidate, shrunk));
        }
    }
    Ok(("\u{2026}".to_owned(), shrunk))
}

/// Greedy word wrap to `max_width`; a word wider than the column is split between characters.
fn wrap_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    target: Target,
    text: &str,
    em: f64,
    max_width: u32,
) -> Result<Vec<String>, PlotError> {
    let fits = |t: &str| Ok::<_, PlotError>(target.text_width(area, t, em)? <= max_width);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if fits(&candidate)? {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            line.push(c);
            if line.chars().count() > 1 && !fits(&line)? {
                line.pop();
                lines.push(std::mem::replace(&mut line, c.to_string()));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// Draws the whole figure onto `root`.
///
/// Drawing order, bottom to top: infusion bands, grid, bolus lines, axes,
/// curves, so dose marks never cover data, grid or axis lines.
fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    input: &PlotInput,
    prep: &Prepared,
    target: Target,
) -> Result<(), PlotError> {
    root.fill(&WHITE).map_err(backend_error)?;
    let (width, _) = root.dim_in_pixel();
    let chart_width = (f64::from(width) * CHART_FRACTION).round() as u32;
    let (chart_column, legend_column) = root.split_horizontally(chart_width);
    let margin = px(OUTER_MARGIN);

    // Title, centred over the chart column.
    let title_band = px(TITLE_FONT * 1.6 + OUTER_MARGIN);
    let (title_area, plot_area) = chart_column.split_vertically(title_band);
    let (title, title_em) = fit_text(
        &title_area,
        target,
        input.title,
        TITLE_FONT,
        0.7,
        chart_width.saturating_sub(2 * margin),
    )?;
    draw_label(
        &title_area,
        target,
        &title,
        title_em,
        Pos::new(HPos::Center, VPos::Center),
        (chart_width as i32 / 2, (title_band + margin) as i32 / 2),
        Orientation::Horizontal,
    )?;

    // Label areas sized from the text they must hold.
    let tick = px(TICK_MARK);
    let mut y_tick_width = 0;
    for label in &prep.y_axis.ticks.labels {
        y_tick_width = y_tick_width.max(target.text_width(&plot_area, label, TICK_FONT)?);
    }
    let (_, plot_height) = plot_area.dim_in_pixel();
    let (y_title, y_title_em) = fit_text(
        &plot_area,
        target,
        input.y_label,
        AXIS_TITLE_FONT,
        0.7,
        plot_height.saturating_sub(px(TICK_FONT * 4.0)),
    )?;
    let y_area = 2 * tick + y_tick_width + px(y_title_em * 1.6);
    let x_area = 2 * tick + px(TICK_FONT * 1.2 + AXIS_TITLE_FONT * 1.5);

    let (x0, x1) = prep.x_range;
    let y = &prep.y_axis;
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(px(DOSE_TRIANGLE_HEIGHT + TICK_FONT * 0.6))
        .margin_right(px(OUTER_MARGIN * 2.0))
        .margin_bottom(margin)
        .margin_left(margin)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(prep.x_ticks.coord(x0, x1), y.ticks.coord(y.lo, y.hi))
        .map_err(backend_error)?;

    // Infusion bands, then the grid; all text is drawn by `draw_label`, so
    // plotters gets empty labels.
    draw_infusions(&chart, prep)?;
    let no_label = |_: &f64| String::new();
    chart
        .configure_mesh()
        .disable_axes()
        .x_label_formatter(&no_label)
        .y_label_formatter(&no_label)
        .bold_line_style(GRID_COLOUR.stroke_width(px(GRID_LINE)))
        .light_line_style(MINOR_GRID_COLOUR.stroke_width(px(GRID_LINE * 0.5)))
        .draw()
        .map_err(backend_error)?;

    draw_dose_marks(&chart, root, prep)?;

    // Axes and tick marks above the dose marks.
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&no_label)
        .y_label_formatter(&no_label)
        .axis_style(AXIS_COLOUR.stroke_width(px(AXIS_LINE)))
        .set_all_tick_mark_size(tick)
        .draw()
        .map_err(backend_error)?;
    draw_axis_text(
        &chart,
        root,
        prep,
        target,
        (&y_title, y_title_em),
        (x_area, y_area),
    )?;

    // Curves, in fractional canvas pixels (see `draw_run`). The mapping is
    // anchored on plotters' own pixels for the axis corners.
    let (left, bottom) = chart.backend_coord(&(x0, y.lo));
    let (right, top) = chart.backend_coord(&(x1, y.hi));
    let to_canvas = |&(x, v): &(f64, f64)| {
        (
            f64::from(left) + (x - x0) / (x1 - x0) * f64::from(right - left),
            f64::from(bottom) + (v - y.lo) / (y.hi - y.lo) * f64::from(top - bottom),
        )
    };
    for (index, series) in input.series.iter().enumerate() {
        let style = SeriesStyle::for_index(index);
        for run in y.runs(input.time_days, &series.values) {
            let points: Vec<(f64, f64)> = run.iter().map(to_canvas).collect();
            draw_run(root, &points, style)?;
        }
    }

    let (_, plot_y) = chart.plotting_area().get_pixel_range();
    draw_legend(&legend_column, input, prep, target, plot_y.start)
}

/// A point on the canvas, in backend pixels.
type Pixel = (i32, i32);

/// Draws one unbroken run of a series, given in (fractional) canvas pixels.
///
/// Plotters turns a thick polyline into a single polygon with mitred joins
/// on whole pixels. Dense output (several points per pixel) then gives
/// ragged lines, and where a curve doubles back on itself (a dose jump drawn
/// up one pixel column and straight down the next) the mitre shoots far
/// outside the axes. So the run is first simplified before rounding (a
/// straight stretch becomes one segment), then cut at sharp turns; each
/// piece is drawn on its own and the cut gets a round join. A run that
/// collapses to one pixel becomes a dot.
fn draw_run<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    canvas_points: &[(f64, f64)],
    style: SeriesStyle,
) -> Result<(), PlotError> {
    let points = simplify(canvas_points, SIMPLIFY_TOLERANCE);
    let dot = |centre: Pixel, radius: u32| {
        root.draw(&Circle::new(centre, radius, style.colour.filled()))
            .map_err(backend_error)
    };
    if let [point] = points[..] {
        return dot(point, 2 * style.width);
    }
    let (pieces, joints) = split_at_sharp_turns(&points);
    for piece in pieces {
        match style.dash {
            Some((dash, gap)) => {
                root.draw(&DashedPathElement::new(piece, dash, gap, style.shape()))
            }
            None => root.draw(&PathElement::new(piece, style.shape())),
        }
        .map_err(backend_error)?;
    }
    for joint in joints {
        dot(joint, style.width.div_ceil(2))?;
    }
    Ok(())
}

/// Ramer-Douglas-Peucker simplification of a canvas polyline: drops points
/// within `tolerance` pixels of the simplified line (keeping peaks), then
/// rounds to whole pixels without repeating a pixel.
fn simplify(points: &[(f64, f64)], tolerance: f64) -> Vec<Pixel> {
    let round = |&(x, y): &(f64, f64)| (x.round() as i32, y.round() as i32);
    if points.len() < 3 {
        let mut pixels: Vec<Pixel> = points.iter().map(round).collect();
        pixels.dedup();
        return pixels;
    }
    let last = points.len() - 1;
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[last] = true;
    let mut spans = vec![(0, last)];
    while let Some((a, b)) = spans.pop() {
        let farthest = (a + 1..b)
            .map(|i| (i, segment_distance(points[i], points[a], points[b])))
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((i, distance)) = farthest {
            if distance > tolerance {
                keep[i] = true;
                spans.push((a, i));
                spans.push((i, b));
            }
        }
    }
    let mut pixels: Vec<Pixel> = points
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(p, _)| round(p))
        .collect();
    pixels.dedup();
    pixels
}

/// Distance from `p` to the segment `a`-`b` (not the infinite line, so a
/// spike that doubles back past `b` is not mistaken for a point on it).
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (px, py) = (p.0 - a.0, p.1 - a.1);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length_sq = dx * dx + dy * dy;
    let t = if length_sq > 0.0 {
        ((px * dx + py * dy) / length_sq).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (px - t * dx).hypot(py - t * dy)
}

/// Cuts a polyline (without repeated points) at its sharp turns; returns the
/// pieces and the cut points.
fn split_at_sharp_turns(points: &[Pixel]) -> (Vec<Vec<Pixel>>, Vec<Pixel>) {
    let mut pieces = Vec::new();
    let mut joints = Vec::new();
    let mut current = points.first().map(|&p| vec![p]).unwrap_or_default();
    for window in points.windows(3) {
        let [before, at, after] = [window[0], window[1], window[2]];
        current.push(at);
        let (ux, uy) = (f64::from(before.0 - at.0), f64::from(before.1 - at.1));
        let (wx, wy) = (f64::from(after.0 - at.0), f64::from(after.1 - at.1));
        let cosine = (ux * wx + uy * wy) / (ux.hypot(uy) * wx.hypot(wy));
        if cosine > SHARP_TURN_COS {
            pieces.push(std::mem::replace(&mut current, vec![at]));
            joints.push(at);
        }
    }
    if let Some(&end) = points.last().filter(|_| points.len() > 1) {
        current.push(end);
    }
    pieces.push(current);
    (pieces, joints)
}

/// Draws tick labels and axis titles next to the axes plotters has drawn.
fn draw_axis_text<DB: DrawingBackend>(
    chart: &ChartContext<DB, Cartesian2d<TickAxis, TickAxis>>,
    root: &DrawingArea<DB, Shift>,
    prep: &Prepared,
    target: Target,
    (y_title, y_title_em): (&str, f64),
    (x_area, y_area): (u32, u32),
) -> Result<(), PlotError> {
    let (plot_x, plot_y) = chart.plotting_area().get_pixel_range();
    let y = &prep.y_axis;
    let label_gap = 2 * offset(TICK_MARK);
    for (&pos, label) in prep.x_ticks.major.iter().zip(&prep.x_ticks.labels) {
        let (px, _) = chart.backend_coord(&(pos, y.lo));
        draw_label(
            root,
            target,
            label,
            TICK_FONT,
            Pos::new(HPos::Center, VPos::Top),
            (px, plot_y.end + label_gap),
            Orientation::Horizontal,
        )?;
    }
    for (&pos, label) in y.ticks.major.iter().zip(&y.ticks.labels) {
        let (_, py) = chart.backend_coord(&(prep.x_range.0, pos));
        draw_label(
            root,
            target,
            label,
            TICK_FONT,
            Pos::new(HPos::Right, VPos::Center),
            (plot_x.start - label_gap, py),
            Orientation::Horizontal,
        )?;
    }
    let centre_x = (plot_x.start + plot_x.end) / 2;
    let centre_y = (plot_y.start + plot_y.end) / 2;
    draw_label(
        root,
        target,
        "Time (days)",
        AXIS_TITLE_FONT,
        Pos::new(HPos::Center, VPos::Bottom),
        (centre_x, plot_y.end + x_area as i32),
        Orientation::Horizontal,
    )?;
    draw_label(
        root,
        target,
        y_title,
        y_title_em,
        Pos::new(HPos::Center, VPos::Top),
        (plot_x.start - y_area as i32, centre_y),
        Orientation::Vertical,
    )
}

/// Draws the infusion bands: the bottom layer, beneath even the grid.
fn draw_infusions<DB: DrawingBackend>(
    chart: &ChartContext<DB, Cartesian2d<TickAxis, TickAxis>>,
    prep: &Prepared,
) -> Result<(), PlotError> {
    let (x0, x1) = prep.x_range;
    let y = &prep.y_axis;
    let (plot_x, _) = chart.plotting_area().get_pixel_range();
    let days_per_unit = (x1 - x0) / f64::from((plot_x.end - plot_x.start).max(1));
    // Short infusions are widened to at least a line width so they stay visible.
    let min_band = f64::from(px(SERIES_LINE)) * days_per_unit;
    for &(start, end) in prep.doses.iter().filter(|(a, b)| b > a) {
        let (mut a, mut b) = (start, end);
        if b - a < min_band {
            let centre = 0.5 * (a + b);
            a = (centre - 0.5 * min_band).max(x0);
            b = (centre + 0.5 * min_band).min(x1);
        }
        chart
            .plotting_area()
            .draw(&Rectangle::new(
                [(a, y.lo), (b, y.hi)],
                INFUSION_COLOUR.filled(),
            ))
            .map_err(backend_error)?;
    }
    Ok(())
}

/// Draws a dashed line at each bolus and a triangle above the axes at every dose start.
fn draw_dose_marks<DB: DrawingBackend>(
    chart: &ChartContext<DB, Cartesian2d<TickAxis, TickAxis>>,
    root: &DrawingArea<DB, Shift>,
    prep: &Prepared,
) -> Result<(), PlotError> {
    let y = &prep.y_axis;
    let dose_line = DOSE_COLOUR.stroke_width(px(DOSE_LINE));
    for &(start, end) in &prep.doses {
        if end == start {
            chart
                .plotting_area()
                .draw(&DashedPathElement::new(
                    [(start, y.lo), (start, y.hi)],
                    px(14.0),
                    px(10.0),
                    dose_line,
                ))
                .map_err(backend_error)?;
        }
        let (tx, ty) = chart.backend_coord(&(start, y.hi));
        root.draw(&dose_triangle((tx, ty - offset(4.0))))
            .map_err(backend_error)?;
    }
    Ok(())
}

/// A small downward triangle whose tip is at `tip`, marking a dose time.
fn dose_triangle(tip: (i32, i32)) -> Polygon<(i32, i32)> {
    let half = offset(DOSE_TRIANGLE_HALF_WIDTH);
    let height = offset(DOSE_TRIANGLE_HEIGHT);
    let (x, y) = tip;
    Polygon::new(
        vec![(x - half, y - height), (x + half, y - height), (x, y)],
        DOSE_COLOUR.filled(),
    )
}

/// What a legend entry's sample looks like.
#[derive(Debug, Clone, Copy)]
enum Sample {
    Line(SeriesStyle),
    Dose,
    Infusion,
    /// The "+ N more" line has no sample.
    Nothing,
}

/// Draws the legend column: one sample and (wrapped) label per entry, starting
/// level with the top of the axes. Shrinks the font when the entries do not
/// fit, and as a last resort replaces the tail of the series list by "+ N more"
/// (dose entries are always kept).
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
    prep: &Prepared,
    target: Target,
    top_abs: i32,
) -> Result<(), PlotError> {
    let (width, height) = area.dim_in_pixel();
    let (_, base_y) = area.get_base_pixel();
    let top = (top_abs - base_y).max(0);
    let available = (height as i32 - offset(OUTER_MARGIN) - top).max(0);
    let pad = offset(20.0);
    let sample_len = offset(LEGEND_SAMPLE);
    let text_x = pad + sample_len + offset(18.0);
    let text_width = (width as i32 - text_x - offset(OUTER_MARGIN)).max(1) as u32;

    let series: Vec<(&str, Sample)> = input
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let style = SeriesStyle::for_index(i);
            (s.label.as_str(), Sample::Line(style))
        })
        .collect();
    let mut marks = Vec::new();
    if !prep.doses.is_empty() {
        marks.push(("Dose", Sample::Dose));
    }
    if prep.doses.iter().any(|(a, b)| b > a) {
        marks.push(("Infusion", Sample::Infusion));
    }

    // Shrink the font in steps until everything fits (or the minimum is reached).
    const STEPS: u32 = 4;
    let mut step = 0;
    let (em, wrapped) = loop {
        let fraction = 1.0 - (1.0 - LEGEND_MIN_FONT_FRACTION) * f64::from(step) / f64::from(STEPS);
        let em = LEGEND_FONT * fraction;
        let wrapped = series
            .iter()
            .chain(&marks)
            .map(|(label, _)| wrap_text(area, target, label, em, text_width))
            .collect::<Result<Vec<_>, _>>()?;
        let (line_h, gap) = (offset(em * 1.25), offset(em * 0.45));
        let height = legend_height(wrapped.iter().map(Vec::len), line_h, gap);
        if step == STEPS || height <= available {
            break (em, wrapped);
        }
        step += 1;
    };
    let line_h = offset(em * 1.25);
    let gap = offset(em * 0.45);

    let mut entries: Vec<(Vec<String>, Sample)> = wrapped
        .into_iter()
        .zip(series.iter().chain(&marks).map(|&(_, sample)| sample))
        .collect();
    if legend_height(entries.iter().map(|e| e.0.len()), line_h, gap) > available {
        // Keep the dose entries and as many series as fit above a "+ N more" line.
        let mark_entries = entries.split_off(series.len());
        let reserved =
            legend_height(mark_entries.iter().map(|e| e.0.len()), line_h, gap) + line_h + 2 * gap;
        let mut used = 0;
        let keep = entries
            .iter()
            .take_while(|(lines, _)| {
                used += lines.len() as i32 * line_h + gap;
                used + reserved <= available
            })
            .count();
        let hidden = entries.len() - keep;
        entries.truncate(keep);
        entries.push((vec![format!("+ {hidden} more")], Sample::Nothing));
        entries.extend(mark_entries);
    }

    let mut y = top + line_h / 2;
    for (lines, sample) in &entries {
        draw_sample(area, *sample, (pad, y), sample_len)?;
        for (i, line) in lines.iter().enumerate() {
            draw_label(
                area,
                target,
                line,
                em,
                Pos::new(HPos::Left, VPos::Center),
                (text_x, y + i as i32 * line_h),
                Orientation::Horizontal,
            )?;
        }
        y += lines.len() as i32 * line_h + gap;
    }
    Ok(())
}

/// Height of legend entries with the given numbers of text lines each.
fn legend_height(lines_per_entry: impl Iterator<Item = usize>, line_h: i32, gap: i32) -> i32 {
    lines_per_entry
        .map(|n| n as i32 * line_h + gap)
        .sum::<i32>()
        - gap
}

/// Draws a legend sample whose left end is at `(x, y)` (its vertical centre line).
fn draw_sample<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    sample: Sample,
    (x, y): (i32, i32),
    len: i32,
) -> Result<(), PlotError> {
    match sample {
        Sample::Line(style) => {
            let points = [(x, y), (x + len, y)];
            match style.dash {
                Some((dash, gap)) => {
                    area.draw(&DashedPathElement::new(points, dash, gap, style.shape()))
                }
                None => area.draw(&PathElement::new(points, style.shape())),
            }
        }
        Sample::Dose => {
            let half_height = offset(DOSE_TRIANGLE_HEIGHT) / 2;
            area.draw(&dose_triangle((x + len / 2, y + half_height)))
        }
        Sample::Infusion => {
            let half = offset(LEGEND_FONT * 0.3);
            area.draw(&Rectangle::new(
                [(x, y - half), (x + len, y + half)],
                INFUSION_COLOUR.filled(),
            ))
        }
        Sample::Nothing => Ok(()),
    }
    .map_err(backend_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_series(n: usize) -> (Vec<f64>, Vec<Series>) {
        let times: Vec<f64> = (0..=56).map(|i| f64::from(i) * 0.5).collect();
        let series = (0..n)
            .map(|k| Series {
                label: format!("Compartment {k}"),
                values: times
                    .iter()
                    .map(|t| 1e6 * (-(0.2 + 0.1 * k as f64) * t).exp())
                    .collect(),
            })
            .collect();
        (times, series)
    }

    fn input<'a>(
        times: &'a [f64],
        series: &'a [Series],
        doses: &'a [DoseMark],
        y_scale: YScale,
    ) -> PlotInput<'a> {
        PlotInput {
            title: "Live MSCs by organ",
            y_label: "Live cells",
            time_days: times,
            series,
            doses,
            y_scale,
        }
    }

    #[test]
    fn png_has_signature_300_dpi_and_expected_size() {
        let (times, series) = demo_series(3);
        let doses = [DoseMark {
            start_day: 0.0,
            end_day: 0.0,
        }];
        let bytes = render_png(&input(&times, &series, &doses, YScale::Linear)).expect("renders");
        assert!(bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]));
        let phys = bytes
            .windows(4)
            .position(|w| w == b"pHYs")
            .expect("pHYs chunk present");
        let ppm = &bytes[phys + 4..phys + 13];
        assert_eq!(&ppm[0..4], &11811_u32.to_be_bytes());
        assert_eq!(&ppm[4..8], &11811_u32.to_be_bytes());
        assert_eq!(ppm[8], 1, "unit is the metre");
        let info = png::Decoder::new(bytes.as_slice())
            .read_info()
            .expect("decodes")
            .info()
            .clone();
        assert_eq!((info.width, info.height), CANVAS);
    }

    #[test]
    fn png_has_ink_in_plot_and_legend() {
        let (times, series) = demo_series(3);
        let bytes = render_png(&input(&times, &series, &[], YScale::Log)).expect("renders");
        let mut reader = png::Decoder::new(bytes.as_slice())
            .read_info()
            .expect("decodes");
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).expect("frame");
        let (w, h) = (frame.width as usize, frame.height as usize);
        let non_white = |x_range: std::ops::Range<usize>| {
            (0..h)
                .flat_map(|y| x_range.clone().map(move |x| (y * w + x) * 3))
                .filter(|&i| buf[i..i + 3] != [255, 255, 255])
                .count()
        };
        let split = (w as f64 * CHART_FRACTION) as usize;
        assert!(non_white(w / 4..split - 50) > 1000, "plot area has ink");
        assert!(non_white(split + 10..w) > 1000, "legend column has ink");
    }

    #[test]
    fn svg_lists_every_label_of_ten_series() {
        let (times, series) = demo_series(10);
        let doses = [DoseMark {
            start_day: 1.0,
            end_day: 2.0,
        }];
        let svg = render_svg(&input(&times, &series, &doses, YScale::Linear)).expect("renders");
        assert!(svg.starts_with(r#"<svg width="700" height="420" viewBox="0 0 2100 1260""#));
        for s in &series {
            assert!(svg.contains(&s.label), "missing legend label {}", s.label);
        }
        for text in [
            "Time (days)",
            "Live cells",
            "Live MSCs by organ",
            "Dose",
            "Infusion",
        ] {
            assert!(svg.contains(text), "missing {text}");
        }
        assert!(!svg.contains(" more"), "ten series fit without eliding");
    }

    #[test]
    fn legend_overflow_is_summarised() {
        let (times, series) = demo_series(40);
        let doses = [DoseMark {
            start_day: 1.0,
            end_day: 1.0,
        }];
        let svg = render_svg(&input(&times, &series, &doses, YScale::Log)).expect("renders");
        assert!(svg.contains("Compartment 0") && svg.contains("Dose"));
        assert!(!svg.contains("Compartment 39"));
        assert!(svg.contains(" more"), "the hidden tail is counted");
    }

    #[test]
    fn sharp_dose_jumps_stay_inside_the_axes() {
        // Hourly output over half a year with monthly jumps: consecutive points
        // share pixels and the curve turns back on itself at each dose.
        let times: Vec<f64> = (0..=4320).map(|h| f64::from(h) / 24.0).collect();
        // Each dose lifts the curve from below the floor to its peak an hour
        // later; different lags give different pixel patterns at the jump.
        let jumpy = |lag_h: f64| Series {
            label: format!("lag {lag_h} h"),
            values: times
                .iter()
                .map(|&t| {
                    let since = (t - lag_h / 24.0).rem_euclid(28.0);
                    1e7 * (-0.9 * since).exp()
                })
                .collect(),
        };
        let series: Vec<Series> = [1.0, 2.0, 3.0, 5.0, 7.0, 11.0].map(jumpy).into();
        let bytes = render_png(&input(&times, &series, &[], YScale::Log)).expect("renders");
        let mut reader = png::Decoder::new(bytes.as_slice())
            .read_info()
            .expect("decodes");
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).expect("frame");
        let row_bytes = frame.width as usize * 3;
        let margin_rows = |rows: std::ops::Range<usize>| {
            rows.flat_map(|y| buf[y * row_bytes..(y + 1) * row_bytes].chunks(3))
                .filter(|px| *px != [255, 255, 255])
                .count()
        };
        let h = frame.height as usize;
        assert_eq!(
            margin_rows(h - 15..h),
            0,
            "nothing is drawn in the bottom margin"
        );
        assert_eq!(margin_rows(0..10), 0, "nothing is drawn in the top margin");
    }

    #[test]
    fn sharp_turns_are_cut_and_straight_runs_simplified() {
        // The pixel path of a dose jump that once spiked below the axes.
        let path = [(632, 1109), (633, 153), (633, 155), (633, 157), (634, 159)]
            .map(|(x, y)| (f64::from(x), f64::from(y)));
        let simplified = simplify(&path, SIMPLIFY_TOLERANCE);
        assert_eq!(
            simplified[..2],
            [(632, 1109), (633, 153)],
            "the peak is kept"
        );
        let (pieces, joints) = split_at_sharp_turns(&simplified);
        assert_eq!(joints, vec![(633, 153)]);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], vec![(632, 1109), (633, 153)]);
        assert_eq!(pieces[1].first(), Some(&(633, 153)));
        assert_eq!(pieces[1].last(), Some(&(634, 159)));
        let straight: Vec<(f64, f64)> = (0..100)
            .map(|i| (f64::from(i) * 0.3, f64::from(i)))
            .collect();
        assert_eq!(
            simplify(&straight, SIMPLIFY_TOLERANCE),
            vec![(0, 0), (30, 99)]
        );
    }

    #[test]
    fn font_tables_match_rasteriser_assumptions() {
        let tables = Bearings::get().expect("embedded font tables parse");
        // DejaVu Sans has 2048 units per em.
        assert!((tables.height_units / 2048.0 - DEJAVU_HEIGHT_PER_EM).abs() < 1e-4);
        assert!(tables.glyph('A').is_some_and(|g| g != 0));
        assert!(tables.left_bearing_units('j').is_some_and(|v| v < 0));
        assert!(tables.left_bearing_units('n').is_some_and(|v| v > 0));
    }

    #[test]
    fn log_scale_with_zeros_renders() {
        let times = [0.0, 1.0, 2.0, 3.0];
        let series = [
            Series {
                label: "zeros".into(),
                values: vec![0.0; 4],
            },
            Series {
                label: "mixed".into(),
                values: vec![0.0, 1e5, 0.0, 10.0],
            },
        ];
        let doses = [DoseMark {
            start_day: 1.0,
            end_day: 1.5,
        }];
        render_svg(&input(&times, &series, &doses, YScale::Log)).expect("log with zeros");
        let all_zero = [Series {
            label: "zeros".into(),
            values: vec![0.0; 4],
        }];
        render_svg(&input(&times, &all_zero, &[], YScale::Log)).expect("all zeros");
        render_svg(&input(&times, &all_zero, &[], YScale::Linear)).expect("all zeros, linear");
    }

    #[test]
    fn mismatched_lengths_are_rejected() {
        let times = [0.0, 1.0, 2.0];
        let series = [Series {
            label: "short".into(),
            values: vec![1.0, 2.0],
        }];
        let err = render_svg(&input(&times, &series, &[], YScale::Linear)).expect_err("must fail");
        assert!(matches!(
            err,
            PlotError::LengthMismatch { ref label, expected: 3, actual: 2 } if label == "short"
        ));
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        let times = [0.0, 1.0];
        let nan = [Series {
            label: "nan".into(),
            values: vec![1.0, f64::NAN],
        }];
        assert!(matches!(
            render_svg(&input(&times, &nan, &[], YScale::Log)),
            Err(PlotError::NonFiniteValue { index: 1, .. })
        ));
        let ok = [Series {
            label: "ok".into(),
            values: vec![1.0, 2.0],
        }];
        assert!(matches!(
            render_svg(&input(&[], &[], &[], YScale::Log)),
            Err(PlotError::NoTimePoints)
        ));
        assert!(matches!(
            render_svg(&input(&times, &[], &[], YScale::Log)),
            Err(PlotError::NoSeries)
        ));
        assert!(matches!(
            render_svg(&input(&[1.0, 0.0], &ok, &[], YScale::Log)),
            Err(PlotError::TimeNotSorted { index: 1, .. })
        ));
        let backwards = [DoseMark {
            start_day: 1.0,
            end_day: 0.5,
        }];
        assert!(matches!(
            render_svg(&input(&times, &ok, &backwards, YScale::Log)),
            Err(PlotError::InvalidDose { index: 0, .. })
        ));
    }

    #[test]
    fn single_time_point_is_padded() {
        let series = [Series {
            label: "one".into(),
            values: vec![5.0],
        }];
        let svg = render_svg(&input(&[2.0], &series, &[], YScale::Linear)).expect("renders");
        assert!(svg.contains("<circle"), "a lone point is drawn as a dot");
    }

    #[test]
    fn tick_labels_are_compact() {
        let linear = |v: &[f64]| format_tick_labels(v, true);
        assert_eq!(linear(&[0.0, 2e5, 4e5, 1e6]), ["0", "2e5", "4e5", "1e6"]);
        assert_eq!(linear(&[1e6, 1.5e6]), ["1.0e6", "1.5e6"]);
        assert_eq!(
            linear(&[0.0, 5e3, 1e4, 1.5e4]),
            ["0", "5.0e3", "1.0e4", "1.5e4"]
        );
        assert_eq!(linear(&[0.0, 0.5, 1.0]), ["0", "0.5", "1.0"]);
        assert_eq!(linear(&[-2.0, 0.0, 2.0]), ["\u{2212}2", "0", "2"]);
        let log = format_tick_labels(&[1.0, 10.0, 1000.0, 1e4, 1e-4], false);
        assert_eq!(log, ["1", "10", "1000", "1e4", "1e\u{2212}4"]);
    }

    #[test]
    fn log_runs_stop_at_the_floor() {
        let axis = YAxis::log([1e6, 1e-3, 0.0].into_iter());
        assert_eq!(axis.log_floor, Some(1.0));
        let runs = axis.runs(&[0.0, 1.0, 2.0, 3.0], &[1e6, 1e-3, 0.0, 1e2]);
        assert_eq!(runs.len(), 2);
        let (t_cross, y_cross) = runs[0][1];
        assert!((t_cross - 2.0 / 3.0).abs() < 1e-12 && y_cross == 0.0);
        assert_eq!(runs[1], vec![(3.0, 2.0)]);
    }

    #[test]
    fn weekly_ticks_for_four_weeks() {
        let ticks = Ticks::linear(0.0, 28.0, true);
        assert_eq!(ticks.labels, ["0", "7", "14", "21", "28"]);
    }
}
