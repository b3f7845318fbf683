//! smae's exported task graphs, imported back into Burn by burn-onnx at
//! build time (see `build.rs`). Tests compare them with the outputs of the
//! Burn models they were exported from.

macro_rules! imported {
    ($name:ident, $file:literal) => {
        #[allow(clippy::all, unused, non_snake_case)]
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/model/", $file, ".rs"));
        }
    };
}

imported!(embed, "embed");
imported!(classify, "classify");
imported!(segment, "segment");
imported!(detect, "detect");
imported!(detect_obb, "detect-obb");

/// A fixture's stored tensors: `input` and the Burn outputs `output0`, ...
pub fn fixture(task: &str) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("{task}.safetensors"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("fixture is safetensors");
    let mut out: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(k, v)| {
            let vals = v
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (k, v.shape().to_vec(), vals)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
