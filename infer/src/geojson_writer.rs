//! Detections as a GeoJSON FeatureCollection of polygons in the scene's CRS
//! (named in the `crs` member, as GDAL/OGR and QGIS read it), one feature per
//! detection with `class`, `class_index` and `score`. A scene without
//! georeferencing gets pixel coordinates (x right, y down) and says so.

use std::path::Path;

use anyhow::{Context, Result};
use geojson::{Feature, FeatureCollection, Geometry, JsonObject, JsonValue};

use crate::card::round6;
use crate::geotiff::TempPath;
use crate::raster::Georef;
use smae_geom::merge::SceneDetection;

/// A detection's outline as a closed ring (first point repeated),
/// counter-clockwise as RFC 7946 asks, in the scene's CRS (pixel
/// coordinates without georeferencing), each point passed through `to`.
pub fn ring(
    d: &SceneDetection,
    georef: Option<&Georef>,
    to: &dyn Fn(f64, f64) -> (f64, f64),
) -> Vec<Vec<f64>> {
    let mut ring: Vec<Vec<f64>> = d
        .corners()
        .into_iter()
        .map(|(x, y)| {
            let (x, y) = georef.map_or((x, y), |g| g.apply(x, y));
            let (x, y) = to(x, y);
            vec![x, y]
        })
        .collect();
    if signed_area(&ring) < 0.0 {
        ring.reverse();
    }
    ring.push(ring[0].clone());
    ring
}

/// The class name of detection `d`.
pub fn class_name(d: &SceneDetection, classes: &[String]) -> String {
    classes
        .get(d.class())
        .cloned()
        .unwrap_or_else(|| d.class().to_string())
}

/// The FeatureCollection for `dets`.
pub fn collection(
    dets: &[SceneDetection],
    classes: &[String],
    georef: Option<&Georef>,
) -> FeatureCollection {
    collection_with(dets, classes, georef, None)
}

/// The FeatureCollection for `dets`, in WGS84 longitude / latitude (RFC
/// 7946's CRS, no `crs` member) when `wgs84` maps scene CRS coordinates.
pub fn collection_with(
    dets: &[SceneDetection],
    classes: &[String],
    georef: Option<&Georef>,
    wgs84: Option<&dyn Fn(f64, f64) -> (f64, f64)>,
) -> FeatureCollection {
    let same = |x, y| (x, y);
    let to: &dyn Fn(f64, f64) -> (f64, f64) = wgs84.unwrap_or(&same);
    let features = dets.iter().map(|d| {
        let ring = ring(d, georef, to);
        let mut props = JsonObject::new();
        props.insert("class".into(), JsonValue::from(class_name(d, classes)));
        props.insert("class_index".into(), JsonValue::from(d.class()));
        props.insert("score".into(), JsonValue::from(round6(d.score() as f64)));
        if let SceneDetection::Rotated(r) = d {
            props.insert(
                "angle_deg".into(),
                JsonValue::from(round6(r.rbox.angle.to_degrees() as f64)),
            );
        }
        Feature {
            geometry: Some(Geometry::new_polygon(vec![ring])),
            properties: Some(props),
            ..Default::default()
        }
    });
    let mut fc = FeatureCollection::new(features);
    let mut foreign = JsonObject::new();
    match georef {
        _ if wgs84.is_some() => {}
        Some(Georef {
            epsg: Some(code), ..
        }) => {
            foreign.insert(
                "crs".into(),
                serde_json::json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{code}")}}),
            );
        }
        Some(Georef { wkt: Some(wkt), .. }) => {
            foreign.insert("smae:crs_wkt".into(), JsonValue::from(wkt.clone()));
        }
        _ => {
            foreign.insert("smae:coordinates".into(), JsonValue::from("pixel"));
        }
    }
    fc.foreign_members = Some(foreign);
    fc
}

/// Writes the collection atomically.
pub fn write(path: &Path, fc: &FeatureCollection) -> Result<()> {
    let tmp = TempPath::beside(path, ".geojson");
    let text = serde_json::to_string(fc)?;
    std::fs::write(tmp.path(), text).with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
}

fn signed_area(ring: &[Vec<f64>]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (&ring[i], &ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use smae_geom::{BBox, Detection};

    #[test]
    fn polygons_in_the_scene_crs() {
        let g = Georef {
            transform: [500000.0, 0.5, 0.0, 4000000.0, 0.0, -0.5],
            wkt: None,
            epsg: Some(32617),
        };
        let d = SceneDetection::Box(Detection {
            bbox: BBox::new(10.0, 20.0, 30.0, 40.0),
            score: 0.75,
            class: 1,
        });
        let fc = collection(&[d], &["a".into(), "tree".into()], Some(&g));
        let v = serde_json::to_value(&fc).unwrap();
        assert_eq!(
            v["crs"]["properties"]["name"],
            "urn:ogc:def:crs:EPSG::32617"
        );
        let f = &v["features"][0];
        assert_eq!(f["properties"]["class"], "tree");
        assert_eq!(f["properties"]["score"], 0.75);
        let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 5);
        assert_eq!(ring[0], ring[4]);
        let xs: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
        let ys: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap()).collect();
        // x = 500000 + 0.5 col; y = 4000000 - 0.5 row
        assert_eq!(xs.iter().cloned().fold(f64::MAX, f64::min), 500005.0);
        assert_eq!(xs.iter().cloned().fold(f64::MIN, f64::max), 500015.0);
        assert_eq!(ys.iter().cloned().fold(f64::MAX, f64::min), 3999980.0);
        assert_eq!(ys.iter().cloned().fold(f64::MIN, f64::max), 3999990.0);
        let pts: Vec<Vec<f64>> = ring[..4]
            .iter()
            .map(|p| vec![p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
            .collect();
        assert!(signed_area(&pts) > 0.0, "counter-clockwise");
    }

    #[test]
    fn pixel_coordinates_without_georeference() {
        let d = SceneDetection::Box(Detection {
            bbox: BBox::new(1.0, 2.0, 3.0, 4.0),
            score: 0.5,
            class: 0,
        });
        let v = serde_json::to_value(collection(&[d], &["x".into()], None)).unwrap();
        assert_eq!(v["smae:coordinates"], "pixel");
        assert!(v.get("crs").is_none());
    }
}
