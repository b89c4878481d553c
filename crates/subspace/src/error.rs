//! The error type of the subspace stage.

use nnid_linalg::LinalgError;

/// What can go wrong while estimating or measuring a subspace of symmetric matrices.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubspaceError {
    /// No Hessians were given.
    #[error("no Hessians were given")]
    NoHessians,
    /// A Hessian is not square, or its side differs from the first one's.
    #[error("Hessian {index} is {rows}×{cols}; expected {side}×{side}")]
    Shape {
        /// Index of the offending Hessian.
        index: usize,
        /// The side of the first Hessian.
        side: usize,
        /// Its rows.
        rows: usize,
        /// Its columns.
        cols: usize,
    },
    /// A Hessian has a NaN or infinite entry.
    #[error("Hessian {index}: entry ({row}, {col}) is {value}; Hessians must be finite")]
    NonFinite {
        /// Index of the Hessian.
        index: usize,
        /// Row of the first bad entry.
        row: usize,
        /// Column of the first bad entry.
        col: usize,
        /// The value.
        value: f64,
    },
    /// A Hessian is not symmetric (relative to its size).
    #[error("Hessian {index} is not symmetric: max |H − Hᵀ| = {asymmetry:.3e} > {tol:.1e}·max|H|")]
    NotSymmetric {
        /// Index of the Hessian.
        index: usize,
        /// `max |H_kl − H_lk|`.
        asymmetry: f64,
        /// The relative tolerance.
        tol: f64,
    },
    /// The requested dimension K cannot be estimated from the data.
    #[error("dimension K = {dim} is not possible: {reason}")]
    Dimension {
        /// The K asked for.
        dim: usize,
        /// Why (zero, more than the Hessians, more than d(d+1)/2).
        reason: String,
    },
    /// The stacked Hessians have numerical rank below K, so the top-K basis is not
    /// determined by the data.
    #[error(
        "the stacked Hessians have numerical rank {rank} < K = {dim} (s_K = {s_k:.3e}, tolerance {tol:.3e})"
    )]
    RankDeficient {
        /// The K asked for.
        dim: usize,
        /// Number of singular values above the tolerance.
        rank: usize,
        /// The K-th singular value.
        s_k: f64,
        /// The tolerance s_1·ε·max(rows, cols).
        tol: f64,
    },
    /// Two objects that must live in the same space do not.
    #[error("{what}: side {got} does not match side {expected}")]
    SideMismatch {
        /// What was compared.
        what: &'static str,
        /// The side expected.
        expected: usize,
        /// The side given.
        got: usize,
    },
    /// A vector or basis given for a measurement is unusable (zero, non-finite, not
    /// orthonormal, rank deficient).
    #[error("{what}: {reason}")]
    BadInput {
        /// Which input.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A linear-algebra call failed.
    #[error("linear algebra failed: {0}")]
    Linalg(#[from] LinalgError),
}

/// `Result` with [`SubspaceError`] as the default error.
pub type Result<T, E = SubspaceError> = std::result::Result<T, E>;
