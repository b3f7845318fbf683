//! The smae-export binary on bad runs: one error line, exit 1, no file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use smae_models::{Classifier, VitConfig};
use smae_run::config::{InitSource, OptimConfig};
use smae_run::model::build_task;
use smae_run::schedule::LrSchedule;
use smae_run::{checkpoint, weights, FinetuneConfig, RunConfig, Task};
use smae_testkit::scratch;

fn smae_export(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smae-export"))
        .args(args)
        .output()
        .unwrap()
}

/// A two-class classifier run written through the run contract: its
/// configuration and a checkpoint with seeded weights (what `smae-train
/// finetune` leaves; training itself is not what this test is about).
fn classify_run(d: &Path) -> PathBuf {
    let run = d.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let vit = VitConfig {
        img_size: 32,
        patch_size: 8,
        in_chans: 3,
        dim: 16,
        depth: 1,
        heads: 2,
        mlp_ratio: 4.0,
    };
    let cfg = FinetuneConfig {
        smae_version: "test".into(),
        task: Task::Classify,
        model: "custom".into(),
        vit,
        classes: vec!["a".into(), "b".into()],
        channels: 16,
        global_pool: false,
        init: InitSource {
            run: None,
            kind: None,
            method: None,
        },
        data: d.join("data"),
        val_data: None,
        train_ratio: Some(0.8),
        train_items: 8,
        val_items: 4,
        epochs: 1,
        batch_size: 4,
        steps_per_epoch: 2,
        schedule: LrSchedule {
            lr: 1e-3,
            min_lr: 0.0,
            warmup_epochs: 0.0,
            epochs: 1.0,
        },
        blr: None,
        layer_decay: 0.75,
        drop_path: 0.0,
        optim: OptimConfig::mae(None),
        tile: 32,
        tile_overlap: 8,
        ignore_index: 255,
        merge_classes: None,
        seed: 0,
        log_every: 10,
    };
    RunConfig::Finetune(cfg.clone()).write(&run).unwrap();
    let model: Classifier<Flex> = build_task(&cfg, &FlexDevice, None).unwrap();
    checkpoint::write_atomically(&run, |dir| {
        weights::save_official(&model, &dir.join(checkpoint::MODEL), &[])
    })
    .unwrap();
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
    one_line(
        smae_export(&["--run", r, "--output", o, "--layout", "yolo"]),
        "unknown layout",
    );
    for b in ["2", "x"] {
        one_line(
            smae_export(&["--run", r, "--output", o, "--batch", b]),
            "--batch takes 1",
        );
    }
    // a STAC item that cannot be written (its folder would be a file):
    // refused before anything is written
    std::fs::write(d.join("a-file"), b"").unwrap();
    let stac = d.join("a-file/item.json");
    one_line(
        smae_export(&["--run", r, "--output", o, "--stac", stac.to_str().unwrap()]),
        "cannot write the STAC item",
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
