//! The PNG: the figure's SVG rasterized with resvg, encoded with the chunks
//! journals check.
//!
//! Why rasterize the SVG rather than draw a second time on plotters' bitmap
//! backend: plotters 0.3.7's rasterizer drops each glyph's left side bearing
//! (letters spaced unevenly, "In jured") and strokes thick polylines with
//! unlimited mitred joins on whole pixels (a dose jump drawn up and back
//! down shot a spike far outside the axes). Working around both took a
//! TrueType parser, glyph-by-glyph text placement and a path splitter,
//! about 350 lines, and the two backends still sized text differently.
//! resvg lays text out with the font's full metrics (bearings, kerning) and
//! strokes with SVG's miter limit, anti-aliased at sub-pixel precision, so
//! one drawing serves both formats and the PNG is exactly the SVG's picture.
//! The price is speed, a few milliseconds a figure: `cellpk validate` (15
//! figures, each PNG and SVG) took 0.23 s with the bitmap backend and takes
//! 0.30 s rasterizing the SVG; `cellpk run` of `human_two_doses_niche_injury`
//! (two figures) 26 ms and 42 ms (release build, medians of 15 interleaved
//! runs on the 2-core development machine).

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{fontdb, Options, Tree};

use super::text::DEJAVU_SANS;
use super::PlotError;

/// 300 dots per inch expressed in the unit the PNG `pHYs` chunk uses (1 in = 0.0254 m).
const PNG_PIXELS_PER_METRE: u32 = 11811;

/// A font database holding only the embedded font, which also stands in for
/// the generic `sans-serif` family every text element names: no system font
/// is consulted, so the PNG is the same on every machine.
fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_font_data(DEJAVU_SANS.to_vec());
            db.set_sans_serif_family("DejaVu Sans");
            Arc::new(db)
        })
        .clone()
}

/// Rasterizes `svg` to a `width` x `height` PNG declared as 300 dpi: the
/// SVG's viewBox is the canvas, so this draws it at canvas scale.
pub(super) fn rasterize(svg: &str, (width, height): (u32, u32)) -> Result<Vec<u8>, PlotError> {
    let options = Options {
        font_family: "DejaVu Sans".to_owned(),
        fontdb: fonts(),
        ..Options::default()
    };
    let tree = Tree::from_str(svg, &options).map_err(|e| PlotError::Backend(e.to_string()))?;
    let mut pixmap = Pixmap::new(width, height)
        .ok_or_else(|| PlotError::Backend(format!("no {width} x {height} canvas")))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    let scale = width as f32 / tree.size().width();
    resvg::render(
        &tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    // Opaque throughout (white beneath everything), so premultiplied RGBA is plain RGB.
    let rgb: Vec<u8> = pixmap
        .data()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    encode_png(&rgb, width, height)
}

/// Encodes an RGB buffer as PNG with sRGB and 300 dpi physical-size chunks,
/// which submission systems read to judge a figure's resolution.
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
