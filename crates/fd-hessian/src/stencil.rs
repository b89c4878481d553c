//! Second-difference stencils: which points to query, and how to combine the answers.

use crate::error::{HessianError, Result, check_step};
use nnid_linalg::{Mat, axpy};
use nnid_nn_model::Oracle;

/// The coordinates the derivatives are taken in: the standard basis of R^d, or the
/// orthonormal columns of a d×m matrix U (then a step along coordinate k is a step along
/// column k of U, and the result is `Uᵀ ∇²f U` or `Uᵀ ∇f`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Frame<'a> {
    /// e_1, …, e_d.
    Standard(usize),
    /// The columns of U.
    Basis(&'a Mat),
}

impl<'a> Frame<'a> {
    pub(crate) fn new(d: usize, basis: Option<&'a Mat>) -> Self {
        basis.map_or(Frame::Standard(d), Frame::Basis)
    }

    /// Number of coordinates n (d, or the columns of U).
    pub(crate) fn dim(self) -> usize {
        match self {
            Frame::Standard(d) => d,
            Frame::Basis(u) => u.ncols(),
        }
    }

    /// `point += alpha · (direction k)`.
    fn step(self, k: usize, alpha: f64, point: &mut [f64]) {
        match self {
            Frame::Standard(_) => point[k] += alpha,
            Frame::Basis(u) => axpy(alpha, u.col(k), point),
        }
    }
}

/// Builds the d×q matrix of points `x + Σ alpha·(direction k)`, one column per step list.
pub(crate) struct PointBuilder<'a> {
    x: &'a [f64],
    frame: Frame<'a>,
    data: Vec<f64>,
}

impl<'a> PointBuilder<'a> {
    pub(crate) fn new(x: &'a [f64], frame: Frame<'a>, capacity: usize) -> Self {
        Self {
            x,
            frame,
            data: Vec::with_capacity(x.len() * capacity),
        }
    }

    pub(crate) fn push(&mut self, steps: &[(usize, f64)]) {
        let start = self.data.len();
        self.data.extend_from_slice(self.x);
        for &(k, alpha) in steps {
            self.frame.step(k, alpha, &mut self.data[start..]);
        }
    }

    pub(crate) fn finish(self) -> Mat {
        let d = self.x.len();
        let q = self.data.len().checked_div(d).unwrap_or(0);
        Mat::from_col_major(d, q, self.data)
    }
}

/// Sends one batch and checks the number of answers.
pub(crate) fn query_batch(oracle: &dyn Oracle, points: &Mat) -> Result<Vec<f64>> {
    let values = oracle.query(points)?;
    if values.len() != points.ncols() {
        return Err(HessianError::AnswerCount {
            expected: points.ncols(),
            got: values.len(),
        });
    }
    Ok(values)
}

/// A finite-difference scheme for the Hessian in n coordinates (paper-spec §2).
///
/// | stencil   | queries per Hessian | error  | default ε |
/// |-----------|---------------------|--------|-----------|
/// | `Forward` | (n+1)(n+2)/2        | O(ε)   | 1e-5 (the paper's) |
/// | `Central` | n² + n + 1          | O(ε²)  | 1e-3      |
///
/// Rounding adds about `4·u·|f|/ε²` (u = 2^-53) to every entry in both schemes, so ε must
/// not shrink below ~1e-6 (forward) or ~1e-4 (central) for an exact f64 oracle, and must
/// grow with the noise of a noisy one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stencil {
    /// The paper's forward stencil, mirrored from `k ≤ l`:
    /// `H_kl = [f(x+εu_k+εu_l) − f(x+εu_k) − f(x+εu_l) + f(x)] / ε²`.
    /// Queries: f(x), f(x+εu_k) for every k, f(x+εu_k+εu_l) for every k ≤ l.
    Forward {
        /// The step ε.
        eps: f64,
    },
    /// **\[design\]** A symmetric second-order stencil that reuses the diagonal points:
    /// `H_kk = [f(x+εu_k) − 2f(x) + f(x−εu_k)] / ε²` and, for k < l,
    /// `H_kl = [f(x+εu_k+εu_l) + f(x−εu_k−εu_l) − f(x±εu_k) − f(x±εu_l) + 2f(x)] / (2ε²)`
    /// (each `±` term summed over both signs). Odd Taylor terms cancel, so the error is
    /// O(ε²), at n² + n + 1 queries: half the 2n² + 1 of the four-point stencil in
    /// paper-spec §2, with the same order.
    Central {
        /// The step ε.
        eps: f64,
    },
}

impl Stencil {
    /// The paper's forward step, ε = 1e-5 (paper-spec §2).
    pub const PAPER_FORWARD_EPS: f64 = 1e-5;
    /// The default central step, ε = 1e-3 (paper-spec §2).
    pub const DEFAULT_CENTRAL_EPS: f64 = 1e-3;

    /// The forward stencil with the paper's step.
    pub const fn forward() -> Self {
        Stencil::Forward {
            eps: Self::PAPER_FORWARD_EPS,
        }
    }

    /// The central stencil with its default step.
    pub const fn central() -> Self {
        Stencil::Central {
            eps: Self::DEFAULT_CENTRAL_EPS,
        }
    }

    /// The step ε.
    pub const fn eps(self) -> f64 {
        match self {
            Stencil::Forward { eps } | Stencil::Central { eps } => eps,
        }
    }

    /// The same stencil with another step.
    pub const fn with_eps(self, eps: f64) -> Self {
        match self {
            Stencil::Forward { .. } => Stencil::Forward { eps },
            Stencil::Central { .. } => Stencil::Central { eps },
        }
    }

    /// The order p of the truncation error O(ε^p).
    pub const fn order(self) -> u32 {
        match self {
            Stencil::Forward { .. } => 1,
            Stencil::Central { .. } => 2,
        }
    }

    /// `"forward"` or `"central"`.
    pub const fn name(self) -> &'static str {
        match self {
            Stencil::Forward { .. } => "forward",
            Stencil::Central { .. } => "central",
        }
    }

    /// Queries for one Hessian in n coordinates.
    pub const fn queries(self, n: usize) -> usize {
        match self {
            Stencil::Forward { .. } => (n + 1) * (n + 2) / 2,
            Stencil::Central { .. } => n * n + n + 1,
        }
    }

    /// # Errors
    /// [`HessianError::InvalidConfig`] unless ε is finite and positive.
    pub fn validate(self) -> Result<()> {
        check_step("eps", self.eps())
    }

    /// The query points of one Hessian at `x`, in the order [`Stencil::assemble`] reads.
    pub(crate) fn points(self, x: &[f64], frame: Frame<'_>) -> Mat {
        let (n, eps) = (frame.dim(), self.eps());
        let mut pts = PointBuilder::new(x, frame, self.queries(n));
        pts.push(&[]);
        for k in 0..n {
            pts.push(&[(k, eps)]);
        }
        match self {
            Stencil::Forward { .. } => {
                for k in 0..n {
                    for l in k..n {
                        pts.push(&[(k, eps), (l, eps)]);
                    }
                }
            }
            Stencil::Central { .. } => {
                for k in 0..n {
                    pts.push(&[(k, -eps)]);
                }
                for k in 0..n {
                    for l in k + 1..n {
                        pts.push(&[(k, eps), (l, eps)]);
                        pts.push(&[(k, -eps), (l, -eps)]);
                    }
                }
            }
        }
        pts.finish()
    }

    /// The n×n Hessian from the answers at [`Stencil::points`].
    #[track_caller]
    pub(crate) fn assemble(self, v: &[f64], n: usize) -> Mat {
        assert_eq!(
            v.len(),
            self.queries(n),
            "Stencil::assemble: {} values for n = {n}",
            v.len()
        );
        let eps2 = self.eps() * self.eps();
        let f0 = v[0];
        let fp = &v[1..=n];
        let mut h = Mat::zeros(n, n);
        match self {
            Stencil::Forward { .. } => {
                let mut idx = n + 1;
                for k in 0..n {
                    for l in k..n {
                        let x = (v[idx] - fp[k] - fp[l] + f0) / eps2;
                        h[(k, l)] = x;
                        h[(l, k)] = x;
                        idx += 1;
                    }
                }
            }
            Stencil::Central { .. } => {
                let fm = &v[n + 1..=2 * n];
                for k in 0..n {
                    h[(k, k)] = (fp[k] - 2.0 * f0 + fm[k]) / eps2;
                }
                let mut idx = 2 * n + 1;
                for k in 0..n {
                    for l in k + 1..n {
                        let s = v[idx] + v[idx + 1] - fp[k] - fm[k] - fp[l] - fm[l] + 2.0 * f0;
                        let x = s / (2.0 * eps2);
                        h[(k, l)] = x;
                        h[(l, k)] = x;
                        idx += 2;
                    }
                }
            }
        }
        h
    }
}

/// One finite-difference Hessian at `x`, all of its queries in one oracle batch.
///
/// With `basis = Some(U)` (d×m, orthonormal columns) the steps go along the columns of U
/// and the result is the m×m matrix `Uᵀ ∇²f(x) U` (up to the stencil's error); otherwise
/// the d×d Hessian. The query count is [`Stencil::queries`] of m (or d).
///
/// # Errors
/// [`HessianError::InvalidConfig`] for a bad ε, [`HessianError::Dimension`] when `x` or
/// `U` do not fit the oracle, and any [`HessianError::Oracle`] error.
pub fn fd_hessian(
    oracle: &dyn Oracle,
    x: &[f64],
    basis: Option<&Mat>,
    stencil: Stencil,
) -> Result<Mat> {
    stencil.validate()?;
    let d = oracle.input_dim();
    if x.len() != d {
        return Err(HessianError::Dimension {
            what: "x",
            expected: d,
            got: x.len(),
        });
    }
    if let Some(u) = basis
        && u.nrows() != d
    {
        return Err(HessianError::Dimension {
            what: "basis (rows)",
            expected: d,
            got: u.nrows(),
        });
    }
    hessian_in_frame(oracle, x, Frame::new(d, basis), stencil)
}

/// [`fd_hessian`] without the checks (the caller has validated everything).
pub(crate) fn hessian_in_frame(
    oracle: &dyn Oracle,
    x: &[f64],
    frame: Frame<'_>,
    stencil: Stencil,
) -> Result<Mat> {
    let points = stencil.points(x, frame);
    let values = query_batch(oracle, &points)?;
    Ok(stencil.assemble(&values, frame.dim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quadratic has an exact second difference in both stencils (its third derivatives
    /// vanish), so the stencil algebra is checked to rounding, independent of the network.
    #[test]
    fn stencils_are_exact_on_quadratics() {
        let n = 4;
        let q = Mat::from_fn(n, n, |i, j| {
            1.0 + (i * j) as f64 + if i == j { 2.0 } else { 0.0 }
        });
        let x = [0.3, -0.2, 0.5, 0.1];
        let f = |p: &[f64]| -> f64 {
            let qp = q.matvec(p);
            0.5 * nnid_linalg::dot(p, &qp) + p[0] - 2.0 * p[2]
        };
        for stencil in [
            Stencil::Forward { eps: 1e-2 },
            Stencil::Central { eps: 1e-2 },
        ] {
            let pts = stencil.points(&x, Frame::Standard(n));
            assert_eq!(pts.ncols(), stencil.queries(n), "{}", stencil.name());
            let v: Vec<f64> = pts.columns().map(f).collect();
            let h = stencil.assemble(&v, n);
            let err = h.sub(&q).max_abs();
            assert!(err < 1e-9, "{}: max error {err:e}", stencil.name());
        }
    }

    #[test]
    fn query_counts_match_the_formulas() {
        assert_eq!(Stencil::forward().queries(20), 231);
        assert_eq!(Stencil::forward().queries(50), 1326);
        assert_eq!(Stencil::central().queries(20), 421);
    }
}
