//! The provider trait a linear-algebra library implements to serve as an nnid backend.

use crate::{BackendKind, LinalgError, Mat, Op};

/// Thin SVD as a backend returns it: any order, any signs. `a = u · diag(s) · vᵀ`,
/// with `u` m×p, `s` of length p, `v` n×p, p = min(m, n).
#[derive(Clone, Debug)]
pub struct RawSvd {
    /// Left singular vectors (columns).
    pub u: Mat,
    /// Singular values.
    pub s: Vec<f64>,
    /// Right singular vectors (columns).
    pub v: Mat,
}

/// Symmetric eigendecomposition as a backend returns it: any order, any signs.
#[derive(Clone, Debug)]
pub struct RawEigh {
    /// Eigenvalues.
    pub values: Vec<f64>,
    /// Eigenvectors (columns), orthonormal.
    pub vectors: Mat,
}

/// Thin QR as a backend returns it: `a = q · r`, `q` m×p with orthonormal columns,
/// `r` p×n upper triangular, p = min(m, n); any signs on `diag(r)`.
#[derive(Clone, Debug)]
pub struct RawQr {
    /// Orthonormal factor.
    pub q: Mat,
    /// Upper-triangular factor.
    pub r: Mat,
}

/// What a linear-algebra library must provide to serve as an nnid backend.
///
/// Implementations return results in whatever order their library produces; the
/// [`crate::Linalg`] facade checks shapes and finiteness, sorts and fixes signs, so every
/// backend satisfies the same documented contract. To add a backend: implement this trait
/// in a feature-gated module, add a variant to [`BackendKind`], and the conformance suite
/// (`crates/linalg/tests/conformance.rs`) runs on it.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Which backend this is; appears in reports and error messages.
    fn kind(&self) -> BackendKind;

    /// `op_a(a) · op_b(b)`; shapes are already checked by the caller.
    fn matmul(&self, a: &Mat, op_a: Op, b: &Mat, op_b: Op) -> Mat;

    /// Thin SVD with `min(m, n)` triplets, any order, any signs.
    fn thin_svd(&self, a: &Mat) -> Result<RawSvd, LinalgError>;

    /// Eigenpairs of a symmetric matrix, any order, any signs.
    fn eigh(&self, a: &Mat) -> Result<RawEigh, LinalgError>;

    /// Thin QR, any signs on `diag(r)`. Requires `nrows ≥ ncols`.
    fn qr(&self, a: &Mat) -> Result<RawQr, LinalgError>;

    /// A minimiser of `‖a·x − b‖_F` for a full-column-rank `a` with `nrows ≥ ncols`.
    fn lstsq(&self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError>;

    /// The solution of `a·x = b` for a symmetric positive definite `a` (Cholesky);
    /// [`LinalgError::NotPositiveDefinite`] otherwise.
    fn solve_spd(&self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError>;

    /// The Cholesky factor of a symmetric positive definite `a = L·Lᵀ`: L in the lower
    /// triangle of the result (positive diagonal), anything above it;
    /// [`LinalgError::NotPositiveDefinite`] otherwise.
    fn cholesky(&self, a: &Mat) -> Result<Mat, LinalgError>;
}
