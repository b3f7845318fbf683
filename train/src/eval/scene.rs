//! Segmentation and detection are evaluated on whole scenes exactly as
//! `smae-infer` runs them: the same GDAL reads, tiling, Hann blending and
//! cross-tile merge (smae-infer's own code), with the Burn model as the
//! engine. Its outputs are the exported graph's (see
//! [`TaskModel::reference`]), so the metrics of a run are the metrics of its
//! ONNX file in smae-infer, up to float rounding between runtimes.

use std::path::Path;

use anyhow::{anyhow, Result};
use burn::prelude::*;
use ndarray::{ArrayD, ArrayView4, IxDyn};
use smae_infer::card::{ModelCard, OutputSpec, Thresholds, CARD_VERSION};
use smae_infer::{Engine, Model, RunOptions};
use smae_run::card::{input_spec, tile_spec};
use smae_run::model::TaskModel;
use smae_run::{FinetuneConfig, Task};

/// Detections scoring at least this count towards mAP (as mmdetection's
/// test setting); `smae-infer run --score 0.05` gives the same detections.
pub const EVAL_SCORE: f32 = 0.05;

/// The Burn model behind smae-infer's [`Engine`] interface.
struct BurnEngine<B: Backend> {
    model: TaskModel<B>,
    device: B::Device,
    names: Vec<String>,
}

impl<B: Backend> Engine for BurnEngine<B>
where
    TaskModel<B>: Send,
{
    fn run(&mut self, batch: ArrayView4<'_, f32>) -> Result<Vec<ArrayD<f32>>> {
        let [n, c, h, w] = [
            batch.shape()[0],
            batch.shape()[1],
            batch.shape()[2],
            batch.shape()[3],
        ];
        let data: Vec<f32> = batch.iter().copied().collect();
        let x = Tensor::<B, 1>::from_data(TensorData::new(data, [n * c * h * w]), &self.device)
            .reshape([n, c, h, w]);
        let outs = self.model.reference(x);
        outs.into_iter()
            .map(|t| {
                // The graph's layouts: reference() flattens some for comparison.
                let d = t.dims();
                let dims = match self.model {
                    TaskModel::Segment(_) => vec![d[0], d[1], h, w],
                    TaskModel::Classify(_) => vec![d[1], d[2]],
                    _ => d.to_vec(),
                };
                let v: Vec<f32> = t
                    .into_data()
                    .convert::<f32>()
                    .into_vec()
                    .map_err(|e| anyhow!("reading model output: {e:?}"))?;
                ArrayD::from_shape_vec(IxDyn(&dims), v).map_err(|e| anyhow!("{e}"))
            })
            .collect()
    }

    fn name(&self) -> String {
        "burn".into()
    }

    fn output_names(&self) -> Vec<String> {
        self.names.clone()
    }
}

/// The outputs of a task's graph as the card lists them.
fn outputs(task: Task) -> Vec<OutputSpec> {
    let spec = |name: &str, layout: &[&str], kind: &str| OutputSpec {
        name: name.into(),
        layout: layout.iter().map(|s| s.to_string()).collect(),
        kind: kind.into(),
        shape: Vec::new(),
    };
    match task {
        Task::Classify => vec![spec("probabilities", &["batch", "class"], "probabilities")],
        Task::Segment => vec![spec(
            "probabilities",
            &["batch", "class", "y", "x"],
            "probabilities",
        )],
        Task::Detect => vec![
            spec("boxes", &["batch", "location", "xyxy"], "boxes_xyxy"),
            spec("scores", &["batch", "location", "class"], "scores"),
        ],
        Task::DetectObb => vec![
            spec(
                "rboxes",
                &["batch", "location", "cxcywha"],
                "rboxes_cxcywha",
            ),
            spec("scores", &["batch", "location", "class"], "scores"),
        ],
    }
}

/// The card a run's export would carry, as far as scene inference reads it:
/// input, tiling, outputs, NMS settings.
pub fn card(cfg: &FinetuneConfig) -> ModelCard {
    let size = cfg.vit.img_size;
    ModelCard {
        version: CARD_VERSION,
        task: cfg.task.name().into(),
        classes: cfg.classes.clone(),
        input: input_spec(size),
        patch_size: cfg.vit.patch_size,
        gsd_m: None,
        tile: tile_spec(Some(cfg), size),
        outputs: outputs(cfg.task),
        thresholds: Thresholds::default(),
        provenance: serde_json::json!({ "evaluation": true }),
        gis: String::new(),
    }
}

/// A scene model (smae-infer's) running `model` on `device`.
pub fn model<B: Backend>(
    cfg: &FinetuneConfig,
    model: TaskModel<B>,
    device: &B::Device,
) -> Result<Model>
where
    TaskModel<B>: Send + 'static,
{
    let card = card(cfg);
    let engine = BurnEngine {
        model,
        device: device.clone(),
        names: card.outputs.iter().map(|o| o.name.clone()).collect(),
    };
    Model::with_engine(Path::new("(burn model)"), card, Box::new(engine))
}

/// Scene options of evaluation: the card's tiling and merge, every
/// detection from [`EVAL_SCORE`], no progress bar.
pub fn run_options() -> RunOptions {
    RunOptions {
        score: Some(EVAL_SCORE),
        quiet: true,
        ..RunOptions::default()
    }
}
