//! Semantic segmentation: UperNet on a ViT, as the paper (after BEiT / MAE)
//! builds it. Four encoder depths (blocks 3, 5, 7, 11 of 12, 0-based, scaled
//! for other depths) are made multi-scale by deconvolution x4, x2, identity
//! and 2x2 max-pooling (strides p/4, p/2, p, 2p for patch p); a pyramid
//! pooling module on the coarsest level and a top-down FPN fuse them, and the
//! logits are resized to the input.

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::module::adaptive_avg_pool2d;

use crate::config::VitConfig;
use crate::conv_block::{conv, deconv, max_pool2, resize, tokens_to_map, ConvGn, Up4};
use crate::vit::Vit;

/// Pyramid pooling bins (PSPNet).
pub const PPM_SCALES: [usize; 4] = [1, 2, 3, 6];

/// The encoder blocks UperNet reads for a ViT of `depth` blocks: 3, 5, 7, 11
/// for 12, the same relative depths otherwise.
pub fn feature_blocks(depth: usize) -> [usize; 4] {
    [3usize, 5, 7, 11].map(|i| (((i + 1) * depth) as f64 / 12.0).round().max(1.0) as usize - 1)
}

#[derive(Module, Debug)]
pub struct UperHead<B: Backend> {
    pub lateral: Vec<ConvGn<B>>,
    pub ppm: Vec<ConvGn<B>>,
    pub bottleneck: ConvGn<B>,
    pub fpn: Vec<ConvGn<B>>,
    pub fuse: ConvGn<B>,
    pub cls: Conv2d<B>,
}

impl<B: Backend> UperHead<B> {
    pub fn new(c_in: usize, c: usize, classes: usize, device: &B::Device) -> Self {
        Self {
            lateral: (0..3).map(|_| ConvGn::new(c_in, c, 1, device)).collect(),
            ppm: PPM_SCALES
                .iter()
                .map(|_| ConvGn::new(c_in, c, 1, device))
                .collect(),
            bottleneck: ConvGn::new(c_in + PPM_SCALES.len() * c, c, 3, device),
            fpn: (0..3).map(|_| ConvGn::new(c, c, 3, device)).collect(),
            fuse: ConvGn::new(4 * c, c, 3, device),
            cls: conv(c, classes, 1, device),
        }
    }

    /// Four levels, finest first -> logits at the finest level's resolution.
    pub fn forward(&self, levels: [Tensor<B, 4>; 4]) -> Tensor<B, 4> {
        let [l0, l1, l2, l3] = levels;
        // Pyramid pooling on the coarsest level.
        let [_, _, h3, w3] = l3.dims();
        let mut ppm = vec![l3.clone()];
        for (s, block) in PPM_SCALES.iter().zip(&self.ppm) {
            ppm.push(resize(
                block.forward(adaptive_avg_pool2d(l3.clone(), [*s, *s])),
                h3,
                w3,
            ));
        }
        let top = self.bottleneck.forward(Tensor::cat(ppm, 1));
        // Top-down path.
        let mut lat: Vec<Tensor<B, 4>> = [l0, l1, l2]
            .into_iter()
            .zip(&self.lateral)
            .map(|(x, c)| c.forward(x))
            .collect();
        lat.push(top);
        for i in (1..4).rev() {
            let [_, _, h, w] = lat[i - 1].dims();
            let up = resize(lat[i].clone(), h, w);
            lat[i - 1] = lat[i - 1].clone() + up;
        }
        let [_, _, h0, w0] = lat[0].dims();
        let mut outs: Vec<Tensor<B, 4>> = (0..3)
            .map(|i| self.fpn[i].forward(lat[i].clone()))
            .collect();
        outs.push(lat[3].clone());
        let outs: Vec<Tensor<B, 4>> = outs.into_iter().map(|x| resize(x, h0, w0)).collect();
        self.cls.forward(self.fuse.forward(Tensor::cat(outs, 1)))
    }
}

#[derive(Module, Debug)]
pub struct Segmenter<B: Backend> {
    pub encoder: Vit<B>,
    pub up4: Up4<B>,
    pub up2: ConvTranspose2d<B>,
    pub decode_head: UperHead<B>,
}

impl<B: Backend> Segmenter<B> {
    pub fn new(vit: &VitConfig, classes: usize, channels: usize, device: &B::Device) -> Self {
        Self {
            encoder: Vit::new(vit, device),
            up4: Up4::new(vit.dim, device),
            up2: deconv(vit.dim, device),
            decode_head: UperHead::new(vit.dim, channels, classes, device),
        }
    }

    /// Per-pixel class logits `[B, classes, H, W]`.
    pub fn forward(&self, imgs: Tensor<B, 4>) -> Tensor<B, 4> {
        let [_, _, h, w] = imgs.dims();
        let p = self.encoder.patch_size;
        let (gh, gw) = (h / p, w / p);
        let ids = feature_blocks(self.encoder.depth());
        let feats = self.encoder.forward_blocks(imgs, &ids);
        let maps: Vec<Tensor<B, 4>> = feats
            .into_iter()
            .map(|t| tokens_to_map(t, gh, gw))
            .collect();
        let [f0, f1, f2, f3]: [Tensor<B, 4>; 4] = maps
            .try_into()
            .unwrap_or_else(|_| unreachable!("four feature blocks"));
        let levels = [
            self.up4.forward(f0),
            self.up2.forward(f1),
            f2,
            max_pool2(f3),
        ];
        resize(self.decode_head.forward(levels), h, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_blocks_scale_with_depth() {
        assert_eq!(feature_blocks(12), [3, 5, 7, 11]);
        assert_eq!(feature_blocks(24), [7, 11, 15, 23]);
        assert_eq!(feature_blocks(6), [1, 2, 3, 5]);
        assert_eq!(feature_blocks(1), [0, 0, 0, 0]);
    }
}
