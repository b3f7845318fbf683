//! Progressive Semantic Token Selection (PSTS): which patches join the
//! HOG-chosen initial set, as a curriculum over the run.
//!
//! Candidates are scored by their highest cosine similarity to the visible
//! set. Early in training PSTS adds the *nearest* candidates (easy,
//! redundant context), then blends to the *farthest* (complementary
//! context), then blends to uniform random. The official code hard-codes
//! epoch boundaries [0, 280, 300, 580, 600] of an 800-epoch run; we take
//! boundaries either as fractions of the run or as absolute epochs.

use rand::seq::index::sample;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::token_counts::py_int;

/// The curriculum stage in force at one point of the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", content = "share")]
pub enum Stage {
    /// Add the most similar candidates.
    #[serde(rename = "near")]
    Near,
    /// `int(share * m)` most similar, the rest least similar; share = 1 - c/T.
    #[serde(rename = "near->far")]
    NearToFar(f64),
    /// Add the least similar candidates.
    #[serde(rename = "far")]
    Far,
    /// `int(share * m)` least similar, the rest uniformly at random.
    #[serde(rename = "far->random")]
    FarToRandom(f64),
    /// Uniform random candidates.
    #[serde(rename = "random")]
    Random,
}

impl Stage {
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Near => "near",
            Stage::NearToFar(_) => "near->far",
            Stage::Far => "far",
            Stage::FarToRandom(_) => "far->random",
            Stage::Random => "random",
        }
    }

    /// Whether this stage needs candidate similarities at all.
    pub fn needs_similarity(&self) -> bool {
        !matches!(self, Stage::Random)
    }
}

/// Stage boundaries b1..b4 in epochs (b0 = 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PstsSchedule {
    pub boundaries: [f64; 4],
}

/// The default boundaries as fractions of the run: the official
/// [280, 300, 580, 600] of 800 epochs.
pub const DEFAULT_FRACTIONS: [f64; 4] = [0.35, 0.375, 0.725, 0.75];

impl PstsSchedule {
    /// Boundaries given in epochs, as the official code has them.
    pub fn from_epochs(boundaries: [f64; 4]) -> Result<Self, String> {
        let ok = boundaries[0] >= 0.0 && boundaries.windows(2).all(|w| w[0] <= w[1]);
        if !ok || boundaries.iter().any(|b| !b.is_finite()) {
            return Err(format!(
                "PSTS boundaries must be finite, non-negative and non-decreasing, got {boundaries:?}"
            ));
        }
        Ok(Self { boundaries })
    }

    /// Boundaries given as fractions of a run of `epochs` epochs.
    pub fn from_fractions(fractions: [f64; 4], epochs: f64) -> Result<Self, String> {
        if fractions.iter().any(|f| !(0.0..=1.0).contains(f)) {
            return Err(format!(
                "PSTS boundary fractions must lie in [0, 1], got {fractions:?}"
            ));
        }
        Self::from_epochs(fractions.map(|f| f * epochs))
    }

    /// The stage at `epoch` (fractional epochs count: 2.5 is half-way through
    /// the third epoch). At integer epochs this is the official rule exactly:
    /// near up to b1, near->far with c = e - b1 over T = b2 - b1, far up to b3,
    /// far->random with c = e - b3 over b4 - b3, random from b4 on.
    pub fn stage(&self, epoch: f64) -> Stage {
        let [b1, b2, b3, b4] = self.boundaries;
        if epoch <= b1 {
            Stage::Near
        } else if epoch < b2 {
            Stage::NearToFar(1.0 - (epoch - b1) / (b2 - b1))
        } else if epoch <= b3 {
            Stage::Far
        } else if epoch < b4 {
            Stage::FarToRandom(1.0 - (epoch - b3) / (b4 - b3))
        } else {
            Stage::Random
        }
    }
}

/// How a blended stage splits `m` additions: (first rule count, second rule count).
pub fn blend_counts(share: f64, m: usize) -> (usize, usize) {
    let first = py_int(share * m as f64).min(m);
    (first, m - first)
}

/// Picks `m` of `candidates` (patch index, similarity to the visible set) by
/// the stage's rule. Ties in similarity are broken by patch index, so the
/// choice is deterministic given the random generator.
pub fn pick<R: Rng>(
    stage: Stage,
    candidates: &[(usize, f32)],
    m: usize,
    rng: &mut R,
) -> Vec<usize> {
    let m = m.min(candidates.len());
    let mut by_sim: Vec<(usize, f32)> = candidates.to_vec();
    // Most similar first.
    by_sim.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let nearest = |n: usize| by_sim[..n].iter().map(|c| c.0).collect::<Vec<_>>();
    let farthest_of = |pool: &[(usize, f32)], n: usize| {
        pool.iter().rev().take(n).map(|c| c.0).collect::<Vec<_>>()
    };
    let uniform_of = |pool: &[(usize, f32)], n: usize, rng: &mut R| {
        sample(rng, pool.len(), n)
            .into_iter()
            .map(|i| pool[i].0)
            .collect::<Vec<_>>()
    };
    match stage {
        Stage::Near => nearest(m),
        Stage::Far => farthest_of(&by_sim, m),
        Stage::Random => uniform_of(&by_sim, m, rng),
        Stage::NearToFar(share) => {
            let (n_near, n_far) = blend_counts(share, m);
            let mut out = nearest(n_near);
            out.extend(farthest_of(&by_sim[n_near..], n_far));
            out
        }
        Stage::FarToRandom(share) => {
            let (n_far, n_rand) = blend_counts(share, m);
            let mut out = farthest_of(&by_sim, n_far);
            let rest = &by_sim[..by_sim.len() - n_far];
            out.extend(uniform_of(rest, n_rand, rng));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn official() -> PstsSchedule {
        PstsSchedule::from_epochs([280.0, 300.0, 580.0, 600.0]).unwrap()
    }

    #[test]
    fn official_stage_function_at_integer_epochs() {
        let s = official();
        assert_eq!(s.stage(0.0), Stage::Near);
        assert_eq!(s.stage(280.0), Stage::Near);
        assert_eq!(s.stage(281.0), Stage::NearToFar(1.0 - 1.0 / 20.0));
        assert_eq!(s.stage(299.0), Stage::NearToFar(1.0 - 19.0 / 20.0));
        assert_eq!(s.stage(300.0), Stage::Far);
        assert_eq!(s.stage(580.0), Stage::Far);
        assert_eq!(s.stage(590.0), Stage::FarToRandom(0.5));
        assert_eq!(s.stage(600.0), Stage::Random);
        assert_eq!(s.stage(799.0), Stage::Random);
        // A 400-epoch run with the official absolute boundaries never reaches random.
        assert!((0..400).all(|e| s.stage(e as f64) != Stage::Random));
    }

    #[test]
    fn fractions_scale_with_the_run() {
        let s = PstsSchedule::from_fractions(DEFAULT_FRACTIONS, 800.0).unwrap();
        assert_eq!(s.boundaries, [280.0, 300.0, 580.0, 600.0]);
        let short = PstsSchedule::from_fractions(DEFAULT_FRACTIONS, 400.0).unwrap();
        assert_eq!(short.stage(140.0), Stage::Near);
        assert_eq!(short.stage(145.0), Stage::NearToFar(0.5));
        assert_eq!(short.stage(300.0), Stage::Random);
        assert!(PstsSchedule::from_fractions([0.5, 0.4, 0.7, 0.8], 10.0).is_err());
    }

    /// `int((1 - c/20) * m)` as Python computes it, for the two sub-step sizes.
    #[test]
    fn blend_counts_match_python() {
        // (1 - 1/20) * 7 = 6.6499999999999995 -> 6; * 8 = 7.6 -> 7.
        assert_eq!(blend_counts(1.0 - 1.0 / 20.0, 7), (6, 1));
        assert_eq!(blend_counts(1.0 - 1.0 / 20.0, 8), (7, 1));
        // c = 10: 0.5 * 7 = 3.5 -> 3; c = 19: 0.05 * 8 = 0.4 -> 0.
        assert_eq!(blend_counts(0.5, 7), (3, 4));
        assert_eq!(blend_counts(1.0 - 19.0 / 20.0, 8), (0, 8));
        assert_eq!(blend_counts(1.0, 8), (8, 0));
    }

    fn cands() -> Vec<(usize, f32)> {
        // Patch i has similarity i / 10 except ties at 0.5.
        vec![(3, 0.3), (9, 0.9), (5, 0.5), (7, 0.5), (1, 0.1), (8, 0.8)]
    }

    #[test]
    fn near_far_and_blends() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(pick(Stage::Near, &cands(), 3, &mut rng), vec![9, 8, 5]);
        assert_eq!(pick(Stage::Far, &cands(), 3, &mut rng), vec![1, 3, 7]);
        // share 0.5 of 4 -> 2 nearest, 2 farthest.
        assert_eq!(
            pick(Stage::NearToFar(0.5), &cands(), 4, &mut rng),
            vec![9, 8, 1, 3]
        );
        // 2 farthest, then 2 random among the 4 remaining.
        let got = pick(Stage::FarToRandom(0.5), &cands(), 4, &mut rng);
        assert_eq!(&got[..2], &[1, 3]);
        assert!(got[2..].iter().all(|i| [9, 8, 5, 7].contains(i)));
        assert_ne!(got[2], got[3]);
    }

    #[test]
    fn random_stage_is_uniform() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut hits = [0usize; 10];
        for _ in 0..6000 {
            for i in pick(Stage::Random, &cands(), 2, &mut rng) {
                hits[i] += 1;
            }
        }
        // Each of the six candidates is drawn with probability 1/3: 2000 expected.
        for i in [1, 3, 5, 7, 8, 9] {
            assert!((1800..2200).contains(&hits[i]), "patch {i}: {}", hits[i]);
        }
    }
}
