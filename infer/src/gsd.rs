//! Ground sample distance: how many metres on the ground a scene pixel
//! covers, and the tile (in scene pixels) that covers the ground the model
//! saw in training. A tree-crown model trained at 0.1 m run on a 0.3 m
//! orthophoto must see crowns at their training size, so its tiles there are
//! a third as many scene pixels, resampled up to the model's input.

use anyhow::{bail, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};

use crate::raster::Georef;

/// Metres on the ground per pixel along the scene's columns and rows, at
/// the scene's centre. The pixel's corners are taken to the CRS's own
/// geographic CRS and measured on its ellipsoid (radii of curvature at that
/// latitude), so a geographic CRS (degrees), a projected CRS in feet, and a
/// projection's scale error (Web Mercator: 1 / cos(latitude)) all come out
/// in true metres. `None` without a CRS or when PROJ cannot transform it.
pub fn ground_pixel_m(georef: &Georef, width: usize, height: usize) -> Option<(f64, f64)> {
    let mut srs = SpatialRef::from_wkt(georef.wkt.as_ref()?).ok()?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut geog = srs.geog_cs().ok()?;
    geog.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let to_geog = CoordTransform::new(&srs, &geog).ok()?;
    let (cx, cy) = (width as f64 / 2.0, height as f64 / 2.0);
    let corners = [(cx, cy), (cx + 1.0, cy), (cx, cy + 1.0)];
    let (mut xs, mut ys): (Vec<f64>, Vec<f64>) =
        corners.iter().map(|&(c, r)| georef.apply(c, r)).unzip();
    let mut zs = vec![0.0; 3];
    to_geog.transform_coords(&mut xs, &mut ys, &mut zs).ok()?;
    // longitude, latitude in radians
    let rad = geog.angular_units();
    let (a, b) = (geog.semi_major().ok()?, geog.semi_minor().ok()?);
    let e2 = 1.0 - (b * b) / (a * a);
    let lat = ys[0] * rad;
    let w = 1.0 - e2 * lat.sin().powi(2);
    let meridian = a * (1.0 - e2) / w.powf(1.5);
    let parallel = a / w.sqrt() * lat.cos();
    let dist = |k: usize| {
        let dlon = (xs[k] - xs[0]) * rad;
        let dlat = (ys[k] - ys[0]) * rad;
        (parallel * dlon).hypot(meridian * dlat)
    };
    let (gx, gy) = (dist(1), dist(2));
    (gx.is_finite() && gy.is_finite() && gx > 0.0 && gy > 0.0).then_some((gx, gy))
}

/// The tiling of a scene, in scene pixels, and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiling {
    pub tile: usize,
    pub overlap: usize,
    /// The scene's ground sample distance used (metres per pixel), if known.
    pub scene_gsd_m: Option<f64>,
    pub warnings: Vec<String>,
}

/// What decides the tiling: the card's tile (`card_tile`, `card_overlap`,
/// in training pixels of `model_gsd_m` metres), the scene's own pixel size
/// (`scene_gsd`: from its georeference or the user's `--gsd`) and the
/// user's tile and overlap in scene pixels, which win when given.
pub struct TilingRequest {
    pub card_tile: usize,
    pub card_overlap: usize,
    pub model_gsd_m: Option<f64>,
    /// Metres per pixel along columns and rows.
    pub scene_gsd: Option<(f64, f64)>,
    /// The user said the scene's resolution (`--gsd`).
    pub scene_gsd_given: bool,
    pub tile: Option<usize>,
    pub overlap: Option<usize>,
}

/// Tiles that cover the ground extent the model was trained on: the card's
/// tile times `model_gsd / scene_gsd`, rounded to whole scene pixels (the
/// overlap likewise). Without the model's or the scene's resolution the
/// tiles are the card's, in scene pixels, with a warning.
pub fn tiling(r: &TilingRequest) -> Result<Tiling> {
    let mut warnings = Vec::new();
    let scene_gsd = r.scene_gsd.map(|(gx, gy)| {
        if (gx / gy - 1.0).abs() > 0.05 && !r.scene_gsd_given {
            warnings.push(format!(
                "the scene's pixels are not square on the ground ({gx:.4} x {gy:.4} m): tiles use their geometric mean"
            ));
        }
        (gx * gy).sqrt()
    });
    let factor = match (r.model_gsd_m, scene_gsd, r.tile) {
        (_, _, Some(_)) => 1.0,
        (Some(m), Some(s), None) => m / s,
        (Some(m), None, None) => {
            warnings.push(format!(
                "the scene's ground resolution is unknown (no georeferencing or CRS): tiles are cut in scene pixels as if it were the model's {m} m; pass --gsd"
            ));
            1.0
        }
        (None, _, None) => {
            warnings.push(
                "the model card has no ground resolution (gsd_m): tiles are cut in scene pixels as the model saw them; export with --gsd to scale tiles to each scene".into(),
            );
            1.0
        }
    };
    let tile = r
        .tile
        .unwrap_or_else(|| (r.card_tile as f64 * factor).round() as usize);
    let overlap = r
        .overlap
        .unwrap_or_else(|| (r.card_overlap as f64 * factor).round() as usize);
    if r.tile.is_none() && tile < 2 {
        bail!(
            "the scene's pixels ({:.3} m) are too coarse for this model: its {} px tile at {} m covers {tile} scene pixels",
            scene_gsd.unwrap_or(0.0),
            r.card_tile,
            r.model_gsd_m.unwrap_or(0.0)
        );
    }
    if tile == 0 || overlap >= tile {
        bail!("the overlap ({overlap}) must be smaller than the tile ({tile})");
    }
    // up to about 3x the model still sees its objects; beyond, little of them
    if factor < 1.0 / 3.0 {
        warnings.push(format!(
            "the scene's pixels are {:.1}x coarser than the model's: tiles of {tile} px are upsampled {:.1}x, with less detail than in training",
            1.0 / factor,
            1.0 / factor
        ));
    }
    Ok(Tiling {
        tile,
        overlap,
        scene_gsd_m: scene_gsd,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(model: Option<f64>, scene: Option<f64>) -> TilingRequest {
        TilingRequest {
            card_tile: 64,
            card_overlap: 16,
            model_gsd_m: model,
            scene_gsd: scene.map(|s| (s, s)),
            scene_gsd_given: false,
            tile: None,
            overlap: None,
        }
    }

    #[test]
    fn tiles_cover_the_training_ground_extent() {
        // 64 px at 0.1 m = 6.4 m: 32 px at 0.2 m, 128 px at 0.05 m
        let t = tiling(&request(Some(0.1), Some(0.2))).unwrap();
        assert_eq!((t.tile, t.overlap), (32, 8));
        let t = tiling(&request(Some(0.1), Some(0.05))).unwrap();
        assert_eq!((t.tile, t.overlap), (128, 32));
        assert!(t.warnings.is_empty());
        // a UTM scale error of 0.04% changes nothing
        let t = tiling(&request(Some(0.1), Some(0.09996))).unwrap();
        assert_eq!((t.tile, t.overlap), (64, 16));
        // 0.3 m: 21.33 -> 21 px
        assert_eq!(tiling(&request(Some(0.1), Some(0.3))).unwrap().tile, 21);
    }

    #[test]
    fn unknown_resolutions_keep_scene_pixels_with_a_warning() {
        for r in [request(None, Some(0.3)), request(Some(0.1), None)] {
            let t = tiling(&r).unwrap();
            assert_eq!((t.tile, t.overlap), (64, 16));
            assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
        }
        // the user's tile wins, silently
        let mut r = request(None, None);
        r.tile = Some(100);
        r.overlap = Some(10);
        let t = tiling(&r).unwrap();
        assert_eq!((t.tile, t.overlap, t.warnings.len()), (100, 10, 0));
    }

    #[test]
    fn far_too_coarse_scenes_are_refused() {
        let e = tiling(&request(Some(0.1), Some(30.0))).unwrap_err();
        assert!(e.to_string().contains("too coarse"), "{e}");
        let t = tiling(&request(Some(0.1), Some(0.4))).unwrap();
        assert_eq!(t.tile, 16);
        assert!(t.warnings[0].contains("4.0x coarser"), "{:?}", t.warnings);
    }
}
