//! Helpers shared by smae-infer's integration tests.
// Each test crate includes this module and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub use smae_testkit::{data, scratch};

/// A model of `tests/fixtures` (see make_models.py there).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Files whose name starts with a dot (our temporary files) in `dir`.
pub fn hidden_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect()
}

/// What GDAL's own `gdalinfo -json` (Debian `gdal-bin`) says about `path`.
pub fn gdalinfo(path: &Path) -> serde_json::Value {
    let out = std::process::Command::new("gdalinfo")
        .arg("-json")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run gdalinfo (scripts/setup.sh installs gdal-bin): {e}")
        });
    assert!(out.status.success(), "gdalinfo {}", path.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Band 1 of `path` as bytes, with the raster's width and height.
pub fn read_u8(path: &Path) -> (usize, usize, Vec<u8>) {
    let ds = gdal::Dataset::open(path).unwrap();
    let (w, h) = ds.raster_size();
    let v = ds
        .rasterband(1)
        .unwrap()
        .read_band_as::<u8>()
        .unwrap()
        .into_shape_and_vec()
        .1;
    (w, h, v)
}
