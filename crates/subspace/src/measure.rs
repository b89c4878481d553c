//! Quality measures of an estimate Ŵ against the model's W (paper-spec §3, §8), and the map
//! of a subspace estimated in reduced coordinates back to R^d.

use crate::error::{Result, SubspaceError};
use nnid_linalg::sym::{SymSubspace, svec, svec_len, svec_rank1, unsvec};
use nnid_linalg::{Linalg, Mat, Op, normalize};
use nnid_nn_model::Network;

/// Tolerance on `‖UᵀU − I‖_max` for [`lift`]'s basis.
pub const BASIS_TOL: f64 = 1e-8;

fn check_same_side(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(SubspaceError::SideMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Cosines of the principal angles between W and Ŵ: the singular values of the cross-Gram
/// matrix `Wᵀ Ŵ` of the two orthonormal `svec` bases (min(dim W, dim Ŵ) values,
/// non-increasing). Costs O(d² K²), never a d²×d² matrix.
///
/// # Errors
/// [`SubspaceError::SideMismatch`] when the matrix sides differ, or an SVD failure.
pub fn principal_cosines(la: Linalg<'_>, w: &SymSubspace, w_hat: &SymSubspace) -> Result<Vec<f64>> {
    check_same_side("principal_cosines", w.side(), w_hat.side())?;
    if w.dim() == 0 || w_hat.dim() == 0 {
        return Ok(Vec::new());
    }
    let gram = la.matmul(w.basis(), Op::Trans, w_hat.basis(), Op::NoTrans);
    Ok(la.svd(&gram)?.s.into_iter().map(|c| c.min(1.0)).collect())
}

/// `‖P_W − P_Ŵ‖` (spectral norm of the difference of the orthogonal projectors on the space
/// of symmetric matrices with the Frobenius inner product).
///
/// For equal dimensions it is the sine of the largest principal angle. It is computed as
/// `‖(I − P_W) Ŵ‖₂ = σ_max(Ŵ − W(WᵀŴ))` from the bases, which stays accurate for tiny angles
/// (where `√(1 − cos²)` would lose half the digits). Different dimensions give 1 (a
/// direction of the larger space is orthogonal to the smaller one); two zero-dimensional
/// spaces give 0.
///
/// # Errors
/// As [`principal_cosines`].
pub fn distance(la: Linalg<'_>, w: &SymSubspace, w_hat: &SymSubspace) -> Result<f64> {
    check_same_side("distance", w.side(), w_hat.side())?;
    match (w.dim(), w_hat.dim()) {
        (0, 0) => return Ok(0.0),
        (p, q) if p != q => return Ok(1.0),
        _ => {}
    }
    let gram = la.matmul(w.basis(), Op::Trans, w_hat.basis(), Op::NoTrans);
    let in_w = la.matmul(w.basis(), Op::NoTrans, &gram, Op::NoTrans);
    let residual = w_hat.basis().sub(&in_w);
    Ok(la.svd(&residual)?.s[0].min(1.0))
}

/// `1 − ‖P_Ŵ(u uᵀ)‖_F` for the unit vector along `u`: 0 when `u uᵀ ∈ Ŵ`, up to 1.
/// O(d² K), no d²×d² matrix.
///
/// # Errors
/// [`SubspaceError::SideMismatch`] for a vector of the wrong length,
/// [`SubspaceError::BadInput`] for a zero or non-finite one.
pub fn weight_distance(w_hat: &SymSubspace, u: &[f64]) -> Result<f64> {
    check_same_side("weight_distance (vector length)", w_hat.side(), u.len())?;
    if u.iter().any(|v| !v.is_finite()) {
        return Err(SubspaceError::BadInput {
            what: "weight_distance",
            reason: "the vector is not finite".into(),
        });
    }
    let mut unit = u.to_vec();
    if normalize(&mut unit) == 0.0 {
        return Err(SubspaceError::BadInput {
            what: "weight_distance",
            reason: "the vector is zero".into(),
        });
    }
    Ok(1.0 - w_hat.proj_norm_rank1(&unit))
}

/// [`weight_distance`] for every column of `weights`.
///
/// # Errors
/// As [`weight_distance`].
pub fn weight_distances(w_hat: &SymSubspace, weights: &Mat) -> Result<Vec<f64>> {
    weights
        .columns()
        .map(|u| weight_distance(w_hat, u))
        .collect()
}

/// An orthonormal `svec` basis of span{u_k u_kᵀ} over the columns u_k of `vectors`.
///
/// # Errors
/// [`SubspaceError::BadInput`] for a zero or non-finite column or when the rank-one matrices
/// are linearly dependent (to rounding), or more columns than d(d+1)/2.
pub fn rank1_span(la: Linalg<'_>, vectors: &Mat) -> Result<SymSubspace> {
    let (d, k) = vectors.shape();
    let bad = |reason: String| {
        Err(SubspaceError::BadInput {
            what: "rank1_span",
            reason,
        })
    };
    if k == 0 {
        return Ok(SymSubspace::from_orthonormal(d, Mat::zeros(svec_len(d), 0)));
    }
    if k > svec_len(d) {
        return bad(format!(
            "{k} rank-one matrices cannot be independent in dimension {}",
            svec_len(d)
        ));
    }
    let mut cols = Vec::with_capacity(k);
    for (j, u) in vectors.columns().enumerate() {
        let mut unit = u.to_vec();
        if !unit.iter().all(|v| v.is_finite()) || normalize(&mut unit) == 0.0 {
            return bad(format!("column {j} is zero or not finite"));
        }
        cols.push(svec_rank1(&unit));
    }
    let stacked = Mat::from_columns(svec_len(d), &cols);
    let svd = la.svd_top_k(&stacked, k)?;
    let s = &svd.singular_values;
    let tol = s[0] * f64::EPSILON * svec_len(d).max(k) as f64;
    if s[k - 1] <= tol {
        return bad(format!(
            "the {k} rank-one matrices are linearly dependent (s_K = {:.2e})",
            s[k - 1]
        ));
    }
    Ok(SymSubspace::from_orthonormal(d, svd.u))
}

/// The model's weight vectors: the columns a_i of A (d×m0) and the entangled weights
/// `v_l = A G₀ b_l / ‖A G₀ b_l‖` at x = 0 (d×m1, paper-spec §1).
pub fn model_weights(net: &Network) -> (Mat, Mat) {
    let zero = vec![0.0; net.input_dim()];
    (net.a().clone(), net.entangled_weights(&zero))
}

/// The model's W = span{a_i a_iᵀ, v_l v_lᵀ} (dimension m0 + m1 generically).
///
/// # Errors
/// As [`rank1_span`] (dependent weights, for example m0 + m1 > d(d+1)/2).
pub fn model_subspace(la: Linalg<'_>, net: &Network) -> Result<SymSubspace> {
    let (a, v) = model_weights(net);
    let cols: Vec<Vec<f64>> = a
        .columns()
        .chain(v.columns())
        .map(<[f64]>::to_vec)
        .collect();
    rank1_span(la, &Mat::from_columns(net.input_dim(), &cols))
}

/// Maps a subspace of symmetric m×m matrices, estimated in the coordinates of the
/// orthonormal columns of `basis` (d×m), to R^d: each basis element `S ↦ U S Uᵀ`.
/// Frobenius inner products are kept (UᵀU = I), so the result is orthonormal again.
///
/// # Errors
/// [`SubspaceError::SideMismatch`] when `basis` has not `w.side()` columns,
/// [`SubspaceError::BadInput`] when its columns are not orthonormal (to [`BASIS_TOL`]).
pub fn lift(la: Linalg<'_>, w: &SymSubspace, basis: &Mat) -> Result<SymSubspace> {
    check_same_side("lift (basis columns)", w.side(), basis.ncols())?;
    if let Err(e) = basis.check_finite("lift") {
        return Err(SubspaceError::BadInput {
            what: "lift",
            reason: e.to_string(),
        });
    }
    let gram = la.matmul(basis, Op::Trans, basis, Op::NoTrans);
    let dev = gram.sub(&Mat::identity(basis.ncols())).max_abs();
    if dev > BASIS_TOL {
        let reason = format!("basis columns are not orthonormal (‖UᵀU − I‖_max = {dev:.2e})");
        return Err(SubspaceError::BadInput {
            what: "lift",
            reason,
        });
    }
    let d = basis.nrows();
    let cols: Vec<Vec<f64>> = (0..w.dim())
        .map(|k| {
            let us = la.matmul(basis, Op::NoTrans, &w.basis_matrix(k), Op::NoTrans);
            svec(&la.matmul(&us, Op::NoTrans, basis, Op::Trans))
        })
        .collect();
    Ok(SymSubspace::from_orthonormal(
        d,
        Mat::from_columns(svec_len(d), &cols),
    ))
}

/// `P_Ŵ(S)` as a matrix (the projector applied to a symmetric matrix, O(d² K)).
///
/// # Errors
/// [`SubspaceError::SideMismatch`] when `s` is not `w_hat.side()` square.
pub fn project(w_hat: &SymSubspace, s: &Mat) -> Result<Mat> {
    check_same_side("project (rows)", w_hat.side(), s.nrows())?;
    check_same_side("project (columns)", w_hat.side(), s.ncols())?;
    let c = w_hat.coefficients_svec(&svec(s));
    Ok(unsvec(w_hat.side(), &w_hat.basis().matvec(&c)))
}
