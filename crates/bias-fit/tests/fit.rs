//! The penalised LM fit and route G's multi-start on small teachers.

mod common;

use nnid_bias_fit::{
    FitData, FreeBlocks, LeastSquares, LmConfig, PenalisedFitConfig, RouteGConfig, StudentModel,
    StudentProblem, fit_penalised_lm, levenberg_marquardt, relative_error, route_g_fit,
};
use nnid_linalg::Mat;
use nnid_nn_model::{Activation, Network};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Fit data of N = 4P points x ~ N(0, s²I) (spec §10.1) and 300 validation points.
fn data_for(net: &Network, seed: u64) -> (FitData, FitData) {
    let (d, s) = (net.input_dim(), net.g().width());
    let n = 4 * net.num_params();
    let fit = common::gaussian_points(d, n, s, seed);
    let val = common::gaussian_points(d, 300, s, seed + 1000);
    (
        FitData::new(fit.clone(), net.values(&fit)).unwrap(),
        FitData::new(val.clone(), net.values(&val)).unwrap(),
    )
}

/// Largest distance of a true a_i to the nearest ±â_j (unit columns on both sides).
fn worst_a_error(truth: &Network, fitted: &Network) -> f64 {
    let mut a = fitted.a().clone();
    for j in 0..a.ncols() {
        nnid_linalg::normalize(a.col_mut(j));
    }
    truth
        .a()
        .columns()
        .map(|ai| common::min_sign_distance(ai, &a))
        .fold(0.0, f64::max)
}

/// Started within 0.05 of the teacher on every weight, LM is inside the basin where the
/// zero-residual minimum is isolated (up to symmetries) and converges quadratically; it
/// stops at rel_tol = 1e-14 on the fit data, and since N = 4P generic points determine the
/// network, the validation error is at the same rounding level (< 1e-12 leaves 100× margin).
#[test]
fn near_teacher_start_converges_to_rounding() {
    for la in common::backends() {
        for act in Activation::ALL {
            let net = common::random_network(6, 4, 2, act, 21);
            let (fit, val) = data_for(&net, 22);
            let mut start = StudentModel::from_network(&net);
            let mut rng = ChaCha8Rng::seed_from_u64(23);
            common::perturb_columns(&mut start.a, 0.05, &mut rng);
            common::perturb_columns(&mut start.b, 0.05, &mut rng);
            start.theta.iter_mut().for_each(|t| *t += 0.05);
            start.tau.iter_mut().for_each(|t| *t -= 0.05);
            let rep = fit_penalised_lm(la, &fit, start, &PenalisedFitConfig::default()).unwrap();
            let e = relative_error(&rep.network, val.points(), val.values()).unwrap();
            assert!(
                e < 1e-12,
                "{} {act}: validation error {e:e}, stages {:?}",
                la.name(),
                rep.stages
                    .iter()
                    .map(|s| (s.name, s.lm.stop, s.lm.iterations))
                    .collect::<Vec<_>>()
            );
            assert!(
                rep.fit_misfit < 1e-12,
                "{} {act}: fit misfit {:e}",
                la.name(),
                rep.fit_misfit
            );
            assert!(
                worst_a_error(&net, &rep.network) < 1e-8,
                "{} {act}: a error",
                la.name()
            );
        }
    }
}

/// With A frozen at the truth, the remaining problem in (θ, B, τ) has the teacher as a
/// zero-residual solution; from B, θ, τ perturbed by 0.2 plain LM (no penalty, c frozen:
/// the route-S usage) converges to it.
#[test]
fn frozen_true_a_recovers_the_second_layer() {
    let la = common::backends()[0];
    for act in Activation::ALL {
        let net = common::random_network(6, 4, 3, act, 31);
        let (fit, val) = data_for(&net, 32);
        let mut start = StudentModel::from_network(&net);
        let mut rng = ChaCha8Rng::seed_from_u64(33);
        common::perturb_columns(&mut start.b, 0.2, &mut rng);
        start
            .theta
            .iter_mut()
            .enumerate()
            .for_each(|(i, t)| *t += if i % 2 == 0 { 0.2 } else { -0.2 });
        start.tau.iter_mut().for_each(|t| *t += 0.2);
        let problem = StudentProblem::new(start, &fit, FreeBlocks::SECOND_LAYER)
            .unwrap()
            .with_penalty_weight(0.0)
            .unwrap();
        assert_eq!(problem.num_params(), 4 + 4 * 3 + 3);
        let rep = levenberg_marquardt(la, &problem, problem.initial_params(), &LmConfig::default())
            .unwrap();
        assert!(
            rep.converged,
            "{act}: stop {:?}, misfit {:e}",
            rep.stop, rep.misfit
        );
        let model = problem.model_at(&rep.params);
        assert_eq!(model.a, *net.a(), "A must stay frozen");
        let e =
            relative_error(&model.to_network(0.0).unwrap(), val.points(), val.values()).unwrap();
        assert!(e < 1e-12, "{act}: validation error {e:e}");
    }
}

/// Route G at (8, 4, 2) with the exact span of A: random starts identify the teacher
/// (validation < 1e-9, every a_i within 1e-6 up to sign) within the 6-start budget.
#[test]
fn route_g_identifies_small_teachers_from_random_starts() {
    let la = common::backends()[0];
    for (act, seed) in [
        (Activation::Tanh, 41),
        (Activation::Tanh, 42),
        (Activation::Tanh, 43),
        (Activation::Sigmoid, 44),
    ] {
        let net = common::random_network(8, 4, 2, act, seed);
        let (fit, val) = data_for(&net, seed + 100);
        let span = la.qr(net.a()).unwrap().q;
        let cfg = RouteGConfig::default().with_seed(seed);
        let rep = route_g_fit(la, &span, 2, act, act, &fit, &val, &cfg).unwrap();
        assert!(
            rep.certified,
            "{act} seed {seed}: not certified, starts {:?}",
            rep.starts
        );
        assert!(rep.validation_error < 1e-9 && rep.starts.last().unwrap().accepted);
        assert!(
            worst_a_error(&net, &rep.network) < 1e-6,
            "{act} seed {seed}: a error {:e}",
            worst_a_error(&net, &rep.network)
        );
    }
}

/// Same seed, same result (the starts use their own ChaCha8 streams).
#[test]
fn route_g_is_deterministic() {
    let la = common::backends()[0];
    let net = common::random_network(5, 3, 2, Activation::Tanh, 51);
    let (fit, val) = data_for(&net, 52);
    let span = la.qr(net.a()).unwrap().q;
    let cfg = RouteGConfig::default().with_seed(7).with_max_starts(2);
    let a = route_g_fit(
        la,
        &span,
        2,
        Activation::Tanh,
        Activation::Tanh,
        &fit,
        &val,
        &cfg,
    )
    .unwrap();
    let b = route_g_fit(
        la,
        &span,
        2,
        Activation::Tanh,
        Activation::Tanh,
        &fit,
        &val,
        &cfg,
    )
    .unwrap();
    assert_eq!(a.network, b.network);
    let e = route_g_fit(
        la,
        &Mat::zeros(4, 3),
        2,
        Activation::Tanh,
        Activation::Tanh,
        &fit,
        &val,
        &cfg,
    )
    .unwrap_err();
    assert!(matches!(e, nnid_bias_fit::FitError::Shape { .. }), "{e}");
}
