//! Which patches a SelectiveMAE step encodes and which it reconstructs.
//!
//! The heavy parts (HOG scores, embedding similarities) run on the device;
//! only `[B, L]` score rows come back to the host, where the bookkeeping
//! (top-k, sampling, curriculum) is plain Rust and easy to test.

use rand::seq::index::sample;
use rand::Rng;
use serde::{Deserialize, Serialize};

use burn::prelude::*;

use crate::gather::{gather_tokens, index_tensor};
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
            let mut ranked = pool.to_vec();
            ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
            ranked.truncate(n);
            ranked
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

/// Plans a SelectiveMAE step for a batch.
///
/// * `scores`: per-sample HOG scores (`B` rows of `L`); ignored by `Uniform`.
/// * `tokens`: the patch embeddings plus position embedding `[B, L, D]`
///   (detached); PSTS ranks candidates by their highest cosine similarity to
///   the visible set, recomputed after each sub-step.
/// * `rngs`: one generator per sample, so a sample's plan does not depend on
///   the rest of the batch.
pub fn plan_selective<B: Backend, R: Rng>(
    scores: &[Vec<f32>],
    tokens: Tensor<B, 3>,
    counts: &TokenCounts,
    mode: SelectionMode,
    stage: Stage,
    rngs: &mut [R],
) -> Vec<SamplePlan> {
    let [b, l, _] = tokens.dims();
    assert_eq!(rngs.len(), b, "one random generator per sample");
    let device = tokens.device();
    let all: Vec<usize> = (0..l).collect();
    let flat = vec![0f32; l];
    let score_of = |s: usize| scores.get(s).map_or(flat.as_slice(), |r| r.as_slice());

    let mut plans: Vec<SamplePlan> = (0..b)
        .map(|s| SamplePlan {
            initial: choose(mode, &all, score_of(s), counts.initial, &mut rngs[s]),
            added: [Vec::new(), Vec::new()],
            targets: Vec::new(),
        })
        .collect();

    let normed = stage
        .needs_similarity()
        .then(|| l2_normalize(tokens.detach()));
    for (sub, m) in [counts.psts_first, counts.psts_second]
        .into_iter()
        .enumerate()
    {
        if m == 0 {
            continue;
        }
        let visible: Vec<Vec<usize>> = plans.iter().map(SamplePlan::visible).collect();
        let sims = normed
            .as_ref()
            .map(|n| max_similarity(n, &visible, &device));
        for (s, plan) in plans.iter_mut().enumerate() {
            let seen = mask_of(l, &visible[s]);
            let candidates: Vec<(usize, f32)> = (0..l)
                .filter(|&i| !seen[i])
                .map(|i| (i, sims.as_ref().map_or(0.0, |r| r[s][i])))
                .collect();
            plan.added[sub] = pick(stage, &candidates, m, &mut rngs[s]);
        }
    }

    for (s, plan) in plans.iter_mut().enumerate() {
        let seen = mask_of(l, &plan.visible());
        let hidden: Vec<usize> = (0..l).filter(|&i| !seen[i]).collect();
        let mut targets = choose(mode, &hidden, score_of(s), counts.targets, &mut rngs[s]);
        targets.sort_unstable();
        plan.targets = targets;
    }
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
fn max_similarity<B: Backend>(
    normed: &Tensor<B, 3>,
    visible: &[Vec<usize>],
    device: &B::Device,
) -> Vec<Vec<f32>> {
    let [b, l, _] = normed.dims();
    let vis = gather_tokens(normed.clone(), index_tensor::<B>(visible, device));
    let best = normed
        .clone()
        .matmul(vis.swap_dims(1, 2))
        .max_dim(2)
        .reshape([b, l]);
    rows(best)
}

/// A `[B, L]` tensor as host rows.
pub fn rows<B: Backend>(t: Tensor<B, 2>) -> Vec<Vec<f32>> {
    let [_, l] = t.dims();
    let v: Vec<f32> = t
        .into_data()
        .convert::<f32>()
        .into_vec()
        .unwrap_or_default();
    v.chunks(l.max(1)).map(<[f32]>::to_vec).collect()
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
