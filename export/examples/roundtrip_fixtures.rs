//! Writes the round-trip fixtures of `roundtrip/`: one small, seeded model
//! per task exported to ONNX, with an input batch and the Burn outputs.
//! `cargo run -p smae-export --example roundtrip_fixtures` regenerates them;
//! the export crate's tests fail when they drift from what it exports now.

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
