//! Images to patch vectors and back, in MAE's layout: patches in raster
//! order, values inside a patch ordered (row, column, channel).

use burn::prelude::*;

/// `[B, C, H, W]` -> `[B, (H/p)*(W/p), p*p*C]`.
pub fn patchify<B: Backend>(imgs: Tensor<B, 4>, p: usize) -> Tensor<B, 3> {
    let [b, c, h, w] = imgs.dims();
    let (gh, gw) = (h / p, w / p);
    imgs.reshape([b, c, gh, p, gw, p])
        .permute([0, 2, 4, 3, 5, 1])
        .reshape([b, gh * gw, p * p * c])
}

/// Inverse of [`patchify`] for a `gh x gw` grid of `c`-channel patches.
pub fn unpatchify<B: Backend>(
    x: Tensor<B, 3>,
    p: usize,
    c: usize,
    gh: usize,
    gw: usize,
) -> Tensor<B, 4> {
    let [b, _, _] = x.dims();
    x.reshape([b, gh, gw, p, p, c])
        .permute([0, 5, 1, 3, 2, 4])
        .reshape([b, c, gh * p, gw * p])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_backend::{device, TB};

    /// The value at (b, c, y, x) is y*100 + x*10 + c, so positions can be read back.
    fn coded_image(h: usize, w: usize) -> Tensor<TB, 4> {
        let mut v = Vec::new();
        for c in 0..3 {
            for y in 0..h {
                for x in 0..w {
                    v.push((y * 100 + x * 10 + c) as f32);
                }
            }
        }
        Tensor::<TB, 1>::from_floats(v.as_slice(), &device()).reshape([1, 3, h, w])
    }

    #[test]
    fn patch_order_is_raster_and_row_col_channel_inside() {
        let p = 2;
        let x = patchify(coded_image(4, 6), p);
        assert_eq!(x.dims(), [1, 6, 12]);
        let v: Vec<f32> = x.into_data().to_vec().unwrap();
        // Patch 4 is grid row 1, col 1: pixels y in 2..4, x in 2..4.
        let patch4 = &v[4 * 12..5 * 12];
        let mut want = Vec::new();
        for y in 2..4 {
            for xx in 2..4 {
                for c in 0..3 {
                    want.push((y * 100 + xx * 10 + c) as f32);
                }
            }
        }
        assert_eq!(patch4, want.as_slice());
    }

    #[test]
    fn round_trip() {
        let img = coded_image(8, 4);
        let back = unpatchify(patchify(img.clone(), 4), 4, 3, 2, 1);
        assert_eq!(back.into_data(), img.into_data());
    }
}
