//! Where tiles go on a scene, and how much each tile pixel counts when
//! overlapping tiles are blended.
//!
//! Along each axis, tiles start every `stride = tile - overlap` pixels and
//! the last one is moved inward so it ends at the scene edge: every pixel is
//! covered, no tile hangs over the edge (unless the scene is smaller than one
//! tile, which then gets a single padded tile), and no position repeats.

/// Tile starts along an axis of `len` pixels.
pub fn positions(len: usize, tile: usize, stride: usize) -> Vec<usize> {
    assert!(tile > 0 && stride > 0 && stride <= tile);
    if len <= tile {
        return vec![0];
    }
    let last = len - tile;
    let mut out: Vec<usize> = (0..)
        .map(|i| i * stride)
        .take_while(|&p| p < last)
        .collect();
    out.push(last);
    out
}

/// A cosine (Hann) taper `sin^2(pi (i + 0.5) / n)` over a tile of `n` pixels,
/// kept at its peak (1) on a side that lies on the scene border, where no
/// neighbouring tile takes over. Never zero, so every covered pixel has
/// weight.
pub fn hann(n: usize, flat_start: bool, flat_end: bool) -> Vec<f32> {
    let half = n / 2;
    (0..n)
        .map(|i| {
            if (flat_start && i < half) || (flat_end && i >= half) {
                1.0
            } else {
                let s = (std::f64::consts::PI * (i as f64 + 0.5) / n as f64).sin();
                (s * s) as f32
            }
        })
        .collect()
}

/// One tile: a `size x size` window of the scene with its top-left corner at
/// `(x, y)` (which may lie outside the scene for a padded tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub x: i64,
    pub y: i64,
    pub size: usize,
}

impl Window {
    /// The part of the window inside a `width x height` scene, as scene
    /// pixel ranges `(x0, y0, x1, y1)`; `None` when they do not meet.
    pub fn clip(&self, width: usize, height: usize) -> Option<(usize, usize, usize, usize)> {
        let s = self.size as i64;
        let x0 = self.x.max(0);
        let y0 = self.y.max(0);
        let x1 = (self.x + s).min(width as i64);
        let y1 = (self.y + s).min(height as i64);
        (x0 < x1 && y0 < y1).then_some((x0 as usize, y0 as usize, x1 as usize, y1 as usize))
    }
}

/// A tile to read, and the scene pixels `[x0, y0, x1)` x `[y0, y1)` it
/// answers for: every scene pixel belongs to exactly one job, so per-pixel
/// counts over jobs count each pixel once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub win: Window,
    pub own: [usize; 4],
}

/// The blending grid of a segmentation run: tile rows top to bottom, each
/// row's tiles left to right.
#[derive(Debug, Clone)]
pub struct Grid {
    pub xs: Vec<usize>,
    pub ys: Vec<usize>,
    pub tile: usize,
}

impl Grid {
    pub fn new(width: usize, height: usize, tile: usize, overlap: usize) -> Self {
        let stride = tile - overlap;
        Self {
            xs: positions(width, tile, stride),
            ys: positions(height, tile, stride),
            tile,
        }
    }

    pub fn len(&self) -> usize {
        self.xs.len() * self.ys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tiles in row-major order; a tile owns the pixels up to where the
    /// next tile starts (or the scene's `width x height` edge).
    pub fn jobs(&self, width: usize, height: usize) -> Vec<Job> {
        let next = |v: &[usize], i: usize, end: usize| v.get(i + 1).copied().unwrap_or(end);
        let mut out = Vec::with_capacity(self.len());
        for (r, &y) in self.ys.iter().enumerate() {
            for (c, &x) in self.xs.iter().enumerate() {
                out.push(Job {
                    win: Window {
                        x: x as i64,
                        y: y as i64,
                        size: self.tile,
                    },
                    own: [x, y, next(&self.xs, c, width), next(&self.ys, r, height)],
                });
            }
        }
        out
    }
}

/// The classification grid: one output cell per `stride x stride` block of
/// the scene (the last row and column may hang over the edge), each read as
/// a tile centred on its cell.
#[derive(Debug, Clone, Copy)]
pub struct CellGrid {
    pub cols: usize,
    pub rows: usize,
    pub stride: usize,
    pub tile: usize,
}

impl CellGrid {
    pub fn new(width: usize, height: usize, tile: usize, overlap: usize) -> Self {
        let stride = tile - overlap;
        Self {
            cols: width.div_ceil(stride),
            rows: height.div_ceil(stride),
            stride,
            tile,
        }
    }

    pub fn len(&self) -> usize {
        self.cols * self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tile read for cell `(row, col)`.
    pub fn window(&self, row: usize, col: usize) -> Window {
        let centre = |i: usize| (i * self.stride) as i64 + (self.stride / 2) as i64;
        Window {
            x: centre(col) - (self.tile / 2) as i64,
            y: centre(row) - (self.tile / 2) as i64,
            size: self.tile,
        }
    }

    /// The scene pixels cell `(row, col)` stands for.
    pub fn cell(&self, row: usize, col: usize) -> Window {
        Window {
            x: (col * self.stride) as i64,
            y: (row * self.stride) as i64,
            size: self.stride,
        }
    }

    /// Cells in row-major order, each owning its own block of a
    /// `width x height` scene.
    pub fn jobs(&self, width: usize, height: usize) -> Vec<Job> {
        let mut out = Vec::with_capacity(self.len());
        for r in 0..self.rows {
            for c in 0..self.cols {
                let (x, y) = (c * self.stride, r * self.stride);
                out.push(Job {
                    win: self.window(r, c),
                    own: [
                        x,
                        y,
                        (x + self.stride).min(width),
                        (y + self.stride).min(height),
                    ],
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pixel is covered, tiles stay inside, starts strictly increase.
    #[test]
    fn covers_any_length() {
        for len in 1..300 {
            for (tile, overlap) in [(64, 16), (64, 0), (50, 49), (7, 3)] {
                let p = positions(len, tile, tile - overlap);
                let mut covered = vec![0u32; len];
                for &s in &p {
                    for c in covered.iter_mut().skip(s).take(tile) {
                        *c += 1;
                    }
                    assert!(len < tile || s + tile <= len, "len {len}: tile at {s}");
                }
                assert!(covered.iter().all(|&c| c > 0), "len {len} tile {tile}");
                assert!(p.windows(2).all(|w| w[0] < w[1]), "{p:?}");
                // neighbours overlap by at least `overlap` pixels
                for w in p.windows(2) {
                    assert!(w[1] - w[0] <= tile - overlap);
                }
            }
        }
    }

    #[test]
    fn every_pixel_has_one_owner() {
        let (w, h) = (101, 77);
        let mut seen = vec![0u8; w * h];
        let g = Grid::new(w, h, 32, 8);
        let c = CellGrid::new(w, h, 32, 8);
        for jobs in [g.jobs(w, h), c.jobs(w, h)] {
            seen.fill(0);
            for j in jobs {
                for y in j.own[1]..j.own[3] {
                    for x in j.own[0]..j.own[2] {
                        seen[y * w + x] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1));
        }
    }

    #[test]
    fn hand_computed_positions() {
        assert_eq!(positions(100, 64, 48), vec![0, 36]);
        assert_eq!(positions(200, 64, 48), vec![0, 48, 96, 136]);
        assert_eq!(positions(64, 64, 48), vec![0]);
        assert_eq!(positions(10, 64, 48), vec![0]);
        assert_eq!(positions(112, 64, 48), vec![0, 48]);
    }

    #[test]
    fn hann_window() {
        let w = hann(4, false, false);
        // sin^2(pi * (i + .5) / 4) = .1464, .8536, .8536, .1464
        let want = [0.146_446_6, 0.853_553_4, 0.853_553_4, 0.146_446_6];
        for (a, b) in w.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{w:?}");
        }
        assert_eq!(hann(4, true, false)[..2], [1.0, 1.0]);
        assert_eq!(hann(4, false, true)[2..], [1.0, 1.0]);
        assert!(hann(512, false, false).iter().all(|&v| v > 0.0));
    }

    #[test]
    fn cells_centre_their_tiles() {
        let g = CellGrid::new(100, 70, 64, 32);
        assert_eq!((g.cols, g.rows, g.stride), (4, 3, 32));
        let w = g.window(0, 0);
        assert_eq!((w.x, w.y), (16 - 32, 16 - 32));
        let c = g.cell(2, 3);
        assert_eq!((c.x, c.y, c.size), (96, 64, 32));
        assert_eq!(w.clip(100, 70), Some((0, 0, 48, 48)));
        let far = Window {
            x: 200,
            y: 0,
            size: 8,
        };
        assert_eq!(far.clip(100, 70), None);
    }
}
