//! The downstream heads: shapes, gradients to every trainable parameter,
//! and detection decoding consistent with the targets' geometry.

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use smae_geom::{BBox, RBox};
use smae_models::detector::locations;
use smae_models::fcos::{assign, loss, GtObject};
use smae_models::{Classifier, Detector, Segmenter, VitConfig};

type AB = Autodiff<Flex>;

fn vit() -> VitConfig {
    VitConfig {
        img_size: 64,
        patch_size: 16,
        in_chans: 3,
        dim: 32,
        depth: 2,
        heads: 4,
        mlp_ratio: 2.0,
    }
}

struct Trainable(Vec<ParamId>);
impl<B: Backend> ModuleVisitor<B> for Trainable {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
        if p.is_require_grad() {
            self.0.push(p.id);
        }
    }
}

fn missing_grads<M: Module<AB>>(m: &M, g: &GradientsParams) -> usize {
    let mut t = Trainable(Vec::new());
    m.visit(&mut t);
    t.0.iter()
        .filter(|id| {
            g.get::<Flex, 1>(**id).is_none()
                && g.get::<Flex, 2>(**id).is_none()
                && g.get::<Flex, 3>(**id).is_none()
                && g.get::<Flex, 4>(**id).is_none()
        })
        .count()
}

fn imgs() -> Tensor<AB, 4> {
    Tensor::random(
        [2, 3, 64, 64],
        Distribution::Normal(0.0, 1.0),
        &Default::default(),
    )
}

#[test]
fn classifier() {
    let m = Classifier::<AB>::new(&vit(), 5, true, &Default::default());
    let out = m.forward(imgs());
    assert_eq!(out.dims(), [2, 5]);
    let g = GradientsParams::from_grads(out.sum().backward(), &m);
    assert_eq!(missing_grads(&m, &g), 0);
}

#[test]
fn segmenter_upernet() {
    let m = Segmenter::<AB>::new(&vit(), 3, 16, &Default::default());
    let out = m.forward(imgs());
    assert_eq!(out.dims(), [2, 3, 64, 64]);
    let g = GradientsParams::from_grads(out.square().mean().backward(), &m);
    // UperNet reads intermediate blocks: only the encoder's final norm is unused.
    assert_eq!(missing_grads(&m, &g), 2);
    assert!(g.get::<Flex, 1>(m.encoder.norm.gamma.id).is_none());
    assert!(g
        .get::<Flex, 1>(m.encoder.blocks[1].norm1.gamma.id)
        .is_some());
}

#[test]
fn detector_trains_and_decodes() {
    for oriented in [false, true] {
        let m = Detector::<AB>::new(&vit(), 2, 16, oriented, &Default::default());
        let x = imgs();
        let out = m.forward(x.clone());
        let a = locations(64, 64, 16).len();
        assert_eq!(a, 64 + 16 + 4);
        assert_eq!(out.cls.dims(), [2, a, 2]);
        assert_eq!(out.dist.dims(), [2, a, 4]);
        let gt = GtObject {
            class: 1,
            bbox: BBox::new(10.0, 10.0, 40.0, 30.0),
            rbox: oriented.then(|| RBox::new(25.0, 20.0, 30.0, 20.0, 0.2)),
        };
        let t = assign(&locations(64, 64, 16), &[vec![gt], vec![]], 2, 16);
        assert!(t.num_pos() > 0);
        let l = loss(&out, &t);
        let v: f32 = l.total.clone().into_scalar();
        assert!(v.is_finite() && v > 0.0, "loss {v}");
        assert_eq!(l.angle.is_some(), oriented);
        let g = GradientsParams::from_grads(l.total.backward(), &m);
        assert_eq!(missing_grads(&m, &g), 0, "oriented {oriented}");
        let (boxes, scores) = m.decode(x);
        assert_eq!(boxes.dims(), [2, a, if oriented { 5 } else { 4 }]);
        assert_eq!(scores.dims(), [2, a, 2]);
    }
}

/// Decoding the assignment's own targets reproduces the ground-truth box:
/// the box formula of `decode` is the inverse of the distances of `assign`.
#[test]
fn decode_inverts_the_targets() {
    let locs = locations(64, 64, 16);
    let r = RBox::new(30.0, 28.0, 36.0, 14.0, -0.6);
    let gt = GtObject {
        class: 0,
        bbox: r.bounds(),
        rbox: Some(r),
    };
    let t = assign(&locs, &[vec![gt]], 1, 16);
    for (i, &(x, y, _, _)) in locs.iter().enumerate() {
        if t.pos[i] == 0.0 {
            continue;
        }
        let [l, tp, rr, b] = [
            t.dist[4 * i],
            t.dist[4 * i + 1],
            t.dist[4 * i + 2],
            t.dist[4 * i + 3],
        ];
        let th = t.angle[i];
        let (du, dv) = ((rr - l) / 2.0, (b - tp) / 2.0);
        let cx = x + du * th.cos() - dv * th.sin();
        let cy = y + du * th.sin() + dv * th.cos();
        let back = RBox::new(cx, cy, l + rr, tp + b, th);
        assert!(back.iou(&r) > 0.999, "{back:?}");
    }
}
