//! Evaluation of a fine-tuned model: `smae-train eval`, and the
//! validation that ends every fine-tuning run (`metrics.json`).
//!
//! Classification scores the centre view of each image. Segmentation and
//! detection run each validation scene through smae-infer's own tiling,
//! blending and merge with the Burn model as the engine (`scene`), so the
//! mIoU and mAP50 of a run are what `smae-infer` gives with its exported
//! model.

pub mod classify;
pub mod metrics;
pub mod scene;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde_json::Value;
use smae_geom::merge::SceneDetection;
use smae_geom::RBox;
use smae_run::checkpoint;
use smae_run::model::TaskModel;
use smae_run::{FinetuneConfig, Task};

use crate::data::annotations::ImageAnnotations;
use crate::device::{dispatch, BackendJob, DeviceList};
use crate::finetune::data::{self, read_mask, TaskData};
use crate::finetune::samples::ImageStore;
use metrics::detection::{voc_map, GroundTruth, Prediction, Shape};
use metrics::segmentation::SegAccumulator;

/// The file a fine-tuning run's validation (or `eval`) writes.
pub const METRICS: &str = "metrics.json";

/// Decoded validation images kept in memory (classification).
const IMAGE_CACHE_BYTES: usize = 2 << 30;

/// The metrics of `model` on the validation part of `data`.
pub fn evaluate<B: Backend>(
    model: TaskModel<B>,
    cfg: &FinetuneConfig,
    data: &TaskData,
    device: &B::Device,
) -> Result<Value>
where
    TaskModel<B>: Send + 'static,
{
    match (model, data) {
        (TaskModel::Classify(m), TaskData::Classify { val, .. }) => {
            classify::metrics(&m, cfg, val, &ImageStore::new(IMAGE_CACHE_BYTES), device)
        }
        (m @ TaskModel::Segment(_), TaskData::Segment { val, .. }) => {
            segmentation(cfg, scene::model(cfg, m, device)?, val)
        }
        (m @ TaskModel::Detect(_), TaskData::Detect { val, .. }) => {
            detection(cfg, scene::model(cfg, m, device)?, val)
        }
        (m, _) => bail!("the data does not fit a {} model", m.task()),
    }
}

/// mIoU, mF1 and pixel accuracy of the class maps smae-infer would write.
fn segmentation(
    cfg: &FinetuneConfig,
    mut scene: smae_infer::Model,
    val: &[(PathBuf, PathBuf)],
) -> Result<Value> {
    let opts = scene::run_options();
    let mut acc = SegAccumulator::new(cfg.classes.len(), cfg.ignore_index);
    for (img, mask) in val {
        let (map, report) = scene.class_map(img, &opts)?;
        let mask = read_mask(mask).map_err(anyhow::Error::msg)?;
        if (mask.width() as usize, mask.height() as usize) != (report.width, report.height) {
            bail!(
                "mask {:?} does not match its image's size {:?}",
                mask.dimensions(),
                (report.width, report.height)
            );
        }
        acc.add(&map, mask.as_raw());
    }
    let mut v = serde_json::to_value(acc.finish())?;
    v["classes"] = serde_json::json!(cfg.classes);
    Ok(v)
}

/// VOC mAP50 (rotated IoU for `detect-obb`) of the detections smae-infer
/// would write, from [`scene::EVAL_SCORE`] up.
fn detection(
    cfg: &FinetuneConfig,
    mut scene: smae_infer::Model,
    val: &[ImageAnnotations],
) -> Result<Value> {
    let opts = scene::run_options();
    let (mut preds, mut gts) = (Vec::new(), Vec::new());
    for (i, a) in val.iter().enumerate() {
        let (dets, _) = scene.detections(&a.image, &opts)?;
        preds.extend(dets.into_iter().map(|d| Prediction {
            image: i,
            class: d.class(),
            score: d.score(),
            shape: match d {
                SceneDetection::Box(b) => Shape::Axis(b.bbox),
                SceneDetection::Rotated(r) => Shape::Rotated(r.rbox),
            },
        }));
        gts.extend(ground_truth(cfg, i, a)?);
    }
    let mut v = serde_json::to_value(voc_map(&preds, &gts, cfg.classes.len(), 0.5))?;
    v["classes"] = serde_json::json!(cfg.classes);
    v["predictions"] = serde_json::json!(preds.len());
    Ok(v)
}

/// The objects of image `i` as ground truth; a class the run does not know
/// is an error (the loader already refuses them, so this guards the order).
fn ground_truth(cfg: &FinetuneConfig, i: usize, a: &ImageAnnotations) -> Result<Vec<GroundTruth>> {
    a.objects
        .iter()
        .map(|o| {
            let Some(class) = cfg.classes.iter().position(|c| *c == o.class) else {
                bail!(
                    "{}:{}: class '{}' is not one of the run's classes ({})",
                    a.source.display(),
                    o.line,
                    o.class,
                    cfg.classes.join(", ")
                );
            };
            let shape = match (cfg.task, o.rbox) {
                (Task::DetectObb, Some(r)) => Shape::Rotated(r),
                (Task::DetectObb, None) => {
                    let b = o.bbox;
                    Shape::Rotated(RBox::new(
                        (b.x0 + b.x1) / 2.0,
                        (b.y0 + b.y1) / 2.0,
                        b.width(),
                        b.height(),
                        0.0,
                    ))
                }
                _ => Shape::Axis(o.bbox),
            };
            Ok(GroundTruth {
                image: i,
                class,
                shape,
                difficult: o.difficult,
            })
        })
        .collect()
}

/// `smae-train eval`: the metrics of a fine-tuned run on all of `data`.
pub fn eval(run: &Path, data: &Path, devices: &DeviceList, skip_bad: bool) -> Result<Value> {
    let cfg = FinetuneConfig::read(run)?;
    let ckpt = checkpoint::require(run)?;
    let task_data = match cfg.task {
        Task::Classify => {
            let (items, names) = data::load_classification(data)?;
            if names != cfg.classes {
                bail!(
                    "{} has classes {} but the run was trained on {}",
                    data.display(),
                    names.join(", "),
                    cfg.classes.join(", ")
                );
            }
            TaskData::Classify {
                train: Vec::new(),
                val: items,
            }
        }
        Task::Segment => TaskData::Segment {
            train: Vec::new(),
            val: data::load_segmentation(data)?,
        },
        Task::Detect | Task::DetectObb => TaskData::Detect {
            train: Vec::new(),
            val: data::load_detection(
                data,
                Some(&cfg.classes),
                cfg.merge_classes.as_deref(),
                skip_bad,
            )?
            .0,
        },
    };
    struct EvalJob {
        cfg: FinetuneConfig,
        ckpt: PathBuf,
        data: TaskData,
        source: PathBuf,
    }
    impl BackendJob for EvalJob {
        type Output = Value;
        fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<Value> {
            let d = &devices[0];
            let model = TaskModel::<B::InnerBackend>::from_checkpoint(&self.cfg, &self.ckpt, d)?;
            let metrics = evaluate(model, &self.cfg, &self.data, d)?;
            Ok(
                serde_json::json!({ "task": self.cfg.task.name(), "split": "eval", "data": self.source, "metrics": metrics }),
            )
        }
    }
    dispatch(
        devices,
        EvalJob {
            cfg,
            ckpt,
            data: task_data,
            source: data.to_path_buf(),
        },
    )
}

/// The headline numbers of a metrics object (what the commands print).
pub fn headline(v: &serde_json::Value) -> serde_json::Value {
    let m = &v["metrics"];
    let mut out = serde_json::json!({});
    for k in [
        "overall_accuracy",
        "miou",
        "mf1",
        "map50",
        "stopped_at_step",
    ] {
        if !m[k].is_null() {
            out[k] = m[k].clone();
        }
        if !v[k].is_null() {
            out[k] = v[k].clone();
        }
    }
    out
}
