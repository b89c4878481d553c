//! The LAPACK backend: ndarray 0.17 + ndarray-linalg 0.18 on the system OpenBLAS.
//!
//! Inputs are borrowed as zero-copy column-major (`.f()`) [`ArrayView2`]s of the [`Mat`]
//! buffers; `matmul` writes through an [`ArrayViewMut2`] straight into the result (BLAS
//! `dgemm` with the transposes folded into the strides). The LAPACK drivers, as
//! ndarray-linalg calls them, are `dgesdd` (thin SVD), `dsyev` (eigh; the QR iteration, not
//! the faster divide-and-conquer `dsyevd`, which ndarray-linalg does not expose),
//! `dgeqrf`+`dorgqr` (QR), `dgelsd` (least squares, minimum norm) and `dpotrf`/`dpotrs`
//! (SPD solve and Cholesky factor). Results that LAPACK returns in column-major order move
//! into [`Mat`] without copying.
//!
//! Environment: OpenBLAS reads `OPENBLAS_NUM_THREADS` when it is loaded; run with
//! `OPENBLAS_NUM_THREADS=1` to keep this backend single-threaded like the others. On
//! virtual machines whose CPU model it does not recognise, OpenBLAS falls back to its
//! generic "Prescott" (SSE3) kernels, several times slower; `OPENBLAS_CORETYPE=Haswell`
//! (AVX2) or `SkylakeX` (AVX-512) selects the right ones (`OPENBLAS_VERBOSE=2` prints the
//! choice).

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, ShapeBuilder};
use ndarray_linalg::error::LinalgError as NdError;
use ndarray_linalg::{
    Cholesky, Eigh, FactorizeC, JobSvd, LeastSquaresSvd, QR, SVDDC, SolveC, UPLO,
};

use crate::{Backend, BackendKind, LinalgError, Mat, Op, RawEigh, RawQr, RawSvd};

/// The LAPACK (OpenBLAS) backend.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Lapack;

fn view(a: &Mat) -> ArrayView2<'_, f64> {
    ArrayView2::from_shape((a.nrows(), a.ncols()).f(), a.as_slice())
        .expect("Mat is a contiguous column-major buffer")
}

fn oriented(a: &Mat, op: Op) -> ArrayView2<'_, f64> {
    match op {
        Op::NoTrans => view(a),
        Op::Trans => view(a).reversed_axes(),
    }
}

/// Moves a LAPACK result into a [`Mat`]: free when it is column-major (as LAPACK writes
/// it), one copy otherwise.
fn to_mat(a: Array2<f64>) -> Mat {
    let (m, n) = a.dim();
    if a.t().is_standard_layout() {
        let (data, offset) = a.into_raw_vec_and_offset();
        if offset.unwrap_or(0) == 0 && data.len() == m * n {
            return Mat::from_col_major(m, n, data);
        }
        return Mat::from_col_major(m, n, data[offset.unwrap_or(0)..][..m * n].to_vec());
    }
    Mat::from_fn(m, n, |i, j| a[[i, j]])
}

fn to_vec(a: Array1<f64>) -> Vec<f64> {
    a.to_vec()
}

/// LAPACK reported `info > 0`: the input made the algorithm fail (no convergence, not
/// positive definite). Anything else (a bad argument or layout) is a bug in this module.
#[track_caller]
fn numerical_failure(err: NdError, op: &'static str) {
    if !matches!(
        err,
        NdError::Lapack(lax::error::Error::LapackComputationalFailure { .. })
    ) {
        panic!("lapack backend, {op}: internal error (a bug in nnid-linalg): {err}");
    }
}

impl Backend for Lapack {
    fn kind(&self) -> BackendKind {
        BackendKind::Lapack
    }

    fn matmul(&self, a: &Mat, op_a: Op, b: &Mat, op_b: Op) -> Mat {
        let (lhs, rhs) = (oriented(a, op_a), oriented(b, op_b));
        let (m, n) = (lhs.nrows(), rhs.ncols());
        let mut out = Mat::zeros(m, n);
        let mut dst =
            ArrayViewMut2::from_shape((m, n).f(), out.as_mut_slice()).expect("output buffer fits");
        ndarray::linalg::general_mat_mul(1.0, &lhs, &rhs, 0.0, &mut dst);
        out
    }

    fn thin_svd(&self, a: &Mat) -> Result<RawSvd, LinalgError> {
        let (m, n) = a.shape();
        let p = m.min(n);
        if p == 0 {
            return Ok(RawSvd {
                u: Mat::zeros(m, 0),
                s: Vec::new(),
                v: Mat::zeros(n, 0),
            });
        }
        let no_conv = || LinalgError::NoConvergence {
            op: "svd",
            backend: BackendKind::Lapack,
            rows: m,
            cols: n,
        };
        let (u, s, vt) = view(a).svddc(JobSvd::Some).map_err(|e| {
            numerical_failure(e, "svd");
            no_conv()
        })?;
        let (u, vt) = (u.ok_or_else(no_conv)?, vt.ok_or_else(no_conv)?);
        Ok(RawSvd {
            u: to_mat(u),
            s: to_vec(s),
            v: to_mat(vt.reversed_axes()),
        })
    }

    fn eigh(&self, a: &Mat) -> Result<RawEigh, LinalgError> {
        let n = a.nrows();
        if n == 0 {
            return Ok(RawEigh {
                values: Vec::new(),
                vectors: Mat::zeros(0, 0),
            });
        }
        let (values, vectors) = view(a).eigh(UPLO::Lower).map_err(|e| {
            numerical_failure(e, "eigh");
            LinalgError::NoConvergence {
                op: "eigh",
                backend: BackendKind::Lapack,
                rows: n,
                cols: n,
            }
        })?;
        Ok(RawEigh {
            values: to_vec(values),
            vectors: to_mat(vectors),
        })
    }

    fn qr(&self, a: &Mat) -> Result<RawQr, LinalgError> {
        let (m, n) = a.shape();
        if n == 0 {
            return Ok(RawQr {
                q: Mat::zeros(m, 0),
                r: Mat::zeros(0, 0),
            });
        }
        let (q, r) = view(a).qr().map_err(|e| {
            numerical_failure(e, "qr");
            LinalgError::NoConvergence {
                op: "qr",
                backend: BackendKind::Lapack,
                rows: m,
                cols: n,
            }
        })?;
        Ok(RawQr {
            q: to_mat(q),
            r: to_mat(r),
        })
    }

    fn lstsq(&self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError> {
        let (m, n) = a.shape();
        if n == 0 || b.ncols() == 0 {
            return Ok(Mat::zeros(n, b.ncols()));
        }
        let res = view(a).least_squares(&view(b)).map_err(|e| {
            numerical_failure(e, "lstsq");
            LinalgError::NoConvergence {
                op: "lstsq",
                backend: BackendKind::Lapack,
                rows: m,
                cols: n,
            }
        })?;
        Ok(to_mat(res.solution))
    }

    fn solve_spd(&self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError> {
        let n = a.nrows();
        let mut x = b.clone();
        if n == 0 || b.ncols() == 0 {
            return Ok(x);
        }
        let not_pd = LinalgError::NotPositiveDefinite {
            op: "solve_spd",
            backend: BackendKind::Lapack,
            n,
        };
        let factor = view(a).factorizec(UPLO::Lower).map_err(|e| {
            numerical_failure(e, "solve_spd");
            not_pd
        })?;
        for j in 0..x.ncols() {
            let mut col = ndarray::ArrayViewMut1::from(x.col_mut(j));
            if let Err(e) = factor.solvec_inplace(&mut col) {
                panic!("lapack backend, solve_spd: dpotrs failed after dpotrf succeeded: {e}");
            }
        }
        Ok(x)
    }

    fn cholesky(&self, a: &Mat) -> Result<Mat, LinalgError> {
        let n = a.nrows();
        if n == 0 {
            return Ok(a.clone());
        }
        view(a).cholesky(UPLO::Lower).map(to_mat).map_err(|e| {
            numerical_failure(e, "cholesky");
            LinalgError::NotPositiveDefinite {
                op: "cholesky",
                backend: BackendKind::Lapack,
                n,
            }
        })
    }
}
