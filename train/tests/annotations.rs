//! Annotation parsing on real samples (a hand-labelled DIOR-R file, the NEON
//! CSV), a DOTA file, the angle convention, and errors that name the file
//! and line.

use smae_geom::RBox;
use smae_testkit::{data, scratch};
use smae_train::data::annotations::load_dir;

/// DIOR-R's layout: Annotations/00001.xml and JPEGImages/00001.jpg, with
/// one boat labelled by hand as an exact rectangle: long side (18, -30),
/// short side (10, 6), so the le90 box is centre (627, 405), w = |(18,-30)|,
/// h = |(10,6)|, angle = atan2(-30, 18) (about -59 degrees).
#[test]
fn dior_r_oriented_xml() {
    let d = scratch("dior");
    std::fs::create_dir_all(d.join("Annotations")).unwrap();
    std::fs::create_dir_all(d.join("JPEGImages")).unwrap();
    let xml = std::fs::read_to_string(data("derived/rd_new_800_obb.xml"))
        .unwrap()
        .replace("rd_new_800.jpg", "00001.jpg");
    std::fs::write(d.join("Annotations/00001.xml"), xml).unwrap();
    std::fs::copy(
        data("derived/rd_new_800.jpg"),
        d.join("JPEGImages/00001.jpg"),
    )
    .unwrap();
    let (anns, skipped) = load_dir(&d, false).unwrap();
    assert_eq!(skipped.objects + skipped.files, 0);
    assert_eq!(anns.len(), 1);
    assert!(anns[0].image.ends_with("JPEGImages/00001.jpg"));
    let o = &anns[0].objects[0];
    assert_eq!(o.class, "ship");
    let r = o.rbox.unwrap();
    let want = RBox::new(
        627.0,
        405.0,
        (18f32 * 18.0 + 30.0 * 30.0).sqrt(),
        (10f32 * 10.0 + 6.0 * 6.0).sqrt(),
        (-30f32).atan2(18.0),
    );
    for (got, want, what) in [
        (r.cx, want.cx, "cx"),
        (r.cy, want.cy, "cy"),
        (r.w, want.w, "w"),
        (r.h, want.h, "h"),
        (r.angle, want.angle, "angle"),
    ] {
        assert!((got - want).abs() < 1e-3, "{what}: {got} vs {want} ({r:?})");
    }
    assert_eq!(anns[0].size, Some((800, 800)));
}

/// DOTA labelTxt with its header lines; a vehicle drawn at 30 degrees.
#[test]
fn dota_txt() {
    let d = scratch("dota");
    std::fs::create_dir_all(d.join("images")).unwrap();
    std::fs::create_dir_all(d.join("labelTxt")).unwrap();
    std::fs::copy(
        data("derived/drone_1616x1565.jpg"),
        d.join("images/P0001.jpg"),
    )
    .unwrap();
    let want = RBox::new(300.0, 200.0, 40.0, 16.0, 30f32.to_radians());
    let c = want.corners();
    let line = format!(
        "{} {} {} {} {} {} {} {} large-vehicle 0",
        c[0].0, c[0].1, c[1].0, c[1].1, c[2].0, c[2].1, c[3].0, c[3].1
    );
    let txt = format!(
        "imagesource:GoogleEarth\ngsd:0.146\n{line}\n10 10 30 10 30 20 10 20 small-vehicle 1\n"
    );
    std::fs::write(d.join("labelTxt/P0001.txt"), txt).unwrap();
    let (anns, _) = load_dir(&d, false).unwrap();
    let objs = &anns[0].objects;
    assert_eq!(objs.len(), 2);
    let r = objs[0].rbox.unwrap();
    assert!((r.cx - 300.0).abs() < 1e-3 && (r.w - 40.0).abs() < 1e-3 && (r.h - 16.0).abs() < 1e-3);
    assert!((r.angle - 30f32.to_radians()).abs() < 1e-5, "{r:?}");
    assert_eq!(objs[0].line, 3);
    assert!(objs[1].difficult);
    assert_eq!(objs[1].rbox.unwrap().angle, 0.0);
}

/// The NEON sample: 61 crowns in DeepForest's CSV.
#[test]
fn neon_csv() {
    let d = scratch("neon");
    for f in ["OSBS_029.csv", "OSBS_029.tif"] {
        std::fs::copy(data(&format!("deepforest/{f}")), d.join(f)).unwrap();
    }
    let (anns, _) = load_dir(&d, false).unwrap();
    assert_eq!(anns.len(), 1);
    assert_eq!(anns[0].objects.len(), 61);
    let o = &anns[0].objects[0];
    assert_eq!(
        (o.class.as_str(), o.bbox.x0, o.bbox.y0, o.bbox.x1, o.bbox.y1),
        ("Tree", 203.0, 67.0, 227.0, 90.0)
    );
    assert_eq!(o.line, 2);
}

#[test]
fn errors_name_the_file_and_line() {
    let d = scratch("bad");
    std::fs::copy(data("deepforest/OSBS_029.tif"), d.join("a.tif")).unwrap();
    let voc = |filename: &str, box_xml: &str| {
        format!("<annotation>\n<filename>{filename}</filename>\n<size><width>400</width><height>400</height></size>\n<object>\n<name>Tree</name>\n{box_xml}\n</object>\n</annotation>\n")
    };
    let good_box = "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>";
    let err = |name: &str, body: String| {
        let sub = d.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::copy(d.join("a.tif"), sub.join("a.tif")).unwrap();
        std::fs::write(sub.join("a.xml"), body).unwrap();
        load_dir(&sub, false).unwrap_err().to_string()
    };
    let e = err("missing", voc("nope.tif", good_box));
    assert!(e.ends_with("a.xml:2: image nope.tif not found"), "{e}");
    let e = err(
        "outside",
        voc(
            "a.tif",
            "<bndbox><xmin>390</xmin><ymin>1</ymin><xmax>460</xmax><ymax>20</ymax></bndbox>",
        ),
    );
    assert!(
        e.contains("a.xml:4: object 'Tree': box (390, 1, 460, 20) lies outside the 400x400 image"),
        "{e}"
    );
    let e = err(
        "malformed",
        "<annotation>\n<filename>a.tif</filename>\n<object>\n</annotation>\n".to_string(),
    );
    assert!(e.contains("a.xml:4: malformed XML"), "{e}");
    let e = err("nobox", voc("a.tif", ""));
    assert!(
        e.contains("a.xml:4: object 'Tree' has neither <bndbox> nor <robndbox>"),
        "{e}"
    );

    // Skipping instead: the bad object is dropped and counted, the file kept.
    let sub = d.join("outside");
    let (anns, skipped) = load_dir(&sub, true).unwrap();
    assert_eq!(anns[0].objects.len(), 0);
    assert_eq!(skipped.objects, 1);
}
