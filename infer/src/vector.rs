//! Detections as vector files GIS users open directly, by the output's
//! extension: GeoJSON (in the scene's CRS, named in `crs`, or in WGS84 as RFC
//! 7946 has it), GeoPackage (`.gpkg`) and FlatGeobuf (`.fgb`) through
//! GDAL/OGR, with the scene's CRS and the fields `class`, `class_index`,
//! `score` (and `angle_deg` for rotated boxes).

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{
    Feature, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use gdal::DriverManager;

use crate::geojson_writer::{self, class_name, ring};
use crate::geotiff::TempPath;
use crate::raster::Georef;
use smae_geom::merge::SceneDetection;

/// The vector formats a detector writes, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorFormat {
    GeoJson,
    GeoPackage,
    FlatGeobuf,
}

impl VectorFormat {
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "geojson" | "json" => Some(Self::GeoJson),
            "gpkg" => Some(Self::GeoPackage),
            "fgb" => Some(Self::FlatGeobuf),
            _ => None,
        }
    }

    /// The usual extension (`geojson`, `gpkg`, `fgb`).
    pub fn extension(self) -> &'static str {
        match self {
            Self::GeoJson => "geojson",
            Self::GeoPackage => "gpkg",
            Self::FlatGeobuf => "fgb",
        }
    }
}

/// Scene CRS to WGS84 longitude / latitude.
fn to_wgs84(georef: Option<&Georef>) -> Result<CoordTransform> {
    let Some(wkt) = georef.and_then(|g| g.wkt.as_deref()) else {
        bail!("--wgs84 needs a scene with a CRS");
    };
    let mut src = SpatialRef::from_wkt(wkt)?;
    let mut dst = SpatialRef::from_epsg(4326)?;
    src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(CoordTransform::new(&src, &dst)?)
}

/// Writes `dets` to `path` atomically, in the format its extension names;
/// `wgs84` writes GeoJSON in longitude / latitude.
pub fn write(
    path: &Path,
    dets: &[SceneDetection],
    classes: &[String],
    georef: Option<&Georef>,
    wgs84: bool,
) -> Result<()> {
    let format = VectorFormat::from_path(path).ok_or_else(|| {
        anyhow!(
            "{}: detections are written as .geojson, .gpkg or .fgb",
            path.display()
        )
    })?;
    if format == VectorFormat::GeoJson {
        let fc = if wgs84 {
            let t = to_wgs84(georef)?;
            let to = |x: f64, y: f64| {
                let (mut xs, mut ys, mut zs) = ([x], [y], [0.0]);
                match t.transform_coords(&mut xs, &mut ys, &mut zs) {
                    Ok(()) => (xs[0], ys[0]),
                    Err(_) => (f64::NAN, f64::NAN),
                }
            };
            geojson_writer::collection_with(dets, classes, georef, Some(&to))
        } else {
            geojson_writer::collection(dets, classes, georef)
        };
        return geojson_writer::write(path, &fc);
    }
    if wgs84 {
        bail!("--wgs84 is for GeoJSON; GeoPackage and FlatGeobuf carry the scene's CRS");
    }
    let (driver, suffix) = match format {
        VectorFormat::GeoPackage => ("GPKG", ".gpkg"),
        _ => ("FlatGeobuf", ".fgb"),
    };
    let tmp = TempPath::beside(path, suffix);
    {
        let mut ds = DriverManager::get_driver_by_name(driver)?
            .create_vector_only(tmp.path())
            .with_context(|| format!("cannot create {}", path.display()))?;
        let srs = georef
            .and_then(|g| g.wkt.as_deref())
            .map(SpatialRef::from_wkt)
            .transpose()?;
        let layer = ds.create_layer(LayerOptions {
            name: "detections",
            srs: srs.as_ref(),
            ty: OGRwkbGeometryType::wkbPolygon,
            options: None,
        })?;
        let oriented = dets.iter().any(|d| matches!(d, SceneDetection::Rotated(_)));
        let mut fields = vec![
            ("class", OGRFieldType::OFTString),
            ("class_index", OGRFieldType::OFTInteger),
            ("score", OGRFieldType::OFTReal),
        ];
        if oriented {
            fields.push(("angle_deg", OGRFieldType::OFTReal));
        }
        layer.create_defn_fields(&fields)?;
        let same = |x, y| (x, y);
        for d in dets {
            let r = ring(d, georef, &same);
            let wkt = format!(
                "POLYGON(({}))",
                r.iter()
                    .map(|p| format!("{} {}", p[0], p[1]))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let mut f = Feature::new(layer.defn())?;
            f.set_geometry(Geometry::from_wkt(&wkt)?)?;
            f.set_field_string(0, &class_name(d, classes))?;
            f.set_field_integer(1, d.class() as i32)?;
            f.set_field_double(2, d.score() as f64)?;
            if let SceneDetection::Rotated(rd) = d {
                f.set_field_double(3, rd.rbox.angle.to_degrees() as f64)?;
            }
            f.create(&layer)?;
        }
        ds.close()
            .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    }
    tmp.persist(path)
}
