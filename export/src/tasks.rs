//! One ONNX graph per task, and the matching Burn forward used as the
//! reference when verifying: `embed` (tokens and cls embedding), `classify`
//! (class probabilities), `segment` (per-pixel class probabilities at input
//! resolution), `detect` / `detect-obb` (decoded boxes in input pixels and
//! per-class scores, dense, no NMS; in the GIS layout a plain detector's
//! are one YOLO-style output, see [`Layout`]).

use burn::prelude::*;
use smae_infer::card::OutputSpec;
use smae_models::detector::locations;
use smae_models::upernet::{feature_blocks, PPM_SCALES};
use smae_models::Detector;
pub use smae_run::model::TaskModel;

use crate::graph::{Attr, Dim, Graph};
use crate::layout::Layout;
use crate::lower::{self, slice_last, take};

/// Lowers `model` for a `size x size` normalised input `images`; returns
/// the output specs.
pub fn build<B: Backend>(
    g: &mut Graph,
    model: &TaskModel<B>,
    (images, size): (&str, usize),
    classes: usize,
    layout: Layout,
) -> Vec<OutputSpec> {
    let b = g.batch.clone();
    let batch = || b.clone();
    let spec = |name: &str, layout: &[&str], kind: &str| OutputSpec {
        name: name.into(),
        layout: layout.iter().map(|s| s.to_string()).collect(),
        kind: kind.into(),
        shape: Vec::new(),
    };
    match model {
        TaskModel::Embed(vit) => {
            let d = vit.dim();
            let l = (size / vit.patch_size).pow(2);
            let t = lower::vit(g, images, vit, size);
            let cls = take(g, &t, 1, 0);
            g.output(&t, "tokens", &[batch(), Dim::Fixed(1 + l), Dim::Fixed(d)]);
            g.output(&cls, "embedding", &[batch(), Dim::Fixed(d)]);
            vec![
                spec("tokens", &["batch", "token", "channel"], "tokens"),
                spec("embedding", &["batch", "channel"], "embedding"),
            ]
        }
        TaskModel::Classify(c) => {
            let t = lower::vit(g, images, &c.encoder, size);
            let pooled = if c.global_pool {
                let st = g.ints("gp_start", &[1]);
                let en = g.ints("gp_end", &[i64::MAX]);
                let ax = g.ints("gp_axis", &[1]);
                let patches = g.node("Slice", &[&t, &st, &en, &ax], vec![]);
                reduce_mean(g, &patches, 1)
            } else {
                take(g, &t, 1, 0)
            };
            let n = lower::layer_norm(g, &pooled, &c.fc_norm);
            let logits = lower::linear(g, &n, &c.head);
            let p = g.node("Softmax", &[&logits], vec![Attr::Int("axis", 1)]);
            g.output(&p, "probabilities", &[batch(), Dim::Fixed(classes)]);
            vec![spec("probabilities", &["batch", "class"], "probabilities")]
        }
        TaskModel::Segment(s) => {
            let vit = &s.encoder;
            let (p, d) = (vit.patch_size, vit.dim());
            let gh = size / p;
            let feats = lower::vit_blocks(g, images, vit, size, &feature_blocks(vit.depth()));
            let maps: Vec<String> = feats
                .iter()
                .map(|f| lower::tokens_to_map(g, f, gh, gh, d))
                .collect();
            let l0 = lower::up4(g, &maps[0], &s.up4);
            let l1 = lower::conv_transpose2d(g, &maps[1], &s.up2);
            let l2 = maps[2].clone();
            let l3 = lower::max_pool2(g, &maps[3]);
            let sizes = [gh * 4, gh * 2, gh, gh / 2];
            let logits = uper_head(g, [l0, l1, l2, l3], sizes, &s.decode_head);
            let logits = lower::resize(g, &logits, (sizes[0], sizes[0]), (size, size));
            let p = lower::softmax_channels(g, &logits, classes);
            g.output(
                &p,
                "probabilities",
                &[
                    batch(),
                    Dim::Fixed(classes),
                    Dim::Fixed(size),
                    Dim::Fixed(size),
                ],
            );
            vec![spec(
                "probabilities",
                &["batch", "class", "y", "x"],
                "probabilities",
            )]
        }
        TaskModel::Detect(det) => detect(g, det, (images, size), classes, layout),
    }
}

fn reduce_mean(g: &mut Graph, x: &str, axis: i64) -> String {
    lower::reduce(g, "ReduceMean", x, axis, false)
}

fn uper_head<B: Backend>(
    g: &mut Graph,
    levels: [String; 4],
    sizes: [usize; 4],
    h: &smae_models::upernet::UperHead<B>,
) -> String {
    let [l0, l1, l2, l3] = levels;
    let s3 = sizes[3];
    let mut ppm = vec![l3.clone()];
    for (s, block) in PPM_SCALES.iter().zip(&h.ppm) {
        let pooled = lower::adaptive_avg_pool(g, &l3, s3, s3, *s);
        let c = lower::conv_gn(g, &pooled, block);
        ppm.push(lower::resize(g, &c, (*s, *s), (s3, s3)));
    }
    let refs: Vec<&str> = ppm.iter().map(String::as_str).collect();
    let cat = g.node("Concat", &refs, vec![Attr::Int("axis", 1)]);
    let top = lower::conv_gn(g, &cat, &h.bottleneck);
    let mut lat: Vec<String> = [l0, l1, l2]
        .iter()
        .zip(&h.lateral)
        .map(|(x, c)| lower::conv_gn(g, x, c))
        .collect();
    lat.push(top);
    for i in (1..4).rev() {
        let up = lower::resize(
            g,
            &lat[i],
            (sizes[i], sizes[i]),
            (sizes[i - 1], sizes[i - 1]),
        );
        lat[i - 1] = g.node("Add", &[&lat[i - 1], &up], vec![]);
    }
    let mut outs: Vec<String> = (0..3)
        .map(|i| lower::conv_gn(g, &lat[i], &h.fpn[i]))
        .collect();
    outs.push(lat[3].clone());
    let outs: Vec<String> = outs
        .iter()
        .zip(sizes)
        .map(|(x, s)| lower::resize(g, x, (s, s), (sizes[0], sizes[0])))
        .collect();
    let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
    let cat = g.node("Concat", &refs, vec![Attr::Int("axis", 1)]);
    let f = lower::conv_gn(g, &cat, &h.fuse);
    lower::conv2d(g, &f, &h.cls)
}

fn detect<B: Backend>(
    g: &mut Graph,
    det: &Detector<B>,
    (images, size): (&str, usize),
    classes: usize,
    layout: Layout,
) -> Vec<OutputSpec> {
    let vit = &det.encoder;
    let (p, d) = (vit.patch_size, vit.dim());
    let gh = size / p;
    let tokens = lower::vit(g, images, vit, size);
    let map = lower::tokens_to_map(g, &tokens, gh, gh, d);
    let levels = [
        lower::conv_transpose2d(g, &map, &det.up2),
        map.clone(),
        lower::max_pool2(g, &map),
    ];
    let (_, scales) = lower::data(det.scales.val());
    let strides = smae_models::detector::strides(p);
    let (mut cls, mut dist, mut ctr, mut angle) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (l, x) in levels.iter().enumerate() {
        let x = lower::conv_gn(g, x, &det.lateral[l]);
        let x = lower::conv_gn(g, &x, &det.smooth[l]);
        let mut c = x.clone();
        for m in &det.cls_tower {
            c = lower::conv_gn(g, &c, m);
        }
        let mut r = x;
        for m in &det.reg_tower {
            r = lower::conv_gn(g, &r, m);
        }
        let flat = |g: &mut Graph, t: &str| {
            let shape = g.ints("flat", &[0, 0, -1]);
            let f = g.node("Reshape", &[t, &shape], vec![]);
            g.node("Transpose", &[&f], vec![Attr::Ints("perm", vec![0, 2, 1])])
        };
        let cs = lower::conv2d(g, &c, &det.cls_score);
        cls.push(flat(g, &cs));
        let reg = lower::conv2d(g, &r, &det.bbox_pred);
        let scale = g.scalar("fcos_scale", scales[l]);
        let reg = g.node("Mul", &[&reg, &scale], vec![]);
        let cap = g.scalar("exp_cap", 8.0);
        let reg = g.node("Min", &[&reg, &cap], vec![]);
        let reg = g.node("Exp", &[&reg], vec![]);
        let stride = g.scalar("stride", strides[l] as f32);
        let reg = g.node("Mul", &[&reg, &stride], vec![]);
        dist.push(flat(g, &reg));
        let ct = lower::conv2d(g, &r, &det.centerness);
        ctr.push(flat(g, &ct));
        if let Some(a) = &det.angle_pred {
            let an = lower::conv2d(g, &r, a);
            angle.push(flat(g, &an));
        }
    }
    let cat = |g: &mut Graph, v: &[String]| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        g.node("Concat", &refs, vec![Attr::Int("axis", 1)])
    };
    let (cls, dist, ctr) = (cat(g, &cls), cat(g, &dist), cat(g, &ctr));
    let sc = g.node("Sigmoid", &[&cls], vec![]);
    let st = g.node("Sigmoid", &[&ctr], vec![]);
    let prod = g.node("Mul", &[&sc, &st], vec![]);
    let scores = g.node("Sqrt", &[&prod], vec![]);
    let locs = locations(size, size, p);
    let a = locs.len();
    let px: Vec<f32> = locs.iter().map(|l| l.0).collect();
    let py: Vec<f32> = locs.iter().map(|l| l.1).collect();
    let px = g.constant("px", &[1, a, 1], &px);
    let py = g.constant("py", &[1, a, 1], &py);
    let l = slice_last(g, &dist, 0, 1);
    let t = slice_last(g, &dist, 1, 1);
    let r = slice_last(g, &dist, 2, 1);
    let b = slice_last(g, &dist, 3, 1);
    let batch = g.batch.clone();
    if angle.is_empty() && layout == Layout::Gis {
        // YOLO rows: cx, cy, w, h, objectness (the best class score), scores
        let half = g.scalar("half", 0.5);
        let rl = g.node("Sub", &[&r, &l], vec![]);
        let du = g.node("Mul", &[&rl, &half], vec![]);
        let cx = g.node("Add", &[&px, &du], vec![]);
        let bt = g.node("Sub", &[&b, &t], vec![]);
        let dv = g.node("Mul", &[&bt, &half], vec![]);
        let cy = g.node("Add", &[&py, &dv], vec![]);
        let w = g.node("Add", &[&l, &r], vec![]);
        let h = g.node("Add", &[&t, &b], vec![]);
        let obj = lower::reduce(g, "ReduceMax", &scores, 2, true);
        let rows = g.node(
            "Concat",
            &[&cx, &cy, &w, &h, &obj, &scores],
            vec![Attr::Int("axis", 2)],
        );
        g.output(
            &rows,
            "detections",
            &[batch, Dim::Fixed(a), Dim::Fixed(5 + classes)],
        );
        return vec![OutputSpec {
            name: "detections".into(),
            layout: vec!["batch".into(), "location".into(), "cxcywh_obj_class".into()],
            kind: "detections_cxcywh".into(),
            shape: Vec::new(),
        }];
    }
    if angle.is_empty() {
        let x0 = g.node("Sub", &[&px, &l], vec![]);
        let y0 = g.node("Sub", &[&py, &t], vec![]);
        let x1 = g.node("Add", &[&px, &r], vec![]);
        let y1 = g.node("Add", &[&py, &b], vec![]);
        let boxes = g.node("Concat", &[&x0, &y0, &x1, &y1], vec![Attr::Int("axis", 2)]);
        g.output(
            &boxes,
            "boxes",
            &[batch.clone(), Dim::Fixed(a), Dim::Fixed(4)],
        );
        g.output(
            &scores,
            "scores",
            &[batch, Dim::Fixed(a), Dim::Fixed(classes)],
        );
        vec![
            OutputSpec {
                name: "boxes".into(),
                layout: vec!["batch".into(), "location".into(), "xyxy".into()],
                kind: "boxes_xyxy".into(),
                shape: Vec::new(),
            },
            OutputSpec {
                name: "scores".into(),
                layout: vec!["batch".into(), "location".into(), "class".into()],
                kind: "scores".into(),
                shape: Vec::new(),
            },
        ]
    } else {
        let th = cat(g, &angle);
        let sin = g.node("Sin", &[&th], vec![]);
        let cos = g.node("Cos", &[&th], vec![]);
        let half = g.scalar("half", 0.5);
        let rl = g.node("Sub", &[&r, &l], vec![]);
        let du = g.node("Mul", &[&rl, &half], vec![]);
        let bt = g.node("Sub", &[&b, &t], vec![]);
        let dv = g.node("Mul", &[&bt, &half], vec![]);
        let a1 = g.node("Mul", &[&du, &cos], vec![]);
        let a2 = g.node("Mul", &[&dv, &sin], vec![]);
        let cx = g.node("Add", &[&px, &a1], vec![]);
        let cx = g.node("Sub", &[&cx, &a2], vec![]);
        let b1 = g.node("Mul", &[&du, &sin], vec![]);
        let b2 = g.node("Mul", &[&dv, &cos], vec![]);
        let cy = g.node("Add", &[&py, &b1], vec![]);
        let cy = g.node("Add", &[&cy, &b2], vec![]);
        let w = g.node("Add", &[&l, &r], vec![]);
        let h = g.node("Add", &[&t, &b], vec![]);
        let rboxes = g.node(
            "Concat",
            &[&cx, &cy, &w, &h, &th],
            vec![Attr::Int("axis", 2)],
        );
        g.output(
            &rboxes,
            "rboxes",
            &[batch.clone(), Dim::Fixed(a), Dim::Fixed(5)],
        );
        g.output(
            &scores,
            "scores",
            &[batch, Dim::Fixed(a), Dim::Fixed(classes)],
        );
        vec![
            OutputSpec {
                name: "rboxes".into(),
                layout: vec!["batch".into(), "location".into(), "cxcywha".into()],
                kind: "rboxes_cxcywha".into(),
                shape: Vec::new(),
            },
            OutputSpec {
                name: "scores".into(),
                layout: vec!["batch".into(), "location".into(), "class".into()],
                kind: "scores".into(),
                shape: Vec::new(),
            },
        ]
    }
}
