//! MAE's pre-training augmentation: RandomResizedCrop(scale 0.2-1, ratio
//! 3/4-4/3, bicubic) + horizontal flip + ImageNet normalisation, following
//! torchvision's sampling rule so crops have the same distribution.

use image::imageops::{self, FilterType};
use image::RgbImage;
use rand::Rng;
use serde::{Deserialize, Serialize};

pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    pub size: u32,
    pub scale: (f64, f64),
    pub ratio: (f64, f64),
    pub hflip: bool,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Augment {
    pub fn pretrain(size: u32) -> Self {
        Self {
            size,
            scale: (0.2, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            hflip: true,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }

    /// Crops, resizes, maybe flips and normalises `img` into `out`
    /// (`3 * size * size` floats, channel-major).
    pub fn apply<R: Rng>(&self, img: &RgbImage, rng: &mut R, out: &mut [f32]) {
        let (x, y, w, h) = crop_box(img.width(), img.height(), self.scale, self.ratio, rng);
        let crop = imageops::crop_imm(img, x, y, w, h).to_image();
        let mut resized = imageops::resize(&crop, self.size, self.size, FilterType::CatmullRom);
        if self.hflip && rng.random_bool(0.5) {
            imageops::flip_horizontal_in_place(&mut resized);
        }
        normalize_into(&resized, &self.mean, &self.std, out);
    }
}

/// torchvision's `RandomResizedCrop.get_params`: up to 10 tries of a random
/// area fraction and log-uniform aspect ratio, else a centred crop clamped to
/// the ratio range. Returns (x, y, width, height).
pub fn crop_box<R: Rng>(
    width: u32,
    height: u32,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut R,
) -> (u32, u32, u32, u32) {
    let (wf, hf) = (width as f64, height as f64);
    let area = wf * hf;
    let (lr0, lr1) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * rng.random_range(scale.0..=scale.1);
        let aspect = rng.random_range(lr0..=lr1).exp();
        let w = (target * aspect).sqrt().round();
        let h = (target / aspect).sqrt().round();
        if w > 0.0 && h > 0.0 && w <= wf && h <= hf {
            let (w, h) = (w as u32, h as u32);
            let y = rng.random_range(0..=height - h);
            let x = rng.random_range(0..=width - w);
            return (x, y, w, h);
        }
    }
    let in_ratio = wf / hf;
    let (w, h) = if in_ratio < ratio.0 {
        (width, ((wf / ratio.0).round() as u32).clamp(1, height))
    } else if in_ratio > ratio.1 {
        (((hf * ratio.1).round() as u32).clamp(1, width), height)
    } else {
        (width, height)
    };
    ((width - w) / 2, (height - h) / 2, w, h)
}

/// Evaluation view: resize the shorter side to `size` (bicubic), centre crop.
pub fn center_view(img: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let s = size as f64 / w.min(h);
    let (nw, nh) = (
        ((w * s).round() as u32).max(size),
        ((h * s).round() as u32).max(size),
    );
    let resized = imageops::resize(img, nw, nh, FilterType::CatmullRom);
    imageops::crop_imm(&resized, (nw - size) / 2, (nh - size) / 2, size, size).to_image()
}

/// `(x / 255 - mean) / std`, channel-major into `out`.
pub fn normalize_into(img: &RgbImage, mean: &[f32; 3], std: &[f32; 3], out: &mut [f32]) {
    let plane = (img.width() * img.height()) as usize;
    assert_eq!(
        out.len(),
        3 * plane,
        "output buffer does not match the image"
    );
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (px[c] as f32 / 255.0 - mean[c]) / std[c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn crops_follow_scale_and_ratio() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (mut min_frac, mut max_frac) = (1.0f64, 0.0f64);
        for _ in 0..2000 {
            let (x, y, w, h) = crop_box(640, 480, (0.2, 1.0), (0.75, 4.0 / 3.0), &mut rng);
            assert!(x + w <= 640 && y + h <= 480);
            let frac = (w * h) as f64 / (640.0 * 480.0);
            min_frac = min_frac.min(frac);
            max_frac = max_frac.max(frac);
            let r = w as f64 / h as f64;
            // rounding to whole pixels can stretch the ratio slightly
            assert!(r > 0.74 && r < 1.35 || (w, h) == (640, 480), "ratio {r}");
        }
        assert!(min_frac < 0.22 && min_frac > 0.19, "{min_frac}");
        assert!(max_frac > 0.9, "{max_frac}");
    }

    #[test]
    fn fallback_is_centred_and_ratio_clamped() {
        // A 1000 x 10 strip never fits a crop with ratio <= 4/3 at 20% area.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (x, y, w, h) = crop_box(1000, 10, (0.2, 1.0), (0.75, 4.0 / 3.0), &mut rng);
        assert_eq!((w, h), (13, 10));
        assert_eq!((x, y), (493, 0));
    }

    #[test]
    fn normalisation_is_imagenet() {
        let img = RgbImage::from_pixel(2, 1, image::Rgb([255, 0, 124]));
        let mut out = vec![0f32; 6];
        normalize_into(&img, &IMAGENET_MEAN, &IMAGENET_STD, &mut out);
        assert!((out[0] - (1.0 - 0.485) / 0.229).abs() < 1e-6);
        assert!((out[2] - (0.0 - 0.456) / 0.224).abs() < 1e-6);
        assert!((out[4] - (124.0 / 255.0 - 0.406) / 0.225).abs() < 1e-6);
    }

    #[test]
    fn center_view_is_square() {
        let img = RgbImage::new(300, 200);
        assert_eq!(center_view(&img, 64).dimensions(), (64, 64));
    }
}
