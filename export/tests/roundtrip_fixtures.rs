//! The round-trip fixtures in `roundtrip/fixtures` are what the exporter
//! writes today: the burn-onnx import test then covers the current lowering.
//! The ONNX files must match byte for byte (seeded weights, deterministic
//! lowering); the Burn reference outputs only to float rounding, since Burn's
//! CPU kernels round differently on different CPUs (AVX2 vs AVX-512).

use safetensors::SafeTensors;

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn roundtrip_fixtures_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../roundtrip/fixtures");
    // the tolerance of `smae-export --verify` for f32 weights
    let tolerance = smae_export::tolerance("embed", smae_export::Weights::F32) as f32;
    let stale = "is stale: run `CUDARC_CUDA_VERSION=13000 cargo run --features cuda --example roundtrip_fixtures`, \
        then `CUDARC_CUDA_VERSION=13000 cargo build --workspace --features cuda,smae-roundtrip/regenerate` \
        (burn-onnx's code for them in roundtrip/model)";
    let fixtures = smae_export::roundtrip::fixtures().unwrap();
    assert_eq!(fixtures.len(), 5);
    for f in fixtures {
        let onnx = dir.join(format!("{}.onnx", f.task));
        let stored = std::fs::read(&onnx).unwrap_or_default();
        assert!(stored == f.onnx, "{} {stale}", onnx.display());

        let path = dir.join(format!("{}.safetensors", f.task));
        let stored = std::fs::read(&path).unwrap_or_default();
        let stored = SafeTensors::deserialize(&stored)
            .unwrap_or_else(|e| panic!("{}: {e}; it {stale}", path.display()));
        let now = SafeTensors::deserialize(&f.reference).unwrap();
        let mut names = now.names();
        names.sort();
        let mut stored_names = stored.names();
        stored_names.sort();
        assert_eq!(names, stored_names, "{} {stale}", path.display());
        for name in names {
            let (a, b) = (now.tensor(name).unwrap(), stored.tensor(name).unwrap());
            assert_eq!(a.shape(), b.shape(), "{}:{name} {stale}", path.display());
            let (a, b) = (floats(a.data()), floats(b.data()));
            let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
            let err = a
                .iter()
                .zip(&b)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                err <= tolerance * scale,
                "{}:{name} differs by {err:.3e} (scale {scale:.3e}); it {stale}",
                path.display()
            );
        }
    }
}
