//! The nalgebra 0.35 backend (pure Rust, single-threaded).
//!
//! Inputs are read through zero-copy [`DMatrixView`]s of the column-major [`Mat`] buffers.
//! nalgebra's decompositions consume an owned matrix, so those make one copy of the input
//! (which they overwrite as workspace); results move back into [`Mat`] without copying.
//!
//! The SVD is *not* nalgebra's `SVD`, which is inaccurate on rank-deficient and clustered
//! spectra in 0.35 (see [`jacobi`]): it is a one-sided Jacobi SVD built from nalgebra's QR.
//! `SymmetricEigen::new` iterates without limit; we pass an iteration cap instead, so a
//! non-converging input becomes [`LinalgError::NoConvergence`] rather than a hang.

mod jacobi;

use nalgebra::linalg::{Cholesky, QR, SymmetricEigen};
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};

use crate::{Backend, BackendKind, LinalgError, Mat, Op, RawEigh, RawQr, RawSvd};

/// The nalgebra backend.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Nalgebra;

fn view(a: &Mat) -> DMatrixView<'_, f64> {
    DMatrixView::from_slice(a.as_slice(), a.nrows(), a.ncols())
}

/// `aᵀ` as a contiguous copy when `op` asks for it. nalgebra's `gemm` (matrixmultiply) is
/// fast on contiguous operands, but its `gemm_tr` falls back to one matrix-vector product
/// per column, and with a row-strided (transposed) view its small-size path trips an
/// out-of-bounds `get_unchecked` (nalgebra 0.35, `blas_uninit.rs`). The copy is O(m·k)
/// against the product's O(m·n·k).
fn transposed(a: &Mat, op: Op) -> Option<DMatrix<f64>> {
    (op == Op::Trans).then(|| view(a).transpose())
}

fn to_mat(m: DMatrix<f64>) -> Mat {
    let (r, c) = m.shape();
    Mat::from_col_major(r, c, m.data.into())
}

/// Total implicit-shift QR sweeps allowed for `p` eigenvalues. Each value typically
/// deflates after two or three sweeps; a hundred per value plus slack only stops genuine
/// stagnation.
fn max_sweeps(p: usize) -> usize {
    1000 + 100 * p
}

impl Backend for Nalgebra {
    fn kind(&self) -> BackendKind {
        BackendKind::Nalgebra
    }

    fn matmul(&self, a: &Mat, op_a: Op, b: &Mat, op_b: Op) -> Mat {
        let (a_t, b_t) = (transposed(a, op_a), transposed(b, op_b));
        let lhs = a_t.as_ref().map_or_else(|| view(a), |t| t.as_view());
        let rhs = b_t.as_ref().map_or_else(|| view(b), |t| t.as_view());
        let (m, n) = (lhs.nrows(), rhs.ncols());
        let mut out = Mat::zeros(m, n);
        DMatrixViewMut::from_slice(out.as_mut_slice(), m, n).gemm(1.0, &lhs, &rhs, 0.0);
        out
    }

    fn thin_svd(&self, a: &Mat) -> Result<RawSvd, LinalgError> {
        let (m, n) = a.shape();
        if m.min(n) == 0 {
            return Ok(RawSvd {
                u: Mat::zeros(m, 0),
                s: Vec::new(),
                v: Mat::zeros(n, 0),
            });
        }
        let no_conv = || LinalgError::NoConvergence {
            op: "svd",
            backend: BackendKind::Nalgebra,
            rows: m,
            cols: n,
        };
        // Jacobi works on the tall orientation; a wide matrix is handled through its transpose.
        if m >= n {
            let (u, s, v) = jacobi::thin_svd_tall(view(a).into_owned()).ok_or_else(no_conv)?;
            Ok(RawSvd {
                u: to_mat(u),
                s,
                v: to_mat(v),
            })
        } else {
            let (v, s, u) = jacobi::thin_svd_tall(view(a).transpose()).ok_or_else(no_conv)?;
            Ok(RawSvd {
                u: to_mat(u),
                s,
                v: to_mat(v),
            })
        }
    }

    fn eigh(&self, a: &Mat) -> Result<RawEigh, LinalgError> {
        let n = a.nrows();
        if n == 0 {
            return Ok(RawEigh {
                values: Vec::new(),
                vectors: Mat::zeros(0, 0),
            });
        }
        let eig = SymmetricEigen::try_new(view(a).into_owned(), f64::EPSILON, max_sweeps(n))
            .ok_or(LinalgError::NoConvergence {
                op: "eigh",
                backend: BackendKind::Nalgebra,
                rows: n,
                cols: n,
            })?;
        Ok(RawEigh {
            values: eig.eigenvalues.data.into(),
            vectors: to_mat(eig.eigenvectors),
        })
    }

    fn qr(&self, a: &Mat) -> Result<RawQr, LinalgError> {
        let qr = QR::new(view(a).into_owned());
        Ok(RawQr {
            q: to_mat(qr.q()),
            r: to_mat(qr.unpack_r()),
        })
    }

    fn lstsq(&self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError> {
        let (m, n) = a.shape();
        let qr = QR::new(view(a).into_owned());
        let mut qtb = view(b).into_owned();
        qr.q_tr_mul(&mut qtb);
        let mut x = qtb.rows(0, n).into_owned();
        if qr.unpack_r().solve_upper_triangular_mut(&mut x) {
            return Ok(to_mat(x));
        }
        // An exactly zero pivot in R: `a` is rank deficient, outside the contract. Return the
        // minimum-norm solution (singular values below ε·max(m, n)·σ₁ dropped), as LAPACK's
        // `gelsd` does, rather than a half-solved vector.
        let (u, s, v) =
            jacobi::thin_svd_tall(view(a).into_owned()).ok_or(LinalgError::NoConvergence {
                op: "lstsq",
                backend: BackendKind::Nalgebra,
                rows: m,
                cols: n,
            })?;
        let cutoff = f64::EPSILON * m.max(n) as f64 * s.iter().fold(0.0_f64, |a, &b| a.max(b));
        let mut coeff = u.transpose() * view(b);
        for (k, mut row) in coeff.row_iter_mut().enumerate() {
            let scale = if s[k] > cutoff { 1.0 / s[k] } else { 0.0 };
            row *= scale;
        }
        Ok(to_mat(v * coeff))
    }

    fn solve_spd(&self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError> {
        let n = a.nrows();
        let chol = Cholesky::new(view(a).into_owned()).ok_or(LinalgError::NotPositiveDefinite {
            op: "solve_spd",
            backend: BackendKind::Nalgebra,
            n,
        })?;
        Ok(to_mat(chol.solve(&view(b))))
    }

    fn cholesky(&self, a: &Mat) -> Result<Mat, LinalgError> {
        let n = a.nrows();
        let chol = Cholesky::new(view(a).into_owned()).ok_or(LinalgError::NotPositiveDefinite {
            op: "cholesky",
            backend: BackendKind::Nalgebra,
            n,
        })?;
        Ok(to_mat(chol.unpack()))
    }
}
