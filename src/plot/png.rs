//! PNG encoding of the rendered pixels, with the chunks journals check.
//!
//! The bitmap backend only fills a pixel buffer; encoding it here lets the
//! file carry the `pHYs` chunk (300 dpi) that submission systems read to
//! judge a figure's resolution, plus an sRGB chunk. Nothing else in the
//! module depends on the `png` crate.

use super::PlotError;

/// 300 dots per inch expressed in the unit the PNG `pHYs` chunk uses (1 in = 0.0254 m).
const PNG_PIXELS_PER_METRE: u32 = 11811;

/// Encodes an RGB buffer as PNG with sRGB and 300 dpi physical-size chunks.
pub(super) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::{demo_series, input};
    use super::super::{render_png, DoseMark, YScale, CANVAS};

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
}
