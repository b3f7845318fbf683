//! Progress bars (indicatif) that `--quiet` silences. Warnings still go to
//! stderr, above the bar when one is drawn.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total` steps starting at `done`.
    pub fn steps(total: u64, done: u64, quiet: bool, label: &str) -> Self {
        let bar = if quiet {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(total)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} (eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(label.to_string());
        bar.set_position(done);
        bar.enable_steady_tick(Duration::from_millis(500));
        Self { bar }
    }

    pub fn inc(&self) {
        self.bar.inc(1);
    }

    pub fn message(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }

    pub fn warn(&self, msg: &str) {
        self.bar.suspend(|| eprintln!("warning: {msg}"));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
