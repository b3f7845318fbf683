//! One scene through one model: checks everything that can be checked
//! before work starts, tiles the scene for the model's task, streams the
//! tiles through the pipeline and writes the task's output atomically.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use serde::Serialize;
use smae_geom::Overlap;

use crate::geotiff::{check_writable, palette, Finish, RasterWriter};
use crate::model::Model;
use crate::pipeline::{self, Done, Tta};
use crate::progress::{ProgressCallback, Reporter};
use crate::raster::{ReadSpec, Scene};
use crate::vector::VectorFormat;
use crate::{gsd, legend, overlay, polygons, vector};
use smae_geom::blend::{argmax, resize_bilinear, resize_mask, Strip};
use smae_geom::merge::{DetectOptions, DetectionSink, SceneDetection};
use smae_geom::tiling::{hann, CellGrid, ColumnBand, Grid, Job};

/// Class-map value of nodata pixels.
pub const CLASS_NODATA: u8 = 255;

/// Longer side of the overlay picture.
const OVERLAY_SIDE: usize = 2048;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Tile side in scene pixels; by default the card's tile scaled to
    /// cover the ground extent the model was trained on (see [`crate::gsd`]),
    /// resampled to the model's input size.
    pub tile: Option<usize>,
    /// Overlap in scene pixels (the card's, scaled like the tile).
    pub overlap: Option<usize>,
    /// The scene's ground sample distance in metres per pixel, overriding
    /// (or standing in for) its georeference.
    pub gsd: Option<f64>,
    pub batch: usize,
    /// 1-based scene bands (the card's by default).
    pub bands: Option<Vec<usize>>,
    /// Multiplier applied to raw values before mean/std (the card's by default).
    pub scale: Option<f64>,
    /// Nodata value overriding the scene's masks.
    pub nodata: Option<f64>,
    pub tta: bool,
    pub score: Option<f32>,
    pub nms_iou: Option<f32>,
    pub merge: Overlap,
    pub merge_threshold: f32,
    pub class_agnostic: bool,
    /// Segmentation: also write the blended class probabilities beside the
    /// class map (see [`probabilities_path`]).
    pub probabilities: Option<Probabilities>,
    /// Segmentation: also write the class map as polygons in this format
    /// (see [`crate::polygons`]).
    pub polygons: Option<VectorFormat>,
    /// Also write a PNG of the scene with the result drawn on it.
    pub overlay: Option<PathBuf>,
    /// Detections as GeoJSON in WGS84 longitude / latitude (RFC 7946)
    /// instead of the scene's CRS.
    pub wgs84: bool,
    /// Segmentation: widest band of the scene blended at once, in pixels
    /// (memory is about `band_width x tile x (classes + 2) x 4` bytes).
    pub band_width: usize,
    /// No progress bar.
    pub quiet: bool,
    /// Told of each finished tile (with or without `quiet`).
    pub progress: Option<ProgressCallback>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            tile: None,
            overlap: None,
            gsd: None,
            batch: 4,
            bands: None,
            scale: None,
            nodata: None,
            tta: false,
            score: None,
            nms_iou: None,
            merge: Overlap::Ios,
            merge_threshold: 0.6,
            class_agnostic: false,
            probabilities: None,
            polygons: None,
            overlay: None,
            wgs84: false,
            band_width: 8192,
            quiet: false,
            progress: None,
        }
    }
}

/// What `--probabilities` writes beside a class map: 8-bit bands, value
/// `round(254 p)` with the GDAL band scale 1/254 (tools that apply scale
/// and offset read `p`), 255 where nodata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Probabilities {
    /// One band per class.
    Classes,
    /// One band: the probability of the class chosen (the confidence).
    Max,
}

/// Largest stored probability value (255 is nodata).
const PROB_LEVELS: f32 = 254.0;

/// Where `--probabilities` writes for class map `output`:
/// `STEM_probabilities.tif` beside it.
pub fn probabilities_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!("{stem}_probabilities.tif"))
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub task: String,
    pub output: PathBuf,
    pub engine: String,
    pub width: usize,
    pub height: usize,
    /// Tile and overlap in scene pixels.
    pub tile: usize,
    pub overlap: usize,
    /// The scene's ground sample distance (metres per pixel) the tiles were
    /// scaled by, when known.
    pub scene_gsd_m: Option<f64>,
    /// The model's training ground sample distance (the card's).
    pub model_gsd_m: Option<f64>,
    pub tiles: usize,
    /// Tiles without a valid pixel, not run.
    pub skipped_tiles: usize,
    pub nan_pixels: usize,
    pub detections: Option<usize>,
    /// The probabilities written beside the class map (`--probabilities`).
    pub probabilities: Option<PathBuf>,
    /// The class map's polygons (`--polygons`) and how many.
    pub polygons: Option<PathBuf>,
    pub polygon_count: Option<usize>,
    pub georeferenced: bool,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

impl Model {
    /// Runs the model on `input` and writes `output` (GeoTIFF for classify
    /// and segment, GeoJSON for detection).
    pub fn run(&mut self, input: &Path, output: &Path, opts: &RunOptions) -> Result<RunReport> {
        let start = Instant::now();
        let task = self.card.task.clone();
        let ext = output
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let raster_out = matches!(task.as_str(), "classify" | "segment");
        match (raster_out, ext.as_str()) {
            (true, "tif" | "tiff") | (false, "geojson" | "json" | "gpkg" | "fgb") => {}
            (true, _) => bail!(
                "a {task} model writes a GeoTIFF: name the output .tif, not {}",
                output.display()
            ),
            (false, _) => bail!(
                "a {task} model writes vectors: name the output .geojson, .gpkg or .fgb, not {}",
                output.display()
            ),
        }
        let (scene, spec, mut report) = self.prepare(input, opts)?;
        check_writable(output)?;
        if let Some(o) = &opts.overlay {
            check_writable(o)?;
        }
        report.output = output.to_path_buf();
        let ctx = Ctx {
            scene: &scene,
            spec: &spec,
            tile: report.tile,
            overlap: report.overlap,
            opts,
        };
        let dets = match task.as_str() {
            "segment" => {
                let classes = self.card.classes.len();
                let georef = scene.georef.as_ref();
                let (w, h) = (scene.width, scene.height);
                let mut writer =
                    RasterWriter::create::<u8>(output, w, h, 1, georef, CLASS_NODATA as f64)?;
                let polygon_path = opts.polygons.map(|f| polygons::polygons_path(output, f));
                if let Some(p) = &polygon_path {
                    check_writable(p)?;
                }
                let mut probs = match opts.probabilities {
                    Some(kind) => {
                        let path = probabilities_path(output);
                        check_writable(&path)?;
                        let bands = if kind == Probabilities::Max {
                            1
                        } else {
                            classes
                        };
                        let pw = RasterWriter::create::<u8>(&path, w, h, bands, georef, 255.0)?;
                        Some((kind, path, pw))
                    }
                    None => None,
                };
                self.segment(&ctx, &mut report, probs.is_some(), |x, y, bw, rows, p| {
                    writer.write_block(1, (x, y), bw, rows)?;
                    if let Some((kind, _, pw)) = probs.as_mut() {
                        for (b, band) in quantise(&p, classes, *kind).into_iter().enumerate() {
                            pw.write_block(b + 1, (x, y), bw, band)?;
                        }
                    }
                    Ok(())
                })?;
                if let Some((kind, path, pw)) = probs {
                    let descriptions: Vec<String> = match kind {
                        Probabilities::Classes => self
                            .card
                            .classes
                            .iter()
                            .map(|c| format!("p({c})"))
                            .collect(),
                        Probabilities::Max => vec!["confidence".into()],
                    };
                    pw.finish(Finish {
                        descriptions: &descriptions,
                        metadata: &self.class_metadata(),
                        resampling: "AVERAGE",
                        palette: None,
                        class_names: None,
                        scale: Some(1.0 / PROB_LEVELS as f64),
                    })?;
                    report.probabilities = Some(path);
                }
                writer.finish(Finish {
                    descriptions: &["class".to_string()],
                    metadata: &self.class_metadata(),
                    resampling: "MODE",
                    palette: Some(&palette(classes)),
                    class_names: Some(&self.card.classes),
                    scale: None,
                })?;
                if let Some(path) = &polygon_path {
                    match polygons::write(output, path, &self.card.classes) {
                        Ok(n) => {
                            report.polygons = Some(path.clone());
                            report.polygon_count = Some(n);
                        }
                        Err(e) => {
                            // all of the outputs or none
                            let _ = std::fs::remove_file(output);
                            let _ = std::fs::remove_file(legend::sidecar(output));
                            if let Some(p) = &report.probabilities {
                                let _ = std::fs::remove_file(p);
                            }
                            return Err(e);
                        }
                    }
                }
                Vec::new()
            }
            "classify" => self
                .classify(&ctx, output, &mut report)
                .map(|_| Vec::new())?,
            _ => {
                let dets = self.detect(&ctx, &mut report)?;
                vector::write(
                    output,
                    &dets,
                    &self.card.classes,
                    scene.georef.as_ref(),
                    opts.wgs84,
                )?;
                dets
            }
        };
        if let Some(path) = &opts.overlay {
            let (mut img, scale) = overlay::scene_picture(
                &crate::raster::gdal_path(input),
                &spec.bands,
                OVERLAY_SIDE,
            )?;
            if raster_out {
                overlay::draw_classes(&mut img, output, self.card.classes.len())?;
            } else {
                overlay::draw_detections(&mut img, &dets, scale);
            }
            overlay::save(&img, path)?;
        }
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }

    /// A detector's detections on `input`, in scene pixels, merged across
    /// tiles exactly as [`Model::run`] writes them (nothing is written).
    pub fn detections(
        &mut self,
        input: &Path,
        opts: &RunOptions,
    ) -> Result<(Vec<SceneDetection>, RunReport)> {
        if !matches!(self.card.task.as_str(), "detect" | "detect-obb") {
            bail!("a {} model has no detections", self.card.task);
        }
        let start = Instant::now();
        let (scene, spec, mut report) = self.prepare(input, opts)?;
        let ctx = Ctx {
            scene: &scene,
            spec: &spec,
            tile: report.tile,
            overlap: report.overlap,
            opts,
        };
        let dets = self.detect(&ctx, &mut report)?;
        report.seconds = start.elapsed().as_secs_f64();
        Ok((dets, report))
    }

    /// A segmentation model's class map of `input` (row-major, `width x
    /// height`, [`CLASS_NODATA`] where no data), blended exactly as
    /// [`Model::run`] writes it (nothing is written).
    pub fn class_map(&mut self, input: &Path, opts: &RunOptions) -> Result<(Vec<u8>, RunReport)> {
        if self.card.task != "segment" {
            bail!("a {} model has no class map", self.card.task);
        }
        let start = Instant::now();
        let (scene, spec, mut report) = self.prepare(input, opts)?;
        let ctx = Ctx {
            scene: &scene,
            spec: &spec,
            tile: report.tile,
            overlap: report.overlap,
            opts,
        };
        let w = scene.width;
        let mut map = vec![CLASS_NODATA; w * scene.height];
        self.segment(&ctx, &mut report, false, |x, y, bw, rows, _| {
            for (r, row) in rows.chunks_exact(bw).enumerate() {
                let at = (y + r) * w + x;
                map[at..at + bw].copy_from_slice(row);
            }
            Ok(())
        })?;
        report.seconds = start.elapsed().as_secs_f64();
        Ok((map, report))
    }

    /// Opens the scene and checks everything that can be checked before
    /// work starts: bands, normalisation, tiling, the task's options.
    fn prepare(&self, input: &Path, opts: &RunOptions) -> Result<(Scene, ReadSpec, RunReport)> {
        let task = self.card.task.clone();
        let raster_out = matches!(task.as_str(), "classify" | "segment");
        if opts.probabilities.is_some() && task != "segment" {
            bail!("--probabilities is for segment models (a classify map holds the class probabilities already), not {task}");
        }
        if opts.polygons.is_some() && task != "segment" {
            bail!("--polygons is for segment models, not {task}");
        }
        if opts.tta && !raster_out {
            bail!("--tta is available for classify and segment models, not {task}");
        }
        if raster_out && self.card.classes.len() >= CLASS_NODATA as usize {
            bail!(
                "the class map holds at most 254 classes; this model has {}",
                self.card.classes.len()
            );
        }
        let scene = Scene::open(input)?;
        let input_spec = &self.card.input;
        let spec = ReadSpec {
            bands: opts
                .bands
                .clone()
                .unwrap_or_else(|| input_spec.bands.clone()),
            size: input_spec.size,
            scale: opts.scale.unwrap_or(input_spec.scale),
            mean: input_spec.mean.clone(),
            std: input_spec.std.clone(),
            graph_normalises: input_spec.normalised_in_graph,
            nodata: opts.nodata,
        };
        scene.check(&spec)?;
        if let Some(g) = opts.gsd.filter(|g| !(g.is_finite() && *g > 0.0)) {
            bail!("--gsd must be a positive number of metres per pixel, not {g}");
        }
        let scene_gsd = match opts.gsd {
            Some(g) => Some((g, g)),
            None => scene
                .georef
                .as_ref()
                .and_then(|g| gsd::ground_pixel_m(g, scene.width, scene.height)),
        };
        let tiling = gsd::tiling(&gsd::TilingRequest {
            card_tile: self.card.tile.size,
            card_overlap: self.card.tile.overlap,
            model_gsd_m: self.card.gsd_m,
            scene_gsd,
            scene_gsd_given: opts.gsd.is_some(),
            tile: opts.tile,
            overlap: opts.overlap,
        })?;
        let (tile, overlap) = (tiling.tile, tiling.overlap);
        let mut warnings = Vec::new();
        if scene.georef.is_none() {
            warnings.push(format!(
                "{} has no georeferencing: the output is in pixel coordinates",
                input.display()
            ));
        }
        warnings.extend(tiling.warnings);
        if scene.dtype != "Byte" && opts.scale.is_none() && (spec.scale - 1.0 / 255.0).abs() < 1e-9
        {
            warnings.push(format!(
                "{} holds {} values but the model expects 8-bit values scaled by 1/255; pass --scale if it needs another",
                input.display(),
                scene.dtype
            ));
        }
        let report = RunReport {
            task,
            output: PathBuf::new(),
            engine: self.engine_name(),
            width: scene.width,
            height: scene.height,
            tile,
            overlap,
            scene_gsd_m: tiling.scene_gsd_m,
            model_gsd_m: self.card.gsd_m,
            tiles: 0,
            skipped_tiles: 0,
            nan_pixels: 0,
            detections: None,
            probabilities: None,
            polygons: None,
            polygon_count: None,
            georeferenced: scene.georef.is_some(),
            seconds: 0.0,
            warnings,
        };
        Ok((scene, spec, report))
    }

    /// Streams `jobs` through the pipeline with a progress bar, counting
    /// tiles into `report`; fails when no tile held a valid pixel.
    fn stream(
        &mut self,
        ctx: &Ctx<'_>,
        jobs: Vec<Job>,
        report: &mut RunReport,
        mut sink: impl FnMut(Done) -> Result<()>,
    ) -> Result<()> {
        let mut progress = Reporter::new(&jobs, ctx.opts.quiet, ctx.opts.progress.clone());
        let mut spatial = vec![false; self.output_index.len()];
        for (o, &i) in self.card.outputs.iter().zip(&self.output_index) {
            spatial[i] = o.layout.ends_with(&["y".to_string(), "x".to_string()]);
        }
        let popts = pipeline::Options {
            // a graph with a fixed batch takes at most that many tiles
            batch: ctx
                .opts
                .batch
                .min(self.card.input.batch.unwrap_or(usize::MAX))
                .max(1),
            tta: if ctx.opts.tta { Tta::Flips } else { Tta::None },
            spatial,
        };
        report.tiles = jobs.len();
        let (mut skipped, mut nan) = (0, 0);
        pipeline::run(
            ctx.scene,
            ctx.spec,
            jobs,
            self.engine.as_mut(),
            &popts,
            |d| {
                skipped += d.outputs.is_none() as usize;
                nan += d.tile.nan_count;
                progress.done(&d.job);
                sink(d)
            },
        )?;
        progress.finish();
        report.skipped_tiles = skipped;
        report.nan_pixels = nan;
        if nan > 0 {
            report
                .warnings
                .push(format!("{nan} NaN pixels were treated as nodata"));
        }
        if skipped == report.tiles {
            bail!(
                "nothing to infer: every pixel of {} is nodata",
                ctx.scene.path.display()
            );
        }
        Ok(())
    }

    /// Blends the class probabilities of overlapping tiles and hands each
    /// finished block of class rows to `write(x, y, width, classes, probs)`
    /// (`probs`: `[row, col, class]` with `with_probs`, else empty).
    fn segment(
        &mut self,
        ctx: &Ctx<'_>,
        report: &mut RunReport,
        with_probs: bool,
        mut write: impl FnMut(usize, usize, usize, Vec<u8>, Vec<f32>) -> Result<()>,
    ) -> Result<()> {
        let (w, h, t, n) = (ctx.scene.width, ctx.scene.height, ctx.tile, ctx.spec.size);
        let classes = self.card.classes.len();
        let probs_at = self.output_of("probabilities")?;
        let grid = Grid::new(w, h, t, ctx.overlap);
        // Band by band, tile row by tile row; `meta` says where each job is.
        let bands = grid.column_bands(w, ctx.opts.band_width);
        let all = grid.jobs(w, h);
        let cols = grid.xs.len();
        let (mut jobs, mut meta) = (Vec::new(), Vec::new());
        for (bi, b) in bands.iter().enumerate() {
            for r in 0..grid.ys.len() {
                for c in b.read.clone() {
                    let mut j = all[r * cols + c];
                    if !b.own.contains(&c) {
                        j.own = [0; 4]; // read for blending only: count nothing
                    }
                    jobs.push(j);
                    meta.push((bi, r));
                }
            }
        }
        let ys = grid.ys.clone();
        let mut strip = Strip::new(bands[0].x1 - bands[0].x0, classes, t);
        let (mut band, mut row, mut k) = (0usize, 0usize, 0usize);
        let mut finish_rows = |strip: &mut Strip, b: &ColumnBand, until: usize| -> Result<()> {
            let top = strip.top();
            let (rows, probs) = strip.take(until, CLASS_NODATA, with_probs);
            let (sw, ow) = (b.x1 - b.x0, b.own_x1 - b.own_x0);
            let off = b.own_x0 - b.x0;
            let owned: Vec<u8> = rows
                .chunks_exact(sw)
                .flat_map(|r| r[off..off + ow].iter().copied())
                .collect();
            let owned_probs: Vec<f32> = probs
                .chunks_exact(sw * classes)
                .flat_map(|r| r[off * classes..(off + ow) * classes].iter().copied())
                .collect();
            write(b.own_x0, top, ow, owned, owned_probs)
        };
        self.stream(ctx, jobs, report, |d| {
            let (bi, r) = meta[k];
            k += 1;
            if bi != band {
                finish_rows(&mut strip, &bands[band], h)?;
                band = bi;
                row = 0;
                strip = Strip::new(bands[bi].x1 - bands[bi].x0, classes, t);
            }
            while row < r {
                // every tile of row `row` is in: its rows above the next tile row are final
                row += 1;
                finish_rows(&mut strip, &bands[band], ys[row])?;
            }
            if let Some(out) = d.outputs {
                let (x, y) = (d.job.win.x as usize, d.job.win.y as usize);
                let probs = out[probs_at].as_standard_layout().to_owned();
                let probs = resize_bilinear(probs.as_slice().unwrap_or(&[]), classes, n, t);
                let valid = resize_mask(&d.tile.valid, n, t);
                // taper towards neighbouring tiles, not towards the scene edge
                let wx = hann(t, x == 0, x + t >= w);
                let wy = hann(t, y == 0, y + t >= h);
                strip.add(x - bands[band].x0, y, t, &probs, &valid, &wx, &wy, h);
            }
            Ok(())
        })?;
        finish_rows(&mut strip, &bands[band], h)
    }

    fn classify(&mut self, ctx: &Ctx<'_>, output: &Path, report: &mut RunReport) -> Result<()> {
        let (w, h, t, n) = (ctx.scene.width, ctx.scene.height, ctx.tile, ctx.spec.size);
        let classes = self.card.classes.len();
        let probs_at = self.output_of("probabilities")?;
        let cells = CellGrid::new(w, h, t, ctx.overlap);
        let georef = ctx
            .scene
            .georef
            .as_ref()
            .map(|g| g.scaled(cells.stride as f64));
        let mut writer = RasterWriter::create::<f32>(
            output,
            cells.cols,
            cells.rows,
            1 + classes,
            georef.as_ref(),
            f64::NAN,
        )?;
        let mut bands: Vec<Vec<f32>> = vec![Vec::with_capacity(cells.cols); 1 + classes];
        let mut row = 0;
        let f = n as f64 / t as f64;
        self.stream(ctx, cells.jobs(w, h), report, |d| {
            // does the cell itself (the tile's centre block) hold data?
            let off = t / 2 - cells.stride / 2;
            let (a, b) = (
                (off as f64 * f) as usize,
                (((off + cells.stride) as f64 * f).ceil() as usize).min(n),
            );
            let cell_valid = (a..b).any(|y| (a..b).any(|x| d.tile.valid[y * n + x]));
            match d.outputs.filter(|_| cell_valid) {
                Some(out) => {
                    let p: Vec<f32> = out[probs_at].iter().copied().collect();
                    bands[0].push(argmax(&p) as f32);
                    for (k, v) in p.iter().enumerate() {
                        bands[1 + k].push(*v);
                    }
                }
                None => bands.iter_mut().for_each(|b| b.push(f32::NAN)),
            }
            if bands[0].len() == cells.cols {
                for (i, b) in bands.iter_mut().enumerate() {
                    writer.write_block(i + 1, (0, row), cells.cols, std::mem::take(b))?;
                }
                row += 1;
            }
            Ok(())
        })?;
        let mut descriptions = vec!["class".to_string()];
        descriptions.extend(self.card.classes.iter().map(|c| format!("p({c})")));
        let mut metadata = self.class_metadata();
        metadata.push(("SMAE_STRIDE_PIXELS".into(), cells.stride.to_string()));
        writer.finish(Finish {
            descriptions: &descriptions,
            metadata: &metadata,
            resampling: "NEAREST",
            palette: None,
            class_names: None,
            scale: None,
        })
    }

    fn detect(&mut self, ctx: &Ctx<'_>, report: &mut RunReport) -> Result<Vec<SceneDetection>> {
        let (w, h, t, n) = (ctx.scene.width, ctx.scene.height, ctx.tile, ctx.spec.size);
        let oriented = self.card.task == "detect-obb";
        let classes = self.card.classes.len();
        // The GIS (YOLO) layout holds boxes and scores in one output;
        // version-1 files and the plain layout have two.
        let outputs = match self.output_of("detections_cxcywh") {
            Ok(at) if !oriented => DetectorOutputs::Yolo(at),
            _ => DetectorOutputs::Split(
                self.output_of(if oriented {
                    "rboxes_cxcywha"
                } else {
                    "boxes_xyxy"
                })?,
                self.output_of("scores")?,
            ),
        };
        let th = &self.card.thresholds;
        let o = ctx.opts;
        let dopts = DetectOptions {
            score: o.score.unwrap_or(th.score as f32),
            nms_iou: o.nms_iou.unwrap_or(th.nms_iou as f32),
            max_per_tile: th.max_detections,
            merge: o.merge,
            merge_threshold: o.merge_threshold,
            per_class: !o.class_agnostic,
        };
        let mut sink = DetectionSink::new(dopts, self.card.classes.len(), oriented, w, h);
        let grid = Grid::new(w, h, t, ctx.overlap);
        let factor = t as f32 / n as f32;
        let cores = grid.cores(w, h);
        let mut k = 0;
        self.stream(ctx, grid.jobs(w, h), report, |d| {
            let core = cores[k];
            k += 1;
            if let Some(out) = d.outputs {
                let (g, s) = outputs.boxes_and_scores(&out, classes);
                let valid = &d.tile.valid;
                let (dx, dy) = (d.job.win.x as f32, d.job.win.y as f32);
                sink.add_tile(&g, &s, (d.job.win.x, d.job.win.y), factor, |x, y| {
                    // centre in this tile's core, on a pixel with data
                    let (sx, sy) = (x + dx, y + dy);
                    let in_core = sx >= core[0] as f32
                        && sx < core[2] as f32
                        && sy >= core[1] as f32
                        && sy < core[3] as f32;
                    let (c, r) = ((x / factor) as usize, (y / factor) as usize);
                    in_core && c < n && r < n && valid[r * n + c]
                });
            }
            Ok(())
        })?;
        let dets = sink.finish();
        report.detections = Some(dets.len());
        Ok(dets)
    }

    fn class_metadata(&self) -> Vec<(String, String)> {
        vec![
            ("SMAE_TASK".into(), self.card.task.clone()),
            ("SMAE_CLASS_NAMES".into(), self.card.classes.join(",")),
            ("SMAE_MODEL".into(), self.path.display().to_string()),
        ]
    }
}

/// Where a detector's boxes and per-class scores are among its outputs.
enum DetectorOutputs {
    /// `boxes_xyxy` (or `rboxes_cxcywha`) and `scores`.
    Split(usize, usize),
    /// `detections_cxcywh`: rows of cx, cy, w, h, objectness, class scores.
    Yolo(usize),
}

impl DetectorOutputs {
    /// One tile's boxes (`xyxy`, or the rotated boxes as they are) and
    /// scores (`[location][class]`), flattened.
    fn boxes_and_scores(
        &self,
        out: &[ndarray::ArrayD<f32>],
        classes: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        match *self {
            Self::Split(g, s) => (
                out[g].iter().copied().collect(),
                out[s].iter().copied().collect(),
            ),
            Self::Yolo(at) => {
                let rows: Vec<f32> = out[at].iter().copied().collect();
                let width = 5 + classes;
                let mut g = Vec::with_capacity(rows.len() / width * 4);
                let mut s = Vec::with_capacity(rows.len() / width * classes);
                for r in rows.chunks_exact(width) {
                    let (hw, hh) = (r[2] / 2.0, r[3] / 2.0);
                    g.extend_from_slice(&[r[0] - hw, r[1] - hh, r[0] + hw, r[1] + hh]);
                    s.extend_from_slice(&r[5..]);
                }
                (g, s)
            }
        }
    }
}

/// Probabilities `[pixel, class]` as 8-bit bands (see [`Probabilities`]):
/// one per class, or the largest per pixel.
fn quantise(p: &[f32], classes: usize, kind: Probabilities) -> Vec<Vec<u8>> {
    let q = |v: f32| {
        if v.is_nan() {
            255
        } else {
            (v.clamp(0.0, 1.0) * PROB_LEVELS).round() as u8
        }
    };
    let px = p.chunks_exact(classes.max(1));
    match kind {
        Probabilities::Classes => (0..classes)
            .map(|k| px.clone().map(|c| q(c[k])).collect())
            .collect(),
        Probabilities::Max => vec![px
            .map(|c| q(c.iter().copied().fold(f32::NAN, f32::max)))
            .collect()],
    }
}

struct Ctx<'a> {
    scene: &'a Scene,
    spec: &'a ReadSpec,
    tile: usize,
    overlap: usize,
    opts: &'a RunOptions,
}
