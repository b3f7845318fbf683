//! Progress of a scene run, for people and for programs: the terminal bar
//! (tiles done of all, scene megapixels per second; hidden by `--quiet`)
//! and the library's callback, called once per finished tile.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use smae_geom::tiling::Job;

/// Where a run stands after a tile: pixels are the scene pixels the
/// finished tiles own (each pixel is owned by one tile, so they add up to
/// the scene's area when every tile is done).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Progress {
    pub tiles_done: usize,
    pub tiles_total: usize,
    pub pixels_done: u64,
    pub pixels_total: u64,
    pub seconds: f64,
}

impl Progress {
    /// Scene megapixels per second so far.
    pub fn megapixels_per_second(&self) -> f64 {
        self.pixels_done as f64 / 1e6 / self.seconds.max(1e-9)
    }
}

/// A function told of each finished tile (from the thread that runs the
/// scene); it may be shared between runs.
#[derive(Clone)]
pub struct ProgressCallback(Arc<dyn Fn(&Progress) + Send + Sync>);

impl ProgressCallback {
    pub fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl fmt::Debug for ProgressCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressCallback")
    }
}

/// Counts finished tiles into the bar and the callback.
pub(crate) struct Reporter {
    bar: ProgressBar,
    callback: Option<ProgressCallback>,
    state: Progress,
    start: Instant,
}

impl Reporter {
    pub(crate) fn new(jobs: &[Job], quiet: bool, callback: Option<ProgressCallback>) -> Self {
        let state = Progress {
            tiles_done: 0,
            tiles_total: jobs.len(),
            pixels_done: 0,
            pixels_total: jobs.iter().map(owned).sum(),
            seconds: 0.0,
        };
        Self {
            bar: bar(jobs.len(), quiet),
            callback,
            state,
            start: Instant::now(),
        }
    }

    /// `job` is done.
    pub(crate) fn done(&mut self, job: &Job) {
        let s = &mut self.state;
        s.tiles_done += 1;
        s.pixels_done += owned(job);
        s.seconds = self.start.elapsed().as_secs_f64();
        self.bar
            .set_message(format!("{:.2} MP/s", s.megapixels_per_second()));
        self.bar.inc(1);
        if let Some(cb) = &self.callback {
            (cb.0)(s);
        }
    }

    pub(crate) fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The scene pixels `job` owns.
fn owned(job: &Job) -> u64 {
    let [x0, y0, x1, y1] = job.own;
    (x1.saturating_sub(x0) * y1.saturating_sub(y0)) as u64
}

fn bar(len: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} tiles, {msg} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}
