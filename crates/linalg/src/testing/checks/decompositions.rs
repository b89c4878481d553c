//! SVD, symmetric eigendecomposition and QR: defining identities, orthonormality, ordering
//! and the spectrum the generator chose.

use super::{
    C_BACKWARD, C_ORTHO, CheckResult, EPS, call, ensure, gram_error, signs_normalised, size,
    within, worst_difference,
};
use crate::testing::generators::{SpectralMatrix, SymmetricMatrix};
use crate::{Linalg, Mat, norm2};

/// `‖A − UΣVᵀ‖_F ≤ C_BACKWARD·ε·max(m, n)·σ₁`, with the thin shapes (m×p, p, n×p).
///
/// # Errors
/// A message when the bound or a shape fails.
pub fn svd_reconstructs(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let (m, n) = a.shape();
    let p = m.min(n);
    let svd = call(la, "svd", la.svd(a))?;
    ensure(
        svd.u.shape() == (m, p) && svd.s.len() == p && svd.v.shape() == (n, p),
        || {
            format!(
                "{}: svd of {m}×{n} gave u {:?}, {} values, v {:?}",
                la.name(),
                svd.u.shape(),
                svd.s.len(),
                svd.v.shape()
            )
        },
    )?;
    // σ̂₁ could itself be wrong; ‖A‖_F ≥ σ₁ keeps the bound honest if it is too large.
    let sigma1 = svd.s.first().copied().unwrap_or(0.0).min(a.norm_fro());
    let err = a.sub(&svd.recompose()).norm_fro();
    within(
        la,
        "svd ‖A − UΣVᵀ‖_F",
        err,
        C_BACKWARD,
        EPS * size(m, n) * sigma1,
        "ε·max(m,n)·σ₁",
    )
}

/// `‖UᵀU − I‖_F` and `‖VᵀV − I‖_F` are at most `C_ORTHO·ε·max(m, n)`.
///
/// # Errors
/// A message naming the factor that is not orthonormal.
pub fn svd_orthonormal(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let unit = EPS * size(a.nrows(), a.ncols());
    let svd = call(la, "svd", la.svd(a))?;
    within(
        la,
        "svd ‖UᵀU − I‖_F",
        gram_error(&svd.u),
        C_ORTHO,
        unit,
        "ε·max(m,n)",
    )?;
    within(
        la,
        "svd ‖VᵀV − I‖_F",
        gram_error(&svd.v),
        C_ORTHO,
        unit,
        "ε·max(m,n)",
    )
}

/// Singular values are non-negative and non-increasing, and each left singular vector's
/// largest-magnitude entry is positive (the facade's documented convention).
///
/// # Errors
/// A message naming the first violation.
pub fn svd_ordered(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let svd = call(la, "svd", la.svd(a))?;
    ensure(svd.s.iter().all(|&s| s >= 0.0), || {
        format!("{}: negative singular value in {:?}", la.name(), svd.s)
    })?;
    ensure(svd.s.windows(2).all(|w| w[0] >= w[1]), || {
        format!(
            "{}: singular values not non-increasing: {:?}",
            la.name(),
            svd.s
        )
    })?;
    signs_normalised(la, "svd u", &svd.u)
}

/// The computed singular values match the generator's: `|σ̂_k − σ_k| ≤ C_BACKWARD·ε·max(m, n)·σ₁`
/// (Weyl: singular values move by at most ‖E‖₂ under a perturbation E).
///
/// # Errors
/// A message naming the worst singular value.
pub fn svd_spectrum(la: Linalg<'_>, case: &SpectralMatrix) -> CheckResult {
    let (m, n) = case.a.shape();
    let svd = call(la, "svd", la.svd(&case.a))?;
    let (k, err) = worst_difference(&svd.s, &case.sigma);
    within(
        la,
        &format!("svd |σ̂_{k} − σ_{k}|"),
        err,
        C_BACKWARD,
        EPS * size(m, n) * case.norm2(),
        "ε·max(m,n)·σ₁",
    )
}

/// `svd_top_k(a, k)` for every k: the same leading vectors and all singular values as
/// `svd(a)`, and `‖Aᵀu_j‖ = σ_j` up to `C_BACKWARD·ε·max(m, n)·σ₁`.
///
/// # Errors
/// A message naming k and the inconsistency.
pub fn svd_top_k_consistent(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let (m, n) = a.shape();
    let full = call(la, "svd", la.svd(a))?;
    let sigma1 = full.s.first().copied().unwrap_or(0.0).min(a.norm_fro());
    for k in 0..=m.min(n) {
        let top = call(la, "svd_top_k", la.svd_top_k(a, k))?;
        ensure(top.u.shape() == (m, k), || {
            format!("{}: svd_top_k({k}) u is {:?}", la.name(), top.u.shape())
        })?;
        let (_, ds) = worst_difference(&top.singular_values, &full.s);
        ensure(top.singular_values.len() == full.s.len(), || {
            format!("{}: svd_top_k({k}) lost singular values", la.name())
        })?;
        within(
            la,
            &format!("svd_top_k({k}) singular values vs svd"),
            ds,
            C_BACKWARD,
            EPS * size(m, n) * sigma1,
            "ε·max(m,n)·σ₁",
        )?;
        let du = top.u.sub(&full.u.leading_columns(k)).max_abs();
        within(
            la,
            &format!("svd_top_k({k}) u vs svd u"),
            du,
            C_ORTHO,
            EPS * size(m, n),
            "ε·max(m,n)",
        )?;
        for j in 0..k {
            let err = (norm2(&a.matvec_t(top.u.col(j))) - top.singular_values[j]).abs();
            within(
                la,
                &format!("svd_top_k({k}) |‖Aᵀu_{j}‖ − σ_{j}|"),
                err,
                C_BACKWARD,
                EPS * size(m, n) * sigma1,
                "ε·max(m,n)·σ₁",
            )?;
        }
    }
    Ok(())
}

/// `‖A v_k − λ_k v_k‖₂ ≤ C_BACKWARD·ε·n·‖A‖₂` for every eigenpair of a symmetric `a`.
///
/// # Errors
/// A message naming the worst pair.
pub fn eigh_residual(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let n = a.nrows();
    let e = call(la, "eigh", la.eigh(a))?;
    ensure(e.values.len() == n && e.vectors.shape() == (n, n), || {
        format!("{}: eigh of {n}×{n} gave wrong shapes", la.name())
    })?;
    let norm = e
        .values
        .iter()
        .fold(0.0_f64, |m, v| m.max(v.abs()))
        .min(a.norm_fro());
    for (k, &lambda) in e.values.iter().enumerate() {
        let v = e.vectors.col(k);
        let mut r = a.matvec(v);
        crate::axpy(-lambda, v, &mut r);
        within(
            la,
            &format!("eigh ‖Av_{k} − λ_{k}v_{k}‖"),
            norm2(&r),
            C_BACKWARD,
            EPS * size(n, n) * norm,
            "ε·n·‖A‖₂",
        )?;
    }
    Ok(())
}

/// `‖VᵀV − I‖_F ≤ C_ORTHO·ε·n` for the eigenvectors.
///
/// # Errors
/// A message with the measured loss of orthogonality.
pub fn eigh_orthonormal(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let e = call(la, "eigh", la.eigh(a))?;
    within(
        la,
        "eigh ‖VᵀV − I‖_F",
        gram_error(&e.vectors),
        C_ORTHO,
        EPS * size(a.nrows(), a.nrows()),
        "ε·n",
    )
}

/// Eigenvalues non-decreasing, eigenvector signs normalised, and the eigenvalues match the
/// generator's: `|λ̂_k − λ_k| ≤ C_BACKWARD·ε·n·‖A‖₂` (Weyl).
///
/// # Errors
/// A message naming the first violation.
pub fn eigh_spectrum(la: Linalg<'_>, case: &SymmetricMatrix) -> CheckResult {
    let e = call(la, "eigh", la.eigh(&case.a))?;
    ensure(e.values.windows(2).all(|w| w[0] <= w[1]), || {
        format!(
            "{}: eigenvalues not non-decreasing: {:?}",
            la.name(),
            e.values
        )
    })?;
    signs_normalised(la, "eigh vectors", &e.vectors)?;
    let (k, err) = worst_difference(&e.values, &case.values);
    within(
        la,
        &format!("eigh |λ̂_{k} − λ_{k}|"),
        err,
        C_BACKWARD,
        EPS * size(case.a.nrows(), 1) * case.norm2(),
        "ε·n·‖A‖₂",
    )
}

/// Thin QR of a tall `a`: `‖A − QR‖_F ≤ C_BACKWARD·ε·m·‖A‖_F`, `‖QᵀQ − I‖_F ≤ C_ORTHO·ε·m`,
/// `r` upper triangular (exact zeros below the diagonal) with a non-negative diagonal.
///
/// # Errors
/// A message naming the first violation.
pub fn qr_reconstructs(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let (m, n) = a.shape();
    let qr = call(la, "qr", la.qr(a))?;
    ensure(qr.q.shape() == (m, n) && qr.r.shape() == (n, n), || {
        format!(
            "{}: qr of {m}×{n} gave q {:?}, r {:?}",
            la.name(),
            qr.q.shape(),
            qr.r.shape()
        )
    })?;
    let recomposed = Mat::from_fn(m, n, |i, j| {
        (0..=j).map(|k| qr.q[(i, k)] * qr.r[(k, j)]).sum()
    });
    within(
        la,
        "qr ‖A − QR‖_F",
        a.sub(&recomposed).norm_fro(),
        C_BACKWARD,
        EPS * size(m, n) * a.norm_fro(),
        "ε·m·‖A‖_F",
    )?;
    within(
        la,
        "qr ‖QᵀQ − I‖_F",
        gram_error(&qr.q),
        C_ORTHO,
        EPS * size(m, n),
        "ε·m",
    )?;
    for j in 0..n {
        ensure(qr.r[(j, j)] >= 0.0, || {
            format!("{}: qr r[{j},{j}] = {} < 0", la.name(), qr.r[(j, j)])
        })?;
        for i in j + 1..n {
            ensure(qr.r[(i, j)].abs() <= 0.0, || {
                format!(
                    "{}: qr r[{i},{j}] = {} below the diagonal",
                    la.name(),
                    qr.r[(i, j)]
                )
            })?;
        }
    }
    Ok(())
}
