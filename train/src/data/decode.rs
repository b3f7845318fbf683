//! Decoding images to 8-bit RGB, strictly: a truncated or corrupt JPEG is
//! an error, never grey pixels.

use std::path::Path;

use image::RgbImage;

use super::folder::Item;

/// Decodes a dataset sample to 8-bit RGB.
pub fn decode_item(item: &Item) -> Result<RgbImage, String> {
    match item {
        Item::File(path) => decode_rgb(path),
        Item::Shard(entry) => {
            let bytes = entry.read().map_err(|e| e.to_string())?;
            decode_bytes(&bytes)
        }
    }
}

/// Decodes an encoded image held in memory (JPEG strictly, see [`decode_rgb`]).
pub fn decode_bytes(bytes: &[u8]) -> Result<RgbImage, String> {
    match image::guess_format(bytes) {
        Ok(image::ImageFormat::Jpeg) => decode_jpeg_strict(bytes),
        _ => Ok(image::load_from_memory(bytes)
            .map_err(|e| e.to_string())?
            .to_rgb8()),
    }
}

/// Decodes any supported image to 8-bit RGB (grey is replicated, alpha dropped,
/// 16-bit scaled).
///
/// JPEGs are decoded in strict mode: `image` decodes them leniently and fills
/// a truncated or corrupt scan with grey, which would train on fake pixels.
pub fn decode_rgb(path: &Path) -> Result<RgbImage, String> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format() == Some(image::ImageFormat::Jpeg) {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        return decode_jpeg_strict(&bytes);
    }
    Ok(reader.decode().map_err(|e| e.to_string())?.to_rgb8())
}

fn decode_jpeg_strict(bytes: &[u8]) -> Result<RgbImage, String> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder
        .decode()
        .map_err(|e| format!("corrupt JPEG: {e:?}"))?;
    let (w, h) = decoder.dimensions().ok_or("JPEG without dimensions")?;
    RgbImage::from_raw(w as u32, h as u32, pixels)
        .ok_or_else(|| "JPEG decoded to an unexpected size".to_string())
}
