//! Class names where GIS tools look for them: GDAL category names (QGIS
//! labels a paletted class map's legend with them) and a thematic raster
//! attribute table (value, class, colour: ArcGIS, QGIS 3.30+). A GeoTIFF
//! has no tag for either, so GDAL keeps them in its `.aux.xml` sidecar
//! beside the file, which GDAL-based tools read with it. The gdal crate has
//! no API for them: this is the C API through gdal-sys.

use std::ffi::CString;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use gdal::Dataset;
use gdal_sys::{GDALRATFieldType as Ft, GDALRATFieldUsage as Fu};

/// Writes `names` (class `i` = pixel value `i`) and their `palette`
/// colours as band 1's category names and attribute table, into GDAL's
/// sidecar `path.aux.xml` (written when the dataset closes).
pub fn write(path: &Path, names: &[String], palette: &[[u8; 3]]) -> Result<()> {
    let ds = Dataset::open(path)?;
    let band = ds.rasterband(1)?;
    let cstr = |s: &str| CString::new(s).map_err(|_| anyhow!("class name {s:?} holds a NUL byte"));
    let names_c = names.iter().map(|n| cstr(n)).collect::<Result<Vec<_>>>()?;
    // SAFETY: the band handle lives as long as `ds`; the string list is
    // built, handed to GDAL (which copies it) and destroyed here; the RAT
    // is copied by GDALSetDefaultRAT and destroyed here.
    unsafe {
        let h = band.c_rasterband();
        let mut list: *mut *mut std::ffi::c_char = std::ptr::null_mut();
        for n in &names_c {
            list = gdal_sys::CSLAddString(list, n.as_ptr());
        }
        let err = gdal_sys::GDALSetRasterCategoryNames(h, list as gdal_sys::CSLConstList);
        gdal_sys::CSLDestroy(list);
        if err != gdal_sys::CPLErr::CE_None {
            bail!("cannot store the class names of {}", path.display());
        }
        let rat = gdal_sys::GDALCreateRasterAttributeTable();
        let columns: [(&str, Ft::Type, Fu::Type); 5] = [
            ("value", Ft::GFT_Integer, Fu::GFU_MinMax),
            ("class", Ft::GFT_String, Fu::GFU_Name),
            ("red", Ft::GFT_Integer, Fu::GFU_Red),
            ("green", Ft::GFT_Integer, Fu::GFU_Green),
            ("blue", Ft::GFT_Integer, Fu::GFU_Blue),
        ];
        for (name, ty, usage) in columns {
            let n = cstr(name)?;
            gdal_sys::GDALRATCreateColumn(rat, n.as_ptr(), ty, usage);
        }
        gdal_sys::GDALRATSetTableType(rat, gdal_sys::GDALRATTableType::GRTT_THEMATIC);
        gdal_sys::GDALRATSetRowCount(rat, names.len() as i32);
        for (i, (n, c)) in names_c.iter().zip(palette).enumerate() {
            let row = i as i32;
            gdal_sys::GDALRATSetValueAsInt(rat, row, 0, row);
            gdal_sys::GDALRATSetValueAsString(rat, row, 1, n.as_ptr());
            for (k, v) in c.iter().enumerate() {
                gdal_sys::GDALRATSetValueAsInt(rat, row, 2 + k as i32, *v as i32);
            }
        }
        let err = gdal_sys::GDALSetDefaultRAT(h, rat);
        gdal_sys::GDALDestroyRasterAttributeTable(rat);
        if err != gdal_sys::CPLErr::CE_None {
            bail!("cannot store the attribute table of {}", path.display());
        }
    }
    ds.close()
        .map_err(|e| anyhow!("cannot write the legend of {}: {e}", path.display()))
}

/// GDAL's sidecar of `path` (`path.aux.xml`).
pub fn sidecar(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".aux.xml");
    s.into()
}
