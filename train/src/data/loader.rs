//! Batches of augmented images, decoded by a pool of worker threads ahead of
//! the training step through a bounded queue.
//!
//! Every sample's augmentation draws from its own generator seeded by
//! (run seed, epoch, dataset index), so a batch is the same whichever worker
//! decodes it, and a resumed run sees exactly the images it would have seen.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use image::RgbImage;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::augment::Augment;
use super::folder::Item;

/// One sample of a batch: dataset index and loss weight (InfoBatch rescales).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub index: usize,
    pub weight: f32,
}

/// A decoded batch, `[n, 3, size, size]` channel-major.
#[derive(Debug)]
pub struct Batch {
    pub images: Vec<f32>,
    pub samples: Vec<Sample>,
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

/// Decoded RGB images kept in memory up to a byte budget (first come, first
/// kept): small datasets decode once, large ones are not slowed down.
pub struct ImageCache {
    budget: usize,
    used: Mutex<(usize, HashMap<usize, Arc<RgbImage>>)>,
}

impl ImageCache {
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            budget: budget_bytes,
            used: Mutex::new((0, HashMap::new())),
        }
    }

    fn get_or_decode(&self, index: usize, item: &Item) -> Result<Arc<RgbImage>, String> {
        if let Ok(guard) = self.used.lock() {
            if let Some(img) = guard.1.get(&index) {
                return Ok(img.clone());
            }
        }
        let img = Arc::new(decode_item(item)?);
        let bytes = img.as_raw().len();
        if let Ok(mut guard) = self.used.lock() {
            if guard.0 + bytes <= self.budget {
                guard.0 += bytes;
                guard.1.insert(index, img.clone());
            }
        }
        Ok(img)
    }
}

/// Decodes a dataset sample to 8-bit RGB.
pub fn decode_item(item: &Item) -> Result<RgbImage, String> {
    match item {
        Item::File(path) => decode_rgb(path),
        Item::Shard(entry) => {
            let bytes = entry.read().map_err(|e| e.to_string())?;
            decode_bytes(&bytes)
        }
    }
}

/// Decodes an encoded image held in memory (JPEG strictly, see [`decode_rgb`]).
pub fn decode_bytes(bytes: &[u8]) -> Result<RgbImage, String> {
    match image::guess_format(bytes) {
        Ok(image::ImageFormat::Jpeg) => decode_jpeg_strict(bytes),
        _ => Ok(image::load_from_memory(bytes)
            .map_err(|e| e.to_string())?
            .to_rgb8()),
    }
}

/// Decodes any supported image to 8-bit RGB (grey is replicated, alpha dropped,
/// 16-bit scaled).
///
/// JPEGs are decoded in strict mode: `image` decodes them leniently and fills
/// a truncated or corrupt scan with grey, which would train on fake pixels.
pub fn decode_rgb(path: &Path) -> Result<RgbImage, String> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format() == Some(image::ImageFormat::Jpeg) {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        return decode_jpeg_strict(&bytes);
    }
    Ok(reader.decode().map_err(|e| e.to_string())?.to_rgb8())
}

fn decode_jpeg_strict(bytes: &[u8]) -> Result<RgbImage, String> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder
        .decode()
        .map_err(|e| format!("corrupt JPEG: {e:?}"))?;
    let (w, h) = decoder.dimensions().ok_or("JPEG without dimensions")?;
    RgbImage::from_raw(w as u32, h as u32, pixels)
        .ok_or_else(|| "JPEG decoded to an unexpected size".to_string())
}

/// Mixes the run seed, epoch and index into one generator seed (splitmix64).
pub fn sample_seed(seed: u64, epoch: u64, index: u64) -> u64 {
    let mut z = seed
        ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What the loader needs to decode samples.
pub struct Source {
    pub items: Vec<Item>,
    pub augment: Augment,
    pub seed: u64,
    pub cache: ImageCache,
}

impl Source {
    /// Decodes and augments a list of samples in parallel on `pool`.
    pub fn batch(&self, epoch: u64, samples: &[Sample], pool: &rayon::ThreadPool) -> Batch {
        let plane = 3 * (self.augment.size as usize).pow(2);
        let decoded: Vec<Result<Vec<f32>, String>> = pool.install(|| {
            samples
                .par_iter()
                .map(|s| {
                    let img = self.cache.get_or_decode(s.index, &self.items[s.index])?;
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(sample_seed(self.seed, epoch, s.index as u64));
                    let mut out = vec![0f32; plane];
                    self.augment.apply(&img, &mut rng, &mut out);
                    Ok(out)
                })
                .collect()
        });
        let mut batch = Batch {
            images: Vec::with_capacity(samples.len() * plane),
            samples: Vec::with_capacity(samples.len()),
            failed: Vec::new(),
        };
        for (s, r) in samples.iter().zip(decoded) {
            match r {
                Ok(px) => {
                    batch.images.extend_from_slice(&px);
                    batch.samples.push(*s);
                }
                Err(e) => batch.failed.push((s.index, e)),
            }
        }
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
