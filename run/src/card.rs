//! The parts of a model card that follow from the run alone: how the model
//! reads a scene (bands, input size, scaling, normalisation) and how the
//! scene is tiled. Export writes them into the card; evaluation runs with
//! them, so a card's metrics are measured the way users run the model.

use smae_infer::card::{InputSpec, TileSpec};

use crate::config::FinetuneConfig;
use crate::norm::{IMAGENET_MEAN, IMAGENET_STD, SCALE_8BIT};

/// Name of the graph's input tensor.
pub const INPUT_NAME: &str = "images";

/// 8-bit RGB (bands 1, 2, 3), scaled to 0-1 and ImageNet-normalised, at
/// `size x size` pixels, any batch; normalised before the model (the Burn
/// model's own input; an export may move the normalisation into its graph).
pub fn input_spec(size: usize) -> InputSpec {
    InputSpec {
        name: INPUT_NAME.into(),
        bands: vec![1, 2, 3],
        size,
        dtype: "float32".into(),
        scale: SCALE_8BIT,
        mean: IMAGENET_MEAN.iter().map(|v| *v as f64).collect(),
        std: IMAGENET_STD.iter().map(|v| *v as f64).collect(),
        normalised_in_graph: false,
        batch: None,
    }
}

/// The scene tiling of a fine-tuned model (see [`FinetuneConfig::scene_tile`]);
/// a run without a head is tiled at its input size with a quarter overlap.
pub fn tile_spec(cfg: Option<&FinetuneConfig>, size: usize) -> TileSpec {
    let (size, overlap) = cfg.map_or((size, size / 4), FinetuneConfig::scene_tile);
    TileSpec { size, overlap }
}
