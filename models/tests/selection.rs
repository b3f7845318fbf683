//! Token selection: PSTS near/far semantics on constructed embeddings,
//! per-sample independence, target rules, MAE masking bookkeeping.

use burn::backend::Flex;
use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smae_models::gather::{gather_tokens, index_tensor};
use smae_models::selection::{plan_selective, MaskPlan, SelectionMode};
use smae_models::{Stage, TokenCounts};

type B = Flex;

/// 16 patches in 4-D, built so that PSTS choices are known by hand.
fn embeddings() -> Vec<[f32; 4]> {
    let other = |k: usize| [0.5, 0.5, 0.5 + 0.01 * k as f32, 0.5];
    let mut e: Vec<[f32; 4]> = (0..16).map(other).collect();
    e[0] = [1.0, 0.0, 0.0, 0.0];
    e[1] = [1.0, 0.1, 0.0, 0.0];
    e[5] = [1.0, 0.05, 0.0, 0.0]; // nearest to the initial set
    e[12] = [-1.0, 0.0, 0.0, 0.0]; // farthest
    e[7] = [-0.9, 0.0, 0.1, 0.0]; // second farthest, until 12 is visible
    e[9] = [0.0, 0.0, 1.0, 0.0]; // orthogonal to everything above
    e[14] = [0.1, 0.0, 0.0, 1.0];
    e[2] = [0.9, 0.3, 0.3, 0.3]; // nearest of the rest
    e
}

fn tokens(rows: &[Vec<[f32; 4]>]) -> Tensor<B, 3> {
    let flat: Vec<f32> = rows.iter().flatten().flatten().copied().collect();
    Tensor::<B, 1>::from_floats(flat.as_slice(), &Default::default()).reshape([rows.len(), 16, 4])
}

/// Initial set {0, 1} by score; targets 3, 4, 6, 8 are the most textured of the rest.
fn scores() -> Vec<f32> {
    let mut s = vec![0.01f32; 16];
    for (i, v) in [
        (0, 0.30),
        (1, 0.29),
        (3, 0.25),
        (4, 0.24),
        (6, 0.23),
        (8, 0.22),
    ] {
        s[i] = v;
    }
    s
}

/// r = .75 on 16 patches: 4 visible = 2 initial + 1 + 1, 4 targets.
fn counts() -> TokenCounts {
    let c = TokenCounts::new(16, 0.75, 0.25).unwrap();
    assert_eq!(
        (c.initial, c.psts_first, c.psts_second, c.targets),
        (2, 1, 1, 4)
    );
    c
}

fn cos(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32; 4]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn near_adds_the_most_similar_and_recomputes() {
    let mut rng = [ChaCha8Rng::seed_from_u64(0)];
    let e = embeddings();
    let plans = plan_selective(
        &[scores()],
        tokens(std::slice::from_ref(&e)),
        &counts(),
        SelectionMode::HogTopk,
        Stage::Near,
        &mut rng,
    );
    let p = &plans[0];
    assert_eq!(p.initial, vec![0, 1]);
    assert_eq!(p.added[0], vec![5]);
    // Brute force for sub-step 2: highest max-cosine to {0, 1, 5}.
    let vis = [0, 1, 5];
    let best = (0..16)
        .filter(|i| !vis.contains(i))
        .max_by(|&a, &b| {
            let s = |i: usize| {
                vis.iter()
                    .map(|&v| cos(&e[i], &e[v]))
                    .fold(f32::MIN, f32::max)
            };
            s(a).total_cmp(&s(b))
        })
        .unwrap();
    assert_eq!(best, 2);
    assert_eq!(p.added[1], vec![best]);
    assert_eq!(p.targets, vec![3, 4, 6, 8]);
}

#[test]
fn far_adds_the_least_similar_against_the_enlarged_set() {
    let mut rng = [ChaCha8Rng::seed_from_u64(0)];
    let plans = plan_selective(
        &[scores()],
        tokens(&[embeddings()]),
        &counts(),
        SelectionMode::HogTopk,
        Stage::Far,
        &mut rng,
    );
    let p = &plans[0];
    assert_eq!(p.added[0], vec![12]);
    // Patch 7 was the runner-up against {0, 1}, but is close to 12 once 12 is
    // visible; the recomputed farthest is the orthogonal patch 9.
    assert_eq!(p.added[1], vec![9]);
    assert_eq!(p.visible(), vec![0, 1, 12, 9]);
    assert_eq!(p.targets, vec![3, 4, 6, 8]);
}

#[test]
fn samples_are_planned_independently_and_batch_of_one_works() {
    let mut e2 = embeddings();
    e2.reverse();
    let mut s2 = scores();
    s2.reverse();
    let both = plan_selective(
        &[scores(), s2.clone()],
        tokens(&[embeddings(), e2.clone()]),
        &counts(),
        SelectionMode::HogTopk,
        Stage::Far,
        &mut [ChaCha8Rng::seed_from_u64(1), ChaCha8Rng::seed_from_u64(9)],
    );
    let alone = plan_selective(
        &[s2],
        tokens(&[e2]),
        &counts(),
        SelectionMode::HogTopk,
        Stage::Far,
        &mut [ChaCha8Rng::seed_from_u64(2)],
    );
    assert_eq!(both.len(), 2);
    assert_eq!(alone.len(), 1);
    assert_eq!(both[1], alone[0]);
}

#[test]
fn every_mode_and_stage_gives_disjoint_sets_of_the_right_size() {
    let c = TokenCounts::new(196, 0.85, 0.25).unwrap();
    let device = Default::default();
    let toks = Tensor::<B, 3>::random(
        [3, 196, 8],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let scores: Vec<Vec<f32>> = (0..3)
        .map(|s| {
            (0..196)
                .map(|i| ((i * 37 + s * 11) % 101) as f32 / 300.0)
                .collect()
        })
        .collect();
    let mut rng: Vec<ChaCha8Rng> = (0..3).map(ChaCha8Rng::seed_from_u64).collect();
    for mode in [
        SelectionMode::HogTopk,
        SelectionMode::HogSample { tau: 0.1 },
        SelectionMode::Uniform,
    ] {
        for stage in [
            Stage::Near,
            Stage::NearToFar(0.5),
            Stage::Far,
            Stage::FarToRandom(0.3),
            Stage::Random,
        ] {
            for p in plan_selective(&scores, toks.clone(), &c, mode, stage, &mut rng) {
                let vis = p.visible();
                assert_eq!(vis.len(), 29);
                assert_eq!((p.added[0].len(), p.added[1].len()), (7, 8));
                assert_eq!(p.targets.len(), 49);
                let mut all: Vec<usize> = vis.iter().chain(&p.targets).copied().collect();
                all.sort_unstable();
                all.dedup();
                assert_eq!(all.len(), 29 + 49, "{mode:?} {stage:?}: overlap");
                assert!(
                    p.targets.windows(2).all(|w| w[0] < w[1]),
                    "targets in raster order"
                );
            }
        }
    }
}

/// `hog-topk` on an image whose patches all score the same (a nodata fill,
/// open water) picks different patches per sample generator, not always the
/// first ones in raster order; distinct scores still win over ties.
#[test]
fn hog_topk_breaks_ties_at_random() {
    let c = TokenCounts::new(196, 0.85, 0.25).unwrap();
    let toks = Tensor::<B, 3>::zeros([1, 196, 4], &Default::default());
    let plan = |scores: &[f32], seed: u64| {
        plan_selective(
            &[scores.to_vec()],
            toks.clone(),
            &c,
            SelectionMode::HogTopk,
            Stage::Random,
            &mut [ChaCha8Rng::seed_from_u64(seed)],
        )
        .remove(0)
    };
    let flat = vec![0.0f32; 196];
    let first_patches: Vec<usize> = (0..c.initial).collect();
    let initials: Vec<Vec<usize>> = (0..8).map(|seed| plan(&flat, seed).initial).collect();
    assert!(initials.iter().all(|i| *i != first_patches), "{initials:?}");
    assert!(initials.windows(2).any(|w| w[0] != w[1]));
    // The same generator gives the same choice.
    assert_eq!(plan(&flat, 3), plan(&flat, 3));
    // Two textured patches among flat ones are always chosen first.
    let mut some = flat.clone();
    some[150] = 0.3;
    some[40] = 0.2;
    for seed in 0..8 {
        assert_eq!(plan(&some, seed).initial[..2], [150, 40]);
    }
}

#[test]
fn hog_sample_prefers_textured_patches() {
    // 98 textured (score .3) and 98 flat (score 0) patches; tau .05 -> odds e^6.
    let c = TokenCounts::new(196, 0.85, 0.25).unwrap();
    let s: Vec<f32> = (0..196)
        .map(|i| if i % 2 == 0 { 0.3 } else { 0.0 })
        .collect();
    let toks = Tensor::<B, 3>::zeros([1, 196, 4], &Default::default());
    let mut rng = [ChaCha8Rng::seed_from_u64(4)];
    let mut textured = 0;
    for _ in 0..50 {
        let p = &plan_selective(
            std::slice::from_ref(&s),
            toks.clone(),
            &c,
            SelectionMode::HogSample { tau: 0.05 },
            Stage::Random,
            &mut rng,
        )[0];
        textured += p.initial.iter().filter(|i| *i % 2 == 0).count();
    }
    // 50 x 14 initial picks: expect > 95% textured.
    assert!(textured > 665, "{textured} of 700");
}

#[test]
fn mae_masking_restores_patch_order() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let m = MaskPlan::random(10, 3, &mut rng);
    let restore = m.restore();
    for (pos, &i) in m.shuffle.iter().enumerate() {
        assert_eq!(restore[i], pos);
    }
    assert_eq!(m.mask().iter().filter(|v| **v == 0.0).count(), 3);
    // The decoder's unshuffle: [visible tokens, mask tokens] gathered by restore
    // puts each visible token back at its patch index.
    let device = Default::default();
    let seq: Vec<f32> = (0..10)
        .map(|pos| if pos < 3 { m.shuffle[pos] as f32 } else { -1.0 })
        .collect();
    let seq = Tensor::<B, 1>::from_floats(seq.as_slice(), &device).reshape([1, 10, 1]);
    let out: Vec<f32> = gather_tokens(seq, index_tensor::<B>(&[restore], &device))
        .into_data()
        .to_vec()
        .unwrap();
    for (i, got) in out.iter().enumerate() {
        let want = if m.visible().contains(&i) {
            i as f32
        } else {
            -1.0
        };
        assert_eq!(*got, want);
    }
}
