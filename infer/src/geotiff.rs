//! Raster outputs: rows are streamed into a plain GeoTIFF beside the target,
//! which is then copied to a Cloud-Optimized GeoTIFF (DEFLATE, 512 px tiles,
//! overviews, BigTIFF when it could exceed 4 GB) and renamed into place.
//! Until that rename nothing exists at the target path, and the temporary
//! files go away on any error.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use gdal::raster::{Buffer, GdalType, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, DriverManager, Metadata};

use crate::legend;
use crate::raster::Georef;

/// A file that is deleted when dropped unless it was kept.
pub struct TempPath(Option<PathBuf>);

impl TempPath {
    /// A hidden name beside `target` ending in `suffix`.
    pub fn beside(target: &Path, suffix: &str) -> Self {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let dir = target.parent().filter(|p| !p.as_os_str().is_empty());
        let tmp = format!(".{name}.{}.tmp{suffix}", std::process::id());
        Self(Some(match dir {
            Some(d) => d.join(tmp),
            None => PathBuf::from(tmp),
        }))
    }

    pub fn path(&self) -> &Path {
        self.0.as_deref().expect("temporary path already kept")
    }

    /// Renames the file to `target`, which then stays.
    pub fn persist(mut self, target: &Path) -> Result<()> {
        let p = self.0.take().expect("temporary path already kept");
        std::fs::rename(&p, target).with_context(|| {
            let _ = std::fs::remove_file(&p);
            format!("cannot write {}", target.display())
        })
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(&p);
            let _ = std::fs::remove_file(p.with_extension("tif.aux.xml"));
        }
    }
}

/// Fails early, before any work, when `target`'s folder cannot take files.
pub fn check_writable(target: &Path) -> Result<()> {
    let tmp = TempPath::beside(target, ".probe");
    std::fs::write(tmp.path(), b"").with_context(|| {
        format!(
            "cannot write {} (its folder is missing or not writable)",
            target.display()
        )
    })?;
    Ok(())
}

/// A raster being written row band by row band.
pub struct RasterWriter {
    target: PathBuf,
    tmp: TempPath,
    ds: Option<Dataset>,
    bands: usize,
}

/// What the finished file says about its bands.
pub struct Finish<'a> {
    pub descriptions: &'a [String],
    /// `(key, value)` items of the default metadata domain.
    pub metadata: &'a [(String, String)],
    /// Overview resampling: `MODE` for class maps, `AVERAGE` for values.
    pub resampling: &'a str,
    /// An RGB colour per class for a class map's first band.
    pub palette: Option<&'a [[u8; 3]]>,
    /// A class map's class names, with the palette also written as GDAL
    /// category names and attribute table (see [`crate::legend`]).
    pub class_names: Option<&'a [String]>,
    /// GDAL band scale of every band (value x scale = the quantity).
    pub scale: Option<f64>,
}

impl RasterWriter {
    pub fn create<T: GdalType + Copy>(
        target: &Path,
        width: usize,
        height: usize,
        bands: usize,
        georef: Option<&Georef>,
        nodata: f64,
    ) -> Result<Self> {
        let tmp = TempPath::beside(target, ".tif");
        let opts = RasterCreationOptions::from_iter(["BIGTIFF=IF_SAFER", "TILED=NO"]);
        let mut ds = DriverManager::get_driver_by_name("GTiff")?
            .create_with_band_type_with_options::<T, _>(tmp.path(), width, height, bands, &opts)
            .with_context(|| format!("cannot create {}", tmp.path().display()))?;
        if let Some(g) = georef {
            ds.set_geo_transform(&g.transform)?;
            if let Some(wkt) = &g.wkt {
                ds.set_spatial_ref(&SpatialRef::from_wkt(wkt)?)?;
            }
        }
        for b in 1..=bands {
            ds.rasterband(b)?.set_no_data_value(Some(nodata))?;
        }
        Ok(Self {
            target: target.to_path_buf(),
            tmp,
            ds: Some(ds),
            bands,
        })
    }

    /// Writes `data` (`rows x width`, row-major) into `band` with its
    /// top-left pixel at `(x, y)`.
    pub fn write_block<T: GdalType + Copy>(
        &mut self,
        band: usize,
        (x, y): (usize, usize),
        width: usize,
        data: Vec<T>,
    ) -> Result<()> {
        let rows = data.len() / width.max(1);
        if rows == 0 {
            return Ok(());
        }
        let ds = self.ds.as_ref().expect("writer is open");
        let mut b = ds.rasterband(band)?;
        b.write(
            (x as isize, y as isize),
            (width, rows),
            &mut Buffer::new((width, rows), data),
        )
        .with_context(|| format!("cannot write {}", self.tmp.path().display()))
    }

    /// Copies to a COG and renames it to the target.
    pub fn finish(mut self, f: Finish<'_>) -> Result<()> {
        let mut ds = self.ds.take().expect("writer is open");
        for (i, d) in f.descriptions.iter().enumerate().take(self.bands) {
            let mut band = ds.rasterband(i + 1)?;
            band.set_description(d)?;
        }
        if let Some(s) = f.scale {
            for b in 1..=self.bands {
                let mut band = ds.rasterband(b)?;
                band.set_scale(s)?;
                band.set_offset(0.0)?;
            }
        }
        for (k, v) in f.metadata {
            ds.set_metadata_item(k, v, "")?;
        }
        if let Some(p) = f.palette {
            let mut ct = gdal::raster::ColorTable::new(gdal::raster::PaletteInterpretation::Rgba);
            for (i, c) in p.iter().enumerate() {
                ct.set_color_entry(
                    i as u16,
                    &gdal::raster::ColorEntry::rgba(c[0] as i16, c[1] as i16, c[2] as i16, 255),
                );
            }
            let mut band = ds.rasterband(1)?;
            band.set_color_table(&ct);
        }
        ds.flush_cache()?;
        let cog = TempPath::beside(&self.target, ".cog.tif");
        let opts = RasterCreationOptions::from_iter([
            "COMPRESS=DEFLATE".to_string(),
            "BLOCKSIZE=512".to_string(),
            "OVERVIEWS=AUTO".to_string(),
            format!("RESAMPLING={}", f.resampling),
            "BIGTIFF=IF_SAFER".to_string(),
        ]);
        let out = ds
            .create_copy(
                &DriverManager::get_driver_by_name("COG")?,
                cog.path(),
                &opts,
            )
            .map_err(|e| anyhow!("cannot write {}: {e}", self.target.display()))?;
        out.close()
            .map_err(|e| anyhow!("cannot write {}: {e}", self.target.display()))?;
        ds.close()?;
        if let (Some(names), Some(p)) = (f.class_names, f.palette) {
            legend::write(cog.path(), names, p)?;
        }
        // GDAL's sidecar goes with the file; a stale one of an earlier
        // output must not describe this one
        let (side_tmp, side) = (legend::sidecar(cog.path()), legend::sidecar(&self.target));
        if side_tmp.exists() {
            std::fs::rename(&side_tmp, &side)
                .with_context(|| format!("cannot write {}", side.display()))?;
        } else if side.exists() {
            std::fs::remove_file(&side)
                .with_context(|| format!("cannot replace {}", side.display()))?;
        }
        cog.persist(&self.target).inspect_err(|_| {
            let _ = std::fs::remove_file(&side);
        })
    }
}

/// A distinct colour per class (a fixed qualitative palette, then a hue walk).
pub fn palette(classes: usize) -> Vec<[u8; 3]> {
    const BASE: [[u8; 3]; 10] = [
        [31, 119, 180],
        [255, 127, 14],
        [44, 160, 44],
        [214, 39, 40],
        [148, 103, 189],
        [140, 86, 75],
        [227, 119, 194],
        [127, 127, 127],
        [188, 189, 34],
        [23, 190, 207],
    ];
    (0..classes)
        .map(|i| {
            if i < BASE.len() {
                BASE[i]
            } else {
                let h = (i as f64 * 0.618_034).fract() * 6.0;
                let x = (1.0 - (h % 2.0 - 1.0).abs()) * 255.0;
                let (r, g, b) = match h as u32 {
                    0 => (255.0, x, 0.0),
                    1 => (x, 255.0, 0.0),
                    2 => (0.0, 255.0, x),
                    3 => (0.0, x, 255.0),
                    4 => (x, 0.0, 255.0),
                    _ => (255.0, 0.0, x),
                };
                [r as u8, g as u8, b as u8]
            }
        })
        .collect()
}
