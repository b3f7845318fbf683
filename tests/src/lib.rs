//! Helpers for the end-to-end tests: the real rasters of `tests/data`
//! (through `smae-testkit`) sliced into chips and cut into downstream sets.

use std::path::{Path, PathBuf};

pub use smae_testkit::{data, data_dir, scratch, Scratch};

use clap::Parser;
use image::RgbImage;
use serde_json::Value;
use smae_train::cli::{run, Cli};

/// Runs `smae-train ARGS...` in process; panics with the error chain.
pub fn smae(args: &[&str]) {
    let mut argv = vec!["smae-train"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    run(cli).unwrap_or_else(|e| panic!("smae-train {}: {e:#}", args.join(" ")));
}

/// The Python of the tests' virtual environment (scripts/setup.sh: ONNX,
/// ONNX Runtime, GeoDeep, stac-model), or the system's.
pub fn venv_python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if py.exists() {
        py
    } else {
        PathBuf::from("python3")
    }
}

/// Runs `tests/python/SCRIPT ARGS...` with [`venv_python`]; its stdout, or
/// `Err(stderr)` when it exits non-zero.
pub fn python_script(script: &str, args: &[&str]) -> Result<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let out = std::process::Command::new(venv_python())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `onnx` opened by smae-infer on ONNX Runtime (2 threads).
pub fn ort_model(onnx: &Path) -> smae_infer::Model {
    smae_infer::Model::open(
        onnx,
        &smae_infer::ModelOptions {
            backend: smae_infer::Backend::Ort,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// A JSON file (a run's config.json, metrics.json, ...).
pub fn json(p: &Path) -> Value {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Real aerial images that the `image` crate decodes (JPEG and plain TIFF).
pub fn real_images() -> Vec<PathBuf> {
    [
        "derived/rd_new_800.jpg",
        "derived/cogeo_1024.jpg",
        "derived/drone_1616x1565.jpg",
        "sahi/boats.jpg",
        "deepforest/OSBS_029.tif",
        "rasterio/RGB.byte.tif",
    ]
    .into_iter()
    .map(data)
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

/// The 61 NEON tree crowns of OSBS_029 (pixel boxes from its CSV).
pub fn osbs_boxes() -> Vec<[f32; 4]> {
    let csv = std::fs::read_to_string(data("deepforest/OSBS_029.csv")).unwrap();
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<f32> = l
                .split(',')
                .skip(1)
                .take(4)
                .map(|v| v.parse().unwrap())
                .collect();
            [f[0], f[1], f[2], f[3]]
        })
        .collect()
}

/// The crown mask of OSBS_029: 1 inside the ellipse of each crown box, else 0.
pub fn crown_mask(w: u32, h: u32) -> image::GrayImage {
    let boxes = osbs_boxes();
    image::GrayImage::from_fn(w, h, |x, y| {
        let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
        let inside = boxes.iter().any(|b| {
            let (cx, cy, rx, ry) = (
                (b[0] + b[2]) / 2.0,
                (b[1] + b[3]) / 2.0,
                (b[2] - b[0]) / 2.0,
                (b[3] - b[1]) / 2.0,
            );
            ((px - cx) / rx).powi(2) + ((py - cy) / ry).powi(2) <= 1.0
        });
        image::Luma([u8::from(inside)])
    })
}

/// Real downstream datasets cut from the NEON scene OSBS_029 and its crown
/// boxes, in the layouts `finetune` reads:
/// * `cls/{canopy,open}/`: 32 px chips, canopy when crowns cover >= 40% of
///   the chip, open when < 10%;
/// * `seg/{images,masks}/`: 64 px tiles with crown masks (ellipses in the
///   boxes, 1 = crown, 0 = other);
/// * `seg-west/{images,masks}/`: the `seg` tiles that lie wholly in the
///   scene's left half, and `scene/crowns.png`, the whole scene's crown mask:
///   a segmenter trained on the west is scored on the unseen east half;
/// * `det/{train,val}/`: the left and right halves of the scene with their
///   crowns as DeepForest CSV (boxes assigned by centre).
pub fn neon_tasks(out: &Path) {
    let img = image::open(data("deepforest/OSBS_029.tif"))
        .unwrap()
        .to_rgb8();
    let (w, h) = img.dimensions();
    let half = w / 2;
    let mask = crown_mask(w, h);
    for d in [
        "cls/canopy",
        "cls/open",
        "seg/images",
        "seg/masks",
        "seg-west/images",
        "seg-west/masks",
        "scene",
        "det/train",
        "det/val",
    ] {
        std::fs::create_dir_all(out.join(d)).unwrap();
    }
    let mut k = 0;
    for y in (0..h - 32).step_by(16) {
        for x in (0..w - 32).step_by(16) {
            let covered = (y..y + 32)
                .flat_map(|yy| (x..x + 32).map(move |xx| (xx, yy)))
                .filter(|&(xx, yy)| mask.get_pixel(xx, yy)[0] == 1)
                .count() as f32
                / 1024.0;
            let class = if covered >= 0.4 {
                "canopy"
            } else if covered < 0.1 {
                "open"
            } else {
                continue;
            };
            image::imageops::crop_imm(&img, x, y, 32, 32)
                .to_image()
                .save(out.join(format!("cls/{class}/{k:04}.png")))
                .unwrap();
            k += 1;
        }
    }
    for y in (0..=h - 64).step_by(48) {
        for x in (0..=w - 64).step_by(48) {
            let name = format!("{x:03}_{y:03}.png");
            image::imageops::crop_imm(&img, x, y, 64, 64)
                .to_image()
                .save(out.join("seg/images").join(&name))
                .unwrap();
            image::imageops::crop_imm(&mask, x, y, 64, 64)
                .to_image()
                .save(out.join("seg/masks").join(&name))
                .unwrap();
            if x + 64 <= half {
                for part in ["images", "masks"] {
                    std::fs::copy(
                        out.join("seg").join(part).join(&name),
                        out.join("seg-west").join(part).join(&name),
                    )
                    .unwrap();
                }
            }
        }
    }
    mask.save(out.join("scene/crowns.png")).unwrap();
    for (part, x0) in [("train", 0u32), ("val", half)] {
        image::imageops::crop_imm(&img, x0, 0, half, h)
            .to_image()
            .save(out.join(format!("det/{part}/osbs_{part}.png")))
            .unwrap();
        let mut csv = String::from("image_path,xmin,ymin,xmax,ymax,label\n");
        for b in osbs_boxes() {
            let cx = (b[0] + b[2]) / 2.0;
            if cx >= x0 as f32 && cx < (x0 + half) as f32 {
                let (bx0, bx1) = (
                    (b[0] - x0 as f32).max(0.0),
                    (b[2] - x0 as f32).min(half as f32),
                );
                csv.push_str(&format!(
                    "osbs_{part}.png,{bx0},{},{bx1},{},Tree\n",
                    b[1], b[3]
                ));
            }
        }
        std::fs::write(out.join(format!("det/{part}/boxes.csv")), csv).unwrap();
    }
}
