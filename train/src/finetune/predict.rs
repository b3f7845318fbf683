//! Inference on whole validation images for evaluation: tiles of the model
//! size (padded at the edges), class maps stitched back for segmentation,
//! detections shifted back and merged by NMS for detection.

use burn::prelude::*;
use image::{imageops, Rgb, RgbImage};
use smae_geom::decode::{decode_boxes, decode_rboxes};
use smae_geom::{nms, rotated_nms, Detection, Overlap, RDetection};
use smae_models::{Classifier, Detector, Segmenter};

use super::samples::pixels;
use crate::data::augment::center_view;

fn upload<B: Backend>(imgs: &[RgbImage], size: u32, device: &B::Device) -> Tensor<B, 4> {
    let s = size as usize;
    let data: Vec<f32> = imgs.iter().flat_map(pixels).collect();
    Tensor::<B, 1>::from_data(TensorData::new(data, [imgs.len() * 3 * s * s]), device).reshape([
        imgs.len(),
        3,
        s,
        s,
    ])
}

/// Predicted class of each image (centre view, batched).
pub fn classify<B: Backend>(
    model: &Classifier<B>,
    imgs: &[RgbImage],
    size: u32,
    device: &B::Device,
) -> Vec<usize> {
    let mut out = Vec::with_capacity(imgs.len());
    for chunk in imgs.chunks(16) {
        let views: Vec<RgbImage> = chunk.iter().map(|i| center_view(i, size)).collect();
        let logits = model.forward(upload::<B>(&views, size, device));
        let arg: Vec<i64> = logits
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .into_vec()
            .unwrap_or_default();
        out.extend(arg.into_iter().map(|a| a as usize));
    }
    out
}

/// Top-left corners of `tile`-sized windows covering `len` with the given
/// overlap (the last one flush with the end).
pub fn windows(len: u32, tile: u32, overlap: u32) -> Vec<u32> {
    if len <= tile {
        return vec![0];
    }
    let step = tile.saturating_sub(overlap).max(1);
    let mut v: Vec<u32> = (0..)
        .map(|i| i * step)
        .take_while(|x| x + tile < len)
        .collect();
    v.push(len - tile);
    v
}

fn tile_of(img: &RgbImage, x: u32, y: u32, tile: u32) -> RgbImage {
    let mut t = RgbImage::from_pixel(tile, tile, Rgb([124, 116, 104]));
    let (w, h) = img.dimensions();
    imageops::replace(
        &mut t,
        &imageops::crop_imm(img, x, y, tile.min(w - x), tile.min(h - y)).to_image(),
        0,
        0,
    );
    t
}

/// Class per pixel of a whole image: non-overlapping tiles, padded.
pub fn segment<B: Backend>(
    model: &Segmenter<B>,
    img: &RgbImage,
    tile: u32,
    device: &B::Device,
) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let mut out = vec![0u8; (w * h) as usize];
    for y in windows(h, tile, 0) {
        for x in windows(w, tile, 0) {
            let t = tile_of(img, x, y, tile);
            let logits = model.forward(upload::<B>(&[t], tile, device));
            let cls: Vec<i64> = logits
                .argmax(1)
                .into_data()
                .convert::<i64>()
                .into_vec()
                .unwrap_or_default();
            for ty in 0..tile.min(h - y) {
                for tx in 0..tile.min(w - x) {
                    out[((y + ty) * w + x + tx) as usize] = cls[(ty * tile + tx) as usize] as u8;
                }
            }
        }
    }
    out
}

/// Detections on a whole image: overlapping tiles, per-tile score threshold,
/// shifted back, then NMS over the image.
pub fn detect<B: Backend>(
    model: &Detector<B>,
    img: &RgbImage,
    tile: u32,
    overlap: u32,
    device: &B::Device,
) -> (Vec<Detection>, Vec<RDetection>) {
    let (w, h) = img.dimensions();
    let k = model.classes;
    let (mut dets, mut rdets) = (Vec::new(), Vec::new());
    for y in windows(h, tile, overlap) {
        for x in windows(w, tile, overlap) {
            let t = tile_of(img, x, y, tile);
            let (boxes, scores) = model.decode(upload::<B>(&[t], tile, device));
            let b: Vec<f32> = boxes
                .into_data()
                .convert::<f32>()
                .into_vec()
                .unwrap_or_default();
            let s: Vec<f32> = scores
                .into_data()
                .convert::<f32>()
                .into_vec()
                .unwrap_or_default();
            if model.oriented() {
                rdets.extend(
                    decode_rboxes(&b, &s, k, 0.05, 1000)
                        .into_iter()
                        .map(|mut d| {
                            d.rbox = d.rbox.translate(x as f32, y as f32);
                            d
                        }),
                );
            } else {
                dets.extend(
                    decode_boxes(&b, &s, k, 0.05, 1000)
                        .into_iter()
                        .map(|mut d| {
                            d.bbox = d
                                .bbox
                                .translate(x as f32, y as f32)
                                .clip(w as f32, h as f32);
                            d
                        }),
                );
            }
        }
    }
    let mut dets = nms(dets, 0.5, Overlap::Iou, true);
    let mut rdets = rotated_nms(rdets, 0.5, Overlap::Iou, true);
    dets.truncate(300);
    rdets.truncate(300);
    (dets, rdets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_without_gaps() {
        assert_eq!(windows(100, 128, 0), vec![0]);
        assert_eq!(windows(300, 128, 0), vec![0, 128, 172]);
        assert_eq!(windows(300, 128, 32), vec![0, 96, 172]);
        assert_eq!(windows(256, 128, 0), vec![0, 128]);
    }
}
