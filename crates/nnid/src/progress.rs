//! Progress of long work, reported to an observer (the program draws bars on stderr; a
//! library user can ignore it or log it).

/// Receives the pipeline's progress. Every method has an empty default.
pub trait Progress: Send + Sync {
    /// A stage starts; `total` is the number of steps when known.
    fn stage_started(&self, _stage: &str, _total: Option<u64>) {}
    /// `n` more steps of the current stage are done.
    fn advance(&self, _n: u64) {}
    /// A short status message for the current stage.
    fn message(&self, _msg: &str) {}
    /// The current stage ends after `queries` oracle queries and `seconds` of wall time.
    fn stage_finished(&self, _stage: &str, _queries: u64, _seconds: f64) {}
}

/// Discards progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {}
