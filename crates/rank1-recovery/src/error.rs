//! The error type of the rank-one stage.

use nnid_linalg::LinalgError;

/// What can go wrong when searching a subspace for rank-one matrices, or when building the
/// subspace from user-supplied matrices. A run that hits an iteration cap is not an error: it
/// is reported in [`crate::Candidate::capped`] and [`crate::Rank1Report::capped_runs`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rank1Error {
    /// A configuration field is out of range.
    #[error("invalid {solver} configuration: `{field}` = {value} {reason}")]
    InvalidConfig {
        /// The solver whose configuration is wrong.
        solver: &'static str,
        /// The field.
        field: &'static str,
        /// The value given, formatted.
        value: String,
        /// What the field must satisfy.
        reason: &'static str,
    },
    /// The subspace has dimension 0 or lives in dimension 0.
    #[error("empty search space: side d = {d}, dimension K = {dim}")]
    EmptySubspace {
        /// The matrix side d.
        d: usize,
        /// The subspace dimension K.
        dim: usize,
    },
    /// A subspace basis entry is NaN or infinite.
    #[error("subspace basis entry ({row}, {col}) is {value}; the basis must be finite")]
    NonFiniteBasis {
        /// Row (svec index) of the bad entry.
        row: usize,
        /// Basis column of the bad entry.
        col: usize,
        /// The bad value.
        value: f64,
    },
    /// An input matrix has the wrong shape.
    #[error("matrix {index}: expected {d}×{d}, got {detail}")]
    MatrixShape {
        /// Which matrix (0-based).
        index: usize,
        /// The side every matrix must have.
        d: usize,
        /// What was found instead.
        detail: String,
    },
    /// An input matrix has a non-finite entry, or one so large that the span cannot be
    /// computed in `f64`.
    #[error(
        "matrix {index}, entry ({row}, {col}) is {value}; entries must be finite and below {limit:e} in magnitude"
    )]
    NonFiniteEntry {
        /// Which matrix (0-based).
        index: usize,
        /// Row of the bad entry.
        row: usize,
        /// Column of the bad entry.
        col: usize,
        /// The bad value.
        value: f64,
        /// The largest magnitude accepted.
        limit: f64,
    },
    /// An input matrix is not symmetric within the tolerance.
    #[error(
        "matrix {index} is not symmetric: |S[{row}][{col}] − S[{col}][{row}]| = {gap:.3e} exceeds {tol:.1e} × max|S| = {bound:.3e}"
    )]
    NotSymmetric {
        /// Which matrix (0-based).
        index: usize,
        /// Row of the worst pair.
        row: usize,
        /// Column of the worst pair.
        col: usize,
        /// The asymmetry found.
        gap: f64,
        /// The relative tolerance.
        tol: f64,
        /// The absolute bound it was compared with.
        bound: f64,
    },
    /// An input matrix is zero.
    #[error("matrix {index} is zero; every matrix must contribute to the span")]
    ZeroMatrix {
        /// Which matrix (0-based).
        index: usize,
    },
    /// More matrices than the dimension of the space of symmetric d×d matrices.
    #[error(
        "{count} matrices given, but symmetric {d}×{d} matrices span at most d(d+1)/2 = {max} dimensions"
    )]
    TooManyMatrices {
        /// How many were given.
        count: usize,
        /// The side d.
        d: usize,
        /// d(d+1)/2.
        max: usize,
    },
    /// The input matrices are linearly dependent (numerically).
    #[error(
        "the {count} matrices span only {rank} dimensions (singular values {smallest:.3e} … relative to {largest:.3e}, tolerance {tol:.1e}); remove the dependent ones"
    )]
    RankDeficient {
        /// How many matrices were given.
        count: usize,
        /// The numerical rank found.
        rank: usize,
        /// The smallest singular value of the stacked svecs.
        smallest: f64,
        /// The largest singular value.
        largest: f64,
        /// The relative tolerance used.
        tol: f64,
    },
    /// A linear-algebra call failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + std::error::Error + 'static>() {}
        check::<super::Rank1Error>();
    }
}
