//! Opening any raster GDAL (or, failing that, the `image` crate) reads,
//! deciding whether it is visible-light 8-bit RGB, and reading windows of it
//! as RGB without decoding the rest of a huge scene.

use std::path::Path;

use gdal::raster::{ColorInterpretation, GdalDataType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use image::RgbImage;
// The one GDAL set-up (quiet, strict about truncated JPEGs, bounded cache),
// shared with smae-infer.
use smae_infer::raster::init_gdal;

/// The report's reason for pixels that fail to decode.
pub const UNDECODABLE: &str = "undecodable (truncated or corrupt)";

/// What a raster is, before deciding what to do with it.
#[derive(Debug, Clone, PartialEq)]
pub struct RasterInfo {
    pub width: usize,
    pub height: usize,
    pub bands: usize,
    pub dtype: String,
}

enum Inner {
    Gdal(Dataset),
    Image(RgbImage),
}

pub struct Raster {
    inner: Inner,
    pub info: RasterInfo,
    /// Why this raster is not visible-light 8-bit RGB, if it is not.
    pub not_rgb: Option<String>,
}

impl Raster {
    /// Opens `path`; the error is a short reason for the report.
    pub fn open(path: &Path) -> Result<Raster, String> {
        init_gdal();
        let opts = DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        };
        match Dataset::open_ex(path, opts) {
            Ok(ds) => Self::from_gdal(ds),
            Err(_) => Self::from_image(path),
        }
    }

    fn from_gdal(ds: Dataset) -> Result<Raster, String> {
        let (width, height) = ds.raster_size();
        let bands = ds.raster_count();
        if width == 0 || height == 0 || bands == 0 {
            return Err("zero size".into());
        }
        let band = |i: usize| ds.rasterband(i).map_err(|_| UNDECODABLE.to_string());
        let first = band(1)?;
        let dtype = first.band_type();
        let mut not_rgb = match bands {
            1 if first.color_interpretation() == ColorInterpretation::PaletteIndex => {
                Some("paletted single band".to_string())
            }
            1 => Some("single band (SAR-like or panchromatic)".to_string()),
            2 => Some("2 bands (grey + alpha or dual-polarisation)".to_string()),
            3 => None,
            4 if band(4)?.color_interpretation() == ColorInterpretation::AlphaBand => None,
            n => Some(format!("multispectral ({n} bands)")),
        };
        if not_rgb.is_none() {
            for i in 1..=3 {
                let t = band(i)?.band_type();
                if t != GdalDataType::UInt8 {
                    not_rgb = Some(format!("data type {} (not 8-bit)", t.name()));
                    break;
                }
            }
        }
        Ok(Raster {
            info: RasterInfo {
                width,
                height,
                bands,
                dtype: dtype.name(),
            },
            inner: Inner::Gdal(ds),
            not_rgb,
        })
    }

    /// Formats GDAL was not built with: decode fully with `image`.
    fn from_image(path: &Path) -> Result<Raster, String> {
        let meta = std::fs::metadata(path).map_err(|_| "unreadable".to_string())?;
        if meta.len() == 0 {
            return Err("zero size".into());
        }
        let img = crate::data::decode::decode_rgb(path)
            .map_err(|_| "unreadable (not a raster GDAL or image reads)".to_string())?;
        // (`image` decodes eagerly, so a truncated file fails here.)
        if img.width() == 0 || img.height() == 0 {
            return Err("zero size".into());
        }
        Ok(Raster {
            info: RasterInfo {
                width: img.width() as usize,
                height: img.height() as usize,
                bands: 3,
                dtype: "Byte".into(),
            },
            inner: Inner::Image(img),
            not_rgb: None,
        })
    }

    /// Reads the window `(x, y, w, h)` as RGB (bands 1-3).
    pub fn read_rgb(&self, (x, y, w, h): (usize, usize, usize, usize)) -> Result<RgbImage, String> {
        match &self.inner {
            Inner::Image(img) => Ok(image::imageops::crop_imm(
                img, x as u32, y as u32, w as u32, h as u32,
            )
            .to_image()),
            Inner::Gdal(ds) => {
                let mut planes = [vec![0u8; w * h], vec![0u8; w * h], vec![0u8; w * h]];
                for (i, plane) in planes.iter_mut().enumerate() {
                    let band = ds.rasterband(i + 1).map_err(|_| UNDECODABLE.to_string())?;
                    band.read_into_slice::<u8>(
                        (x as isize, y as isize),
                        (w, h),
                        (w, h),
                        plane,
                        None,
                    )
                    .map_err(|_| UNDECODABLE.to_string())?;
                }
                let [r, g, b] = &planes;
                let rgb: Vec<u8> = r
                    .iter()
                    .zip(g)
                    .zip(b)
                    .flat_map(|((r, g), b)| [*r, *g, *b])
                    .collect();
                RgbImage::from_raw(w as u32, h as u32, rgb).ok_or_else(|| UNDECODABLE.to_string())
            }
        }
    }
}
