//! Evaluation measures what users get from smae-infer: a detector and a
//! segmenter fine-tuned briefly on NEON data are evaluated by `smae-train
//! eval` on the held-out GeoTIFF OSBS_029, exported to ONNX and run by
//! smae-infer (ONNX Runtime) on the same scene. The detections, and so the
//! mAP50 computed from smae-infer's GeoJSON, and the class map, and so the
//! mIoU, agree within float rounding between Burn and ONNX Runtime.

use std::path::Path;

use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use smae_export::{export, ExportRequest};
use smae_geom::merge::SceneDetection;
use smae_geom::BBox;
use smae_infer::RunOptions;
use smae_run::model::TaskModel;
use smae_run::{checkpoint, FinetuneConfig};
use smae_testkit::TINY_ENCODER;
use smae_tests::{crown_mask, data, json, neon_tasks, ort_model, osbs_boxes, smae, Scratch};
use smae_train::eval::metrics::detection::{voc_map, GroundTruth, Prediction, Shape};
use smae_train::eval::metrics::segmentation::SegAccumulator;
use smae_train::eval::scene;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Fine-tunes a tiny model of `task` for one epoch (`extra` arguments).
fn finetune(task: &str, data: &Path, val: &Path, out: &Path, extra: &[&str]) {
    let head = [
        "finetune",
        "--task",
        task,
        "--data",
        s(data),
        "--val-data",
        s(val),
        "--output",
        s(out),
        "--init",
        "none",
        "--channels",
        "16",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--workers",
        "2",
        "--quiet",
    ];
    smae(&[&head[..], TINY_ENCODER, extra].concat());
}

/// `smae-train eval` of `run` on `held`, its metrics written to `out`.
fn eval(run: &Path, held: &Path, out: &Path) -> serde_json::Value {
    smae(&[
        "eval",
        "--run",
        s(run),
        "--data",
        s(held),
        "--output",
        s(out),
    ]);
    json(out)
}

fn export_to(run: &Path, onnx: &Path) {
    export(&ExportRequest {
        gsd_m: Some(0.1),
        ..ExportRequest::new(run, onnx)
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
}

/// Axis-aligned boxes in scene pixels from smae-infer's GeoJSON (in the
/// scene's CRS), with class and score.
fn geojson_boxes(path: &Path, transform: [f64; 6]) -> Vec<(usize, f32, BBox)> {
    let text = std::fs::read_to_string(path).unwrap();
    let fc: geojson::FeatureCollection = text
        .parse::<geojson::GeoJson>()
        .unwrap()
        .try_into()
        .unwrap();
    let t = transform;
    fc.features
        .iter()
        .map(|f| {
            let p = f.properties.as_ref().unwrap();
            let geojson::GeometryValue::Polygon { coordinates } =
                &f.geometry.as_ref().unwrap().value
            else {
                panic!("not a polygon")
            };
            let px: Vec<(f64, f64)> = coordinates[0]
                .iter()
                .map(|c| ((c[0] - t[0]) / t[1], (c[1] - t[3]) / t[5]))
                .collect();
            let (x0, x1) = px
                .iter()
                .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
            let (y0, y1) = px
                .iter()
                .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
            (
                p["class_index"].as_u64().unwrap() as usize,
                p["score"].as_f64().unwrap() as f32,
                BBox::new(x0 as f32, y0 as f32, x1 as f32, y1 as f32),
            )
        })
        .collect()
}

#[test]
fn detection_eval_is_smae_infer() {
    let dir = Scratch::new("eval-infer-det");
    let d = dir.path();
    neon_tasks(d);
    // The held-out scene, whole and georeferenced, with its 61 crowns.
    let held = d.join("held");
    std::fs::create_dir_all(&held).unwrap();
    for f in ["OSBS_029.tif", "OSBS_029.csv"] {
        std::fs::copy(data(&format!("deepforest/{f}")), held.join(f)).unwrap();
    }
    let run = d.join("det");
    // 128 px tiles seen at 64 px: inference resamples every tile.
    finetune(
        "detect",
        &d.join("det/train"),
        &d.join("det/val"),
        &run,
        &["--img-size", "64", "--tile", "128", "--patch-size", "8"],
    );
    let m = &eval(&run, &held, &d.join("eval.json"))["metrics"];
    let eval_map = m["map50"].as_f64().unwrap();
    let eval_n = m["predictions"].as_u64().unwrap() as usize;
    assert!(eval_n > 20, "too few detections to compare: {eval_n}");

    // Evaluation's own detections (the same code the command ran).
    let cfg = FinetuneConfig::read(&run).unwrap();
    let ckpt = checkpoint::require(&run).unwrap();
    let model = TaskModel::<Flex>::from_checkpoint(&cfg, &ckpt, &FlexDevice).unwrap();
    let mut burn = scene::model(&cfg, model, &FlexDevice).unwrap();
    let scene_path = held.join("OSBS_029.tif");
    let (ours, _) = burn.detections(&scene_path, &scene::run_options()).unwrap();
    assert_eq!(ours.len(), eval_n);

    // smae-infer with the exported model, at evaluation's score threshold.
    let onnx = d.join("det.onnx");
    export_to(&run, &onnx);
    let gj = d.join("det.geojson");
    let opts = RunOptions {
        score: Some(scene::EVAL_SCORE),
        quiet: true,
        ..Default::default()
    };
    let rep = ort_model(&onnx).run(&scene_path, &gj, &opts).unwrap();
    let transform = gdal::Dataset::open(&scene_path)
        .unwrap()
        .geo_transform()
        .unwrap();
    let theirs = geojson_boxes(&gj, transform);
    assert_eq!(rep.detections, Some(theirs.len()));

    // One to one: same class, box within 0.01 px, score within 1e-4.
    let matched = ours
        .iter()
        .filter(|o| {
            let SceneDetection::Box(o) = o else {
                panic!("horizontal boxes expected")
            };
            theirs.iter().any(|(c, sc, b)| {
                *c == o.class
                    && (sc - o.score).abs() < 1e-4
                    && [
                        b.x0 - o.bbox.x0,
                        b.y0 - o.bbox.y0,
                        b.x1 - o.bbox.x1,
                        b.y1 - o.bbox.y1,
                    ]
                    .iter()
                    .all(|v| v.abs() < 1e-2)
            })
        })
        .count();
    // A detection whose score lies within float rounding of the threshold
    // or of an NMS tie may fall on the other side in one runtime.
    let tolerated = 1 + ours.len() / 100;
    assert!(
        ours.len().abs_diff(theirs.len()) <= tolerated && ours.len() - matched <= tolerated,
        "eval {} detections, smae-infer {}, matched {matched}",
        ours.len(),
        theirs.len()
    );

    // mAP50 from smae-infer's GeoJSON against the scene's crowns.
    let gts: Vec<GroundTruth> = osbs_boxes()
        .into_iter()
        .map(|b| GroundTruth {
            image: 0,
            class: 0,
            shape: Shape::Axis(BBox::new(b[0], b[1], b[2], b[3])),
            difficult: false,
        })
        .collect();
    let preds: Vec<Prediction> = theirs
        .iter()
        .map(|(c, sc, b)| Prediction {
            image: 0,
            class: *c,
            score: *sc,
            shape: Shape::Axis(*b),
        })
        .collect();
    let infer_map = voc_map(&preds, &gts, 1, 0.5).map50;
    assert!(
        (infer_map - eval_map).abs() < 2e-3,
        "mAP50: eval {eval_map}, smae-infer {infer_map}"
    );
}

#[test]
fn segmentation_eval_is_smae_infer() {
    let dir = Scratch::new("eval-infer-seg");
    let d = dir.path();
    neon_tasks(d);
    let held = d.join("held");
    for sub in ["images", "masks"] {
        std::fs::create_dir_all(held.join(sub)).unwrap();
    }
    let scene_path = held.join("images/OSBS_029.tif");
    std::fs::copy(data("deepforest/OSBS_029.tif"), &scene_path).unwrap();
    let mask = crown_mask(400, 400);
    mask.save(held.join("masks/OSBS_029.png")).unwrap();
    // What scripts/bench_seg_int8.sh reads: the scene's mask, and the 64 px
    // tiles wholly in the west half (x 0, 48, 96 by 8 rows).
    let scene_mask = image::open(d.join("scene/crowns.png")).unwrap();
    assert_eq!(scene_mask.to_luma8(), mask);
    let names = |sub: &str| {
        let mut v: Vec<String> = std::fs::read_dir(d.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    let west: Vec<String> = names("seg/images")
        .into_iter()
        .filter(|n| n[..3].parse::<u32>().unwrap() + 64 <= 200)
        .collect();
    assert_eq!(west.len(), 24);
    assert_eq!(names("seg-west/images"), west);
    assert_eq!(names("seg-west/masks"), west);
    let run = d.join("seg");
    finetune(
        "segment",
        &d.join("seg"),
        &d.join("seg"),
        &run,
        &[
            "--img-size",
            "64",
            "--patch-size",
            "8",
            "--classes",
            "other,crown",
        ],
    );
    let eval_miou = eval(&run, &held, &d.join("eval.json"))["metrics"]["miou"]
        .as_f64()
        .unwrap();

    let onnx = d.join("seg.onnx");
    export_to(&run, &onnx);
    let out = d.join("classes.tif");
    let opts = RunOptions {
        quiet: true,
        ..Default::default()
    };
    ort_model(&onnx).run(&scene_path, &out, &opts).unwrap();
    let ds = gdal::Dataset::open(&out).unwrap();
    let classes: Vec<u8> = ds
        .rasterband(1)
        .unwrap()
        .read_as::<u8>((0, 0), (400, 400), (400, 400), None)
        .unwrap()
        .into_shape_and_vec()
        .1;

    // The class map evaluation scored, pixel for pixel.
    let cfg = FinetuneConfig::read(&run).unwrap();
    let ckpt = checkpoint::require(&run).unwrap();
    let model = TaskModel::<Flex>::from_checkpoint(&cfg, &ckpt, &FlexDevice).unwrap();
    let mut burn = scene::model(&cfg, model, &FlexDevice).unwrap();
    let (ours, _) = burn.class_map(&scene_path, &scene::run_options()).unwrap();
    let same = ours.iter().zip(&classes).filter(|(a, b)| a == b).count();
    assert!(
        same as f64 >= 0.999 * ours.len() as f64,
        "{same} of {} pixels agree",
        ours.len()
    );
    let mut acc = SegAccumulator::new(2, 255);
    acc.add(&classes, mask.as_raw());
    let infer_miou = acc.finish().miou;
    assert!(
        (infer_miou - eval_miou).abs() < 1e-3,
        "mIoU: eval {eval_miou}, smae-infer {infer_miou}"
    );
}
