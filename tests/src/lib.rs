//! Helpers for the end-to-end tests: the real rasters of `../shared/data`
//! sliced into chips, and scratch directories.

use std::path::{Path, PathBuf};

use image::RgbImage;

/// The shared test rasters (`SMAE_TEST_DATA` or `../shared/data` next to the
/// repository). Tests fail, rather than skip, when they are missing.
pub fn shared_data() -> PathBuf {
    if let Ok(p) = std::env::var("SMAE_TEST_DATA") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    assert!(
        p.is_dir(),
        "test rasters not found at {}; set SMAE_TEST_DATA to the shared data folder",
        p.display()
    );
    p
}

/// Real aerial images that the `image` crate decodes (JPEG and plain TIFF).
pub fn real_images() -> Vec<PathBuf> {
    let d = shared_data();
    [
        "mmrotate/dior_00001.jpg",
        "mmrotate/demo.jpg",
        "mmrotate/dota_demo.jpg",
        "sahi/boats.jpg",
        "deepforest/OSBS_029.tif",
        "rasterio/RGB.byte.tif",
    ]
    .iter()
    .map(|p| d.join(p))
    .collect()
}

/// Cuts non-overlapping `chip x chip` tiles (at most `per_image` per image,
/// spread over the image) from the real images into `out` as PNG.
pub fn make_chips(out: &Path, chip: u32, per_image: usize) -> usize {
    std::fs::create_dir_all(out).unwrap();
    let mut n = 0;
    for path in real_images() {
        let img: RgbImage = image::open(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .to_rgb8();
        let (cols, rows) = (img.width() / chip, img.height() / chip);
        let total = (cols * rows) as usize;
        let stride = (total / per_image.max(1)).max(1);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for k in (0..total).step_by(stride).take(per_image) {
            let (c, r) = (k as u32 % cols, k as u32 / cols);
            let tile = image::imageops::crop_imm(&img, c * chip, r * chip, chip, chip).to_image();
            tile.save(out.join(format!("{stem}_{k:04}.png"))).unwrap();
            n += 1;
        }
    }
    n
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("smae-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
