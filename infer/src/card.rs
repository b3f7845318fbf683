//! The model card every smae ONNX file carries in `metadata_props`:
//! `smae.card` (this struct as JSON, the source of truth for smae-infer)
//! plus, in the GIS layout, the JSON-encoded keys that GeoDeep and the QGIS
//! Deepness plugin read (see [`ModelCard::gis_keys`]).

use serde::{Deserialize, Serialize};

pub const CARD_KEY: &str = "smae.card";
/// 2: `input.normalised_in_graph`, `input.batch` and the
/// `detections_cxcywh` output; version-1 cards read with their defaults.
pub const CARD_VERSION: u32 = 2;

/// The YOLO layout GeoDeep and Deepness decode by default (their
/// `det_type` value).
pub const GIS_DETECTOR_TYPE: &str = "YOLO_v5_or_v7_default";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub version: u32,
    /// `embed`, `classify`, `segment`, `detect` or `detect-obb`.
    pub task: String,
    pub classes: Vec<String>,
    pub input: InputSpec,
    pub patch_size: usize,
    /// Ground sample distance the model was trained at, metres per pixel.
    #[serde(default)]
    pub gsd_m: Option<f64>,
    pub tile: TileSpec,
    pub outputs: Vec<OutputSpec>,
    #[serde(default)]
    pub thresholds: Thresholds,
    pub provenance: serde_json::Value,
    /// Which GIS tools open the file, and how (see [`ModelCard::gis_support`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Input tensor name.
    pub name: String,
    /// 1-based raster bands to read, in order.
    pub bands: Vec<usize>,
    /// Side of the square input in pixels (the graph's fixed size).
    pub size: usize,
    pub dtype: String,
    /// Raw values are multiplied by this first (1/255 for 8-bit imagery).
    pub scale: f64,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// The graph subtracts `mean` and divides by `std` itself: feed it raw
    /// values times `scale` (what GIS tools feed, 0-1 for 8-bit imagery).
    /// False in version-1 cards: feed normalised values.
    #[serde(default)]
    pub normalised_in_graph: bool,
    /// A fixed batch size of the graph (QGIS Deepness loads detectors only
    /// with batch 1); `None`: any batch.
    #[serde(default)]
    pub batch: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TileSpec {
    pub size: usize,
    pub overlap: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    pub name: String,
    /// Axis names, e.g. `["batch", "class", "y", "x"]`.
    pub layout: Vec<String>,
    /// What the values are: `tokens`, `embedding`, `probabilities`,
    /// `boxes_xyxy` (input pixels), `rboxes_cxcywha` (input pixels, le90
    /// radians), `scores` (per class, sigmoid-calibrated),
    /// `detections_cxcywh` (YOLO rows: centre x, centre y, width, height in
    /// input pixels, objectness = the best class score, then the per-class
    /// scores).
    pub kind: String,
    /// Sizes of the axes, -1 where any size goes (the batch); empty in
    /// version-1 cards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shape: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Detection: keep (location, class) pairs scoring at least this.
    pub score: f64,
    /// Detection: NMS overlap threshold.
    pub nms_iou: f64,
    /// Detection: at most this many detections per tile.
    pub max_detections: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            score: 0.3,
            nms_iou: 0.5,
            max_detections: 300,
        }
    }
}

impl ModelCard {
    /// The metadata keys GeoDeep and QGIS Deepness read, each value JSON
    /// as both decode it: `model_type`, `class_names` (index to name),
    /// `resolution` (cm per model-input pixel, the scale the model sees),
    /// `tile_size` (input pixels), `tiles_overlap` (percent), and the
    /// thresholds of the task (`seg_thresh` 0 and `seg_small_segment` 0:
    /// plain argmax, as smae-infer; `det_type`, `det_conf`,
    /// `det_iou_thresh`). Empty for a model neither tool runs (embedding,
    /// classification, oriented boxes, or a graph without in-graph
    /// normalisation).
    pub fn gis_keys(&self) -> Vec<(String, String)> {
        let model_type = match self.task.as_str() {
            "segment" => "Segmentor",
            "detect" if self.output("detections_cxcywh").is_some() => "Detector",
            _ => return Vec::new(),
        };
        if !self.input.normalised_in_graph {
            return Vec::new();
        }
        let json = |v: serde_json::Value| v.to_string();
        let names: serde_json::Map<String, serde_json::Value> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (i.to_string(), c.clone().into()))
            .collect();
        let overlap = (100.0 * self.tile.overlap as f64 / self.tile.size.max(1) as f64).round();
        let mut out = vec![
            ("model_type".to_string(), json(model_type.into())),
            ("class_names".into(), json(names.into())),
            ("tile_size".into(), json(self.input.size.into())),
            ("tiles_overlap".into(), json((overlap as u64).into())),
        ];
        if let Some(cm) = self.input_resolution_cm() {
            out.push(("resolution".into(), json(cm.into())));
        }
        if model_type == "Segmentor" {
            out.push(("seg_thresh".into(), json(0.into())));
            out.push(("seg_small_segment".into(), json(0.into())));
        } else {
            let th = &self.thresholds;
            out.push(("det_type".into(), json(GIS_DETECTOR_TYPE.into())));
            out.push(("det_conf".into(), json(round6(th.score).into())));
            out.push(("det_iou_thresh".into(), json(round6(th.nms_iou).into())));
        }
        out
    }

    /// Which GIS tools open this model, or why none does.
    pub fn gis_support(&self) -> String {
        let gis_layout = self.input.normalised_in_graph;
        match self.task.as_str() {
            "segment" if gis_layout => "GeoDeep and QGIS Deepness (metadata keys model_type, class_names, resolution, tile_size, tiles_overlap, seg_thresh, seg_small_segment)".into(),
            "detect" if gis_layout && self.input.batch == Some(1) => "GeoDeep and QGIS Deepness (YOLO_v5_or_v7_default output, metadata keys model_type, class_names, resolution, tile_size, tiles_overlap, det_type, det_conf, det_iou_thresh)".into(),
            "detect" if gis_layout => "GeoDeep (YOLO_v5_or_v7_default output); QGIS Deepness needs a fixed batch of 1: export with smae-export --batch 1".into(),
            "detect-obb" => "none: GeoDeep and QGIS Deepness do not decode rotated boxes; use smae-infer".into(),
            "segment" | "detect" => "none: the graph takes normalised input (--layout plain); export with --layout gis for GIS tools".into(),
            _ => "none: GeoDeep and QGIS Deepness run segmentation and detection models".into(),
        }
    }

    /// Centimetres on the ground per model-input pixel: the training ground
    /// sample distance times the scene pixels each input pixel covers.
    pub fn input_resolution_cm(&self) -> Option<f64> {
        let g = self.gsd_m?;
        Some(round6(
            g * 100.0 * self.tile.size as f64 / self.input.size.max(1) as f64,
        ))
    }

    pub fn output(&self, kind: &str) -> Option<&OutputSpec> {
        self.outputs.iter().find(|o| o.kind == kind)
    }
}

/// Six decimals: `0.1 * 100 * 128 / 64` prints as 20, not 20.000000000000004.
pub(crate) fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn card(task: &str, outputs: &[&str], in_graph: bool) -> ModelCard {
        ModelCard {
            version: CARD_VERSION,
            task: task.into(),
            classes: vec!["other".into(), "crown".into()],
            input: InputSpec {
                name: "images".into(),
                bands: vec![1, 2, 3],
                size: 64,
                dtype: "float32".into(),
                scale: 1.0 / 255.0,
                mean: vec![0.485, 0.456, 0.406],
                std: vec![0.229, 0.224, 0.225],
                normalised_in_graph: in_graph,
                batch: None,
            },
            patch_size: 8,
            gsd_m: Some(0.1),
            tile: TileSpec {
                size: 128,
                overlap: 32,
            },
            outputs: outputs
                .iter()
                .map(|k| OutputSpec {
                    name: k.to_string(),
                    layout: vec![],
                    kind: k.to_string(),
                    shape: vec![],
                })
                .collect(),
            thresholds: Thresholds::default(),
            provenance: json!({}),
            gis: String::new(),
        }
    }

    /// Every value decodes with `json.loads`, as GeoDeep and Deepness do.
    fn keys(c: &ModelCard) -> serde_json::Map<String, Value> {
        c.gis_keys()
            .into_iter()
            .map(|(k, v)| {
                let parsed = serde_json::from_str(&v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
                (k, parsed)
            })
            .collect()
    }

    #[test]
    fn gis_keys_are_json_in_the_tools_units() {
        let k = keys(&card("segment", &["probabilities"], true));
        assert_eq!(k["model_type"], "Segmentor");
        assert_eq!(k["class_names"], json!({"0": "other", "1": "crown"}));
        // 10 cm scene pixels, 128 of them per 64 input pixels: 20 cm
        assert_eq!(k["resolution"], 20.0);
        assert_eq!(k["tile_size"], 64);
        assert_eq!(k["tiles_overlap"], 25);
        assert_eq!(k["seg_thresh"], 0);
        assert_eq!(k["seg_small_segment"], 0);
        assert!(!k.contains_key("standardization_mean"));

        let k = keys(&card("detect", &["detections_cxcywh"], true));
        assert_eq!(k["model_type"], "Detector");
        assert_eq!(k["det_type"], GIS_DETECTOR_TYPE);
        assert_eq!(k["det_conf"], 0.3);
        assert_eq!(k["det_iou_thresh"], 0.5);
    }

    #[test]
    fn no_gis_keys_where_the_tools_would_misread_the_model() {
        // normalisation outside the graph, the two-output detector, rotated
        // boxes, classification
        assert!(card("segment", &["probabilities"], false)
            .gis_keys()
            .is_empty());
        assert!(card("detect", &["boxes_xyxy", "scores"], true)
            .gis_keys()
            .is_empty());
        assert!(card("detect-obb", &["rboxes_cxcywha", "scores"], true)
            .gis_keys()
            .is_empty());
        assert!(card("classify", &["probabilities"], true)
            .gis_keys()
            .is_empty());
    }

    #[test]
    fn version_1_cards_read_with_normalisation_outside_the_graph() {
        let mut v = serde_json::to_value(card("segment", &["probabilities"], true)).unwrap();
        let input = v["input"].as_object_mut().unwrap();
        input.remove("normalised_in_graph");
        input.remove("batch");
        v["version"] = 1.into();
        let c: ModelCard = serde_json::from_value(v).unwrap();
        assert!(!c.input.normalised_in_graph);
        assert_eq!(c.input.batch, None);
    }
}
