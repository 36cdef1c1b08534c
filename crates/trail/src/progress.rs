//! Progress on standard error while an upload runs.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use trail_sync::{Event, Phase, Reporter};

/// Shows a progress bar of uploaded results on a terminal, and nothing
/// elsewhere.
pub struct ProgressReporter {
    bar: Option<ProgressBar>,
}

impl ProgressReporter {
    /// Creates the reporter; `enabled` is false for `--no-progress`,
    /// `--quiet`, `--verbose` and machine-readable output.
    pub fn new(enabled: bool) -> ProgressReporter {
        if !enabled || !std::io::stderr().is_terminal() {
            return ProgressReporter { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let template = if std::env::var_os("NO_COLOR").is_some() {
            "{msg} [{bar:30}] {pos}/{len} results"
        } else {
            "{msg} [{bar:30.cyan/blue}] {pos}/{len} results"
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        ProgressReporter { bar: Some(bar) }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Reporter for ProgressReporter {
    fn event(&self, event: Event) {
        let Some(bar) = &self.bar else {
            return;
        };
        match event {
            Event::Phase(Phase::Match) => bar.set_message("reading TestRail"),
            Event::Phase(Phase::Plan) => bar.set_message("planning"),
            Event::Phase(Phase::Execute) => bar.set_message("uploading"),
            Event::Planned { results, .. } => bar.set_length(results as u64),
            Event::Resumed { results_done } => bar.set_position(results_done as u64),
            Event::ResultsUploaded { count } => bar.inc(count as u64),
            _ => {}
        }
    }
}
