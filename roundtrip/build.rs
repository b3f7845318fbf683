//! With `--features regenerate`: generates Burn code for every fixture ONNX
//! file (written by smae-export's `roundtrip_fixtures` example) with
//! burn-onnx, weights embedded, into `model/` (committed), with the
//! fixtures' SHA-256 in `model/fixtures.sha256` so that a test sees when the
//! code no longer matches them. A regeneration rewrites the `.bpk` files
//! with new random parameter ids (the weights' bytes unchanged). Without the
//! feature it does nothing: burn-onnx, and the second, host-side copy of Burn
//! it brings, are then not compiled (about 470 s of units, BENCHMARKS.md).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "regenerate")]
    regenerate::run();
}

#[cfg(feature = "regenerate")]
mod regenerate {
    use burn_onnx::{LoadStrategy, ModelGen};
    use std::path::Path;

    pub fn run() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("model");
        let model = manifest.join("model");
        std::fs::create_dir_all(&model).unwrap();
        let mut sums = String::new();
        for task in ["embed", "classify", "segment", "detect", "detect-obb"] {
            let onnx = format!("fixtures/{task}.onnx");
            println!("cargo:rerun-if-changed={onnx}");
            ModelGen::new()
                .input(&onnx)
                .out_dir("model/")
                .load_strategy(LoadStrategy::Embedded)
                .run_from_script();
            // The generated code embeds the weights by absolute path under
            // OUT_DIR: point it at the committed copy instead.
            let code = std::fs::read_to_string(out.join(format!("{task}.rs"))).unwrap();
            let abs = format!("\"{}/{task}.bpk\"", out.display());
            assert!(code.contains(&abs), "{task}.rs embeds no {abs}");
            let rel = format!("concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/model/{task}.bpk\")");
            std::fs::write(model.join(format!("{task}.rs")), code.replace(&abs, &rel)).unwrap();
            std::fs::copy(
                out.join(format!("{task}.bpk")),
                model.join(format!("{task}.bpk")),
            )
            .unwrap();
            let hex = smae_testkit::sha256_hex(&std::fs::read(manifest.join(&onnx)).unwrap());
            sums.push_str(&format!("{hex}  {onnx}\n"));
        }
        std::fs::write(model.join("fixtures.sha256"), sums).unwrap();
    }
}
