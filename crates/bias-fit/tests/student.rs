//! The student model and its penalised least-squares problem.

mod common;

use nnid_bias_fit::{FitData, FitError, FreeBlocks, LeastSquares, StudentModel, StudentProblem};
use nnid_linalg::Mat;
use nnid_nn_model::Activation;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const D: usize = 4;
const M0: usize = 3;
const M1: usize = 2;

fn blocks(mask: u8) -> FreeBlocks {
    FreeBlocks {
        a: mask & 1 != 0,
        theta: mask & 2 != 0,
        b: mask & 4 != 0,
        tau: mask & 8 != 0,
        c: mask & 16 != 0,
    }
}

/// A student away from any teacher: random weights of norm ≠ 1 and scales in [−1.5, 1.5].
fn random_student(act: Activation, seed: u64) -> StudentModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = StudentModel::from_network(&common::random_network(D, M0, M1, act, seed));
    common::perturb_columns(&mut s.a, 0.7, &mut rng);
    common::perturb_columns(&mut s.b, 0.7, &mut rng);
    s.theta
        .iter_mut()
        .for_each(|t| *t += rng.random_range(-1.0..1.0));
    s.c = (0..M1).map(|_| rng.random_range(-1.5..1.5)).collect();
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every Jacobian column against a central difference with step h = 1e-6: truncation
    /// h²/6·|r'''| ≈ 1e-12·O(10) and rounding ε|r|/h ≈ 1e-9 stay far below the 1e-6 tolerance,
    /// while a wrong formula errs by O(|J|).
    #[test]
    fn jacobian_matches_central_differences(seed in 0u64..1000, sig in any::<bool>(), mask in 1u8..32, pen in any::<bool>()) {
        let act = if sig { Activation::Sigmoid } else { Activation::Tanh };
        let student = random_student(act, seed);
        let data = FitData::new(common::gaussian_points(D, 7, 1.0, seed + 1), vec![0.3; 7]).unwrap();
        let mut problem = StudentProblem::new(student, &data, blocks(mask)).unwrap();
        if pen {
            problem = problem.with_penalty_weight(0.7).unwrap();
        }
        let p = problem.initial_params();
        let (np, nr) = (problem.num_params(), problem.num_residuals());
        let mut jac = Mat::zeros(nr, np);
        problem.jacobian(&p, &mut jac);
        let h = 1e-6;
        let (mut rp, mut rm) = (vec![0.0; nr], vec![0.0; nr]);
        for k in 0..np {
            let mut q = p.clone();
            q[k] += h;
            problem.residuals(&q, &mut rp);
            q[k] -= 2.0 * h;
            problem.residuals(&q, &mut rm);
            for n in 0..nr {
                let fd = (rp[n] - rm[n]) / (2.0 * h);
                let an = jac[(n, k)];
                prop_assert!((fd - an).abs() < 1e-6 * (1.0 + an.abs()), "mask {mask:05b} {act}: J[{n},{k}] = {an}, fd {fd}");
            }
        }
    }
}

/// At a teacher (unit a_i, b_l; c = 1) the data residuals are the difference of two
/// evaluations of the same function (summed in different orders: a few ulps of |f| ≈ 1),
/// and the penalty rows are w(‖a‖² − 1) with ‖a‖² = 1 up to rounding (w ≈ 0.2): every
/// residual is at rounding level, far below 1e-14.
#[test]
fn teacher_is_a_zero_residual_point() {
    for act in Activation::ALL {
        let net = common::random_network(6, 4, 2, act, 11);
        let pts = common::gaussian_points(6, 50, 1.0, 12);
        let data = FitData::new(pts.clone(), net.values(&pts)).unwrap();
        let problem =
            StudentProblem::new(StudentModel::from_network(&net), &data, FreeBlocks::ALL).unwrap();
        assert!((problem.penalty_weight() - 0.03 * 50f64.sqrt()).abs() < 1e-15);
        assert_eq!(problem.num_residuals(), 50 + 4 + 2 + 2);
        let mut r = vec![0.0; problem.num_residuals()];
        problem.residuals(&problem.initial_params(), &mut r);
        let worst = r.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(
            worst < 1e-14,
            "{act}: largest residual at the teacher {worst:e}"
        );
        let tail = &r[50..];
        assert!(
            tail.iter().all(|v| v.abs() < 1e-14),
            "{act}: penalty rows {tail:?}"
        );
    }
}

/// Freezing A drops its d·m0 columns and its m0 penalty rows; the remaining columns equal
/// the matching columns of the full problem (same formulas, same point).
#[test]
fn frozen_a_is_a_smaller_problem_with_the_same_columns() {
    let student = random_student(Activation::Tanh, 3);
    let data = FitData::new(common::gaussian_points(D, 9, 1.0, 4), vec![0.1; 9]).unwrap();
    let full = StudentProblem::new(student.clone(), &data, FreeBlocks::ALL).unwrap();
    let frozen = StudentProblem::new(student, &data, FreeBlocks::FROZEN_A).unwrap();
    assert_eq!(full.num_params(), frozen.num_params() + D * M0);
    assert_eq!(full.num_residuals(), frozen.num_residuals() + M0);
    let (mut jf, mut jz) = (
        Mat::zeros(full.num_residuals(), full.num_params()),
        Mat::zeros(frozen.num_residuals(), frozen.num_params()),
    );
    full.jacobian(&full.initial_params(), &mut jf);
    frozen.jacobian(&frozen.initial_params(), &mut jz);
    for k in 0..frozen.num_params() {
        let kf = k + D * M0;
        for n in 0..9 {
            assert!(
                (jf[(n, kf)] - jz[(n, k)]).abs() < 1e-15,
                "column {k}, row {n}"
            );
        }
        // Penalty rows of B and c sit after the A rows in the full problem.
        for n in 0..2 * M1 {
            assert!(
                (jf[(9 + M0 + n, kf)] - jz[(9 + n, k)]).abs() < 1e-15,
                "penalty column {k}, row {n}"
            );
        }
    }
    let mut model = frozen.model_at(&frozen.initial_params());
    assert_eq!(model, *frozen.template());
    model.theta[0] += 1.0;
    assert!((frozen.free_params(&model)[0] - frozen.initial_params()[0] - 1.0).abs() < 1e-15);
}

#[test]
fn params_round_trip_in_layout_order() {
    let s = random_student(Activation::Tanh, 5);
    let p = s.params();
    let lay = s.layout();
    assert_eq!(p.len(), lay.len());
    assert_eq!(lay.len(), D * M0 + M0 + M0 * M1 + 2 * M1);
    assert!((p[lay.theta() + 1] - s.theta[1]).abs() < 1e-300);
    assert!((p[lay.b() + M0 + 2] - s.b[(2, 1)]).abs() < 1e-300);
    assert!((p[lay.c() + 1] - s.c[1]).abs() < 1e-300);
    let mut t =
        StudentModel::from_network(&common::random_network(D, M0, M1, Activation::Tanh, 99));
    t.set_params(&p);
    assert_eq!(t, s);
}

/// tanh is odd, so c_l = −1 folds exactly into (−b_l, −τ_l); the logistic sigmoid would
/// need an output constant, so it is refused; a scale that is not ±1 is refused for both.
#[test]
fn output_scales_fold_only_where_exact() {
    let pts = common::gaussian_points(D, 20, 1.0, 6);
    let net = common::random_network(D, M0, M1, Activation::Tanh, 7);
    let mut s = StudentModel::from_network(&net);
    s.c[1] = -1.0;
    let folded = s.to_network(1e-12).unwrap();
    for (x, y) in s.values(&pts).iter().zip(folded.values(&pts)) {
        assert!((x - y).abs() < 1e-15, "{x} vs {y}");
    }
    assert!((folded.tau()[1] + net.tau()[1]).abs() < 1e-15);
    s.c[0] = 0.5;
    assert!(matches!(
        s.to_network(1e-6),
        Err(FitError::OutputScale { index: 0, .. })
    ));

    let mut s =
        StudentModel::from_network(&common::random_network(D, M0, M1, Activation::Sigmoid, 8));
    s.c[0] = -1.0;
    assert!(matches!(
        s.to_network(1e-6),
        Err(FitError::OutputScale { index: 0, .. })
    ));
}

#[test]
fn bad_inputs_are_errors() {
    let e = FitData::new(Mat::zeros(3, 4), vec![0.0; 5]).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::Shape {
                expected: 4,
                got: 5,
                ..
            }
        ),
        "{e}"
    );
    let e = FitData::new(Mat::zeros(3, 2), vec![0.0, f64::NAN]).unwrap_err();
    assert!(matches!(e, FitError::NonFinite { index: 1, .. }), "{e}");
    let data = FitData::new(Mat::zeros(3, 2), vec![0.0; 2]).unwrap();
    let s = random_student(Activation::Tanh, 1);
    let e = StudentProblem::new(s.clone(), &data, FreeBlocks::ALL).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::Shape {
                expected: D,
                got: 3,
                ..
            }
        ),
        "{e}"
    );
    let mut bad = s;
    bad.tau.push(0.0);
    let data = FitData::new(Mat::zeros(D, 2), vec![0.0; 2]).unwrap();
    assert!(matches!(
        StudentProblem::new(bad, &data, FreeBlocks::ALL),
        Err(FitError::Shape { .. })
    ));
    let s = random_student(Activation::Tanh, 1);
    let e = StudentProblem::new(s, &data, FreeBlocks::ALL)
        .unwrap()
        .with_penalty_weight(-1.0)
        .unwrap_err();
    assert!(matches!(e, FitError::InvalidConfig { .. }), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The matrix-free operator against the dense Jacobian, for every combination of free
    /// blocks, with and without penalties: `J·v`, `Jᵀ·w` and `diag(JᵀJ)` are the same sums
    /// in another order, so they agree to rounding (10⁻¹² relative to the products' scale,
    /// with sums of at most a few dozen terms of size O(1)).
    #[test]
    fn operator_matches_the_dense_jacobian(seed in 0u64..1000, sig in any::<bool>(), mask in 1u8..32, pen in any::<bool>()) {
        let act = if sig { Activation::Sigmoid } else { Activation::Tanh };
        let student = random_student(act, seed);
        let data = FitData::new(common::gaussian_points(D, 9, 1.0, seed + 1), vec![0.3; 9]).unwrap();
        let mut problem = StudentProblem::new(student, &data, blocks(mask)).unwrap();
        if pen {
            problem = problem.with_penalty_weight(0.7).unwrap();
        }
        let la = nnid_linalg::Linalg::default_backend().unwrap();
        let p = problem.initial_params();
        let (np, nr) = (problem.num_params(), problem.num_residuals());
        let mut jac = Mat::zeros(nr, np);
        problem.jacobian(&p, &mut jac);
        let op = problem.operator(la, &p).expect("the student has an operator");
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 2);
        let v: Vec<f64> = (0..np).map(|_| rng.random_range(-1.0..1.0)).collect();
        let w: Vec<f64> = (0..nr).map(|_| rng.random_range(-1.0..1.0)).collect();
        let (mut jv, mut jtw) = (vec![0.0; nr], vec![0.0; np]);
        op.apply(&v, &mut jv);
        op.apply_t(&w, &mut jtw);
        let close = |a: &[f64], b: &[f64]| {
            let scale = b.iter().fold(1.0_f64, |m, x| m.max(x.abs()));
            a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * scale)
        };
        prop_assert!(close(&jv, &jac.matvec(&v)), "J·v differs");
        prop_assert!(close(&jtw, &jac.matvec_t(&w)), "Jᵀ·w differs");
        let norms: Vec<f64> = jac.columns().map(|c| c.iter().map(|x| x * x).sum()).collect();
        prop_assert!(close(&op.column_sq_norms(), &norms), "diag(JᵀJ) differs");
    }
}
