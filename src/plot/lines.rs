//! How a series becomes strokes: its colour and dash pattern, cutting it where
//! it leaves a log axis, simplifying dense output, and its data markers. Apart
//! from the layouts because this geometry is easiest to check in isolation.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::marks::draw_marker;
use super::prepared::Prepared;
use super::{backend_error, px, Chart, Pixel, PlotError, PlotInput, AXIS_COLOUR, AXIS_LINE};

/// Data lines: 0.42 mm, clearly heavier than every other line.
const SERIES_LINE: f64 = 5.0;
/// How far, in canvas pixels, a drawn curve may deviate from the data when
/// dense output is simplified: a tenth of a line width, invisible.
const SIMPLIFY_TOLERANCE: f64 = 0.5;

/// Ten colours no two series share: the Okabe-Ito palette without its
/// yellow (too faint on white paper) and its sky blue (a near twin of its
/// blue in print), with Paul Tol's wine, olive and indigo and a brown.
/// Ordered so the first few series contrast most; the eight curves of a
/// human scenario all differ in hue, and "other" keeps black.
pub(super) const PALETTE: [RGBColor; 10] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x88, 0x22, 0x55),
    BLACK,
    RGBColor(0x99, 0x99, 0x33),
    RGBColor(0x33, 0x22, 0x88),
    RGBColor(0x8C, 0x51, 0x0A),
];

/// Line appearance of one series.
#[derive(Debug, Clone, Copy)]
pub(super) struct SeriesStyle {
    colour: RGBColor,
    /// `Some((dash, gap))` in backend units for dashed or dotted lines.
    dash: Option<(u32, u32)>,
    width: u32,
}

impl SeriesStyle {
    /// Colour cycles through the palette; each further cycle switches the dash pattern.
    pub(super) fn for_index(index: usize) -> Self {
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

    /// A black data line that names no series (the validation figure's "Model").
    pub(super) fn neutral() -> Self {
        Self {
            colour: BLACK,
            dash: None,
            width: px(SERIES_LINE),
        }
    }

    /// A reference line rather than data: the axis colour at the axis line's weight,
    /// solid or dashed (the identity and two-fold lines of the scatter). Drawn as a
    /// `SeriesStyle` so the lines and their legend samples look alike.
    pub(super) fn guide(dashed: bool) -> Self {
        Self {
            colour: AXIS_COLOUR,
            dash: dashed.then(|| (px(18.0), px(12.0))),
            width: px(AXIS_LINE),
        }
    }

    /// Draws this series' data marker centred at `centre`: filled for solid
    /// lines, hollow for the dashed and dotted repeats of the palette (so those
    /// stay distinct at the data points too).
    pub(super) fn draw_marker<DB: DrawingBackend>(
        self,
        area: &DrawingArea<DB, Shift>,
        centre: Pixel,
    ) -> Result<(), PlotError> {
        draw_marker(area, self.colour, self.dash.is_some(), centre)
    }

    fn shape(self) -> ShapeStyle {
        self.colour.stroke_width(self.width)
    }

    /// Strokes a polyline in this style, solid or dashed; shared by the
    /// curves and their legend samples so the two always look alike.
    pub(super) fn draw_path<DB: DrawingBackend>(
        self,
        area: &DrawingArea<DB, Shift>,
        points: Vec<Pixel>,
    ) -> Result<(), PlotError> {
        match self.dash {
            Some((dash, gap)) => {
                area.draw(&DashedPathElement::new(points, dash, gap, self.shape()))
            }
            None => area.draw(&PathElement::new(points, self.shape())),
        }
        .map_err(backend_error)
    }
}

/// Draws every series of `input` over the axes of `chart`, in fractional
/// canvas pixels (see [`draw_run`]). The mapping is anchored on plotters' own
/// pixels for the axis corners.
pub(super) fn draw_series<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<DB>,
    input: &PlotInput,
    prep: &Prepared,
) -> Result<(), PlotError> {
    let y = &prep.y_axis;
    let to_canvas = canvas_mapping(chart);
    for (index, series) in input.series.iter().enumerate() {
        let style = SeriesStyle::for_index(index);
        for run in runs(input.time_days, &series.values, y.log_floor) {
            let points: Vec<(f64, f64)> = run.iter().map(&to_canvas).collect();
            draw_run(root, &points, style)?;
        }
    }
    Ok(())
}

/// Maps chart coordinates (axis units: log10 of the value on a log axis) to
/// fractional canvas pixels, anchored on plotters' own pixels for the corners of
/// the axes, so strokes drawn at sub-pixel precision line up with the grid
/// plotters draws.
pub(super) fn canvas_mapping<DB: DrawingBackend>(
    chart: &Chart<DB>,
) -> impl Fn(&(f64, f64)) -> (f64, f64) {
    let (x, y) = (chart.x_range(), chart.y_range());
    let (x0, x1, y0, y1) = (x.start, x.end, y.start, y.end);
    let (left, bottom) = chart.backend_coord(&(x0, y0));
    let (right, top) = chart.backend_coord(&(x1, y1));
    move |&(x, v): &(f64, f64)| {
        (
            f64::from(left) + (x - x0) / (x1 - x0) * f64::from(right - left),
            f64::from(bottom) + (v - y0) / (y1 - y0) * f64::from(top - bottom),
        )
    }
}

/// A fractional canvas point rounded to its pixel.
pub(super) fn rounded((x, y): (f64, f64)) -> Pixel {
    (x.round() as i32, y.round() as i32)
}

/// Splits one series into drawable runs of (day, axis value) points; `log_floor`
/// is the floor of a log axis, `None` for a linear one.
///
/// On a log axis a run ends where the curve drops below the floor: the
/// last segment is cut at the floor line (interpolated in log space) so the
/// curve visibly leaves the axes at the bottom instead of stopping short.
pub(super) fn runs(times: &[f64], values: &[f64], log_floor: Option<f64>) -> Vec<Vec<(f64, f64)>> {
    let Some(floor) = log_floor else {
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

/// Draws one unbroken run of a series, given in (fractional) canvas pixels.
///
/// Plotters rounds every point to a whole canvas pixel, so dense output
/// (several points per pixel) would zig-zag between neighbouring pixels and
/// bloat the SVG; the run is simplified before rounding instead (a straight
/// stretch becomes one segment, peaks are kept). A run that collapses to one
/// pixel becomes a dot.
pub(super) fn draw_run<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    canvas_points: &[(f64, f64)],
    style: SeriesStyle,
) -> Result<(), PlotError> {
    let points = simplify(canvas_points, SIMPLIFY_TOLERANCE);
    if let [point] = points[..] {
        return root
            .draw(&Circle::new(point, 2 * style.width, style.colour.filled()))
            .map_err(backend_error);
    }
    style.draw_path(root, points)
}

/// Ramer-Douglas-Peucker simplification of a canvas polyline: drops points
/// within `tolerance` pixels of the simplified line (keeping peaks), then
/// rounds to whole pixels without repeating a pixel.
fn simplify(points: &[(f64, f64)], tolerance: f64) -> Vec<Pixel> {
    let Some(last) = points.len().checked_sub(1) else {
        return Vec::new();
    };
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
        .map(|(&(x, y), _)| (x.round() as i32, y.round() as i32))
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

#[cfg(test)]
mod tests {
    use super::super::axis::YAxis;
    use super::super::tests::{decode, input, series};
    use super::super::{time_course, Series, YScale};
    use super::*;

    #[test]
    fn peaks_are_kept_and_straight_runs_simplified() {
        // The pixel path of a dose jump.
        let path = [(632, 1109), (633, 153), (633, 155), (633, 157), (634, 159)];
        let path = path.map(|(x, y)| (f64::from(x), f64::from(y)));
        let simplified = simplify(&path, SIMPLIFY_TOLERANCE);
        assert_eq!(
            simplified[..2],
            [(632, 1109), (633, 153)],
            "the peak is kept"
        );
        let straight: Vec<(f64, f64)> = (0..100)
            .map(|i| (f64::from(i) * 0.3, f64::from(i)))
            .collect();
        assert_eq!(
            simplify(&straight, SIMPLIFY_TOLERANCE),
            vec![(0, 0), (30, 99)]
        );
    }

    #[test]
    fn log_runs_stop_at_the_floor() {
        let axis = YAxis::log([1e6, 1e-3, 0.0].into_iter());
        assert_eq!(axis.log_floor, Some(1.0));
        let runs = runs(
            &[0.0, 1.0, 2.0, 3.0],
            &[1e6, 1e-3, 0.0, 1e2],
            axis.log_floor,
        );
        assert_eq!(runs.len(), 2);
        let (t_cross, y_cross) = runs[0][1];
        assert!((t_cross - 2.0 / 3.0).abs() < 1e-12 && y_cross == 0.0);
        assert_eq!(runs[1], vec![(3.0, 2.0)]);
    }

    #[test]
    fn sharp_dose_jumps_stay_inside_the_axes() {
        // Hourly output over half a year with monthly jumps from below the floor to the
        // peak an hour later: consecutive points share pixels and the curve turns back
        // on itself at each dose; different lags give different pixel patterns.
        let times: Vec<f64> = (0..=4320).map(|h| f64::from(h) / 24.0).collect();
        let jumpy = |lag_h: f64| {
            let since = move |t: f64| (t - lag_h / 24.0).rem_euclid(28.0);
            series(&format!("lag {lag_h} h"), &times, |t| {
                1e7 * (-0.9 * since(t)).exp()
            })
        };
        let series: Vec<Series> = [1.0, 2.0, 3.0, 5.0, 7.0, 11.0].map(jumpy).into();
        let png = time_course(&input(&times, &series, &[], YScale::Log))
            .expect("renders")
            .png;
        let (w, h, buf) = decode(&png);
        let row = w as usize * 3;
        let inked = |rows: std::ops::Range<usize>| {
            let pixels = buf[rows.start * row..rows.end * row].chunks(3);
            pixels.filter(|px| *px != [255, 255, 255]).count()
        };
        let bottom_margin = inked(h as usize - 15..h as usize);
        assert_eq!(bottom_margin, 0, "nothing in the bottom margin");
        assert_eq!(inked(0..10), 0, "nothing is drawn in the top margin");
    }
}
