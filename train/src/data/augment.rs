//! MAE's pre-training augmentation: RandomResizedCrop(scale 0.2-1, ratio
//! 3/4-4/3, bicubic) + horizontal flip, following torchvision's sampling rule
//! so crops have the same distribution. The result stays 8-bit: ImageNet
//! normalisation runs on the device after the upload (a quarter of the
//! bytes of f32), see `pretrain::replica`.

use image::imageops::{self, FilterType};
use image::RgbImage;
use rand::Rng;
use smae_run::config::Augment;

/// Crops, resizes and maybe flips `img` into `out` (`3 * size * size`
/// bytes, channel-major) as `aug` says.
pub fn apply<R: Rng>(aug: &Augment, img: &RgbImage, rng: &mut R, out: &mut [u8]) {
    let (x, y, w, h) = crop_box(img.width(), img.height(), aug.scale, aug.ratio, rng);
    let crop = imageops::crop_imm(img, x, y, w, h).to_image();
    let mut resized = imageops::resize(&crop, aug.size, aug.size, FilterType::CatmullRom);
    if aug.hflip && rng.random_bool(0.5) {
        imageops::flip_horizontal_in_place(&mut resized);
    }
    smae_run::norm::channel_major_into(&resized, out, |_, v| v);
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
}
