//! smae-export on runs of every task: the graphs pass the ONNX checker,
//! agree with Burn on tract and ONNX Runtime (random and real inputs), carry
//! the model card, shrink with --fp16; bad runs give one clear error and no
//! file.

use std::path::Path;
use std::process::Command;

use smae_export::{export, ExportRequest, Layout};
use smae_testkit::TINY_ENCODER;
use smae_tests::{data, neon_tasks, smae, venv_python, Scratch};

const RUN: &[&str] = &["--workers", "2", "--quiet"];

/// A briefly trained run of `task` (two steps, checkpointed).
fn finetune(task: &str, data: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "finetune",
        "--task",
        task,
        "--data",
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--init",
        "none",
        "--stop-after-steps",
        "2",
    ];
    args.extend_from_slice(TINY_ENCODER);
    args.extend_from_slice(RUN);
    args.extend_from_slice(extra);
    smae(&args);
}

/// Plain layout: the Burn outputs themselves (the GIS layout is tested in
/// gis_tools.rs).
fn request(run: &Path, out: &Path) -> ExportRequest {
    ExportRequest {
        verify: true,
        verify_images: vec![data("deepforest/OSBS_029.tif")],
        gsd_m: Some(0.1),
        layout: Layout::Plain,
        ..ExportRequest::new(run, out)
    }
}

/// The ONNX checker (Python `onnx`, installed by scripts/setup.sh).
fn onnx_check(path: &Path) {
    let py = venv_python();
    let out = Command::new(&py)
        .args([
            "-c",
            "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    assert!(
        out.status.success(),
        "ONNX checker on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check_export(run: &Path, out: &Path, task: &str, outputs: &[&str]) {
    let report = export(&request(run, out)).unwrap_or_else(|e| panic!("{task}: {e:#}"));
    assert_eq!(report.task, task);
    // tract and ORT, on the random batch and the real image, for every output
    assert_eq!(
        report.parity.len(),
        2 * 2 * outputs.len(),
        "{:?}",
        report.parity
    );
    for p in &report.parity {
        assert!(p.pass, "{task}: {p:?}");
        assert!(outputs.contains(&p.output.as_str()), "{p:?}");
    }
    onnx_check(out);
    let card = smae_infer::onnx_meta::read_card(out).unwrap();
    assert_eq!(card.task, task);
    assert_eq!(
        card.input.mean,
        vec![0.485f32 as f64, 0.456f32 as f64, 0.406f32 as f64]
    );
    assert_eq!(card.gsd_m, Some(0.1));
    let names: Vec<&str> = card.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, outputs);
}

#[test]
fn every_task_exports_and_matches_burn() {
    let dir = Scratch::new("export");
    neon_tasks(dir.path());
    let d = dir.path();
    let det = d.join("det");
    let val = det.join("val").to_str().unwrap().to_string();
    finetune(
        "classify",
        &d.join("cls"),
        &d.join("cls-run"),
        &["--img-size", "32", "--patch-size", "8", "--batch-size", "4"],
    );
    finetune(
        "segment",
        &d.join("seg"),
        &d.join("seg-run"),
        &[
            "--classes",
            "other,crown",
            "--img-size",
            "64",
            "--patch-size",
            "16",
            "--channels",
            "16",
            "--batch-size",
            "2",
        ],
    );
    finetune(
        "detect",
        &det.join("train"),
        &d.join("det-run"),
        &[
            "--val-data",
            &val,
            "--img-size",
            "64",
            "--patch-size",
            "16",
            "--channels",
            "16",
            "--batch-size",
            "2",
        ],
    );
    finetune(
        "detect-obb",
        &det.join("train"),
        &d.join("obb-run"),
        &[
            "--val-data",
            &val,
            "--img-size",
            "64",
            "--patch-size",
            "16",
            "--channels",
            "16",
            "--batch-size",
            "2",
        ],
    );

    check_export(
        &d.join("cls-run"),
        &d.join("cls.onnx"),
        "classify",
        &["probabilities"],
    );
    check_export(
        &d.join("seg-run"),
        &d.join("seg.onnx"),
        "segment",
        &["probabilities"],
    );
    check_export(
        &d.join("det-run"),
        &d.join("det.onnx"),
        "detect",
        &["boxes", "scores"],
    );
    check_export(
        &d.join("obb-run"),
        &d.join("obb.onnx"),
        "detect-obb",
        &["rboxes", "scores"],
    );

    // No GIS tool decodes rotated boxes: the card says so.
    let card = smae_infer::onnx_meta::read_card(&d.join("obb.onnx")).unwrap();
    assert!(card.gis.contains("rotated boxes"), "{}", card.gis);

    // The encoder of any run exports as `embed`.
    let mut req = request(&d.join("det-run"), &d.join("embed.onnx"));
    req.task = Some("embed".into());
    let r = export(&req).unwrap();
    assert!(r.parity.iter().all(|p| p.pass));
    onnx_check(&d.join("embed.onnx"));
    let card = smae_infer::onnx_meta::read_card(&d.join("embed.onnx")).unwrap();
    assert_eq!(card.outputs.len(), 2);

    // The card names the classes and where the model came from.
    let card = smae_infer::onnx_meta::read_card(&d.join("cls.onnx")).unwrap();
    assert_eq!(card.classes, vec!["canopy", "open"]);
    assert_eq!(card.input.size, 32);
    assert_eq!(card.provenance["finetune"]["task"], "classify");

    // f16 weights: about half the size, still within their tolerance.
    let mut req = request(&d.join("seg-run"), &d.join("seg16.onnx"));
    req.weights = smae_export::Weights::F16;
    let r16 = export(&req).unwrap();
    let full = std::fs::metadata(d.join("seg.onnx")).unwrap().len();
    assert!(
        (r16.bytes as f64) < 0.6 * full as f64,
        "{} vs {full}",
        r16.bytes
    );
    assert!(r16.parity.iter().all(|p| p.pass), "{:?}", r16.parity);
    onnx_check(&d.join("seg16.onnx"));

    // int8 matrices: under a third of the size (biases, norms and the
    // position embedding stay f32), within the int8 tolerance on both
    // runtimes, every MatMul / Conv / ConvTranspose weight restored by a
    // DequantizeLinear of an int8 initializer (the adaptive pooling
    // matrices are constants, not weights, and stay f32).
    let mut req = request(&d.join("seg-run"), &d.join("seg8.onnx"));
    req.weights = smae_export::Weights::Int8;
    let r8 = export(&req).unwrap();
    assert!(
        (r8.bytes as f64) < 0.33 * full as f64,
        "{} vs {full}",
        r8.bytes
    );
    assert!(r8.parity.iter().all(|p| p.pass), "{:?}", r8.parity);
    for rt in ["tract", "ort"] {
        assert!(r8.parity.iter().any(|p| p.runtime.starts_with(rt)));
    }
    // quantisation is not a no-op: the outputs moved from Burn's
    let worst = r8.parity.iter().map(|p| p.max_abs).fold(0.0, f64::max);
    assert!(worst > 1e-5, "int8 outputs equal f32's: {worst}");
    onnx_check(&d.join("seg8.onnx"));
    // every learned matrix is int8; the constant pooling and interpolation
    // matrices (pool_m*, resize_*) stay f32
    let out = Command::new(venv_python())
        .args([
            "-c",
            "import onnx, sys\n\
             m = onnx.load(sys.argv[1]); g = m.graph\n\
             i8 = {t.name for t in g.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) >= 2}\n\
             dq = {n.output[0] for n in g.node if n.op_type == 'DequantizeLinear' and n.input[0] in i8}\n\
             w = [n.input[1] for n in g.node if n.op_type in ('MatMul', 'Conv', 'ConvTranspose') and len(n.input) > 1]\n\
             consts = {t.name for t in g.initializer if not t.name.startswith(('pool_m', 'resize_'))}\n\
             mats = [x for x in w if x in dq or x in consts]\n\
             print(len(mats), sum(x in dq for x in mats))",
            d.join("seg8.onnx").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<usize> = text
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(counts[0] > 20, "{text}");
    assert_eq!(counts[0], counts[1], "weights not int8: {text}");

    // The tolerance is per task: a classifier's probabilities are held to
    // 2e-3 as int8, tighter than the segmenter's 1e-2, and pass.
    assert_eq!(r8.tolerance, 1e-2);
    let mut req = request(&d.join("cls-run"), &d.join("cls8.onnx"));
    req.weights = smae_export::Weights::Int8;
    let c8 = export(&req).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(c8.tolerance, 2e-3);
    assert!(
        c8.parity.iter().all(|p| p.pass && p.max_rel <= 2e-3),
        "{:?}",
        c8.parity
    );
}
