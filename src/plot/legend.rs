//! The legend column right of the axes, shared by the x-y figures, each with its own
//! kind of sample. Its fitting rules (wrap, shrink, then summarise the tail as "+ N
//! more", never overflow onto the data) depend on nothing but the column.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::colour::Fill;
use super::doses::{dose_triangle, DOSE_TRIANGLE_HEIGHT, INFUSION_COLOUR};
use super::lines::SeriesStyle;
use super::marks::{draw_mark_sample, draw_marker, DataMark};
use super::text::{draw_label, elide_after, shrinking, wrap_text, LEFT};
use super::{backend_error, offset, PlotError, OUTER_MARGIN};

/// Legend labels: 8.4 pt.
const LEGEND_FONT: f64 = 35.0;
/// The legend font may shrink to this fraction of `LEGEND_FONT` (6.3 pt)
/// before the tail of the series list is elided.
const LEGEND_MIN_FONT_FRACTION: f64 = 0.75;
/// A legend label wraps onto at most this many lines.
const MAX_LABEL_LINES: usize = 2;
/// Length of the line sample in front of each legend label.
pub(super) const LEGEND_SAMPLE: f64 = 80.0;

/// What a legend entry's sample looks like.
#[derive(Debug, Clone, Copy)]
pub(super) enum Sample {
    /// A stretch of a curve (time course).
    Line(SeriesStyle),
    /// A stretch of a curve with its data marker in the middle (sweep line plot).
    LineWithMarker(SeriesStyle),
    /// A square of a bar's fill (bar chart).
    Swatch(Fill),
    Dose,
    Infusion,
    /// An observation's mark (model-versus-data figure).
    DataMark(DataMark),
    /// A filled data marker in a group's colour (observed-versus-predicted scatter).
    Disc(RGBColor),
    /// The "+ N more" line has no sample.
    Nothing,
}

/// Draws a legend column: one sample `sample_len` wide and a (wrapped)
/// label per entry, starting level with the top of the axes (`top_abs`,
/// canvas pixels). Shrinks the font when the entries do not fit or a label
/// would need more than two lines, and as a last resort replaces the tail
/// of `series` by "+ N more" (the `marks` entries are always kept).
pub(super) fn draw_legend_entries<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    top_abs: i32,
    series: &[(&str, Sample)],
    marks: &[(&str, Sample)],
    sample_len: f64,
) -> Result<(), PlotError> {
    let (width, height) = area.dim_in_pixel();
    let (_, base_y) = area.get_base_pixel();
    let top = (top_abs - base_y).max(0);
    let available = (height as i32 - offset(OUTER_MARGIN) - top).max(0);
    let pad = offset(20.0);
    let sample_len = offset(sample_len);
    let text_x = pad + sample_len + offset(18.0);
    let text_width = (width as i32 - text_x - offset(OUTER_MARGIN)).max(1) as u32;

    // Line height and the gap between entries, at em size `em`.
    let spacing = |em: f64| (offset(em * 1.25), offset(em * 0.45));
    // Shrink the font in steps until every label takes at most two lines
    // and the entries fit the column's height (or the minimum is reached).
    let labels = || series.iter().chain(marks).map(|(label, _)| *label);
    let mut fitted = (LEGEND_FONT, Vec::new());
    for em in shrinking(LEGEND_FONT, LEGEND_MIN_FONT_FRACTION, 4) {
        let wrapped = labels()
            .map(|label| wrap_text(label, em, text_width))
            .collect::<Result<Vec<_>, _>>()?;
        let (line_h, gap) = spacing(em);
        let height = legend_height(wrapped.iter().map(Vec::len), line_h, gap);
        let two_lines = wrapped.iter().all(|lines| lines.len() <= MAX_LABEL_LINES);
        fitted = (em, wrapped);
        if height <= available && two_lines {
            break;
        }
    }
    let (em, wrapped) = fitted;
    // A label still longer than two lines at the smallest size keeps its
    // first line and ends the second with an ellipsis.
    let wrapped = labels()
        .zip(wrapped)
        .map(|(label, lines)| match lines.len() > MAX_LABEL_LINES {
            true => elide_after(label, lines, MAX_LABEL_LINES - 1, em, text_width),
            false => Ok(lines),
        })
        .collect::<Result<Vec<_>, PlotError>>()?;
    let (line_h, gap) = spacing(em);

    let mut entries: Vec<(Vec<String>, Sample)> = wrapped
        .into_iter()
        .zip(series.iter().chain(marks).map(|&(_, sample)| sample))
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
            draw_label(area, line, em, LEFT, (text_x, y + i as i32 * line_h))?;
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
        Sample::Line(style) => style.draw_path(area, vec![(x, y), (x + len, y)]),
        Sample::LineWithMarker(style) => {
            style.draw_path(area, vec![(x, y), (x + len, y)])?;
            style.draw_marker(area, (x + len / 2, y))
        }
        Sample::Swatch(fill) => {
            let half = len / 2;
            fill.draw(area, (x, y - half), (x + len, y + half))
        }
        Sample::Dose => {
            let half_height = offset(DOSE_TRIANGLE_HEIGHT) / 2;
            area.draw(&dose_triangle((x + len / 2, y + half_height)))
                .map_err(backend_error)
        }
        Sample::Infusion => {
            let half = offset(LEGEND_FONT * 0.3);
            Fill::solid(INFUSION_COLOUR).draw(area, (x, y - half), (x + len, y + half))
        }
        Sample::DataMark(mark) => draw_mark_sample(area, mark, (x + len / 2, y)),
        Sample::Disc(colour) => draw_marker(area, colour, false, (x + len / 2, y)),
        Sample::Nothing => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{demo_series, input, svg_of};
    use super::super::{time_course, DoseMark, YScale};

    #[test]
    fn legend_overflow_is_summarised() {
        let (times, series) = demo_series(40);
        let doses = [DoseMark {
            start_day: 1.0,
            end_day: 1.0,
        }];
        let svg = svg_of(time_course(&input(&times, &series, &doses, YScale::Log)));
        assert!(svg.contains("Compartment 0") && svg.contains("Dose"));
        assert!(!svg.contains("Compartment 39"));
        assert!(svg.contains(" more"), "the hidden tail is counted");
    }
}
