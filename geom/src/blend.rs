//! Seamless segmentation over overlapping tiles: each tile's class
//! probabilities are weighted by a cosine (Hann) window and summed; a pixel's
//! class is the argmax of the weighted mean. Only a horizontal strip one tile
//! high is kept: rows are finished (and handed to the writer) as soon as no
//! later tile row can reach them, so memory depends on the scene's width and
//! the tile size, never on its height.

/// The weighted sum of tile probabilities over scene rows
/// `[top, top + tile)`.
pub struct Strip {
    width: usize,
    classes: usize,
    cap: usize,
    top: usize,
    /// `[row, col, class]`.
    acc: Vec<f32>,
    /// `[row, col]`.
    weight: Vec<f32>,
    valid: Vec<bool>,
}

impl Strip {
    pub fn new(width: usize, classes: usize, tile: usize) -> Self {
        Self {
            width,
            classes,
            cap: tile,
            top: 0,
            acc: vec![0.0; tile * width * classes],
            weight: vec![0.0; tile * width],
            valid: vec![false; tile * width],
        }
    }

    /// First scene row still held.
    pub fn top(&self) -> usize {
        self.top
    }

    /// Adds a tile's probabilities `probs` `[classes, t, t]` whose top-left
    /// pixel is scene `(x, y)`, weighted by `wx[col] * wy[row]`; `valid`
    /// `[t, t]` marks pixels that hold data; `height` is the scene's.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        x: usize,
        y: usize,
        t: usize,
        probs: &[f32],
        valid: &[bool],
        wx: &[f32],
        wy: &[f32],
        height: usize,
    ) {
        assert!(
            y >= self.top && y < self.top + self.cap,
            "tile row outside the strip"
        );
        let c = self.classes;
        let rows = t.min(height - y).min(self.top + self.cap - y);
        let cols = t.min(self.width - x);
        for (r, &wr) in wy.iter().enumerate().take(rows) {
            let sr = y - self.top + r;
            for (col, &wc) in wx.iter().enumerate().take(cols) {
                let i = r * t + col;
                let p = sr * self.width + x + col;
                if !valid[i] {
                    continue;
                }
                let w = wr * wc;
                self.weight[p] += w;
                self.valid[p] = true;
                let a = &mut self.acc[p * c..(p + 1) * c];
                for (k, a) in a.iter_mut().enumerate() {
                    *a += w * probs[k * t * t + i];
                }
            }
        }
    }

    /// Finishes scene rows `[top, until)`: the class of each pixel, or
    /// `nodata` where no valid tile pixel reached it; the strip then starts
    /// at `until`.
    pub fn take_rows(&mut self, until: usize, nodata: u8) -> Vec<u8> {
        self.take(until, nodata, false).0
    }

    /// [`Strip::take_rows`], and with `probs` the blended probabilities
    /// too: `[row, col, class]`, the weighted mean of the tiles (NaN where
    /// nodata); empty without.
    pub fn take(&mut self, until: usize, nodata: u8, probs: bool) -> (Vec<u8>, Vec<f32>) {
        let n = until - self.top;
        assert!(n <= self.cap);
        let (w, c) = (self.width, self.classes);
        let mut out = vec![nodata; n * w];
        let mut mean = if probs {
            vec![f32::NAN; n * w * c]
        } else {
            Vec::new()
        };
        for (p, o) in out.iter_mut().enumerate() {
            if self.valid[p] && self.weight[p] > 0.0 {
                let acc = &self.acc[p * c..(p + 1) * c];
                *o = argmax(acc) as u8;
                if probs {
                    for (m, a) in mean[p * c..(p + 1) * c].iter_mut().zip(acc) {
                        *m = a / self.weight[p];
                    }
                }
            }
        }
        self.acc.copy_within(n * w * c.., 0);
        self.weight.copy_within(n * w.., 0);
        self.valid.copy_within(n * w.., 0);
        let keep = self.cap - n;
        self.acc[keep * w * c..].fill(0.0);
        self.weight[keep * w..].fill(0.0);
        self.valid[keep * w..].fill(false);
        self.top = until;
        (out, mean)
    }
}

/// Index of the largest value (the first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Bilinear resampling of `[channels, n, n]` to `[channels, m, m]` with
/// half-pixel centres (`align_corners = false`, as PyTorch and GDAL).
pub fn resize_bilinear(src: &[f32], channels: usize, n: usize, m: usize) -> Vec<f32> {
    if n == m {
        return src.to_vec();
    }
    let axis: Vec<(usize, usize, f32)> = (0..m)
        .map(|o| {
            let s = ((o as f32 + 0.5) * n as f32 / m as f32 - 0.5).max(0.0);
            let i0 = (s.floor() as usize).min(n - 1);
            let i1 = (i0 + 1).min(n - 1);
            (i0, i1, s - i0 as f32)
        })
        .collect();
    let mut out = vec![0.0; channels * m * m];
    for c in 0..channels {
        let p = &src[c * n * n..(c + 1) * n * n];
        for (oy, &(y0, y1, fy)) in axis.iter().enumerate() {
            for (ox, &(x0, x1, fx)) in axis.iter().enumerate() {
                let top = p[y0 * n + x0] * (1.0 - fx) + p[y0 * n + x1] * fx;
                let bot = p[y1 * n + x0] * (1.0 - fx) + p[y1 * n + x1] * fx;
                out[c * m * m + oy * m + ox] = top * (1.0 - fy) + bot * fy;
            }
        }
    }
    out
}

/// Nearest-neighbour resampling of a `[n, n]` mask to `[m, m]`.
pub fn resize_mask(src: &[bool], n: usize, m: usize) -> Vec<bool> {
    if n == m {
        return src.to_vec();
    }
    let idx: Vec<usize> = (0..m).map(|o| ((o * n) / m).min(n - 1)).collect();
    let mut out = Vec::with_capacity(m * m);
    for &y in &idx {
        for &x in &idx {
            out.push(src[y * n + x]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiling::{hann, positions};

    /// Blending constant probabilities gives them back everywhere, whatever
    /// the overlap pattern: no seams, no double counting.
    #[test]
    fn constant_field_is_reproduced() {
        let (w, h, t, stride) = (37, 29, 8, 5);
        let xs = positions(w, t, stride);
        let ys = positions(h, t, stride);
        let mut strip = Strip::new(w, 2, t);
        let probs: Vec<f32> = [0.3f32; 64].into_iter().chain([0.7f32; 64]).collect();
        let valid = vec![true; 64];
        let mut rows = Vec::new();
        for (i, &y) in ys.iter().enumerate() {
            let wy = hann(t, y == 0, y + t >= h);
            for &x in &xs {
                let wx = hann(t, x == 0, x + t >= w);
                strip.add(x, y, t, &probs, &valid, &wx, &wy, h);
            }
            let until = ys.get(i + 1).copied().unwrap_or(h);
            rows.extend(strip.take_rows(until, 255));
        }
        assert_eq!(rows.len(), w * h);
        assert!(rows.iter().all(|&c| c == 1));
    }

    /// A pixel covered by two tiles takes the Hann-weighted mean (by hand).
    #[test]
    fn weighted_mean_by_hand() {
        let mut s = Strip::new(6, 2, 4);
        let valid = [true; 16];
        // tile A at x=0 says class 0 (0.9), tile B at x=2 says class 1 (0.8)
        let a: Vec<f32> = [0.9f32; 16].into_iter().chain([0.1; 16]).collect();
        let b: Vec<f32> = [0.2f32; 16].into_iter().chain([0.8; 16]).collect();
        let wa = hann(4, true, false); // 1, 1, .854, .146
        let wb = hann(4, false, true); // .146, .854, 1, 1
        let ones = [1.0; 4];
        s.add(0, 0, 4, &a, &valid, &wa, &ones, 4);
        s.add(2, 0, 4, &b, &valid, &wb, &ones, 4);
        let row = s.take_rows(1, 255);
        // col 2: A weight .854 (p1 .1), B weight .146 (p1 .8): p1 = .202 -> class 0
        // col 3: A weight .146, B weight .854: p1 = .698 -> class 1
        assert_eq!(row, vec![0, 0, 0, 1, 1, 1]);
    }

    /// The blended probabilities are the same weighted mean (by hand), NaN
    /// where no tile reached.
    #[test]
    fn blended_probabilities_by_hand() {
        let mut s = Strip::new(7, 2, 4);
        let valid = [true; 16];
        let a: Vec<f32> = [0.9f32; 16].into_iter().chain([0.1; 16]).collect();
        let b: Vec<f32> = [0.2f32; 16].into_iter().chain([0.8; 16]).collect();
        let (wa, wb) = (hann(4, true, false), hann(4, false, true));
        s.add(0, 0, 4, &a, &valid, &wa, &[1.0; 4], 4);
        s.add(2, 0, 4, &b, &valid, &wb, &[1.0; 4], 4);
        let (classes, p) = s.take(1, 255, true);
        assert_eq!(classes.len(), 7);
        assert_eq!(p.len(), 14);
        // col 2: (.854 * .1 + .146 * .8) / (.854 + .146)
        let p1 = (wa[2] * 0.1 + wb[0] * 0.8) / (wa[2] + wb[0]);
        assert!((p[2 * 2 + 1] - p1).abs() < 1e-6, "{p:?}");
        assert!((p[2 * 2] + p[2 * 2 + 1] - 1.0).abs() < 1e-6);
        assert!((p[0] - 0.9).abs() < 1e-6 && (p[5 * 2 + 1] - 0.8).abs() < 1e-6);
        // nothing at col 6
        assert!(p[12].is_nan() && p[13].is_nan() && classes[6] == 255);
    }

    #[test]
    fn nodata_and_unreached_pixels() {
        let mut s = Strip::new(4, 2, 2);
        let probs = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        s.add(
            0,
            0,
            2,
            &probs,
            &[true, false, true, true],
            &[1.0; 2],
            &[1.0; 2],
            2,
        );
        let rows = s.take_rows(2, 9);
        assert_eq!(rows, vec![1, 9, 9, 9, 1, 1, 9, 9]);
        assert_eq!(s.top(), 2);
    }

    #[test]
    fn bilinear_matches_half_pixel_formula() {
        // 2x2 -> 4x4: output centre 0 maps to source -0.25 -> clamped 0, etc.
        let src = [0.0, 1.0, 2.0, 3.0];
        let out = resize_bilinear(&src, 1, 2, 4);
        // row 0: x samples 0, .25, .75, 1 -> 0, .25, .75, 1
        let want_row0 = [0.0, 0.25, 0.75, 1.0];
        for (a, b) in out[..4].iter().zip(want_row0) {
            assert!((a - b).abs() < 1e-6, "{out:?}");
        }
        // row 1 sits at source y .25: + .5
        assert!((out[4] - 0.5).abs() < 1e-6);
        assert_eq!(
            resize_mask(&[true, false, false, true], 2, 4)[..4],
            [true, true, false, false]
        );
    }
}
