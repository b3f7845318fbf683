//! The input normalisation every smae model is trained with: 8-bit values
//! scaled to 0-1, then ImageNet's per-channel mean and standard deviation.
//! Training, evaluation, export (the model card) and inference all read the
//! constants from here.

use image::imageops::{self, FilterType};
use image::RgbImage;

pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Raw 8-bit values are multiplied by this first.
pub const SCALE_8BIT: f64 = 1.0 / 255.0;

/// `(x / 255 - mean) / std`, channel-major into `out`.
pub fn normalize_into(img: &RgbImage, mean: &[f32; 3], std: &[f32; 3], out: &mut [f32]) {
    channel_major_into(img, out, |c, v| (v as f32 / 255.0 - mean[c]) / std[c]);
}

/// An RGB image as three planes, R then G then B, each byte mapped by
/// `value(channel, byte)`.
pub fn channel_major_into<T>(img: &RgbImage, out: &mut [T], value: impl Fn(usize, u8) -> T) {
    let plane = (img.width() * img.height()) as usize;
    assert_eq!(
        out.len(),
        3 * plane,
        "output buffer does not match the image"
    );
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = value(c, px[c]);
        }
    }
}

/// ImageNet-normalised, channel-major pixels of an image.
pub fn imagenet_pixels(img: &RgbImage) -> Vec<f32> {
    let mut out = vec![0f32; 3 * (img.width() * img.height()) as usize];
    normalize_into(img, &IMAGENET_MEAN, &IMAGENET_STD, &mut out);
    out
}

/// The evaluation view of an image: the shorter side resized to `size`
/// (bicubic), then the centre `size x size` crop.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_is_imagenet() {
        let img = RgbImage::from_pixel(2, 1, image::Rgb([255, 0, 124]));
        let out = imagenet_pixels(&img);
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
