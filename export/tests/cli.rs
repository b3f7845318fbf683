//! The smae-export binary on bad runs: one error line, exit 1, no file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;

fn scratch(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("smae-export-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn smae_export(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smae-export"))
        .args(args)
        .output()
        .unwrap()
}

/// A two-class folder of small synthetic images and a classifier run trained
/// on it for two steps.
fn classify_run(d: &Path) -> PathBuf {
    for (c, v) in [("a", 40u8), ("b", 200u8)] {
        std::fs::create_dir_all(d.join("data").join(c)).unwrap();
        for i in 0..6u8 {
            let img = image::RgbImage::from_fn(32, 32, |x, y| {
                image::Rgb([v, (x as u8).wrapping_mul(i), y as u8])
            });
            img.save(d.join("data").join(c).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let run = d.join("run");
    let data = d.join("data");
    let args = [
        "smae-train",
        "finetune",
        "--task",
        "classify",
        "--data",
        data.to_str().unwrap(),
        "--output",
        run.to_str().unwrap(),
        "--init",
        "none",
        "--model",
        "vit-tiny",
        "--dim",
        "16",
        "--depth",
        "1",
        "--heads",
        "2",
        "--img-size",
        "32",
        "--patch-size",
        "8",
        "--batch-size",
        "4",
        "--stop-after-steps",
        "2",
        "--quiet",
    ];
    smae_train::cli::run(smae_train::cli::Cli::try_parse_from(args).unwrap()).unwrap();
    run
}

#[test]
fn bad_runs_give_one_error_and_no_file() {
    let d = scratch("bad");
    let out = d.join("m.onnx");
    let o = out.to_str().unwrap();
    let one_line = |res: Output, needle: &str| {
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!out.exists());
    };
    one_line(
        smae_export(&["--run", d.join("missing").to_str().unwrap(), "--output", o]),
        "does not exist",
    );
    std::fs::create_dir_all(d.join("half")).unwrap();
    std::fs::write(d.join("half/config.json"), b"{\"kind\": \"fine").unwrap();
    one_line(
        smae_export(&["--run", d.join("half").to_str().unwrap(), "--output", o]),
        "half-written",
    );
    let run = classify_run(&d);
    let r = run.to_str().unwrap();
    one_line(
        smae_export(&["--run", r, "--output", o, "--task", "bogus"]),
        "unknown task",
    );
    one_line(
        smae_export(&["--run", r, "--output", o, "--task", "detect"]),
        "fine-tuned for classify",
    );
    one_line(
        smae_export(&["--run", r, "--output", o, "--opset", "12"]),
        "--opset",
    );
    // config and weights disagree: the config claims a wider encoder
    let cfg_path = run.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["vit"]["dim"] = serde_json::json!(32);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    one_line(
        smae_export(&["--run", r, "--output", o]),
        "model.safetensors",
    );
    // no weights at all
    std::fs::remove_dir_all(run.join("checkpoint")).unwrap();
    one_line(smae_export(&["--run", r, "--output", o]), "no checkpoint");
}
