//! Setting text: how each backend sizes type, and drawing, fitting and
//! wrapping single labels.
//!
//! Every piece of text in the figure (title, tick labels, axis titles,
//! legend) goes through [`draw_label`], so the two backends' differences in
//! font sizing and the bitmap's glyph-by-glyph placement live in one place
//! instead of at each caller.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::backend_error;
use super::font::{Bearings, DEJAVU_HEIGHT_PER_EM, FONT_FAMILY};
use super::PlotError;

const TEXT_COLOUR: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);

/// How text is set on one backend.
///
/// Both renderers share one drawing routine over the same 2100 x 1260 unit
/// canvas (the SVG just declares a 700 x 420 display size, see
/// [`render_svg`](super::render_svg)); they differ only in how plotters sizes
/// and places text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Target {
    /// Plotters font size to request per unit of em size.
    font_per_em: f64,
    /// Place glyphs one by one with their side bearings and correct the
    /// baseline (bitmap only); SVG text is left to the viewer's text engine.
    place_glyphs: bool,
}

impl Target {
    /// The bitmap rasteriser's font size is the font's ascent-to-descent height.
    pub(super) const PNG: Self = Self {
        font_per_em: DEJAVU_HEIGHT_PER_EM,
        place_glyphs: true,
    };
    /// Plotters' SVG backend writes `font-size` = size / 1.24, and SVG's
    /// `font-size` is the em. Layout widths are still estimated with DejaVu's
    /// metrics at this size, which overestimates the rendered width by ~6 %:
    /// a margin for viewers whose sans-serif is wider.
    pub(super) const SVG: Self = Self {
        font_per_em: 1.24,
        place_glyphs: false,
    };

    /// The embedded font at a design em size.
    fn font(self, em: f64) -> TextStyle<'static> {
        TextStyle::from((FONT_FAMILY, em * self.font_per_em).into_font()).color(&TEXT_COLOUR)
    }

    /// Width `text` occupies at design em size `em` (for SVG, an upper bound).
    pub(super) fn text_width<DB: DrawingBackend>(
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

/// Text orientation for [`draw_label`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Orientation {
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
pub(super) fn draw_label<DB: DrawingBackend>(
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
    // Plotters measures text unrotated, so the width along the baseline is
    // the same in either orientation.
    let width = |t: &str| Ok::<_, PlotError>(target.text_width(area, t, em)? as i32);
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

/// Fits one line of text into `max_width`: first by shrinking the font (down
/// to `min_fraction` of `em`), then by eliding the end with an ellipsis.
/// Returns the text and the em size to draw it at.
pub(super) fn fit_text<DB: DrawingBackend>(
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

/// Greedy word wrap to `max_width`. A word wider than the column is broken
/// after its underscores, hyphens and slashes (so `liver_reached_fraction`
/// wraps as `liver_reached_` / `fraction`), and only a piece still too wide
/// is split between characters.
pub(super) fn wrap_text<DB: DrawingBackend>(
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

/// What remains of `text` after the wrapped `lines` taken from its start
/// (the wrapping dropped the spaces it broke at, so they are skipped here too).
pub(super) fn text_after_lines<'t>(text: &'t str, lines: &[String]) -> &'t str {
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
pub(super) fn break_pieces(word: &str) -> Vec<&str> {
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
    fn names_break_after_underscores() {
        assert_eq!(
            break_pieces("liver_reached_fraction"),
            ["liver_", "reached_", "fraction"]
        );
        assert_eq!(break_pieces("a-b/c"), ["a-", "b/", "c"]);
        assert_eq!(break_pieces("plain"), ["plain"]);
        assert_eq!(break_pieces("trailing_"), ["trailing_"]);
    }

    #[test]
    fn the_rest_after_wrapped_lines_keeps_its_spaces() {
        let lines = ["a title".to_owned(), "that_wraps_".to_owned()];
        assert_eq!(
            text_after_lines("a title  that_wraps_here and there", &lines),
            "here and there"
        );
        assert_eq!(text_after_lines("short", &["short".to_owned()]), "");
    }
}
