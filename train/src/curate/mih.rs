//! Multi-index hashing (Norouzi et al., 2012) for all pairs of 64-bit hashes
//! within a Hamming radius, without comparing all pairs.
//!
//! The hash is split into `m` chunks. If two hashes differ in at most `r`
//! bits, some chunk differs in at most `floor(r / m)` bits (pigeonhole), so
//! probing every chunk's table at the query's chunk value and its neighbours
//! within that radius finds every candidate; candidates are then checked on
//! the full hash. `m` grows with the collection (about `64 / log2(N)` chunks)
//! so buckets stay small.

use std::collections::HashMap;

use rayon::prelude::*;

/// Chunks of at most this many bits use a directly indexed table.
const DIRECT_BITS: u32 = 24;

enum Table {
    /// Compressed rows: ids of chunk value `v` are `ids[offsets[v]..offsets[v + 1]]`.
    Direct {
        offsets: Vec<u32>,
        ids: Vec<u32>,
    },
    Map(HashMap<u64, Vec<u32>>),
}

impl Table {
    fn bucket(&self, v: u64) -> &[u32] {
        match self {
            Table::Direct { offsets, ids } => {
                let v = v as usize;
                &ids[offsets[v] as usize..offsets[v + 1] as usize]
            }
            Table::Map(m) => m.get(&v).map_or(&[], Vec::as_slice),
        }
    }
}

pub struct MultiIndex {
    codes: Vec<u64>,
    /// (shift, bits) of each chunk.
    chunks: Vec<(u32, u32)>,
    tables: Vec<Table>,
    radius: u32,
}

impl MultiIndex {
    /// Indexes `codes` for queries of radius `radius`.
    pub fn new(codes: Vec<u64>, radius: u32) -> Self {
        let n = codes.len().max(2) as f64;
        let ideal = (64.0 / n.log2()).round() as u32;
        let m = ideal
            .clamp(64u32.div_ceil(DIRECT_BITS), 64)
            .min(radius + 1)
            .max(1);
        let mut chunks = Vec::with_capacity(m as usize);
        let mut shift = 0;
        for j in 0..m {
            let bits = 64 / m + u32::from(j < 64 % m);
            chunks.push((shift, bits));
            shift += bits;
        }
        let tables = chunks
            .par_iter()
            .map(|&(shift, bits)| build_table(&codes, shift, bits))
            .collect();
        Self {
            codes,
            chunks,
            tables,
            radius,
        }
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Indices of indexed codes within `radius` of `q` (sorted, unique).
    pub fn query(&self, q: u64) -> Vec<(u32, u32)> {
        let per_chunk = self.radius / self.chunks.len() as u32;
        let mut found: Vec<u32> = Vec::new();
        for (&(shift, bits), table) in self.chunks.iter().zip(&self.tables) {
            let v = chunk(q, shift, bits);
            for_each_within(v, bits, per_chunk, &mut |probe| {
                found.extend_from_slice(table.bucket(probe))
            });
        }
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .filter_map(|i| {
                let d = (self.codes[i as usize] ^ q).count_ones();
                (d <= self.radius).then_some((i, d))
            })
            .collect()
    }

    /// All pairs `(i, j, distance)` with `i < j` within the radius.
    pub fn pairs(&self) -> Vec<(u32, u32, u32)> {
        let mut out: Vec<(u32, u32, u32)> = (0..self.codes.len())
            .into_par_iter()
            .flat_map_iter(|i| {
                self.query(self.codes[i])
                    .into_iter()
                    .filter(move |&(j, _)| j as usize > i)
                    .map(move |(j, d)| (i as u32, j, d))
            })
            .collect();
        out.sort_unstable();
        out
    }
}

fn chunk(code: u64, shift: u32, bits: u32) -> u64 {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    (code >> shift) & mask
}

fn build_table(codes: &[u64], shift: u32, bits: u32) -> Table {
    if bits <= DIRECT_BITS {
        let size = 1usize << bits;
        let mut offsets = vec![0u32; size + 1];
        for &c in codes {
            offsets[chunk(c, shift, bits) as usize + 1] += 1;
        }
        for v in 0..size {
            offsets[v + 1] += offsets[v];
        }
        let mut fill = offsets.clone();
        let mut ids = vec![0u32; codes.len()];
        for (i, &c) in codes.iter().enumerate() {
            let v = chunk(c, shift, bits) as usize;
            ids[fill[v] as usize] = i as u32;
            fill[v] += 1;
        }
        Table::Direct { offsets, ids }
    } else {
        let mut m: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, &c) in codes.iter().enumerate() {
            m.entry(chunk(c, shift, bits)).or_default().push(i as u32);
        }
        Table::Map(m)
    }
}

/// Calls `f` with every `bits`-bit value within Hamming distance `r` of `v`.
fn for_each_within(v: u64, bits: u32, r: u32, f: &mut dyn FnMut(u64)) {
    fn rec(v: u64, from: u32, bits: u32, left: u32, f: &mut dyn FnMut(u64)) {
        f(v);
        if left == 0 {
            return;
        }
        for b in from..bits {
            rec(v ^ (1u64 << b), b + 1, bits, left - 1, f);
        }
    }
    rec(v, 0, bits, r, f);
}

/// Groups items connected by pairs (union-find); each group lists its
/// members in increasing order.
pub fn groups(n: usize, pairs: impl IntoIterator<Item = (u32, u32)>) -> Vec<Vec<u32>> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for (a, b) in pairs {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent[hi as usize] = lo;
        }
    }
    let mut by_root: HashMap<u32, Vec<u32>> = HashMap::new();
    for i in 0..n as u32 {
        let r = find(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<u32>> = by_root.into_values().filter(|g| g.len() > 1).collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The index finds exactly the pairs an all-pairs scan finds.
    #[test]
    fn matches_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut codes: Vec<u64> = (0..3000).map(|_| rng.random()).collect();
        // plant near duplicates at distances 0..=10
        for k in 0..300 {
            let base = codes[k * 7];
            let mut c = base;
            for _ in 0..(k % 11) {
                c ^= 1u64 << rng.random_range(0..64);
            }
            codes.push(c);
        }
        for radius in [0u32, 3, 8, 10] {
            let idx = MultiIndex::new(codes.clone(), radius);
            let mut brute = Vec::new();
            for i in 0..codes.len() {
                for j in i + 1..codes.len() {
                    let d = (codes[i] ^ codes[j]).count_ones();
                    if d <= radius {
                        brute.push((i as u32, j as u32, d));
                    }
                }
            }
            assert_eq!(idx.pairs(), brute, "radius {radius}");
        }
    }

    #[test]
    fn groups_are_connected_components() {
        let g = groups(6, [(0, 1), (1, 3), (4, 5)]);
        assert_eq!(g, vec![vec![0, 1, 3], vec![4, 5]]);
    }
}
