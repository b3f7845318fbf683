//! How the exported graph meets its user. `gis` (the default): the graph
//! takes raw values times the card's `scale` (0-1 for 8-bit imagery, what
//! GeoDeep and QGIS Deepness feed) and normalises them itself, and a
//! detector has one YOLO-style output, the layout both tools decode. `plain`:
//! the graph takes normalised values and a detector gives boxes and scores
//! apart, as smae files before card version 2 did.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::graph::Graph;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Gis,
    Plain,
}

impl Layout {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "gis" => Self::Gis,
            "plain" => Self::Plain,
            other => bail!("unknown layout '{other}': expected gis or plain"),
        })
    }
}

/// `(x - mean) / std` per channel of `x` `[batch, C, H, W]`, in the graph.
pub fn normalise(g: &mut Graph, x: &str, mean: &[f32], std: &[f32]) -> String {
    let c = mean.len();
    let m = g.constant("norm_mean", &[1, c, 1, 1], mean);
    let s = g.constant("norm_std", &[1, c, 1, 1], std);
    let centred = g.node("Sub", &[x, &m], vec![]);
    g.node("Div", &[&centred, &s], vec![])
}

/// The graph input that a normalised Burn input `x` (`[n, C, H, W]`, flat,
/// `plane = H * W`) stands for: `x * std + mean` in the GIS layout, `x`
/// itself in the plain one.
pub fn graph_input(layout: Layout, x: &[f32], plane: usize, mean: &[f32], std: &[f32]) -> Vec<f32> {
    match layout {
        Layout::Plain => x.to_vec(),
        Layout::Gis => x
            .chunks(plane)
            .enumerate()
            .flat_map(|(k, p)| {
                let c = k % mean.len();
                p.iter().map(move |v| v * std[c] + mean[c])
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gis_input_undoes_the_normalisation_per_channel() {
        // two images of two channels of two pixels
        let x = [0.0, 1.0, 0.0, 1.0, -1.0, 2.0, -1.0, 2.0];
        let got = graph_input(Layout::Gis, &x, 2, &[0.5, 0.25], &[0.1, 0.2]);
        let want = [0.5, 0.6, 0.25, 0.45, 0.4, 0.7, 0.05, 0.65];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        assert_eq!(
            graph_input(Layout::Plain, &x, 2, &[0.5, 0.25], &[0.1, 0.2]),
            x
        );
    }
}
