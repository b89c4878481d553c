//! The Levenberg–Marquardt solver on problems with known answers.

mod common;

use nnid_bias_fit::{
    CgSettings, FitError, JacobianOperator, LeastSquares, LmConfig, LmStop, Plateau, StepMethod,
    levenberg_marquardt,
};
use nnid_linalg::{Linalg, Mat};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Rosenbrock as least squares: r = (10(p₂ − p₁²), 1 − p₁), unique zero at (1, 1).
struct Rosenbrock;

impl LeastSquares for Rosenbrock {
    fn num_params(&self) -> usize {
        2
    }
    fn num_residuals(&self) -> usize {
        2
    }
    fn residuals(&self, p: &[f64], r: &mut [f64]) {
        r[0] = 10.0 * (p[1] - p[0] * p[0]);
        r[1] = 1.0 - p[0];
    }
    fn jacobian(&self, p: &[f64], j: &mut Mat) {
        j[(0, 0)] = -20.0 * p[0];
        j[(0, 1)] = 10.0;
        j[(1, 0)] = -1.0;
    }
}

/// A linear problem r = M p − y with a known least-squares solution.
struct Linear {
    m: Mat,
    y: Vec<f64>,
}

impl LeastSquares for Linear {
    fn num_params(&self) -> usize {
        self.m.ncols()
    }
    fn num_residuals(&self) -> usize {
        self.m.nrows()
    }
    fn residuals(&self, p: &[f64], r: &mut [f64]) {
        let mp = self.m.matvec(p);
        r.iter_mut()
            .zip(mp.iter().zip(&self.y))
            .for_each(|(ri, (a, b))| *ri = a - b);
    }
    fn jacobian(&self, _p: &[f64], j: &mut Mat) {
        j.as_mut_slice().copy_from_slice(self.m.as_slice());
    }
    fn operator<'s>(
        &'s self,
        _la: Linalg<'s>,
        _p: &[f64],
    ) -> Option<Box<dyn JacobianOperator + 's>> {
        Some(Box::new(self.m.clone()))
    }
}

/// From the classic start (−1.2, 1) LM follows the curved valley and then converges
/// quadratically at a zero-residual minimum, so the iterate reaches the rel_tol test
/// (‖r‖ ≤ 1e-14), which bounds the distance to (1, 1) by about 1e-14 (J is invertible there).
#[test]
fn rosenbrock_converges_to_the_exact_minimum() {
    for la in common::backends() {
        let rep =
            levenberg_marquardt(la, &Rosenbrock, vec![-1.2, 1.0], &LmConfig::default()).unwrap();
        assert!(
            rep.converged,
            "{}: stop {:?} after {} iterations",
            la.name(),
            rep.stop,
            rep.iterations
        );
        assert!(
            (rep.params[0] - 1.0).abs() < 1e-12 && (rep.params[1] - 1.0).abs() < 1e-12,
            "{}: {:?}",
            la.name(),
            rep.params
        );
        assert!(
            rep.iterations < 100,
            "{}: {} iterations",
            la.name(),
            rep.iterations
        );
        let costs: Vec<f64> = rep.history.iter().map(|s| s.cost).collect();
        assert!(
            costs.windows(2).all(|w| w[1] < w[0]),
            "{}: costs must decrease: {costs:?}",
            la.name()
        );
    }
}

/// On a linear problem with a non-zero residual, the minimiser is the least-squares
/// solution; LM (with λ → 0) reaches it to the accuracy of the normal equations
/// (cond(M)² ε ≈ 1e-13 here), then stops when no step lowers the cost.
#[test]
fn linear_problem_reaches_the_least_squares_solution() {
    for la in common::backends() {
        let m = Mat::from_fn(12, 3, |i, j| ((i + 1) as f64).powi(j as i32) / 10.0);
        let y: Vec<f64> = (0..12).map(|i| (i as f64).sin()).collect();
        let exact = la
            .lstsq(&m, &Mat::from_col_major(12, 1, y.clone()))
            .unwrap()
            .into_vec();
        let problem = Linear { m, y };
        let rep = levenberg_marquardt(la, &problem, vec![0.0; 3], &LmConfig::default()).unwrap();
        assert!(
            !rep.converged,
            "{}: a non-zero residual cannot meet rel_tol",
            la.name()
        );
        for (p, e) in rep.params.iter().zip(&exact) {
            assert!(
                (p - e).abs() < 1e-8 * (1.0 + e.abs()),
                "{}: {p} vs {e}",
                la.name()
            );
        }
    }
}

#[test]
fn iteration_cap_is_reported() {
    let la = common::backends()[0];
    let cfg = LmConfig::default().with_max_iters(2);
    let rep = levenberg_marquardt(la, &Rosenbrock, vec![-1.2, 1.0], &cfg).unwrap();
    assert!(
        rep.capped && rep.stop == LmStop::MaxIterations && rep.iterations == 2,
        "{rep:?}"
    );
}

#[test]
fn bad_inputs_are_errors() {
    let la = common::backends()[0];
    let e = levenberg_marquardt(la, &Rosenbrock, vec![0.0; 3], &LmConfig::default()).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::Shape {
                expected: 2,
                got: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = levenberg_marquardt(la, &Rosenbrock, vec![f64::NAN, 0.0], &LmConfig::default())
        .unwrap_err();
    assert!(matches!(e, FitError::NonFinite { index: 0, .. }), "{e}");
    let cfg = LmConfig {
        lambda_up: 0.5,
        ..LmConfig::default()
    };
    let e = levenberg_marquardt(la, &Rosenbrock, vec![0.0, 0.0], &cfg).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::InvalidConfig {
                field: "lambda_up",
                ..
            }
        ),
        "{e}"
    );
    let e =
        levenberg_marquardt(la, &Rosenbrock, vec![1e300, 0.0], &LmConfig::default()).unwrap_err();
    assert!(matches!(e, FitError::NonFiniteStart { .. }), "{e}");
}

/// The blocked normal matrix is the same product summed in the same order per entry
/// (each block product is a plain `J_iᵀJ_j`), so it agrees with one `JᵀJ` to rounding.
#[test]
fn blocked_normal_matrix_equals_one_product() {
    for la in common::backends() {
        for np in [5, 300, 700] {
            let j = Mat::from_fn(40, np, |i, k| {
                ((i * 7 + k * 13) % 17) as f64 / 17.0 - 0.4 + (k as f64).sin()
            });
            let one = la.matmul(&j, nnid_linalg::Op::Trans, &j, nnid_linalg::Op::NoTrans);
            for parallel in [false, true] {
                let blocked = nnid_bias_fit::normal_matrix_with(la, &j, parallel);
                let err = blocked.sub(&one).max_abs();
                assert!(
                    err <= 1e-12 * one.max_abs(),
                    "{} P = {np}: differs by {err:e}",
                    la.name()
                );
                assert!(
                    blocked.sub(&blocked.transpose()).max_abs() < 1e-300,
                    "not symmetric"
                );
            }
        }
    }
}

/// r = (p², 1): the minimum cost ½ is approached ever more slowly (Gauss–Newton halves p, so
/// the cost falls by ≈ (15/16)·p⁴/2 per step): a plateau.
struct SlowTail;

impl LeastSquares for SlowTail {
    fn num_params(&self) -> usize {
        1
    }
    fn num_residuals(&self) -> usize {
        2
    }
    fn residuals(&self, p: &[f64], r: &mut [f64]) {
        r[0] = p[0] * p[0];
        r[1] = 1.0;
    }
    fn jacobian(&self, p: &[f64], j: &mut Mat) {
        j[(0, 0)] = 2.0 * p[0];
        j[(1, 0)] = 0.0;
    }
}

#[test]
fn a_plateau_stops_the_iteration_and_is_off_by_default() {
    let la = common::backends()[0];
    let plain = LmConfig::default().with_max_iters(60);
    let off = levenberg_marquardt(la, &SlowTail, vec![2.0], &plain).unwrap();
    let cfg = LmConfig {
        plateau: Some(Plateau {
            window: 5,
            tol: 1e-3,
        }),
        ..plain.clone()
    };
    let on = levenberg_marquardt(la, &SlowTail, vec![2.0], &cfg).unwrap();
    assert_eq!(on.stop, LmStop::Stalled);
    // Over the last 5 accepted steps the cost fell by less than 0.1 %, and before that it had
    // not: the window ending one step earlier still fell by more.
    let h = &on.history;
    let n = h.len();
    assert!(h[n - 6].cost - h[n - 1].cost < 1e-3 * h[n - 6].cost);
    assert!(h[n - 7].cost - h[n - 2].cost >= 1e-3 * h[n - 7].cost);
    assert!(
        on.iterations < off.iterations,
        "{} vs {}",
        on.iterations,
        off.iterations
    );
    let bad = LmConfig {
        plateau: Some(Plateau {
            window: 0,
            tol: 0.5,
        }),
        ..plain
    };
    let e = levenberg_marquardt(la, &SlowTail, vec![2.0], &bad).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::InvalidConfig {
                field: "plateau",
                ..
            }
        ),
        "{e}"
    );
}

/// An ill-conditioned consistent linear problem solved by CG steps: M = G·S with G
/// uniform random (60×30) and column scales S spanning 10⁰…10⁻⁴ in a rotated basis, so
/// Jacobi cannot undo them. With factoring allowed after 5 CG iterations, the first step
/// factors MᵀM + Λ and is then exact, so LM reaches the solution p* = 1 (zero residual:
/// ‖p − p*‖ ≤ about ε·κ(M) ≈ 10⁻¹¹ relative, tested at 10⁻⁸) in a few steps, each later one
/// in a few CG iterations; without factoring the same 5-iteration budget per step leaves
/// it far off.
#[test]
fn a_capped_cg_step_factors_the_normal_matrix_and_converges() {
    for la in common::backends() {
        let (n, p) = (60, 30);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut uniform = |rows, cols| Mat::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0));
        let g = uniform(n, p);
        let rot = la.qr(&uniform(p, p)).unwrap().q;
        let scaled = Mat::from_fn(p, p, |i, j| {
            rot[(i, j)] * 10f64.powf(-4.0 * j as f64 / (p - 1) as f64)
        });
        let m = la.matmul(
            &g,
            nnid_linalg::Op::NoTrans,
            &la.matmul(
                &scaled,
                nnid_linalg::Op::NoTrans,
                &rot,
                nnid_linalg::Op::Trans,
            ),
            nnid_linalg::Op::NoTrans,
        );
        let y = m.matvec(&vec![1.0; p]);
        let problem = Linear { m, y };
        let solve = |factor_max_params, first_factor_after| {
            let cg = CgSettings {
                max_iters: 5,
                factor_after: 5,
                factor_max_params,
                first_factor_after,
                ..CgSettings::default()
            };
            let cfg = LmConfig {
                lambda0: 1e-12,
                ..LmConfig::default()
            }
            .with_max_iters(20)
            .with_rel_tol(1e-13)
            .with_step(StepMethod::Iterative(cg));
            levenberg_marquardt(la, &problem, vec![0.0; p], &cfg).unwrap()
        };
        let error = |params: &[f64]| params.iter().map(|v| (v - 1.0).abs()).fold(0.0, f64::max);
        let factored = solve(p, 5);
        assert!(
            factored.history[0].factored,
            "{}: {:?}",
            la.name(),
            factored.history
        );
        assert!(
            error(&factored.params) < 1e-8,
            "{}: error {:e}",
            la.name(),
            error(&factored.params)
        );
        // Factoring at once (first_factor_after 0): the first step runs no CG iteration
        // before the factor, then one or two with it (exact at that iterate).
        let at_once = solve(p, 0);
        assert!(at_once.history[0].factored && at_once.history[0].cg_iterations <= 2);
        assert!(at_once.history[0].cg_iterations < factored.history[0].cg_iterations);
        assert!(error(&at_once.params) < 1e-8, "{}", la.name());
        let unfactored = solve(0, 5);
        assert!(unfactored.history.iter().all(|h| !h.factored));
        assert!(
            error(&unfactored.params) > 1e-6,
            "{}: error {:e}",
            la.name(),
            error(&unfactored.params)
        );
    }
}
