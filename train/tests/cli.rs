//! The `smae-train` binary: bad input gives one clear error line, a non-zero
//! exit and no output; `bench` prints its JSON lines.

use smae_testkit::{scratch, TINY_PRETRAIN};
use std::path::Path;
use std::process::{Command, Output};

fn smae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smae-train"))
        .args(args)
        .output()
        .unwrap()
}

/// Asserts a failure with exactly one stderr line that mentions `needle`.
fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{err}"
    );
}

/// A folder of small synthetic PNGs (these tests are about error handling).
fn images(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let img = image::RgbImage::from_fn(40, 40, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 6) as u8, (i * 20) as u8])
        });
        img.save(dir.join(format!("{i}.png"))).unwrap();
    }
}

fn pretrain(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "pretrain",
        "--data",
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(TINY_PRETRAIN);
    args.extend_from_slice(extra);
    smae(&args)
}

#[test]
fn missing_data_folder() {
    let d = scratch("missing");
    let out = d.join("run");
    fails_with(&pretrain(&d.join("nope"), &out, &[]), "does not exist");
    assert!(!out.exists(), "no run directory for a failed start");
}

#[test]
fn folder_without_images() {
    let d = scratch("noimages");
    std::fs::write(d.join("a.jpg"), b"garbage").unwrap();
    std::fs::write(d.join("notes.txt"), b"text").unwrap();
    let out = d.join("run");
    fails_with(&pretrain(&d, &out, &[]), "no usable images");
    assert!(!out.exists());
}

#[test]
fn batch_larger_than_the_data() {
    let d = scratch("bigbatch");
    images(&d.join("img"), 3);
    let out = d.join("run");
    fails_with(
        &pretrain(&d.join("img"), &out, &["--batch-size", "8"]),
        "fewer than one global batch",
    );
    assert!(!out.exists());
}

#[test]
fn bad_device_and_ratios() {
    let d = scratch("baddev");
    images(&d.join("img"), 4);
    let out = d.join("run");
    fails_with(
        &pretrain(&d.join("img"), &out, &["--device", "gpu"]),
        "invalid --device",
    );
    fails_with(
        &pretrain(
            &d.join("img"),
            &out,
            &["--mask-ratio", "0.99", "--batch-size", "2"],
        ),
        "leave no patch",
    );
    fails_with(
        &pretrain(
            &d.join("img"),
            &out,
            &["--patch-size", "5", "--img-size", "35", "--batch-size", "2"],
        ),
        "even patch size",
    );
    assert!(!out.exists());
}

/// `--device cuda` where CUDA cannot run is one error line and no run
/// directory: a build without the feature says so; a CUDA build on a machine
/// without a driver or GPU (CI) says the device is not usable, never panics.
#[test]
fn cuda_where_it_cannot_run() {
    let d = scratch("nocuda");
    images(&d.join("img"), 4);
    let out = d.join("run");
    let run = pretrain(
        &d.join("img"),
        &out,
        &["--device", "cuda", "--batch-size", "2"],
    );
    if cfg!(feature = "cuda") {
        // On a machine with a usable GPU the run simply trains.
        if run.status.success() {
            return;
        }
        fails_with(&run, "CUDA device 0 is not usable");
    } else {
        fails_with(&run, "built without CUDA");
    }
    assert!(!out.exists());
}

#[test]
fn existing_run_and_resume_errors() {
    let d = scratch("resume");
    images(&d.join("img"), 4);
    let out = d.join("run");
    let ok = pretrain(
        &d.join("img"),
        &out,
        &["--epochs", "1", "--batch-size", "2"],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    fails_with(
        &pretrain(
            &d.join("img"),
            &out,
            &["--epochs", "1", "--batch-size", "2"],
        ),
        "already holds a run",
    );
    fails_with(
        &smae(&[
            "pretrain",
            "--output",
            d.join("img").to_str().unwrap(),
            "--resume",
        ]),
        "not a run directory",
    );
    // A finished run resumes as a no-op.
    let again = smae(&[
        "pretrain",
        "--output",
        out.to_str().unwrap(),
        "--resume",
        "--quiet",
    ]);
    assert!(again.status.success());
}

#[test]
fn explain_missing_image() {
    let d = scratch("explain");
    let out = d.join("ex");
    let mut args = vec![
        "explain",
        "--image",
        "/nonexistent.jpg",
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(TINY_PRETRAIN);
    fails_with(&smae(&args), "cannot read");
    assert!(!out.join("selection.json").exists());
}

#[test]
fn bench_prints_one_line_per_method_and_the_ratio() {
    let mut args = vec![
        "bench",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--batch-size",
        "4",
    ];
    args.extend_from_slice(TINY_PRETRAIN);
    let out = smae(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    let (mae, sel) = (&lines[0], &lines[1]);
    assert_eq!(mae["method"], "mae");
    assert_eq!(sel["method"], "selective");
    // L = 64: MAE encodes 16 and decodes 64; SelectiveMAE encodes 9, decodes 16.
    assert_eq!(
        (
            mae["encoded_tokens"].as_u64(),
            mae["decoded_queries"].as_u64()
        ),
        (Some(16), Some(64))
    );
    assert_eq!(
        (
            sel["encoded_tokens"].as_u64(),
            sel["decoded_queries"].as_u64()
        ),
        (Some(9), Some(16))
    );
    for l in [mae, sel] {
        assert!(l["images_per_s"].as_f64().unwrap() > 0.0);
        assert!(l["peak_bytes"].as_u64().unwrap() > 0);
        assert_eq!(l["peak_kind"], "process_rss");
    }
    assert!(sel["selection_share"].as_f64().unwrap() > 0.0);
    let ratio = lines[2]["ratio"]["images_per_s"].as_f64().unwrap();
    let want = sel["images_per_s"].as_f64().unwrap() / mae["images_per_s"].as_f64().unwrap();
    assert!((ratio - want).abs() < 1e-9);
}

#[test]
fn curate_bad_input_and_unwritable_output() {
    let d = scratch("curate");
    images(&d.join("img"), 2);
    let out = d.join("out");
    fails_with(
        &smae(&[
            "curate",
            "--input",
            d.join("nope").to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ]),
        "does not exist",
    );
    let img = d.join("img");
    fails_with(
        &smae(&[
            "curate",
            "--input",
            img.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--crop",
            "2048",
        ]),
        "--max-side",
    );
    // The output lies under a regular file: it cannot be created.
    std::fs::write(d.join("file"), b"x").unwrap();
    let bad = d.join("file/out");
    fails_with(
        &smae(&[
            "curate",
            "--input",
            img.to_str().unwrap(),
            "--output",
            bad.to_str().unwrap(),
        ]),
        "cannot create output",
    );
    let ok = smae(&[
        "curate",
        "--input",
        img.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--min-side",
        "32",
        "--quiet",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.join("shard-000000.tar").exists() && out.join("report.json").exists());
}

/// `bench --data` trains for real on a folder (loader included) and prints
/// one end-to-end line per method, timed over exactly `--steps` steps.
#[test]
fn bench_end_to_end_trains_on_a_folder() {
    let d = scratch("bench-e2e");
    let data = d.join("imgs");
    images(&data, 8);
    let mut args = vec![
        "bench",
        "--data",
        data.to_str().unwrap(),
        "--method",
        "both",
    ];
    args.extend_from_slice(TINY_PRETRAIN);
    args.extend_from_slice(&[
        "--batch-size",
        "4",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--device",
        "cpu",
    ]);
    let out = smae(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (l, m) in lines.iter().zip(["mae", "selective"]) {
        assert_eq!(l["mode"], "end-to-end");
        assert_eq!(l["method"], m);
        let ips = l["images_per_s"].as_f64().unwrap();
        let ms = l["step_ms"].as_f64().unwrap();
        assert!(ips > 0.0 && ips.is_finite());
        assert!((ms - 4000.0 / ips).abs() < 1e-6 * ms.max(1.0));
    }
}
