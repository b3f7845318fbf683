//! Lowering of smae's Burn modules to ONNX operators (opset 17+), one
//! function per module, mirroring the module's `forward` line by line.

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{GroupNorm, LayerNorm, Linear, PaddingConfig2d};
use burn::prelude::*;
use smae_models::attention::Attention;
use smae_models::block::Block;
use smae_models::conv_block::{ConvGn, Up4};
use smae_models::init::LN_EPS;
use smae_models::mlp::Mlp;
use smae_models::Vit;

use crate::graph::{Attr, Graph};

/// A tensor's shape and values.
pub fn data<B: Backend, const D: usize>(t: Tensor<B, D>) -> (Vec<usize>, Vec<f32>) {
    let dims = t.dims().to_vec();
    let v = t
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap_or_default();
    (dims, v)
}

fn weight<B: Backend, const D: usize>(g: &mut Graph, prefix: &str, t: Tensor<B, D>) -> String {
    let (dims, v) = data(t);
    g.weight(prefix, &dims, &v)
}

/// A MatMul / Conv / ConvTranspose weight with its output channels on `axis`.
fn matrix<B: Backend, const D: usize>(
    g: &mut Graph,
    prefix: &str,
    t: Tensor<B, D>,
    axis: usize,
) -> String {
    let (dims, v) = data(t);
    g.matrix(prefix, &dims, &v, axis)
}

/// Burn stores Linear weights as `[in, out]`, so `y = x W + b` is a plain MatMul.
pub fn linear<B: Backend>(g: &mut Graph, x: &str, l: &Linear<B>) -> String {
    let w = matrix(g, "linear_w", l.weight.val(), 1);
    let y = g.node("MatMul", &[x, &w], vec![]);
    match &l.bias {
        Some(b) => {
            let b = weight(g, "linear_b", b.val());
            g.node("Add", &[&y, &b], vec![])
        }
        None => y,
    }
}

pub fn layer_norm<B: Backend>(g: &mut Graph, x: &str, ln: &LayerNorm<B>) -> String {
    let gamma = weight(g, "ln_g", ln.gamma.val());
    let beta = match &ln.beta {
        Some(b) => weight(g, "ln_b", b.val()),
        None => {
            let n = ln.gamma.dims()[0];
            g.constant("ln_b", &[n], &vec![0.0; n])
        }
    };
    g.node(
        "LayerNormalization",
        &[x, &gamma, &beta],
        vec![Attr::Int("axis", -1), Attr::Float("epsilon", LN_EPS as f32)],
    )
}

/// Exact GELU: `0.5 x (1 + erf(x / sqrt 2))`.
pub fn gelu(g: &mut Graph, x: &str) -> String {
    let s = g.scalar("sqrt2", std::f32::consts::SQRT_2);
    let one = g.scalar("one", 1.0);
    let half = g.scalar("half", 0.5);
    let d = g.node("Div", &[x, &s], vec![]);
    let e = g.node("Erf", &[&d], vec![]);
    let a = g.node("Add", &[&e, &one], vec![]);
    let m = g.node("Mul", &[x, &a], vec![]);
    g.node("Mul", &[&m, &half], vec![])
}

/// Splits heads and applies softmax attention; `q`, `k`, `v` are `[N, H, L, dh]`.
fn sdpa(g: &mut Graph, q: &str, k: &str, v: &str, dh: usize) -> String {
    let kt = g.node(
        "Transpose",
        &[k],
        vec![Attr::Ints("perm", vec![0, 1, 3, 2])],
    );
    let s = g.node("MatMul", &[q, &kt], vec![]);
    let scale = g.scalar("attn_scale", 1.0 / (dh as f32).sqrt());
    let s = g.node("Mul", &[&s, &scale], vec![]);
    let w = g.node("Softmax", &[&s], vec![Attr::Int("axis", -1)]);
    g.node("MatMul", &[&w, v], vec![])
}

/// `[N, H, L, dh]` -> `[N, L, H*dh]`.
fn merge_heads(g: &mut Graph, x: &str, d: usize) -> String {
    let t = g.node(
        "Transpose",
        &[x],
        vec![Attr::Ints("perm", vec![0, 2, 1, 3])],
    );
    let shape = g.ints("merge_shape", &[0, 0, d as i64]);
    g.node("Reshape", &[&t, &shape], vec![])
}

/// `x` indexed at `index` along `axis` (the axis disappears).
pub fn take(g: &mut Graph, x: &str, axis: i64, index: i64) -> String {
    let i = g.int_scalar("take_i", index);
    g.node("Gather", &[x, &i], vec![Attr::Int("axis", axis)])
}

pub fn attention<B: Backend>(g: &mut Graph, x: &str, a: &Attention<B>, d: usize) -> String {
    let h = a.heads;
    let dh = d / h;
    let qkv = linear(g, x, &a.qkv);
    let shape = g.ints("qkv_shape", &[0, 0, 3, h as i64, dh as i64]);
    let r = g.node("Reshape", &[&qkv, &shape], vec![]);
    let p = g.node(
        "Transpose",
        &[&r],
        vec![Attr::Ints("perm", vec![2, 0, 3, 1, 4])],
    );
    let q = take(g, &p, 0, 0);
    let k = take(g, &p, 0, 1);
    let v = take(g, &p, 0, 2);
    let o = sdpa(g, &q, &k, &v, dh);
    let m = merge_heads(g, &o, d);
    linear(g, &m, &a.proj)
}

pub fn mlp<B: Backend>(g: &mut Graph, x: &str, m: &Mlp<B>) -> String {
    let h = linear(g, x, &m.fc1);
    let h = gelu(g, &h);
    linear(g, &h, &m.fc2)
}

pub fn block<B: Backend>(g: &mut Graph, x: &str, b: &Block<B>, d: usize) -> String {
    let n = layer_norm(g, x, &b.norm1);
    let a = attention(g, &n, &b.attn, d);
    let x = g.node("Add", &[x, &a], vec![]);
    let n = layer_norm(g, &x, &b.norm2);
    let m = mlp(g, &n, &b.mlp);
    g.node("Add", &[&x, &m], vec![])
}

pub fn conv2d<B: Backend>(g: &mut Graph, x: &str, c: &Conv2d<B>) -> String {
    let w = matrix(g, "conv_w", c.weight.val(), 0);
    let pads = match &c.padding {
        PaddingConfig2d::Explicit(t, l, b, r) => vec![*t as i64, *l as i64, *b as i64, *r as i64],
        PaddingConfig2d::Valid => vec![0, 0, 0, 0],
        PaddingConfig2d::Same => {
            let (kh, kw) = (c.kernel_size[0] as i64, c.kernel_size[1] as i64);
            vec![(kh - 1) / 2, (kw - 1) / 2, kh / 2, kw / 2]
        }
    };
    let attrs = vec![
        Attr::Ints(
            "kernel_shape",
            c.kernel_size.iter().map(|v| *v as i64).collect(),
        ),
        Attr::Ints("strides", c.stride.iter().map(|v| *v as i64).collect()),
        Attr::Ints("dilations", c.dilation.iter().map(|v| *v as i64).collect()),
        Attr::Ints("pads", pads),
        Attr::Int("group", c.groups as i64),
    ];
    match &c.bias {
        Some(b) => {
            let b = weight(g, "conv_b", b.val());
            g.node("Conv", &[x, &w, &b], attrs)
        }
        None => g.node("Conv", &[x, &w], attrs),
    }
}

pub fn conv_transpose2d<B: Backend>(g: &mut Graph, x: &str, c: &ConvTranspose2d<B>) -> String {
    // [in, out / groups, kh, kw]
    let w = matrix(g, "deconv_w", c.weight.val(), 1);
    let attrs = vec![
        Attr::Ints(
            "kernel_shape",
            c.kernel_size.iter().map(|v| *v as i64).collect(),
        ),
        Attr::Ints("strides", c.stride.iter().map(|v| *v as i64).collect()),
        Attr::Ints("dilations", c.dilation.iter().map(|v| *v as i64).collect()),
        Attr::Ints(
            "pads",
            vec![
                c.padding[0] as i64,
                c.padding[1] as i64,
                c.padding[0] as i64,
                c.padding[1] as i64,
            ],
        ),
        Attr::Ints(
            "output_padding",
            c.padding_out.iter().map(|v| *v as i64).collect(),
        ),
        Attr::Int("group", c.groups as i64),
    ];
    match &c.bias {
        Some(b) => {
            let b = weight(g, "deconv_b", b.val());
            g.node("ConvTranspose", &[x, &w, &b], attrs)
        }
        None => g.node("ConvTranspose", &[x, &w], attrs),
    }
}

/// GroupNorm as InstanceNormalization over `[N, G, C/G * H * W]`, then the
/// per-channel affine.
pub fn group_norm<B: Backend>(g: &mut Graph, x: &str, gn: &GroupNorm<B>) -> String {
    let (groups, c) = (gn.num_groups, gn.num_channels);
    let shape = g.node("Shape", &[x], vec![]);
    let grouped = g.ints("gn_shape", &[0, groups as i64, -1]);
    let r = g.node("Reshape", &[x, &grouped], vec![]);
    let ones = g.constant("gn_one", &[groups], &vec![1.0; groups]);
    let zeros = g.constant("gn_zero", &[groups], &vec![0.0; groups]);
    let n = g.node(
        "InstanceNormalization",
        &[&r, &ones, &zeros],
        vec![Attr::Float("epsilon", gn.epsilon as f32)],
    );
    let back = g.node("Reshape", &[&n, &shape], vec![]);
    if !gn.affine {
        return back;
    }
    let gamma = gn
        .gamma
        .as_ref()
        .map(|p| data(p.val()).1)
        .unwrap_or_else(|| vec![1.0; c]);
    let beta = gn
        .beta
        .as_ref()
        .map(|p| data(p.val()).1)
        .unwrap_or_else(|| vec![0.0; c]);
    let gw = g.weight("gn_g", &[c, 1, 1], &gamma);
    let bw = g.weight("gn_b", &[c, 1, 1], &beta);
    let m = g.node("Mul", &[&back, &gw], vec![]);
    g.node("Add", &[&m, &bw], vec![])
}

pub fn conv_gn<B: Backend>(g: &mut Graph, x: &str, m: &ConvGn<B>) -> String {
    let c = conv2d(g, x, &m.conv);
    let n = group_norm(g, &c, &m.norm);
    g.node("Relu", &[&n], vec![])
}

pub fn up4<B: Backend>(g: &mut Graph, x: &str, m: &Up4<B>) -> String {
    let a = conv_transpose2d(g, x, &m.deconv1);
    let n = group_norm(g, &a, &m.norm);
    let e = gelu(g, &n);
    conv_transpose2d(g, &e, &m.deconv2)
}

pub fn max_pool2(g: &mut Graph, x: &str) -> String {
    g.node(
        "MaxPool",
        &[x],
        vec![
            Attr::Ints("kernel_shape", vec![2, 2]),
            Attr::Ints("strides", vec![2, 2]),
        ],
    )
}

/// Bilinear resize of an `ih x iw` map to `h x w` with half-pixel centres
/// (no antialiasing; what Burn's bilinear interpolation computes), as two
/// MatMuls with constant interpolation matrices, rows then columns: the
/// batch and channels stay free, and tract, whose Resize is a slow generic
/// loop (8% of a UperNet tile in its profile, BENCHMARKS.md), runs it as
/// two small matrix products. A same-size resize is the identity.
pub fn resize(g: &mut Graph, x: &str, from: (usize, usize), to: (usize, usize)) -> String {
    if from == to {
        return x.to_string();
    }
    let ((ih, iw), (h, w)) = (from, to);
    let rows = g.constant("resize_rows", &[h, ih], &interpolation(ih, h));
    let y = g.node("MatMul", &[&rows, x], vec![]);
    // columns: x [.., iw] times the transposed matrix [iw, w]
    let m = interpolation(iw, w);
    let cols_t: Vec<f32> = (0..iw * w).map(|k| m[(k % w) * iw + k / w]).collect();
    let cols = g.constant("resize_cols", &[iw, w], &cols_t);
    g.node("MatMul", &[&y, &cols], vec![])
}

/// The `n_out x n_in` matrix of 1-D linear interpolation with half-pixel
/// centres (ONNX Resize `linear` / `half_pixel`): output `o` samples input
/// position `(o + 0.5) n_in / n_out - 0.5`, clamped to the edges.
pub fn interpolation(n_in: usize, n_out: usize) -> Vec<f32> {
    let mut m = vec![0f32; n_out * n_in];
    let scale = n_in as f64 / n_out as f64;
    for o in 0..n_out {
        let src = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, (n_in - 1) as f64);
        let i0 = src.floor() as usize;
        let i1 = (i0 + 1).min(n_in - 1);
        let w1 = src - i0 as f64;
        m[o * n_in + i0] += (1.0 - w1) as f32;
        m[o * n_in + i1] += w1 as f32;
    }
    m
}

/// Softmax over the `c` channels of an `N, C, H, W` map, written out
/// (`exp(x - max) / sum`, Burn's formula, the max as an elementwise Max of
/// the channels): tract runs Softmax and ReduceMax across a strided axis
/// one short lane at a time (a 224 px, 2-class map took 53 ms of a 150 ms
/// tile as a Softmax, 11 ms as a ReduceMax) and folds Transposes around
/// them back into that form, but runs these whole-map ops quickly.
pub fn softmax_channels(g: &mut Graph, x: &str, c: usize) -> String {
    let m = if c > 1 {
        let sizes = g.ints("split_sizes", &vec![1; c]);
        let parts: Vec<String> = (0..c).map(|_| g.fresh("channel")).collect();
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        g.node_to("Split", &[x, &sizes], &refs, vec![Attr::Int("axis", 1)]);
        g.node("Max", &refs, vec![])
    } else {
        x.to_string()
    };
    let d = g.node("Sub", &[x, &m], vec![]);
    let e = g.node("Exp", &[&d], vec![]);
    let s = reduce(g, "ReduceSum", &e, 1, true);
    g.node("Div", &[&e, &s], vec![])
}

/// A reduction over one axis. The axes became an input instead of an
/// attribute at opset 13 for ReduceSum, at opset 18 for the others.
pub fn reduce(g: &mut Graph, op: &str, x: &str, axis: i64, keep: bool) -> String {
    let keepdims = Attr::Int("keepdims", keep as i64);
    let axes_input = if op == "ReduceSum" { 13 } else { 18 };
    if g.opset >= axes_input {
        let ax = g.ints("reduce_axes", &[axis]);
        g.node(op, &[x, &ax], vec![keepdims])
    } else {
        g.node(op, &[x], vec![Attr::Ints("axes", vec![axis]), keepdims])
    }
}

/// Adaptive average pooling of an `h x w` map to `s x s` (PyTorch's bins:
/// rows `floor(i h / s)` to `ceil((i + 1) h / s)`), as one MatMul with a
/// constant averaging matrix: exact for any size.
pub fn adaptive_avg_pool(g: &mut Graph, x: &str, h: usize, w: usize, s: usize) -> String {
    let mut m = vec![0f32; h * w * s * s];
    for a in 0..s {
        let (r0, r1) = (a * h / s, ((a + 1) * h).div_ceil(s));
        for b in 0..s {
            let (c0, c1) = (b * w / s, ((b + 1) * w).div_ceil(s));
            let area = ((r1 - r0) * (c1 - c0)) as f32;
            for i in r0..r1 {
                for j in c0..c1 {
                    m[(i * w + j) * s * s + a * s + b] = 1.0 / area;
                }
            }
        }
    }
    let flat = g.ints("flat", &[0, 0, -1]);
    let r = g.node("Reshape", &[x, &flat], vec![]);
    let mat = g.constant("pool_m", &[h * w, s * s], &m);
    let p = g.node("MatMul", &[&r, &mat], vec![]);
    let shape = g.ints("pool_shape", &[0, 0, s as i64, s as i64]);
    g.node("Reshape", &[&p, &shape], vec![])
}

/// `[N, 1 + L, D]` (cls first) -> `[N, D, gh, gw]`.
pub fn tokens_to_map(g: &mut Graph, tokens: &str, gh: usize, gw: usize, d: usize) -> String {
    let st = g.ints("tok_start", &[1]);
    let en = g.ints("tok_end", &[i64::MAX]);
    let ax = g.ints("tok_axis", &[1]);
    let patches = g.node("Slice", &[tokens, &st, &en, &ax], vec![]);
    let t = g.node(
        "Transpose",
        &[&patches],
        vec![Attr::Ints("perm", vec![0, 2, 1])],
    );
    let shape = g.ints("map_shape", &[0, d as i64, gh as i64, gw as i64]);
    g.node("Reshape", &[&t, &shape], vec![])
}

/// Patch embedding + position embedding + cls token: `[N, 1 + L, D]`,
/// before the blocks.
fn vit_embed<B: Backend>(g: &mut Graph, images: &str, vit: &Vit<B>, img: usize) -> String {
    let d = vit.dim();
    let gh = img / vit.patch_size;
    let x = conv2d(g, images, &vit.patch_embed.proj);
    let flat = g.ints("pe_flat", &[0, d as i64, -1]);
    let x = g.node("Reshape", &[&x, &flat], vec![]);
    let x = g.node("Transpose", &[&x], vec![Attr::Ints("perm", vec![0, 2, 1])]);
    let (_, pos) = data(vit.patch_pos_embed(gh, gh));
    let pos = g.weight("pos_embed", &[1, gh * gh, d], &pos);
    let x = g.node("Add", &[&x, &pos], vec![]);
    // cls token + its position (row 0), broadcast over the batch.
    let (_, cls) = data(vit.cls_token.val() + vit.pos_embed.val().narrow(1, 0, 1));
    let cls = g.weight("cls", &[1, 1, d], &cls);
    let shape = g.node("Shape", &[images], vec![]);
    let s0 = g.ints("b_start", &[0]);
    let s1 = g.ints("b_end", &[1]);
    let batch = g.node("Slice", &[&shape, &s0, &s1], vec![]);
    let rest = g.ints("cls_rest", &[1, d as i64]);
    let cls_shape = g.node("Concat", &[&batch, &rest], vec![Attr::Int("axis", 0)]);
    let cls = g.node("Expand", &[&cls, &cls_shape], vec![]);
    g.node("Concat", &[&cls, &x], vec![Attr::Int("axis", 1)])
}

/// The encoder: tokens after the final norm, `[N, 1 + L, D]`.
pub fn vit<B: Backend>(g: &mut Graph, images: &str, vit: &Vit<B>, img: usize) -> String {
    let mut x = vit_embed(g, images, vit, img);
    for b in &vit.blocks {
        x = block(g, &x, b, vit.dim());
    }
    layer_norm(g, &x, &vit.norm)
}

/// Outputs of the listed blocks (before the final norm).
pub fn vit_blocks<B: Backend>(
    g: &mut Graph,
    images: &str,
    vit: &Vit<B>,
    img: usize,
    ids: &[usize],
) -> Vec<String> {
    let mut x = vit_embed(g, images, vit, img);
    let mut out = Vec::new();
    for (i, b) in vit.blocks.iter().enumerate() {
        x = block(g, &x, b, vit.dim());
        for _ in ids.iter().filter(|&&k| k == i) {
            out.push(x.clone());
        }
    }
    out
}

/// `x[:, :, from:from+len]` along the last axis of a 3-D tensor.
pub fn slice_last(g: &mut Graph, x: &str, from: usize, len: usize) -> String {
    let st = g.ints("sl_start", &[from as i64]);
    let en = g.ints("sl_end", &[(from + len) as i64]);
    let ax = g.ints("sl_axis", &[2]);
    g.node("Slice", &[x, &st, &en, &ax], vec![])
}

#[cfg(test)]
mod tests {
    use super::interpolation;

    #[test]
    fn interpolation_by_hand() {
        // 2 -> 4, half-pixel: positions -0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
        assert_eq!(
            interpolation(2, 4),
            vec![1.0, 0.0, 0.75, 0.25, 0.25, 0.75, 0.0, 1.0]
        );
        // 4 -> 2: positions 0.5 and 2.5
        assert_eq!(
            interpolation(4, 2),
            vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]
        );
        // same size: the identity
        assert_eq!(
            interpolation(3, 3),
            vec![1., 0., 0., 0., 1., 0., 0., 0., 1.]
        );
        // one output sample of 6: the middle, between 2 and 3
        assert_eq!(interpolation(6, 1), vec![0., 0., 0.5, 0.5, 0., 0.]);
    }
}
