//! Data marks shared by the figures and their legends: the disc marker (filled or
//! hollow, with a white halo), SD error bars and range brackets, so the legend draws
//! its samples with the very code that draws the data.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{backend_error, offset, px, Pixel, PlotError, AXIS_COLOUR, TICK_FONT};

/// Data markers: 1.8 mm across, with a white halo separating them from lines beneath.
const MARKER_RADIUS: f64 = 11.0;
const MARKER_HALO: f64 = 3.0;
/// Ring width of a hollow marker.
const MARKER_RING: f64 = 4.0;
/// SD error bars: thin, with short caps.
pub(super) const SD_LINE: f64 = 3.0;
pub(super) const SD_CAP: f64 = 10.0;
/// Range brackets: heavier than the SD bars, with wide caps (this half-width), so
/// the two read apart.
pub(super) const RANGE_LINE: f64 = 6.0;
pub(super) const RANGE_CAP: f64 = 20.0;

/// The kinds of observation mark, for legend samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DataMark {
    /// An observed value.
    Marker,
    /// A series' reference value (hollow).
    Reference,
    /// An SD error bar.
    Sd,
    /// A range bracket.
    Range,
}

/// Draws a legend sample of `mark`, centred at `centre`, in the axis colour.
pub(super) fn draw_mark_sample<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    mark: DataMark,
    (x, y): Pixel,
) -> Result<(), PlotError> {
    let half = offset(TICK_FONT * 0.55);
    let bar = |line, cap| {
        let ends = (((x, y + half), true), ((x, y - half), true));
        draw_bar(area, AXIS_COLOUR, line, cap, ends.0, ends.1)
    };
    match mark {
        DataMark::Marker => draw_marker(area, AXIS_COLOUR, false, (x, y)),
        DataMark::Reference => draw_marker(area, AXIS_COLOUR, true, (x, y)),
        DataMark::Sd => bar(SD_LINE, SD_CAP),
        DataMark::Range => bar(RANGE_LINE, RANGE_CAP),
    }
}

/// A filled or `hollow` disc with a white halo: an observation (hollow: a reference
/// value), a sweep line's data point (hollow on the dashed repeats of the palette), the
/// scatter's predictions at the estimates (filled) and at the start values (hollow).
pub(super) fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    colour: RGBColor,
    hollow: bool,
    centre: Pixel,
) -> Result<(), PlotError> {
    let radius = px(MARKER_RADIUS);
    let mut discs = vec![(radius + px(MARKER_HALO), WHITE), (radius, colour)];
    if hollow {
        discs.push((radius - px(MARKER_RING), WHITE));
    }
    for (r, c) in discs {
        area.draw(&Circle::new(centre, r, c.filled()))
            .map_err(backend_error)?;
    }
    Ok(())
}

/// A vertical bar between two ends, each with a cap when its flag is set.
pub(super) fn draw_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    colour: RGBColor,
    line: f64,
    cap: f64,
    (a, cap_a): (Pixel, bool),
    (b, cap_b): (Pixel, bool),
) -> Result<(), PlotError> {
    let style = colour.stroke_width(px(line));
    area.draw(&PathElement::new(vec![a, b], style))
        .map_err(backend_error)?;
    let half = offset(cap);
    for ((x, y), capped) in [(a, cap_a), (b, cap_b)] {
        if capped {
            area.draw(&PathElement::new(vec![(x - half, y), (x + half, y)], style))
                .map_err(backend_error)?;
        }
    }
    Ok(())
}
