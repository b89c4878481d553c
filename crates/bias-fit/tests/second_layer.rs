//! The second layer from a known first layer (spec §10.2 step 3) against teacher networks.
//!
//! Tolerances: with the exact A the identities leave only finite-difference error (θ ~1e-8,
//! b_l ~1e-5 in angle, τ ~1e-5), well inside the LM's basin, and the polish on exact data
//! then converges quadratically to the rounding floor (relative residual ~1e-14 on its fit
//! points). On fresh points the error of the polished network is of the size of its
//! parameter error times ‖∂f/∂p‖, so rel-L2 < 1e-8 leaves four orders of margin over what
//! the residual floor implies, and the parameters themselves are checked to 1e-7. With A off
//! by 1e-10 the network cannot fit f better than ~1e-10·‖x‖·‖∇f‖/‖f‖, hence 1e-7 there.

use nnid_bias_fit::second_layer::{SecondLayer, SecondLayerConfig, SecondLayerReport, UStencil};
use nnid_bias_fit::{FitError, recover_second_layer, relative_error};
use nnid_linalg::{BackendKind, Linalg, Mat, dot, normalize};
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Network, NetworkOracle, Oracle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn backends() -> Vec<(BackendKind, Linalg<'static>)> {
    let kinds: Vec<_> = BackendKind::compiled()
        .map(|k| (k, k.linalg().unwrap()))
        .collect();
    assert!(!kinds.is_empty(), "no linear-algebra backend compiled");
    kinds
}

/// rel-L2 of `net` against `teacher` on 2000 points x ~ N(0, I_d).
fn rel_l2(net: &Network, teacher: &Network) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(12345);
    let d = teacher.input_dim();
    let pts = Mat::from_fn(d, 2000, |_, _| rng.sample::<f64, _>(StandardNormal));
    relative_error(net, &pts, &teacher.values(&pts)).unwrap()
}

/// For each teacher neuron l, the recovered neuron with the largest |cos| (b, then τ).
fn match_second_layer(net: &Network, teacher: &Network) -> (f64, f64) {
    let m1 = teacher.m1();
    let (mut b_err, mut tau_err) = (0.0_f64, 0.0_f64);
    for l in 0..m1 {
        let j = (0..m1)
            .max_by(|&i, &j| {
                dot(net.b().col(i), teacher.b().col(l))
                    .total_cmp(&dot(net.b().col(j), teacher.b().col(l)))
            })
            .unwrap();
        let diff: f64 = net
            .b()
            .col(j)
            .iter()
            .zip(teacher.b().col(l))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        b_err = b_err.max(diff);
        tau_err = tau_err.max((net.tau()[j] - teacher.tau()[l]).abs());
    }
    (b_err, tau_err)
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Runs the step with the default settings (module docs of [`run_with`]).
fn run(la: Linalg<'_>, teacher: &Network, a: &Mat, seed: u64) -> SecondLayerReport {
    run_with(la, teacher, a, seed, &SecondLayerConfig::default())
}

/// Runs the step with the teacher's own A and checks the query accounting.
fn run_with(
    la: Linalg<'_>,
    teacher: &Network,
    a: &Mat,
    seed: u64,
    cfg: &SecondLayerConfig,
) -> SecondLayerReport {
    let oracle = NetworkOracle::new(teacher.clone());
    let rep = recover_second_layer(
        la,
        &oracle,
        a,
        teacher.g(),
        teacher.h(),
        teacher.m1(),
        None,
        cfg,
        seed,
    )
    .unwrap();
    assert_eq!(
        rep.queries.total(),
        oracle.queries(),
        "query report vs oracle counter"
    );
    let m1 = teacher.m1() as u64;
    let k = cfg.gradient_points(teacher.m0(), teacher.m1()) as u64;
    let tried = rep.attempts.len() as u64;
    assert_eq!(
        rep.queries.gradients,
        tried * cfg.gradient_point_queries(teacher.m0()) as u64 * k,
        "gradient queries"
    );
    // ⌈factor·(m0 + m0·m1 + m1)⌉ per attempt (the formula of the config, checked by hand
    // for the default factor 1.25 in `polish_point_counts_follow_the_factor`).
    assert_eq!(
        rep.queries.polish,
        tried * cfg.polish_points(teacher.m0(), teacher.m1()) as u64,
        "polish queries"
    );
    let hess: u64 = rep.attempts.iter().map(|r| r.hessian_points as u64).sum();
    assert_eq!(
        rep.queries.hessians,
        hess * (m1 * m1 + m1 + 1),
        "Hessian queries"
    );
    assert!(
        rep.attempts
            .iter()
            .all(|r| (2..=4).contains(&r.hessian_points)),
        "Hessian points"
    );
    rep
}

/// Both u-gradient stencils: the forward one's θ error (~1e-8 in misfit) is inside the
/// polish's basin like the central one's, so the same tolerances hold.
#[test]
fn true_first_layer_gives_the_teacher() {
    for (kind, la) in backends() {
        for (act, stencil) in Activation::ALL
            .into_iter()
            .flat_map(|a| [(a, UStencil::Central), (a, UStencil::Forward)])
        {
            let cfg = SecondLayerConfig::default().with_gradient_stencil(stencil);
            for (seed, (d, m0, m1)) in [(8, 5, 2), (12, 6, 3)].into_iter().enumerate() {
                let teacher = TeacherConfig::new(d, m0, m1)
                    .activation(act)
                    .seed(seed as u64 + 1)
                    .generate()
                    .unwrap();
                let rep = run_with(la, &teacher, teacher.a(), 7, &cfg);
                let ctx = format!("{kind} {act} {stencil:?} ({d},{m0},{m1}): {:?}", rep.best());
                assert!(rep.reached_target, "{ctx}");
                assert!(rep.relative_residual < 1e-10, "{ctx}");
                let err = rel_l2(&rep.network, &teacher);
                assert!(err < 1e-8, "{ctx}: rel-L2 {err:e}");
                assert!(
                    max_abs_diff(rep.network.theta(), teacher.theta()) < 1e-7,
                    "{ctx}: θ"
                );
                let (b_err, tau_err) = match_second_layer(&rep.network, &teacher);
                assert!(
                    b_err < 1e-7 && tau_err < 1e-7,
                    "{ctx}: B {b_err:e}, τ {tau_err:e}"
                );
                assert_eq!(
                    rep.network.a(),
                    teacher.a(),
                    "{ctx}: A is returned unchanged"
                );
            }
        }
    }
}

#[test]
fn medium_teacher() {
    let (kind, la) = backends()[0];
    let teacher = TeacherConfig::new(20, 10, 5).seed(3).generate().unwrap();
    let rep = run(la, &teacher, teacher.a(), 1);
    let err = rel_l2(&rep.network, &teacher);
    assert!(err < 1e-8, "{kind}: rel-L2 {err:e}; {:?}", rep.best());
    assert_eq!(rep.attempts.len(), 1, "{kind}: one attempt suffices");
}

/// a_i → −a_i for some i: the step finds the equivalent network −θ_i, −row i of B (and for
/// the logistic sigmoid τ_l + B_il), which is the same function.
#[test]
fn flipped_first_layer_columns() {
    for (kind, la) in backends() {
        for act in Activation::ALL {
            let teacher = TeacherConfig::new(10, 6, 3)
                .activation(act)
                .seed(5)
                .generate()
                .unwrap();
            let flip = [true, false, true, false, false, true];
            let a = Mat::from_fn(10, 6, |j, i| {
                if flip[i] {
                    -teacher.a()[(j, i)]
                } else {
                    teacher.a()[(j, i)]
                }
            });
            let rep = run(la, &teacher, &a, 2);
            let ctx = format!("{kind} {act}: {:?}", rep.best());
            let err = rel_l2(&rep.network, &teacher);
            assert!(err < 1e-8, "{ctx}: rel-L2 {err:e}");
            for (i, &flipped) in flip.iter().enumerate() {
                let expect = if flipped {
                    -teacher.theta()[i]
                } else {
                    teacher.theta()[i]
                };
                assert!(
                    (rep.network.theta()[i] - expect).abs() < 1e-7,
                    "{ctx}: θ_{i}"
                );
            }
        }
    }
}

#[test]
fn slightly_wrong_first_layer() {
    for (kind, la) in backends() {
        for act in Activation::ALL {
            let teacher = TeacherConfig::new(12, 6, 3)
                .activation(act)
                .seed(8)
                .generate()
                .unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let mut cols = Vec::new();
            for i in 0..6 {
                let mut c: Vec<f64> = teacher
                    .a()
                    .col(i)
                    .iter()
                    .map(|v| v + 1e-10 * rng.sample::<f64, _>(StandardNormal))
                    .collect();
                normalize(&mut c);
                cols.push(c);
            }
            let a = Mat::from_columns(12, &cols);
            let rep = run(la, &teacher, &a, 3);
            let err = rel_l2(&rep.network, &teacher);
            assert!(err < 1e-7, "{kind} {act}: rel-L2 {err:e}; {:?}", rep.best());
        }
    }
}

/// Columns a_5 ≈ a_0 (angle ~1e-3): cond(A) ~ 1e3. The fixed u-steps keep the FD error
/// independent of the conditioning (the x-steps grow instead).
#[test]
fn ill_conditioned_first_layer() {
    for (kind, la) in backends() {
        let base = TeacherConfig::new(10, 6, 3).seed(6).generate().unwrap();
        let mut a = base.a().clone();
        let mut c: Vec<f64> = (0..10)
            .map(|j| a[(j, 0)] + 1e-3 * ((j as f64) * 1.3).sin())
            .collect();
        normalize(&mut c);
        a.col_mut(5).copy_from_slice(&c);
        let teacher = Network::new(
            a,
            base.theta().to_vec(),
            base.b().clone(),
            base.tau().to_vec(),
            base.g(),
            base.h(),
        )
        .unwrap();
        let rep = run(la, &teacher, teacher.a(), 4);
        assert!(
            (1e2..1e4).contains(&rep.cond_a),
            "{kind}: cond(A) = {:e}",
            rep.cond_a
        );
        let err = rel_l2(&rep.network, &teacher);
        assert!(err < 1e-8, "{kind}: rel-L2 {err:e}; {:?}", rep.best());
    }
}

#[test]
fn square_second_layer_is_refused() {
    let (_, la) = backends()[0];
    let teacher = TeacherConfig::new(6, 4, 4).seed(1).generate().unwrap();
    let oracle = NetworkOracle::new(teacher.clone());
    let err = SecondLayer::new(teacher.a(), teacher.g(), teacher.h(), 4)
        .recover(la, &oracle, &SecondLayerConfig::default(), 0)
        .unwrap_err();
    assert!(
        matches!(err, FitError::RankConditionVoid { m0: 4, m1: 4 }),
        "{err}"
    );
    assert_eq!(oracle.queries(), 0, "no queries before the check");
}

#[test]
fn bad_inputs_are_refused() {
    let (_, la) = backends()[0];
    let teacher = TeacherConfig::new(6, 4, 2).seed(1).generate().unwrap();
    let oracle = NetworkOracle::new(teacher.clone());
    let cfg = SecondLayerConfig::default();
    let a = teacher.a();
    let wrong_d = Mat::zeros(5, 4);
    let err = recover_second_layer(
        la,
        &oracle,
        &wrong_d,
        teacher.g(),
        teacher.h(),
        2,
        None,
        &cfg,
        0,
    )
    .unwrap_err();
    assert!(matches!(err, FitError::Shape { .. }), "{err}");
    let mut nan = a.clone();
    nan[(1, 1)] = f64::NAN;
    let err = recover_second_layer(
        la,
        &oracle,
        &nan,
        teacher.g(),
        teacher.h(),
        2,
        None,
        &cfg,
        0,
    )
    .unwrap_err();
    assert!(matches!(err, FitError::NonFinite { .. }), "{err}");
    let err = recover_second_layer(
        la,
        &oracle,
        a,
        teacher.g(),
        teacher.h(),
        2,
        Some(&[0.0; 3]),
        &cfg,
        0,
    )
    .unwrap_err();
    assert!(matches!(err, FitError::Shape { .. }), "{err}");
    let mut dup = a.clone();
    let c0 = dup.col(0).to_vec();
    dup.col_mut(1).copy_from_slice(&c0);
    let err = recover_second_layer(
        la,
        &oracle,
        &dup,
        teacher.g(),
        teacher.h(),
        2,
        None,
        &cfg,
        0,
    )
    .unwrap_err();
    assert!(
        matches!(err, FitError::RankDeficientFirstLayer { .. }),
        "{err}"
    );
    let bad = SecondLayerConfig {
        hessian_step: -1.0,
        ..SecondLayerConfig::default()
    };
    let err = recover_second_layer(la, &oracle, a, teacher.g(), teacher.h(), 2, None, &bad, 0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            FitError::InvalidConfig {
                field: "hessian_step",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(oracle.queries(), 0, "no queries for refused inputs");
}

/// A θ hint is used as the first start; the same seed gives the same network.
#[test]
fn hint_and_determinism() {
    let (_, la) = backends()[0];
    let teacher = TeacherConfig::new(9, 5, 2)
        .activation(Activation::Sigmoid)
        .seed(2)
        .generate()
        .unwrap();
    let hint: Vec<f64> = teacher.theta().iter().map(|t| t + 0.05).collect();
    let go = || {
        let oracle = NetworkOracle::new(teacher.clone());
        SecondLayer::new(teacher.a(), teacher.g(), teacher.h(), 2)
            .with_theta_hint(&hint)
            .recover(la, &oracle, &SecondLayerConfig::default(), 9)
            .unwrap()
    };
    let (r1, r2) = (go(), go());
    assert_eq!(
        r1.best().theta_starts,
        1,
        "the hint is the first start: {:?}",
        r1.best()
    );
    assert_eq!(r1.network, r2.network, "same seed, same network");
    assert_eq!(r1.queries, r2.queries);
}

/// An unreachable target forces every fallback: all Hessian points (each adding pairs and a
/// polish), then all attempts. The report must say the target was missed, keep the best
/// network (still the teacher), and count every query.
#[test]
fn fallbacks_are_counted_and_flagged() {
    let (kind, la) = backends()[0];
    let teacher = TeacherConfig::new(9, 5, 2).seed(4).generate().unwrap();
    let oracle = NetworkOracle::new(teacher.clone());
    let cfg = SecondLayerConfig::default()
        .with_target_residual(0.0)
        .with_max_attempts(2);
    let rep = SecondLayer::new(teacher.a(), teacher.g(), teacher.h(), 2)
        .recover(la, &oracle, &cfg, 5)
        .unwrap();
    assert!(
        !rep.reached_target,
        "{kind}: a zero target cannot be reached"
    );
    assert_eq!(rep.attempts.len(), 2, "{kind}: every attempt runs");
    for a in &rep.attempts {
        assert_eq!(
            a.hessian_points, 4,
            "{kind}: every Hessian point is used: {a:?}"
        );
        assert_eq!(a.candidates, 6, "{kind}: 4 points give 6 pairs: {a:?}");
        assert_eq!(
            a.polishes, 3,
            "{kind}: one polish per point from the second on: {a:?}"
        );
    }
    assert_eq!(
        rep.queries.hessians,
        2 * 4 * 7,
        "{kind}: 2 attempts × 4 points × (m1² + m1 + 1)"
    );
    assert_eq!(
        rep.queries.total(),
        oracle.queries(),
        "{kind}: query report vs oracle counter"
    );
    let best = rep
        .attempts
        .iter()
        .map(|a| a.polish_residual)
        .fold(f64::INFINITY, f64::min);
    assert!(
        rep.relative_residual <= best,
        "{kind}: the best attempt is returned"
    );
    assert!(
        rel_l2(&rep.network, &teacher) < 1e-8,
        "{kind}: the best network is still the teacher"
    );
}

/// A first layer off by ~1e-4 (the accuracy of a rough first-layer route): the step still
/// returns the nearby network, with its residual (~1e-4, far above the target) reported
/// and `reached_target` false, so the caller knows to refine A.
#[test]
fn rough_first_layer_is_reported_not_hidden() {
    for (kind, la) in backends() {
        for act in Activation::ALL {
            let teacher = TeacherConfig::new(12, 6, 3)
                .activation(act)
                .seed(2)
                .generate()
                .unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(6);
            let mut a = teacher.a().clone();
            for i in 0..6 {
                let mut c: Vec<f64> = a
                    .col(i)
                    .iter()
                    .map(|v| v + 3e-5 * rng.sample::<f64, _>(StandardNormal))
                    .collect();
                normalize(&mut c);
                a.col_mut(i).copy_from_slice(&c);
            }
            let oracle = NetworkOracle::new(teacher.clone());
            let cfg = SecondLayerConfig::default().with_max_attempts(1);
            let rep = recover_second_layer(la, &oracle, &a, act, act, 3, None, &cfg, 1).unwrap();
            let ctx = format!("{kind} {act}: {:?}", rep.best());
            assert!(!rep.reached_target, "{ctx}");
            assert!(
                rep.relative_residual > 1e-7 && rep.relative_residual < 1e-3,
                "{ctx}: residual {:e}",
                rep.relative_residual
            );
            let err = rel_l2(&rep.network, &teacher);
            assert!(err < 1e-3, "{ctx}: rel-L2 {err:e}");
        }
    }
}

/// The polish data: ⌈1.25·(m0 + m0·m1 + m1)⌉ points by default, e.g. 1.25·(5 + 10 + 2) = 21.25
/// → 22 at (m0, m1) = (5, 2).
#[test]
fn polish_point_counts_follow_the_factor() {
    let cfg = SecondLayerConfig::default();
    assert_eq!(cfg.polish_points(5, 2), 22);
    assert_eq!(cfg.polish_points(100, 50), 6438);
}
