//! FCOS training targets and losses for [`crate::detector::Detector`].
//!
//! Assignment (host side): a location is positive for a ground-truth box
//! when it lies inside the box and within 1.5 strides of its centre, and the
//! box's largest distance from it falls in the level's range
//! (`[0, 8 s0]`, `[8 s0, 8 s1]`, `[8 s1, inf)` for strides s0 < s1 < s2);
//! ties go to the smallest box. Oriented boxes are handled in their own
//! frame: the point is rotated into the box, distances are measured along
//! its sides, and the angle is a separate target.
//!
//! Losses (device side): sigmoid focal loss (alpha 0.25, gamma 2) over all
//! locations and classes, GIoU on the distances weighted by the centerness
//! target, binary cross-entropy on centerness, and for angles
//! `(1 - cos 2 (a - t)) / 2`, periodic in pi like a box; each normalised by
//! the number of positives.

use burn::prelude::*;
use smae_geom::{BBox, RBox};

use crate::detector::{strides, DenseOutput};

/// A ground-truth object in input pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GtObject {
    pub class: usize,
    pub bbox: BBox,
    /// The oriented box, for oriented detection.
    pub rbox: Option<RBox>,
}

/// Dense targets for a batch, flat host buffers in [`DenseOutput`] order.
#[derive(Debug, Clone)]
pub struct Targets {
    pub batch: usize,
    pub locations: usize,
    pub classes: usize,
    /// `[B, A, K]` one-hot.
    pub cls: Vec<f32>,
    /// `[B, A, 4]` (l, t, r, b); 1 on negatives (masked out).
    pub dist: Vec<f32>,
    /// `[B, A]`
    pub ctr: Vec<f32>,
    /// `[B, A]`
    pub angle: Vec<f32>,
    /// `[B, A]` 1 for positives.
    pub pos: Vec<f32>,
}

impl Targets {
    pub fn num_pos(&self) -> usize {
        self.pos.iter().filter(|p| **p > 0.0).count()
    }
}

/// Assigns ground truth to the `locations` (from [`crate::detector::locations`]).
pub fn assign(
    locations: &[(f32, f32, f32, usize)],
    gts: &[Vec<GtObject>],
    classes: usize,
    patch: usize,
) -> Targets {
    let a = locations.len();
    let b = gts.len();
    let s = strides(patch);
    let bounds = [0.0f32, 8.0 * s[0] as f32, 8.0 * s[1] as f32, f32::INFINITY];
    let mut t = Targets {
        batch: b,
        locations: a,
        classes,
        cls: vec![0.0; b * a * classes],
        dist: vec![1.0; b * a * 4],
        ctr: vec![0.0; b * a],
        angle: vec![0.0; b * a],
        pos: vec![0.0; b * a],
    };
    for (i, objs) in gts.iter().enumerate() {
        for (k, &(x, y, stride, level)) in locations.iter().enumerate() {
            let (lo, hi) = (bounds[level], bounds[level + 1]);
            let mut best: Option<(f32, [f32; 4], &GtObject)> = None;
            for g in objs {
                let (d, centre_ok, area) = distances(g, x, y, 1.5 * stride);
                if !centre_ok || d.iter().any(|v| *v <= 0.0) {
                    continue;
                }
                let m = d.iter().copied().fold(0.0, f32::max);
                if m < lo || m > hi {
                    continue;
                }
                if best.is_none_or(|(ba, _, _)| area < ba) {
                    best = Some((area, d, g));
                }
            }
            if let Some((_, d, g)) = best {
                let idx = i * a + k;
                t.pos[idx] = 1.0;
                t.cls[idx * classes + g.class] = 1.0;
                t.dist[idx * 4..idx * 4 + 4].copy_from_slice(&d);
                t.ctr[idx] =
                    ((d[0].min(d[2]) / d[0].max(d[2])) * (d[1].min(d[3]) / d[1].max(d[3]))).sqrt();
                t.angle[idx] = g.rbox.map_or(0.0, |r| r.angle);
            }
        }
    }
    t
}

/// (l, t, r, b) from the point to the box sides, whether the point is within
/// `radius` of the centre (along each side), and the box area.
fn distances(g: &GtObject, x: f32, y: f32, radius: f32) -> ([f32; 4], bool, f32) {
    match g.rbox {
        None => {
            let bb = g.bbox;
            let d = [x - bb.x0, y - bb.y0, bb.x1 - x, bb.y1 - y];
            let (cx, cy) = ((bb.x0 + bb.x1) / 2.0, (bb.y0 + bb.y1) / 2.0);
            (
                d,
                (x - cx).abs() < radius && (y - cy).abs() < radius,
                bb.area(),
            )
        }
        Some(r) => {
            let (s, c) = r.angle.sin_cos();
            let (dx, dy) = (x - r.cx, y - r.cy);
            let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
            let d = [r.w / 2.0 + u, r.h / 2.0 + v, r.w / 2.0 - u, r.h / 2.0 - v];
            (d, u.abs() < radius && v.abs() < radius, r.area())
        }
    }
}

/// The loss terms of a batch.
pub struct Loss<B: Backend> {
    pub total: Tensor<B, 1>,
    pub cls: Tensor<B, 1>,
    pub reg: Tensor<B, 1>,
    pub ctr: Tensor<B, 1>,
    pub angle: Option<Tensor<B, 1>>,
}

fn upload<B: Backend, const D: usize>(
    v: &[f32],
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::<B, 1>::from_data(TensorData::new(v.to_vec(), [v.len()]), device).reshape(shape)
}

/// `log(1 + exp(x))`, stable for large |x|.
fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().add_scalar(1.0).log()
}

pub fn loss<B: Backend>(out: &DenseOutput<B>, t: &Targets) -> Loss<B> {
    let device = out.cls.device();
    let (b, a, k) = (t.batch, t.locations, t.classes);
    let pos = upload::<B, 2>(&t.pos, [b, a], &device);
    let n_pos = (t.num_pos() as f32).max(1.0);

    // Sigmoid focal loss over every location and class.
    let x = out.cls.clone();
    let y = upload::<B, 3>(&t.cls, [b, a, k], &device);
    let p = burn::tensor::activation::sigmoid(x.clone());
    let ce = softplus(x.clone()) - x * y.clone();
    let p_t = p.clone() * y.clone() + (p.neg().add_scalar(1.0)) * (y.clone().neg().add_scalar(1.0));
    let alpha_t = y.clone().mul_scalar(0.25) + y.neg().add_scalar(1.0).mul_scalar(0.75);
    let cls = (alpha_t * p_t.neg().add_scalar(1.0).square() * ce)
        .sum()
        .div_scalar(n_pos);

    // GIoU on the distances, weighted by the centerness target.
    let ctr_t = upload::<B, 2>(&t.ctr, [b, a], &device);
    let d_t = upload::<B, 3>(&t.dist, [b, a, 4], &device);
    let d_p = out.dist.clone();
    let side = |d: &Tensor<B, 3>, i: usize| d.clone().narrow(2, i, 1).reshape([b, a]);
    let (pl, pt, pr, pb) = (side(&d_p, 0), side(&d_p, 1), side(&d_p, 2), side(&d_p, 3));
    let (tl, tt, tr, tb) = (side(&d_t, 0), side(&d_t, 1), side(&d_t, 2), side(&d_t, 3));
    let area_p = (pl.clone() + pr.clone()) * (pt.clone() + pb.clone());
    let area_t = (tl.clone() + tr.clone()) * (tt.clone() + tb.clone());
    let iw = pl.clone().min_pair(tl.clone()) + pr.clone().min_pair(tr.clone());
    let ih = pt.clone().min_pair(tt.clone()) + pb.clone().min_pair(tb.clone());
    let inter = iw * ih;
    let union = area_p + area_t - inter.clone();
    let ew = pl.max_pair(tl) + pr.max_pair(tr);
    let eh = pt.max_pair(tt) + pb.max_pair(tb);
    let enclose = ew * eh;
    let giou = inter / union.clone() - (enclose.clone() - union) / enclose;
    let w = ctr_t.clone() * pos.clone();
    let w_sum = t
        .ctr
        .iter()
        .zip(&t.pos)
        .map(|(c, p)| c * p)
        .sum::<f32>()
        .max(1e-6);
    let reg = (giou.neg().add_scalar(1.0) * w).sum().div_scalar(w_sum);

    // Centerness.
    let c = out.ctr.clone();
    let ctr = ((softplus(c.clone()) - c * ctr_t) * pos.clone())
        .sum()
        .div_scalar(n_pos);

    let angle = out.angle.as_ref().map(|a| {
        let at = upload::<B, 2>(&t.angle, [b, a_len(a)], &device);
        ((a.clone() - at)
            .mul_scalar(2.0)
            .cos()
            .neg()
            .add_scalar(1.0)
            .mul_scalar(0.5)
            * pos.clone())
        .sum()
        .div_scalar(n_pos)
    });
    let mut total = cls.clone() + reg.clone() + ctr.clone();
    if let Some(an) = &angle {
        total = total + an.clone();
    }
    Loss {
        total,
        cls,
        reg,
        ctr,
        angle,
    }
}

fn a_len<B: Backend>(t: &Tensor<B, 2>) -> usize {
    t.dims()[1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::locations;

    #[test]
    fn assignment_follows_fcos_rules() {
        // 64 x 64 input, patch 16: strides 8 (range 0-64), 16 (64-128), 32.
        let locs = locations(64, 64, 16);
        let small = GtObject {
            class: 1,
            bbox: BBox::new(8.0, 8.0, 32.0, 24.0),
            rbox: None,
        };
        let t = assign(&locs, &[vec![small]], 2, 16);
        // Positives only on level 0, inside the box, near its centre (20, 16).
        let pos: Vec<(f32, f32, usize)> = locs
            .iter()
            .enumerate()
            .filter(|(i, _)| t.pos[*i] > 0.0)
            .map(|(_, l)| (l.0, l.1, l.3))
            .collect();
        assert!(!pos.is_empty());
        for (x, y, level) in &pos {
            assert_eq!(*level, 0);
            assert!((x - 20.0).abs() < 12.0 && (y - 16.0).abs() < 12.0);
        }
        // The location (20, 12): distances 12, 4, 12, 12 and centerness sqrt(1 * 4/12).
        let i = locs
            .iter()
            .position(|l| l.0 == 20.0 && l.1 == 12.0)
            .unwrap();
        assert_eq!(t.pos[i], 1.0);
        assert_eq!(&t.dist[i * 4..i * 4 + 4], &[12.0, 4.0, 12.0, 12.0]);
        assert!((t.ctr[i] - (4.0f32 / 12.0).sqrt()).abs() < 1e-6);
        assert_eq!(&t.cls[i * 2..i * 2 + 2], &[0.0, 1.0]);
    }

    #[test]
    fn oriented_distances_are_in_the_box_frame() {
        let r = RBox::new(32.0, 32.0, 40.0, 10.0, std::f32::consts::FRAC_PI_4);
        let g = GtObject {
            class: 0,
            bbox: r.bounds(),
            rbox: Some(r),
        };
        // A point 5 px along the long side from the centre.
        let (s, c) = r.angle.sin_cos();
        let (d, centre, _) = distances(&g, 32.0 + 5.0 * c, 32.0 + 5.0 * s, 12.0);
        assert!(centre);
        for (got, want) in d.iter().zip([25.0, 5.0, 15.0, 5.0]) {
            assert!((got - want).abs() < 1e-4, "{d:?}");
        }
    }
}
