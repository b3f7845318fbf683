//! Pascal VOC XML (`bndbox`), including DIOR-R's oriented `robndbox`
//! (four corners, converted to an le90 rotated box).

use std::path::Path;

use roxmltree::{Document, Node};
use smae_geom::{BBox, RBox};

use super::{
    bad_object, check_box, find_image, AnnotationError, ImageAnnotations, Object, SkipReport,
};

fn child<'a>(n: Node<'a, 'a>, name: &str) -> Option<Node<'a, 'a>> {
    n.children().find(|c| c.has_tag_name(name))
}

fn text<'a>(n: Node<'a, 'a>, name: &str) -> Option<&'a str> {
    child(n, name).and_then(|c| c.text()).map(str::trim)
}

pub fn parse(
    file: &Path,
    root: &Path,
    skip_bad: bool,
    skipped: &mut SkipReport,
) -> Result<ImageAnnotations, AnnotationError> {
    let src = std::fs::read_to_string(file)
        .map_err(|e| AnnotationError::new(file, 0, format!("cannot read: {e}")))?;
    let doc = Document::parse(&src).map_err(|e| {
        AnnotationError::new(file, e.pos().row as usize, format!("malformed XML: {e}"))
    })?;
    let line = |n: Node| doc.text_pos_at(n.range().start).row as usize;
    let ann = doc.root_element();
    if !ann.has_tag_name("annotation") {
        return Err(AnnotationError::new(
            file,
            line(ann),
            "not a VOC annotation (no <annotation> root)",
        ));
    }
    let filename = text(ann, "filename");
    let image = find_image(filename, file, root).ok_or_else(|| {
        let at = child(ann, "filename").map_or(line(ann), line);
        AnnotationError::new(
            file,
            at,
            format!("image {} not found", filename.unwrap_or("(no <filename>)")),
        )
    })?;
    let size = child(ann, "size").and_then(|s| {
        let w = text(s, "width")?.parse::<f64>().ok()?;
        let h = text(s, "height")?.parse::<f64>().ok()?;
        (w > 0.0 && h > 0.0).then_some((w as u32, h as u32))
    });
    let mut objects = Vec::new();
    for obj in ann.children().filter(|c| c.has_tag_name("object")) {
        match object(obj, size, file, &line) {
            Ok(o) => objects.push(o),
            Err(e) => {
                bad_object(e, skip_bad, skipped)?;
            }
        }
    }
    Ok(ImageAnnotations {
        image,
        source: file.to_path_buf(),
        size,
        objects,
    })
}

fn object(
    obj: Node,
    size: Option<(u32, u32)>,
    file: &Path,
    line: &dyn Fn(Node) -> usize,
) -> Result<Object, AnnotationError> {
    let at = line(obj);
    let err = |m: String| AnnotationError::new(file, at, m);
    let class = text(obj, "name")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err("object without <name>".into()))?;
    let difficult = text(obj, "difficult").is_some_and(|d| d == "1");
    let num = |n: Node, k: &str| -> Result<f32, AnnotationError> {
        text(n, k)
            .ok_or_else(|| err(format!("missing <{k}>")))?
            .parse::<f32>()
            .map_err(|_| err(format!("<{k}> is not a number")))
    };
    let (bbox, rbox) = if let Some(r) = child(obj, "robndbox") {
        let corners = ["left_top", "right_top", "right_bottom", "left_bottom"];
        let mut pts = [(0f32, 0f32); 4];
        for (p, c) in pts.iter_mut().zip(corners) {
            *p = (num(r, &format!("x_{c}"))?, num(r, &format!("y_{c}"))?);
        }
        let rb = RBox::from_polygon(&pts);
        (rb.bounds(), Some(rb))
    } else if let Some(b) = child(obj, "bndbox") {
        (
            BBox::new(
                num(b, "xmin")?,
                num(b, "ymin")?,
                num(b, "xmax")?,
                num(b, "ymax")?,
            ),
            None,
        )
    } else {
        return Err(err(format!(
            "object '{class}' has neither <bndbox> nor <robndbox>"
        )));
    };
    check_box(&bbox, size).map_err(|m| err(format!("object '{class}': {m}")))?;
    Ok(Object {
        class: class.to_string(),
        bbox,
        rbox,
        difficult,
        line: at,
    })
}
