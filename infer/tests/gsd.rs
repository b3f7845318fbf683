//! Ground resolution: scene pixel sizes in true metres (projected, feet,
//! geographic and Web Mercator CRSs, against Karney's geodesics), and tiles
//! that cover the ground the model was trained on, so a scene and the same
//! scene 2x coarser (GDAL's gdalwarp) give the same answer on the ground.

mod common;

use std::path::Path;

use common::{data, fixture, scratch};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::Dataset;
use geo::{Distance, Geodesic, Point};
use smae_infer::gsd::ground_pixel_m;
use smae_infer::raster::{Georef, Scene};
use smae_infer::{Backend, Model, ModelOptions, RunOptions};
use smae_testkit::gdal_tool;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The geodesic lengths (WGS84, Karney) of one pixel step along the
/// columns and the rows at the scene's centre.
fn karney(g: &Georef, w: usize, h: usize) -> (f64, f64) {
    let mut srs = SpatialRef::from_wkt(g.wkt.as_ref().unwrap()).unwrap();
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut wgs = SpatialRef::from_epsg(4326).unwrap();
    wgs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = CoordTransform::new(&srs, &wgs).unwrap();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let ll = |c: f64, r: f64| {
        let (x, y) = g.apply(c, r);
        let (mut x, mut y, mut z) = ([x], [y], [0.0]);
        t.transform_coords(&mut x, &mut y, &mut z).unwrap();
        Point::new(x[0], y[0])
    };
    let o = ll(cx, cy);
    (
        Geodesic.distance(o, ll(cx + 1.0, cy)),
        Geodesic.distance(o, ll(cx, cy + 1.0)),
    )
}

fn georef_of(path: &Path) -> (Georef, usize, usize) {
    let s = Scene::open(path).unwrap();
    (s.georef.clone().unwrap(), s.width, s.height)
}

fn close(a: (f64, f64), b: (f64, f64), rel: f64) -> bool {
    ((a.0 - b.0) / b.0).abs() < rel && ((a.1 - b.1) / b.1).abs() < rel
}

#[test]
fn ground_pixel_sizes_are_true_metres() {
    let dir = scratch("gsd-crs");
    let neon = data("deepforest/OSBS_029.tif");
    // UTM 17N at 0.1 m: the projection's scale error (~0.9996) only
    let (g, w, h) = georef_of(&neon);
    let m = ground_pixel_m(&g, w, h).unwrap();
    assert!(close(m, karney(&g, w, h), 1e-6), "{m:?}");
    assert!(close(m, (0.1, 0.1), 1e-3), "{m:?}");

    // the same scene in degrees (EPSG:4326) and in Web Mercator, by gdalwarp
    for (epsg, nominal_over_ground) in [("EPSG:4326", None), ("EPSG:3857", Some(()))] {
        let out = dir.join(format!("{}.tif", epsg.replace(':', "")));
        gdal_tool("gdalwarp", &["-t_srs", epsg, s(&neon), s(&out)]);
        let (g, w, h) = georef_of(&out);
        let m = ground_pixel_m(&g, w, h).unwrap();
        assert!(close(m, karney(&g, w, h), 1e-6), "{epsg}: {m:?}");
        // gdalwarp keeps about the source's pixel count: ~0.1 m on the ground
        assert!((0.09..0.11).contains(&m.0), "{epsg}: {m:?}");
        if nominal_over_ground.is_some() {
            // Web Mercator's metres are 1 / cos(latitude) ground metres
            let lat = 29.68_f64.to_radians();
            let nominal = g.transform[1];
            assert!((m.0 / nominal - lat.cos()).abs() < 0.01, "{m:?} {nominal}");
        }
    }

    // the drone scene in World Mercator (EPSG:3395) at 14.6 N: its nominal
    // 0.1 m pixels are about cos(latitude) of that on the ground
    let drone = data("deepforest/5b90f92da0d7280005fab355_4310.tif");
    let (g, w, h) = georef_of(&drone);
    let m = ground_pixel_m(&g, w, h).unwrap();
    assert!(close(m, karney(&g, w, h), 1e-6), "{m:?}");
    let lat = (14.0 + 35.0 / 60.0 + 45.44 / 3600.0_f64).to_radians();
    assert!((m.0 / g.transform[1] - lat.cos()).abs() < 0.005, "{m:?}");
    assert!((m.1 / -g.transform[5] - lat.cos()).abs() < 0.005, "{m:?}");

    // a state plane CRS in US survey feet (Florida East, EPSG:2236)
    let ft = SpatialRef::from_epsg(2236).unwrap();
    let g = Georef {
        transform: [560_000.0, 1.0, 0.0, 600_000.0, 0.0, -1.0],
        wkt: Some(ft.to_wkt().unwrap()),
        epsg: Some(2236),
    };
    let m = ground_pixel_m(&g, 1000, 1000).unwrap();
    assert!(close(m, karney(&g, 1000, 1000), 1e-6), "{m:?}");
    assert!(close(m, (0.3048006, 0.3048006), 1e-3), "{m:?}");

    // a transform without a CRS says nothing about metres
    let bare = Georef { wkt: None, ..g };
    assert_eq!(ground_pixel_m(&bare, 10, 10), None);
}

fn classify_model() -> Model {
    let mut m = Model::open(
        &fixture("mean_classify.onnx"),
        &ModelOptions {
            backend: Backend::Ort,
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap();
    // the fixture's card has no resolution: say the model saw 0.1 m pixels
    m.card.gsd_m = Some(0.1);
    m
}

fn quiet() -> RunOptions {
    RunOptions {
        quiet: true,
        ..Default::default()
    }
}

fn band(ds: &Dataset, b: usize) -> Vec<f32> {
    ds.rasterband(b)
        .unwrap()
        .read_band_as::<f32>()
        .unwrap()
        .into_shape_and_vec()
        .1
}

/// The tile-mean classifier (class 1 when the tile's mean green - red is
/// positive) at 0.1 m on the NEON scene and on the scene averaged to 0.2 m:
/// tiles of 32 and 16 scene pixels cover the same 3.2 m, so the cell grids
/// coincide and each cell's probability agrees.
#[test]
fn a_coarser_scene_gives_the_same_cells_on_the_ground() {
    let dir = scratch("gsd-cells");
    let fine = data("deepforest/OSBS_029.tif");
    let coarse = dir.join("coarse.tif");
    gdal_tool(
        "gdalwarp",
        &["-ts", "200", "200", "-r", "average", s(&fine), s(&coarse)],
    );
    let mut m = classify_model();
    let (fo, co) = (dir.join("fine.tif"), dir.join("coarse-cls.tif"));
    let rf = m.run(&fine, &fo, &quiet()).unwrap();
    let rc = m.run(&coarse, &co, &quiet()).unwrap();
    assert_eq!((rf.tile, rf.overlap), (32, 16));
    assert_eq!((rc.tile, rc.overlap), (16, 8));
    assert!((rc.scene_gsd_m.unwrap() - 0.2).abs() < 2e-4);
    assert!(rc.warnings.is_empty(), "{:?}", rc.warnings);
    let (df, dc) = (Dataset::open(&fo).unwrap(), Dataset::open(&co).unwrap());
    assert_eq!(df.raster_size(), (25, 25));
    assert_eq!(dc.raster_size(), (25, 25));
    let (gf, gc) = (df.geo_transform().unwrap(), dc.geo_transform().unwrap());
    assert!(gf.iter().zip(&gc).all(|(a, b)| (a - b).abs() < 1e-6));
    let (pf, pc) = (band(&df, 3), band(&dc, 3));
    let diffs: Vec<f32> = pf.iter().zip(&pc).map(|(a, b)| (a - b).abs()).collect();
    let max = diffs.iter().cloned().fold(0.0, f32::max);
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    eprintln!("p(green): max |fine - coarse| {max:.4}, mean {mean:.5} over 625 cells");
    assert!(max < 0.01 && mean < 0.002, "{max} {mean}");
    let (cf, cc) = (band(&df, 1), band(&dc, 1));
    let sure = |p: f32| (p - 0.5).abs() > 0.01;
    assert!(pf
        .iter()
        .zip(&cf)
        .zip(&cc)
        .all(|((p, a), b)| !sure(*p) || a == b));

    // today's behaviour (tiles in scene pixels) sees 6.4 m tiles on the
    // coarse scene: another grid
    let old = RunOptions {
        tile: Some(32),
        overlap: Some(16),
        ..quiet()
    };
    let o = dir.join("coarse-old.tif");
    m.run(&coarse, &o, &old).unwrap();
    assert_eq!(Dataset::open(&o).unwrap().raster_size(), (13, 13));
}

/// `--gsd` overrides the georeference and stands in where there is none.
#[test]
fn gsd_override_and_unknown_resolution() {
    let dir = scratch("gsd-override");
    let mut m = classify_model();
    let neon = data("deepforest/OSBS_029.tif");
    let r = m
        .run(
            &neon,
            &dir.join("a.tif"),
            &RunOptions {
                gsd: Some(0.2),
                ..quiet()
            },
        )
        .unwrap();
    assert_eq!((r.tile, r.scene_gsd_m), (16, Some(0.2)));

    // a JPEG without georeferencing: scene pixels, and a warning naming --gsd
    let jpg = data("derived/rd_new_800.jpg");
    let r = m.run(&jpg, &dir.join("b.tif"), &quiet()).unwrap();
    assert_eq!(r.tile, 32);
    assert!(
        r.warnings.iter().any(|w| w.contains("--gsd")),
        "{:?}",
        r.warnings
    );
    let r = m
        .run(
            &jpg,
            &dir.join("c.tif"),
            &RunOptions {
                gsd: Some(0.05),
                ..quiet()
            },
        )
        .unwrap();
    assert_eq!(r.tile, 64);
    assert!(!r.warnings.iter().any(|w| w.contains("--gsd")));

    // a card without a resolution keeps scene pixels and says so
    m.card.gsd_m = None;
    let r = m.run(&neon, &dir.join("d.tif"), &quiet()).unwrap();
    assert_eq!(r.tile, 32);
    assert!(r
        .warnings
        .iter()
        .any(|w| w.contains("no ground resolution")));

    for bad in [0.0, -1.0, f64::NAN] {
        let e = m
            .run(
                &neon,
                &dir.join("e.tif"),
                &RunOptions {
                    gsd: Some(bad),
                    ..quiet()
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("--gsd"), "{e}");
        assert!(!dir.join("e.tif").exists());
    }
}
