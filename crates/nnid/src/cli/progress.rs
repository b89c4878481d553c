//! Progress on stderr with indicatif: one spinner line per stage.

use indicatif::{ProgressBar, ProgressStyle};
use nnid::Progress;
use std::sync::Mutex;
use std::time::Duration;

/// Draws a spinner per stage on stderr and leaves a summary line when it ends.
pub(crate) struct Bars {
    current: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bars {
    /// Bars on stderr, or nothing when `enabled` is false (`--quiet`).
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            current: Mutex::new(None),
            enabled,
        }
    }
}

impl Progress for Bars {
    fn stage_started(&self, stage: &str, _total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<14} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut cur) = self.current.lock() {
            *cur = Some(bar);
        }
    }

    fn message(&self, msg: &str) {
        if let Ok(cur) = self.current.lock()
            && let Some(bar) = cur.as_ref()
        {
            bar.set_message(msg.to_string());
        }
    }

    fn stage_finished(&self, stage: &str, queries: u64, seconds: f64) {
        if let Ok(mut cur) = self.current.lock()
            && let Some(bar) = cur.take()
        {
            bar.finish_and_clear();
        }
        if self.enabled {
            eprintln!("  {stage:<14} {queries:>9} queries {seconds:>9.3} s");
        }
    }
}
