//! The ONNX graphs smae-export writes import back into Burn (burn-onnx code
//! generation) and reproduce the outputs of the Burn models they came from.

use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use burn::prelude::*;
use smae_roundtrip::{classify, detect, detect_obb, embed, fixture, segment};

type B = Flex;

/// The fixture input on the device, and the stored Burn outputs.
fn load(task: &str) -> (Tensor<B, 4>, Vec<Vec<f32>>) {
    let mut input = None;
    let mut outputs = Vec::new();
    for (name, shape, values) in fixture(task) {
        if name == "input" {
            let s: [usize; 4] = shape.try_into().expect("input is 4-d");
            input = Some(Tensor::<B, 1>::from_floats(values.as_slice(), &FlexDevice).reshape(s));
        } else {
            outputs.push(values);
        }
    }
    (input.expect("fixture has an input"), outputs)
}

fn flat<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec::<f32>().unwrap()
}

/// Same tolerance as `smae-export --verify` for f32 weights.
fn assert_close(task: &str, got: &[Vec<f32>], want: &[Vec<f32>]) {
    assert_eq!(got.len(), want.len(), "{task}: output count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{task} output{i}: element count");
        let scale = w.iter().fold(1f32, |m, v| m.max(v.abs()));
        let err = g.iter().zip(w).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err / scale < 1e-4,
            "{task} output{i}: max error {err} (scale {scale})"
        );
    }
}

#[test]
fn embed_round_trips() {
    let (x, want) = load("embed");
    let (tokens, cls) = embed::Model::<B>::from_embedded(&FlexDevice).forward(x);
    assert_close("embed", &[flat(tokens), flat(cls)], &want);
}

#[test]
fn classify_round_trips() {
    let (x, want) = load("classify");
    let p = classify::Model::<B>::from_embedded(&FlexDevice).forward(x);
    assert_close("classify", &[flat(p)], &want);
}

#[test]
fn segment_round_trips() {
    let (x, want) = load("segment");
    let p = segment::Model::<B>::from_embedded(&FlexDevice).forward(x);
    assert_close("segment", &[flat(p)], &want);
}

#[test]
fn detect_round_trips() {
    let (x, want) = load("detect");
    let (boxes, scores) = detect::Model::<B>::from_embedded(&FlexDevice).forward(x);
    assert_close("detect", &[flat(boxes), flat(scores)], &want);
}

#[test]
fn detect_obb_round_trips() {
    let (x, want) = load("detect-obb");
    let (rboxes, scores) = detect_obb::Model::<B>::from_embedded(&FlexDevice).forward(x);
    assert_close("detect-obb", &[flat(rboxes), flat(scores)], &want);
}
