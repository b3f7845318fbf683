//! Round-trip fixtures: small seeded models of every task exported to ONNX,
//! with an input batch and the Burn outputs. The `roundtrip/` crate imports
//! the ONNX files back into Burn with burn-onnx (code generated into
//! `roundtrip/model/`) and checks the imported models reproduce the outputs.

use anyhow::Result;
use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::Distribution;
use smae_models::{Classifier, Detector, Segmenter, Vit, VitConfig};

use smae_run::model::TaskModel;

type B = Flex;

/// Input side of the fixtures.
pub const SIZE: usize = 32;
/// Batch of the stored input.
pub const BATCH: usize = 2;

fn vit() -> VitConfig {
    VitConfig {
        img_size: SIZE,
        patch_size: 8,
        in_chans: 3,
        dim: 16,
        depth: 2,
        heads: 2,
        mlp_ratio: 4.0,
    }
}

/// The fixture models, each built from its own seed.
pub fn models() -> Vec<(TaskModel<B>, usize)> {
    let d = FlexDevice;
    let v = vit();
    let seeded = |s: u64| B::seed(&d, s);
    let mut out = Vec::new();
    seeded(1);
    out.push((TaskModel::Embed(Vit::new(&v, &d)), 0));
    seeded(2);
    out.push((TaskModel::Classify(Classifier::new(&v, 3, true, &d)), 3));
    seeded(3);
    out.push((TaskModel::Segment(Segmenter::new(&v, 2, 8, &d)), 2));
    seeded(4);
    out.push((TaskModel::Detect(Detector::new(&v, 2, 8, false, &d)), 2));
    seeded(5);
    out.push((TaskModel::Detect(Detector::new(&v, 2, 8, true, &d)), 2));
    out
}

/// One fixture: the exported graph and the safetensors holding `input`
/// `[BATCH, 3, SIZE, SIZE]` and the Burn outputs `output0`, `output1`... in
/// the graph's output order.
pub struct Fixture {
    pub task: String,
    pub onnx: Vec<u8>,
    pub reference: Vec<u8>,
}

pub fn fixtures() -> Result<Vec<Fixture>> {
    // seeded, lazily initialised models: hold Burn's generator throughout
    let _rng = smae_run::seed::lock();
    let d = FlexDevice;
    let mut out = Vec::new();
    for (model, classes) in models() {
        let task = model.task().to_string();
        let (onnx, _) =
            crate::to_onnx(&model, SIZE, classes, &crate::GraphOptions::plain(), |_| {
                Ok(Vec::new())
            })?;
        B::seed(&d, 99);
        let x = Tensor::<B, 4>::random([BATCH, 3, SIZE, SIZE], Distribution::Normal(0.0, 1.0), &d);
        let mut tensors = vec![("input".to_string(), x.clone().into_data())];
        for (i, t) in model.reference(x).into_iter().enumerate() {
            tensors.push((format!("output{i}"), t.into_data()));
        }
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .into_iter()
            .map(|(k, t)| {
                let shape = t.shape.to_vec();
                let v = t.convert::<f32>().into_vec::<f32>().unwrap_or_default();
                (k, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect())
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(k, s, b)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .map(|v| (k.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Fixture {
            task,
            onnx,
            reference: safetensors::tensor::serialize(views, None)?,
        });
    }
    Ok(out)
}
