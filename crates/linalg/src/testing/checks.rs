//! The backend contract as plain functions of a [`Linalg`]: each returns `Ok(())` or an
//! `Err` message naming the backend, the operation, the measured error and its bound.
//!
//! Every bound has the form `C · ε · size · scale`, where ε is the machine epsilon
//! ([`f64::EPSILON`]), `size` is max(m, n) (the dimension factor of the error bounds, about
//! linear in practice for Householder and Jacobi algorithms), and `scale` is the norm the
//! error is relative to (σ₁ = ‖A‖₂, ‖A‖_F, or |A|·|B| entrywise), times κ for forward
//! errors and divided by the spectral gap for vectors. The constants `C` are the only free
//! numbers; each is named below with its justification.

mod agreement;
mod decompositions;
mod solves;

pub use agreement::{eigh_agree, svd_agree};
pub use decompositions::{
    eigh_orthonormal, eigh_residual, eigh_spectrum, qr_reconstructs, svd_ordered, svd_orthonormal,
    svd_reconstructs, svd_spectrum, svd_top_k_consistent,
};
pub use solves::{
    cholesky_reproduces, lstsq_forward_error, lstsq_normal_equations, matmul_matches_loops,
    rejects_non_finite, solve_spd_accurate, solve_spd_rejects_indefinite,
};

use crate::{Linalg, LinalgError, Mat, dot};

/// What a check returns: `Err` carries a message for the test output.
pub type CheckResult = Result<(), String>;

const EPS: f64 = f64::EPSILON;

/// Normwise backward error of SVD, eigh, QR, least squares and Cholesky. The textbook bounds
/// are `p(m, n)·ε·‖A‖` with `p` a low-degree polynomial (Higham, *Accuracy and Stability*,
/// Thms 19.4 and 10.3; LAPACK Users' Guide §4.7), and in practice grow about linearly in the
/// dimension, which is the `max(m, n)` factor of every bound here. 32 is the headroom for
/// small sizes, where fixed rounding overheads dominate: across 20 000 random cases up to
/// 12×12 the worst ratio seen was ≈ 12 (faer's QR of a rank-deficient 12×7), and ≤ 5 at 60–150.
pub const C_BACKWARD: f64 = 32.0;

/// Loss of orthonormality ‖QᵀQ − I‖_F of computed orthogonal factors, `O(ε·n)` for products
/// of Householder reflectors and (after the polishing step of the nalgebra backend's Jacobi
/// SVD) for Jacobi rotations; the worst ratio seen was ≈ 3, so 16 is generous.
pub const C_ORTHO: f64 = 16.0;

/// Componentwise matrix-product error: any summation order gives `|Ĉ − C| ≤ γ_k·|A||B|`,
/// γ_k ≈ k·ε. The backend and the reference loop each contribute one γ_k, and the computed
/// `|A||B|` reference is itself slightly rounded: 3 covers the sum.
pub const C_MATMUL: f64 = 3.0;

/// Forward error of least squares and SPD solves, relative to the condition-number bound
/// (`ε·κ` for square systems, `ε·(κ + κ²·‖r‖/(‖A‖‖x‖))` for least squares; Golub & Van Loan
/// Thm 5.3.1): the backward error constant [`C_BACKWARD`] times a factor 2 for the
/// `2κ/cos θ` in that theorem.
pub const C_FORWARD: f64 = 2.0 * C_BACKWARD;

/// Cross-backend agreement of singular/eigen vectors: each backend is within
/// `‖E‖/gap` of the exact vector (Davis–Kahan / Wedin, `‖E‖ ≤ C_BACKWARD·ε·size·‖A‖`);
/// two backends, and Wedin's √2 for the left/right pair, give `2·√2·C_BACKWARD`, rounded up.
pub const C_AGREE: f64 = 3.0 * C_BACKWARD;

fn size(m: usize, n: usize) -> f64 {
    m.max(n).max(1) as f64
}

/// `Err` with a uniform message unless `err ≤ c·unit`.
fn within(la: Linalg<'_>, what: &str, err: f64, c: f64, unit: f64, formula: &str) -> CheckResult {
    let bound = c * unit;
    if err <= bound {
        Ok(())
    } else {
        Err(format!(
            "{}: {what} = {err:.3e} exceeds {c}·{formula} = {bound:.3e} (ratio {:.2})",
            la.name(),
            err / unit
        ))
    }
}

fn ensure(ok: bool, msg: impl FnOnce() -> String) -> CheckResult {
    if ok { Ok(()) } else { Err(msg()) }
}

fn call<T>(la: Linalg<'_>, op: &str, r: Result<T, LinalgError>) -> Result<T, String> {
    r.map_err(|e| format!("{}: {op} failed: {e}", la.name()))
}

/// ‖QᵀQ − I‖_F by plain loops.
pub fn gram_error(q: &Mat) -> f64 {
    let k = q.ncols();
    let mut sum = 0.0;
    for i in 0..k {
        for j in 0..k {
            let target = if i == j { 1.0 } else { 0.0 };
            sum += (dot(q.col(i), q.col(j)) - target).powi(2);
        }
    }
    sum.sqrt()
}

/// The first entry of largest magnitude in `v` (0 for an empty or zero vector).
fn pivot(v: &[f64]) -> f64 {
    v.iter().fold(
        0.0_f64,
        |best, &x| if x.abs() > best.abs() { x } else { best },
    )
}

/// `Err` unless every column's first largest-magnitude entry is non-negative.
fn signs_normalised(la: Linalg<'_>, what: &str, q: &Mat) -> CheckResult {
    match q.columns().position(|c| pivot(c) < 0.0) {
        None => Ok(()),
        Some(k) => Err(format!(
            "{}: {what} column {k}: largest-magnitude entry is negative",
            la.name()
        )),
    }
}

fn worst_difference(a: &[f64], b: &[f64]) -> (usize, f64) {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .enumerate()
        .fold((0, 0.0), |w, (k, d)| if d > w.1 { (k, d) } else { w })
}
