//! The identification report: what every stage did, with honest query counts and times.

use crate::metrics::{Certificate, FunctionError, ParameterErrors, WeightMatch};
use crate::noise::NoiseFloor;
use serde::Serialize;
use std::collections::BTreeMap;

/// One stage of a run: its oracle queries (the oracle's own counter before and after),
/// its wall time and stage-specific details.
#[derive(Clone, Debug, Serialize)]
pub struct StageRecord {
    /// Stage name (e.g. `hessians`, `subspace`, `rank1`, `attribution`, `fit`).
    pub name: String,
    /// Oracle queries the stage used.
    pub queries: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Stage-specific details (singular values, objectives, scores, ...).
    pub details: serde_json::Value,
    /// The process's peak resident memory (high-water mark since it started) at the end of
    /// the stage, in bytes, where the system tells it (Linux: `VmHWM` of
    /// `/proc/self/status`); a stage that raised it shows its own peak.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
}

/// The process's peak resident memory in bytes (Linux `VmHWM`), `None` where unavailable.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The validation certificate passed: f̂ matches f on fresh queries.
    Certified,
    /// A network was produced but the certificate did not pass.
    NotCertified,
    /// The method could not produce every weight (e.g. fewer rank-one candidates than
    /// m0 + m1); the network, if any, is partial.
    Incomplete,
    /// A stage failed with an error (see `error`).
    Failed,
}

/// Comparison with the ground truth, when the caller knows it (experiments).
#[derive(Clone, Debug, Serialize)]
pub struct TruthComparison {
    /// First-layer weights a_i against the truth, up to sign and permutation.
    pub first_layer: WeightMatch,
    /// Indices of the true a_i with no identified first-layer weight within
    /// [`RECOVERY_THRESHOLD`](crate::metrics::RECOVERY_THRESHOLD)
    /// (0.05) up to sign: the paper's recovery criterion.
    pub missing_first_layer: Vec<usize>,
    /// Errors of B, θ and τ after pairing the neurons up to permutation and the sign
    /// symmetry; `None` when the identified network's shape or activations differ from the
    /// truth's.
    pub parameters: Option<ParameterErrors>,
    /// Entangled weights v_l against the truth. Always `None` here: no route exposes its
    /// rank-one candidates v̂ in the report, so neither their errors nor the missing v_l can
    /// be computed at this point. The paper route records them itself, in the `truth` entry
    /// of its `rank1` stage details (counts within 0.05 and the indices of the missing a_i
    /// and v_l among its candidates).
    pub entangled: Option<WeightMatch>,
    /// Errors of f̂ on points uniform in the unit ball.
    pub unit_ball: FunctionError,
    /// Number of test points.
    pub test_points: usize,
}

/// The whole report of one identification (`nnid identify --report`).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The method (route) used.
    pub method: String,
    /// The linear-algebra backend.
    pub backend: String,
    /// The seed.
    pub seed: u64,
    /// Input dimension and widths.
    pub d: usize,
    /// First hidden width.
    pub m0: usize,
    /// Second hidden width.
    pub m1: usize,
    /// Number of parameters P = d·m0 + m0·m1 + m0 + m1.
    pub parameters: usize,
    /// Queries: `total` and one entry per stage.
    pub queries: BTreeMap<String, u64>,
    /// Wall time per stage and `total`, in seconds.
    pub seconds: BTreeMap<String, f64>,
    /// The stages in order, with details.
    pub stages: Vec<StageRecord>,
    /// The oracle's noise floor (stage `noise_floor`, estimated when the result missed the
    /// exact-oracle threshold); `None` when it was not needed, turned off, or the run
    /// stopped before it.
    pub noise_floor: Option<NoiseFloor>,
    /// The certificate on fresh validation queries, when a network was produced.
    pub certificate: Option<Certificate>,
    /// How the run ended.
    pub status: Status,
    /// Human-readable notes (missing weights, fallbacks, why not certified).
    pub notes: Vec<String>,
    /// The error that ended the run, if any.
    pub error: Option<String>,
    /// Comparison with the truth, when known.
    pub truth: Option<TruthComparison>,
}

impl Report {
    /// An empty report for a run about to start.
    pub fn new(method: &str, backend: &str, seed: u64, d: usize, m0: usize, m1: usize) -> Self {
        Self {
            method: method.to_string(),
            backend: backend.to_string(),
            seed,
            d,
            m0,
            m1,
            parameters: d * m0 + m0 * m1 + m0 + m1,
            queries: BTreeMap::new(),
            seconds: BTreeMap::new(),
            stages: Vec::new(),
            noise_floor: None,
            certificate: None,
            status: Status::Incomplete,
            notes: Vec::new(),
            error: None,
            truth: None,
        }
    }

    /// Appends a stage and updates the per-stage and total counters.
    pub fn push_stage(&mut self, stage: StageRecord) {
        *self.queries.entry(stage.name.clone()).or_insert(0) += stage.queries;
        *self.queries.entry("total".into()).or_insert(0) += stage.queries;
        *self.seconds.entry(stage.name.clone()).or_insert(0.0) += stage.seconds;
        *self.seconds.entry("total".into()).or_insert(0.0) += stage.seconds;
        self.stages.push(stage);
    }

    /// Total queries so far.
    pub fn total_queries(&self) -> u64 {
        self.queries.get("total").copied().unwrap_or(0)
    }

    /// The paper's Hessian budget for this size: 2(m0 + m1)·(d+1)(d+2)/2 (targets.md §4).
    pub fn paper_budget(&self) -> u64 {
        let d = self.d as u64;
        2 * (self.m0 + self.m1) as u64 * (d + 1) * (d + 2) / 2
    }
}
