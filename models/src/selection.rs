//! Which patches a SelectiveMAE step encodes and which it reconstructs.
//!
//! The heavy parts (HOG scores, embedding similarities) run on the device
//! and come back to the host in one read; the bookkeeping (top-k, sampling,
//! curriculum) is plain Rust, parallel over samples, and easy to test.

use rand::seq::index::sample;
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use burn::prelude::*;

use crate::gather::{gather_tokens, index_tensor};
use crate::host::read_f32;
use crate::psts::{pick, Stage};
use crate::token_counts::TokenCounts;

/// How the initial visible set and the reconstruction targets are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum SelectionMode {
    /// The paper's intent: highest HOG score first.
    HogTopk,
    /// Draw without replacement from softmax(score / tau).
    HogSample { tau: f64 },
    /// Uniform draws: what the official code effectively does (its per-patch
    /// standardisation makes every score 0).
    Uniform,
}

impl SelectionMode {
    pub fn uses_hog(&self) -> bool {
        !matches!(self, SelectionMode::Uniform)
    }

    pub fn name(&self) -> &'static str {
        match self {
            SelectionMode::HogTopk => "hog-topk",
            SelectionMode::HogSample { .. } => "hog-sample",
            SelectionMode::Uniform => "uniform",
        }
    }
}

/// One sample's selection, kept in the order it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplePlan {
    /// Initial set from the HOG score (or uniform).
    pub initial: Vec<usize>,
    /// PSTS additions of sub-step 1 and sub-step 2.
    pub added: [Vec<usize>; 2],
    /// Reconstruction targets, in raster order.
    pub targets: Vec<usize>,
}

impl SamplePlan {
    /// Every encoded patch: initial set, then both PSTS additions.
    pub fn visible(&self) -> Vec<usize> {
        let mut v = self.initial.clone();
        v.extend(&self.added[0]);
        v.extend(&self.added[1]);
        v
    }
}

/// Chooses `n` of `pool` by `mode`, using `scores` (indexed by patch) for the HOG modes.
fn choose<R: Rng>(
    mode: SelectionMode,
    pool: &[usize],
    scores: &[f32],
    n: usize,
    rng: &mut R,
) -> Vec<usize> {
    match mode {
        SelectionMode::HogTopk => {
            // Equal scores (nodata borders, water, haze) are ordered by a
            // random key, not by patch index: a flat image must not always
            // give its top-left patches.
            let mut ranked: Vec<(f32, u64, usize)> = pool
                .iter()
                .map(|&i| (scores[i], rng.random::<u64>(), i))
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            ranked.into_iter().take(n).map(|(_, _, i)| i).collect()
        }
        SelectionMode::HogSample { tau } => {
            // Gumbel top-k: the top n of logit + Gumbel noise is a draw without
            // replacement from softmax(logits).
            let mut keyed: Vec<(f64, usize)> = pool
                .iter()
                .map(|&i| {
                    let u: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
                    (scores[i] as f64 / tau - (-u.ln()).ln(), i)
                })
                .collect();
            keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            keyed.into_iter().take(n).map(|(_, i)| i).collect()
        }
        SelectionMode::Uniform => sample(rng, pool.len(), n.min(pool.len()))
            .into_iter()
            .map(|k| pool[k])
            .collect(),
    }
}

/// Largest pairwise-similarity matrix (elements, over the whole batch) that
/// planning reads back in its one read: 256 images of 14 x 14 patches need
/// 9.8M. Above it (large grids), each PSTS sub-step computes its
/// similarities on the device and reads back `[B, L]` (two more reads).
pub const FULL_SIMILARITY_LIMIT: usize = 1 << 24;

/// Plans a SelectiveMAE step for a batch whose HOG scores are already on the
/// host (`scores`: `B` rows of `L`; ignored by `Uniform`).
///
/// * `tokens`: the patch embeddings plus position embedding `[B, L, D]`
///   (detached); PSTS ranks candidates by their highest cosine similarity to
///   the visible set, recomputed after each sub-step.
/// * `rngs`: one generator per sample, so a sample's plan does not depend on
///   the rest of the batch (and samples are planned in parallel).
pub fn plan_selective<B: Backend, R: Rng + Send>(
    scores: &[Vec<f32>],
    tokens: Tensor<B, 3>,
    counts: &TokenCounts,
    mode: SelectionMode,
    stage: Stage,
    rngs: &mut [R],
) -> Vec<SamplePlan> {
    let l = tokens.dims()[1];
    let (_, sims) = read_inputs(None, tokens, stage);
    plan_batch(scores, sims, l, counts, mode, stage, rngs)
}

/// Plans a batch from device-side HOG scores (`[B, L]`, `None` for uniform
/// selection) and tokens, with at most one device-to-host read: the scores
/// and every pairwise similarity come back together (see
/// [`FULL_SIMILARITY_LIMIT`] for the exception).
pub fn plan_from_device<B: Backend, R: Rng + Send>(
    scores: Option<Tensor<B, 2>>,
    tokens: Tensor<B, 3>,
    counts: &TokenCounts,
    mode: SelectionMode,
    stage: Stage,
    rngs: &mut [R],
) -> Vec<SamplePlan> {
    let l = tokens.dims()[1];
    let (scores, sims) = read_inputs(scores, tokens, stage);
    plan_batch(&scores, sims, l, counts, mode, stage, rngs)
}

/// Where PSTS gets the similarity of a candidate to the visible set.
enum Similarity<B: Backend> {
    /// The stage does not rank candidates.
    None,
    /// Every pair, read back already: `[B][L * L]`, row `i` is patch `i`.
    Host { l: usize, pairs: Vec<Vec<f32>> },
    /// L2-normalised tokens left on the device (grids too large to read).
    Device(Tensor<B, 3>),
}

impl<B: Backend> Similarity<B> {
    /// Highest similarity of each patch to its sample's visible set, `[B][L]`.
    fn to_visible(&self, visible: &[Vec<usize>]) -> Option<Vec<Vec<f32>>> {
        match self {
            Similarity::None => None,
            Similarity::Host { l, pairs } => Some(
                pairs
                    .par_iter()
                    .zip(visible)
                    .map(|(m, vis)| {
                        (0..*l)
                            .map(|i| {
                                let row = &m[i * l..(i + 1) * l];
                                vis.iter()
                                    .map(|&j| row[j])
                                    .fold(f32::NEG_INFINITY, f32::max)
                            })
                            .collect()
                    })
                    .collect(),
            ),
            Similarity::Device(normed) => Some(max_similarity(normed, visible)),
        }
    }
}

/// The one read of planning: HOG scores (if given) and, when the stage
/// ranks candidates and the matrix is small enough, every pairwise cosine
/// similarity, concatenated so the device is waited on once.
fn read_inputs<B: Backend>(
    scores: Option<Tensor<B, 2>>,
    tokens: Tensor<B, 3>,
    stage: Stage,
) -> (Vec<Vec<f32>>, Similarity<B>) {
    let [b, l, _] = tokens.dims();
    let normed = stage
        .needs_similarity()
        .then(|| l2_normalize(tokens.detach()));
    let full = normed
        .as_ref()
        .filter(|_| b * l * l <= FULL_SIMILARITY_LIMIT)
        .map(|n| {
            n.clone()
                .matmul(n.clone().swap_dims(1, 2))
                .reshape([b * l * l])
        });
    let has_scores = scores.is_some();
    let has_full = full.is_some();
    let parts: Vec<Tensor<B, 1>> = scores
        .map(|s| s.reshape([b * l]))
        .into_iter()
        .chain(full)
        .collect();
    if parts.is_empty() {
        return (
            Vec::new(),
            normed.map_or(Similarity::None, Similarity::Device),
        );
    }
    let values = read_f32(Tensor::cat(parts, 0));
    let (score_values, pair_values) = values.split_at(if has_scores { b * l } else { 0 });
    let scores = score_values.chunks(l.max(1)).map(<[f32]>::to_vec).collect();
    let sims = if has_full {
        Similarity::Host {
            l,
            pairs: pair_values
                .chunks((l * l).max(1))
                .map(<[f32]>::to_vec)
                .collect(),
        }
    } else {
        normed.map_or(Similarity::None, Similarity::Device)
    };
    (scores, sims)
}

/// The host half of planning: initial set, two PSTS sub-steps, targets;
/// each sample with its own generator, in parallel.
fn plan_batch<B: Backend, R: Rng + Send>(
    scores: &[Vec<f32>],
    sims: Similarity<B>,
    l: usize,
    counts: &TokenCounts,
    mode: SelectionMode,
    stage: Stage,
    rngs: &mut [R],
) -> Vec<SamplePlan> {
    let all: Vec<usize> = (0..l).collect();
    let flat = vec![0f32; l];
    let score_of = |s: usize| scores.get(s).map_or(flat.as_slice(), |r| r.as_slice());

    let mut plans: Vec<SamplePlan> = rngs
        .par_iter_mut()
        .enumerate()
        .map(|(s, rng)| SamplePlan {
            initial: choose(mode, &all, score_of(s), counts.initial, rng),
            added: [Vec::new(), Vec::new()],
            targets: Vec::new(),
        })
        .collect();

    for (sub, m) in [counts.psts_first, counts.psts_second]
        .into_iter()
        .enumerate()
    {
        if m == 0 {
            continue;
        }
        let visible: Vec<Vec<usize>> = plans.iter().map(SamplePlan::visible).collect();
        let best = sims.to_visible(&visible);
        plans
            .par_iter_mut()
            .zip(rngs.par_iter_mut())
            .enumerate()
            .for_each(|(s, (plan, rng))| {
                let seen = mask_of(l, &visible[s]);
                let candidates: Vec<(usize, f32)> = (0..l)
                    .filter(|&i| !seen[i])
                    .map(|i| (i, best.as_ref().map_or(0.0, |r| r[s][i])))
                    .collect();
                plan.added[sub] = pick(stage, &candidates, m, rng);
            });
    }

    plans
        .par_iter_mut()
        .zip(rngs.par_iter_mut())
        .enumerate()
        .for_each(|(s, (plan, rng))| {
            let seen = mask_of(l, &plan.visible());
            let hidden: Vec<usize> = (0..l).filter(|&i| !seen[i]).collect();
            let mut targets = choose(mode, &hidden, score_of(s), counts.targets, rng);
            targets.sort_unstable();
            plan.targets = targets;
        });
    plans
}

fn mask_of(l: usize, ids: &[usize]) -> Vec<bool> {
    let mut m = vec![false; l];
    for &i in ids {
        m[i] = true;
    }
    m
}

fn l2_normalize<B: Backend>(x: Tensor<B, 3>) -> Tensor<B, 3> {
    let norm = x.clone().square().sum_dim(2).sqrt().clamp_min(1e-12);
    x / norm
}

/// For each sample and patch, the highest cosine similarity to that sample's
/// visible patches: `[B, L]`, computed as one batched matmul on the device.
fn max_similarity<B: Backend>(normed: &Tensor<B, 3>, visible: &[Vec<usize>]) -> Vec<Vec<f32>> {
    let [b, l, _] = normed.dims();
    let device = normed.device();
    let vis = gather_tokens(normed.clone(), index_tensor::<B>(visible, &device));
    let best = normed
        .clone()
        .matmul(vis.swap_dims(1, 2))
        .max_dim(2)
        .reshape([b, l]);
    rows(best)
}

/// A `[B, L]` tensor as host rows (one counted read).
pub fn rows<B: Backend>(t: Tensor<B, 2>) -> Vec<Vec<f32>> {
    let [_, l] = t.dims();
    read_f32(t).chunks(l.max(1)).map(<[f32]>::to_vec).collect()
}

/// MAE's random masking for one sample: a random permutation whose first
/// `keep` entries are encoded and the rest reconstructed.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskPlan {
    pub shuffle: Vec<usize>,
    pub keep: usize,
}

impl MaskPlan {
    pub fn random<R: Rng>(l: usize, keep: usize, rng: &mut R) -> Self {
        Self {
            shuffle: sample(rng, l, l).into_vec(),
            keep,
        }
    }

    pub fn visible(&self) -> &[usize] {
        &self.shuffle[..self.keep]
    }

    /// `restore[i]` = position of patch `i` in the shuffled sequence.
    pub fn restore(&self) -> Vec<usize> {
        let mut r = vec![0; self.shuffle.len()];
        for (pos, &i) in self.shuffle.iter().enumerate() {
            r[i] = pos;
        }
        r
    }

    /// 1 for reconstructed patches, 0 for visible ones, in patch order.
    pub fn mask(&self) -> Vec<f32> {
        let mut m = vec![1.0; self.shuffle.len()];
        for &i in self.visible() {
            m[i] = 0.0;
        }
        m
    }
}
