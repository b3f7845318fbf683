//! The HOG descriptor and score against the numpy reference in
//! `fixtures/hog_fixtures.json` (written by `fixtures/gen_hog.py`).

use burn::backend::Flex;
use burn::prelude::*;
use serde_json::Value;
use smae_models::hog::{hog_descriptor, hog_scores, BINS};

type B = Flex;

struct Case {
    name: String,
    patch: usize,
    shape: [usize; 3],
    image: Vec<f32>,
    descriptor: Vec<f32>,
    score: Vec<f32>,
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn cases() -> Vec<Case> {
    let text = include_str!("fixtures/hog_fixtures.json");
    let root: Value = serde_json::from_str(text).unwrap();
    root["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s: Vec<usize> = c["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            Case {
                name: c["name"].as_str().unwrap().to_string(),
                patch: c["patch"].as_u64().unwrap() as usize,
                shape: [s[0], s[1], s[2]],
                image: floats(&c["image"]),
                descriptor: floats(&c["descriptor"]),
                score: floats(&c["score"]),
            }
        })
        .collect()
}

fn image(c: &Case) -> Tensor<B, 4> {
    let [ch, h, w] = c.shape;
    Tensor::<B, 1>::from_floats(c.image.as_slice(), &Default::default()).reshape([1, ch, h, w])
}

fn to_vec<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().unwrap()
}

#[test]
fn descriptor_matches_numpy_reference() {
    for c in cases() {
        let got = hog_descriptor(image(&c), c.patch);
        let [_, l, f] = got.dims();
        assert_eq!(l * f, c.descriptor.len(), "{}", c.name);
        assert_eq!(f, 3 * BINS * 4);
        let got = to_vec(got);
        let worst = got
            .iter()
            .zip(&c.descriptor)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-5, "{}: max abs diff {worst}", c.name);
    }
}

#[test]
fn score_matches_numpy_reference() {
    for c in cases() {
        let got = to_vec(hog_scores(image(&c), c.patch));
        for (i, (a, b)) in got.iter().zip(&c.score).enumerate() {
            assert!((a - b).abs() < 1e-6, "{} patch {i}: {a} vs {b}", c.name);
        }
    }
}

fn case(name: &str) -> Case {
    cases().into_iter().find(|c| c.name == name).unwrap()
}

/// Hand-derived: a vertical edge has gy = 0 and gx < 0, atan2 = -pi/2, so
/// floor(-4.5) mod 9 = bin 4; only the right-hand cells of the left
/// patches (0 and 2, the edge runs top to bottom) see it.
#[test]
fn vertical_edge_lands_in_bin_4() {
    let c = case("vertical_edge");
    let d = to_vec(hog_descriptor(image(&c), 16));
    let at = |patch: usize, ch: usize, bin: usize, cy: usize, cx: usize| {
        d[patch * 108 + ((ch * 9 + bin) * 2 + cy) * 2 + cx]
    };
    for patch in [0, 2] {
        for ch in 0..3 {
            for cy in 0..2 {
                assert_eq!(at(patch, ch, 4, cy, 1), 1.0);
                assert_eq!(at(patch, ch, 4, cy, 0), 0.0);
            }
        }
    }
    let total: f32 = d.iter().sum();
    assert_eq!(
        total, 12.0,
        "2 patches x 3 channels x 2 cells, one unit histogram each"
    );
}

/// Hand-derived: a horizontal edge has gx = 0, atan2(0, gy) is 0 or pi, bin 0.
#[test]
fn horizontal_edge_lands_in_bin_0() {
    let c = case("horizontal_edge");
    let d = to_vec(hog_descriptor(image(&c), 16));
    for patch in 2..4 {
        for ch in 0..3 {
            for cx in 0..2 {
                // edge rows 20/21 lie in cell row 0 of the bottom patches
                assert_eq!(d[patch * 108 + ((ch * 9) * 2) * 2 + cx], 1.0);
            }
        }
    }
    assert_eq!(d.iter().sum::<f32>(), 12.0);
}

/// Flat patches score exactly 0 even for values whose Sobel sums are not
/// exact in float (the residue would otherwise normalise to a unit histogram).
#[test]
fn flat_patches_score_zero_for_any_value() {
    let device = Default::default();
    for v in [0.3f32, -0.8, 2.2489083, -1.7922626, 0.1] {
        let img = Tensor::<B, 4>::full([2, 3, 32, 32], v, &device);
        let s = to_vec(hog_scores(img, 16));
        assert!(s.iter().all(|x| *x == 0.0), "value {v}: {s:?}");
    }
}

#[test]
fn textured_patches_outscore_flat_ones() {
    let c = case("half_texture");
    let s = to_vec(hog_scores(image(&c), 16));
    // patches 0 and 2 are textured (left), 1 and 3 flat except the border column.
    assert!(s[0] > 0.25 && s[2] > 0.25, "{s:?}");
    assert!(s[1] < 0.15 && s[3] < 0.15, "{s:?}");
}
