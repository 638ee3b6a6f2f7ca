//! Observed against predicted: each observation a marker at (observed, predicted), each
//! group (organ) in its colour, predictions before a change (a fit's start values) hollow
//! and after it filled, so a reader sees which points the change moved and where.
//!
//! Both axes are logarithmic over one range, because agreement is judged on the fold
//! scale: the identity line and the two-fold lines (dashed, y = 2x and y = x/2) are then
//! straight and equally wide everywhere. A value <= 0 has no place on such an axis: its
//! marker is left out, and the legend counts it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::YAxis;
use super::frame::{xy_figure, Axes};
use super::legend::Sample;
use super::lines::{canvas_mapping, rounded, SeriesStyle, PALETTE};
use super::marks::{draw_marker, DataMark};
use super::prepared::{check_length, first_non_finite};
use super::{render, Figure, PlotError, Rendered};

/// On the log axes, the lowest marker stays at least this many decades above the axis
/// lines (else the axes start a decade lower), so no marker is cut by them.
const MARKER_CLEARANCE: f64 = 0.1;

/// One group of points (an organ): observed values with the predictions for each.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterGroup {
    /// Legend label.
    pub label: String,
    /// Palette index, the same for a group in every figure (as [`OrganTrack::colour`](super::OrganTrack::colour)).
    pub colour: usize,
    /// Observed values (x); must be finite.
    pub observed: Vec<f64>,
    /// Predictions before the change, one per observed value, drawn hollow; must be finite.
    pub before: Vec<f64>,
    /// Predictions after the change, one per observed value, drawn filled; must be finite.
    pub after: Vec<f64>,
}

/// An observed-versus-predicted figure.
#[derive(Debug, Clone, Copy)]
pub struct ObservedVsPredicted<'a> {
    /// Figure title, centred above the axes.
    pub title: &'a str,
    /// X-axis title with units (the observations).
    pub x_label: &'a str,
    /// Y-axis title with units (the predictions).
    pub y_label: &'a str,
    /// Legend text of the hollow markers, e.g. `"Predicted at the start values"`.
    pub before_label: &'a str,
    /// Legend text of the filled markers, e.g. `"Predicted at the estimates"`.
    pub after_label: &'a str,
    /// The groups, in legend order.
    pub groups: &'a [ScatterGroup],
}

/// Draws the figure: 2100 x 1260 px (700 x 420 px as SVG).
///
/// # Errors
/// [`PlotError::Empty`] without groups, [`PlotError::SeriesSizeMismatch`] when a group's
/// predictions and observations differ in number, [`PlotError::NonFiniteValue`] for a NaN
/// or infinity (index: the point within its group); a rendering or encoding failure
/// otherwise.
pub fn observed_vs_predicted(plot: &ObservedVsPredicted) -> Result<Rendered, PlotError> {
    render(&ScatterFigure::new(plot)?)
}

/// The figure with checked input, the markers to draw and the axis both directions share.
struct ScatterFigure<'a> {
    plot: &'a ObservedVsPredicted<'a>,
    /// (hollow, colour, observed, predicted) of each marker with both values > 0, the
    /// hollow ones first, so that a filled marker on the same spot stays visible.
    markers: Vec<(bool, RGBColor, f64, f64)>,
    /// Markers left out for a value <= 0.
    hidden: usize,
    axis: YAxis,
}

impl<'a> ScatterFigure<'a> {
    fn new(plot: &'a ObservedVsPredicted<'a>) -> Result<Self, PlotError> {
        if plot.groups.is_empty() {
            return Err(PlotError::Empty { field: "groups" });
        }
        for group in plot.groups {
            let (label, n) = (&group.label, group.observed.len());
            for predicted in [&group.before, &group.after] {
                check_length(label, n, predicted.len(), "observed values")?;
            }
            let all = [&group.observed, &group.before, &group.after];
            if let Some((index, value)) = all.iter().find_map(|v| first_non_finite(v)) {
                let label = label.clone();
                return Err(PlotError::NonFiniteValue {
                    label,
                    index,
                    value,
                });
            }
        }
        let mut markers = Vec::new();
        let mut hidden = 0;
        for hollow in [true, false] {
            for group in plot.groups {
                let colour = PALETTE[group.colour % PALETTE.len()];
                let predicted = if hollow { &group.before } else { &group.after };
                for (&o, &p) in group.observed.iter().zip(predicted) {
                    if o > 0.0 && p > 0.0 {
                        markers.push((hollow, colour, o, p));
                    } else {
                        hidden += 1;
                    }
                }
            }
        }
        // Only drawn markers set the axes: a hidden marker's other value would stretch
        // them over decades that show nothing.
        let shown = markers.iter().flat_map(|&(_, _, o, p)| [o, p]);
        let axis = YAxis::log_sweep(shown, MARKER_CLEARANCE);
        Ok(Self {
            plot,
            markers,
            hidden,
            axis,
        })
    }
}

impl Figure for ScatterFigure<'_> {
    /// Frame, then the identity and two-fold lines, then the markers on top, and the
    /// legend: groups, then the lines and markers used.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let y = &self.axis;
        let (lo, hi) = (y.lo, y.hi);
        let axes = Axes::new(y, y, (self.plot.x_label, self.plot.y_label));
        let hidden = self.hidden;
        let left_out = format!(
            "{hidden} {} at 0 or below not shown (log axes)",
            if hidden == 1 { "marker" } else { "markers" }
        );
        let (identity, two_fold) = (SeriesStyle::guide(false), SeriesStyle::guide(true));
        xy_figure(root, self.plot.title, &axes, |chart| {
            let to_canvas = canvas_mapping(chart);
            let pixel = |x: f64, y: f64| rounded(to_canvas(&(x, y)));
            // The axes span at least a decade, so each fold line crosses the square.
            let fold = 2_f64.log10();
            identity.draw_path(root, vec![pixel(lo, lo), pixel(hi, hi)])?;
            two_fold.draw_path(root, vec![pixel(lo, lo + fold), pixel(hi - fold, hi)])?;
            two_fold.draw_path(root, vec![pixel(lo + fold, lo), pixel(hi, hi - fold)])?;
            for &(hollow, colour, observed, predicted) in &self.markers {
                let centre = pixel(observed.log10(), predicted.log10());
                draw_marker(root, colour, hollow, centre)?;
            }
            let groups = self.plot.groups.iter().map(|g| {
                let colour = PALETTE[g.colour % PALETTE.len()];
                (g.label.as_str(), Sample::Disc(colour))
            });
            let mut marks = vec![
                ("Identity (y = x)", Sample::Line(identity)),
                ("Two-fold (y = 2x, y = x/2)", Sample::Line(two_fold)),
                (
                    self.plot.before_label,
                    Sample::DataMark(DataMark::Reference),
                ),
                (self.plot.after_label, Sample::DataMark(DataMark::Marker)),
            ];
            if hidden > 0 {
                marks.push((&left_out, Sample::Nothing));
            }
            Ok((groups.collect(), marks))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, svg_has_text, svg_text_run};
    use super::*;

    fn group(label: &str, colour: usize, observed: &[f64], factor: f64) -> ScatterGroup {
        ScatterGroup {
            label: label.into(),
            colour,
            observed: observed.to_vec(),
            before: observed.iter().map(|v| v * factor).collect(),
            after: observed.iter().map(|v| v * 1.1).collect(),
        }
    }

    fn plot(groups: &[ScatterGroup]) -> ObservedVsPredicted<'_> {
        ObservedVsPredicted {
            title: "synthetic: fitted, observed vs predicted",
            x_label: "Observed (% of injected dose)",
            y_label: "Predicted (% of injected dose)",
            before_label: "At the start values",
            after_label: "At the estimates",
            groups,
        }
    }

    fn demo() -> Vec<ScatterGroup> {
        vec![
            group("lung", 0, &[80.0, 30.0, 5.0, 0.4], 3.0),
            group("liver", 2, &[2.0, 10.0, 12.0], 0.3),
        ]
    }

    #[test]
    fn svg_has_titles_legend_and_a_marker_per_point() {
        let groups = demo();
        let svg = observed_vs_predicted(&plot(&groups)).expect("renders").svg;
        assert!(svg.starts_with(r#"<svg width="700" height="420" viewBox="0 0 2100 1260""#));
        // Legend labels may wrap onto several lines.
        let run = svg_text_run(&svg);
        for text in [
            "synthetic: fitted, observed vs predicted",
            "Observed (% of injected dose)",
            "Predicted (% of injected dose)",
            "lung",
            "liver",
            "Identity (y = x)",
            "Two-fold (y = 2x, y = x/2)",
            "At the start values",
            "At the estimates",
        ] {
            assert!(run.contains(text), "missing {text}");
        }
        assert!(svg_has_text(&svg, "lung") && !svg.contains("not shown"));
        // Filled markers are two discs (halo, colour), hollow ones three (and a white
        // centre); seven points each before and after, and the legend's four markers.
        let circles = svg.matches("<circle").count();
        assert_eq!(circles, 7 * 3 + 7 * 2 + 2 * 2 + 3 + 2);
    }

    #[test]
    fn values_at_or_below_zero_are_left_out_and_counted() {
        let mut groups = demo();
        groups[0].observed[3] = 0.0;
        groups[1].before[0] = -1.0;
        let figure = plot(&groups);
        let svg = observed_vs_predicted(&figure).expect("renders").svg;
        assert!(svg_text_run(&svg).contains("3 markers at 0 or below not shown (log axes)"));
        let circles = svg.matches("<circle").count();
        assert_eq!(circles, 5 * 3 + 6 * 2 + 2 * 2 + 3 + 2);
        // The axes come from the drawn markers alone: 2 is the smallest now (the 0.4
        // observed, its 1.2 and 0.44 predicted, and the 0.6 gone), so they start at 1
        // rather than at 0.1.
        let lo = |p| ScatterFigure::new(&p).expect("valid").axis.lo;
        assert_eq!((lo(plot(&demo())), lo(figure)), (-1.0, 0.0));
        let zeros = [group("lung", 0, &[0.0, 0.0], 1.0)];
        observed_vs_predicted(&plot(&zeros)).expect("no positive value: an empty decade");
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut groups = demo();
        groups[1].after[2] = f64::INFINITY;
        let infinite = error(observed_vs_predicted(&plot(&groups)));
        assert!(infinite.contains("\"liver\" has a non-finite value (inf) at time point 2"));
        groups[1].after.pop();
        let short = error(observed_vs_predicted(&plot(&groups)));
        assert!(short.contains("has 2 values but there are 3 observed values"));
        assert!(error(observed_vs_predicted(&plot(&[]))).contains("`groups` is empty"));
    }
}
