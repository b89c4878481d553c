//! The error type of the bias-fit crate.

use nnid_linalg::LinalgError;
use nnid_nn_model::{ModelError, OracleError};

/// What can go wrong in a fit that a caller can cause or recover from.
///
/// Bad input (shapes, NaN, bad configuration) is reported here, naming the problem; shape
/// mismatches between this crate's own internal calls are bugs and panic instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    /// An input has the wrong size.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// The input and the dimension that is wrong.
        what: &'static str,
        /// The expected size.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// An input holds a NaN or infinite entry.
    #[error("{what}: entry {index} is {value}; inputs must be finite")]
    NonFinite {
        /// The input.
        what: &'static str,
        /// Flat index of the first bad entry.
        index: usize,
        /// The bad value.
        value: f64,
    },
    /// A configuration value is out of range.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The residuals are not finite at the starting point of a least-squares solve.
    #[error("the residuals are not finite at the starting point (residual {index} is {value})")]
    NonFiniteStart {
        /// Index of the first non-finite residual.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A student model cannot be written as a [`nnid_nn_model::Network`] because an output
    /// scale is not ±1 (or is −1 for an activation without that symmetry).
    #[error(
        "output scale c[{index}] = {value} cannot be folded into the network ({activation} \
         output activation; tolerance {tol:e})"
    )]
    OutputScale {
        /// The output neuron.
        index: usize,
        /// Its scale.
        value: f64,
        /// The output activation.
        activation: nnid_nn_model::Activation,
        /// The tolerance used.
        tol: f64,
    },
    /// Second layer (spec §10.2 step 3): m1 ≥ m0, so the θ rank condition
    /// "∇_u f / g'(u + θ) lies in the m1-dimensional span(B)" holds for every θ and cannot
    /// identify it. (Added by the second-layer module.)
    #[error(
        "second layer: m1 = {m1} ≥ m0 = {m0}; the θ rank condition (∇_u f / g'(u + θ) in \
         span(B)) needs m1 < m0"
    )]
    RankConditionVoid {
        /// First hidden width.
        m0: usize,
        /// Second hidden width.
        m1: usize,
    },
    /// Second layer: the width m1 could not be decided from the rank condition (issue 10:
    /// unknown widths). The detail gives each trial width's rank misfit.
    #[error("second layer: m1 could not be decided: {detail}")]
    WidthUndecided {
        /// Why, with the evidence.
        detail: String,
    },
    /// Second layer: the given first-layer weights do not have full column rank
    /// (σ_min/σ_max below 1e-13, or m0 > d), so u = Aᵀx does not determine the first layer's
    /// inputs. (Added by the second-layer module.)
    #[error(
        "second layer: the first-layer weights are numerically rank deficient \
         (σ_min/σ_max = {ratio:.1e}); u = Aᵀx needs m0 ≤ d independent columns"
    )]
    RankDeficientFirstLayer {
        /// σ_min/σ_max of A (0 when m0 > d).
        ratio: f64,
    },
    /// Second layer: every attempt failed before its least-squares polish (no usable
    /// gradient points, or no pair of projected Hessians could be diagonalised).
    /// (Added by the second-layer module.)
    #[error("second layer: all {attempts} attempts failed before the polish; last: {detail}")]
    SecondLayerFailed {
        /// Attempts made.
        attempts: usize,
        /// Why the last attempt failed.
        detail: String,
    },
    /// A linear-algebra call failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// Building a network failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The oracle failed.
    #[error("oracle: {0}")]
    Oracle(#[from] OracleError),
}

/// Checks that every entry of `values` is finite.
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<(), FitError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(FitError::NonFinite {
            what,
            index,
            value: values[index],
        }),
    }
}

/// Checks a size.
pub(crate) fn check_size(what: &'static str, expected: usize, got: usize) -> Result<(), FitError> {
    if expected == got {
        Ok(())
    } else {
        Err(FitError::Shape {
            what,
            expected,
            got,
        })
    }
}
