//! Writes the round-trip fixtures of `roundtrip/`: one small, seeded model
//! per task exported to ONNX, with an input batch and the Burn outputs.
//! `CUDARC_CUDA_VERSION=13000 cargo run --features cuda --example
//! roundtrip_fixtures` regenerates them (the tests' feature set, so their
//! build is reused; a `-p smae-export` build compiles Burn again); the
//! export crate's tests fail when they drift from what it exports now.

fn main() -> anyhow::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../roundtrip/fixtures");
    std::fs::create_dir_all(&dir)?;
    for f in smae_export::roundtrip::fixtures()? {
        std::fs::write(dir.join(format!("{}.onnx", f.task)), f.onnx)?;
        std::fs::write(dir.join(format!("{}.safetensors", f.task)), f.reference)?;
        println!("wrote {}", f.task);
    }
    Ok(())
}
