//! The reconstruction targets against hand-computed values.

use burn::backend::Flex;
use burn::prelude::*;
use smae_models::loss::{norm_pix, pixel_target};

fn target() -> Tensor<Flex, 3> {
    // one image, two patches of four values
    Tensor::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0, 6.0, 5.0, 5.0, 5.0, 5.0], [1, 2, 4]),
        &Default::default(),
    )
}

#[test]
fn norm_pix_uses_the_unbiased_variance() {
    // patch 1: mean 3, unbiased variance (4 + 1 + 0 + 9) / 3 = 14/3
    let sd = (14.0f32 / 3.0 + 1e-6).sqrt();
    let want = [-2.0 / sd, -1.0 / sd, 0.0, 3.0 / sd, 0.0, 0.0, 0.0, 0.0];
    let got: Vec<f32> = norm_pix(target()).into_data().to_vec().unwrap();
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
    }
    let same: Vec<f32> = pixel_target(target(), true).into_data().to_vec().unwrap();
    assert_eq!(same, got);
}

#[test]
fn pixel_targets_keep_colour_and_brightness() {
    // the flat patch keeps its value 5 instead of becoming 0
    let got: Vec<f32> = pixel_target(target(), false).into_data().to_vec().unwrap();
    assert_eq!(got, vec![1.0, 2.0, 3.0, 6.0, 5.0, 5.0, 5.0, 5.0]);
}
