//! The streaming pipeline: a reader thread reads windows, an inference
//! thread batches and runs them, and the caller's thread stitches and
//! writes, all at once. Bounded queues between them keep at most a few
//! batches in flight, so memory does not depend on the scene size, and
//! tiles reach the caller in the order they were asked for.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::{anyhow, Result};
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
/// `sink` in order.
pub fn run(
    scene: &Scene,
    spec: &ReadSpec,
    jobs: Vec<Job>,
    engine: &mut dyn Engine,
    opts: &Options,
    mut sink: impl FnMut(Done) -> Result<()>,
) -> Result<()> {
    let depth = 2 * opts.batch.max(1);
    let (read_tx, read_rx) = sync_channel::<Result<(Job, TileData)>>(depth);
    let (done_tx, done_rx) = sync_channel::<Result<Done>>(depth);
    std::thread::scope(|s| {
        let path = scene.path.clone();
        s.spawn(move || read_all(&path, spec, jobs, read_tx));
        s.spawn(move || infer_all(engine, spec, opts, read_rx, done_tx));
        for done in done_rx {
            // Returning drops the receiver, which stops both threads.
            sink(done?)?;
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

fn infer_all(
    engine: &mut dyn Engine,
    spec: &ReadSpec,
    opts: &Options,
    rx: Receiver<Result<(Job, TileData)>>,
    tx: SyncSender<Result<Done>>,
) {
    let mut pending: Vec<(Job, TileData)> = Vec::new();
    let flush =
        |pending: &mut Vec<(Job, TileData)>, engine: &mut dyn Engine| -> Result<Vec<Done>> {
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
                .drain(..)
                .map(|(job, tile)| {
                    let outputs = if tile.valid_count > 0 {
                        outs.next()
                    } else {
                        None
                    };
                    Done { job, tile, outputs }
                })
                .collect())
        };
    for item in rx {
        let item = match item {
            Ok(i) => i,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        pending.push(item);
        let ready = pending.iter().filter(|p| p.1.valid_count > 0).count();
        if ready >= opts.batch.max(1) && !send_all(flush(&mut pending, engine), &tx) {
            return;
        }
    }
    if !pending.is_empty() {
        send_all(flush(&mut pending, engine), &tx);
    }
}

fn send_all(done: Result<Vec<Done>>, tx: &SyncSender<Result<Done>>) -> bool {
    match done {
        Ok(ds) => ds.into_iter().all(|d| tx.send(Ok(d)).is_ok()),
        Err(e) => {
            let _ = tx.send(Err(e));
            false
        }
    }
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
