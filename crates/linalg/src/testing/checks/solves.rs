//! Least squares, SPD solves, matrix products and the rejection of non-finite input.

use super::{C_BACKWARD, C_FORWARD, C_MATMUL, CheckResult, EPS, call, ensure, size, within};
use crate::testing::generators::{LstsqProblem, SymmetricMatrix};
use crate::{Linalg, LinalgError, Mat, Op, norm2};

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
    ensure(x.shape() == (n, problem.b.ncols()), || {
        format!("{}: lstsq gave x {:?}", la.name(), x.shape())
    })?;
    let norm = problem.a.norm2();
    for j in 0..x.ncols() {
        let mut r = a.matvec(x.col(j));
        crate::axpy(-1.0, problem.b.col(j), &mut r);
        let err = norm2(&a.matvec_t(&r));
        let unit = EPS * size(m, n) * norm * (norm * norm2(x.col(j)) + norm2(problem.b.col(j)));
        within(
            la,
            &format!("lstsq ‖Aᵀ(Ax̂ − b)‖ column {j}"),
            err,
            C_BACKWARD,
            unit,
            "ε·m·‖A‖(‖A‖‖x̂‖ + ‖b‖)",
        )?;
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
        let err = norm2(
            &x.col(j)
                .iter()
                .zip(xj)
                .map(|(a, b)| a - b)
                .collect::<Vec<_>>(),
        ) / norm2(xj);
        let unit = EPS
            * size(m, n)
            * (kappa + kappa * kappa * norm2(problem.residual.col(j)) / (norm * norm2(xj)));
        within(
            la,
            &format!("lstsq relative error column {j}"),
            err,
            C_FORWARD,
            unit,
            "ε·m·(κ + κ²‖r‖/(‖A‖‖x‖))",
        )?;
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
    let b = Mat::from_fn(n, x_true.ncols(), |i, j| {
        (0..n).map(|l| case.a[(i, l)] * x_true[(l, j)]).sum()
    });
    let x = call(la, "solve_spd", la.solve_spd(&case.a, &b))?;
    let (norm, kappa) = (case.norm2(), case.cond());
    for j in 0..x.ncols() {
        let mut r = case.a.matvec(x.col(j));
        crate::axpy(-1.0, b.col(j), &mut r);
        let unit = EPS * size(n, n) * (norm * norm2(x.col(j)) + norm2(b.col(j)));
        within(
            la,
            &format!("solve_spd ‖Ax̂ − b‖ column {j}"),
            norm2(&r),
            C_BACKWARD,
            unit,
            "ε·n·(‖A‖‖x̂‖ + ‖b‖)",
        )?;
        let xj = x_true.col(j);
        let err = norm2(
            &x.col(j)
                .iter()
                .zip(xj)
                .map(|(a, b)| a - b)
                .collect::<Vec<_>>(),
        ) / norm2(xj);
        within(
            la,
            &format!("solve_spd relative error column {j}"),
            err,
            C_FORWARD,
            EPS * size(n, n) * kappa,
            "ε·n·κ",
        )?;
    }
    Ok(())
}

/// The Cholesky factor of an SPD matrix is lower triangular with a positive diagonal, and
/// reproduces it to backward-error accuracy: `‖L Lᵀ − A‖_F ≤ C_BACKWARD·ε·n·‖A‖₂`
/// (Higham Thm 10.3: `|ΔA| ≤ γ_{n+1}|L||Lᵀ|`, and `‖|L||Lᵀ|‖` is of the order of `‖A‖`).
///
/// # Errors
/// A message naming the violated property.
pub fn cholesky_reproduces(la: Linalg<'_>, case: &SymmetricMatrix) -> CheckResult {
    let n = case.a.nrows();
    let l = call(la, "cholesky", la.cholesky(&case.a))?;
    ensure(l.shape() == (n, n), || {
        format!("{}: cholesky gave {:?}", la.name(), l.shape())
    })?;
    for j in 0..n {
        ensure(
            l[(j, j)] > 0.0 && l.col(j)[..j].iter().all(|&v| v == 0.0),
            || {
                format!(
                    "{}: cholesky column {j} is not lower triangular with a positive diagonal",
                    la.name()
                )
            },
        )?;
    }
    let llt = la.matmul(&l, Op::NoTrans, &l, Op::Trans);
    let diff: Vec<f64> = llt
        .as_slice()
        .iter()
        .zip(case.a.as_slice())
        .map(|(x, a)| x - a)
        .collect();
    within(
        la,
        "cholesky ‖L Lᵀ − A‖_F",
        norm2(&diff),
        C_BACKWARD,
        EPS * size(n, n) * case.norm2(),
        "ε·n·‖A‖₂",
    )
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
        Err(e) => Err(format!(
            "{}: solve_spd of an indefinite matrix: wrong error {e}",
            la.name()
        )),
        Ok(_) => Err(format!(
            "{}: solve_spd accepted a matrix with eigenvalue {:.3e}",
            la.name(),
            case.values[0]
        )),
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
    assert_eq!(
        k,
        b.nrows(),
        "matmul_matches_loops: a is {m}×{k}, b is {}×{n}",
        b.nrows()
    );
    let reference = Mat::from_fn(m, n, |i, j| (0..k).map(|l| a[(i, l)] * b[(l, j)]).sum());
    let magnitude = Mat::from_fn(m, n, |i, j| {
        (0..k).map(|l| (a[(i, l)] * b[(l, j)]).abs()).sum()
    });
    let (at, bt) = (a.transpose(), b.transpose());
    for (op_a, op_b) in [
        (Op::NoTrans, Op::NoTrans),
        (Op::Trans, Op::NoTrans),
        (Op::NoTrans, Op::Trans),
        (Op::Trans, Op::Trans),
    ] {
        let lhs = if op_a == Op::NoTrans { a } else { &at };
        let rhs = if op_b == Op::NoTrans { b } else { &bt };
        let c = la.matmul(lhs, op_a, rhs, op_b);
        ensure(c.shape() == (m, n), || {
            format!(
                "{}: matmul {op_a:?}/{op_b:?} gave {:?}, want {:?}",
                la.name(),
                c.shape(),
                (m, n)
            )
        })?;
        for j in 0..n {
            for i in 0..m {
                let (err, unit) = (
                    (c[(i, j)] - reference[(i, j)]).abs(),
                    EPS * k as f64 * magnitude[(i, j)],
                );
                within(
                    la,
                    &format!("matmul {op_a:?}/{op_b:?} |error| at ({i}, {j})"),
                    err,
                    C_MATMUL,
                    unit,
                    "k·ε·(|A||B|)_ij",
                )?;
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
pub fn rejects_non_finite(
    la: Linalg<'_>,
    a: &Mat,
    row: usize,
    col: usize,
    value: f64,
) -> CheckResult {
    let n = a.nrows();
    assert!(
        a.ncols() == n && row < n && col < n,
        "rejects_non_finite: ({row}, {col}) in a {:?} matrix",
        a.shape()
    );
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
        (
            "solve_spd (b)",
            la.solve_spd(&Mat::identity(n), &bad_rhs).err(),
        ),
    ];
    for (op, err) in results {
        match err {
            Some(LinalgError::NonFinite { row: r, col: c, .. }) if (r, c) == (row, col) => {}
            other => {
                return Err(format!(
                    "{}: {op} with {value} at ({row}, {col}) gave {other:?}",
                    la.name()
                ));
            }
        }
    }
    Ok(())
}
