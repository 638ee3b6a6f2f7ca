//! The atlas figures (`cellpk atlas`): what the model predicts each clinical trial's
//! cells did in the liver, beside what the trial reported.
//!
//! * [`atlas_exposure`]: a dot plot, one row per trial under a heading row per route,
//!   liver AUC on a log axis, each dot coloured by the reported response (hollow grey
//!   when none is known). Dots rather than bars: exposures span decades, and a dot on a
//!   log axis needs no baseline.
//! * [`atlas_dose`]: cells given against liver AUC on log-log axes, coloured by route:
//!   how much of a route's difference is its dose.
//!
//! A trial with a value <= 0 has no place on a log axis: its dot is left out and the
//! legend counts it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Ticks, YAxis};
use super::colour::Fill;
use super::frame::{xy_figure, Axes, Entries};
use super::legend::Sample;
use super::lines::{canvas_mapping, rounded, PALETTE};
use super::marks::{draw_bar, draw_marker, DataMark};
use super::prepared::first_non_finite;
use super::{render, Chart, Figure, PlotError, Rendered, CANVAS};

/// On the log axes, the lowest dot stays at least this many decades inside the axes.
const MARKER_CLEARANCE: f64 = 0.1;
/// Height of a row of the dot plot (300-dpi pixels): tick labels 35 px high stay apart.
const ROW_HEIGHT: u32 = 48;
/// Height the dot plot's title, x axis and margins take besides its rows.
const FRAME_HEIGHT: u32 = 420;

/// A trial's reported response, as `scenarios/trials/trials.csv` categorizes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// The trial reported improvement.
    Improved,
    /// Improvement in some patients or measures, or for a while only.
    Partly,
    /// No improvement over controls.
    NotImproved,
}

impl Response {
    /// Every category, in legend order.
    const ALL: [Response; 3] = [Response::Improved, Response::Partly, Response::NotImproved];

    /// The category named `text` (`improved`, `partly`, `not_improved`), if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == text)
    }

    /// The name as written in `trials.csv`.
    pub const fn name(self) -> &'static str {
        self.info().0
    }

    /// Name, legend text and colour: green, orange, vermillion, the palette's colours a
    /// reader takes for good, mixed and bad without a legend, with any colour vision.
    const fn info(self) -> (&'static str, &'static str, RGBColor) {
        match self {
            Response::Improved => ("improved", "Reported: improved", PALETTE[2]),
            Response::Partly => ("partly", "Reported: partly improved", PALETTE[4]),
            Response::NotImproved => ("not_improved", "Reported: not improved", PALETTE[1]),
        }
    }
}

/// One trial of the atlas.
#[derive(Debug, Clone, PartialEq)]
pub struct AtlasPoint {
    /// Row label (the scenario's name).
    pub label: String,
    /// Route group; the points come grouped, groups in the order they are to be shown.
    pub group: String,
    /// Cells given (x of the dose figure).
    pub cells_given: f64,
    /// Liver AUC in cell-days.
    pub liver_auc: f64,
    /// The 5 and 95 % quantiles of the liver AUC over a population, drawn as a band
    /// behind the dot of the exposure figure.
    pub liver_auc_band: Option<(f64, f64)>,
    /// What the trial reported, if known.
    pub response: Option<Response>,
}

/// The dot plot of liver exposure per trial.
#[derive(Debug, Clone, Copy)]
pub struct AtlasExposure<'a> {
    /// Figure title.
    pub title: &'a str,
    /// Title of the exposure axis, with units.
    pub x_label: &'a str,
    /// The trials, grouped.
    pub points: &'a [AtlasPoint],
}

/// Cells given against liver exposure, by route.
#[derive(Debug, Clone, Copy)]
pub struct AtlasDose<'a> {
    /// Figure title.
    pub title: &'a str,
    /// X-axis title with units.
    pub x_label: &'a str,
    /// Y-axis title with units.
    pub y_label: &'a str,
    /// The trials, grouped.
    pub points: &'a [AtlasPoint],
}

/// Renders the dot plot, 2100 px wide at 300 dpi and as tall as its rows need, as PNG and
/// SVG.
///
/// # Errors
/// [`PlotError::Empty`] without points, [`PlotError::NonFiniteValue`] for a NaN or an
/// infinity; a rendering or encoding failure otherwise.
pub fn atlas_exposure(plot: &AtlasExposure) -> Result<Rendered, PlotError> {
    render(&ExposureFigure::new(plot)?)
}

/// Renders the dose figure, 2100 x 1260 px at 300 dpi, as PNG and SVG.
///
/// # Errors
/// As [`atlas_exposure`].
pub fn atlas_dose(plot: &AtlasDose) -> Result<Rendered, PlotError> {
    render(&DoseFigure::new(plot)?)
}

/// Rejects what no figure can show: no points, or a value that is not a number.
fn check(points: &[AtlasPoint]) -> Result<(), PlotError> {
    if points.is_empty() {
        return Err(PlotError::Empty { field: "points" });
    }
    for (index, p) in points.iter().enumerate() {
        if let Some((_, value)) = first_non_finite(&[p.cells_given, p.liver_auc]) {
            let label = p.label.clone();
            return Err(PlotError::NonFiniteValue {
                label,
                index,
                value,
            });
        }
    }
    Ok(())
}

/// The groups of `points` in order of appearance.
fn groups(points: &[AtlasPoint]) -> Vec<&str> {
    let mut groups: Vec<&str> = Vec::new();
    for p in points {
        if groups.last() != Some(&p.group.as_str()) {
            groups.push(&p.group);
        }
    }
    groups
}

/// A marker to draw: (x, y) in axis units, whether it is hollow (no response known), and
/// its colour.
type Dot = ((f64, f64), bool, RGBColor);

/// Draws an atlas figure: the frame of `axes`, what `behind` draws (behind the dots), the `dots`, and the
/// legend of `entries` with a line counting the `hidden` trials a log axis cannot show.
fn draw_atlas<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    axes: &Axes,
    dots: &[Dot],
    hidden: usize,
    behind: impl FnOnce(&Chart<DB>) -> Result<(), PlotError>,
    entries: Entries,
) -> Result<(), PlotError> {
    let trials = if hidden == 1 { "trial" } else { "trials" };
    let note = format!("{hidden} {trials} at 0 or below not shown (log axis)");
    xy_figure(root, title, axes, |chart| {
        behind(chart)?;
        let to_canvas = canvas_mapping(chart);
        for &(at, hollow, colour) in dots {
            draw_marker(root, colour, hollow, rounded(to_canvas(&at)))?;
        }
        let marks = if hidden > 0 {
            vec![(note.as_str(), Sample::Nothing)]
        } else {
            vec![]
        };
        Ok((entries, marks))
    })
}

/// The dot plot with checked input, its rows and axes.
struct ExposureFigure<'a> {
    plot: &'a AtlasExposure<'a>,
    /// Row labels from the top: a heading per group, then its trials.
    rows: YAxis,
    x: YAxis,
    dots: Vec<Dot>,
    /// 5-95 % population bands, (low, high, row) in axis units, drawn behind the dots.
    bands: Vec<(f64, f64, f64)>,
    hidden: usize,
}

/// Colour of a population band: a light grey, behind dots of any response colour.
const BAND_COLOUR: RGBColor = RGBColor(0xC8, 0xC8, 0xC8);

/// Line width of a population band (300-dpi pixels): thick and light, so the dot on it
/// stays the mark that reads.
const BAND_LINE: f64 = 9.0;

impl<'a> ExposureFigure<'a> {
    fn new(plot: &'a AtlasExposure<'a>) -> Result<Self, PlotError> {
        check(plot.points)?;
        // The axis spans the bands too.
        let values = plot.points.iter().flat_map(|p| {
            let (lo, hi) = p.liver_auc_band.unwrap_or((p.liver_auc, p.liver_auc));
            [p.liver_auc, lo, hi]
        });
        let x = YAxis::log_sweep(values, MARKER_CLEARANCE);
        let mut labels = Vec::new();
        let mut at = Vec::new();
        for group in groups(plot.points) {
            labels.push(group.to_uppercase());
            at.push(None);
            for (i, p) in plot.points.iter().enumerate() {
                if p.group == group {
                    labels.push(p.label.clone());
                    at.push(Some(i));
                }
            }
        }
        // Row k from the top sits at n - 1 - k, so the first group heads the figure.
        let n = labels.len();
        let row_y = |k: usize| (n - 1 - k) as f64;
        let mut ticks = Ticks::none();
        ticks.major = (0..n).map(row_y).collect();
        ticks.labels = labels;
        let rows = YAxis {
            lo: -0.7,
            hi: n as f64 - 0.3,
            log_floor: None,
            ticks,
        };
        let mut dots = Vec::new();
        let mut bands = Vec::new();
        let mut hidden = 0;
        for (k, i) in at.iter().enumerate() {
            let Some(p) = i.map(|i| &plot.points[i]) else {
                continue;
            };
            if let Some((lo, hi)) = p.liver_auc_band.filter(|(lo, _)| *lo > 0.0) {
                bands.push((lo.log10(), hi.log10(), row_y(k)));
            }
            if p.liver_auc <= 0.0 {
                hidden += 1;
                continue;
            }
            let (hollow, colour) = match p.response {
                Some(r) => (false, r.info().2),
                None => (true, super::AXIS_COLOUR),
            };
            dots.push(((p.liver_auc.log10(), row_y(k)), hollow, colour));
        }
        Ok(Self {
            plot,
            rows,
            x,
            dots,
            bands,
            hidden,
        })
    }
}

impl Figure for ExposureFigure<'_> {
    fn canvas(&self) -> (u32, u32) {
        let rows = self.rows.ticks.major.len() as u32;
        (CANVAS.0, CANVAS.1.max(ROW_HEIGHT * rows + FRAME_HEIGHT))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let titles = (self.plot.x_label, "Trial, grouped by route");
        let axes = Axes::new(&self.x, &self.rows, titles);
        let points = self.plot.points;
        let mut entries: Entries = Response::ALL
            .iter()
            .filter(|r| points.iter().any(|p| p.response == Some(**r)))
            .map(|r| (r.info().1, Sample::Disc(r.info().2)))
            .collect();
        if points.iter().any(|p| p.response.is_none()) {
            entries.push((
                "No response reported",
                Sample::DataMark(DataMark::Reference),
            ));
        }
        if !self.bands.is_empty() {
            let swatch = Sample::Swatch(Fill::solid(BAND_COLOUR));
            entries.push(("5-95 % of virtual subjects", swatch));
        }
        let bands = |chart: &Chart<DB>| {
            let to_canvas = canvas_mapping(chart);
            for &(lo, hi, row) in &self.bands {
                let end = |v: f64| (rounded(to_canvas(&(v, row))), false);
                draw_bar(root, BAND_COLOUR, BAND_LINE, 0.0, end(lo), end(hi))?;
            }
            Ok(())
        };
        let title = self.plot.title;
        draw_atlas(root, title, &axes, &self.dots, self.hidden, bands, entries)
    }
}

/// The dose figure with checked input and its axes.
struct DoseFigure<'a> {
    plot: &'a AtlasDose<'a>,
    x: YAxis,
    y: YAxis,
    dots: Vec<Dot>,
    hidden: usize,
}

impl<'a> DoseFigure<'a> {
    fn new(plot: &'a AtlasDose<'a>) -> Result<Self, PlotError> {
        check(plot.points)?;
        let shown = |p: &&AtlasPoint| p.cells_given > 0.0 && p.liver_auc > 0.0;
        let x = YAxis::log_sweep(
            plot.points.iter().filter(shown).map(|p| p.cells_given),
            MARKER_CLEARANCE,
        );
        let y = YAxis::log_sweep(
            plot.points.iter().filter(shown).map(|p| p.liver_auc),
            MARKER_CLEARANCE,
        );
        let groups = groups(plot.points);
        let dots = plot
            .points
            .iter()
            .filter(shown)
            .map(|p| {
                let group = groups.iter().position(|g| *g == p.group).unwrap_or(0);
                (
                    (p.cells_given.log10(), p.liver_auc.log10()),
                    false,
                    PALETTE[group % PALETTE.len()],
                )
            })
            .collect::<Vec<_>>();
        let hidden = plot.points.len() - dots.len();
        Ok(Self {
            plot,
            x,
            y,
            dots,
            hidden,
        })
    }
}

impl Figure for DoseFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let titles = (self.plot.x_label, self.plot.y_label);
        let axes = Axes::new(&self.x, &self.y, titles);
        let entries = groups(self.plot.points)
            .into_iter()
            .enumerate()
            .map(|(i, g)| (g, Sample::Disc(PALETTE[i % PALETTE.len()])))
            .collect();
        let title = self.plot.title;
        draw_atlas(
            root,
            title,
            &axes,
            &self.dots,
            self.hidden,
            |_| Ok(()),
            entries,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode, error, svg_text_run};
    use super::*;

    fn point(label: &str, group: &str, auc: f64, response: Option<Response>) -> AtlasPoint {
        AtlasPoint {
            label: label.into(),
            group: group.into(),
            cells_given: 7e7,
            liver_auc: auc,
            liver_auc_band: None,
            response,
        }
    }

    fn demo() -> Vec<AtlasPoint> {
        vec![
            point("a2011", "peripheral vein", 1e7, Some(Response::Improved)),
            point("b2012", "peripheral vein", 3e6, Some(Response::NotImproved)),
            point("c2013", "hepatic artery", 2e8, None),
        ]
    }

    fn exposure(points: &[AtlasPoint]) -> AtlasExposure<'_> {
        AtlasExposure {
            title: "exposure",
            x_label: "AUC",
            points,
        }
    }

    fn dose(points: &[AtlasPoint]) -> AtlasDose<'_> {
        AtlasDose {
            title: "dose",
            x_label: "Cells given",
            y_label: "AUC",
            points,
        }
    }

    #[test]
    fn the_dot_plot_heads_each_route_and_colours_by_response() {
        let points = demo();
        let figure = atlas_exposure(&exposure(&points)).expect("renders");
        let text = svg_text_run(&figure.svg);
        let labels = ["PERIPHERAL VEIN", "HEPATIC ARTERY", "a2011", "c2013"];
        let legend = [
            "Reported: improved",
            "Reported: not improved",
            "No response reported",
        ];
        for label in labels.into_iter().chain(legend) {
            assert!(text.contains(label), "missing {label}");
        }
        assert!(!text.contains("partly"), "only the categories present");
        // Five rows fit the standard canvas, 2100 px wide at 300 dpi; 31 need more.
        assert_eq!(decode(&figure.png).0, CANVAS.0);
        assert_eq!(decode(&figure.png).1, CANVAS.1);
        let many: Vec<AtlasPoint> = (0..30)
            .map(|i| point(&format!("t{i}"), "portal", 1e6, None))
            .collect();
        let many = exposure(&many);
        let tall = ExposureFigure::new(&many).expect("valid");
        assert_eq!(tall.canvas().1, ROW_HEIGHT * 31 + FRAME_HEIGHT);
    }

    #[test]
    fn values_a_log_axis_cannot_show_are_counted_and_bad_input_refused() {
        let mut points = demo();
        points[1].liver_auc = 0.0;
        let svg = atlas_dose(&dose(&points)).expect("renders").svg;
        assert!(svg_text_run(&svg).contains("1 trial at 0 or below not shown (log axis)"));
        points[0].cells_given = f64::NAN;
        let nan = error(atlas_dose(&dose(&points)));
        assert!(nan.contains("\"a2011\" has a non-finite value (NaN) at time point 0"));
        assert!(error(atlas_exposure(&exposure(&[]))).contains("`points` is empty"));
        assert_eq!(Response::parse("partly"), Some(Response::Partly));
        assert_eq!(Response::parse("better"), None);
    }
}
