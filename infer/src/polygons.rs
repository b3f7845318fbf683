//! A class map as polygons, the form GIS users edit and query: GDAL's
//! Polygonize (one polygon per 4-connected region of one class, holes
//! kept, nodata left out), written with the class map's CRS and the fields
//! `class` (its name) and `class_index`, as GeoPackage, FlatGeobuf or
//! GeoJSON by extension.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use gdal::vector::{Feature, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType};
use gdal::{Dataset, DriverManager};

use crate::geotiff::TempPath;
use crate::vector::VectorFormat;

/// Where `--polygons` writes for class map `output`: `STEM_polygons.EXT`
/// beside it.
pub fn polygons_path(output: &Path, format: VectorFormat) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!("{stem}_polygons.{}", format.extension()))
}

/// Polygonizes band 1 of `class_map` into `out` atomically; returns the
/// number of polygons.
pub fn write(class_map: &Path, out: &Path, classes: &[String]) -> Result<usize> {
    let format = VectorFormat::from_path(out).ok_or_else(|| {
        anyhow!(
            "{}: polygons are written as .gpkg, .fgb or .geojson",
            out.display()
        )
    })?;
    let src = Dataset::open(class_map)?;
    let band = src.rasterband(1)?;
    let mask = band.open_mask_band()?;
    let srs = src.spatial_ref().ok();

    // Polygonize into memory first: the class names are added on the copy
    // (OGR's GeoJSON and FlatGeobuf writers cannot update features).
    let mut mem = DriverManager::get_driver_by_name("Memory")?.create_vector_only("")?;
    let regions = mem.create_layer(LayerOptions {
        name: "regions",
        srs: srs.as_ref(),
        ty: OGRwkbGeometryType::wkbPolygon,
        options: None,
    })?;
    regions.create_defn_fields(&[("class_index", OGRFieldType::OFTInteger)])?;
    // SAFETY: the band, its mask and the layer live until the call returns.
    let err = unsafe {
        gdal_sys::GDALPolygonize(
            band.c_rasterband(),
            mask.c_rasterband(),
            regions.c_layer(),
            0,
            std::ptr::null_mut(),
            None,
            std::ptr::null_mut(),
        )
    };
    if err != gdal_sys::CPLErr::CE_None {
        bail!("cannot polygonize {}", class_map.display());
    }

    let (driver, suffix) = match format {
        VectorFormat::GeoPackage => ("GPKG", ".gpkg"),
        VectorFormat::FlatGeobuf => ("FlatGeobuf", ".fgb"),
        VectorFormat::GeoJson => ("GeoJSON", ".geojson"),
    };
    let tmp = TempPath::beside(out, suffix);
    let count = {
        let mut ds = DriverManager::get_driver_by_name(driver)?
            .create_vector_only(tmp.path())
            .with_context(|| format!("cannot create {}", out.display()))?;
        let count = if format == VectorFormat::GeoPackage {
            // one transaction: GeoPackage commits per feature otherwise
            let mut t = ds.start_transaction()?;
            let n = copy_named(&mut t, &mem, srs.as_ref(), classes)?;
            t.commit()?;
            n
        } else {
            copy_named(&mut ds, &mem, srs.as_ref(), classes)?
        };
        ds.close()
            .map_err(|e| anyhow!("cannot write {}: {e}", out.display()))?;
        count
    };
    tmp.persist(out)?;
    Ok(count)
}

/// Copies the regions of `mem`'s layer into a new layer of `target`, with
/// each region's class name; returns how many.
fn copy_named(
    target: &mut Dataset,
    mem: &Dataset,
    srs: Option<&gdal::spatial_ref::SpatialRef>,
    classes: &[String],
) -> Result<usize> {
    let layer = target.create_layer(LayerOptions {
        name: "polygons",
        srs,
        ty: OGRwkbGeometryType::wkbPolygon,
        options: None,
    })?;
    layer.create_defn_fields(&[
        ("class", OGRFieldType::OFTString),
        ("class_index", OGRFieldType::OFTInteger),
    ])?;
    let mut regions = mem.layer(0)?;
    let mut count = 0;
    for r in regions.features() {
        let k = r.field_as_integer(0)?.unwrap_or(-1);
        let name = usize::try_from(k)
            .ok()
            .and_then(|k| classes.get(k))
            .cloned()
            .unwrap_or_else(|| k.to_string());
        let mut f = Feature::new(layer.defn())?;
        if let Some(g) = r.geometry() {
            f.set_geometry(g.clone())?;
        }
        f.set_field_string(0, &name)?;
        f.set_field_integer(1, k)?;
        f.create(&layer)?;
        count += 1;
    }
    Ok(count)
}
