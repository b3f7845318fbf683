//! Both pre-training models run forward and backward at batch size 1 and
//! give every trainable parameter a gradient.

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smae_models::{
    DecoderConfig, Mae, SelectionMode, SelectiveMae, SelectiveStep, Stage, TokenCounts, VitConfig,
};

type AB = Autodiff<Flex>;

fn tiny() -> (VitConfig, DecoderConfig) {
    let vit = VitConfig {
        img_size: 32,
        patch_size: 8,
        in_chans: 3,
        dim: 32,
        depth: 2,
        heads: 4,
        mlp_ratio: 2.0,
    };
    let dec = DecoderConfig {
        dim: 16,
        depth: 1,
        heads: 2,
        mlp_ratio: 2.0,
    };
    (vit, dec)
}

/// Trainable parameter ids (the fixed position embeddings are excluded).
struct Trainable(Vec<ParamId>);
impl<B: Backend> ModuleVisitor<B> for Trainable {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
        if p.is_require_grad() {
            self.0.push(p.id);
        }
    }
}

fn assert_all_have_grads<M: Module<AB>>(model: &M, grads: &GradientsParams) {
    let mut t = Trainable(Vec::new());
    model.visit(&mut t);
    assert!(!t.0.is_empty());
    let missing =
        t.0.iter()
            .filter(|id| {
                grads.get::<Flex, 1>(**id).is_none()
                    && grads.get::<Flex, 2>(**id).is_none()
                    && grads.get::<Flex, 3>(**id).is_none()
                    && grads.get::<Flex, 4>(**id).is_none()
            })
            .count();
    assert_eq!(
        missing,
        0,
        "{missing} of {} trainable parameters got no gradient",
        t.0.len()
    );
}

#[test]
fn selective_mae_batch_of_one() {
    let device = Default::default();
    let (vit, dec) = tiny();
    let model = SelectiveMae::<AB>::new(&vit, &dec, &device);
    let imgs = Tensor::<AB, 4>::random([1, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let step = SelectiveStep {
        counts: TokenCounts::new(16, 0.75, 0.25).unwrap(),
        mode: SelectionMode::HogTopk,
        stage: Stage::Near,
        norm_pix: true,
    };
    let (loss, plans) = model.forward_loss(imgs, &step, &mut [ChaCha8Rng::seed_from_u64(0)]);
    assert_eq!(loss.dims(), [1]);
    assert_eq!(plans[0].visible().len(), 4);
    let total = loss.mean();
    let value: f32 = total.clone().into_scalar();
    // norm-pix targets have unit variance; an untrained decoder predicts ~0.
    assert!(
        value.is_finite() && value > 0.3 && value < 3.0,
        "loss {value}"
    );
    let grads = GradientsParams::from_grads(total.backward(), &model);
    assert_all_have_grads(&model, &grads);
}

#[test]
fn mae_batch_of_one() {
    let device = Default::default();
    let (vit, dec) = tiny();
    let model = Mae::<AB>::new(&vit, &dec, &device);
    let imgs = Tensor::<AB, 4>::random([1, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let (loss, masks) = model.forward_loss(imgs, 0.75, true, &mut [ChaCha8Rng::seed_from_u64(0)]);
    assert_eq!(loss.dims(), [1]);
    assert_eq!(masks[0].visible().len(), 4);
    let total = loss.mean();
    let value: f32 = total.clone().into_scalar();
    assert!(
        value.is_finite() && value > 0.3 && value < 3.0,
        "loss {value}"
    );
    let grads = GradientsParams::from_grads(total.backward(), &model);
    assert_all_have_grads(&model, &grads);
}

/// The encoder's parameters carry timm's names (Burn calls LayerNorm
/// weight/bias gamma/beta; the checkpoint writer renames those).
#[test]
fn encoder_parameter_paths_follow_timm() {
    struct Paths(Vec<String>, Vec<String>);
    impl<B: Backend> ModuleVisitor<B> for Paths {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.1.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.1.pop();
        }
        fn visit_float<const D: usize>(&mut self, _: &Param<Tensor<B, D>>) {
            self.0.push(self.1.join("."));
        }
    }
    let (vit, _) = tiny();
    let enc = smae_models::Vit::<Flex>::new(&vit, &Default::default());
    let mut p = Paths(Vec::new(), Vec::new());
    enc.visit(&mut p);
    for want in [
        "patch_embed.proj.weight",
        "patch_embed.proj.bias",
        "cls_token",
        "pos_embed",
        "blocks.0.norm1.gamma",
        "blocks.0.attn.qkv.weight",
        "blocks.0.attn.proj.bias",
        "blocks.1.mlp.fc1.weight",
        "blocks.1.mlp.fc2.bias",
        "norm.beta",
    ] {
        assert!(p.0.iter().any(|x| x == want), "missing {want} in {:?}", p.0);
    }
    // 4 (patch embed, tokens) + 12 per block + 2 (norm)
    assert_eq!(p.0.len(), 4 + 12 * 2 + 2);
}
