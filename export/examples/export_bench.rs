//! Export figures for BENCHMARKS.md: per encoder size (224 px, patch 16),
//! the `embed` and `segment` (UperNet, 256 channels) graphs of a freshly
//! initialised model, with f32, f16 and int8 weights: lowering time, file size,
//! and the parity with Burn on tract and ONNX Runtime (seeded random batch
//! and a real image).
//!
//! `cargo run -p smae-export --example export_bench -- [vit-tiny vit-small vit-base] [--image FILE]`
//! prints one JSON line per export.

use std::path::PathBuf;
use std::time::Instant;

use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use smae_export::{to_onnx, verify, GraphOptions, Weights};
use smae_models::{Segmenter, Vit, VitConfig};
use smae_run::model::TaskModel;

fn main() -> anyhow::Result<()> {
    let mut sizes = Vec::new();
    let mut images = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--image" {
            images.push(PathBuf::from(args.next().expect("--image FILE")));
        } else {
            sizes.push(a);
        }
    }
    if sizes.is_empty() {
        sizes = ["vit-tiny", "vit-small", "vit-base"]
            .map(String::from)
            .to_vec();
    }
    let dir = std::env::temp_dir().join(format!("smae-export-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let device = FlexDevice;
    for name in &sizes {
        let cfg = VitConfig::preset(name)?;
        let models: Vec<(TaskModel<Flex>, usize)> = {
            let _rng = smae_run::seed::lock();
            vec![
                (TaskModel::Embed(Vit::new(&cfg, &device)), 0),
                (TaskModel::Segment(Segmenter::new(&cfg, 7, 256, &device)), 7),
            ]
        };
        for (model, classes) in &models {
            for weights in [Weights::F32, Weights::F16, Weights::Int8] {
                let start = Instant::now();
                let opts = GraphOptions {
                    weights,
                    ..GraphOptions::plain()
                };
                let (bytes, parameters) =
                    to_onnx(model, cfg.img_size, *classes, &opts, |_| Ok(Vec::new()))?;
                let seconds = start.elapsed().as_secs_f64();
                let path = dir.join(format!("{name}-{}-{}.onnx", model.task(), weights.as_str()));
                std::fs::write(&path, &bytes)?;
                let parity = verify(model, &path, cfg.img_size, &opts, &images, None)?;
                let worst = |rt: &str| {
                    parity
                        .iter()
                        .filter(|p| p.runtime.starts_with(rt))
                        .fold((0f64, 0f64), |m, p| {
                            (m.0.max(p.max_abs), m.1.max(p.max_rel))
                        })
                };
                let (tract, ort) = (worst("tract"), worst("ort"));
                println!(
                    "{}",
                    serde_json::json!({
                        "model": name, "task": model.task(), "weights": weights, "parameters": parameters,
                        "export_seconds": (seconds * 1000.0).round() / 1000.0, "bytes": bytes.len(),
                        "tract_max_abs": tract.0, "tract_max_rel": tract.1,
                        "ort_max_abs": ort.0, "ort_max_rel": ort.1,
                        "pass": parity.iter().all(|p| p.pass), "checks": parity.len(),
                    })
                );
                std::fs::remove_file(&path)?;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
