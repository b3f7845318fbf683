//! Reading scenes with GDAL: any driver, band count and data type, one
//! window at a time, normalised as the model card says, with a validity mask
//! from the scene's nodata values, mask band or alpha band (or a nodata value
//! the user gives), and NaN pixels counted as nodata.
//!
//! A pixel is nodata when *every* band read says so (GDAL's per-dataset
//! mask, rasterio's `dataset_mask`): a dark but valid pixel with one band at
//! the nodata value stays data, as in those tools. A mask or alpha band
//! shared by the bands decides alone. NaN in any band makes a pixel nodata
//! (the model cannot take it).

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{bail, Context, Result};
use gdal::raster::ResampleAlg;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};

use smae_geom::tiling::Window;

/// GDAL reports errors as values here, never on stderr, a truncated JPEG
/// inside a TIFF is an error, not grey pixels, and its cache is bounded.
pub fn init_gdal() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gdal::config::set_error_handler(|_, _, _| {});
        let _ = gdal::config::set_config_option("GDAL_ERROR_ON_LIBJPEG_WARNING", "TRUE");
        // GDAL's block cache defaults to 5% of RAM and fills as a scene
        // streams through: bound it (unless the user chose) so memory stays
        // flat in the scene size.
        if std::env::var_os("GDAL_CACHEMAX").is_none() {
            let _ = gdal::config::set_config_option("GDAL_CACHEMAX", "128");
        }
        // /vsicurl/ reads ahead past the blocks asked for, into the next
        // column band's blocks (a COG stores a block row's blocks together);
        // GDAL's 16 MB region cache forgets them before that band comes and
        // a 20k x 20k COG was fetched 1.3 times over (BENCHMARKS.md). 128 MB
        // kept them there (each block once), for at most 128 MB of memory.
        if std::env::var_os("CPL_VSIL_CURL_CACHE_SIZE").is_none() {
            let _ = gdal::config::set_config_option("CPL_VSIL_CURL_CACHE_SIZE", "134217728");
        }
    });
}

/// The path GDAL opens for a scene: an `http(s)://` URL (a STAC asset href,
/// a COG on object storage) through `/vsicurl/`; anything else as given.
pub fn gdal_path(path: &Path) -> PathBuf {
    let s = path.to_string_lossy();
    if s.starts_with("http://") || s.starts_with("https://") {
        PathBuf::from(format!("/vsicurl/{s}"))
    } else {
        path.to_path_buf()
    }
}

/// A GDAL virtual path (`/vsicurl/`, `/vsis3/`, `/vsigs/`, `/vsiaz/`,
/// `/vsizip/`...), which is not a local file to look for.
pub fn is_virtual(path: &Path) -> bool {
    path.to_string_lossy().starts_with("/vsi")
}

/// Where a scene is on the ground.
#[derive(Debug, Clone, PartialEq)]
pub struct Georef {
    /// GDAL's affine geotransform: pixel (col, row) -> (x, y).
    pub transform: [f64; 6],
    /// The CRS as WKT, when the scene has one.
    pub wkt: Option<String>,
    /// Its EPSG code, when GDAL can tell.
    pub epsg: Option<u32>,
}

impl Georef {
    /// Pixel coordinates (continuous, 0 at the top-left corner) to the CRS.
    pub fn apply(&self, col: f64, row: f64) -> (f64, f64) {
        let t = &self.transform;
        (
            t[0] + col * t[1] + row * t[2],
            t[3] + col * t[4] + row * t[5],
        )
    }

    /// The same georeference for a raster whose pixels are `factor` scene
    /// pixels wide.
    pub fn scaled(&self, factor: f64) -> Self {
        let t = &self.transform;
        Self {
            transform: [
                t[0],
                t[1] * factor,
                t[2] * factor,
                t[3],
                t[4] * factor,
                t[5] * factor,
            ],
            ..self.clone()
        }
    }
}

/// How to turn scene pixels into model input.
#[derive(Debug, Clone)]
pub struct ReadSpec {
    /// 1-based scene bands, in model channel order.
    pub bands: Vec<usize>,
    /// Model input side: windows are resampled to it when they differ.
    pub size: usize,
    pub scale: f64,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// The model normalises itself: tiles hold `value * scale`, and invalid
    /// pixels hold `mean` (0 once the graph has normalised them).
    pub graph_normalises: bool,
    /// A nodata value that overrides the scene's own masks.
    pub nodata: Option<f64>,
}

/// One window, ready for the model.
#[derive(Debug, Clone)]
pub struct TileData {
    /// `[bands, size, size]`, normalised (or only scaled, for a graph that
    /// normalises); invalid pixels are the mean.
    pub pixels: Vec<f32>,
    /// `[size, size]`: pixel inside the scene and not nodata.
    pub valid: Vec<bool>,
    pub valid_count: usize,
    /// Pixels that were NaN in some band (counted as nodata).
    pub nan_count: usize,
}

pub struct Scene {
    ds: Dataset,
    pub path: PathBuf,
    pub width: usize,
    pub height: usize,
    pub band_count: usize,
    pub dtype: String,
    pub georef: Option<Georef>,
}

impl Scene {
    pub fn open(path: &Path) -> Result<Self> {
        init_gdal();
        let path = &gdal_path(path);
        if !is_virtual(path) && !path.exists() {
            bail!("input scene {} does not exist", path.display());
        }
        let opts = DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        };
        // A remote scene opens without listing its folder (one request
        // instead of many on object storage; no sidecar files there).
        // Local scenes keep GDAL's default: .msk and .aux.xml sidecars count.
        let remote = is_virtual(path) && std::env::var_os("GDAL_DISABLE_READDIR_ON_OPEN").is_none();
        if remote {
            let _ = gdal::config::set_thread_local_config_option(
                "GDAL_DISABLE_READDIR_ON_OPEN",
                "EMPTY_DIR",
            );
        }
        let opened = Dataset::open_ex(path, opts);
        if remote {
            let _ = gdal::config::clear_thread_local_config_option("GDAL_DISABLE_READDIR_ON_OPEN");
        }
        let ds = opened.map_err(|e| {
            if is_virtual(path) {
                anyhow::anyhow!(
                    "cannot open {}: unreachable, or not a raster GDAL can read ({e})",
                    path.display()
                )
            } else {
                anyhow::anyhow!("{} is not a raster GDAL can read: {e}", path.display())
            }
        })?;
        let (width, height) = ds.raster_size();
        let band_count = ds.raster_count();
        if width == 0 || height == 0 || band_count == 0 {
            bail!("{} has no pixels", path.display());
        }
        let dtype = ds.rasterband(1)?.band_type().name();
        let georef = match ds.geo_transform() {
            Ok(transform) if transform != [0.0, 1.0, 0.0, 0.0, 0.0, 1.0] => {
                let srs = ds.spatial_ref().ok();
                Some(Georef {
                    transform,
                    wkt: srs.as_ref().and_then(|s| s.to_wkt().ok()),
                    epsg: srs.as_ref().and_then(epsg_of),
                })
            }
            _ => None,
        };
        Ok(Self {
            ds,
            path: path.to_path_buf(),
            width,
            height,
            band_count,
            dtype,
            georef,
        })
    }

    /// Checks that `spec` can be read from this scene.
    pub fn check(&self, spec: &ReadSpec) -> Result<()> {
        if let Some(&b) = spec.bands.iter().find(|&&b| b == 0 || b > self.band_count) {
            bail!(
                "{} has {} band{}, but the model reads band {b} (bands {:?}); choose bands with --bands",
                self.path.display(),
                self.band_count,
                if self.band_count == 1 { "" } else { "s" },
                spec.bands
            );
        }
        if spec.mean.len() != spec.bands.len() || spec.std.len() != spec.bands.len() {
            bail!(
                "the model normalises {} channels but {} bands are selected",
                spec.mean.len(),
                spec.bands.len()
            );
        }
        Ok(())
    }

    /// Reads `win` (scene pixels, possibly partly outside the scene),
    /// resampled to `spec.size` when the window is another size; NaN pixels
    /// are counted inside `own` (`x0, y0, x1, y1`) only.
    pub fn read(&self, win: Window, own: [usize; 4], spec: &ReadSpec) -> Result<TileData> {
        let n = spec.size;
        let fill = |c: usize| {
            if spec.graph_normalises {
                spec.mean[c] as f32
            } else {
                0.0
            }
        };
        let mut tile = TileData {
            pixels: (0..spec.bands.len())
                .flat_map(|c| std::iter::repeat_n(fill(c), n * n))
                .collect(),
            valid: vec![false; n * n],
            valid_count: 0,
            nan_count: 0,
        };
        let Some((x0, y0, x1, y1)) = win.clip(self.width, self.height) else {
            return Ok(tile);
        };
        // The clipped window's place in the output buffer.
        let f = n as f64 / win.size as f64;
        let bx = |v: usize, origin: i64| ((v as i64 - origin) as f64 * f).round() as usize;
        let (bx0, bx1) = (bx(x0, win.x), bx(x1, win.x).min(n));
        let (by0, by1) = (bx(y0, win.y), bx(y1, win.y).min(n));
        let (bw, bh) = (bx1 - bx0, by1 - by0);
        if bw == 0 || bh == 0 {
            return Ok(tile);
        }
        let window = ((x0 as isize, y0 as isize), (x1 - x0, y1 - y0));
        let resample = (win.size != n).then_some(ResampleAlg::Bilinear);
        let read_err = |b: usize| {
            format!(
                "cannot read band {b} of {} at pixel {x0},{y0} (truncated or corrupt?)",
                self.path.display()
            )
        };

        // data where any band read holds data
        let mut valid = vec![false; bw * bh];
        let mut shared: Option<Vec<bool>> = None;
        let mut values = Vec::with_capacity(spec.bands.len());
        for &b in &spec.bands {
            let band = self.ds.rasterband(b)?;
            let v = band
                .read_as::<f64>(window.0, window.1, (bw, bh), resample)
                .with_context(|| read_err(b))?
                .into_shape_and_vec()
                .1;
            match spec.nodata {
                Some(nd) => {
                    // compare raw values, never interpolated ones
                    let raw = if resample.is_some() {
                        band.read_as::<f64>(window.0, window.1, (bw, bh), None)
                            .with_context(|| read_err(b))?
                            .into_shape_and_vec()
                            .1
                    } else {
                        v.clone()
                    };
                    for (ok, r) in valid.iter_mut().zip(&raw) {
                        *ok |= *r != nd;
                    }
                }
                None => {
                    let flags = band.mask_flags()?;
                    if flags.is_all_valid() {
                        valid.fill(true);
                    } else if !(flags.is_per_dataset() && shared.is_some()) {
                        let m = band
                            .open_mask_band()?
                            .read_as::<u8>(window.0, window.1, (bw, bh), None)
                            .with_context(|| read_err(b))?;
                        if flags.is_per_dataset() {
                            shared = Some(m.data().iter().map(|m| *m > 0).collect());
                        } else {
                            for (ok, m) in valid.iter_mut().zip(m.data()) {
                                *ok |= *m > 0;
                            }
                        }
                    }
                }
            }
            values.push(v);
        }
        // a mask or alpha band shared by the bands decides alone
        if let Some(m) = shared {
            valid = m;
        }
        let (sx, sy) = ((x1 - x0) as f64 / bw as f64, (y1 - y0) as f64 / bh as f64);
        for (i, ok) in valid.iter_mut().enumerate() {
            if values.iter().any(|v| v[i].is_nan()) {
                let x = x0 as f64 + ((i % bw) as f64 + 0.5) * sx;
                let y = y0 as f64 + ((i / bw) as f64 + 0.5) * sy;
                let owned = x >= own[0] as f64
                    && x < own[2] as f64
                    && y >= own[1] as f64
                    && y < own[3] as f64;
                if *ok && owned {
                    tile.nan_count += 1;
                }
                *ok = false;
            }
        }
        for (c, v) in values.iter().enumerate() {
            let (scale, mean, std) = match spec.graph_normalises {
                false => (spec.scale, spec.mean[c], spec.std[c]),
                true => (spec.scale, 0.0, 1.0),
            };
            let plane = &mut tile.pixels[c * n * n..(c + 1) * n * n];
            for r in 0..bh {
                for col in 0..bw {
                    let i = r * bw + col;
                    if valid[i] {
                        plane[(by0 + r) * n + bx0 + col] = ((v[i] * scale - mean) / std) as f32;
                    }
                }
            }
        }
        for r in 0..bh {
            for col in 0..bw {
                if valid[r * bw + col] {
                    tile.valid[(by0 + r) * n + bx0 + col] = true;
                    tile.valid_count += 1;
                }
            }
        }
        Ok(tile)
    }
}

fn epsg_of(srs: &gdal::spatial_ref::SpatialRef) -> Option<u32> {
    if srs.auth_name().as_deref() == Some("EPSG") {
        if let Ok(c) = srs.auth_code() {
            return u32::try_from(c).ok();
        }
    }
    let mut s = srs.clone();
    s.auto_identify_epsg().ok()?;
    (s.auth_name().as_deref() == Some("EPSG"))
        .then(|| s.auth_code().ok().and_then(|c| u32::try_from(c).ok()))
        .flatten()
}
