//! The error type of the linalg crate.

use crate::BackendKind;

/// What can go wrong in a linear-algebra call that a caller can cause or recover from.
/// Shape mismatches between our own calls are bugs and panic instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinalgError {
    /// The requested backend was not compiled into this binary.
    #[error("backend `{backend}` is not compiled into this binary; rebuild with `--features {backend}`{}", .backend.install_hint())]
    NotCompiled {
        /// The backend asked for.
        backend: BackendKind,
    },
    /// An input had a NaN or infinite entry.
    #[error("{op}: entry ({row}, {col}) is {value}; inputs must be finite")]
    NonFinite {
        /// The operation that refused the input.
        op: &'static str,
        /// Row of the first bad entry.
        row: usize,
        /// Column of the first bad entry.
        col: usize,
        /// The bad value.
        value: f64,
    },
    /// The backend's iteration did not converge.
    #[error("{op} did not converge on the `{backend}` backend ({rows}×{cols} input)")]
    NoConvergence {
        /// The operation.
        op: &'static str,
        /// The backend that failed.
        backend: BackendKind,
        /// Rows of the input.
        rows: usize,
        /// Columns of the input.
        cols: usize,
    },
    /// A Cholesky factorisation met a non-positive pivot.
    #[error("{op}: the {n}×{n} matrix is not positive definite (on the `{backend}` backend)")]
    NotPositiveDefinite {
        /// The operation.
        op: &'static str,
        /// The backend.
        backend: BackendKind,
        /// Order of the matrix.
        n: usize,
    },
    /// An unknown backend name was given (for example on the command line).
    #[error("unknown backend `{0}`; expected one of faer, nalgebra, lapack")]
    UnknownBackend(String),
}
