//! Scene classification is evaluated on whole images: the centre view of
//! each (the shorter side resized to the model input, then cropped), in
//! batches, against the image's class folder.

use anyhow::Result;
use burn::prelude::*;
use image::RgbImage;
use serde_json::Value;
use smae_models::Classifier;
use smae_run::norm::{center_view, imagenet_pixels};
use smae_run::FinetuneConfig;

use super::metrics::classification::classification;
use crate::finetune::samples::ImageStore;

/// Overall and per-class accuracy of `model` on `val` (path, class).
pub fn metrics<B: Backend>(
    model: &Classifier<B>,
    cfg: &FinetuneConfig,
    val: &[(std::path::PathBuf, usize)],
    store: &ImageStore,
    device: &B::Device,
) -> Result<Value> {
    let imgs: Vec<RgbImage> = val
        .iter()
        .map(|(p, _)| store.get(p).map(|i| (*i).clone()))
        .collect::<Result<_, String>>()
        .map_err(anyhow::Error::msg)?;
    let pred = classify(model, &imgs, cfg.vit.img_size as u32, device);
    let truth: Vec<usize> = val.iter().map(|v| v.1).collect();
    let mut v = serde_json::to_value(classification(&pred, &truth, cfg.classes.len()))?;
    v["classes"] = serde_json::json!(cfg.classes);
    Ok(v)
}

fn upload<B: Backend>(imgs: &[RgbImage], size: u32, device: &B::Device) -> Tensor<B, 4> {
    let s = size as usize;
    let data: Vec<f32> = imgs.iter().flat_map(imagenet_pixels).collect();
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
