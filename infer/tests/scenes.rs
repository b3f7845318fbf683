//! smae-infer on the real rasters of tests/data with small models whose
//! right answer is known pixel by pixel (infer/tests/fixtures): the class
//! map must equal that answer everywhere, whatever the tiling, with nodata
//! where the scene has none, and keep the scene's CRS and geotransform.

mod common;

use std::path::Path;

use common::{data, fixture, hidden_files, read_u8, scratch};

use gdal::raster::Buffer;
use gdal::{Dataset, DriverManager, Metadata};
use serde_json::json;
use smae_infer::{Backend, Model, ModelOptions, RunOptions};

fn model(name: &str, backend: Backend) -> Model {
    let opts = ModelOptions {
        backend,
        threads: 2,
        ..Default::default()
    };
    Model::open(&fixture(name), &opts).unwrap_or_else(|e| panic!("{e:#}"))
}

fn quiet() -> RunOptions {
    RunOptions {
        quiet: true,
        ..Default::default()
    }
}

/// Bands 1..=3 of `path` and the pixel validity as rasterio's
/// `dataset_mask` gives it: a per-dataset mask (mask or alpha band) if the
/// scene has one, else data where any band's GDAL mask says data.
fn read_rgb(path: &Path) -> (usize, usize, Vec<Vec<f64>>, Vec<bool>) {
    let ds = Dataset::open(path).unwrap();
    let (w, h) = ds.raster_size();
    let mut bands = Vec::new();
    let mut valid = vec![false; w * h];
    let mut shared = None;
    for b in 1..=3 {
        let band = ds.rasterband(b).unwrap();
        bands.push(band.read_band_as::<f64>().unwrap().into_shape_and_vec().1);
        let mask = band.open_mask_band().unwrap().read_band_as::<u8>().unwrap();
        let m: Vec<bool> = mask.data().iter().map(|m| *m > 0).collect();
        if band.mask_flags().unwrap().is_per_dataset() {
            shared = Some(m);
        } else {
            valid.iter_mut().zip(&m).for_each(|(v, m)| *v |= *m);
        }
    }
    (w, h, bands, shared.unwrap_or(valid))
}

/// The pointwise model's answer: 1 where green > red, else 0; 255 on nodata.
fn reference_classes(path: &Path) -> (usize, usize, Vec<u8>) {
    let (w, h, b, valid) = read_rgb(path);
    let classes = (0..w * h)
        .map(|i| {
            if !valid[i] {
                255
            } else {
                (b[1][i] > b[0][i]) as u8
            }
        })
        .collect();
    (w, h, classes)
}

fn assert_same_georef(a: &Path, b: &Path) {
    let (a, b) = (Dataset::open(a).unwrap(), Dataset::open(b).unwrap());
    assert_eq!(a.geo_transform().unwrap(), b.geo_transform().unwrap());
    let (sa, sb) = (a.spatial_ref().unwrap(), b.spatial_ref().unwrap());
    assert_eq!(sa.auth_code().ok(), sb.auth_code().ok());
    assert!(sa.to_wkt().unwrap() == sb.to_wkt().unwrap() || sa.auth_code().is_ok());
}

fn segment(model: &mut Model, input: &Path, out: &Path, opts: &RunOptions) {
    model
        .run(input, out, opts)
        .unwrap_or_else(|e| panic!("{}: {e:#}", input.display()));
}

/// Landsat excerpt with a nodata collar: the class map equals the pointwise
/// answer at every pixel, nodata exactly on the collar, the same CRS and
/// geotransform, written as a COG; on both runtimes and for several tilings.
#[test]
fn segment_landsat_with_nodata_collar() {
    let dir = scratch("landsat");
    let input = data("rasterio/RGB.byte.tif");
    let (w, h, want) = reference_classes(&input);
    assert!(want.contains(&255) && want.contains(&0) && want.contains(&1));
    // dark but valid pixels: a band at the nodata value 0, not all three;
    // rasterio's dataset_mask counts 710 of them as data on this scene
    let (_, _, b, _) = read_rgb(&input);
    let dark = (0..w * h)
        .filter(|&i| b.iter().any(|v| v[i] == 0.0) && b.iter().any(|v| v[i] != 0.0))
        .count();
    assert_eq!(dark, 710);
    // band_width 100: the 791 px wide scene is blended in vertical bands
    for (backend, overlap, batch, band_width) in [
        (Backend::Tract, 8, 4, 8192),
        (Backend::Ort, 8, 3, 100),
        (Backend::Tract, 0, 1, 8192),
        (Backend::Ort, 31, 8, 100),
    ] {
        let mut m = model("pointwise_segment.onnx", backend);
        let out = dir.join(format!("{backend:?}-{overlap}-{band_width}.tif"));
        let opts = RunOptions {
            overlap: Some(overlap),
            batch,
            band_width,
            ..quiet()
        };
        segment(&mut m, &input, &out, &opts);
        let (gw, gh, got) = read_u8(&out);
        assert_eq!((gw, gh), (w, h));
        let wrong = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(
            wrong, 0,
            "{backend:?} overlap {overlap}: {wrong} pixels differ"
        );
        assert_same_georef(&input, &out);
        let ds = Dataset::open(&out).unwrap();
        assert_eq!(
            ds.metadata_item("LAYOUT", "IMAGE_STRUCTURE").as_deref(),
            Some("COG")
        );
        assert_eq!(
            ds.metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
                .as_deref(),
            Some("DEFLATE")
        );
        let band = ds.rasterband(1).unwrap();
        assert_eq!(band.no_data_value(), Some(255.0));
        assert_eq!(band.block_size(), (512, 512));
        assert!(band.overview_count().unwrap() >= 1);
        assert_eq!(
            ds.metadata_item("SMAE_CLASS_NAMES", "").as_deref(),
            Some("red,green")
        );
        // the class names as GDAL's own tool reads them: category names and
        // a thematic attribute table (value, class, colour) in the sidecar
        let info = common::gdalinfo(&out);
        assert_eq!(info["bands"][0]["categories"], json!(["red", "green"]));
        assert_eq!(info["rat"]["tableType"], "thematic");
        assert_eq!(
            info["rat"]["row"][1]["f"],
            json!([1, "green", 255, 127, 14])
        );
        assert_eq!(
            info["files"].as_array().unwrap().len(),
            2,
            "{}",
            info["files"]
        );
    }
    let leftovers = hidden_files(&dir);
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// `--probabilities`: the blended class probabilities beside the class map,
/// 8-bit with the band scale 1/254; for the pointwise model each pixel's
/// p(green) is sigmoid(2 (green - red) / (255 x 0.25)), by hand.
#[test]
fn probabilities_beside_the_class_map() {
    use smae_infer::run::{probabilities_path, Probabilities};
    let dir = scratch("probs");
    let input = data("rasterio/RGB.byte.tif");
    let (w, h, b, valid) = read_rgb(&input);
    let mut m = model("pointwise_segment.onnx", Backend::Ort);
    let out = dir.join("landsat.tif");
    let opts = RunOptions {
        probabilities: Some(Probabilities::Classes),
        band_width: 300,
        ..quiet()
    };
    let report = m.run(&input, &out, &opts).unwrap();
    let probs = probabilities_path(&out);
    assert_eq!(probs, dir.join("landsat_probabilities.tif"));
    assert_eq!(report.probabilities.as_deref(), Some(probs.as_path()));
    let ds = Dataset::open(&probs).unwrap();
    assert_eq!(ds.raster_size(), (w, h));
    assert_eq!(ds.raster_count(), 2);
    assert_same_georef(&input, &probs);
    let band = |k: usize| {
        let b = ds.rasterband(k).unwrap();
        assert_eq!(b.no_data_value(), Some(255.0));
        assert!((b.scale().unwrap() - 1.0 / 254.0).abs() < 1e-12);
        assert_eq!(b.description().unwrap(), ["p(red)", "p(green)"][k - 1]);
        b.read_band_as::<u8>().unwrap().into_shape_and_vec().1
    };
    let (p0, p1) = (band(1), band(2));
    let (_, _, classes) = read_u8(&out);
    let mut checked = 0;
    for i in 0..w * h {
        if !valid[i] {
            assert_eq!((p0[i], p1[i], classes[i]), (255, 255, 255), "pixel {i}");
            continue;
        }
        let want = 1.0 / (1.0 + (-2.0 * (b[1][i] - b[0][i]) / 63.75).exp());
        assert!(
            (p1[i] as f64 - 254.0 * want).abs() <= 0.5 + 1e-3,
            "pixel {i}: {} vs {}",
            p1[i],
            254.0 * want
        );
        assert!((253..=255).contains(&(p0[i] as u32 + p1[i] as u32)));
        checked += 1;
    }
    assert!(checked > 300_000, "{checked}");
    // GDAL's own tool applies the scale: p in 0..1
    let info = common::gdalinfo(&probs);
    assert!((info["bands"][1]["scale"].as_f64().unwrap() - 1.0 / 254.0).abs() < 1e-9);

    // max: one band, the larger of the two
    let out2 = dir.join("conf.tif");
    let opts = RunOptions {
        probabilities: Some(Probabilities::Max),
        ..quiet()
    };
    m.run(&input, &out2, &opts).unwrap();
    let ds2 = Dataset::open(probabilities_path(&out2)).unwrap();
    assert_eq!(ds2.raster_count(), 1);
    let (_, _, conf) = read_u8(&probabilities_path(&out2));
    assert!((0..w * h).all(|i| conf[i] == p0[i].max(p1[i]) || !valid[i]));

    // only segment models have them
    let mut c = model("mean_classify.onnx", Backend::Ort);
    let bad = dir.join("cls.tif");
    let e = c
        .run(
            &input,
            &bad,
            &RunOptions {
                probabilities: Some(Probabilities::Classes),
                ..quiet()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("--probabilities"), "{e}");
    assert!(!bad.exists() && !probabilities_path(&bad).exists());
    let leftovers = hidden_files(&dir);
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// `--polygons`: the class map as polygons, one per 4-connected region of
/// one class (counted here by flood fill), whose areas add up to each
/// class's pixel count times the pixel area, with the class names and the
/// scene's CRS; GDAL's own ogrinfo opens each of the three formats.
#[test]
fn polygons_of_the_class_map() {
    use gdal::vector::LayerAccess;
    use smae_infer::polygons::{self, polygons_path};
    use smae_infer::vector::VectorFormat;
    let dir = scratch("polygons");
    let input = data("rasterio/RGB.byte.tif");
    let mut m = model("pointwise_segment.onnx", Backend::Ort);
    let out = dir.join("landsat.tif");
    let opts = RunOptions {
        polygons: Some(VectorFormat::GeoPackage),
        ..quiet()
    };
    let report = m.run(&input, &out, &opts).unwrap();
    let gpkg = polygons_path(&out, VectorFormat::GeoPackage);
    assert_eq!(gpkg, dir.join("landsat_polygons.gpkg"));
    assert_eq!(report.polygons.as_deref(), Some(gpkg.as_path()));

    // the regions by hand: 4-connected components of each class
    let (w, h, classes) = read_u8(&out);
    let mut seen = vec![false; w * h];
    let mut regions = [0usize; 2];
    let mut pixels = [0usize; 2];
    for start in 0..w * h {
        let k = classes[start];
        if seen[start] || k == 255 {
            continue;
        }
        regions[k as usize] += 1;
        seen[start] = true;
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            pixels[k as usize] += 1;
            let (x, y) = (i % w, i / w);
            let mut next = Vec::with_capacity(4);
            if x > 0 {
                next.push(i - 1);
            }
            if x + 1 < w {
                next.push(i + 1);
            }
            if y > 0 {
                next.push(i - w);
            }
            if y + 1 < h {
                next.push(i + w);
            }
            for j in next {
                if !seen[j] && classes[j] == k {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    assert!(regions[0] > 10 && regions[1] > 10, "{regions:?}");
    assert_eq!(report.polygon_count, Some(regions[0] + regions[1]));
    let gt = Dataset::open(&out).unwrap().geo_transform().unwrap();
    let pixel_area = (gt[1] * gt[5] - gt[2] * gt[4]).abs();
    let epsg = Dataset::open(&input)
        .unwrap()
        .spatial_ref()
        .unwrap()
        .auth_code()
        .unwrap();

    let fgb = polygons_path(&out, VectorFormat::FlatGeobuf);
    let geojson = polygons_path(&out, VectorFormat::GeoJson);
    for (path, format) in [
        (&fgb, VectorFormat::FlatGeobuf),
        (&geojson, VectorFormat::GeoJson),
    ] {
        let n = polygons::write(&out, path, &["red".into(), "green".into()]).unwrap();
        assert_eq!(n, regions[0] + regions[1], "{format:?}");
    }
    for path in [&gpkg, &fgb, &geojson] {
        let ds = Dataset::open(path).unwrap();
        let mut layer = ds.layer(0).unwrap();
        assert_eq!(
            layer.spatial_ref().unwrap().auth_code().unwrap(),
            epsg,
            "{}",
            path.display()
        );
        let mut count = [0usize; 2];
        let mut area = [0f64; 2];
        for f in layer.features() {
            let name = f.field_as_string(f.field_index("class").unwrap()).unwrap();
            let k = f
                .field_as_integer(f.field_index("class_index").unwrap())
                .unwrap()
                .unwrap() as usize;
            assert_eq!(name.as_deref(), Some(["red", "green"][k]));
            count[k] += 1;
            area[k] += f.geometry().unwrap().area();
        }
        assert_eq!(count, regions, "{}", path.display());
        for k in 0..2 {
            let want = pixels[k] as f64 * pixel_area;
            assert!(
                (area[k] - want).abs() <= 1e-9 * want,
                "{} class {k}: {} vs {want}",
                path.display(),
                area[k]
            );
        }
        // GDAL's own tool reads the same count
        let info = std::process::Command::new("ogrinfo")
            .args(["-so", "-al"])
            .arg(path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&info.stdout);
        assert!(
            text.contains(&format!("Feature Count: {}", regions[0] + regions[1])),
            "{text}"
        );
    }

    // only segment models have them; nothing is written
    let mut c = model("mean_classify.onnx", Backend::Ort);
    let bad = dir.join("cls.tif");
    let e = c.run(&input, &bad, &opts).unwrap_err();
    assert!(e.to_string().contains("--polygons"), "{e}");
    assert!(!bad.exists() && !polygons_path(&bad, VectorFormat::GeoPackage).exists());
    let leftovers = hidden_files(&dir);
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The library's progress callback: once per tile in order, with `quiet`
/// too; the owned pixels add up to the scene (band_width 200: tiles read
/// twice at band borders are counted once).
#[test]
fn progress_callback_counts_tiles_and_pixels() {
    use smae_infer::progress::{Progress, ProgressCallback};
    use std::sync::{Arc, Mutex};
    let dir = scratch("callback");
    let input = data("rasterio/RGB.byte.tif");
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let log = seen.clone();
    let opts = RunOptions {
        progress: Some(ProgressCallback::new(move |p| log.lock().unwrap().push(*p))),
        band_width: 200,
        ..quiet()
    };
    let mut m = model("pointwise_segment.onnx", Backend::Tract);
    let report = m.run(&input, &dir.join("out.tif"), &opts).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), report.tiles);
    let (w, h) = Dataset::open(&input).unwrap().raster_size();
    for (i, p) in seen.iter().enumerate() {
        assert_eq!((p.tiles_done, p.tiles_total), (i + 1, report.tiles));
        assert_eq!(p.pixels_total, (w * h) as u64);
        if i > 0 {
            // tiles read again at a band border for blending own nothing
            assert!(p.pixels_done >= seen[i - 1].pixels_done);
            assert!(p.seconds >= seen[i - 1].seconds);
        }
    }
    assert_eq!(seen.last().unwrap().pixels_done, (w * h) as u64);
}

/// With a model whose answer depends on the whole tile, blending matters:
/// a scene blended in narrow vertical bands gives exactly the class map of
/// one band over the whole width (the same tiles reach every pixel, added in
/// the same order).
#[test]
fn banded_blending_is_exact() {
    let dir = scratch("bands");
    let mut m = model("context_segment.onnx", Backend::Ort);
    let input = data("rasterio/RGB.byte.tif");
    for overlap in [8, 20] {
        let mut maps = Vec::new();
        for band_width in [100_000, 150, 40] {
            let out = dir.join(format!("{overlap}-{band_width}.tif"));
            let opts = RunOptions {
                overlap: Some(overlap),
                band_width,
                ..quiet()
            };
            segment(&mut m, &input, &out, &opts);
            maps.push(read_u8(&out).2);
        }
        assert_eq!(maps[0], maps[1], "overlap {overlap}");
        assert_eq!(maps[0], maps[2], "overlap {overlap}");
        // and the tile context shows: not the pointwise answer everywhere
        let pointwise = reference_classes(&input).2;
        assert!(maps[0].iter().zip(&pointwise).any(|(a, b)| a != b));
    }
}

/// A COG with JPEG tiles, overviews and an internal mask; a 2048 px drone
/// scene whose black corner is data (no nodata tag, so none is invented);
/// a scene smaller than one tile (padded).
#[test]
fn segment_masks_and_odd_shapes() {
    let dir = scratch("odd");
    let mut m = model("pointwise_segment.onnx", Backend::Ort);
    let cog = data("rasterio/cogeo.tif");
    let out = dir.join("cog.tif");
    segment(&mut m, &cog, &out, &quiet());
    let (_, _, want) = reference_classes(&cog);
    assert_eq!(read_u8(&out).2, want);

    // an internal per-dataset mask band with a hole (GDAL's .msk-in-TIFF)
    let masked = dir.join("masked.tif");
    let src = Dataset::open(data("deepforest/OSBS_029.tif")).unwrap();
    let dst = src
        .create_copy(
            &DriverManager::get_driver_by_name("GTiff").unwrap(),
            &masked,
            &Default::default(),
        )
        .unwrap();
    for b in 1..=3 {
        dst.rasterband(b).unwrap().set_no_data_value(None).unwrap();
    }
    dst.rasterband(1).unwrap().create_mask_band(true).unwrap();
    let hole: Vec<u8> = (0..400 * 400)
        .map(|i| {
            if (i % 400 >= 150 && i % 400 < 230) && (i / 400 >= 40 && i / 400 < 333) {
                0
            } else {
                255
            }
        })
        .collect();
    dst.rasterband(1)
        .unwrap()
        .open_mask_band()
        .unwrap()
        .write(
            (0, 0),
            (400, 400),
            &mut Buffer::new((400, 400), hole.clone()),
        )
        .unwrap();
    drop(dst);
    let out = dir.join("masked-out.tif");
    segment(&mut m, &masked, &out, &quiet());
    let want = reference_classes(&masked).2;
    assert_eq!(
        want.iter().filter(|&&c| c == 255).count(),
        80 * 293,
        "the mask is read back"
    );
    assert_eq!(read_u8(&out).2, want);

    let drone = data("deepforest/5b90f92da0d7280005fab355_4310.tif");
    let out = dir.join("drone.tif");
    let opts = RunOptions {
        overlap: Some(4),
        batch: 16,
        ..quiet()
    };
    segment(&mut m, &drone, &out, &opts);
    let (_, _, got) = read_u8(&out);
    assert!(!got.contains(&255), "no nodata tag: every pixel is data");
    assert_eq!(got, reference_classes(&drone).2);
    assert_same_georef(&drone, &out); // EPSG:3395, World Mercator

    // Dutch RD New (EPSG:28992), JPEG-compressed tiles
    let rd = data("deepforest/test_tiled.tif");
    let out = dir.join("rd.tif");
    segment(&mut m, &rd, &out, &quiet());
    assert_eq!(read_u8(&out).2, reference_classes(&rd).2);
    assert_same_georef(&rd, &out);
    let srs = Dataset::open(&out).unwrap().spatial_ref().unwrap();
    assert_eq!(srs.auth_code().unwrap(), 28992);

    // a 20 x 13 crop, smaller than the 32 px tile
    let small = dir.join("small.tif");
    let src = Dataset::open(data("deepforest/OSBS_029.tif")).unwrap();
    let mut dst = DriverManager::get_driver_by_name("GTiff")
        .unwrap()
        .create_with_band_type::<u8, _>(&small, 20, 13, 3)
        .unwrap();
    dst.set_geo_transform(&src.geo_transform().unwrap())
        .unwrap();
    dst.set_spatial_ref(&src.spatial_ref().unwrap()).unwrap();
    for b in 1..=3 {
        let v = src
            .rasterband(b)
            .unwrap()
            .read_as::<u8>((100, 100), (20, 13), (20, 13), None)
            .unwrap();
        dst.rasterband(b)
            .unwrap()
            .write(
                (0, 0),
                (20, 13),
                &mut Buffer::new((20, 13), v.into_shape_and_vec().1),
            )
            .unwrap();
    }
    drop(dst);
    let out = dir.join("small-out.tif");
    segment(&mut m, &small, &out, &quiet());
    assert_eq!(read_u8(&out).2, reference_classes(&small).2);
}

/// Test-time flips leave a pointwise model's answer unchanged; tiles twice
/// the model input (read at half resolution, probabilities resampled back)
/// put the class boundary of a smooth scene where it is, to a pixel.
#[test]
fn tta_and_resampled_tiles() {
    let dir = scratch("tta");
    let mut m = model("pointwise_segment.onnx", Backend::Tract);
    let input = data("deepforest/OSBS_029.tif");
    let (_, _, want) = reference_classes(&input);
    let out = dir.join("tta.tif");
    segment(
        &mut m,
        &input,
        &out,
        &RunOptions {
            tta: true,
            ..quiet()
        },
    );
    assert_eq!(read_u8(&out).2, want);

    // red rises to the right, green downwards: class 1 (green > red) below
    // the diagonal y = x
    let (w, h) = (300usize, 200usize);
    let ramp = dir.join("ramp.tif");
    let mut ds = DriverManager::get_driver_by_name("GTiff")
        .unwrap()
        .create_with_band_type::<u8, _>(&ramp, w, h, 3)
        .unwrap();
    ds.set_geo_transform(&[0.0, 1.0, 0.0, 0.0, 0.0, -1.0])
        .unwrap();
    for b in 1..=3 {
        let v: Vec<u8> = (0..w * h)
            .map(|i| match b {
                1 => ((i % w) / 2 + 10) as u8,
                2 => ((i / w) / 2 + 10) as u8,
                _ => 0,
            })
            .collect();
        ds.rasterband(b)
            .unwrap()
            .write((0, 0), (w, h), &mut Buffer::new((w, h), v))
            .unwrap();
    }
    drop(ds);
    let out = dir.join("big-tiles.tif");
    let opts = RunOptions {
        tile: Some(64),
        overlap: Some(16),
        ..quiet()
    };
    segment(&mut m, &ramp, &out, &opts);
    let got = read_u8(&out).2;
    let want = reference_classes(&ramp).2;
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        let (x, y) = ((i % w) as f64, (i / w) as f64);
        // values step every 2 px: allow the boundary to move by 2.5 px
        assert!(a == b || (x - y).abs() <= 2.5, "pixel {x},{y}: {a} vs {b}");
    }
}

/// Ten float32 bands with nodata -9999: bands chosen and scaled by the user,
/// nodata honoured.
#[test]
fn multiband_float_scene() {
    let dir = scratch("hls");
    let mut m = model("pointwise_segment.onnx", Backend::Ort);
    let input = data("terratorch/hls_10band_utm14n_224.tif");
    let out = dir.join("hls.tif");
    let opts = RunOptions {
        bands: Some(vec![3, 2, 1]),
        scale: Some(255.0 / 10000.0),
        ..quiet()
    };
    let report = m.run(&input, &out, &opts).unwrap();
    // the fixture's card has no ground resolution: the only warning
    assert!(
        report
            .warnings
            .iter()
            .all(|w| w.contains("no ground resolution")),
        "{:?}",
        report.warnings
    );
    let ds = Dataset::open(&input).unwrap();
    let band = |b: usize| {
        ds.rasterband(b)
            .unwrap()
            .read_band_as::<f64>()
            .unwrap()
            .into_shape_and_vec()
            .1
    };
    let (r, g, b1) = (band(3), band(2), band(1));
    let nd = ds.rasterband(1).unwrap().no_data_value();
    assert_eq!(nd, Some(-9999.0));
    let got = read_u8(&out).2;
    for i in 0..r.len() {
        let bad = [&b1, &g, &r].iter().all(|b| Some(b[i]) == nd);
        let expected = if bad { 255 } else { (g[i] > r[i]) as u8 };
        assert_eq!(got[i], expected, "pixel {i}");
    }
    assert_same_georef(&input, &out);
}

/// One class-map cell per stride, the geotransform scaled to it, and the
/// probability bands; cells equal the mean model's answer on the window.
#[test]
fn classify_grid() {
    let dir = scratch("cls");
    let mut m = model("mean_classify.onnx", Backend::Ort);
    let input = data("deepforest/OSBS_029.tif");
    let out = dir.join("cls.tif");
    m.run(&input, &out, &quiet()).unwrap();
    let ds = Dataset::open(&out).unwrap();
    // tile 32, overlap 16: stride 16 -> 25 x 25 cells over 400 x 400
    assert_eq!(ds.raster_size(), (25, 25));
    assert_eq!(ds.raster_count(), 3);
    let src = Dataset::open(&input).unwrap();
    let (gs, go) = (src.geo_transform().unwrap(), ds.geo_transform().unwrap());
    assert_eq!(go, [gs[0], gs[1] * 16.0, gs[2], gs[3], gs[4], gs[5] * 16.0]);
    let class = ds
        .rasterband(1)
        .unwrap()
        .read_band_as::<f32>()
        .unwrap()
        .into_shape_and_vec()
        .1;
    let p1 = ds
        .rasterband(3)
        .unwrap()
        .read_band_as::<f32>()
        .unwrap()
        .into_shape_and_vec()
        .1;
    let (w, h, b, valid) = read_rgb(&input);
    let mut checked = 0;
    for r in 0..25 {
        for c in 0..25 {
            // window of 32 centred on the cell: starts at 16 c + 8 - 16
            let (x0, y0) = (16 * c as i64 - 8, 16 * r as i64 - 8);
            let mut sum = 0.0;
            for y in y0..y0 + 32 {
                for x in x0..x0 + 32 {
                    if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                        let i = y as usize * w + x as usize;
                        if valid[i] {
                            sum += b[1][i] - b[0][i];
                        }
                    }
                }
            }
            let i = r * 25 + c;
            let sum = sum / 255.0 / 0.25 / 1024.0;
            assert!(
                (p1[i] as f64 - 1.0 / (1.0 + (-2.0 * sum).exp())).abs() < 1e-4,
                "cell {r},{c}"
            );
            if sum.abs() > 1e-4 {
                assert_eq!(class[i], (sum > 0.0) as u8 as f32, "cell {r},{c}");
                checked += 1;
            }
        }
    }
    assert!(checked > 600);
}

/// A JPEG without georeferencing: pixel coordinates and a warning.
#[test]
fn non_georeferenced_scene_warns() {
    let dir = scratch("nogeo");
    let mut m = model("pointwise_segment.onnx", Backend::Tract);
    let input = data("derived/rd_new_800.jpg");
    let out = dir.join("dior.tif");
    let report = m.run(&input, &out, &quiet()).unwrap();
    assert!(!report.georeferenced);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("no georeferencing")),
        "{:?}",
        report.warnings
    );
    assert_eq!(read_u8(&out).2, reference_classes(&input).2);
}
