//! The error type of route S's first layer.

use crate::LineLog;
use nnid_linalg::LinalgError;
use nnid_nn_model::OracleError;

/// What can go wrong while discovering or polishing the first layer from saturated queries.
///
/// Bad input and bad settings ([`InvalidInput`](Self::InvalidInput),
/// [`InvalidConfig`](Self::InvalidConfig)) are told apart from the route failing on a network
/// it cannot handle ([`Incomplete`](Self::Incomplete), [`RadiusTooSmall`](Self::RadiusTooSmall),
/// [`FlatRidge`](Self::FlatRidge), …), and those from the oracle or linear algebra failing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaturationError {
    /// A setting of [`crate::SaturationConfig`] is out of range.
    #[error("invalid setting `{field}` = {value}: {reason}")]
    InvalidConfig {
        /// The field of the configuration.
        field: &'static str,
        /// Its value, printed.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// An argument does not fit the oracle or the route (shapes, widths, non-finite entries).
    #[error("invalid input `{what}`: {reason}")]
    InvalidInput {
        /// Which argument.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The route needs a query farther from the origin than the configured bound allows.
    #[error(
        "{stage} needs queries at ‖x‖ = {needed:.4e}, beyond max_radius = {max_radius:.4e}; \
         raise max_radius or lower r_fac (the farthest discovery query is about \
         √(1 + t_span²)·r_fac·m0·√d·width)"
    )]
    RadiusTooSmall {
        /// Which part of the route: `discovery lines`, `deflated line`, `ridge polish`.
        stage: &'static str,
        /// The norm of the query that was refused (or predicted).
        needed: f64,
        /// The configured bound.
        max_radius: f64,
    },
    /// Discovery reached its line cap before finding the requested number of neurons.
    #[error(
        "discovery found {found} of {wanted} first-layer neurons in {lines} lines \
         ({queries} queries); raise max_lines or r_fac, or check m0"
    )]
    Incomplete {
        /// Distinct directions accepted.
        found: usize,
        /// The requested width m0.
        wanted: usize,
        /// Lines scanned.
        lines: usize,
        /// Queries spent.
        queries: u64,
        /// What each line saw (jumps, rejections by reason), for diagnosis.
        log: Vec<LineLog>,
    },
    /// No far line showed a jump of f (m0 unknown): f looks constant far from the origin.
    #[error(
        "discovery saw no usable jump of f on {lines} far lines ({queries} queries): f looks \
         constant far from the origin, or r_fac is too small"
    )]
    NothingFound {
        /// Lines scanned.
        lines: usize,
        /// Queries spent.
        queries: u64,
    },
    /// More distinct pure crossings were accepted than the given m0 allows.
    #[error(
        "discovery accepted {found} distinct first-layer directions but m0 = {wanted}; \
         the given width is probably wrong (run with m0 unknown)"
    )]
    TooMany {
        /// Distinct directions accepted.
        found: usize,
        /// The requested width m0.
        wanted: usize,
    },
    /// With m0 unknown, discovery reached its line cap before enough consecutive deflated
    /// lines came out without a new neuron.
    #[error(
        "width not determined: {found} neurons found, but only {quiet} of the {needed} \
         consecutive deflated lines needed showed no new neuron within {lines} lines"
    )]
    WidthUndetermined {
        /// Distinct directions accepted.
        found: usize,
        /// Consecutive quiet lines at the end.
        quiet: usize,
        /// Quiet lines required ([`crate::SaturationConfig::quiet_lines`]).
        needed: usize,
        /// Lines scanned.
        lines: usize,
    },
    /// No designed ridge point of a neuron had a usable slope.
    #[error(
        "ridge polish of neuron {neuron}: the ridge slope is {best_slope:.3e} at every one of \
         {tries} designed points (need ≥ {min_slope:.1e})"
    )]
    FlatRidge {
        /// The neuron (column of Â).
        neuron: usize,
        /// The largest |φ'| seen.
        best_slope: f64,
        /// Design points tried.
        tries: usize,
        /// [`crate::SaturationConfig::polish_min_slope`].
        min_slope: f64,
    },
    /// Two polished columns are the same neuron: discovery accepted one neuron twice (a
    /// direction from an impure crossing that passed the purity test by chance, polished
    /// onto the neuron it mostly was).
    #[error(
        "ridge polish: columns {first} and {second} converged to the same neuron \
         (|cos| = 1 − {gap:.1e}); discovery accepted a mixed direction"
    )]
    SameNeuron {
        /// One column.
        first: usize,
        /// The other.
        second: usize,
        /// 1 − |cos| between them.
        gap: f64,
    },
    /// The oracle failed.
    #[error("oracle: {0}")]
    Oracle(#[from] OracleError),
    /// A linear-algebra call failed.
    #[error("linear algebra: {0}")]
    Linalg(#[from] LinalgError),
}

/// `Result` with [`SaturationError`].
pub type Result<T, E = SaturationError> = std::result::Result<T, E>;
