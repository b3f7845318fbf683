//! Pre-trained vs scratch on real NEON data: `cargo bench -p smae-tests --bench finetune_neon`.
//!
//! 1. curate the NEON imagery of the deepforest wheel (`data/deepforest`,
//!    fetched by scripts/setup.sh) into 256 px chips, holding out OSBS_029;
//! 2. pre-train SelectiveMAE (vit-tiny, 64 px, patch 8) on them;
//! 3. fine-tune each task from that run and from scratch with the same
//!    budget: tree-crown detection (train: the YELL and SOAP scenes, val:
//!    OSBS_029), and the canopy/open classification and crown segmentation
//!    sets cut from OSBS_029 (tests/src/lib.rs).
//!
//! Each fine-tuning runs once per seed of `SMAE_BENCH_SEEDS` (default
//! `0,1,2`: one seed says little, the spread between seeds is as large as the
//! effect). Prints one JSON line per fine-tuning, then the mean per task and
//! start, and exits non-zero when the pre-trained detector's mean mAP50 does
//! not beat the scratch one's.
//!
//! * `SMAE_BENCH_PRETRAIN_EPOCHS` (default 100) and `SMAE_BENCH_DET_EPOCHS`
//!   (default 3) change the budget;
//! * pre-training reconstructs pixels (`--no-norm-pix`), which transfers on
//!   this tiny corpus where the paper's normalised target does not
//!   (BENCHMARKS.md); `SMAE_BENCH_NORM_PIX=1` takes the paper's target;
//! * `SMAE_BENCH_PRETRAIN_RUN=DIR` fine-tunes from an existing pre-training
//!   run instead of curating and pre-training (an absolute path: cargo runs
//!   the bench in `tests/`);
//! * `SMAE_BENCH_TASKS` (default `detect,classify,segment`) picks the tasks.
//!
//! Detection uses the main job's setting: 192 px windows seen at 96 px.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use serde_json::Value;
use smae_train::cli::{run, Cli};

fn smae(args: &[&str]) {
    let mut argv = vec!["smae-train"];
    argv.extend_from_slice(args);
    run(Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e:#}"));
}

fn seeds() -> Vec<u64> {
    let v = std::env::var("SMAE_BENCH_SEEDS").unwrap_or_else(|_| "0,1,2".into());
    v.split(',')
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("SMAE_BENCH_SEEDS: {v:?}"))
        })
        .collect()
}

/// A path as a command-line argument.
fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn headline(m: &Value) -> (String, f64) {
    let m = &m["metrics"];
    for k in ["map50", "miou", "overall_accuracy"] {
        if let Some(v) = m[k].as_f64() {
            return (k.to_string(), v);
        }
    }
    ("none".into(), f64::NAN)
}

/// Curates the wheel's imagery (OSBS_029 held out) and pre-trains on it.
fn pretrain(wheel: &Path, work: &Path) -> PathBuf {
    let chips = work.join("chips");
    let t = Instant::now();
    smae(&[
        "curate",
        "--input",
        &format!("neon={}", s(wheel)),
        "--output",
        &s(&chips),
        "--crop",
        "256",
        "--max-side",
        "512",
        "--exclude-near",
        &s(&work.join("heldout")),
        "--quiet",
    ]);
    let pre = work.join("pretrain");
    let pe = env("SMAE_BENCH_PRETRAIN_EPOCHS", 100).to_string();
    let norm_pix = env("SMAE_BENCH_NORM_PIX", 0) == 1;
    let (chips_arg, pre_arg) = (s(&chips), s(&pre));
    let mut args = vec![
        "pretrain",
        "--data",
        &chips_arg,
        "--output",
        &pre_arg,
        "--model",
        "vit-tiny",
        "--img-size",
        "64",
        "--patch-size",
        "8",
        "--decoder-dim",
        "256",
        "--decoder-depth",
        "4",
        "--decoder-heads",
        "8",
        "--epochs",
        &pe,
        "--batch-size",
        "16",
        "--lr",
        "1e-3",
        "--warmup-epochs",
        "5",
        "--quiet",
    ];
    if !norm_pix {
        args.push("--no-norm-pix");
    }
    smae(&args);
    println!(
        r#"{{"step":"curate+pretrain","epochs":{pe},"norm_pix":{norm_pix},"seconds":{:.0}}}"#,
        t.elapsed().as_secs_f64()
    );
    pre
}

fn main() {
    let wheel = repo().join("data/deepforest");
    assert!(
        wheel.join(".complete").exists(),
        "run scripts/setup.sh first (needs data/deepforest)"
    );
    let work = std::env::temp_dir().join(format!("smae-bench-ft-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("heldout")).unwrap();
    std::os::unix::fs::symlink(
        wheel.join("OSBS_029.tif"),
        work.join("heldout/OSBS_029.tif"),
    )
    .unwrap();

    // 1-2. Curate and pre-train (or take the given run).
    let pre = match std::env::var("SMAE_BENCH_PRETRAIN_RUN") {
        Ok(run) => PathBuf::from(run),
        Err(_) => pretrain(&wheel, &work),
    };
    println!(r#"{{"pretrain_run":{}}}"#, serde_json::json!(s(&pre)));

    // Detection data: train on YELL + SOAP, validate on OSBS_029.
    let (train, val) = (work.join("det/train"), work.join("det/val"));
    std::fs::create_dir_all(&train).unwrap();
    std::fs::create_dir_all(&val).unwrap();
    for f in [
        "2019_YELL_2_541000_4977000_image_crop",
        "2019_YELL_2_528000_4978000_image_crop2",
        "SOAP_061",
    ] {
        for ext in ["png", "xml"] {
            std::os::unix::fs::symlink(
                wheel.join(format!("{f}.{ext}")),
                train.join(format!("{f}.{ext}")),
            )
            .unwrap();
        }
    }
    for ext in ["tif", "xml"] {
        std::os::unix::fs::symlink(
            wheel.join(format!("OSBS_029.{ext}")),
            val.join(format!("OSBS_029.{ext}")),
        )
        .unwrap();
    }
    smae_tests::neon_tasks(&work.join("osbs"));

    let de = env("SMAE_BENCH_DET_EPOCHS", 3).to_string();
    let tasks: Vec<(&str, PathBuf, Vec<String>)> = vec![
        (
            "detect",
            train.clone(),
            vec![
                "--val-data".into(),
                s(&val),
                "--merge-classes".into(),
                "Tree".into(),
                "--img-size".into(),
                "96".into(),
                "--tile".into(),
                "192".into(),
                "--epochs".into(),
                de.clone(),
                "--batch-size".into(),
                "8".into(),
                "--lr".into(),
                "5e-4".into(),
                "--channels".into(),
                "64".into(),
            ],
        ),
        (
            "classify",
            work.join("osbs/cls"),
            vec![
                "--img-size".into(),
                "32".into(),
                "--epochs".into(),
                "20".into(),
                "--batch-size".into(),
                "16".into(),
                "--lr".into(),
                "5e-4".into(),
            ],
        ),
        (
            "segment",
            work.join("osbs/seg"),
            vec![
                "--classes".into(),
                "other,crown".into(),
                "--img-size".into(),
                "64".into(),
                "--epochs".into(),
                "30".into(),
                "--batch-size".into(),
                "8".into(),
                "--lr".into(),
                "5e-4".into(),
                "--channels".into(),
                "64".into(),
            ],
        ),
    ];
    let wanted =
        std::env::var("SMAE_BENCH_TASKS").unwrap_or_else(|_| "detect,classify,segment".into());
    let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
    let seeds = seeds();
    let mut det = (f64::NAN, f64::NAN);
    for (task, data, extra) in tasks.iter().filter(|t| wanted.contains(&t.0)) {
        for init in ["pretrained", "scratch"] {
            let init_arg = if init == "pretrained" {
                s(&pre)
            } else {
                "none".into()
            };
            let mut values = Vec::new();
            for seed in &seeds {
                let out = work.join(format!("{task}-{init}-s{seed}"));
                let mut args: Vec<String> = vec![
                    "finetune".into(),
                    "--task".into(),
                    task.to_string(),
                    "--data".into(),
                    s(data),
                    "--output".into(),
                    s(&out),
                    "--init".into(),
                    init_arg.clone(),
                    "--seed".into(),
                    seed.to_string(),
                    "--quiet".into(),
                ];
                if init == "scratch" {
                    // the same architecture as the pre-trained encoder
                    args.extend(["--model", "vit-tiny", "--patch-size", "8"].map(String::from));
                }
                args.extend(extra.iter().cloned());
                let t = Instant::now();
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                smae(&argv);
                let m: Value =
                    serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap())
                        .unwrap();
                let (k, v) = headline(&m);
                values.push(v);
                println!(
                    r#"{{"task":"{task}","init":"{init}","seed":{seed},"metric":"{k}","value":{v:.4},"seconds":{:.0},"args":{}}}"#,
                    t.elapsed().as_secs_f64(),
                    serde_json::json!(extra)
                );
            }
            let m = mean(&values);
            println!(
                r#"{{"task":"{task}","init":"{init}","seeds":{},"mean":{m:.4}}}"#,
                seeds.len()
            );
            if *task == "detect" {
                if init == "pretrained" {
                    det.0 = m;
                } else {
                    det.1 = m;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    // NaN (no metric) counts as not better
    if wanted.contains(&"detect") && det.0.partial_cmp(&det.1) != Some(std::cmp::Ordering::Greater)
    {
        eprintln!(
            "pre-trained detection mean mAP50 {:.4} does not beat scratch {:.4}",
            det.0, det.1
        );
        std::process::exit(1);
    }
}
