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

    /// Splits the tile columns into bands at most about `max_width` pixels
    /// wide (at least one tile column each) for a scene `width` wide.
    pub fn column_bands(&self, width: usize, max_width: usize) -> Vec<ColumnBand> {
        let n = self.xs.len();
        let stride = if n > 1 {
            self.xs[1] - self.xs[0]
        } else {
            self.tile
        };
        let per_band = (max_width.saturating_sub(self.tile) / stride.max(1) + 1).max(1);
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            let end = (start + per_band).min(n);
            // leftward columns whose tiles reach column `start`
            let mut first = start;
            while first > 0 && self.xs[first - 1] + self.tile > self.xs[start] {
                first -= 1;
            }
            out.push(ColumnBand {
                read: first..end,
                own: start..end,
                x0: self.xs[first],
                x1: (self.xs[end - 1] + self.tile).min(width),
                own_x0: self.xs[start],
                own_x1: self.xs.get(end).copied().unwrap_or(width),
            });
            start = end;
        }
        out
    }

    /// Per job (in [`Grid::jobs`] order), the scene region `[x0, y0, x1, y1)`
    /// closer to that tile's centre than to any neighbour's: split at the
    /// middle of each overlap. A detection is kept only by the tile whose
    /// core holds its centre, away from the tile border where objects are
    /// cut and detectors are least sure.
    pub fn cores(&self, width: usize, height: usize) -> Vec<[usize; 4]> {
        let splits = |p: &[usize], end: usize| -> Vec<usize> {
            let mut s = vec![0];
            s.extend(p.windows(2).map(|w| (w[1] + w[0] + self.tile) / 2));
            s.push(end);
            s
        };
        let (sx, sy) = (splits(&self.xs, width), splits(&self.ys, height));
        let mut out = Vec::with_capacity(self.len());
        for r in 0..self.ys.len() {
            for c in 0..self.xs.len() {
                out.push([sx[c], sy[r], sx[c + 1], sy[r + 1]]);
            }
        }
        out
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

/// A vertical band of a segmentation grid, processed top to bottom on its
/// own so the blending strip is at most about `max_width` pixels wide
/// whatever the scene's width. The band writes the pixels of its own tile
/// columns; it also reads the columns to its left whose tiles reach into
/// them (a tile never reaches left of its start), so every written pixel
/// is blended from all the tiles that cover it, exactly as without bands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnBand {
    /// Tile columns read (indices into `Grid::xs`).
    pub read: std::ops::Range<usize>,
    /// Tile columns whose pixels this band writes.
    pub own: std::ops::Range<usize>,
    /// Scene columns the band's strip holds, `[x0, x1)`.
    pub x0: usize,
    pub x1: usize,
    /// Scene columns the band writes, `[own_x0, own_x1)`.
    pub own_x0: usize,
    pub own_x1: usize,
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
    fn column_bands_cover_once_and_read_what_reaches_them() {
        for (w, tile, overlap, max) in [
            (1000, 64, 16, 200),
            (1000, 64, 40, 150),
            (50, 64, 16, 10),
            (300, 32, 0, 64),
        ] {
            let g = Grid::new(w, 10, tile, overlap);
            let bands = g.column_bands(w, max);
            assert_eq!(bands[0].own_x0, 0);
            assert_eq!(bands.last().unwrap().own_x1, w);
            for pair in bands.windows(2) {
                assert_eq!(pair[0].own_x1, pair[1].own_x0);
            }
            for b in &bands {
                assert!(b.x1 - b.x0 <= max.max(tile) + 2 * tile, "{b:?}");
                // every tile reaching an owned pixel is read
                for (i, &x) in g.xs.iter().enumerate() {
                    let reaches = x < b.own_x1 && x + tile > b.own_x0;
                    assert!(
                        !reaches || b.read.contains(&i),
                        "{w} {tile} {overlap}: column {i} {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn cores_split_overlaps_in_the_middle() {
        let g = Grid::new(200, 64, 64, 16);
        // xs 0, 48, 96, 136: overlaps [48,64) [96,112) [136,160)
        assert_eq!(g.xs, vec![0, 48, 96, 136]);
        let c = g.cores(200, 64);
        let xs: Vec<[usize; 2]> = c.iter().map(|r| [r[0], r[2]]).collect();
        assert_eq!(xs, vec![[0, 56], [56, 104], [104, 148], [148, 200]]);
        assert!(c.iter().all(|r| r[1] == 0 && r[3] == 64));
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
