//! Where to cut crops from an image larger than the size limit.
//!
//! The rule: an image whose longer side exceeds `max_side` is cut into
//! `ceil(W / c) x ceil(H / c)` crops of side `c` (clipped to the image), about
//! one crop per `c * c` of area. The crops sit on an even grid that spans the
//! whole image (first flush with the top-left corner, last with the
//! bottom-right), and each is shifted by a seeded random offset within the
//! slack the grid leaves. The official pipeline cuts at random positions; a
//! jittered grid keeps that randomness but cannot produce two crops that
//! overlap by most of their area, which the near-duplicate pass would then
//! have to remove.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A crop box `(x, y, w, h)` in source pixels.
pub type CropBox = (usize, usize, usize, usize);

/// The crops of a `width x height` image: the whole image when both sides
/// are at most `max_side`, else the jittered grid of side `crop`.
pub fn plan(width: usize, height: usize, max_side: usize, crop: usize, seed: u64) -> Vec<CropBox> {
    if width <= max_side && height <= max_side {
        return vec![(0, 0, width, height)];
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let xs = axis(width, crop, &mut rng);
    let ys = axis(height, crop, &mut rng);
    let (cw, ch) = (crop.min(width), crop.min(height));
    let mut out = Vec::with_capacity(xs.len() * ys.len());
    for &y in &ys {
        for &x in &xs {
            out.push((x, y, cw, ch));
        }
    }
    out
}

/// Start positions along one axis of length `len` for crops of side `c`.
fn axis<R: Rng>(len: usize, c: usize, rng: &mut R) -> Vec<usize> {
    if len <= c {
        return vec![0];
    }
    let n = len.div_ceil(c);
    let span = (len - c) as f64; // the last crop starts here
    let step = span / (n - 1) as f64;
    // Slack between neighbours when crops do not need to overlap.
    let slack = (step - c as f64).max(0.0);
    (0..n)
        .map(|i| {
            let base = step * i as f64;
            let jitter = if slack > 0.0 && i > 0 && i + 1 < n {
                rng.random_range(-slack / 2.0..=slack / 2.0)
            } else {
                0.0
            };
            (base + jitter).round().clamp(0.0, span) as usize
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_images_stay_whole() {
        assert_eq!(plan(800, 600, 1024, 512, 1), vec![(0, 0, 800, 600)]);
        assert_eq!(plan(1024, 1024, 1024, 512, 1), vec![(0, 0, 1024, 1024)]);
    }

    #[test]
    fn large_images_are_covered_by_one_crop_per_area() {
        let crops = plan(2048, 1100, 1024, 512, 7);
        // ceil(2048/512) = 4 columns, ceil(1100/512) = 3 rows
        assert_eq!(crops.len(), 12);
        let mut covered = vec![false; 2048 * 1100];
        for &(x, y, w, h) in &crops {
            assert_eq!((w, h), (512, 512));
            assert!(x + w <= 2048 && y + h <= 1100);
            for yy in y..y + h {
                for xx in x..x + w {
                    covered[yy * 2048 + xx] = true;
                }
            }
        }
        assert!(
            covered.iter().all(|c| *c),
            "the grid covers the whole image"
        );
        // Seeded: the same seed gives the same crops.
        assert_eq!(plan(2048, 1100, 1024, 512, 7), crops);
    }

    #[test]
    fn neighbours_never_overlap_by_more_than_half() {
        for (w, seed) in [(1100usize, 1u64), (1536, 2), (3000, 3), (5000, 4)] {
            let xs: Vec<usize> = plan(w, 600, 1024, 512, seed)
                .iter()
                .filter(|c| c.1 == 0)
                .map(|c| c.0)
                .collect();
            for pair in xs.windows(2) {
                assert!(pair[1] - pair[0] >= 256, "{w}: {xs:?}");
            }
        }
    }

    #[test]
    fn strips_are_cut_along_their_length_only() {
        let crops = plan(3000, 50, 1024, 512, 0);
        assert_eq!(crops.len(), 6);
        assert!(crops.iter().all(|c| c.1 == 0 && c.3 == 50));
    }
}
