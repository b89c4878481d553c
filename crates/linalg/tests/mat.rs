//! `Mat`, the free vector functions, `BackendKind` selection and the error type.

use nnid_linalg::testing::{gaussian, proptest_config};
use nnid_linalg::{BackendKind, Linalg, LinalgError, Mat, axpy, dot, norm2, normalize};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn constructors_agree_on_layout() {
    let rows = Mat::from_rows(3, &[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
    let cols = Mat::from_columns(2, &[vec![1.0, 4.0], vec![2.0, 5.0], vec![3.0, 6.0]]);
    let raw = Mat::from_col_major(2, 3, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let by_fn = Mat::from_fn(2, 3, |i, j| (3 * i + j + 1) as f64);
    assert_eq!(rows, cols);
    assert_eq!(rows, raw);
    assert_eq!(rows, by_fn);
    assert_eq!(rows.shape(), (2, 3));
    assert_eq!(rows.col(1), &[2.0, 5.0]);
    assert_eq!(rows.row(1), vec![4.0, 5.0, 6.0]);
    assert_eq!(
        rows.select_columns(&[2, 0]),
        Mat::from_rows(2, &[vec![3.0, 1.0], vec![6.0, 4.0]])
    );
    assert_eq!(
        rows.leading_columns(1),
        Mat::from_rows(1, &[vec![1.0], vec![4.0]])
    );
    assert_eq!(rows.transpose().transpose(), rows);
    assert_eq!(rows.columns().len(), 3);
    assert_eq!(
        Mat::identity(2),
        Mat::from_rows(2, &[vec![1.0, 0.0], vec![0.0, 1.0]])
    );
}

proptest! {
    #![proptest_config(proptest_config(64))]

    /// `matvec` and `matvec_t` are the plain sums, and `add`/`sub`/`scale` act entrywise.
    #[test]
    fn matvec_and_entrywise_ops(m in 0..6_usize, n in 0..6_usize, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (a, b) = (gaussian(&mut rng, m, n), gaussian(&mut rng, m, n));
        let (x, y) = (gaussian(&mut rng, n, 1).into_vec(), gaussian(&mut rng, m, 1).into_vec());
        // Each entry is a sum of ≤ 6 products of O(1) numbers, summed in the same or the
        // reverse order: 8ε·(|A||x|) bounds the difference.
        let ax = a.matvec(&x);
        for i in 0..m {
            let exact: f64 = (0..n).map(|j| a[(i, j)] * x[j]).sum();
            let mag: f64 = (0..n).map(|j| (a[(i, j)] * x[j]).abs()).sum();
            prop_assert!((ax[i] - exact).abs() <= 8.0 * f64::EPSILON * mag);
        }
        let aty = a.matvec_t(&y);
        let at_y = a.transpose().matvec(&y);
        for j in 0..n {
            let mag: f64 = (0..m).map(|i| (a[(i, j)] * y[i]).abs()).sum();
            prop_assert!((aty[j] - at_y[j]).abs() <= 8.0 * f64::EPSILON * mag);
        }
        let (sum, diff) = (a.add(&b), a.sub(&b));
        let mut twice = a.clone();
        twice.scale(2.0);
        // Three roundings, each at most ε/2 of an entry of size ≤ |a| + |b|.
        let scale = a.max_abs() + b.max_abs();
        prop_assert!(sum.add(&diff).sub(&twice).max_abs() <= 2.0 * f64::EPSILON * scale);
        prop_assert!((a.norm_fro() - norm2(a.as_slice())).abs() <= 0.0);
    }
}

#[test]
fn vector_helpers() {
    let mut y = vec![1.0, 1.0];
    axpy(2.0, &[1.0, -1.0], &mut y);
    assert_eq!(y, vec![3.0, -1.0]);
    assert!((dot(&[1.0, 2.0], &[3.0, 4.0]) - 11.0).abs() <= 0.0);
    let mut v = vec![3.0, 4.0];
    assert!((normalize(&mut v) - 5.0).abs() <= 0.0);
    assert!((v[0] - 0.6).abs() <= f64::EPSILON && (v[1] - 0.8).abs() <= f64::EPSILON);
    let mut zero = vec![0.0; 3];
    assert!(
        normalize(&mut zero).abs() <= 0.0 && zero.iter().all(|x| x.abs() <= 0.0),
        "zero stays zero"
    );
}

#[test]
fn check_finite_names_the_first_bad_entry() {
    let mut a = Mat::zeros(3, 4);
    assert!(a.check_finite("op").is_ok());
    a[(2, 1)] = f64::INFINITY;
    a[(0, 3)] = f64::NAN;
    match a.check_finite("op") {
        Err(LinalgError::NonFinite {
            op: "op",
            row: 2,
            col: 1,
            value,
        }) => assert!(value.is_infinite()),
        other => panic!("expected NonFinite at (2, 1), got {other:?}"),
    }
    assert!(Mat::zeros(0, 5).check_finite("op").is_ok());
}

#[test]
fn backend_kind_names_and_selection() {
    for kind in BackendKind::ALL {
        assert_eq!(kind.name().parse::<BackendKind>().unwrap(), kind);
        assert_eq!(
            kind.to_string()
                .to_uppercase()
                .parse::<BackendKind>()
                .unwrap(),
            kind,
            "names are case-insensitive"
        );
        match kind.linalg() {
            Ok(la) => {
                assert!(kind.is_compiled(), "{kind}");
                assert_eq!(la.kind(), kind);
                assert_eq!(la.name(), kind.name());
            }
            Err(e) => {
                assert!(!kind.is_compiled(), "{kind}: {e}");
                let msg = e.to_string();
                assert!(
                    msg.contains(&format!("--features {kind}")),
                    "the error says how to get it: {msg}"
                );
            }
        }
    }
    assert!(
        matches!("blas".parse::<BackendKind>(), Err(LinalgError::UnknownBackend(s)) if s == "blas")
    );
    let first = BackendKind::compiled()
        .next()
        .expect("at least one backend compiled in");
    assert_eq!(Linalg::default_backend().unwrap().kind(), first);
    assert_eq!(BackendKind::default_compiled(), Some(first));
}

#[test]
fn threads_setting_round_trips_and_backends_still_agree() {
    let a = gaussian(&mut ChaCha8Rng::seed_from_u64(3), 40, 30);
    let la = Linalg::default_backend().unwrap();
    let seq = la.svd(&a).unwrap();
    nnid_linalg::set_threads(2);
    assert_eq!(nnid_linalg::threads(), 2);
    let par = la.svd(&a).unwrap();
    nnid_linalg::set_threads(0);
    assert_eq!(nnid_linalg::threads(), 1, "0 is read as 1");
    // Same algorithm, possibly another summation order: agreement to backward-error level
    // (32·ε·max(m, n)·σ₁, the conformance suite's constant).
    let bound = 32.0 * f64::EPSILON * 40.0 * seq.s[0];
    let worst = seq
        .s
        .iter()
        .zip(&par.s)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        worst <= bound,
        "{}: singular values with 1 and 2 threads differ by {worst:e}",
        la.name()
    );
}

#[test]
fn errors_are_send_sync_and_readable() {
    fn assert_send_sync<T: Send + Sync + std::error::Error + 'static>() {}
    assert_send_sync::<LinalgError>();
    let e = LinalgError::NoConvergence {
        op: "svd",
        backend: BackendKind::Nalgebra,
        rows: 3,
        cols: 4,
    };
    assert_eq!(
        e.to_string(),
        "svd did not converge on the `nalgebra` backend (3×4 input)"
    );
    let e = LinalgError::NotCompiled {
        backend: BackendKind::Lapack,
    };
    assert!(e.to_string().contains("libopenblas-dev"), "{e}");
}
