//! Small hand-checkable cases for every compiled backend: known products, a diagonal SVD,
//! a 2×2 eigenproblem, an exactly solvable least-squares problem and SPD solve, and the
//! documented errors. The property-based suite is in `conformance.rs`.

use nnid_linalg::{BackendKind, LinalgError, Mat, Op};

/// Every answer below is exact in real arithmetic and involves O(1) well-conditioned
/// operations on 2×2 or 3×3 data, so a few hundred ulps is generous.
const TOL: f64 = 1e-13;

fn backends() -> Vec<BackendKind> {
    let all: Vec<_> = BackendKind::compiled().collect();
    assert!(!all.is_empty(), "no backend compiled in");
    all
}

fn assert_close(a: &Mat, b: &Mat, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let err = a.sub(b).max_abs();
    assert!(
        err <= TOL,
        "{what}: max error {err:e} > {TOL:e}\n got {a:?}\n want {b:?}"
    );
}

#[test]
fn matmul_known_product() {
    let a = Mat::from_rows(3, &[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
    let b = Mat::from_rows(2, &[vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]]);
    let ab = Mat::from_rows(2, &[vec![4.0, 5.0], vec![10.0, 11.0]]);
    for kind in backends() {
        let la = kind.linalg().unwrap();
        assert_close(
            &la.matmul(&a, Op::NoTrans, &b, Op::NoTrans),
            &ab,
            &format!("{kind}: a·b"),
        );
        let bt_at = la.matmul(&b, Op::Trans, &a, Op::Trans);
        assert_close(&bt_at, &ab.transpose(), &format!("{kind}: bᵀ·aᵀ"));
    }
}

#[test]
fn svd_of_a_scaled_permutation() {
    // a = [[0, 3], [2, 0], [0, 0]]: σ = (3, 2), u₁ = e₁, v₁ = e₂, u₂ = e₂, v₂ = e₁.
    let a = Mat::from_rows(2, &[vec![0.0, 3.0], vec![2.0, 0.0], vec![0.0, 0.0]]);
    for kind in backends() {
        let svd = kind.linalg().unwrap().svd(&a).unwrap();
        assert!(
            (svd.s[0] - 3.0).abs() <= TOL && (svd.s[1] - 2.0).abs() <= TOL,
            "{kind}: σ = {:?}",
            svd.s
        );
        let u = Mat::from_rows(2, &[vec![1.0, 0.0], vec![0.0, 1.0], vec![0.0, 0.0]]);
        let v = Mat::from_rows(2, &[vec![0.0, 1.0], vec![1.0, 0.0]]);
        assert_close(&svd.u, &u, &format!("{kind}: u"));
        assert_close(&svd.v, &v, &format!("{kind}: v"));
    }
}

#[test]
fn eigh_two_by_two() {
    // [[2, 1], [1, 2]] has eigenpairs (1, (1, −1)/√2) and (3, (1, 1)/√2).
    let a = Mat::from_rows(2, &[vec![2.0, 1.0], vec![1.0, 2.0]]);
    let h = std::f64::consts::FRAC_1_SQRT_2;
    for kind in backends() {
        let e = kind.linalg().unwrap().eigh(&a).unwrap();
        assert!(
            (e.values[0] - 1.0).abs() <= TOL && (e.values[1] - 3.0).abs() <= TOL,
            "{kind}: λ = {:?}",
            e.values
        );
        // Ties in |entry| make the sign convention ambiguous for the first vector: compare |·|.
        let abs = Mat::from_fn(2, 2, |i, j| e.vectors[(i, j)].abs());
        assert_close(
            &abs,
            &Mat::from_fn(2, 2, |_, _| h),
            &format!("{kind}: |vectors|"),
        );
        assert!(
            e.vectors[(0, 0)] * e.vectors[(1, 0)] < 0.0,
            "{kind}: first vector ∝ (1, −1)"
        );
    }
}

#[test]
fn qr_lstsq_and_spd_solve_exact_cases() {
    let a = Mat::from_rows(2, &[vec![1.0, 1.0], vec![1.0, 2.0], vec![1.0, 3.0]]);
    let x = Mat::from_rows(1, &[vec![0.5], vec![-2.0]]);
    let spd = Mat::from_rows(2, &[vec![4.0, 1.0], vec![1.0, 3.0]]);
    for kind in backends() {
        let la = kind.linalg().unwrap();
        let b = la.matmul(&a, Op::NoTrans, &x, Op::NoTrans);
        assert_close(
            &la.lstsq(&a, &b).unwrap(),
            &x,
            &format!("{kind}: lstsq of a consistent system"),
        );
        let qr = la.qr(&a).unwrap();
        assert_close(
            &la.matmul(&qr.q, Op::NoTrans, &qr.r, Op::NoTrans),
            &a,
            &format!("{kind}: q·r"),
        );
        assert!(
            (qr.r[(0, 0)] - 3f64.sqrt()).abs() <= TOL,
            "{kind}: r₀₀ = {}",
            qr.r[(0, 0)]
        );
        let rhs = la.matmul(&spd, Op::NoTrans, &x, Op::NoTrans);
        assert_close(
            &la.solve_spd(&spd, &rhs).unwrap(),
            &x,
            &format!("{kind}: solve_spd"),
        );
    }
}

#[test]
fn errors_are_reported_not_panicked() {
    let indefinite = Mat::from_rows(2, &[vec![1.0, 2.0], vec![2.0, 1.0]]);
    let mut nan = Mat::identity(3);
    nan[(1, 2)] = f64::NAN;
    for kind in backends() {
        let la = kind.linalg().unwrap();
        let err = la.solve_spd(&indefinite, &Mat::identity(2)).unwrap_err();
        assert!(
            matches!(err, LinalgError::NotPositiveDefinite { n: 2, .. }),
            "{kind}: {err}"
        );
        let err = la.svd(&nan).unwrap_err();
        assert!(
            matches!(err, LinalgError::NonFinite { row: 1, col: 2, .. }),
            "{kind}: {err}"
        );
    }
}

#[test]
fn empty_inputs() {
    for kind in backends() {
        let la = kind.linalg().unwrap();
        let svd = la.svd(&Mat::zeros(0, 3)).unwrap();
        assert_eq!(
            (svd.u.shape(), svd.s.len(), svd.v.shape()),
            ((0, 0), 0, (3, 0)),
            "{kind}: svd of 0×3"
        );
        let e = la.eigh(&Mat::zeros(0, 0)).unwrap();
        assert!(e.values.is_empty(), "{kind}: eigh of 0×0");
        let x = la.lstsq(&Mat::zeros(4, 0), &Mat::zeros(4, 2)).unwrap();
        assert_eq!(x.shape(), (0, 2), "{kind}: lstsq with no unknowns");
        let qr = la.qr(&Mat::zeros(3, 0)).unwrap();
        assert_eq!(
            (qr.q.shape(), qr.r.shape()),
            ((3, 0), (0, 0)),
            "{kind}: qr of 3×0"
        );
        let x = la.solve_spd(&Mat::zeros(0, 0), &Mat::zeros(0, 2)).unwrap();
        assert_eq!(x.shape(), (0, 2), "{kind}: solve_spd of 0×0");
    }
}

/// Rank-deficient least squares is outside the contract, but must not panic; a finite
/// answer must be the minimum-norm solution (nalgebra and LAPACK return it; faer's
/// triangular solve divides by the zero pivot and returns non-finite values).
#[test]
fn lstsq_with_a_zero_column_does_not_panic() {
    let a = Mat::from_rows(2, &[vec![1.0, 0.0], vec![1.0, 0.0], vec![1.0, 0.0]]);
    let b = Mat::from_rows(1, &[vec![1.0], vec![2.0], vec![6.0]]);
    for kind in backends() {
        let x = kind.linalg().unwrap().lstsq(&a, &b).unwrap();
        if x.as_slice().iter().all(|v| v.is_finite()) {
            let min_norm = Mat::from_rows(1, &[vec![3.0], vec![0.0]]);
            assert_close(&x, &min_norm, &format!("{kind}: minimum-norm solution"));
        }
    }
}
