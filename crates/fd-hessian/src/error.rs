//! The error type of the finite-difference stage.

use nnid_linalg::LinalgError;
use nnid_nn_model::OracleError;

/// What can go wrong while sampling Hessians or gradients of an oracle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HessianError {
    /// A setting is out of range (a step or radius ≤ 0, zero Hessians, ...).
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting, as named in the config struct.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A vector or matrix given with the config does not fit the oracle's dimension.
    #[error("`{what}` has dimension {got}, the oracle expects {expected}")]
    Dimension {
        /// Which input.
        what: &'static str,
        /// The oracle's input dimension.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The oracle answered a batch with the wrong number of values.
    #[error("the oracle answered {got} values to a batch of {expected} points")]
    AnswerCount {
        /// Points sent.
        expected: usize,
        /// Values received.
        got: usize,
    },
    /// A query failed.
    #[error("oracle query failed: {0}")]
    Oracle(#[from] OracleError),
    /// A linear-algebra call failed.
    #[error("linear algebra failed: {0}")]
    Linalg(#[from] LinalgError),
    /// The gradient span's dimension m0 cannot be decided from its singular values (no
    /// clear gap above the predicted finite-difference error). The detail names the values.
    #[error("the gradient span's dimension m0 cannot be decided: {detail}")]
    RankUndecided {
        /// Why, with the evidence.
        detail: String,
    },
}

/// `Result` with [`HessianError`] as the default error.
pub type Result<T, E = HessianError> = std::result::Result<T, E>;

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> HessianError {
    HessianError::InvalidConfig {
        field,
        reason: reason.into(),
    }
}

/// Checks that a step size is finite and positive.
pub(crate) fn check_step(field: &'static str, eps: f64) -> Result<()> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("must be finite and > 0, got {eps}")))
    }
}
