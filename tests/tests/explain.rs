//! `smae-train explain` on a real image, from a fresh model and from a
//! pre-training run: the JSON agrees with the selection rules and the PNG is
//! written.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;
use smae_testkit::TINY_PRETRAIN;
use smae_tests::{data, make_chips, smae, Scratch};

fn ids(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn read(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("selection.json")).unwrap()).unwrap()
}

/// Checks the plan against the rules, independently of the implementation:
/// sizes, disjointness, and for hog-topk the initial set and the targets are
/// the highest-scoring patches of their pools.
fn check(e: &Value, l: usize) {
    let c = &e["counts"];
    let (initial, targets, visible) = (ids(&e["initial"]), ids(&e["targets"]), ids(&e["visible"]));
    let psts: Vec<usize> = e["psts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["patch"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(initial.len() as u64, c["initial"].as_u64().unwrap());
    assert_eq!(
        psts.len() as u64,
        c["psts_first"].as_u64().unwrap() + c["psts_second"].as_u64().unwrap()
    );
    assert_eq!(targets.len() as u64, c["targets"].as_u64().unwrap());
    assert_eq!(visible.len(), initial.len() + psts.len());
    let all: HashSet<usize> = visible
        .iter()
        .chain(&targets)
        .chain(&ids(&e["ignored"]))
        .copied()
        .collect();
    assert_eq!(all.len(), l, "every patch has exactly one role");
    let scores: Vec<f64> = e["hog_scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), l);
    if e["selection"] == "hog-topk" {
        let min_initial = initial
            .iter()
            .map(|&i| scores[i])
            .fold(f64::INFINITY, f64::min);
        assert!((0..l)
            .filter(|i| !initial.contains(i))
            .all(|i| scores[i] <= min_initial));
        let vis: HashSet<usize> = visible.iter().copied().collect();
        let min_target = targets
            .iter()
            .map(|&i| scores[i])
            .fold(f64::INFINITY, f64::min);
        assert!((0..l)
            .filter(|i| !vis.contains(i) && !targets.contains(i))
            .all(|i| scores[i] <= min_target));
    }
}

#[test]
fn explain_a_fresh_model_at_224() {
    let dir = Scratch::new("explain-fresh");
    let out = dir.path().join("ex");
    let image = data("derived/rd_new_800.jpg");
    smae(&[
        "explain",
        "--image",
        image.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--model",
        "vit-tiny",
        "--depth",
        "1",
        "--epoch-fraction",
        "0.8",
    ]);
    let e = read(&out);
    assert_eq!(e["grid"], 14);
    // REFERENCE.md counts at L = 196.
    assert_eq!(e["counts"]["visible"], 29);
    assert_eq!(e["counts"]["targets"], 49);
    assert_eq!(
        e["stage"], "random",
        "0.8 of the run is past the last boundary (.75)"
    );
    check(&e, 196);
    let png = image::open(out.join("selection.png")).unwrap();
    assert!(png.width() >= 2 * 224 && png.height() >= 224);
}

#[test]
fn explain_a_run_at_a_chosen_epoch() {
    let dir = Scratch::new("explain-run");
    let chips = dir.path().join("chips");
    make_chips(&chips, 64, 4);
    let run_dir = dir.path().join("run");
    smae(
        &[
            &[
                "pretrain",
                "--data",
                chips.to_str().unwrap(),
                "--output",
                run_dir.to_str().unwrap(),
                "--quiet",
            ][..],
            TINY_PRETRAIN,
            &[
                "--epochs",
                "2",
                "--batch-size",
                "8",
                "--psts-epochs",
                "0.5,0.6,1.5,1.6",
            ],
        ]
        .concat(),
    );
    let out = dir.path().join("ex");
    let image = data("deepforest/OSBS_029.tif");
    smae(&[
        "explain",
        "--image",
        image.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--run",
        run_dir.to_str().unwrap(),
        "--epoch",
        "1.0",
    ]);
    let e = read(&out);
    assert_eq!(
        e["stage"], "far",
        "epoch 1.0 lies between the run's boundaries 0.6 and 1.5"
    );
    assert_eq!(e["epochs"], 2);
    // L = 64 at r = .85, k = .25: 9 visible (4 + 2 + 3), 16 targets.
    assert_eq!(e["counts"]["visible"], 9);
    assert_eq!(e["counts"]["initial"], 4);
    assert_eq!(e["counts"]["targets"], 16);
    check(&e, 64);
    for a in e["psts"].as_array().unwrap() {
        assert_eq!(a["stage"], "far");
    }
}
