//! Fine-tuning on real data cut from the NEON scene OSBS_029 (see
//! `smae_tests::neon_tasks`): each task's pipeline must learn, evaluate and
//! resume; run in process through the `smae-train` command line with tiny
//! ViTs so the suite stays fast.

use std::path::Path;

use serde_json::Value;
use smae_testkit::TINY_ENCODER;
use smae_tests::{json, neon_tasks, smae, Scratch};

/// The shared tiny encoder, trained from scratch.
const RUN: &[&str] = &["--workers", "2", "--quiet", "--init", "none"];

fn finetune(task: &str, data: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "finetune",
        "--task",
        task,
        "--data",
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(TINY_ENCODER);
    args.extend_from_slice(RUN);
    args.extend_from_slice(extra);
    smae(&args);
    json(&out.join("metrics.json"))
}

fn losses(run: &Path) -> Vec<f64> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["loss"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

#[test]
fn classification_learns_canopy_from_open_ground() {
    let dir = Scratch::new("ft-cls");
    neon_tasks(dir.path());
    let data = dir.path().join("cls");
    let canopy = std::fs::read_dir(data.join("canopy")).unwrap().count() as f64;
    let open = std::fs::read_dir(data.join("open")).unwrap().count() as f64;
    let majority = canopy.max(open) / (canopy + open);
    let out = dir.path().join("run");
    let m = finetune(
        "classify",
        &data,
        &out,
        &[
            "--img-size",
            "32",
            "--patch-size",
            "4",
            "--epochs",
            "15",
            "--batch-size",
            "16",
            "--lr",
            "1e-3",
            "--log-every",
            "1",
        ],
    );
    let oa = m["metrics"]["overall_accuracy"].as_f64().unwrap();
    assert!(
        oa > majority + 0.1 && oa > 0.8,
        "OA {oa} vs majority {majority}"
    );
    let cm = &m["metrics"]["confusion"];
    assert_eq!(cm.as_array().unwrap().len(), 2);
    let cfg = json(&out.join("config.json"));
    assert_eq!(cfg["classes"], serde_json::json!(["canopy", "open"]));
    assert_eq!(cfg["kind"], "finetune");
    // eval on the whole folder writes metrics.json with the same structure
    let eval_out = dir.path().join("eval.json");
    smae(&[
        "eval",
        "--run",
        out.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--output",
        eval_out.to_str().unwrap(),
    ]);
    let e = json(&eval_out);
    assert!(e["metrics"]["overall_accuracy"].as_f64().unwrap() > majority);
    assert_eq!(e["metrics"]["samples"].as_f64().unwrap(), canopy + open);
}

#[test]
fn segmentation_learns_crowns() {
    let dir = Scratch::new("ft-seg");
    neon_tasks(dir.path());
    let out = dir.path().join("run");
    let m = finetune(
        "segment",
        &dir.path().join("seg"),
        &out,
        &[
            "--classes",
            "other,crown",
            "--img-size",
            "64",
            "--patch-size",
            "8",
            "--channels",
            "32",
            "--epochs",
            "20",
            "--batch-size",
            "8",
            "--lr",
            "2e-3",
            "--log-every",
            "1",
        ],
    );
    let iou = m["metrics"]["per_class_iou"][1].as_f64().unwrap();
    assert!(iou > 0.35, "crown IoU {iou}: {m}");
    let l = losses(&out);
    let n = l.len();
    assert!(
        l[n - 20..].iter().sum::<f64>() < 0.9 * l[..20].iter().sum::<f64>(),
        "{l:?}"
    );
}

#[test]
fn detection_learns_and_resumes() {
    let dir = Scratch::new("ft-det");
    neon_tasks(dir.path());
    let det = dir.path().join("det");
    let common = [
        "--val-data",
        det.join("val").to_str().unwrap().to_string().leak() as &str,
        "--img-size",
        "64",
        "--patch-size",
        "8",
        "--channels",
        "32",
        "--epochs",
        "12",
        "--batch-size",
        "4",
        "--lr",
        "2e-3",
        "--log-every",
        "1",
    ];
    let out = dir.path().join("run");
    let m = finetune("detect", &det.join("train"), &out, &common);
    let map = m["metrics"]["map50"].as_f64().unwrap();
    assert!(map > 0.05, "mAP50 {map}: {m}");
    assert!(
        m["metrics"]["per_class"][0]["ground_truth"]
            .as_u64()
            .unwrap()
            > 25
    );
    let l = losses(&out);
    let n = l.len();
    assert!(
        l[n - 5..].iter().sum::<f64>() < 0.8 * l[..5].iter().sum::<f64>(),
        "{l:?}"
    );

    // A run stopped after 7 steps and resumed ends like the straight run.
    let split = dir.path().join("split");
    let mut first: Vec<&str> = common.to_vec();
    first.extend_from_slice(&["--stop-after-steps", "7"]);
    finetune_stop("detect", &det.join("train"), &split, &first);
    smae(&[
        "finetune",
        "--task",
        "detect",
        "--output",
        split.to_str().unwrap(),
        "--resume",
        "--quiet",
        "--workers",
        "2",
    ]);
    assert_eq!(losses(&split), l);
    let m2 = json(&split.join("metrics.json"));
    assert_eq!(m2["metrics"]["map50"], m["metrics"]["map50"]);
}

fn finetune_stop(task: &str, data: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "finetune",
        "--task",
        task,
        "--data",
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(TINY_ENCODER);
    args.extend_from_slice(RUN);
    args.extend_from_slice(extra);
    smae(&args);
    assert!(!out.join("metrics.json").exists());
}

/// Oriented detection runs end to end (boxes of the crowns as rotated boxes
/// with angle 0) and reports rotated-IoU mAP.
#[test]
fn oriented_detection_runs() {
    let dir = Scratch::new("ft-obb");
    neon_tasks(dir.path());
    let det = dir.path().join("det");
    let val = det.join("val");
    let out = dir.path().join("run");
    let m = finetune(
        "detect-obb",
        &det.join("train"),
        &out,
        &[
            "--val-data",
            val.to_str().unwrap(),
            "--img-size",
            "64",
            "--patch-size",
            "8",
            "--channels",
            "32",
            "--epochs",
            "3",
            "--batch-size",
            "4",
            "--lr",
            "2e-3",
        ],
    );
    assert!(m["metrics"]["map50"].as_f64().unwrap().is_finite());
    let log: Vec<Value> = std::fs::read_to_string(out.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(log[0]["loss_angle"].as_f64().is_some());
}
