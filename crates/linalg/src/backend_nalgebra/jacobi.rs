//! One-sided (Hestenes) Jacobi SVD on nalgebra matrices.
//!
//! nalgebra 0.35's own `SVD` (implicit-shift QR on the bidiagonal) returns singular values
//! that are wrong in the third digit for a few per cent of matrices with repeated, graded or
//! zero singular values (upstream issue dimforge/nalgebra#1172; the fix, PR #1590, is not
//! released). The pipeline's stacked Hessians are rank deficient by construction, so the
//! nalgebra backend computes its SVD here instead, from nalgebra's Householder QR (which is
//! reliable) and Jacobi rotations of the triangular factor:
//!
//! `A = Q R`, then rotate pairs of columns of `W = R` (accumulating `V`) until every pair is
//! orthogonal to `tol = ε·√n` relative to the columns' norms; then σ_k = ‖w_k‖,
//! `u_k = Q w_k / σ_k`. Columns below `ε·‖A‖_F` are noise: they are left out of the
//! rotations and their `u_k` completed to an orthonormal set. One-sided Jacobi is backward stable and converges quadratically; the
//! QR preconditioning makes the sweeps O(n³) instead of O(m n²).

use nalgebra::DMatrix;

/// Sweeps allowed before giving up; quadratic convergence needs 5–10 in practice
/// (LAPACK's `dgesvj` allows 30).
const MAX_SWEEPS: usize = 60;

/// The thin SVD `(u, s, v)` of an `m × n` matrix with `m ≥ n`: `u` m×n, `s` unordered,
/// `v` n×n. `None` if the sweeps did not converge.
pub(super) fn thin_svd_tall(a: DMatrix<f64>) -> Option<(DMatrix<f64>, Vec<f64>, DMatrix<f64>)> {
    let (m, n) = a.shape();
    debug_assert!(m >= n);
    let qr = nalgebra::linalg::QR::new(a);
    let (q, r) = qr.unpack();
    let (ur, s, v) = jacobi(r)?;
    Some((q * ur, s, v))
}

/// One-sided Jacobi on a square `w`: returns `(u, σ, v)` with `w = u diag(σ) vᵀ`.
fn jacobi(mut w: DMatrix<f64>) -> Option<(DMatrix<f64>, Vec<f64>, DMatrix<f64>)> {
    let n = w.ncols();
    let mut v = DMatrix::<f64>::identity(n, n);
    let tol = f64::EPSILON * (n.max(1) as f64).sqrt();
    // Columns this small are rounding noise (rotations keep ‖W‖_F = ‖A‖_F): rotating them
    // would never converge to relative orthogonality, and dropping them perturbs A by less
    // than its backward error. Their singular vectors are completed orthonormally instead.
    let negligible = f64::EPSILON * w.norm();
    let mut converged = false;
    for _sweep in 0..MAX_SWEEPS {
        let mut rotated = false;
        for i in 0..n {
            for j in i + 1..n {
                let (alpha, beta) = (w.column(i).norm(), w.column(j).norm());
                if alpha <= negligible || beta <= negligible {
                    continue;
                }
                let gamma = w.column(i).dot(&w.column(j));
                if gamma.abs() <= tol * alpha * beta {
                    continue;
                }
                rotated = true;
                // The rotation that diagonalises [[α², γ], [γ, β²]]; t = tan θ, |θ| ≤ π/4.
                let zeta = (beta - alpha) * (beta + alpha) / (2.0 * gamma);
                let t = if zeta.abs() > 1e150 {
                    0.5 / zeta
                } else {
                    zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt())
                };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                rotate(&mut w, i, j, c, s);
                rotate(&mut v, i, j, c, s);
            }
        }
        if !rotated {
            converged = true;
            break;
        }
    }
    if !converged {
        return None;
    }
    let sigma: Vec<f64> = (0..n).map(|k| w.column(k).norm()).collect();
    let mut u = w;
    let mut zero = Vec::new();
    for (k, &s) in sigma.iter().enumerate() {
        if s > negligible {
            u.column_mut(k).unscale_mut(s);
        } else {
            zero.push(k);
        }
    }
    complete_orthonormal(&mut u, &zero);
    Some((polish(u), sigma, polish(v)))
}

/// One Newton–Schulz step towards the nearest orthogonal matrix, `X (3I − XᵀX) / 2`: it
/// squares the loss of orthogonality that the O(n) rotations per column accumulate
/// (≈ ε·n^{3/2} in ‖XᵀX − I‖_F) and moves `X` by half of it.
fn polish(x: DMatrix<f64>) -> DMatrix<f64> {
    let n = x.ncols();
    let mut m = x.transpose() * &x;
    m.scale_mut(-0.5);
    for k in 0..n {
        m[(k, k)] += 1.5;
    }
    x * m
}

/// `[w_i, w_j] ← [c·w_i − s·w_j, s·w_i + c·w_j]`.
fn rotate(w: &mut DMatrix<f64>, i: usize, j: usize, c: f64, s: f64) {
    let m = w.nrows();
    let (left, right) = w.as_mut_slice().split_at_mut(j * m);
    let (wi, wj) = (&mut left[i * m..(i + 1) * m], &mut right[..m]);
    for (x, y) in wi.iter_mut().zip(wj.iter_mut()) {
        let (a, b) = (*x, *y);
        *x = c * a - s * b;
        *y = s * a + c * b;
    }
}

/// Replaces the columns listed in `zero` (negligible singular values, so any unit vector
/// orthogonal to the others will do) by an orthonormal completion: for each, the coordinate
/// vector with the largest component outside the current span, orthogonalised twice.
fn complete_orthonormal(u: &mut DMatrix<f64>, zero: &[usize]) {
    let m = u.nrows();
    let mut basis: Vec<usize> = (0..u.ncols()).filter(|k| !zero.contains(k)).collect();
    for &k in zero {
        let mut best = (0.0, DMatrix::<f64>::zeros(m, 1));
        for e in 0..m {
            let mut x = DMatrix::<f64>::zeros(m, 1);
            x[e] = 1.0;
            for _pass in 0..2 {
                for &b in &basis {
                    let proj = u.column(b).dot(&x.column(0));
                    x.column_mut(0).axpy(-proj, &u.column(b), 1.0);
                }
            }
            let norm = x.norm();
            if norm > best.0 {
                best = (norm, x);
            }
        }
        let (norm, x) = best;
        u.column_mut(k).copy_from(&(x / norm));
        basis.push(k);
    }
}
