//! Object detection: a dense, anchor-free (FCOS-style) head on a simple
//! feature pyramid built from the ViT's last block (ViTDet): deconvolution
//! to stride p/2, the tokens at stride p, max-pooling to stride 2p (8, 16,
//! 32 for patch 16).
//!
//! Every location predicts per-class scores, its distances to the box sides
//! (left, top, right, bottom) and a centerness; with `oriented` it also
//! predicts the box angle, and the distances are measured in the box's own
//! frame. [`Detector::decode`] turns these into boxes in input pixels and
//! scores, which is also what the exported graph outputs (no NMS inside).

use burn::module::Param;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::config::VitConfig;
use crate::conv_block::{conv, deconv, max_pool2, tokens_to_map, ConvGn};
use crate::vit::Vit;

/// FCOS's prior on foreground for the classification bias.
const PRIOR: f64 = 0.01;

#[derive(Module, Debug)]
pub struct Detector<B: Backend> {
    pub encoder: Vit<B>,
    pub up2: ConvTranspose2d<B>,
    pub lateral: Vec<ConvGn<B>>,
    pub smooth: Vec<ConvGn<B>>,
    pub cls_tower: Vec<ConvGn<B>>,
    pub reg_tower: Vec<ConvGn<B>>,
    pub cls_score: Conv2d<B>,
    pub bbox_pred: Conv2d<B>,
    pub centerness: Conv2d<B>,
    pub angle_pred: Option<Conv2d<B>>,
    /// Learnable scale of the distances per level.
    pub scales: Param<Tensor<B, 1>>,
    pub classes: usize,
}

/// Raw dense outputs, levels concatenated (finest first, row-major): `A`
/// locations per image.
pub struct DenseOutput<B: Backend> {
    /// `[B, A, K]` class logits.
    pub cls: Tensor<B, 3>,
    /// `[B, A, 4]` distances (l, t, r, b) in input pixels, > 0.
    pub dist: Tensor<B, 3>,
    /// `[B, A]` centerness logits.
    pub ctr: Tensor<B, 2>,
    /// `[B, A]` angles in radians (any range; a box is periodic in pi).
    pub angle: Option<Tensor<B, 2>>,
}

/// The pyramid's strides for patch size `p`.
pub fn strides(p: usize) -> [usize; 3] {
    [p / 2, p, 2 * p]
}

/// Location centres `(x, y, stride, level)` of an `h x w` input, in the
/// order of [`DenseOutput`].
pub fn locations(h: usize, w: usize, p: usize) -> Vec<(f32, f32, f32, usize)> {
    let mut out = Vec::new();
    for (level, s) in strides(p).into_iter().enumerate() {
        let (lh, lw) = level_size(h, w, p, level);
        for y in 0..lh {
            for x in 0..lw {
                out.push((
                    (x * s) as f32 + s as f32 / 2.0,
                    (y * s) as f32 + s as f32 / 2.0,
                    s as f32,
                    level,
                ));
            }
        }
    }
    out
}

/// Feature map size of `level` (0: stride p/2, 1: p, 2: 2p).
pub fn level_size(h: usize, w: usize, p: usize, level: usize) -> (usize, usize) {
    let (gh, gw) = (h / p, w / p);
    match level {
        0 => (2 * gh, 2 * gw),
        1 => (gh, gw),
        _ => (gh / 2, gw / 2),
    }
}

impl<B: Backend> Detector<B> {
    pub fn new(
        vit: &VitConfig,
        classes: usize,
        channels: usize,
        oriented: bool,
        device: &B::Device,
    ) -> Self {
        let d = vit.dim;
        let mut cls_score = conv(channels, classes, 3, device);
        let bias = -((1.0 - PRIOR) / PRIOR).ln();
        cls_score.bias = Some(Param::from_tensor(Tensor::full([classes], bias, device)));
        Self {
            encoder: Vit::new(vit, device),
            up2: deconv(d, device),
            lateral: (0..3)
                .map(|_| ConvGn::new(d, channels, 1, device))
                .collect(),
            smooth: (0..3)
                .map(|_| ConvGn::new(channels, channels, 3, device))
                .collect(),
            cls_tower: (0..2)
                .map(|_| ConvGn::new(channels, channels, 3, device))
                .collect(),
            reg_tower: (0..2)
                .map(|_| ConvGn::new(channels, channels, 3, device))
                .collect(),
            cls_score,
            bbox_pred: conv(channels, 4, 3, device),
            centerness: conv(channels, 1, 3, device),
            angle_pred: oriented.then(|| conv(channels, 1, 3, device)),
            scales: Param::from_tensor(Tensor::ones([3], device)),
            classes,
        }
    }

    pub fn oriented(&self) -> bool {
        self.angle_pred.is_some()
    }

    /// Dense predictions for every location of every level.
    pub fn forward(&self, imgs: Tensor<B, 4>) -> DenseOutput<B> {
        let [b, _, h, w] = imgs.dims();
        let p = self.encoder.patch_size;
        let map = tokens_to_map(self.encoder.forward(imgs), h / p, w / p);
        let levels = [self.up2.forward(map.clone()), map.clone(), max_pool2(map)];
        let scales = self.scales.val();
        let (mut cls, mut dist, mut ctr, mut angle) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (l, x) in levels.into_iter().enumerate() {
            let x = self.smooth[l].forward(self.lateral[l].forward(x));
            let c = self.cls_tower.iter().fold(x.clone(), |t, m| m.forward(t));
            let r = self.reg_tower.iter().fold(x, |t, m| m.forward(t));
            let s = strides(p)[l] as f32;
            let [_, _, lh, lw] = c.dims();
            let flat = |t: Tensor<B, 4>| {
                let [_, k, _, _] = t.dims();
                t.reshape([b, k, lh * lw]).swap_dims(1, 2)
            };
            cls.push(flat(self.cls_score.forward(c)));
            let scale = scales.clone().narrow(0, l, 1).reshape([1, 1, 1, 1]);
            // exp keeps a gradient for every distance (relu would kill the ones
            // starting below zero); clamped so a wild step cannot overflow.
            dist.push(flat(
                (self.bbox_pred.forward(r.clone()) * scale)
                    .clamp_max(8.0)
                    .exp()
                    .mul_scalar(s),
            ));
            ctr.push(flat(self.centerness.forward(r.clone())).reshape([b, lh * lw]));
            if let Some(a) = &self.angle_pred {
                angle.push(flat(a.forward(r)).reshape([b, lh * lw]));
            }
        }
        DenseOutput {
            cls: Tensor::cat(cls, 1),
            dist: Tensor::cat(dist, 1),
            ctr: Tensor::cat(ctr, 1),
            angle: (!angle.is_empty()).then(|| Tensor::cat(angle, 1)),
        }
    }

    /// Boxes in input pixels and scores, the graph's public output:
    /// `([B, A, 4] x0,y0,x1,y1 or [B, A, 5] cx,cy,w,h,angle, [B, A, K])`,
    /// scores = sqrt(sigmoid(class) * sigmoid(centerness)).
    pub fn decode(&self, imgs: Tensor<B, 4>) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let [b, _, h, w] = imgs.dims();
        let device = imgs.device();
        let out = self.forward(imgs);
        let locs = locations(h, w, self.encoder.patch_size);
        let a = locs.len();
        let pts: Vec<f32> = locs.iter().flat_map(|l| [l.0, l.1]).collect();
        let pts =
            Tensor::<B, 1>::from_data(TensorData::new(pts, [a * 2]), &device).reshape([1, a, 2]);
        let scores = (sigmoid(out.cls) * sigmoid(out.ctr).unsqueeze_dim::<3>(2)).sqrt();
        let d = out.dist;
        let (l, t) = (d.clone().narrow(2, 0, 1), d.clone().narrow(2, 1, 1));
        let (r, bo) = (d.clone().narrow(2, 2, 1), d.narrow(2, 3, 1));
        let (px, py) = (pts.clone().narrow(2, 0, 1), pts.narrow(2, 1, 1));
        let boxes = match out.angle {
            None => Tensor::cat(vec![px.clone() - l, py.clone() - t, px + r, py + bo], 2),
            Some(angle) => {
                let th = angle.unsqueeze_dim::<3>(2);
                let (sin, cos) = (th.clone().sin(), th.clone().cos());
                // centre offset in the box frame, rotated to the image frame
                let du = (r.clone() - l.clone()).mul_scalar(0.5);
                let dv = (bo.clone() - t.clone()).mul_scalar(0.5);
                let cx = px + du.clone() * cos.clone() - dv.clone() * sin.clone();
                let cy = py + du * sin + dv * cos;
                Tensor::cat(vec![cx, cy, l + r, t + bo, th], 2)
            }
        };
        let _ = b;
        (boxes, scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_cover_three_levels() {
        let l = locations(64, 32, 16);
        // levels: 8x4 at stride 8, 4x2 at 16, 2x1 at 32
        assert_eq!(l.len(), 32 + 8 + 2);
        assert_eq!(l[0], (4.0, 4.0, 8.0, 0));
        assert_eq!(l[1], (12.0, 4.0, 8.0, 0));
        assert_eq!(l[32], (8.0, 8.0, 16.0, 1));
        assert_eq!(l[41], (16.0, 48.0, 32.0, 2));
    }
}
