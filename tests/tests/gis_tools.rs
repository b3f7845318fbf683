//! Exported models in the GIS tools people already use. A segmentation model
//! and a tree-crown detector, fine-tuned on the NEON scene's crowns and
//! exported in the default (GIS) layout, run through GeoDeep (PyPI
//! `geodeep`, installed by scripts/setup.sh) on the georeferenced scene:
//! its class map agrees with smae-infer's and its boxes match smae-infer's.
//! Their metadata passes the load-time rules of QGIS Deepness (restated from
//! its source in tests/python/deepness_rules.py), their STAC items validate
//! with stac-model, and smae-infer gives the same result on the GIS and the
//! plain (card version 1) layout of the same run.

use std::path::Path;

use gdal::vector::LayerAccess;
use serde_json::Value;
use smae_export::{export, ExportRequest, Layout};
use smae_geom::bbox::BBox;
use smae_geom::merge::SceneDetection;
use smae_infer::run::CLASS_NODATA;
use smae_infer::RunOptions;
use smae_testkit::{gdal_tool, TINY_ENCODER};
use smae_tests::{data, neon_tasks, ort_model, python_script, smae, Scratch};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Fine-tunes `task` from scratch at 64 px (a tiny encoder, learning rate
/// 1e-3: enough epochs that the models are confident, so the comparison
/// measures the tools, not coin flips).
fn finetune(task: &str, data: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "finetune",
        "--task",
        task,
        "--data",
        s(data),
        "--output",
        s(out),
        "--init",
        "none",
        "--img-size",
        "64",
        "--patch-size",
        "16",
        "--channels",
        "16",
        "--batch-size",
        "4",
        "--lr",
        "1e-3",
        "--workers",
        "2",
        "--quiet",
    ];
    args.extend_from_slice(TINY_ENCODER);
    args.extend_from_slice(extra);
    smae(&args);
}

fn export_to(run: &Path, out: &Path, layout: Layout, batch: Option<usize>) -> ExportRequest {
    let req = ExportRequest {
        verify: true,
        verify_images: vec![data("deepforest/OSBS_029.tif")],
        gsd_m: Some(0.1),
        layout,
        batch,
        stac: Some(out.with_extension("json")),
        ..ExportRequest::new(run, out)
    };
    let r = export(&req).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(r.parity.iter().all(|p| p.pass), "{:?}", r.parity);
    req
}

fn boxes(dets: &[SceneDetection]) -> Vec<(BBox, f32)> {
    dets.iter()
        .map(|d| match d {
            SceneDetection::Box(b) => (b.bbox, b.score),
            SceneDetection::Rotated(_) => panic!("a horizontal detector"),
        })
        .collect()
}

/// The share of `a` with a box of `b` at IoU >= 0.5 (greedy, best first).
fn matched_share(a: &[BBox], b: &[BBox]) -> f64 {
    let mut used = vec![false; b.len()];
    let mut hits = 0;
    for x in a {
        let best = (0..b.len())
            .filter(|&j| !used[j])
            .map(|j| (j, x.iou(&b[j])))
            .max_by(|p, q| p.1.total_cmp(&q.1));
        if let Some((j, iou)) = best.filter(|(_, iou)| *iou >= 0.5) {
            let _ = iou;
            used[j] = true;
            hits += 1;
        }
    }
    hits as f64 / a.len().max(1) as f64
}

/// For each box of `a` with a box of `b` at IoU >= 0.5, the distance
/// between their centres in pixels, sorted.
fn centre_offsets(a: &[BBox], b: &[BBox]) -> Vec<f32> {
    let centre = |x: &BBox| ((x.x0 + x.x1) / 2.0, (x.y0 + x.y1) / 2.0);
    let mut out: Vec<f32> = a
        .iter()
        .filter_map(|x| {
            let y = b.iter().max_by(|p, q| x.iou(p).total_cmp(&x.iou(q)))?;
            (x.iou(y) >= 0.5).then(|| {
                let (p, q) = (centre(x), centre(y));
                (p.0 - q.0).hypot(p.1 - q.1)
            })
        })
        .collect();
    out.sort_by(f32::total_cmp);
    out
}

fn geodeep(model: &Path, scene: &Path, out: &Path, conf: Option<f32>) -> Value {
    let mut args = vec![s(model).to_string(), s(scene).into(), s(out).into()];
    if let Some(c) = conf {
        args.push(c.to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    python_script("geodeep_run.py", &refs).unwrap_or_else(|e| panic!("GeoDeep: {e}"));
    smae_tests::json(out)
}

#[test]
fn geodeep_runs_exported_models_as_smae_infer_does() {
    let dir = Scratch::new("gis");
    let d = dir.path();
    neon_tasks(d);
    let scene = data("deepforest/OSBS_029.tif");
    let det_val = d.join("det/val");
    finetune(
        "segment",
        &d.join("seg"),
        &d.join("seg-run"),
        &["--classes", "other,crown", "--epochs", "20"],
    );
    finetune(
        "detect",
        &d.join("det/train"),
        &d.join("det-run"),
        &[
            "--val-data",
            s(&det_val),
            "--tile",
            "128",
            "--epochs",
            "300",
        ],
    );
    let seg = d.join("seg.onnx");
    let det = d.join("det.onnx");
    export_to(&d.join("seg-run"), &seg, Layout::Gis, None);
    export_to(&d.join("det-run"), &det, Layout::Gis, None);

    // --- segmentation: GeoDeep's class map against smae-infer's ---
    let (ours, _) = ort_model(&seg)
        .class_map(
            &scene,
            &RunOptions {
                quiet: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
    let gd = geodeep(&seg, &scene, &d.join("gd-seg.json"), None);
    assert_eq!(gd["config"]["model_type"], "Segmentor");
    // 10 cm scene, 10 cm per input pixel: GeoDeep reads the scene as it is
    assert_eq!(gd["config"]["resolution"], 10.0);
    assert_eq!(gd["mask_shape"], serde_json::json!([400, 400]));
    let theirs: Vec<u8> = gd["mask"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(theirs.len(), ours.len());
    // GeoDeep has no nodata: compare where smae-infer has data (all but the
    // pixels where every band is 255, the scene's nodata)
    let data: Vec<(u8, u8)> = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, _)| **a != CLASS_NODATA)
        .map(|(a, b)| (*a, *b))
        .collect();
    let nodata = ours.len() - data.len();
    assert!(nodata * 100 < ours.len(), "{nodata} nodata pixels");
    let agree = data.iter().filter(|(a, b)| a == b).count() as f64 / data.len() as f64;
    let crown = data.iter().filter(|(a, _)| *a == 1).count() as f64 / data.len() as f64;
    eprintln!(
        "segmentation: GeoDeep and smae-infer agree on {:.2}% of {} data pixels ({nodata} nodata; smae-infer: {:.1}% crown)",
        100.0 * agree,
        data.len(),
        100.0 * crown
    );
    // both classes are there, so agreement is not one class everywhere
    assert!((0.05..0.95).contains(&crown), "crown share {crown}");
    assert!(agree >= 0.95, "agreement {agree}");

    // --- detection: GeoDeep's boxes against smae-infer's ---
    let mut model = ort_model(&det);
    let th = model.card.thresholds.score as f32;
    let opts = RunOptions {
        score: Some(th),
        quiet: true,
        ..Default::default()
    };
    let (dets, _) = model
        .detections(&scene, &opts)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let ours = boxes(&dets);
    let gd = geodeep(&det, &scene, &d.join("gd-det.json"), None);
    assert_eq!(gd["config"]["model_type"], "Detector");
    // 128 scene pixels per 64 input pixels: the model works at 20 cm
    assert_eq!(gd["config"]["resolution"], 20.0);
    assert!((gd["config"]["det_conf"].as_f64().unwrap() - th as f64).abs() < 1e-6);
    let theirs: Vec<BBox> = gd["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let v: Vec<f32> = b
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            BBox::new(v[0], v[1], v[2], v[3])
        })
        .collect();
    assert!(gd["classes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c == "Tree"));
    let ours_b: Vec<BBox> = ours.iter().map(|(b, _)| *b).collect();
    let (a, b) = (
        matched_share(&ours_b, &theirs),
        matched_share(&theirs, &ours_b),
    );
    eprintln!(
        "detection at score {th:.3}: smae-infer {} boxes, GeoDeep {}; {:.1}% of smae-infer's matched by GeoDeep's at IoU >= 0.5, {:.1}% of GeoDeep's by smae-infer's",
        ours.len(),
        theirs.len(),
        100.0 * a,
        100.0 * b
    );
    assert!(
        ours.len() >= 5,
        "too few detections to compare: {}",
        ours.len()
    );
    assert!(a >= 0.65 && b >= 0.8, "{a} {b}");

    // --- scale: the scene 2x coarser (gdalwarp), tiles over the same ground ---
    let coarse = d.join("coarse.tif");
    gdal_tool(
        "gdalwarp",
        &["-ts", "200", "200", "-r", "average", s(&scene), s(&coarse)],
    );
    let q = RunOptions {
        quiet: true,
        ..Default::default()
    };
    let mut seg_model = ort_model(&seg);
    let (fine_map, _) = seg_model.class_map(&scene, &q).unwrap();
    let card_tile = seg_model.card.tile.clone();
    // each fine pixel against the coarse pixel it lies in
    let agreement = |coarse_map: &[u8]| {
        let (mut same, mut n) = (0usize, 0usize);
        for (i, f) in fine_map.iter().enumerate() {
            let c = coarse_map[(i / 400 / 2) * 200 + (i % 400) / 2];
            if *f != CLASS_NODATA && c != CLASS_NODATA {
                n += 1;
                same += (*f == c) as usize;
            }
        }
        same as f64 / n as f64
    };
    let (scaled, rep) = seg_model.class_map(&coarse, &q).unwrap();
    assert_eq!(rep.tile, card_tile.size / 2);
    let unscaled = RunOptions {
        tile: Some(card_tile.size),
        overlap: Some(card_tile.overlap),
        ..q.clone()
    };
    let (old, _) = seg_model.class_map(&coarse, &unscaled).unwrap();
    let (a_scaled, a_old) = (agreement(&scaled), agreement(&old));
    eprintln!(
        "scale: class maps at 0.1 m and 0.2 m agree on {:.2}% of pixels with tiles over the same ground, {:.2}% with tiles in scene pixels",
        100.0 * a_scaled,
        100.0 * a_old
    );
    assert!(
        a_scaled >= 0.9 && a_scaled > a_old + 0.1,
        "{a_scaled} {a_old}"
    );
    // detections at 0.2 m, in 0.1 m pixels, against those at 0.1 m
    let (cd, rep) = ort_model(&det).detections(&coarse, &opts).unwrap();
    assert_eq!(rep.tile, 64);
    let coarse_b: Vec<BBox> = boxes(&cd)
        .iter()
        .map(|(b, _)| BBox::new(2.0 * b.x0, 2.0 * b.y0, 2.0 * b.x1, 2.0 * b.y1))
        .collect();
    let (a, b) = (
        matched_share(&ours_b, &coarse_b),
        matched_share(&coarse_b, &ours_b),
    );
    let offsets = centre_offsets(&ours_b, &coarse_b);
    let median = offsets[offsets.len() / 2];
    eprintln!(
        "scale: {} boxes at 0.1 m, {} at 0.2 m; {:.1}% / {:.1}% matched at IoU >= 0.5, median centre offset {median:.2} px (0.1 m pixels)",
        ours_b.len(),
        coarse_b.len(),
        100.0 * a,
        100.0 * b
    );
    assert!(a >= 0.85 && b >= 0.85, "{a} {b}");
    assert!(median <= 2.0, "{offsets:?}");

    // --- QGIS Deepness's load-time rules ---
    let rules = |m: &Path| python_script("deepness_rules.py", &[s(m)]);
    let seg_settings: Value = serde_json::from_str(&rules(&seg).unwrap()).unwrap();
    assert_eq!(seg_settings["model_type"], "Segmentor");
    assert_eq!(
        seg_settings["class_names"],
        serde_json::json!(["other", "crown"])
    );
    assert_eq!(seg_settings["tile_size"], 64);
    assert_eq!(seg_settings["tiles_overlap"], 25);
    // a dynamic batch is refused for a detector (the card says so), a batch
    // of 1 loads
    assert!(ort_model(&det).card.gis.contains("--batch 1"));
    let err = rules(&det).unwrap_err();
    assert!(err.contains("1-Batch"), "{err}");
    let det1 = d.join("det1.onnx");
    export_to(&d.join("det-run"), &det1, Layout::Gis, Some(1));
    let det_settings: Value = serde_json::from_str(&rules(&det1).unwrap()).unwrap();
    assert_eq!(det_settings["model_type"], "Detector");
    assert_eq!(det_settings["det_type"], "YOLO_v5_or_v7_default");
    assert_eq!(det_settings["output_shape"][2], 6);

    // --- STAC items ---
    for (m, task, scaling) in [
        (&seg, "semantic-segmentation", "scale"),
        (&det1, "object-detection", "scale"),
    ] {
        let out = python_script("stac_check.py", &[s(&m.with_extension("json")), s(m)])
            .unwrap_or_else(|e| panic!("stac-model: {e}"));
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(
            v["tasks"].as_array().unwrap().iter().any(|t| t == task),
            "{v}"
        );
        assert_eq!(v["framework"], "onnx");
        assert_eq!(v["scaling"], serde_json::json!([scaling, scaling, scaling]));
    }

    // --- smae-infer: the same result from the GIS and the plain layout ---
    let seg_plain = d.join("seg-plain.onnx");
    let det_plain = d.join("det-plain.onnx");
    export_to(&d.join("seg-run"), &seg_plain, Layout::Plain, None);
    export_to(&d.join("det-run"), &det_plain, Layout::Plain, None);
    assert!(
        smae_infer::onnx_meta::metadata(&std::fs::read(&seg_plain).unwrap())
            .unwrap()
            .iter()
            .all(|(k, _)| k == "smae.card")
    );
    let (gis_map, _) = ort_model(&seg).class_map(&scene, &q).unwrap();
    let (plain_map, _) = ort_model(&seg_plain).class_map(&scene, &q).unwrap();
    let differ = gis_map
        .iter()
        .zip(&plain_map)
        .filter(|(a, b)| a != b)
        .count();
    assert!(differ * 10_000 <= gis_map.len(), "{differ} pixels differ");
    let (plain_dets, _) = ort_model(&det_plain).detections(&scene, &opts).unwrap();
    let plain = boxes(&plain_dets);
    assert_eq!(plain.len(), ours.len());
    for ((a, sa), (b, sb)) in ours.iter().zip(&plain) {
        assert!(
            a.iou(b) > 0.999 && (sa - sb).abs() < 1e-4,
            "{a:?} {sa} vs {b:?} {sb}"
        );
    }

    // --- detections as GeoPackage, FlatGeobuf and WGS84 GeoJSON ---
    let mut model = ort_model(&det);
    let mut out = |name: &str, wgs84: bool| {
        let p = d.join(name);
        let o = RunOptions {
            wgs84,
            ..opts.clone()
        };
        model
            .run(&scene, &p, &o)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        p
    };
    let utm = out("crowns.geojson", false);
    for name in ["crowns.gpkg", "crowns.fgb"] {
        let p = out(name, false);
        let ds = gdal::Dataset::open(&p).unwrap();
        let mut layer = ds.layer(0).unwrap();
        assert_eq!(layer.feature_count() as usize, ours.len(), "{name}");
        assert_eq!(layer.spatial_ref().unwrap().auth_code().unwrap(), 32617);
        let mut scores: Vec<f32> = layer
            .features()
            .map(|f| {
                assert_eq!(
                    f.field_as_string(f.field_index("class").unwrap())
                        .unwrap()
                        .as_deref(),
                    Some("Tree")
                );
                f.field_as_double(f.field_index("score").unwrap())
                    .unwrap()
                    .unwrap() as f32
            })
            .collect();
        let mut want: Vec<f32> = ours.iter().map(|(_, s)| *s).collect();
        scores.sort_by(f32::total_cmp);
        want.sort_by(f32::total_cmp);
        assert!(
            scores.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-5),
            "{name}"
        );
    }
    let ll = out("crowns-wgs84.geojson", true);
    let (a, b) = (smae_tests::json(&utm), smae_tests::json(&ll));
    assert!(b.get("crs").is_none(), "RFC 7946: no crs member");
    // back to UTM 17N through GDAL, the WGS84 ring lands on the scene-CRS ring
    let mut wgs = gdal::spatial_ref::SpatialRef::from_epsg(4326).unwrap();
    wgs.set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
    let utm17 = gdal::spatial_ref::SpatialRef::from_epsg(32617).unwrap();
    let t = gdal::spatial_ref::CoordTransform::new(&wgs, &utm17).unwrap();
    let ring = |v: &Value, k: usize| v["features"][0]["geometry"]["coordinates"][0][k].clone();
    for k in 0..5 {
        let (p, q) = (ring(&b, k), ring(&a, k));
        let (lon, lat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
        assert!(
            (-83.0..-81.0).contains(&lon) && (29.0..30.5).contains(&lat),
            "{lon} {lat}"
        );
        let (mut x, mut y, mut z) = ([lon], [lat], [0.0]);
        t.transform_coords(&mut x, &mut y, &mut z).unwrap();
        assert!(
            (x[0] - q[0].as_f64().unwrap()).abs() < 1e-3
                && (y[0] - q[1].as_f64().unwrap()).abs() < 1e-3
        );
    }
}
