//! The model card every smae ONNX file carries in `metadata_props`:
//! `smae.card` (this struct as JSON) plus the plain keys GIS tools read
//! (`model_type`, `class_names`, `resolution`, `tiles_size`,
//! `tiles_overlap`, `standardization_mean`, `standardization_std`).

use serde::{Deserialize, Serialize};

pub const CARD_KEY: &str = "smae.card";
pub const CARD_VERSION: u32 = 1;

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
    /// radians), `scores` (per class, sigmoid-calibrated).
    pub kind: String,
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
    /// The plain metadata keys other GIS tools read, beside `smae.card`.
    pub fn plain_keys(&self) -> Vec<(String, String)> {
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = vec![
            (
                "model_type".into(),
                match self.task.as_str() {
                    "classify" => "Classifier",
                    "segment" => "Segmentor",
                    "detect" | "detect-obb" => "Detector",
                    _ => "Embedder",
                }
                .into(),
            ),
            ("class_names".into(), self.classes.join(",")),
            ("tiles_size".into(), self.tile.size.to_string()),
            ("tiles_overlap".into(), self.tile.overlap.to_string()),
            ("standardization_mean".into(), list(&self.input.mean)),
            ("standardization_std".into(), list(&self.input.std)),
        ];
        if let Some(g) = self.gsd_m {
            out.push(("resolution".into(), format!("{}", g * 100.0)));
        }
        out
    }

    pub fn output(&self, kind: &str) -> Option<&OutputSpec> {
        self.outputs.iter().find(|o| o.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys() {
        let c = ModelCard {
            version: CARD_VERSION,
            task: "segment".into(),
            classes: vec!["other".into(), "crown".into()],
            input: InputSpec {
                name: "images".into(),
                bands: vec![1, 2, 3],
                size: 64,
                dtype: "float32".into(),
                scale: 1.0 / 255.0,
                mean: vec![0.485, 0.456, 0.406],
                std: vec![0.229, 0.224, 0.225],
            },
            patch_size: 8,
            gsd_m: Some(0.1),
            tile: TileSpec {
                size: 64,
                overlap: 16,
            },
            outputs: vec![],
            thresholds: Thresholds::default(),
            provenance: serde_json::json!({}),
        };
        let k = c.plain_keys();
        let get = |n: &str| {
            k.iter()
                .find(|(a, _)| a == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("model_type"), "Segmentor");
        assert_eq!(get("class_names"), "other,crown");
        assert_eq!(get("standardization_mean"), "0.485,0.456,0.406");
        assert_eq!(get("resolution"), "10");
        assert_eq!(get("tiles_overlap"), "16");
    }
}
