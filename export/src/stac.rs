//! A STAC item beside the exported model, with the Machine Learning Model
//! extension (MLM 1.6): what the model is, what it takes (bands, shape,
//! scaling) and gives (shapes, classes), and the file it lives in (size and
//! multihash checksum), so catalogues and tools that read MLM can list and
//! run it. Everything comes from the model card.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use smae_infer::card::{ModelCard, OutputSpec};

pub const MLM_SCHEMA: &str = "https://stac-extensions.github.io/mlm/v1.6.0/schema.json";
pub const FILE_SCHEMA: &str = "https://stac-extensions.github.io/file/v2.1.0/schema.json";

#[derive(Serialize)]
struct Item {
    #[serde(rename = "type")]
    kind: &'static str,
    stac_version: &'static str,
    stac_extensions: Vec<&'static str>,
    id: String,
    /// A model has no footprint.
    geometry: Option<Value>,
    properties: Value,
    links: Vec<Value>,
    assets: Value,
}

/// The MLM task names of an smae task.
fn tasks(task: &str) -> Vec<&'static str> {
    match task {
        "classify" => vec!["classification", "scene-classification"],
        "segment" => vec!["segmentation", "semantic-segmentation"],
        "detect" | "detect-obb" => vec!["detection", "object-detection"],
        _ => vec!["similarity-search"],
    }
}

/// Raw values as the graph takes them: times `scale` when it normalises
/// itself, else `(v * scale - mean) / std`, which MLM writes as a z-score of
/// the raw value with `mean / scale` and `std / scale`.
fn value_scaling(card: &ModelCard) -> Vec<Value> {
    let i = &card.input;
    (0..i.bands.len())
        .map(|c| {
            if i.normalised_in_graph {
                json!({"type": "scale", "value": i.scale})
            } else {
                json!({"type": "z-score", "mean": i.mean[c] / i.scale, "stddev": i.std[c] / i.scale})
            }
        })
        .collect()
}

fn output(card: &ModelCard, o: &OutputSpec) -> Value {
    let classes: Vec<Value> = card
        .classes
        .iter()
        .enumerate()
        .map(|(k, name)| json!({"value": k, "name": name, "description": name}))
        .collect();
    let mut out = json!({
        "name": o.name,
        "tasks": tasks(&card.task),
        "result": {"shape": o.shape, "dim_order": o.layout, "data_type": "float32"},
        "description": format!("{} ({})", o.kind, o.layout.join(", ")),
    });
    if !classes.is_empty() && o.kind != "tokens" && o.kind != "embedding" {
        out["classification:classes"] = classes.into();
    }
    out
}

/// What the item says about the graph besides its card.
pub struct GraphFacts {
    pub parameters: usize,
    pub opset: i64,
}

/// The asset href of `model` in an item written at `item`: the file name
/// beside it, else the model's absolute path.
fn href(item: &Path, model: &Path) -> String {
    let dir = |p: &Path| {
        p.parent()
            .map(|d| std::path::absolute(d).unwrap_or(d.to_path_buf()))
    };
    match model.file_name() {
        Some(name) if dir(item) == dir(model) => name.to_string_lossy().into_owned(),
        _ => std::path::absolute(model)
            .unwrap_or(model.to_path_buf())
            .to_string_lossy()
            .into_owned(),
    }
}

/// The item's JSON, written at `at`, for the model file `model` (its `bytes`).
pub fn item(at: &Path, model: &Path, bytes: &[u8], card: &ModelCard, graph: &GraphFacts) -> Value {
    let (parameters, opset) = (graph.parameters, graph.opset);
    let id = model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let href = href(at, model);
    let i = &card.input;
    let bands: Vec<String> = i.bands.iter().map(|b| format!("band{b}")).collect();
    let size = i.size as i64;
    let batch = i.batch.map_or(-1, |b| b as i64);
    let vit = &card.provenance["vit"];
    let architecture = match card.task.as_str() {
        "segment" => "ViT + UperNet",
        "detect" | "detect-obb" => "ViT + FCOS",
        "classify" => "ViT + linear head",
        _ => "ViT",
    };
    let pretrain = &card.provenance["pretrain"];
    let mut props = json!({
        "datetime": now_rfc3339(),
        "description": format!(
            "smae {} model ({}), exported by smae-export {}",
            card.task, architecture, env!("CARGO_PKG_VERSION")
        ),
        "mlm:name": id,
        "mlm:architecture": architecture,
        "mlm:tasks": tasks(&card.task),
        "mlm:framework": "onnx",
        "mlm:framework_version": format!("opset {opset}"),
        "mlm:accelerator": Value::Null,
        "mlm:accelerator_constrained": false,
        "mlm:total_parameters": parameters,
        // provenance.pretrain summarises the run the encoder came from: the
        // fine-tuning run itself when it started from scratch
        "mlm:pretrained": matches!(pretrain["kind"].as_str(), Some("pretrain" | "import")),
        "mlm:input": [{
            "name": i.name,
            "bands": bands,
            "input": {
                "shape": [batch, i.bands.len() as i64, size, size],
                "dim_order": ["batch", "bands", "height", "width"],
                "data_type": i.dtype,
            },
            "value_scaling": value_scaling(card),
            "resize_type": "interpolation-linear",
        }],
        "mlm:output": card.outputs.iter().map(|o| output(card, o)).collect::<Vec<_>>(),
        "mlm:hyperparameters": {"patch_size": card.patch_size, "vit": vit, "tile": card.tile},
    });
    if let Some(method) = pretrain["method"]["method"].as_str() {
        props["mlm:pretrained_source"] = format!("{method} pre-training").into();
    }
    if let Some(g) = card.gsd_m {
        props["gsd"] = g.into();
    }
    let checksum = format!("1220{:x}", Sha256::digest(bytes));
    let item = Item {
        kind: "Feature",
        stac_version: "1.1.0",
        stac_extensions: vec![MLM_SCHEMA, FILE_SCHEMA],
        id,
        geometry: None,
        properties: props,
        links: Vec::new(),
        assets: json!({
            "model": {
                "href": href,
                "title": format!("smae {} model (ONNX, with its model card)", card.task),
                "type": "application/octet-stream; application=onnx",
                "roles": ["mlm:model", "mlm:weights", "data"],
                "mlm:artifact_type": "onnx",
                "file:size": bytes.len(),
                "file:checksum": checksum,
            }
        }),
    };
    serde_json::to_value(item).unwrap_or(Value::Null)
}

/// Writes the item to `path` (atomically).
pub fn write_item(
    path: &Path,
    model: &Path,
    bytes: &[u8],
    card: &ModelCard,
    graph: &GraphFacts,
) -> Result<()> {
    smae_run::atomic::write_json(path, &item(path, model, bytes, card, graph))
        .with_context(|| format!("cannot write the STAC item {}", path.display()))
}

/// Now as RFC 3339 UTC (`2026-12-05T12:00:00Z`).
fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    rfc3339(secs)
}

/// Seconds since 1970 as an RFC 3339 UTC time (civil-from-days, H. Hinnant).
fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(pretrain: Value) -> ModelCard {
        let mut v = json!({
            "version": 2, "task": "segment", "classes": ["a", "b"],
            "input": {"name": "images", "bands": [1, 2, 3], "size": 64, "dtype": "float32",
                      "scale": 1.0 / 255.0, "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2],
                      "normalised_in_graph": true},
            "patch_size": 16, "tile": {"size": 64, "overlap": 16},
            "outputs": [{"name": "probabilities", "layout": ["batch", "class", "y", "x"],
                         "kind": "probabilities", "shape": [-1, 2, 64, 64]}],
            "provenance": {},
        });
        v["provenance"]["pretrain"] = pretrain;
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn pretrained_only_when_the_encoder_came_from_pre_training_or_import() {
        let facts = GraphFacts {
            parameters: 10,
            opset: 17,
        };
        let at = |p: Value| {
            item(
                Path::new("m.json"),
                Path::new("m.onnx"),
                b"x",
                &card(p),
                &facts,
            )["properties"]
                .clone()
        };
        let scratch = at(json!({"kind": "finetune", "model": "custom"}));
        assert_eq!(scratch["mlm:pretrained"], false);
        assert!(scratch.get("mlm:pretrained_source").is_none());
        let pre = at(json!({"kind": "pretrain", "method": {"method": "selective"}}));
        assert_eq!(pre["mlm:pretrained"], true);
        assert_eq!(pre["mlm:pretrained_source"], "selective pre-training");
        assert_eq!(at(json!({"kind": "import"}))["mlm:pretrained"], true);
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1780000000`
        assert_eq!(rfc3339(1_780_000_000), "2026-05-28T20:26:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
