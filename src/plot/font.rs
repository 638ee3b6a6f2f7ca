//! The embedded font: its bytes, its registration with plotters, and the
//! side bearings read straight from its tables.
//!
//! Kept apart from the text layout in `text` because this is a small binary
//! parser of TrueType tables (`cmap`, `hhea`, `hmtx`) that knows nothing of
//! drawing; plotters does not expose the metrics it reads.

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

use super::PlotError;

/// The embedded font, so rendering never depends on fonts installed on the host.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The one font family used for every piece of text.
pub(super) const FONT_FAMILY: &str = "sans-serif";

/// DejaVu Sans (ascent - descent) / em = (1901 + 483) / 2048. The bitmap text
/// rasteriser takes a font "size" equal to this height, while SVG's
/// `font-size` is the em, so the two backends need different numbers for the
/// same printed type size.
pub(super) const DEJAVU_HEIGHT_PER_EM: f64 = 1.1641;

/// Registers the embedded font with plotters exactly once per process.
pub(super) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// Left side bearings of the embedded font, read from its `cmap`, `hhea` and
/// `hmtx` tables (plotters does not expose them; see
/// [`draw_label`](super::text::draw_label)).
pub(super) struct Bearings {
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
    pub(super) fn get() -> Option<&'static Self> {
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
    pub(super) fn left_bearing_px(&self, c: char, size: f64) -> i32 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_tables_match_rasteriser_assumptions() {
        let tables = Bearings::get().expect("embedded font tables parse");
        // DejaVu Sans has 2048 units per em.
        assert!((tables.height_units / 2048.0 - DEJAVU_HEIGHT_PER_EM).abs() < 1e-4);
        assert!(tables.glyph('A').is_some_and(|g| g != 0));
        assert!(tables.left_bearing_units('j').is_some_and(|v| v < 0));
        assert!(tables.left_bearing_units('n').is_some_and(|v| v > 0));
    }
}
