//! tract honours the thread count: a segmentation model (ViT + UperNet,
//! exported by smae-export) run directly gives bit-identical outputs on 1,
//! 2 and 3 threads, its matrix products split over the engine's own pool
//! of tract threads; its workers give the same bits again, and the scene
//! pipeline runs them at once with the one-thread result.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{data, fixture, read_u8, scratch};
use ndarray::{s, Array4, ArrayD};
use smae_infer::{engine, Backend, ExecutionDevice, Model, ModelOptions, RunOptions};

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
    let batch = Array4::from_shape_fn((3, c, s, s), |(b, k, y, x)| {
        ((b * 7 + k * 5 + y * 3 + x) % 17) as f32 / 8.0 - 1.0
    });
    let pool_threads = || {
        thread_names()
            .iter()
            .filter(|name| name.starts_with("smae-tract"))
            .count()
    };
    let run = |threads: usize, n: usize| {
        let mut e =
            engine::open(&path, Backend::Tract, ExecutionDevice::Cpu, threads, None).unwrap();
        let out = e.run(batch.slice(s![..n, .., .., ..])).unwrap();
        // A new thread names itself once it first runs, which on a loaded
        // machine can come after the run it was started for: wait for the
        // pool's threads (up to a minute) while the engine lives.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut pool = pool_threads();
        while threads > 1 && pool < threads && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            pool = pool_threads();
        }
        (out, pool)
    };
    let same = |a: &[ArrayD<f32>], b: &[ArrayD<f32>], what: &str| {
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(b) {
            assert_eq!(a.shape(), b.shape());
            assert!(a.iter().all(|v| v.is_finite()));
            assert!(
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "outputs differ: {what}"
            );
        }
    };
    let (one, pool1) = run(1, 3);
    assert_eq!(pool1, 0, "a single-threaded engine starts no pool");
    assert_eq!(one[0].shape()[0], 3);
    // (A dropped pool's threads may linger a moment: count on the first.)
    for (k, threads) in [3, 2].into_iter().enumerate() {
        let (many, pool) = run(threads, 3);
        if k == 0 {
            assert_eq!(
                pool, threads,
                "{threads} pool threads while the engine lives"
            );
        }
        same(&one, &many, &format!("batch 3 on 1 and {threads} threads"));
    }
    let mut e = engine::open(&path, Backend::Tract, ExecutionDevice::Cpu, 2, None).unwrap();
    let workers = e.workers().unwrap().expect("two threads give workers");
    assert_eq!(workers.len(), 2);
    for mut w in workers {
        assert!(
            w.workers().unwrap().is_none(),
            "a worker is single-threaded"
        );
        same(
            &one,
            &w.run(batch.view()).unwrap(),
            "a worker and one thread",
        );
    }
    let mut single = engine::open(&path, Backend::Tract, ExecutionDevice::Cpu, 1, None).unwrap();
    assert!(single.workers().unwrap().is_none());
}

/// tract on several threads runs whole batches at once on worker threads
/// (seen alive from the progress callback), and the class map and the
/// blended probabilities are those of one thread, byte for byte, with a
/// model whose answer depends on the whole tile. (Here, not in
/// tests/scenes.rs: the worker count is read off this process's threads,
/// which that file's other tract tests would add to.)
#[test]
fn tract_workers_give_the_one_thread_result() {
    use smae_infer::progress::ProgressCallback;
    use smae_infer::run::{probabilities_path, Probabilities};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let dir = scratch("tract-workers");
    let input = data("rasterio/RGB.byte.tif");
    let mut results = Vec::new();
    for threads in [1, 3] {
        let opts = ModelOptions {
            backend: Backend::Tract,
            threads,
            ..Default::default()
        };
        let mut m = Model::open(&fixture("context_segment.onnx"), &opts).unwrap();
        let workers = Arc::new(AtomicUsize::new(0));
        let seen = workers.clone();
        let out = dir.join(format!("t{threads}.tif"));
        let run = RunOptions {
            overlap: Some(8),
            batch: 3,
            probabilities: Some(Probabilities::Classes),
            progress: Some(ProgressCallback::new(move |_| {
                let alive = thread_names()
                    .iter()
                    .filter(|n| n.starts_with("smae-worker-"))
                    .count();
                seen.fetch_max(alive, Ordering::Relaxed);
            })),
            quiet: true,
            ..Default::default()
        };
        let report = m.run(&input, &out, &run).unwrap();
        assert!(report.tiles > 20, "{} tiles", report.tiles);
        let want = if threads == 1 { 0 } else { threads };
        assert_eq!(workers.load(Ordering::Relaxed), want, "{threads} threads");
        let probs = std::fs::read(probabilities_path(&out)).unwrap();
        results.push((read_u8(&out).2, probs));
    }
    assert_eq!(results[0].0, results[1].0, "class maps differ");
    assert_eq!(results[0].1, results[1].1, "probability files differ");
}
