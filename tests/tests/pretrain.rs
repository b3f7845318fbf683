//! Pre-training on real imagery (chips of the shared rasters), end to end
//! through the `smae-train` command line, in process.

use std::path::Path;

use serde_json::Value;
use smae_testkit::{checkpoint_weights as weights, max_abs_diff};
use smae_tests::{make_chips, smae, Scratch};

/// A small custom ViT that trains in seconds in a debug build.
const TINY: &[&str] = &[
    "--model",
    "vit-tiny",
    "--img-size",
    "32",
    "--patch-size",
    "4",
    "--dim",
    "64",
    "--depth",
    "3",
    "--heads",
    "4",
    "--decoder-dim",
    "64",
    "--decoder-depth",
    "2",
    "--decoder-heads",
    "4",
];

fn pretrain(data: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "pretrain",
        "--data",
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--quiet",
        "--workers",
        "2",
    ];
    args.extend_from_slice(TINY);
    args.extend_from_slice(extra);
    smae(&args);
}

fn log(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn losses(run: &Path) -> Vec<f64> {
    log(run)
        .iter()
        .map(|r| r["loss"].as_f64().unwrap())
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn learns(method: &str) {
    let dir = Scratch::new(&format!("learns-{method}"));
    let chips = dir.path().join("chips");
    let n = make_chips(&chips, 64, 56);
    assert!(n > 300, "{n} chips");
    let out = dir.path().join("run");
    // ~20 steps of 16 per epoch, 12 epochs: about 240 steps.
    pretrain(
        &chips,
        &out,
        &[
            "--method",
            method,
            "--epochs",
            "12",
            "--batch-size",
            "16",
            "--lr",
            "1e-3",
            "--warmup-epochs",
            "1",
            "--log-every",
            "1",
        ],
    );
    let l = losses(&out);
    assert_eq!(l.len(), 12 * (n / 16));
    let (first, last) = (mean(&l[..20]), mean(&l[l.len() - 40..]));
    assert!(
        last < 0.75 * first,
        "{method}: loss {first:.3} -> {last:.3}"
    );
    // The run directory holds the contract's files.
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["method"]["method"], method);
    assert_eq!(cfg["method"]["norm_pix"], true);
    assert_eq!(cfg["data"]["images"], n);
    let w = weights(&out);
    assert!(
        w.contains_key("blocks.0.attn.qkv.weight")
            && w.contains_key("norm.weight")
            && w.contains_key("decoder_pred.weight")
    );
}

#[test]
fn selective_mae_lowers_the_loss_on_real_imagery() {
    learns("selective");
}

#[test]
fn mae_lowers_the_loss_on_real_imagery() {
    learns("mae");
}

/// 2N steps in one go and N steps + resume N end with the same weights,
/// with the random parts switched on (hog-sample, InfoBatch, a stop
/// mid-epoch) and the non-default pixel targets, which the resumed run
/// takes from its config.
#[test]
fn resume_continues_the_same_schedule() {
    let dir = Scratch::new("resume");
    let chips = dir.path().join("chips");
    assert_eq!(make_chips(&chips, 64, 16), 96); // 12 steps of 8 per epoch
    let common = [
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--lr",
        "2e-3",
        "--warmup-epochs",
        "0.5",
        "--log-every",
        "1",
        "--selection",
        "hog-sample",
        "--infobatch",
        "--seed",
        "7",
        "--no-norm-pix",
    ];
    let full = dir.path().join("full");
    pretrain(&chips, &full, &common);
    let split = dir.path().join("split");
    let mut first = common.to_vec();
    first.extend_from_slice(&["--stop-after-steps", "17"]);
    pretrain(&chips, &split, &first);
    let state: Value =
        serde_json::from_slice(&std::fs::read(split.join("checkpoint/trainer.json")).unwrap())
            .unwrap();
    assert_eq!(state["step"], 17);
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(split.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["method"]["norm_pix"], false);
    smae(&[
        "pretrain",
        "--output",
        split.to_str().unwrap(),
        "--resume",
        "--quiet",
        "--workers",
        "2",
    ]);

    let (a, b) = (weights(&full), weights(&split));
    let diff = max_abs_diff(&a, &b);
    assert!(diff <= 1e-6, "weights differ by {diff}");
    let (la, lb) = (losses(&full), losses(&split));
    assert_eq!(la.len(), lb.len(), "the resumed log has each step once");
    for (x, y) in la.iter().zip(&lb) {
        assert!((x - y).abs() < 1e-6, "{x} vs {y}");
    }
    // InfoBatch pruned some easy samples after the first epoch.
    assert!(la.len() < 36, "{} steps", la.len());
}

/// Two data-parallel replicas with 4 images each take the same steps as one
/// replica with 8: gradients are averaged with Burn's collective all-reduce.
#[test]
fn data_parallel_matches_one_device() {
    let dir = Scratch::new("ddp");
    let chips = dir.path().join("chips");
    assert_eq!(make_chips(&chips, 64, 8), 48); // 6 steps of 8
    let common = [
        "--epochs",
        "2",
        "--lr",
        "2e-3",
        "--warmup-epochs",
        "0.2",
        "--log-every",
        "1",
        "--seed",
        "3",
    ];
    let one = dir.path().join("one");
    let mut a = common.to_vec();
    a.extend_from_slice(&["--batch-size", "8", "--device", "cpu"]);
    pretrain(&chips, &one, &a);
    let two = dir.path().join("two");
    let mut b = common.to_vec();
    b.extend_from_slice(&["--batch-size", "4", "--device", "cpu:2"]);
    pretrain(&chips, &two, &b);
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(two.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["global_batch"], 8);
    let (l1, l2) = (losses(&one), losses(&two));
    assert_eq!(l1.len(), 12);
    for (x, y) in l1.iter().zip(&l2) {
        assert!((x - y).abs() < 1e-4, "loss {x} vs {y}");
    }
    // AdamW turns the rounding differences of near-zero gradients (summed in
    // another order) into steps of up to lr = 2e-3: a quarter of one step
    // bounds that noise on AVX2 and AVX-512 CPUs; gradients that are not
    // averaged move the weights by whole steps and change the losses.
    let diff = max_abs_diff(&weights(&one), &weights(&two));
    assert!(diff < 5e-4, "weights differ by {diff}");
}

/// Unreadable files are skipped at the scan and counted by reason; a
/// truncated JPEG that only fails when decoded is dropped from its batch
/// and counted, never replaced by another image.
#[test]
fn corrupt_images_are_skipped_and_counted() {
    let dir = Scratch::new("corrupt");
    let chips = dir.path().join("chips");
    assert_eq!(make_chips(&chips, 64, 4), 24);
    std::fs::write(chips.join("garbage.jpg"), b"this is not an image").unwrap();
    std::fs::write(chips.join("empty.png"), b"").unwrap();
    let good = smae_tests::real_images()[0].clone();
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(chips.join("truncated.jpg"), &bytes[..bytes.len() / 3]).unwrap();
    std::fs::create_dir_all(chips.join("nested")).unwrap();
    std::fs::copy(
        chips.join(
            std::fs::read_dir(&chips)
                .unwrap()
                .find_map(|e| {
                    let p = e.unwrap().path();
                    (p.extension().is_some_and(|x| x == "png")
                        && p.file_name().unwrap() != "empty.png")
                        .then_some(p)
                })
                .unwrap(),
        ),
        chips.join("nested/copy.png"),
    )
    .unwrap();

    let out = dir.path().join("run");
    // 24 + 1 nested + 1 truncated = 26 usable candidates; batch 13 covers all.
    pretrain(
        &chips,
        &out,
        &[
            "--epochs",
            "1",
            "--batch-size",
            "13",
            "--lr",
            "1e-3",
            "--log-every",
            "1",
        ],
    );
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["data"]["images"], 26);
    let skipped = cfg["data"]["skipped"].as_object().unwrap();
    assert_eq!(
        skipped.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        2,
        "{skipped:?}"
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(out.join("checkpoint/trainer.json")).unwrap())
            .unwrap();
    assert_eq!(state["decode_failures"], 1);
    assert_eq!(state["images_seen"], 25);
    let l = log(&out);
    assert_eq!(
        l.iter().map(|r| r["images"].as_u64().unwrap()).sum::<u64>(),
        25
    );
}

/// Mixed precision: 20 steps with bf16 matmuls and attention (f32 weights
/// and optimizer state) track the f32 run's losses. bf16 keeps 8 mantissa
/// bits (relative rounding 2^-9 per value), so each step's loss may differ
/// by a few 1e-3 relative; over 20 steps the paths drift apart slowly. The
/// stated tolerance: every logged loss within 3% of the f32 one, the mean
/// within 1%, and the runs not bit-identical (bf16 really ran).
#[test]
fn bf16_tracks_the_f32_loss_for_20_steps() {
    let dir = Scratch::new("bf16");
    let chips = dir.path().join("chips");
    assert_eq!(make_chips(&chips, 64, 8), 48);
    let common = [
        "--epochs",
        "10",
        "--batch-size",
        "24",
        "--lr",
        "1e-3",
        "--warmup-epochs",
        "1",
        "--log-every",
        "1",
        "--seed",
        "5",
    ];
    let runs: Vec<Vec<f64>> = ["f32", "bf16"]
        .iter()
        .map(|p| {
            let out = dir.path().join(p);
            let mut args = common.to_vec();
            args.extend_from_slice(&["--precision", p]);
            pretrain(&chips, &out, &args);
            let cfg: Value =
                serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
            assert_eq!(cfg["precision"], *p);
            losses(&out)
        })
        .collect();
    let (f32_losses, bf16_losses) = (&runs[0], &runs[1]);
    assert_eq!(f32_losses.len(), 20);
    assert_eq!(bf16_losses.len(), 20);
    assert_ne!(f32_losses, bf16_losses, "bf16 changed nothing");
    for (step, (a, b)) in f32_losses.iter().zip(bf16_losses).enumerate() {
        assert!(
            (a - b).abs() <= 0.03 * a.abs(),
            "step {step}: f32 {a} vs bf16 {b}"
        );
    }
    let (ma, mb) = (mean(f32_losses), mean(bf16_losses));
    assert!(
        (ma - mb).abs() <= 0.01 * ma.abs(),
        "mean loss f32 {ma} vs bf16 {mb}"
    );
}
