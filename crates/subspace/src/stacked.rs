//! The paper's estimator: top-K left singular vectors of the stacked `svec` Hessians.

use crate::SubspaceEstimator;
use crate::error::{Result, SubspaceError};
use nnid_linalg::sym::{SymSubspace, svec, svec_len};
use nnid_linalg::{Linalg, Mat};

/// Relative tolerance on `max|H − Hᵀ| / max|H|` for an input Hessian to count as symmetric.
pub const SYMMETRY_TOL: f64 = 1e-8;

/// What an estimator returns.
#[derive(Clone, Debug)]
pub struct SubspaceReport {
    /// The estimate Ŵ: an orthonormal `svec` basis of K symmetric matrices.
    pub subspace: SymSubspace,
    /// Every singular value of the stacked Hessians, non-increasing (min(d(d+1)/2, m_X)
    /// of them), so a user can see the spectrum around K.
    pub singular_values: Vec<f64>,
    /// Spectral-gap diagnostic; informative only, K is always the caller's.
    pub gap: GapDiagnostic,
}

/// Ratios of consecutive singular values, reported beside the estimate (paper-spec §3).
///
/// The gap at K = m0 + m1 is weak in practice (s_K/s_{K+1} ≈ 1.0–1.2 on generic teachers),
/// so nothing here chooses K: the largest ratio is a hint for a human reading the report.
#[derive(Clone, Debug, PartialEq)]
pub struct GapDiagnostic {
    /// `ratios[k − 1] = s_k / s_{k+1}` for k = 1, …, len − 1 (a denominator below
    /// `s_1·ε` is replaced by `s_1·ε`, so every ratio is finite; all ratios are 1 when
    /// s_1 = 0).
    pub ratios: Vec<f64>,
    /// The k with the largest `s_k / s_{k+1}` (the smallest such k on ties; 0 when there are
    /// fewer than two singular values).
    pub largest_gap_dim: usize,
    /// The K the estimate used.
    pub dim: usize,
    /// `s_K / s_{K+1}`, when there is an s_{K+1}.
    pub ratio_at_dim: Option<f64>,
}

impl GapDiagnostic {
    /// The diagnostic of a non-increasing spectrum for the chosen K = `dim`.
    pub fn new(singular_values: &[f64], dim: usize) -> Self {
        let s1 = singular_values.first().copied().unwrap_or(0.0);
        let floor = s1 * f64::EPSILON;
        let ratios: Vec<f64> = singular_values
            .windows(2)
            .map(|w| {
                if s1 > 0.0 {
                    w[0] / w[1].max(floor)
                } else {
                    1.0
                }
            })
            .collect();
        let largest_gap_dim = ratios
            .iter()
            .enumerate()
            .fold(None, |best: Option<(usize, f64)>, (k, &r)| match best {
                Some((_, b)) if b >= r => best,
                _ => Some((k + 1, r)),
            })
            .map_or(0, |(k, _)| k);
        let ratio_at_dim = dim.checked_sub(1).and_then(|k| ratios.get(k)).copied();
        Self {
            ratios,
            largest_gap_dim,
            dim,
            ratio_at_dim,
        }
    }
}

/// Checks the Hessians (non-empty, square, same side, finite, symmetric) and returns the side.
///
/// # Errors
/// [`SubspaceError::NoHessians`], [`SubspaceError::Shape`], [`SubspaceError::NonFinite`],
/// [`SubspaceError::NotSymmetric`].
pub fn check_hessians(hessians: &[Mat]) -> Result<usize> {
    let side = hessians.first().ok_or(SubspaceError::NoHessians)?.nrows();
    for (index, h) in hessians.iter().enumerate() {
        if h.nrows() != side || h.ncols() != side {
            return Err(SubspaceError::Shape {
                index,
                side,
                rows: h.nrows(),
                cols: h.ncols(),
            });
        }
        if let Some(k) = h.as_slice().iter().position(|v| !v.is_finite()) {
            let (row, col) = (k % side, k / side);
            return Err(SubspaceError::NonFinite {
                index,
                row,
                col,
                value: h.as_slice()[k],
            });
        }
        let mut asymmetry = 0.0_f64;
        for j in 0..side {
            for i in 0..j {
                asymmetry = asymmetry.max((h[(i, j)] - h[(j, i)]).abs());
            }
        }
        if asymmetry > SYMMETRY_TOL * h.max_abs() {
            return Err(SubspaceError::NotSymmetric {
                index,
                asymmetry,
                tol: SYMMETRY_TOL,
            });
        }
    }
    Ok(side)
}

/// The `svec` of every Hessian as the columns of a d(d+1)/2 × m_X matrix.
pub fn stack_svec(hessians: &[Mat], side: usize) -> Mat {
    let cols: Vec<Vec<f64>> = hessians.iter().map(svec).collect();
    Mat::from_columns(svec_len(side), &cols)
}

/// The paper's step 2 (paper-spec §3): `M = [svec H_1, …, svec H_mX]`, thin SVD through the
/// [`Linalg`] backend, Ŵ = span of the top K left singular vectors. The symmetric
/// vectorisation keeps Frobenius inner products, so this is the paper's SVD of `vec H_j`
/// with half the rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackedSvd;

impl SubspaceEstimator for StackedSvd {
    fn name(&self) -> &'static str {
        "stacked-svd"
    }

    fn estimate(&self, la: Linalg<'_>, hessians: &[Mat], dim: usize) -> Result<SubspaceReport> {
        let side = check_hessians(hessians)?;
        let rows = svec_len(side);
        let bad_dim = |reason: String| Err(SubspaceError::Dimension { dim, reason });
        if dim == 0 {
            return bad_dim("K must be at least 1".into());
        }
        if dim > hessians.len() {
            return bad_dim(format!(
                "only {} Hessians were given (need at least K)",
                hessians.len()
            ));
        }
        if dim > rows {
            return bad_dim(format!(
                "symmetric {side}×{side} matrices span only d(d+1)/2 = {rows} dimensions"
            ));
        }
        let stacked = stack_svec(hessians, side);
        let svd = la.svd_top_k(&stacked, dim)?;
        let s = svd.singular_values;
        let tol = s[0] * f64::EPSILON * rows.max(hessians.len()) as f64;
        if s[dim - 1] <= tol {
            let rank = s.iter().take_while(|&&v| v > tol).count();
            return Err(SubspaceError::RankDeficient {
                dim,
                rank,
                s_k: s[dim - 1],
                tol,
            });
        }
        let gap = GapDiagnostic::new(&s, dim);
        Ok(SubspaceReport {
            subspace: SymSubspace::from_orthonormal(side, svd.u),
            singular_values: s,
            gap,
        })
    }
}
