//! Batches of augmented images, decoded by a pool of worker threads ahead of
//! the training step through a bounded queue.
//!
//! Every sample's augmentation draws from its own generator seeded by
//! (run seed, epoch, dataset index), so a batch is the same whichever worker
//! decodes it, and a resumed run sees exactly the images it would have seen.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use smae_run::config::Augment;
use smae_run::seed::sample_seed;

use super::cache::ImageCache;
use super::decode::decode_item;
use super::folder::Item;

/// One sample of a batch: dataset index and loss weight (InfoBatch rescales).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub index: usize,
    pub weight: f32,
}

/// A decoded batch, `[n, 3, size, size]` 8-bit pixels, channel-major.
#[derive(Debug)]
pub struct Batch {
    pub images: Vec<u8>,
    pub samples: Vec<Sample>,
    /// Position of each decoded sample in the list that was asked for.
    pub positions: Vec<usize>,
    /// Samples that failed to decode: (dataset index, error). They are left
    /// out of the batch, never replaced.
    pub failed: Vec<(usize, String)>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// What the loader needs to decode samples.
pub struct Source {
    pub items: Vec<Item>,
    pub augment: Augment,
    pub seed: u64,
    /// Decoded images by dataset index.
    pub cache: ImageCache<usize>,
}

impl Source {
    /// Decodes and augments a list of samples in parallel on `pool`, each
    /// straight into its place in the batch.
    pub fn batch(&self, epoch: u64, samples: &[Sample], pool: &rayon::ThreadPool) -> Batch {
        let plane = 3 * (self.augment.size as usize).pow(2);
        let mut images = vec![0u8; samples.len() * plane];
        let results: Vec<Result<(), String>> = pool.install(|| {
            images
                .par_chunks_mut(plane.max(1))
                .zip(samples.par_iter())
                .map(|(out, s)| {
                    let img = self
                        .cache
                        .get_or_decode(&s.index, || decode_item(&self.items[s.index]))?;
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(sample_seed(self.seed, epoch, s.index as u64));
                    super::augment::apply(&self.augment, &img, &mut rng, out);
                    Ok(())
                })
                .collect()
        });
        let mut batch = Batch {
            images: Vec::new(),
            samples: Vec::with_capacity(samples.len()),
            positions: Vec::with_capacity(samples.len()),
            failed: Vec::new(),
        };
        for (pos, (s, r)) in samples.iter().zip(results).enumerate() {
            match r {
                Ok(()) => {
                    batch.samples.push(*s);
                    batch.positions.push(pos);
                }
                Err(e) => batch.failed.push((s.index, e)),
            }
        }
        // Failed samples leave the batch (rare: only then are pixels moved).
        if !batch.failed.is_empty() {
            let mut kept = Vec::with_capacity(batch.positions.len() * plane);
            for &pos in &batch.positions {
                kept.extend_from_slice(&images[pos * plane..(pos + 1) * plane]);
            }
            images = kept;
        }
        batch.images = images;
        batch
    }
}

/// Produces the batches of one epoch in order, `prefetch` ahead of the consumer.
pub struct Loader {
    rx: Receiver<Batch>,
    handle: Option<JoinHandle<()>>,
}

impl Loader {
    pub fn spawn(
        source: Arc<Source>,
        pool: Arc<rayon::ThreadPool>,
        epoch: u64,
        batches: Vec<Vec<Sample>>,
        prefetch: usize,
    ) -> Self {
        let (tx, rx) = sync_channel(prefetch.max(1));
        let handle = std::thread::spawn(move || {
            for samples in batches {
                if tx.send(source.batch(epoch, &samples, &pool)).is_err() {
                    return; // consumer stopped early
                }
            }
        });
        Self {
            rx,
            handle: Some(handle),
        }
    }

    pub fn next_batch(&mut self) -> Option<Batch> {
        self.rx.recv().ok()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Unblock the producer, then wait for it.
        let (_, dummy) = sync_channel(1);
        drop(std::mem::replace(&mut self.rx, dummy));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
