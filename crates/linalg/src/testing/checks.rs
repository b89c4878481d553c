//! The backend contract as plain functions of a [`Linalg`]: each returns `Ok(())` or an
//! `Err` message naming the backend, the operation, the measured error and its bound.
//!
//! Every bound has the form `C · ε · size · scale`, where ε is the machine epsilon
//! ([`f64::EPSILON`]), `size` is max(m, n) (the dimension factor of the error bounds, about
//! linear in practice for Householder and Jacobi algorithms), and `scale` is the norm the
//! error is relative to (σ₁ = ‖A‖₂, ‖A‖_F, or |A|·|B| entrywise), times κ for forward
//! errors and divided by the spectral gap for vectors. The constants `C` are the only free
//! numbers; each is named below with its justification.

use super::generators::{LstsqProblem, SpectralMatrix, SymmetricMatrix};
use crate::{Linalg, LinalgError, Mat, Op, dot, norm2};

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
        Err(format!("{}: {what} = {err:.3e} exceeds {c}·{formula} = {bound:.3e} (ratio {:.2})", la.name(), err / unit))
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
    v.iter().fold(0.0_f64, |best, &x| if x.abs() > best.abs() { x } else { best })
}

/// `Err` unless every column's first largest-magnitude entry is non-negative.
fn signs_normalised(la: Linalg<'_>, what: &str, q: &Mat) -> CheckResult {
    match q.columns().position(|c| pivot(c) < 0.0) {
        None => Ok(()),
        Some(k) => Err(format!("{}: {what} column {k}: largest-magnitude entry is negative", la.name())),
    }
}

/// `min(‖x − y‖, ‖x + y‖)` and whether the minimum needed the flip.
fn distance_up_to_sign(x: &[f64], y: &[f64]) -> (f64, bool) {
    let same = x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    let flip = x.iter().zip(y).map(|(a, b)| (a + b).powi(2)).sum::<f64>().sqrt();
    if same <= flip { (same, false) } else { (flip, true) }
}

/// The gap between the largest and second-largest magnitudes in `v`.
fn pivot_margin(v: &[f64]) -> f64 {
    let (mut first, mut second) = (0.0_f64, 0.0_f64);
    for x in v.iter().map(|x| x.abs()) {
        if x > first {
            second = first;
            first = x;
        } else if x > second {
            second = x;
        }
    }
    first - second
}

/// `‖A − UΣVᵀ‖_F ≤ C_BACKWARD·ε·max(m, n)·σ₁`, with the thin shapes (m×p, p, n×p).
///
/// # Errors
/// A message when the bound or a shape fails.
pub fn svd_reconstructs(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let (m, n) = a.shape();
    let p = m.min(n);
    let svd = call(la, "svd", la.svd(a))?;
    ensure(svd.u.shape() == (m, p) && svd.s.len() == p && svd.v.shape() == (n, p), || {
        format!("{}: svd of {m}×{n} gave u {:?}, {} values, v {:?}", la.name(), svd.u.shape(), svd.s.len(), svd.v.shape())
    })?;
    // σ̂₁ could itself be wrong; ‖A‖_F ≥ σ₁ keeps the bound honest if it is too large.
    let sigma1 = svd.s.first().copied().unwrap_or(0.0).min(a.norm_fro());
    let err = a.sub(&svd.recompose()).norm_fro();
    within(la, "svd ‖A − UΣVᵀ‖_F", err, C_BACKWARD, EPS * size(m, n) * sigma1, "ε·max(m,n)·σ₁")
}

/// `‖UᵀU − I‖_F` and `‖VᵀV − I‖_F` are at most `C_ORTHO·ε·max(m, n)`.
///
/// # Errors
/// A message naming the factor that is not orthonormal.
pub fn svd_orthonormal(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let unit = EPS * size(a.nrows(), a.ncols());
    let svd = call(la, "svd", la.svd(a))?;
    within(la, "svd ‖UᵀU − I‖_F", gram_error(&svd.u), C_ORTHO, unit, "ε·max(m,n)")?;
    within(la, "svd ‖VᵀV − I‖_F", gram_error(&svd.v), C_ORTHO, unit, "ε·max(m,n)")
}

/// Singular values are non-negative and non-increasing, and each left singular vector's
/// largest-magnitude entry is positive (the facade's documented convention).
///
/// # Errors
/// A message naming the first violation.
pub fn svd_ordered(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let svd = call(la, "svd", la.svd(a))?;
    ensure(svd.s.iter().all(|&s| s >= 0.0), || format!("{}: negative singular value in {:?}", la.name(), svd.s))?;
    ensure(svd.s.windows(2).all(|w| w[0] >= w[1]), || format!("{}: singular values not non-increasing: {:?}", la.name(), svd.s))?;
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
    within(la, &format!("svd |σ̂_{k} − σ_{k}|"), err, C_BACKWARD, EPS * size(m, n) * case.norm2(), "ε·max(m,n)·σ₁")
}

fn worst_difference(a: &[f64], b: &[f64]) -> (usize, f64) {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).enumerate().fold((0, 0.0), |w, (k, d)| if d > w.1 { (k, d) } else { w })
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
        ensure(top.u.shape() == (m, k), || format!("{}: svd_top_k({k}) u is {:?}", la.name(), top.u.shape()))?;
        let (_, ds) = worst_difference(&top.singular_values, &full.s);
        ensure(top.singular_values.len() == full.s.len(), || format!("{}: svd_top_k({k}) lost singular values", la.name()))?;
        within(la, &format!("svd_top_k({k}) singular values vs svd"), ds, C_BACKWARD, EPS * size(m, n) * sigma1, "ε·max(m,n)·σ₁")?;
        let du = top.u.sub(&full.u.leading_columns(k)).max_abs();
        within(la, &format!("svd_top_k({k}) u vs svd u"), du, C_ORTHO, EPS * size(m, n), "ε·max(m,n)")?;
        for j in 0..k {
            let err = (norm2(&a.matvec_t(top.u.col(j))) - top.singular_values[j]).abs();
            within(la, &format!("svd_top_k({k}) |‖Aᵀu_{j}‖ − σ_{j}|"), err, C_BACKWARD, EPS * size(m, n) * sigma1, "ε·max(m,n)·σ₁")?;
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
    ensure(e.values.len() == n && e.vectors.shape() == (n, n), || format!("{}: eigh of {n}×{n} gave wrong shapes", la.name()))?;
    let norm = e.values.iter().fold(0.0_f64, |m, v| m.max(v.abs())).min(a.norm_fro());
    for (k, &lambda) in e.values.iter().enumerate() {
        let v = e.vectors.col(k);
        let mut r = a.matvec(v);
        crate::axpy(-lambda, v, &mut r);
        within(la, &format!("eigh ‖Av_{k} − λ_{k}v_{k}‖"), norm2(&r), C_BACKWARD, EPS * size(n, n) * norm, "ε·n·‖A‖₂")?;
    }
    Ok(())
}

/// `‖VᵀV − I‖_F ≤ C_ORTHO·ε·n` for the eigenvectors.
///
/// # Errors
/// A message with the measured loss of orthogonality.
pub fn eigh_orthonormal(la: Linalg<'_>, a: &Mat) -> CheckResult {
    let e = call(la, "eigh", la.eigh(a))?;
    within(la, "eigh ‖VᵀV − I‖_F", gram_error(&e.vectors), C_ORTHO, EPS * size(a.nrows(), a.nrows()), "ε·n")
}

/// Eigenvalues non-decreasing, eigenvector signs normalised, and the eigenvalues match the
/// generator's: `|λ̂_k − λ_k| ≤ C_BACKWARD·ε·n·‖A‖₂` (Weyl).
///
/// # Errors
/// A message naming the first violation.
pub fn eigh_spectrum(la: Linalg<'_>, case: &SymmetricMatrix) -> CheckResult {
    let e = call(la, "eigh", la.eigh(&case.a))?;
    ensure(e.values.windows(2).all(|w| w[0] <= w[1]), || format!("{}: eigenvalues not non-decreasing: {:?}", la.name(), e.values))?;
    signs_normalised(la, "eigh vectors", &e.vectors)?;
    let (k, err) = worst_difference(&e.values, &case.values);
    within(la, &format!("eigh |λ̂_{k} − λ_{k}|"), err, C_BACKWARD, EPS * size(case.a.nrows(), 1) * case.norm2(), "ε·n·‖A‖₂")
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
        format!("{}: qr of {m}×{n} gave q {:?}, r {:?}", la.name(), qr.q.shape(), qr.r.shape())
    })?;
    let recomposed = Mat::from_fn(m, n, |i, j| (0..=j).map(|k| qr.q[(i, k)] * qr.r[(k, j)]).sum());
    within(la, "qr ‖A − QR‖_F", a.sub(&recomposed).norm_fro(), C_BACKWARD, EPS * size(m, n) * a.norm_fro(), "ε·m·‖A‖_F")?;
    within(la, "qr ‖QᵀQ − I‖_F", gram_error(&qr.q), C_ORTHO, EPS * size(m, n), "ε·m")?;
    for j in 0..n {
        ensure(qr.r[(j, j)] >= 0.0, || format!("{}: qr r[{j},{j}] = {} < 0", la.name(), qr.r[(j, j)]))?;
        for i in j + 1..n {
            ensure(qr.r[(i, j)].abs() <= 0.0, || format!("{}: qr r[{i},{j}] = {} below the diagonal", la.name(), qr.r[(i, j)]))?;
        }
    }
    Ok(())
}

/// Least squares satisfies the normal equations to backward-error accuracy:
/// `‖Aᵀ(A x̂ − b)‖ ≤ C_BACKWARD·ε·m·‖A‖₂·(‖A‖₂‖x̂‖ + ‖b‖)` per column. (If x̂ solves the
/// problem for `A + δA`, `b + δb` with ‖δA‖ ≤ cε‖A‖, ‖δb‖ ≤ cε‖b‖, expanding the perturbed
/// normal equations gives this bound; no κ appears.)
///
/// # Errors
/// A message naming the worst column.
pub fn lstsq_normal_equations(la: Linalg<'_>, problem: &LstsqProblem) -> CheckResult {
    let a = &problem.a.a;
    let (m, n) = a.shape();
    let x = call(la, "lstsq", la.lstsq(a, &problem.b))?;
    ensure(x.shape() == (n, problem.b.ncols()), || format!("{}: lstsq gave x {:?}", la.name(), x.shape()))?;
    let norm = problem.a.norm2();
    for j in 0..x.ncols() {
        let mut r = a.matvec(x.col(j));
        crate::axpy(-1.0, problem.b.col(j), &mut r);
        let err = norm2(&a.matvec_t(&r));
        let unit = EPS * size(m, n) * norm * (norm * norm2(x.col(j)) + norm2(problem.b.col(j)));
        within(la, &format!("lstsq ‖Aᵀ(Ax̂ − b)‖ column {j}"), err, C_BACKWARD, unit, "ε·m·‖A‖(‖A‖‖x̂‖ + ‖b‖)")?;
    }
    Ok(())
}

/// Least-squares forward error against the known solution:
/// `‖x̂ − x‖/‖x‖ ≤ C_FORWARD·ε·m·(κ + κ²·‖r‖/(‖A‖₂‖x‖))` per column.
///
/// # Errors
/// A message naming the worst column.
pub fn lstsq_forward_error(la: Linalg<'_>, problem: &LstsqProblem) -> CheckResult {
    let (m, n) = problem.a.a.shape();
    let (norm, kappa) = (problem.a.norm2(), problem.a.cond());
    let x = call(la, "lstsq", la.lstsq(&problem.a.a, &problem.b))?;
    for j in 0..x.ncols() {
        let xj = problem.x.col(j);
        let err = norm2(&x.col(j).iter().zip(xj).map(|(a, b)| a - b).collect::<Vec<_>>()) / norm2(xj);
        let unit = EPS * size(m, n) * (kappa + kappa * kappa * norm2(problem.residual.col(j)) / (norm * norm2(xj)));
        within(la, &format!("lstsq relative error column {j}"), err, C_FORWARD, unit, "ε·m·(κ + κ²‖r‖/(‖A‖‖x‖))")?;
    }
    Ok(())
}

/// SPD solve of `A x = b` with `b = A·x_true`: residual `‖A x̂ − b‖ ≤ C_BACKWARD·ε·n·‖A‖₂·‖x̂‖`
/// (+‖b‖ for the rounding of b itself) and forward error `‖x̂ − x‖/‖x‖ ≤ C_FORWARD·ε·n·κ`.
///
/// # Errors
/// A message naming the failing column.
pub fn solve_spd_accurate(la: Linalg<'_>, case: &SymmetricMatrix, x_true: &Mat) -> CheckResult {
    let n = case.a.nrows();
    let b = Mat::from_fn(n, x_true.ncols(), |i, j| (0..n).map(|l| case.a[(i, l)] * x_true[(l, j)]).sum());
    let x = call(la, "solve_spd", la.solve_spd(&case.a, &b))?;
    let (norm, kappa) = (case.norm2(), case.cond());
    for j in 0..x.ncols() {
        let mut r = case.a.matvec(x.col(j));
        crate::axpy(-1.0, b.col(j), &mut r);
        let unit = EPS * size(n, n) * (norm * norm2(x.col(j)) + norm2(b.col(j)));
        within(la, &format!("solve_spd ‖Ax̂ − b‖ column {j}"), norm2(&r), C_BACKWARD, unit, "ε·n·(‖A‖‖x̂‖ + ‖b‖)")?;
        let xj = x_true.col(j);
        let err = norm2(&x.col(j).iter().zip(xj).map(|(a, b)| a - b).collect::<Vec<_>>()) / norm2(xj);
        within(la, &format!("solve_spd relative error column {j}"), err, C_FORWARD, EPS * size(n, n) * kappa, "ε·n·κ")?;
    }
    Ok(())
}

/// A symmetric matrix with an eigenvalue below `−C_BACKWARD·ε·n·‖A‖₂` is rejected by
/// `solve_spd` with [`LinalgError::NotPositiveDefinite`] (a backward-stable Cholesky cannot
/// succeed on it). Cases whose smallest eigenvalue is above that threshold are not judged.
///
/// # Errors
/// A message when the solve succeeds or fails differently.
pub fn solve_spd_rejects_indefinite(la: Linalg<'_>, case: &SymmetricMatrix) -> CheckResult {
    let n = case.a.nrows();
    let threshold = C_BACKWARD * EPS * size(n, n) * case.norm2();
    if case.values.first().is_none_or(|&l| l >= -threshold) {
        return Ok(());
    }
    match la.solve_spd(&case.a, &Mat::identity(n)) {
        Err(LinalgError::NotPositiveDefinite { n: got, .. }) if got == n => Ok(()),
        Err(e) => Err(format!("{}: solve_spd of an indefinite matrix: wrong error {e}", la.name())),
        Ok(_) => Err(format!("{}: solve_spd accepted a matrix with eigenvalue {:.3e}", la.name(), case.values[0])),
    }
}

/// `matmul(a, op_a, b, op_b)` for all four `Op` combinations (the operands stored transposed
/// where needed, so every call computes `a·b`) against a plain triple loop, entrywise:
/// `|Ĉ − C|_ij ≤ C_MATMUL·k·ε·(|A||B|)_ij`.
///
/// # Errors
/// A message naming the combination and the worst entry.
pub fn matmul_matches_loops(la: Linalg<'_>, a: &Mat, b: &Mat) -> CheckResult {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    assert_eq!(k, b.nrows(), "matmul_matches_loops: a is {m}×{k}, b is {}×{n}", b.nrows());
    let reference = Mat::from_fn(m, n, |i, j| (0..k).map(|l| a[(i, l)] * b[(l, j)]).sum());
    let magnitude = Mat::from_fn(m, n, |i, j| (0..k).map(|l| (a[(i, l)] * b[(l, j)]).abs()).sum());
    let (at, bt) = (a.transpose(), b.transpose());
    for (op_a, op_b) in [(Op::NoTrans, Op::NoTrans), (Op::Trans, Op::NoTrans), (Op::NoTrans, Op::Trans), (Op::Trans, Op::Trans)] {
        let lhs = if op_a == Op::NoTrans { a } else { &at };
        let rhs = if op_b == Op::NoTrans { b } else { &bt };
        let c = la.matmul(lhs, op_a, rhs, op_b);
        ensure(c.shape() == (m, n), || format!("{}: matmul {op_a:?}/{op_b:?} gave {:?}, want {:?}", la.name(), c.shape(), (m, n)))?;
        for j in 0..n {
            for i in 0..m {
                let (err, unit) = ((c[(i, j)] - reference[(i, j)]).abs(), EPS * k as f64 * magnitude[(i, j)]);
                within(la, &format!("matmul {op_a:?}/{op_b:?} |error| at ({i}, {j})"), err, C_MATMUL, unit, "k·ε·(|A||B|)_ij")?;
            }
        }
    }
    Ok(())
}

/// Writing `value` (NaN or ±∞) at `(row, col)` of the square `a` makes every checked
/// operation return [`LinalgError::NonFinite`] naming that entry: `svd`, `svd_top_k`,
/// `eigh`, `qr`, `lstsq` (bad `a`, then bad `b`) and `solve_spd` (bad `a`, then bad `b`).
///
/// # Errors
/// A message naming the operation that accepted the input or reported it wrongly.
///
/// # Panics
/// If `a` is not square or `(row, col)` is outside it.
#[track_caller]
pub fn rejects_non_finite(la: Linalg<'_>, a: &Mat, row: usize, col: usize, value: f64) -> CheckResult {
    let n = a.nrows();
    assert!(a.ncols() == n && row < n && col < n, "rejects_non_finite: ({row}, {col}) in a {:?} matrix", a.shape());
    let mut bad = a.clone();
    bad[(row, col)] = value;
    let good_rhs = Mat::identity(n);
    let mut bad_rhs = good_rhs.clone();
    bad_rhs[(row, col)] = value;
    let results: [(&str, Option<LinalgError>); 8] = [
        ("svd", la.svd(&bad).err()),
        ("svd_top_k", la.svd_top_k(&bad, 1).err()),
        ("eigh", la.eigh(&bad).err()),
        ("qr", la.qr(&bad).err()),
        ("lstsq (a)", la.lstsq(&bad, &good_rhs).err()),
        ("lstsq (b)", la.lstsq(a, &bad_rhs).err()),
        ("solve_spd (a)", la.solve_spd(&bad, &good_rhs).err()),
        ("solve_spd (b)", la.solve_spd(&Mat::identity(n), &bad_rhs).err()),
    ];
    for (op, err) in results {
        match err {
            Some(LinalgError::NonFinite { row: r, col: c, .. }) if (r, c) == (row, col) => {}
            other => return Err(format!("{}: {op} with {value} at ({row}, {col}) gave {other:?}", la.name())),
        }
    }
    Ok(())
}

/// Two backends agree on the SVD of a matrix whose singular values are separated
/// (`case.gap(k) > 0`): singular values within `2·C_BACKWARD·ε·max(m, n)·σ₁` and each
/// singular pair, up to one common sign, within `C_AGREE·ε·max(m, n)·σ₁ / gap_k` (Wedin).
/// Where a left vector's largest-magnitude entry is unambiguous (its lead over the
/// runner-up exceeds twice that bound), the facade's sign convention must make the flip
/// unnecessary.
///
/// # Errors
/// A message naming both backends and the pair that disagrees.
pub fn svd_agree(first: Linalg<'_>, second: Linalg<'_>, case: &SpectralMatrix) -> CheckResult {
    let (m, n) = case.a.shape();
    let (x, y) = (call(first, "svd", first.svd(&case.a))?, call(second, "svd", second.svd(&case.a))?);
    let pair = format!("{} vs {}", first.name(), second.name());
    let unit = EPS * size(m, n) * case.norm2();
    let (k, ds) = worst_difference(&x.s, &y.s);
    ensure(ds <= 2.0 * C_BACKWARD * unit, || format!("{pair}: σ_{k} differs by {ds:.3e} > {:.3e}", 2.0 * C_BACKWARD * unit))?;
    for k in 0..m.min(n) {
        let bound = C_AGREE * unit / case.gap(k);
        let (du, flip) = distance_up_to_sign(x.u.col(k), y.u.col(k));
        // The right vector must follow the left one's sign.
        let sign = if flip { -1.0 } else { 1.0 };
        let dv = x.v.col(k).iter().zip(y.v.col(k)).map(|(a, b)| (a - sign * b).powi(2)).sum::<f64>().sqrt();
        ensure(du <= bound && dv <= bound, || {
            format!("{pair}: singular pair {k} differs by (u {du:.3e}, v {dv:.3e}) > C·ε·max(m,n)·σ₁/gap = {bound:.3e} ({m}×{n}, gap {:.3e})", case.gap(k))
        })?;
        ensure(!flip || pivot_margin(x.u.col(k)) <= 2.0 * bound, || format!("{pair}: u_{k} signs differ although its largest entry is unambiguous"))?;
    }
    Ok(())
}

/// Two backends agree on the eigendecomposition of a symmetric matrix with separated
/// eigenvalues: values within `2·C_BACKWARD·ε·n·‖A‖₂`, vectors up to sign within
/// `C_AGREE·ε·n·‖A‖₂ / gap_k` (Davis–Kahan), and without the sign flip where the largest
/// entry is unambiguous.
///
/// # Errors
/// A message naming both backends and the pair that disagrees.
pub fn eigh_agree(first: Linalg<'_>, second: Linalg<'_>, case: &SymmetricMatrix) -> CheckResult {
    let n = case.a.nrows();
    let (x, y) = (call(first, "eigh", first.eigh(&case.a))?, call(second, "eigh", second.eigh(&case.a))?);
    let pair = format!("{} vs {}", first.name(), second.name());
    let unit = EPS * size(n, n) * case.norm2();
    let (k, dl) = worst_difference(&x.values, &y.values);
    ensure(dl <= 2.0 * C_BACKWARD * unit, || format!("{pair}: λ_{k} differs by {dl:.3e} > {:.3e}", 2.0 * C_BACKWARD * unit))?;
    for k in 0..n {
        let bound = C_AGREE * unit / case.gap(k);
        let (d, flip) = distance_up_to_sign(x.vectors.col(k), y.vectors.col(k));
        ensure(d <= bound, || format!("{pair}: eigenvector {k} differs by {d:.3e} > C·ε·n·‖A‖/gap = {bound:.3e} (n = {n}, gap {:.3e})", case.gap(k)))?;
        ensure(!flip || pivot_margin(x.vectors.col(k)) <= 2.0 * bound, || format!("{pair}: eigenvector {k} signs differ although its largest entry is unambiguous"))?;
    }
    Ok(())
}
