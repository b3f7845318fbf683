//! Detection and segmentation metrics against the independent numpy /
//! shapely reference in fixtures/metrics_reference.json (gen_metrics.py).

use serde_json::Value;
use smae_geom::{BBox, RBox};
use smae_train::eval::metrics::detection::{voc_map, GroundTruth, Prediction, Shape};
use smae_train::eval::metrics::segmentation::SegAccumulator;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/metrics_reference.json")).unwrap()
}

fn shape(v: &Value, rotated: bool) -> Shape {
    let b: Vec<f32> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    if rotated {
        Shape::Rotated(RBox::new(b[0], b[1], b[2], b[3], b[4]))
    } else {
        Shape::Axis(BBox::new(b[0], b[1], b[2], b[3]))
    }
}

#[test]
fn voc_map_matches_the_reference() {
    for case in reference()["detection"].as_array().unwrap() {
        let rotated = case["rotated"].as_bool().unwrap();
        let u = |v: &Value| v.as_u64().unwrap() as usize;
        let gts: Vec<GroundTruth> = case["gts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| GroundTruth {
                image: u(&g["image"]),
                class: u(&g["class"]),
                shape: shape(&g["box"], rotated),
                difficult: g["difficult"].as_bool().unwrap(),
            })
            .collect();
        let preds: Vec<Prediction> = case["preds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| Prediction {
                image: u(&p["image"]),
                class: u(&p["class"]),
                score: p["score"].as_f64().unwrap() as f32,
                shape: shape(&p["box"], rotated),
            })
            .collect();
        let m = voc_map(&preds, &gts, u(&case["classes"]), 0.5);
        for (c, want) in case["per_class_ap"].as_array().unwrap().iter().enumerate() {
            match want.as_f64() {
                Some(w) => assert!(
                    (m.per_class[c].ap - w).abs() < 1e-6,
                    "rotated {rotated} class {c}: {} vs {w}",
                    m.per_class[c].ap
                ),
                None => assert!(m.per_class[c].ap.is_nan()),
            }
        }
        let want = case["map50"].as_f64().unwrap();
        assert!(
            (m.map50 - want).abs() < 1e-6,
            "rotated {rotated}: {} vs {want}",
            m.map50
        );
    }
}

#[test]
fn segmentation_matches_the_reference() {
    let case = &reference()["segmentation"][0];
    let ints = |k: &str| -> Vec<u8> {
        case[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u8)
            .collect()
    };
    let mut acc = SegAccumulator::new(case["classes"].as_u64().unwrap() as usize, 255);
    acc.add(&ints("pred"), &ints("truth"));
    let m = acc.finish();
    for (k, got) in [
        ("per_class_iou", &m.per_class_iou),
        ("per_class_f1", &m.per_class_f1),
    ] {
        for (g, w) in got.iter().zip(case[k].as_array().unwrap()) {
            assert!((g - w.as_f64().unwrap()).abs() < 1e-12, "{k}");
        }
    }
    assert!((m.miou - case["miou"].as_f64().unwrap()).abs() < 1e-12);
    assert!((m.mf1 - case["mf1"].as_f64().unwrap()).abs() < 1e-12);
}
