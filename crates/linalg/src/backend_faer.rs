//! The faer 0.24 backend (pure Rust).
//!
//! Inputs are borrowed as zero-copy [`MatRef`] views of the column-major [`Mat`] buffers and
//! results are written straight into freshly allocated [`Mat`]s through [`MatMut`] views,
//! so no data is copied on the way in or out. faer's low-level kernels are called with an
//! explicit [`Par`] taken from [`crate::threads()`] (faer's own global default is "all
//! cores", which we do not want; see [`crate::set_threads`]).

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt;
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::linalg::householder;
use faer::linalg::qr::no_pivoting::{factor as qr_factor, solve as qr_solve};
use faer::linalg::svd::{self, ComputeSvdVectors, SvdParams};
use faer::{Accum, Auto, ColMut, Conj, MatMut, MatRef, Par};

use crate::{Backend, BackendKind, LinalgError, Mat, Op, RawEigh, RawQr, RawSvd};

/// The faer backend.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Faer;

/// The parallelism [`crate::set_threads`] asks for.
fn par() -> Par {
    match crate::threads() {
        0 | 1 => Par::Seq,
        n => Par::rayon(n),
    }
}

fn view(a: &Mat) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(a.as_slice(), a.nrows(), a.ncols())
}

fn view_mut(a: &mut Mat) -> MatMut<'_, f64> {
    let (m, n) = a.shape();
    MatMut::from_column_major_slice_mut(a.as_mut_slice(), m, n)
}

fn oriented(a: &Mat, op: Op) -> MatRef<'_, f64> {
    match op {
        Op::NoTrans => view(a),
        Op::Trans => view(a).transpose(),
    }
}

fn with_stack<R>(req: StackReq, f: impl FnOnce(&mut MemStack) -> R) -> R {
    let mut buf = MemBuffer::new(req);
    f(MemStack::new(&mut buf))
}

/// The thin Householder QR of `a` (m ≥ n) in faer's packed form: the returned matrix holds
/// R in its upper triangle and the Householder basis below it; the second holds the block
/// coefficients.
fn packed_qr(a: &Mat, par: Par) -> (Mat, Mat) {
    let (m, n) = a.shape();
    let mut qr = a.clone();
    let block = qr_factor::recommended_block_size::<f64>(m, n);
    let mut coeff = Mat::zeros(block, n.min(m));
    let req = qr_factor::qr_in_place_scratch::<f64>(m, n, block, par, Default::default());
    with_stack(req, |stack| {
        qr_factor::qr_in_place(
            view_mut(&mut qr),
            view_mut(&mut coeff),
            par,
            stack,
            Default::default(),
        );
    });
    (qr, coeff)
}

/// The factor for the SVD retry: not a power of two, so the scaled matrix rounds
/// differently; the scaling itself costs one rounding, ε relative, per entry.
const RETRY_SCALE: f64 = 0.75 + 1.0 / 64.0;

/// faer's thin SVD with the given tuning parameters, written into fresh [`Mat`]s.
fn thin_svd_with(a: &Mat, par: Par, params: SvdParams) -> Result<RawSvd, svd::SvdError> {
    let (m, n) = a.shape();
    let p = m.min(n);
    let (mut u, mut v, mut s) = (Mat::zeros(m, p), Mat::zeros(n, p), vec![0.0; p]);
    let thin = ComputeSvdVectors::Thin;
    let req = svd::svd_scratch::<f64>(m, n, thin, thin, par, params.into());
    with_stack(req, |stack| {
        svd::svd(
            view(a),
            ColMut::from_slice_mut(&mut s).as_diagonal_mut(),
            Some(view_mut(&mut u)),
            Some(view_mut(&mut v)),
            par,
            stack,
            params.into(),
        )
    })?;
    Ok(RawSvd { u, s, v })
}

/// The Cholesky factor of `a` (L in the lower triangle; the upper one keeps `a`'s).
fn cholesky_factor(a: &Mat, par: Par, op: &'static str) -> Result<Mat, LinalgError> {
    let n = a.nrows();
    let mut l = a.clone();
    if n == 0 {
        return Ok(l);
    }
    let req = llt::factor::cholesky_in_place_scratch::<f64>(n, par, Default::default());
    with_stack(req, |stack| {
        llt::factor::cholesky_in_place(
            view_mut(&mut l),
            Default::default(),
            par,
            stack,
            Default::default(),
        )
    })
    .map_err(|_| LinalgError::NotPositiveDefinite {
        op,
        backend: BackendKind::Faer,
        n,
    })?;
    Ok(l)
}

impl Backend for Faer {
    fn kind(&self) -> BackendKind {
        BackendKind::Faer
    }

    fn matmul(&self, a: &Mat, op_a: Op, b: &Mat, op_b: Op) -> Mat {
        let (lhs, rhs) = (oriented(a, op_a), oriented(b, op_b));
        let mut out = Mat::zeros(lhs.nrows(), rhs.ncols());
        faer::linalg::matmul::matmul(view_mut(&mut out), Accum::Replace, lhs, rhs, 1.0, par());
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
        // faer switches from the bidiagonal QR iteration to divide and conquer at 128
        // columns. In 0.24 divide and conquer gets singular values wrong on about 1% of
        // random rank-deficient inputs with 128–260 columns (a zero singular value came out
        // as 0.6% of σ₁; see the `svd_large_rank_deficient` test). That is the pipeline's
        // case (stacked Hessians at d = 100: 150 columns, rank 75), so we always run the QR
        // iteration; at 5050×150 it is as fast.
        let params = SvdParams {
            recursion_threshold: usize::MAX,
            ..Auto::<f64>::auto()
        };
        let par = par();
        thin_svd_with(a, par, params)
            .or_else(|_| {
                // The QR iteration stops at its iteration cap on about one in 10⁶ small
                // matrices with repeated singular values. The same matrix scaled by a
                // non-power of two rounds differently and converges; σ is scaled back.
                let mut scaled = a.clone();
                scaled.scale(RETRY_SCALE);
                let mut svd = thin_svd_with(&scaled, par, params)?;
                svd.s.iter_mut().for_each(|s| *s /= RETRY_SCALE);
                Ok(svd)
            })
            .map_err(|_: svd::SvdError| LinalgError::NoConvergence {
                op: "svd",
                backend: BackendKind::Faer,
                rows: m,
                cols: n,
            })
    }

    fn eigh(&self, a: &Mat) -> Result<RawEigh, LinalgError> {
        let n = a.nrows();
        let (mut vectors, mut values) = (Mat::zeros(n, n), vec![0.0; n]);
        if n > 0 {
            let par = par();
            let req = evd::self_adjoint_evd_scratch::<f64>(
                n,
                ComputeEigenvectors::Yes,
                par,
                Default::default(),
            );
            with_stack(req, |stack| {
                evd::self_adjoint_evd(
                    view(a),
                    ColMut::from_slice_mut(&mut values).as_diagonal_mut(),
                    Some(view_mut(&mut vectors)),
                    par,
                    stack,
                    Default::default(),
                )
            })
            .map_err(|_| LinalgError::NoConvergence {
                op: "eigh",
                backend: BackendKind::Faer,
                rows: n,
                cols: n,
            })?;
        }
        Ok(RawEigh { values, vectors })
    }

    fn qr(&self, a: &Mat) -> Result<RawQr, LinalgError> {
        let (m, n) = a.shape();
        let p = m.min(n);
        if p == 0 {
            return Ok(RawQr {
                q: Mat::zeros(m, p),
                r: Mat::zeros(p, n),
            });
        }
        let par = par();
        let (packed, coeff) = packed_qr(a, par);
        let r = Mat::from_fn(p, n, |i, j| if i <= j { packed[(i, j)] } else { 0.0 });
        let mut q = Mat::from_fn(m, p, |i, j| if i == j { 1.0 } else { 0.0 });
        let req = householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
            m,
            coeff.nrows(),
            p,
        );
        with_stack(req, |stack| {
            householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
                view(&packed),
                view(&coeff),
                Conj::No,
                view_mut(&mut q),
                par,
                stack,
            );
        });
        Ok(RawQr { q, r })
    }

    fn lstsq(&self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError> {
        let (m, n) = a.shape();
        let k = b.ncols();
        if n == 0 || k == 0 {
            return Ok(Mat::zeros(n, k));
        }
        let par = par();
        let (packed, coeff) = packed_qr(a, par);
        let mut rhs = b.clone();
        let req = qr_solve::solve_lstsq_in_place_scratch::<f64>(m, n, coeff.nrows(), k, par);
        with_stack(req, |stack| {
            qr_solve::solve_lstsq_in_place_with_conj(
                view(&packed),
                view(&coeff),
                view(&packed),
                Conj::No,
                view_mut(&mut rhs),
                par,
                stack,
            );
        });
        Ok(Mat::from_fn(n, k, |i, j| rhs[(i, j)]))
    }

    fn solve_spd(&self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError> {
        let n = a.nrows();
        let mut x = b.clone();
        if n == 0 || b.ncols() == 0 {
            return Ok(x);
        }
        let par = par();
        let l = cholesky_factor(a, par, "solve_spd")?;
        let req = llt::solve::solve_in_place_scratch::<f64>(n, b.ncols(), par);
        with_stack(req, |stack| {
            llt::solve::solve_in_place_with_conj(view(&l), Conj::No, view_mut(&mut x), par, stack);
        });
        Ok(x)
    }

    fn cholesky(&self, a: &Mat) -> Result<Mat, LinalgError> {
        cholesky_factor(a, par(), "cholesky")
    }
}
