//! Running one stage: time it, count its queries with the oracle's own counter, record it.

use crate::{IdentifyError, Progress, Report, StageRecord};
use nnid_nn_model::{Network, Oracle};
use std::time::Instant;

/// What a pipeline needs to run its stages: the oracle, the progress observer and the report
/// being written.
pub struct StageRunner<'a> {
    /// The black box (its counter measures each stage's queries).
    pub oracle: &'a dyn Oracle,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
    /// The report the stages are appended to.
    pub report: &'a mut Report,
    /// The true network, when the caller knows it: used only to add diagnostics to the
    /// report (e.g. how many true weights a stage found), never to decide anything.
    pub truth: Option<&'a Network>,
}

impl StageRunner<'_> {
    /// Runs `work` as stage `name`; `work` returns its value and the stage's details.
    /// The stage is recorded even when it fails (with the queries it used).
    ///
    /// # Errors
    /// Whatever `work` returns.
    pub fn run<T>(
        &mut self,
        name: &str,
        work: impl FnOnce() -> Result<(T, serde_json::Value), IdentifyError>,
    ) -> Result<T, IdentifyError> {
        self.progress.stage_started(name, None);
        let before = self.oracle.queries();
        let start = Instant::now();
        let result = work();
        let seconds = start.elapsed().as_secs_f64();
        let queries = self.oracle.queries() - before;
        self.progress.stage_finished(name, queries, seconds);
        let details = match &result {
            Ok((_, details)) => details.clone(),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        self.report.push_stage(StageRecord {
            name: name.to_string(),
            queries,
            seconds,
            details,
            peak_rss_bytes: crate::report::peak_rss_bytes(),
        });
        result.map(|(value, _)| value)
    }
}
