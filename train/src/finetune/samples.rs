//! Training samples for the downstream tasks, with the augmentation each
//! task uses: RandomResizedCrop + flips for classification; random scale,
//! crop and flips (image and mask together) for segmentation; random tiles,
//! flips and quarter turns (boxes and oriented boxes follow) for detection.
//! Aerial images have no "up", so vertical flips and rotations are fair.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::imageops::{self, FilterType};
use image::{GrayImage, Luma, Rgb, RgbImage};
use rand::Rng;
use smae_geom::{BBox, RBox};
use smae_models::fcos::GtObject;

use crate::data::annotations::Object;
use crate::data::augment::crop_box;
use crate::data::cache::ImageCache;
use crate::data::decode::decode_rgb;

/// Decoded images by path (the shared cache, keyed by file).
pub struct ImageStore(ImageCache<PathBuf>);

impl ImageStore {
    pub fn new(budget_bytes: usize) -> Self {
        Self(ImageCache::new(budget_bytes))
    }

    pub fn get(&self, path: &Path) -> Result<Arc<RgbImage>, String> {
        self.0.get_or_decode(&path.to_path_buf(), || {
            decode_rgb(path).map_err(|e| format!("{}: {e}", path.display()))
        })
    }
}

/// Classification training view: RandomResizedCrop(0.08-1) + flips.
pub fn classification_view<R: Rng>(img: &RgbImage, size: u32, rng: &mut R) -> RgbImage {
    let (x, y, w, h) = crop_box(
        img.width(),
        img.height(),
        (0.08, 1.0),
        (0.75, 4.0 / 3.0),
        rng,
    );
    let mut v = imageops::resize(
        &imageops::crop_imm(img, x, y, w, h).to_image(),
        size,
        size,
        FilterType::CatmullRom,
    );
    if rng.random_bool(0.5) {
        imageops::flip_horizontal_in_place(&mut v);
    }
    if rng.random_bool(0.5) {
        imageops::flip_vertical_in_place(&mut v);
    }
    v
}

/// Segmentation training view: scale by 0.5-2, a random `size` crop (padding
/// with ignore), flips; the mask is resampled by nearest neighbour.
pub fn segmentation_view<R: Rng>(
    img: &RgbImage,
    mask: &GrayImage,
    size: u32,
    ignore: u8,
    rng: &mut R,
) -> (RgbImage, GrayImage) {
    let s: f64 = rng.random_range(0.5..=2.0);
    let (w, h) = (
        ((img.width() as f64 * s).round() as u32).max(1),
        ((img.height() as f64 * s).round() as u32).max(1),
    );
    let img = imageops::resize(img, w, h, FilterType::Triangle);
    let mask = imageops::resize(mask, w, h, FilterType::Nearest);
    let (x0, y0) = (
        rng.random_range(0..=w.saturating_sub(size)),
        rng.random_range(0..=h.saturating_sub(size)),
    );
    let mut out_img = RgbImage::from_pixel(size, size, Rgb([124, 116, 104]));
    let mut out_mask = GrayImage::from_pixel(size, size, Luma([ignore]));
    imageops::replace(
        &mut out_img,
        &imageops::crop_imm(&img, x0, y0, size.min(w), size.min(h)).to_image(),
        0,
        0,
    );
    imageops::replace(
        &mut out_mask,
        &imageops::crop_imm(&mask, x0, y0, size.min(w), size.min(h)).to_image(),
        0,
        0,
    );
    if rng.random_bool(0.5) {
        imageops::flip_horizontal_in_place(&mut out_img);
        imageops::flip_horizontal_in_place(&mut out_mask);
    }
    if rng.random_bool(0.5) {
        imageops::flip_vertical_in_place(&mut out_img);
        imageops::flip_vertical_in_place(&mut out_mask);
    }
    (out_img, out_mask)
}

/// A box (and its oriented form) after a geometric transform of the image.
#[derive(Debug, Clone, Copy)]
pub struct GtBox {
    pub class: usize,
    pub bbox: BBox,
    pub rbox: Option<RBox>,
}

impl GtBox {
    fn hflip(self, w: f32) -> Self {
        Self {
            bbox: BBox::new(
                w - self.bbox.x1,
                self.bbox.y0,
                w - self.bbox.x0,
                self.bbox.y1,
            ),
            rbox: self
                .rbox
                .map(|r| RBox::new(w - r.cx, r.cy, r.w, r.h, -r.angle)),
            ..self
        }
    }

    fn vflip(self, h: f32) -> Self {
        Self {
            bbox: BBox::new(
                self.bbox.x0,
                h - self.bbox.y1,
                self.bbox.x1,
                h - self.bbox.y0,
            ),
            rbox: self
                .rbox
                .map(|r| RBox::new(r.cx, h - r.cy, r.w, r.h, -r.angle)),
            ..self
        }
    }

    /// A quarter turn clockwise on screen: (x, y) -> (h - y, x).
    fn rot90(self, h: f32) -> Self {
        Self {
            bbox: BBox::new(
                h - self.bbox.y1,
                self.bbox.x0,
                h - self.bbox.y0,
                self.bbox.x1,
            ),
            rbox: self.rbox.map(|r| {
                RBox::new(
                    h - r.cy,
                    r.cx,
                    r.w,
                    r.h,
                    r.angle + std::f32::consts::FRAC_PI_2,
                )
            }),
            ..self
        }
    }

    fn scale(self, s: f32) -> Self {
        Self {
            bbox: self.bbox.scale(s),
            rbox: self
                .rbox
                .map(|r| RBox::new(r.cx * s, r.cy * s, r.w * s, r.h * s, r.angle)),
            ..self
        }
    }

    pub fn gt(&self, oriented: bool) -> GtObject {
        GtObject {
            class: self.class,
            bbox: self.bbox,
            rbox: if oriented {
                self.rbox.or(Some(RBox::new(
                    (self.bbox.x0 + self.bbox.x1) / 2.0,
                    (self.bbox.y0 + self.bbox.y1) / 2.0,
                    self.bbox.width(),
                    self.bbox.height(),
                    0.0,
                )))
            } else {
                None
            },
        }
    }
}

/// Objects with class indices.
pub fn gt_boxes(objects: &[Object], classes: &[String]) -> Vec<GtBox> {
    objects
        .iter()
        .filter_map(|o| {
            Some(GtBox {
                class: classes.iter().position(|c| *c == o.class)?,
                bbox: o.bbox,
                rbox: o.rbox,
            })
        })
        .collect()
}

/// Detection training view: a random `tile x tile` window (images smaller
/// than the tile are padded), boxes cut by the window kept when at least
/// half of them is inside (clipped), random flips and quarter turns, then a
/// resize to `size`.
pub fn detection_view<R: Rng>(
    img: &RgbImage,
    boxes: &[GtBox],
    tile: u32,
    size: u32,
    rng: &mut R,
) -> (RgbImage, Vec<GtBox>) {
    let (w, h) = img.dimensions();
    let (x0, y0) = (
        rng.random_range(0..=w.saturating_sub(tile)),
        rng.random_range(0..=h.saturating_sub(tile)),
    );
    let mut view = RgbImage::from_pixel(tile, tile, Rgb([124, 116, 104]));
    imageops::replace(
        &mut view,
        &imageops::crop_imm(img, x0, y0, tile.min(w), tile.min(h)).to_image(),
        0,
        0,
    );
    let t = tile as f32;
    let (fx, fy) = (x0 as f32, y0 as f32);
    let mut out: Vec<GtBox> = boxes
        .iter()
        .filter_map(|b| {
            let moved = b.bbox.translate(-fx, -fy);
            let clipped = moved.clip(t, t);
            if clipped.area() < 0.5 * moved.area()
                || clipped.width() < 2.0
                || clipped.height() < 2.0
            {
                return None;
            }
            let rbox = b.rbox.map(|r| r.translate(-fx, -fy));
            if rbox.is_some_and(|r| r.cx < 0.0 || r.cy < 0.0 || r.cx > t || r.cy > t) {
                return None;
            }
            Some(GtBox {
                class: b.class,
                bbox: clipped,
                rbox,
            })
        })
        .collect();
    if rng.random_bool(0.5) {
        imageops::flip_horizontal_in_place(&mut view);
        out = out.into_iter().map(|b| b.hflip(t)).collect();
    }
    if rng.random_bool(0.5) {
        imageops::flip_vertical_in_place(&mut view);
        out = out.into_iter().map(|b| b.vflip(t)).collect();
    }
    for _ in 0..rng.random_range(0..4) {
        view = imageops::rotate90(&view);
        out = out.into_iter().map(|b| b.rot90(t)).collect();
    }
    let s = size as f32 / t;
    if size != tile {
        view = imageops::resize(&view, size, size, FilterType::Triangle);
        out = out.into_iter().map(|b| b.scale(s)).collect();
    }
    (view, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Boxes follow the pixels: a box painted white must stay white after
    /// every flip and rotation the detection view applies.
    #[test]
    fn boxes_follow_the_image() {
        let mut img = RgbImage::new(100, 80);
        let b = BBox::new(10.0, 20.0, 40.0, 30.0);
        for y in 20..30 {
            for x in 10..40 {
                img.put_pixel(x, y, Rgb([255, 255, 255]));
            }
        }
        let r = RBox::new(25.0, 25.0, 30.0, 10.0, 0.0);
        let gt = [GtBox {
            class: 0,
            bbox: b,
            rbox: Some(r),
        }];
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (v, out) = detection_view(&img, &gt, 100, 100, &mut rng);
            assert_eq!(out.len(), 1);
            let o = out[0];
            let (cx, cy) = ((o.bbox.x0 + o.bbox.x1) / 2.0, (o.bbox.y0 + o.bbox.y1) / 2.0);
            assert_eq!(
                v.get_pixel(cx as u32, cy as u32).0,
                [255, 255, 255],
                "seed {seed}: {o:?}"
            );
            let ro = o.rbox.unwrap();
            assert!((ro.cx - cx).abs() < 1e-3 && (ro.cy - cy).abs() < 1e-3);
            // the long side follows the white bar's long side
            let horizontal = o.bbox.width() > o.bbox.height();
            assert_eq!(ro.angle.abs() < 0.1, horizontal, "seed {seed}: {ro:?}");
        }
    }
}
