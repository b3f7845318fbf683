//! tract honours the thread count: a segmentation model (ViT + UperNet,
//! exported by smae-export) gives bit-identical outputs on 1 and 3 threads,
//! and the 3-thread engine runs its own pool of tract threads.

use std::path::Path;

use ndarray::Array4;
use smae_infer::{engine, Backend, ExecutionDevice};

/// Names of this process's threads (Linux).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

#[test]
fn tract_threads_give_the_same_outputs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../roundtrip/fixtures/segment.onnx");
    // the fixture's input: images [batch, 3, 32, 32]
    let (c, s) = (3, 32);
    let batch = Array4::from_shape_fn((2, c, s, s), |(b, k, y, x)| {
        ((b * 7 + k * 5 + y * 3 + x) % 17) as f32 / 8.0 - 1.0
    });
    let run = |threads: usize| {
        let mut e =
            engine::open(&path, Backend::Tract, ExecutionDevice::Cpu, threads, None).unwrap();
        let out = e.run(batch.view()).unwrap();
        let pool = thread_names()
            .iter()
            .filter(|n| n.starts_with("smae-tract"))
            .count();
        (out, pool)
    };
    let (one, pool1) = run(1);
    let (three, pool3) = run(3);
    assert_eq!(pool1, 0, "a single-threaded engine starts no pool");
    assert_eq!(pool3, 3, "three pool threads while the engine lives");
    assert_eq!(one.len(), three.len());
    for (a, b) in one.iter().zip(&three) {
        assert_eq!(a.shape(), b.shape());
        assert!(a.iter().all(|v| v.is_finite()));
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "outputs differ between 1 and 3 threads"
        );
    }
}
