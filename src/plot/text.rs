//! The embedded font and setting text: measuring, drawing, fitting and wrapping labels.
//! All text goes through [`draw_label`] (or [`draw_upright`]), and all layout measures
//! with [`text_width`], which reads the advances and kerning of the font the PNG is
//! rasterized with, so what is measured is what is drawn.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::{backend_error, Pixel, PlotError, AXIS_TITLE_FONT, TITLE_MIN_FONT_FRACTION};

/// The embedded font, so rendering never depends on fonts installed on the host.
pub(super) static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family every text element names; the rasterizer maps it to the embedded font.
pub(super) const FONT_FAMILY: &str = "sans-serif";

/// Plotters' SVG backend writes `font-size` = requested size / 1.24, and
/// SVG's `font-size` is the em, so a design em size is requested as em x 1.24.
const FONT_PER_EM: f64 = 1.24;

const TEXT_COLOUR: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);

/// The embedded font, parsed once.
fn font() -> Result<&'static FontRef<'static>, PlotError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok())
        .as_ref()
        .ok_or(PlotError::Font)
}

/// Width `text` occupies at design em size `em`, in canvas pixels (rounded
/// up): the glyph advances plus kerning of the embedded font.
pub(super) fn text_width(text: &str, em: f64) -> Result<u32, PlotError> {
    let font = font()?;
    let units_per_em = f64::from(font.units_per_em().ok_or(PlotError::Font)?);
    // ab_glyph's scale is the ascent-to-descent height, not the em.
    let height = em * f64::from(font.height_unscaled()) / units_per_em;
    let scaled = font.as_scaled(PxScale::from(height as f32));
    let mut width = 0.0_f32;
    let mut previous = None;
    for c in text.chars() {
        let glyph = scaled.glyph_id(c);
        if let Some(before) = previous {
            width += scaled.kern(before, glyph);
        }
        width += scaled.h_advance(glyph);
        previous = Some(glyph);
    }
    Ok(width.max(0.0).ceil() as u32)
}

/// Anchors: the point a label is drawn at is its centre, the middle of its
/// right or left end, or the middle of its top or bottom edge.
pub(super) const CENTRE: Pos = Pos {
    h_pos: HPos::Center,
    v_pos: VPos::Center,
};
pub(super) const RIGHT: Pos = Pos {
    h_pos: HPos::Right,
    v_pos: VPos::Center,
};
pub(super) const LEFT: Pos = Pos {
    h_pos: HPos::Left,
    v_pos: VPos::Center,
};
pub(super) const TOP: Pos = Pos {
    h_pos: HPos::Center,
    v_pos: VPos::Top,
};
pub(super) const BOTTOM: Pos = Pos {
    h_pos: HPos::Center,
    v_pos: VPos::Bottom,
};

/// Draws one line of text at design em size `em` with `anchor` at `pos`, as
/// one SVG text element.
pub(super) fn draw_label<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    em: f64,
    anchor: Pos,
    pos: Pixel,
) -> Result<(), PlotError> {
    set_text(area, text, em, anchor, pos, false)
}

/// [`draw_label`] turned a quarter anticlockwise, reading upwards (anchors as
/// read along the text).
pub(super) fn draw_upright<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    em: f64,
    anchor: Pos,
    pos: Pixel,
) -> Result<(), PlotError> {
    set_text(area, text, em, anchor, pos, true)
}

/// [`draw_label`], or [`draw_upright`] if `upright`.
pub(super) fn set_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    em: f64,
    anchor: Pos,
    pos: Pixel,
    upright: bool,
) -> Result<(), PlotError> {
    let style = TextStyle::from((FONT_FAMILY, em * FONT_PER_EM).into_font())
        .color(&TEXT_COLOUR)
        .pos(anchor);
    let style = if upright {
        style.transform(FontTransform::Rotate270)
    } else {
        style
    };
    area.draw_text(text, &style, pos).map_err(backend_error)
}

/// Width of the widest of `labels` at em size `em`, 0 without labels.
pub(super) fn widest<'s>(
    labels: impl IntoIterator<Item = &'s str>,
    em: f64,
) -> Result<u32, PlotError> {
    let mut widest = 0;
    for label in labels {
        widest = widest.max(text_width(label, em)?);
    }
    Ok(widest)
}

/// An axis title fitted into `max_width` (see [`fit_text`]): its text and em size.
pub(super) fn fit_axis_title(text: &str, max_width: u32) -> Result<(String, f64), PlotError> {
    fit_text(text, AXIS_TITLE_FONT, TITLE_MIN_FONT_FRACTION, max_width)
}

/// Fits one line of text into `max_width`: first by shrinking the font (down
/// to `min_fraction` of `em`), then by eliding the end with an ellipsis.
/// Returns the text and the em size to draw it at.
pub(super) fn fit_text(
    text: &str,
    em: f64,
    min_fraction: f64,
    max_width: u32,
) -> Result<(String, f64), PlotError> {
    let width = text_width;
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

/// Greedy word wrap to `max_width`. A word wider than the column is broken
/// after its underscores, hyphens and slashes (so `liver_reached_fraction`
/// wraps as `liver_reached_` / `fraction`), and only a piece still too wide
/// is split between characters.
pub(super) fn wrap_text(text: &str, em: f64, max_width: u32) -> Result<Vec<String>, PlotError> {
    let fits = |t: &str| Ok::<_, PlotError>(text_width(t, em)? <= max_width);
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
        for piece in break_pieces(word) {
            let candidate = format!("{line}{piece}");
            if fits(&candidate)? {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in piece.chars() {
                line.push(c);
                if line.chars().count() > 1 && !fits(&line)? {
                    line.pop();
                    lines.push(std::mem::replace(&mut line, c.to_string()));
                }
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// `text` wrapped into at most `max_lines` lines of `max_width`, if it fits so
/// without breaking inside a word part (see [`break_pieces`]).
pub(super) fn wrap_whole(
    text: &str,
    em: f64,
    max_width: u32,
    max_lines: usize,
) -> Result<Option<Vec<String>>, PlotError> {
    for piece in text.split_whitespace().flat_map(break_pieces) {
        if text_width(piece, em)? > max_width {
            return Ok(None);
        }
    }
    let lines = wrap_text(text, em, max_width)?;
    Ok((lines.len() <= max_lines).then_some(lines))
}

/// The first `keep` of the `lines` wrapped from `text`, and a last line of the rest,
/// elided to `max_width`.
pub(super) fn elide_after(
    text: &str,
    mut lines: Vec<String>,
    keep: usize,
    em: f64,
    max_width: u32,
) -> Result<Vec<String>, PlotError> {
    lines.truncate(keep);
    let rest = text_after_lines(text, &lines);
    lines.push(fit_text(rest, em, 1.0, max_width)?.0);
    Ok(lines)
}

/// Em sizes from `em` down to `min_fraction` of it in `steps` equal steps.
pub(super) fn shrinking(em: f64, min_fraction: f64, steps: u32) -> impl Iterator<Item = f64> {
    (0..=steps).map(move |step| {
        let fraction = 1.0 - (1.0 - min_fraction) * f64::from(step) / f64::from(steps);
        em * fraction
    })
}

/// What remains of `text` after the wrapped `lines` taken from its start
/// (the wrapping dropped the spaces it broke at, so they are skipped here too).
fn text_after_lines<'t>(text: &'t str, lines: &[String]) -> &'t str {
    let mut rest = text;
    for line in lines {
        rest = rest.trim_start();
        let skip = rest
            .char_indices()
            .nth(line.chars().count())
            .map_or(rest.len(), |(i, _)| i);
        rest = &rest[skip..];
    }
    rest.trim_start()
}

/// Splits `word` after each underscore, hyphen and slash: the places a
/// machine-style name (`liver_reached_fraction`) can be broken without
/// splitting a word part. Concatenating the pieces gives `word` back.
fn break_pieces(word: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in word.char_indices() {
        if matches!(c, '_' | '-' | '/') {
            let end = i + c.len_utf8();
            pieces.push(&word[start..end]);
            start = end;
        }
    }
    if start < word.len() {
        pieces.push(&word[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_embedded_font() {
        let one = text_width("n", 40.0).expect("font parses");
        // DejaVu Sans' "n" advances 1298 of 2048 units per em.
        assert_eq!(one, (40.0_f64 * 1298.0 / 2048.0).ceil() as u32);
        assert!(text_width("nn", 40.0).expect("font parses") >= 2 * one - 1);
        assert!(text_width("W", 40.0).expect("font parses") > one);
    }

    #[test]
    fn names_break_after_underscores_and_the_rest_keeps_its_spaces() {
        let pieces = ["liver_reached_fraction", "a-b/c", "plain", "trailing_"].map(break_pieces);
        let want: [&[&str]; 4] = [
            &["liver_", "reached_", "fraction"],
            &["a-", "b/", "c"],
            &["plain"],
            &["trailing_"],
        ];
        assert_eq!(pieces.map(|p| p.join("|")), want.map(|w| w.join("|")));
        let lines = ["a title".to_owned(), "that_wraps_".to_owned()];
        let rest = text_after_lines("a title  that_wraps_here and there", &lines);
        assert_eq!(rest, "here and there");
        assert_eq!(text_after_lines("short", &["short".to_owned()]), "");
    }
}
