//! Generates Burn code for every fixture ONNX file (written by smae-export's
//! `roundtrip_fixtures` example) with burn-onnx, weights embedded.

use burn_onnx::{LoadStrategy, ModelGen};

fn main() {
    for task in ["embed", "classify", "segment", "detect", "detect-obb"] {
        let onnx = format!("fixtures/{task}.onnx");
        println!("cargo:rerun-if-changed={onnx}");
        ModelGen::new()
            .input(&onnx)
            .out_dir("model/")
            .load_strategy(LoadStrategy::Embedded)
            .run_from_script();
    }
}
