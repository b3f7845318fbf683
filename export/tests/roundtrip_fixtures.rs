//! The round-trip fixtures in `roundtrip/fixtures` are what the exporter
//! writes today: the burn-onnx import test then covers the current lowering.

#[test]
fn roundtrip_fixtures_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../roundtrip/fixtures");
    let fixtures = smae_export::roundtrip::fixtures().unwrap();
    assert_eq!(fixtures.len(), 5);
    for f in fixtures {
        for (ext, bytes) in [("onnx", f.onnx), ("safetensors", f.reference)] {
            let path = dir.join(format!("{}.{ext}", f.task));
            let stored = std::fs::read(&path).unwrap_or_default();
            assert!(
                stored == bytes,
                "{} is stale: run `cargo run -p smae-export --example roundtrip_fixtures`",
                path.display()
            );
        }
    }
}
