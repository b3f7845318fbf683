//! The main job's chain at toy size: curate real imagery, pre-train
//! SelectiveMAE on the shards, fine-tune a tree-crown detector from that run,
//! export it with its card (verified), and run smae-infer on the
//! georeferenced NEON scene. Every artifact is checked: run directories,
//! metrics, the card, the GeoJSON (valid, in the scene's CRS, inside the
//! scene) and the overlay picture.

use std::path::Path;

use gdal::vector::LayerAccess;
use serde_json::Value;
use smae_export::{export, ExportRequest};
use smae_infer::{Backend, Model, ModelOptions, RunOptions};
use smae_tests::{data, json, neon_tasks, smae, Scratch};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn scene_in_georeferenced_crowns_out() {
    let dir = Scratch::new("e2e");
    let d = dir.path();
    let scene = data("deepforest/OSBS_029.tif");

    // 1. curate two real scenes into chips, holding out the evaluation scene
    let src = d.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(d.join("heldout")).unwrap();
    for f in ["rasterio/RGB.byte.tif", "deepforest/test_tiled.tif"] {
        let p = data(f);
        std::fs::copy(&p, src.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy(&scene, d.join("heldout/OSBS_029.tif")).unwrap();
    let chips = d.join("chips");
    smae(&[
        "curate",
        "--input",
        &format!("aerial={}", s(&src)),
        "--output",
        s(&chips),
        "--crop",
        "256",
        "--max-side",
        "512",
        "--exclude-near",
        s(&d.join("heldout")),
        "--quiet",
    ]);
    let report = json(&chips.join("report.json"));
    assert!(
        report["total"]["written"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );

    // 2. pre-train a tiny SelectiveMAE on the shards
    let pre = d.join("pre");
    smae(&[
        "pretrain",
        "--data",
        s(&chips),
        "--output",
        s(&pre),
        "--method",
        "selective",
        "--model",
        "vit-tiny",
        "--dim",
        "32",
        "--depth",
        "2",
        "--heads",
        "2",
        "--img-size",
        "64",
        "--patch-size",
        "16",
        "--decoder-dim",
        "32",
        "--decoder-depth",
        "1",
        "--decoder-heads",
        "2",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--workers",
        "2",
        "--quiet",
    ]);
    for f in ["config.json", "log.jsonl", "checkpoint/model.safetensors"] {
        assert!(pre.join(f).is_file(), "pre-training run lacks {f}");
    }
    assert_eq!(
        json(&pre.join("config.json"))["method"]["method"],
        "selective"
    );

    // 3. fine-tune the detector from it (left half of OSBS_029 -> right half)
    neon_tasks(d);
    let det = d.join("det-run");
    smae(&[
        "finetune",
        "--task",
        "detect",
        "--data",
        s(&d.join("det/train")),
        "--val-data",
        s(&d.join("det/val")),
        "--init",
        s(&pre),
        "--output",
        s(&det),
        "--img-size",
        "64",
        "--channels",
        "16",
        "--batch-size",
        "2",
        "--epochs",
        "1",
        "--workers",
        "2",
        "--quiet",
    ]);
    let metrics = json(&det.join("metrics.json"));
    let map50 = metrics["metrics"]["map50"]
        .as_f64()
        .expect("mAP50 in metrics.json");
    assert!((0.0..=1.0).contains(&map50));
    let cfg = json(&det.join("config.json"));
    assert_eq!(cfg["kind"], "finetune");
    assert_eq!(cfg["task"], "detect");

    // 4. export with the card, verified on tract and ONNX Runtime
    let onnx = d.join("crowns.onnx");
    let r = export(&ExportRequest {
        verify: true,
        verify_images: vec![scene.clone()],
        gsd_m: Some(0.1),
        ..ExportRequest::new(&det, &onnx)
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(r.parity.iter().all(|p| p.pass), "{:?}", r.parity);
    let card = smae_infer::onnx_meta::read_card(&onnx).unwrap();
    assert_eq!(card.task, "detect");
    assert_eq!(card.classes, vec!["Tree"]);
    assert_eq!(card.gsd_m, Some(0.1));
    assert_eq!(card.input.size, 64);
    assert_eq!(card.provenance["pretrain"]["method"]["method"], "selective");

    // 5. smae-infer on the georeferenced scene, with a low threshold so an
    //    untrained detector still draws boxes to check
    let mut model = Model::open(
        &onnx,
        &ModelOptions {
            backend: Backend::Ort,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let gj = d.join("crowns.geojson");
    let png = d.join("crowns.png");
    let opts = RunOptions {
        score: Some(0.0),
        overlay: Some(png.clone()),
        quiet: true,
        ..Default::default()
    };
    let rep = model
        .run(&scene, &gj, &opts)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(rep.georeferenced);
    let n = rep.detections.unwrap();
    assert!(n > 0, "no detections at score 0");

    let text = std::fs::read_to_string(&gj).unwrap();
    let fc: geojson::FeatureCollection = text
        .parse::<geojson::GeoJson>()
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(fc.features.len(), n);
    let raw: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        raw["crs"]["properties"]["name"],
        "urn:ogc:def:crs:EPSG::32617"
    );

    // GDAL reads it back in the scene's CRS, and every vertex is inside the scene
    let ds = gdal::Dataset::open(&scene).unwrap();
    let t = ds.geo_transform().unwrap();
    let (w, h) = ds.raster_size();
    let (xmin, xmax) = (t[0], t[0] + t[1] * w as f64);
    let (ymin, ymax) = (t[3] + t[5] * h as f64, t[3]);
    let v = gdal::Dataset::open(&gj).unwrap();
    let layer = v.layer(0).unwrap();
    let srs = layer.spatial_ref().expect("the GeoJSON names its CRS");
    assert_eq!(srs.auth_code().unwrap(), 32617);
    assert_eq!(layer.feature_count() as usize, n);
    for f in &fc.features {
        let props = f.properties.as_ref().unwrap();
        assert_eq!(props["class"], "Tree");
        let score = props["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        let geojson::GeometryValue::Polygon { coordinates } = &f.geometry.as_ref().unwrap().value
        else {
            panic!("not a polygon");
        };
        assert_eq!(coordinates[0].len(), 5);
        for p in &coordinates[0] {
            let (x, y) = (p[0], p[1]);
            assert!(
                x >= xmin - 1e-6 && x <= xmax + 1e-6 && y >= ymin - 1e-6 && y <= ymax + 1e-6,
                "({x}, {y}) outside the scene"
            );
        }
    }
    let img = image::open(&png).unwrap();
    // the 400 px scene is drawn at twice its size
    assert_eq!((img.width(), img.height()), (800, 800));
}
