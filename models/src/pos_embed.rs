//! Fixed 2-D sin-cos position embedding (MAE) and resampling of a stored
//! embedding to another grid (MAE's `interpolate_pos_embed`).

/// MAE's 2-D sin-cos embedding for a `rows x cols` grid of width `dim`, with
/// a leading all-zero row for the cls token: `(1 + rows*cols) * dim` values,
/// row-major by token. The first `dim/2` values encode the column, the last
/// `dim/2` the row; each half is `[sin(pos*w_k)] ++ [cos(pos*w_k)]` for
/// `w_k = 10000^(-k/(dim/4))`. Computed in f64 and rounded once, as numpy does.
pub fn sincos_2d(dim: usize, rows: usize, cols: usize) -> Vec<f32> {
    assert!(
        dim.is_multiple_of(4),
        "sin-cos embedding needs dim % 4 == 0"
    );
    let quarter = dim / 4;
    let omega: Vec<f64> = (0..quarter)
        .map(|k| 1.0 / 10000f64.powf(k as f64 / quarter as f64))
        .collect();
    let mut out = vec![0f32; (1 + rows * cols) * dim];
    for r in 0..rows {
        for c in 0..cols {
            let tok = &mut out[(1 + r * cols + c) * dim..(2 + r * cols + c) * dim];
            for (half, pos) in [(0, c as f64), (1, r as f64)] {
                let base = half * 2 * quarter;
                for (k, w) in omega.iter().enumerate() {
                    tok[base + k] = (pos * w).sin() as f32;
                    tok[base + quarter + k] = (pos * w).cos() as f32;
                }
            }
        }
    }
    out
}

/// Resamples the grid part of a `(1 + h*w) x dim` embedding (cls row first)
/// to `new_h x new_w` with bicubic interpolation, as PyTorch's
/// `F.interpolate(mode="bicubic", align_corners=False)` does (A = -0.75,
/// border samples clamped). The cls row is kept as is.
pub fn resample(embed: &[f32], dim: usize, old: (usize, usize), new: (usize, usize)) -> Vec<f32> {
    let (h, w) = old;
    let (nh, nw) = new;
    assert_eq!(
        embed.len(),
        (1 + h * w) * dim,
        "embedding size does not match its grid"
    );
    let mut out = vec![0f32; (1 + nh * nw) * dim];
    out[..dim].copy_from_slice(&embed[..dim]);
    if (h, w) == (nh, nw) {
        out.copy_from_slice(embed);
        return out;
    }
    let grid = |y: usize, x: usize, d: usize| embed[(1 + y * w + x) * dim + d] as f64;
    let taps_y: Vec<_> = (0..nh).map(|o| bicubic_taps(o, h, nh)).collect();
    let taps_x: Vec<_> = (0..nw).map(|o| bicubic_taps(o, w, nw)).collect();
    for (oy, ty) in taps_y.iter().enumerate() {
        for (ox, tx) in taps_x.iter().enumerate() {
            for d in 0..dim {
                let mut acc = 0f64;
                for (iy, wy) in ty {
                    for (ix, wx) in tx {
                        acc += wy * wx * grid(*iy, *ix, d);
                    }
                }
                out[(1 + oy * nw + ox) * dim + d] = acc as f32;
            }
        }
    }
    out
}

/// The four (clamped source index, weight) taps of output index `o` when an
/// axis of `n_in` samples is resized to `n_out` (half-pixel centres).
fn bicubic_taps(o: usize, n_in: usize, n_out: usize) -> [(usize, f64); 4] {
    const A: f64 = -0.75;
    let scale = n_in as f64 / n_out as f64;
    let src = (o as f64 + 0.5) * scale - 0.5;
    let base = src.floor();
    let t = src - base;
    let cubic1 = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0; // |x| <= 1
    let cubic2 = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A; // 1 < |x| < 2
    let weights = [cubic2(t + 1.0), cubic1(t), cubic1(1.0 - t), cubic2(2.0 - t)];
    let clamp = |i: f64| i.clamp(0.0, (n_in - 1) as f64) as usize;
    std::array::from_fn(|k| (clamp(base - 1.0 + k as f64), weights[k]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed values for dim 8 (quarter 2, w = [1, 1/100]).
    #[test]
    fn sincos_values() {
        let pe = sincos_2d(8, 3, 4);
        assert_eq!(pe.len(), 13 * 8);
        assert!(pe[..8].iter().all(|v| *v == 0.0), "cls row is zero");
        // token for row 2, col 3: index 1 + 2*4 + 3 = 12.
        let t = &pe[12 * 8..13 * 8];
        let col = 3f64;
        let row = 2f64;
        let want = [
            col.sin(),
            (col / 100.0).sin(),
            col.cos(),
            (col / 100.0).cos(),
            row.sin(),
            (row / 100.0).sin(),
            row.cos(),
            (row / 100.0).cos(),
        ];
        for (g, w) in t.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-7, "{g} vs {w}");
        }
        // token (0, 0): sin 0 = 0, cos 0 = 1 in both halves.
        assert_eq!(&pe[8..16], &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn resample_identity_and_constant() {
        let pe = sincos_2d(16, 5, 5);
        assert_eq!(resample(&pe, 16, (5, 5), (5, 5)), pe);
        // Bicubic weights sum to one, so a constant field stays constant.
        let flat = vec![0.25f32; (1 + 25) * 4];
        let up = resample(&flat, 4, (5, 5), (9, 7));
        assert!(up.iter().skip(4).all(|v| (*v - 0.25).abs() < 1e-6));
    }

    /// Hand-computed with Keys' cubic (A = -0.75) at half-pixel centres: a
    /// unit spike at column 1 of 4, upsampled to 8 columns (rows unchanged).
    /// Output 2 samples src 0.75 (t = .25 after base 0): weight of tap 1 is
    /// cubic1(0.25) = 0.87890625; output 0 samples src -0.25: cubic2(1.25).
    #[test]
    fn resample_matches_hand_computed_bicubic() {
        let mut pe = vec![0f32; 5];
        pe[1 + 1] = 1.0;
        let up = resample(&pe, 1, (1, 4), (1, 8));
        let want = [
            -0.10546875,
            0.26171875,
            0.87890625,
            0.87890625,
            0.26171875,
            -0.10546875,
            -0.03515625,
            0.0,
        ];
        for (g, w) in up[1..].iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-7, "{:?}", &up[1..]);
        }
    }
}
