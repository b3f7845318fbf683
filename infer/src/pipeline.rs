//! The streaming pipeline: a reader thread reads windows and batches them,
//! inference threads run the batches (one, or one per worker of an engine
//! that splits into workers: tract on several threads), and the caller's
//! thread puts them back in order, stitches and writes, all at once.
//! Bounded queues between them keep at most a few batches in flight, so
//! memory does not depend on the scene size, and tiles reach the caller in
//! the order they were asked for.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Result};
use ndarray::{Array4, ArrayD, Axis};

use crate::engine::Engine;
use crate::raster::{ReadSpec, Scene, TileData};
use smae_geom::tiling::Job;

/// Test-time augmentation: also run the horizontally and vertically flipped
/// tile and average, flipping spatial outputs back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tta {
    None,
    Flips,
}

/// A finished tile: its window, what was read, and the model's outputs
/// (without the batch axis), or `None` when the tile held no valid pixel
/// and was not run.
pub struct Done {
    pub job: Job,
    pub tile: TileData,
    pub outputs: Option<Vec<ArrayD<f32>>>,
}

pub struct Options {
    pub batch: usize,
    pub tta: Tta,
    /// Per engine output: whether its last two axes are `y, x` (flipped back
    /// under TTA).
    pub spatial: Vec<bool>,
}

/// Runs `engine` over the `jobs` of `scene`, handing each finished tile to
/// `sink` in order: on the engine itself, or on its workers when it splits
/// into some.
pub fn run(
    scene: &Scene,
    spec: &ReadSpec,
    jobs: Vec<Job>,
    engine: &mut dyn Engine,
    opts: &Options,
    sink: impl FnMut(Done) -> Result<()>,
) -> Result<()> {
    match engine.workers()? {
        Some(mut workers) => {
            let workers = workers.iter_mut().map(|w| w.as_mut()).collect();
            run_workers(scene, spec, jobs, "smae-worker", workers, opts, sink)
        }
        None => run_workers(scene, spec, jobs, "smae-infer", vec![engine], opts, sink),
    }
}

type Batch = Vec<(Job, TileData)>;

/// One inference thread per worker engine (threads named `name-N`), each
/// running whole batches; a batch's tiles and their order do not depend on
/// the number of workers. At most two batches per worker are in flight or
/// waiting to be put back in order.
fn run_workers<'e>(
    scene: &Scene,
    spec: &ReadSpec,
    jobs: Vec<Job>,
    name: &str,
    workers: Vec<&mut (dyn Engine + 'e)>,
    opts: &Options,
    mut sink: impl FnMut(Done) -> Result<()>,
) -> Result<()> {
    let slots = 2 * workers.len();
    let (read_tx, read_rx) = sync_channel::<Result<(Job, TileData)>>(2 * opts.batch.max(1));
    let (work_tx, work_rx) = sync_channel::<(usize, Result<Batch>)>(workers.len());
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<(usize, Result<Vec<Done>>)>(slots);
    // A batch may be read only while one of `slots` tokens is free; the
    // caller hands a token back when it has written a batch.
    let (token_tx, token_rx) = sync_channel::<()>(slots);
    for _ in 0..slots {
        token_tx.send(()).map_err(|_| anyhow!("pipeline tokens"))?;
    }
    std::thread::scope(|s| {
        // Owned here, so that returning early drops it: a reader waiting for
        // a token then stops, and with it every thread.
        let token_tx = token_tx;
        let path = scene.path.clone();
        s.spawn(move || read_all(&path, spec, jobs, read_tx));
        s.spawn(move || {
            let mut seq = 0;
            batches(read_rx, opts.batch, |b| {
                let ok = token_rx.recv().is_ok() && work_tx.send((seq, b)).is_ok();
                seq += 1;
                ok
            })
        });
        for (i, engine) in workers.into_iter().enumerate() {
            let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn_scoped(s, move || loop {
                    let next = work_rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((seq, batch)) = next else { return };
                    let done = batch.and_then(|b| run_batch(engine, b, spec, opts));
                    if done_tx.send((seq, done)).is_err() {
                        return;
                    }
                })
                .map_err(|e| anyhow!("cannot start an inference thread: {e}"))?;
        }
        drop(done_tx);
        let mut waiting = BTreeMap::new();
        let mut next = 0;
        for (seq, done) in done_rx {
            waiting.insert(seq, done);
            while let Some(done) = waiting.remove(&next) {
                // Returning drops the receivers and the tokens, which stops
                // every thread.
                for d in done? {
                    sink(d)?;
                }
                next += 1;
                let _ = token_tx.send(());
            }
        }
        if !waiting.is_empty() {
            bail!("an inference thread stopped before its batch was done");
        }
        Ok(())
    })
}

fn read_all(path: &Path, spec: &ReadSpec, jobs: Vec<Job>, tx: SyncSender<Result<(Job, TileData)>>) {
    let scene = match Scene::open(path) {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    for j in jobs {
        let r = scene.read(j.win, j.own, spec).map(|t| (j, t));
        let failed = r.is_err();
        if tx.send(r).is_err() || failed {
            return;
        }
    }
}

/// Groups the tiles read into batches of `batch` tiles with valid pixels
/// (tiles without any ride along with the next batch) and hands each, or
/// the first read error, to `emit`, until it returns false.
fn batches(
    rx: Receiver<Result<(Job, TileData)>>,
    batch: usize,
    mut emit: impl FnMut(Result<Batch>) -> bool,
) {
    let mut pending: Batch = Vec::new();
    for item in rx {
        let item = match item {
            Ok(i) => i,
            Err(e) => {
                emit(Err(e));
                return;
            }
        };
        pending.push(item);
        let ready = pending.iter().filter(|p| p.1.valid_count > 0).count();
        if ready >= batch.max(1) && !emit(Ok(std::mem::take(&mut pending))) {
            return;
        }
    }
    if !pending.is_empty() {
        emit(Ok(pending));
    }
}

/// Runs the tiles of `pending` that hold valid pixels as one batch.
fn run_batch(
    engine: &mut dyn Engine,
    pending: Batch,
    spec: &ReadSpec,
    opts: &Options,
) -> Result<Vec<Done>> {
    let run: Vec<&TileData> = pending
        .iter()
        .map(|p| &p.1)
        .filter(|t| t.valid_count > 0)
        .collect();
    let mut outs = if run.is_empty() {
        Vec::new()
    } else {
        infer_batch(engine, &run, spec, opts)?
    }
    .into_iter();
    Ok(pending
        .into_iter()
        .map(|(job, tile)| {
            let outputs = if tile.valid_count > 0 {
                outs.next()
            } else {
                None
            };
            Done { job, tile, outputs }
        })
        .collect())
}

/// Runs one batch (with TTA when asked); returns each tile's outputs.
fn infer_batch(
    engine: &mut dyn Engine,
    tiles: &[&TileData],
    spec: &ReadSpec,
    opts: &Options,
) -> Result<Vec<Vec<ArrayD<f32>>>> {
    let (c, n) = (spec.bands.len(), spec.size);
    let mut x = Array4::<f32>::zeros([tiles.len(), c, n, n]);
    for (i, t) in tiles.iter().enumerate() {
        let src = ndarray::ArrayView3::from_shape([c, n, n], &t.pixels)
            .map_err(|e| anyhow!("tile buffer: {e}"))?;
        x.index_axis_mut(Axis(0), i).assign(&src);
    }
    let mut outs = engine.run(x.view())?;
    if opts.tta == Tta::Flips {
        for axis in [3usize, 2] {
            let flipped = flip(&x.clone().into_dyn(), axis);
            let y = engine.run(
                flipped
                    .view()
                    .into_dimensionality()
                    .map_err(|e| anyhow!("{e}"))?,
            )?;
            for (k, (o, y)) in outs.iter_mut().zip(y).enumerate() {
                let y = if opts.spatial.get(k).copied().unwrap_or(false) {
                    let nd = y.ndim();
                    flip(&y, axis + nd - 4)
                } else {
                    y
                };
                *o += &y;
            }
        }
        for o in &mut outs {
            o.mapv_inplace(|v| v / 3.0);
        }
    }
    let per_tile = (0..tiles.len())
        .map(|i| {
            outs.iter()
                .map(|o| o.index_axis(Axis(0), i).to_owned())
                .collect()
        })
        .collect();
    Ok(per_tile)
}

/// `a` reversed along `axis`.
fn flip(a: &ArrayD<f32>, axis: usize) -> ArrayD<f32> {
    let mut v = a.view();
    v.invert_axis(Axis(axis));
    v.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;
    use smae_geom::tiling::Window;

    /// Answers each tile with one zero.
    struct Zeros;

    impl Engine for Zeros {
        fn run(&mut self, batch: ndarray::ArrayView4<'_, f32>) -> Result<Vec<ArrayD<f32>>> {
            Ok(vec![ArrayD::zeros(vec![batch.shape()[0], 1])])
        }
        fn workers(&mut self) -> Result<Option<Vec<Box<dyn Engine>>>> {
            Ok(Some(vec![Box::new(Zeros), Box::new(Zeros)]))
        }
        fn name(&self) -> String {
            "zeros".into()
        }
        fn output_names(&self) -> Vec<String> {
            vec!["y".into()]
        }
    }

    /// Workers: tiles come back in order, and a sink that fails stops every
    /// thread (the run returns its error instead of waiting for ever).
    #[test]
    fn workers_keep_order_and_stop_on_error() {
        let scene = Scene::open(&smae_testkit::data("rasterio/RGB.byte.tif")).unwrap();
        let spec = ReadSpec {
            bands: vec![1, 2, 3],
            size: 16,
            scale: 1.0,
            mean: vec![0.0; 3],
            std: vec![1.0; 3],
            graph_normalises: false,
            nodata: None,
        };
        let jobs: Vec<Job> = (0..40)
            .map(|i| {
                let (x, y) = (300 + 16 * (i % 8), 300 + 16 * (i / 8));
                Job {
                    win: Window { x, y, size: 16 },
                    own: [x as usize, y as usize, x as usize + 16, y as usize + 16],
                }
            })
            .collect();
        let opts = Options {
            batch: 3,
            tta: Tta::None,
            spatial: vec![false],
        };
        let mut seen = Vec::new();
        run(&scene, &spec, jobs.clone(), &mut Zeros, &opts, |d| {
            seen.push(d.job.win.x + 10_000 * d.job.win.y);
            Ok(())
        })
        .unwrap();
        let want: Vec<i64> = jobs.iter().map(|j| j.win.x + 10_000 * j.win.y).collect();
        assert_eq!(seen, want);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut n = 0;
            let r = run(&scene, &spec, jobs, &mut Zeros, &opts, |_| {
                n += 1;
                if n == 5 {
                    bail!("disk full")
                }
                Ok(())
            });
            let _ = tx.send(r.map_err(|e| e.to_string()));
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the pipeline did not stop after its sink failed");
        assert_eq!(r.unwrap_err(), "disk full");
    }

    #[test]
    fn flip_reverses_one_axis() {
        let a =
            ArrayD::from_shape_vec(vec![1, 1, 2, 3], (0..6).map(|v| v as f32).collect()).unwrap();
        let h = flip(&a, 3);
        assert_eq!(h.slice(s![0, 0, 0, ..]).to_vec(), vec![2.0, 1.0, 0.0]);
        let v = flip(&a, 2);
        assert_eq!(v.slice(s![0, 0, .., 0]).to_vec(), vec![3.0, 0.0]);
    }
}
