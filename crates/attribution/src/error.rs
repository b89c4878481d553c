//! The error type of the attribution stage.

use nnid_linalg::LinalgError;

/// What can go wrong while splitting candidates into first-layer and entangled weights.
///
/// Bad input (widths, shapes, NaN, non-unit candidates, settings) is told apart from
/// failures of the subspace probe and of the linear algebra underneath.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttributionError {
    /// `m0` or `m1` is zero: there is nothing to split.
    #[error("attribution needs m0 ≥ 1 and m1 ≥ 1 (got m0 = {m0}, m1 = {m1})")]
    InvalidWidths {
        /// First hidden width.
        m0: usize,
        /// Second hidden width.
        m1: usize,
    },
    /// The candidates have dimension 0.
    #[error("candidate vectors have dimension 0")]
    EmptyDimension,
    /// Fewer candidates than first-layer neurons: the rule "the m0 most first-layer-like
    /// candidates are the a_i" cannot be applied.
    #[error("{n} candidates for m0 = {m0} first-layer weights: need at least m0")]
    TooFewCandidates {
        /// Number of candidates given.
        n: usize,
        /// First hidden width.
        m0: usize,
    },
    /// More candidates than the K = m0 + m1 weights there are (the rank-one stage outputs at
    /// most K; keep the K most confident).
    #[error("{n} candidates for m0 + m1 = {m0} + {m1} weights: at most m0 + m1 allowed")]
    TooManyCandidates {
        /// Number of candidates given.
        n: usize,
        /// First hidden width.
        m0: usize,
        /// Second hidden width.
        m1: usize,
    },
    /// A candidate has a NaN or infinite entry.
    #[error("candidate {candidate}: entry {row} is {value}; candidates must be finite")]
    NonFinite {
        /// Column index of the candidate.
        candidate: usize,
        /// Row of the first bad entry.
        row: usize,
        /// The bad value.
        value: f64,
    },
    /// A candidate is not a unit vector (within [`crate::UNIT_TOLERANCE`]).
    #[error("candidate {candidate} has norm {norm}; candidates must be unit vectors")]
    NotUnit {
        /// Column index of the candidate.
        candidate: usize,
        /// Its Euclidean norm.
        norm: f64,
    },
    /// Two objects that must share a dimension do not.
    #[error("dimension mismatch: {what} has dimension {got}, the candidates have {expected}")]
    DimensionMismatch {
        /// What disagrees with the candidates (for example "probe subspace side").
        what: &'static str,
        /// The candidates' dimension d.
        expected: usize,
        /// The other object's dimension.
        got: usize,
    },
    /// A strategy that samples Hessians elsewhere was run without a [`crate::SubspaceProbe`]
    /// in its [`crate::AttributionContext`].
    #[error("strategy `{strategy}` needs a subspace probe in the attribution context")]
    ProbeRequired {
        /// The strategy's name.
        strategy: &'static str,
    },
    /// The probe returned a subspace that cannot be used (empty, or with non-finite basis
    /// entries).
    #[error("the probe's subspace at centre {centre} is unusable: {reason}")]
    BadProbeSubspace {
        /// Index of the centre.
        centre: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The probe failed at one of the centres.
    #[error("subspace probe failed at centre {centre} (norm {centre_norm:.3}): {source}")]
    ProbeFailed {
        /// Index of the centre.
        centre: usize,
        /// Euclidean norm of the centre.
        centre_norm: f64,
        /// The probe's error.
        source: Box<AttributionError>,
    },
    /// An error from outside this crate, for [`crate::SubspaceProbe`] implementations (for
    /// example an oracle or Hessian-sampler error); build it with
    /// [`AttributionError::external`].
    #[error("{context}: {source}")]
    External {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A setting of a strategy or probe is invalid.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A linear-algebra call failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}

impl AttributionError {
    /// Wraps a foreign error (oracle, sampler, estimator) for a [`crate::SubspaceProbe`].
    pub fn external(
        context: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::External {
            context,
            source: Box::new(source),
        }
    }
}

/// `Result` with [`AttributionError`] as the default error.
pub type Result<T, E = AttributionError> = std::result::Result<T, E>;
