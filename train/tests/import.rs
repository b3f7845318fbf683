//! Importing official / timm ViT weights: numerical parity with a numpy
//! reference of timm's forward (fixtures/gen_timm.py), the official
//! checkpoint layout, position-embedding resampling, the way back to timm,
//! and one clear error for bad files.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use burn::prelude::*;
use serde_json::Value;
use smae_models::{Vit, VitConfig};
use smae_run::weights::load_encoder;
use smae_testkit::{scratch, TINY_ENCODER};
use smae_train::import::{import, read_checkpoint};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// (name, shape, normalised pixels, reference tokens)
type Input = (String, Vec<usize>, Vec<f32>, Vec<f64>);

struct Case {
    cfg: VitConfig,
    inputs: Vec<Input>,
}

fn cases() -> Vec<(String, Case)> {
    let root: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("timm_reference.json")).unwrap())
            .unwrap();
    root["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let u = |k: &str| c[k].as_u64().unwrap() as usize;
            let cfg = VitConfig {
                img_size: u("img_size"),
                patch_size: u("patch_size"),
                in_chans: 3,
                dim: u("dim"),
                depth: u("depth"),
                heads: u("heads"),
                mlp_ratio: 4.0,
            };
            let inputs = ["random", "real"]
                .iter()
                .map(|k| {
                    let i = &c["inputs"][*k];
                    let shape = i["shape"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_u64().unwrap() as usize)
                        .collect();
                    let data = i["data"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap() as f32)
                        .collect();
                    let tokens = i["tokens"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect();
                    (k.to_string(), shape, data, tokens)
                })
                .collect();
            (
                c["name"].as_str().unwrap().to_string(),
                Case { cfg, inputs },
            )
        })
        .collect()
}

fn load_run(run: &Path, cfg: &VitConfig) -> Vit<Flex> {
    let mut vit = Vit::<Flex>::new(cfg, &FlexDevice);
    load_encoder(&mut vit, &run.join("checkpoint/model.safetensors")).unwrap();
    vit
}

/// max |ours - reference| / max |reference|.
fn rel_err(vit: &Vit<Flex>, shape: &[usize], data: &[f32], want: &[f64]) -> f64 {
    let x = Tensor::<Flex, 1>::from_floats(data, &FlexDevice)
        .reshape([shape[0], shape[1], shape[2], shape[3]]);
    let got: Vec<f32> = vit.forward(x).into_data().to_vec().unwrap();
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max)
        / scale
}

fn import_file(file: &str, cfg: &VitConfig, out: &Path) -> smae_train::import::ImportReport {
    let (raw, src) = read_checkpoint(&fixture(file)).unwrap();
    import(raw, src, cfg, "custom", out).unwrap_or_else(|e| panic!("{file}: {e:#}"))
}

#[test]
fn imported_weights_match_the_numpy_timm_forward() {
    let dir = scratch("parity");
    for (name, case) in cases() {
        for file in [
            format!("official_{name}.pth"),
            format!("raw_{name}.pth"),
            format!("timm_{name}.safetensors"),
        ] {
            let run = dir.join(&file);
            let report = import_file(&file, &case.cfg, &run);
            assert_eq!(report.loaded.len(), 4 + 12 * case.cfg.depth + 2, "{file}");
            let vit = load_run(&run, &case.cfg);
            for (input, shape, data, tokens) in &case.inputs {
                let e = rel_err(&vit, shape, data, tokens);
                println!("parity {file} {input}: relative error {e:.2e}");
                assert!(e < 1e-5, "{file} on {input} input: relative error {e:e}");
            }
        }
    }
}

#[test]
fn official_layout_is_understood_and_reported() {
    let dir = scratch("official");
    let (_, case) = cases().into_iter().next().unwrap();
    let report = import_file("official_p8.pth", &case.cfg, &dir.join("run"));
    assert_eq!(report.source.format, "pytorch-zip");
    assert_eq!(report.source.nested_key.as_deref(), Some("model"));
    let reason = |k: &str| {
        report
            .ignored
            .iter()
            .find(|i| i.key == k)
            .map(|i| i.reason.clone())
            .unwrap_or_default()
    };
    assert!(reason("decoder_embed1.weight").contains("dead"));
    assert!(reason("pos_embed_probs").contains("dead"));
    assert!(reason("get_token_probs.0.weight").contains("dead"));
    assert!(reason("hog.weight_x").contains("dead"));
    assert!(reason("mask_token").contains("decoder"));
    assert!(reason("decoder_blocks.0.cross_attn.kv.weight").contains("decoder"));
    assert!(
        report.loaded.iter().all(|k| !k.starts_with("module.")),
        "DDP prefix stripped"
    );
    // The safetensors fixture carries timm's classification head.
    let report = import_file("timm_p8.safetensors", &case.cfg, &dir.join("run2"));
    assert!(report
        .ignored
        .iter()
        .any(|i| i.key == "head.weight" && i.reason == "classification head"));
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(dir.join("run/config.json")).unwrap()).unwrap();
    assert_eq!(cfg["kind"], "import");
    assert_eq!(cfg["vit"]["dim"], 48);
}

#[test]
fn position_embedding_is_resampled_to_a_new_grid() {
    let dir = scratch("resample");
    let (_, case) = cases().into_iter().next().unwrap();
    let mut big = case.cfg.clone();
    big.img_size = 48; // grid 6 instead of 4
    let report = import_file("timm_p8.safetensors", &big, &dir.join("run"));
    assert_eq!(report.pos_embed_resampled_from, Some([4, 4]));
    let (raw, _) = read_checkpoint(&fixture("timm_p8.safetensors")).unwrap();
    let want = smae_models::pos_embed::resample(&raw["pos_embed"].1, 48, (4, 4), (6, 6));
    let vit = load_run(&dir.join("run"), &big);
    let got: Vec<f32> = vit.pos_embed.val().into_data().to_vec().unwrap();
    assert_eq!(got, want);
    let out = vit.forward(Tensor::zeros([1, 3, 48, 48], &FlexDevice));
    assert_eq!(out.dims(), [1, 37, 48]);
}

#[test]
fn export_timm_round_trips() {
    let dir = scratch("roundtrip");
    let (_, case) = cases().into_iter().next().unwrap();
    import_file("timm_p8.safetensors", &case.cfg, &dir.join("run"));
    let out = dir.join("encoder.safetensors");
    smae_train::import::export_timm(&dir.join("run"), &out).unwrap();
    let (exported, _) = read_checkpoint(&out).unwrap();
    let (original, _) = read_checkpoint(&fixture("timm_p8.safetensors")).unwrap();
    let want: Vec<String> = smae_models::vit::timm_state_shapes(&case.cfg)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut got: Vec<String> = exported.keys().cloned().collect();
    let mut want_sorted = want.clone();
    got.sort();
    want_sorted.sort();
    assert_eq!(got, want_sorted, "exactly timm's keys, without a head");
    for k in &want {
        assert_eq!(
            exported[k], original[k],
            "{k} changed on the way through smae"
        );
    }
}

/// Every ViT size imports under its preset name; checked with one block each
/// (the per-block layout repeats) so the test stays small. Each size gets its
/// own scratch folder, removed before the next: one ViT-H block is 80 MB on
/// disk, twice (source and run), and CI machines can be short of space.
#[test]
fn every_preset_and_patch_14() {
    for (model, patch) in [
        ("vit-small", 16),
        ("vit-small", 14),
        ("vit-base", 16),
        ("vit-large", 14),
        ("vit-huge", 14),
    ] {
        let mut cfg = VitConfig::preset(model).unwrap();
        cfg.patch_size = patch;
        cfg.depth = 1;
        let src = Vit::<Flex>::new(&cfg, &FlexDevice);
        let dir = scratch(&format!("preset-{model}-{patch}"));
        let file = dir.join(format!("{model}-{patch}.safetensors"));
        smae_run::weights::save_official(&src, &file, &[]).unwrap();
        let (raw, source) = read_checkpoint(&file).unwrap();
        let run = dir.join(format!("{model}-{patch}"));
        let report = import(raw, source, &cfg, model, &run).unwrap();
        assert_eq!(report.loaded.len(), 4 + 12 + 2);
        let back = load_run(&run, &cfg);
        let x = Tensor::<Flex, 4>::random(
            [1, 3, 224, 224],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &FlexDevice,
        );
        let (a, b) = (src.forward(x.clone()), back.forward(x));
        let diff: f32 = (a - b).abs().max().into_scalar();
        assert_eq!(diff, 0.0, "{model}/{patch}");
    }
}

fn smae(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smae-train"))
        .args(args)
        .output()
        .unwrap()
}

fn import_cli(weights: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "import",
        "--weights",
        weights.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    smae(&args)
}

fn fails_with(out: &std::process::Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].contains(needle), "{err}");
}

/// The tiny encoder at 32 px (patch 8 comes from the checkpoints).
fn p8() -> Vec<&'static str> {
    [TINY_ENCODER, &["--img-size", "32"]].concat()
}

#[test]
fn bad_files_give_one_clear_error_and_no_run() {
    let dir = scratch("bad");
    let out = dir.join("run");
    // Corrupt: not a checkpoint at all.
    std::fs::write(dir.join("garbage.pth"), b"certainly not a checkpoint").unwrap();
    fails_with(
        &import_cli(&dir.join("garbage.pth"), &out, &p8()),
        "neither a PyTorch checkpoint nor a safetensors file",
    );
    // Truncated zip.
    let bytes = std::fs::read(fixture("official_p8.pth")).unwrap();
    std::fs::write(dir.join("truncated.pth"), &bytes[..bytes.len() / 2]).unwrap();
    fails_with(
        &import_cli(&dir.join("truncated.pth"), &out, &p8()),
        "not a readable PyTorch checkpoint",
    );
    // Truncated safetensors.
    let bytes = std::fs::read(fixture("timm_p8.safetensors")).unwrap();
    std::fs::write(dir.join("truncated.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    fails_with(
        &import_cli(&dir.join("truncated.safetensors"), &out, &p8()),
        "not a readable safetensors file",
    );
    // Legacy torch pickle.
    std::fs::write(
        dir.join("legacy.pt"),
        [0x80u8, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46],
    )
    .unwrap();
    fails_with(&import_cli(&dir.join("legacy.pt"), &out, &p8()), "legacy");
    // Wrong architecture.
    fails_with(
        &import_cli(&fixture("official_p8.pth"), &out, &["--model", "vit-base"]),
        "not vit-base",
    );
    // Missing file.
    fails_with(
        &import_cli(&dir.join("nope.pth"), &out, &p8()),
        "cannot read",
    );
    assert!(!out.exists(), "a failed import leaves no run");
}

/// Rewrites the timm fixture with one tensor replaced.
fn tampered(dir: &Path, name: &str, key: &str, shape: Vec<usize>) -> PathBuf {
    let (mut state, _) = read_checkpoint(&fixture("timm_p8.safetensors")).unwrap();
    let n = shape.iter().product();
    state.insert(key.to_string(), (shape, vec![0.5; n]));
    let path = dir.join(name);
    std::fs::write(
        &path,
        smae_train::import::state_bytes(&state, Default::default()).unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn shape_mismatch_and_unsupported_variants_are_refused() {
    let dir = scratch("shapes");
    let out = dir.join("run");
    let bad = tampered(
        &dir,
        "fc1.safetensors",
        "blocks.1.mlp.fc1.weight",
        vec![100, 48],
    );
    fails_with(
        &import_cli(&bad, &out, &p8()),
        "blocks.1.mlp.fc1.weight has shape [100, 48]",
    );
    let ls = tampered(&dir, "ls.safetensors", "blocks.0.ls1.gamma", vec![48]);
    fails_with(&import_cli(&ls, &out, &p8()), "layer scale");
    let ok = import_cli(&fixture("official_p8.pth"), &out, &p8());
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        text.contains("imported 30 tensors") && text.contains("dead key"),
        "{text}"
    );
    fails_with(
        &import_cli(&fixture("official_p8.pth"), &out, &p8()),
        "already holds a run",
    );
}
