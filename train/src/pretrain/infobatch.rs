//! InfoBatch (Qin et al., ICLR 2024), as the official SelectiveMAE code
//! always wraps its data: each epoch, a random `prune_ratio` of the samples
//! whose last loss was below the mean is skipped and the kept ones of that
//! group get weight `1 / (1 - prune_ratio)`; pruning stops after `delta` of
//! the epochs. Off by default in smae: it is not in the paper and changes
//! what a speed-up means.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smae_run::config::InfoBatchConfig;
use smae_run::seed::sample_seed;

use crate::data::loader::Sample;

/// Per-sample scores (last seen loss); starts at 3 for every sample as the
/// official code does, so the first epoch prunes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct InfoBatch {
    pub config: InfoBatchConfig,
    pub scores: Vec<f32>,
    /// The scores when the current epoch began: its sample list is drawn from
    /// these, so a run resumed mid-epoch draws the same list.
    pub epoch_scores: Vec<f32>,
}

impl InfoBatch {
    pub fn new(config: InfoBatchConfig, n: usize) -> Self {
        Self {
            config,
            scores: vec![3.0; n],
            epoch_scores: vec![3.0; n],
        }
    }

    /// Freezes the scores the next epoch's sample list is drawn from.
    pub fn begin_epoch(&mut self) {
        self.epoch_scores.clone_from(&self.scores);
    }

    /// Writes both score vectors (little-endian f32) into a checkpoint directory.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join("infobatch_scores.bin"), to_bytes(&self.scores))?;
        std::fs::write(
            dir.join("infobatch_epoch_scores.bin"),
            to_bytes(&self.epoch_scores),
        )
    }

    pub fn load(config: InfoBatchConfig, dir: &Path, n: usize) -> std::io::Result<Self> {
        let read = |name: &str| -> std::io::Result<Vec<f32>> {
            let bytes = std::fs::read(dir.join(name))?;
            let v: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if v.len() != n {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{name} holds {} scores for {n} images", v.len()),
                ));
            }
            Ok(v)
        };
        Ok(Self {
            config,
            scores: read("infobatch_scores.bin")?,
            epoch_scores: read("infobatch_epoch_scores.bin")?,
        })
    }

    /// The shuffled samples (with weights) of `epoch` of `epochs`, drawn from
    /// the scores frozen by [`InfoBatch::begin_epoch`].
    pub fn epoch_samples(&self, seed: u64, epoch: u64, epochs: u64) -> Vec<Sample> {
        let mut rng = ChaCha8Rng::seed_from_u64(sample_seed(seed, epoch, u64::MAX - 1));
        let scores = &self.epoch_scores;
        let n = scores.len();
        let mut out: Vec<Sample>;
        if (epoch as f64) < epochs as f64 * self.config.delta {
            let mean = scores.iter().map(|&s| s as f64).sum::<f64>() / n.max(1) as f64;
            let (mut low, high): (Vec<usize>, Vec<usize>) =
                (0..n).partition(|&i| (scores[i] as f64) < mean);
            let keep = 1.0 - self.config.prune_ratio;
            low.shuffle(&mut rng);
            low.truncate((keep * low.len() as f64) as usize);
            out = high
                .into_iter()
                .map(|index| Sample { index, weight: 1.0 })
                .collect();
            out.extend(low.into_iter().map(|index| Sample {
                index,
                weight: (1.0 / keep) as f32,
            }));
        } else {
            out = (0..n).map(|index| Sample { index, weight: 1.0 }).collect();
        }
        out.shuffle(&mut rng);
        out
    }

    pub fn update(&mut self, indices: &[usize], losses: &[f32]) {
        for (&i, &l) in indices.iter().zip(losses) {
            self.scores[i] = l;
        }
    }
}

fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunes_half_of_the_easy_samples_and_reweights_them() {
        let mut ib = InfoBatch::new(InfoBatchConfig::default(), 10);
        // First epoch: every score is 3, nothing is below the mean.
        let e0 = ib.epoch_samples(1, 0, 8);
        assert_eq!(e0.len(), 10);
        assert!(e0.iter().all(|s| s.weight == 1.0));
        // Samples 0..6 easy (loss 0.1), 6..10 hard (loss 1.0): mean 0.46.
        let losses: Vec<f32> = (0..10).map(|i| if i < 6 { 0.1 } else { 1.0 }).collect();
        ib.update(&(0..10).collect::<Vec<_>>(), &losses);
        ib.begin_epoch();
        let e1 = ib.epoch_samples(1, 1, 8);
        assert_eq!(e1.len(), 4 + 3);
        for s in &e1 {
            let want = if s.index < 6 { 2.0 } else { 1.0 };
            assert_eq!(s.weight, want);
        }
        // From delta * epochs = 7 on, nothing is pruned.
        assert_eq!(ib.epoch_samples(1, 7, 8).len(), 10);
    }
}
