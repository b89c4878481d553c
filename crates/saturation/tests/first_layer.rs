//! Route S's first layer on small random teachers (debug builds: keep sizes small).
//!
//! Tolerances: the ridge polish is third order in the discovery error (≤ 1e-4 by the
//! polish_repeat_above rule) and then rounding-limited; the notes measure every a_i within
//! 3e-11 over 200 teachers per activation, and the release example ≤ 3e-11 over 800 more (both
//! polish stencils, both activations, sizes (8,4,2) to (30,30,10) incl. square A), so
//! 1e-9 leaves a margin of 30 while still failing on any FD-limited (≈1e-8) or wrong result.
//! θ̂ is only a rough start (the mid-level point of a step is y_i = 0 only when the ridge is
//! linear in g(y_i)), so only its typical size is checked.

use nnid_linalg::{BackendKind, Linalg, Mat, dot};
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Network, NetworkOracle, Oracle};
use nnid_saturation::{
    FirstLayer, PolishStart, PolishStencil, SaturationConfig, SaturationError, discover,
    first_layer, ridge_polish,
};

const A_TOL: f64 = 1e-9;

fn backends() -> Vec<Linalg<'static>> {
    let v: Vec<_> = BackendKind::compiled()
        .map(|k| k.linalg().unwrap())
        .collect();
    assert!(!v.is_empty(), "no linear-algebra backend compiled");
    v
}

/// For each true a_i: the distance up to sign to the nearest â_j, and |θ̂_j ∓ θ_i| for it.
fn match_errors(a: &Mat, theta: &[f64], net: &Network) -> Vec<(f64, f64)> {
    (0..net.m0())
        .map(|i| {
            let ai = net.a().col(i);
            (0..a.ncols())
                .map(|j| {
                    let s = dot(a.col(j), ai).signum();
                    let e = a
                        .col(j)
                        .iter()
                        .zip(ai)
                        .map(|(x, y)| (x - s * y).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    (e, (theta[j] - s * net.theta()[i]).abs())
                })
                .min_by(|x, y| x.0.total_cmp(&y.0))
                .unwrap()
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn teacher(d: usize, m0: usize, m1: usize, act: Activation, seed: u64) -> Network {
    TeacherConfig::new(d, m0, m1)
        .activation(act)
        .seed(seed)
        .generate()
        .unwrap()
}

fn check_exact(fl: &FirstLayer, net: &Network, what: &str) -> Vec<f64> {
    assert_eq!(fl.a.shape(), (net.input_dim(), net.m0()), "{what}: shape");
    let errs = match_errors(&fl.a, &fl.theta, net);
    let worst = errs.iter().fold(0.0_f64, |m, e| m.max(e.0));
    assert!(worst < A_TOL, "{what}: worst a_i error {worst:.3e}");
    for j in 0..fl.a.ncols() {
        let n = fl.a.col(j).iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((n - 1.0).abs() < 1e-14, "{what}: column {j} has norm {n}");
    }
    errs.iter().map(|e| e.1).collect()
}

#[test]
fn random_teachers_are_identified_to_rounding() {
    for la in backends() {
        let mut theta_errs: Vec<f64> = Vec::new();
        for act in Activation::ALL {
            for (k, &(d, m0, m1)) in [(8, 4, 2), (12, 6, 3), (20, 10, 5)].iter().enumerate() {
                for seed in 1..=2u64 {
                    let what = format!("{} {act} ({d},{m0},{m1}) seed {seed}", la.name());
                    let net = teacher(d, m0, m1, act, seed + 10 * k as u64);
                    let oracle = NetworkOracle::new(net.clone());
                    let fl = first_layer(
                        la,
                        &oracle,
                        Some(m0),
                        act,
                        &SaturationConfig::default(),
                        seed,
                    )
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                    let t = check_exact(&fl, &net, &what);
                    theta_errs.extend(t.iter().map(|e| e / act.width()));
                    // Every query counted, and the per-line log adds up.
                    let rep = &fl.report;
                    assert_eq!(fl.queries, oracle.queries(), "{what}: query count");
                    assert_eq!(
                        rep.discovery.queries + rep.polish.queries,
                        fl.queries,
                        "{what}"
                    );
                    assert_eq!(
                        rep.discovery.lines.iter().map(|l| l.queries).sum::<u64>(),
                        rep.discovery.queries,
                        "{what}"
                    );
                    // One polish round from discovery's ≤ 1e-4 directions.
                    assert_eq!(rep.polish.rounds, 1, "{what}: polish rounds");
                    assert!(rep.polish.converged(), "{what}");
                    assert!(
                        rep.discovery.a.ncols() == m0 && rep.polish.max_last_correction() < 1e-4,
                        "{what}"
                    );
                    // Queries go out to about the line reach √10·R (deflated lines add the
                    // offset that holds known neurons at |y| = 20), the polish much less far.
                    let reach = SaturationConfig::default().line_reach(d, m0, act);
                    assert!(
                        fl.farthest() > 0.5 * reach && fl.farthest() < 1.5 * reach,
                        "{what}: farthest {}",
                        fl.farthest()
                    );
                    assert!(
                        rep.polish.farthest < 0.5 * reach,
                        "{what}: polish farthest {}",
                        rep.polish.farthest
                    );
                }
            }
        }
        // θ̂ is a rough start: typically within half a transition width.
        let med = median(theta_errs.clone());
        assert!(med < 0.6, "{}: median |θ̂ − θ|/width = {med:.3}", la.name());
    }
}

#[test]
fn forward_stencil_also_reaches_rounding_with_fewer_queries() {
    let la = backends()[0];
    for act in Activation::ALL {
        let (d, m0, m1) = (12, 6, 3);
        let net = teacher(d, m0, m1, act, 5);
        let disc = discover(
            la,
            &NetworkOracle::new(net.clone()),
            Some(m0),
            act,
            &SaturationConfig::default(),
            5,
        )
        .unwrap();
        let mut polished = Vec::new();
        for stencil in [PolishStencil::Central, PolishStencil::Forward] {
            let cfg = SaturationConfig {
                polish_stencil: stencil,
                ..Default::default()
            };
            let oracle = NetworkOracle::new(net.clone());
            let rep = ridge_polish(la, &oracle, &disc, act, &cfg, 9).unwrap();
            let worst = match_errors(&rep.a, &rep.theta, &net)
                .iter()
                .fold(0.0_f64, |m, e| m.max(e.0));
            assert!(
                worst < A_TOL,
                "{act} {stencil:?}: worst a_i error {worst:.3e}"
            );
            assert_eq!(rep.queries, oracle.queries());
            polished.push(rep.queries);
        }
        // Central: 2d per neuron; forward: d + 2.
        assert_eq!(
            polished,
            vec![(2 * d * m0) as u64, ((d + 2) * m0) as u64],
            "{act}"
        );
    }
}

#[test]
fn polish_converges_from_a_perturbed_start_in_extra_rounds() {
    // From errors of 1e-3 one round leaves ~1e-9 (third order), so a second round runs and
    // ends at rounding; its correction is the first round's residual.
    let la = backends()[0];
    let net = teacher(10, 5, 3, Activation::Tanh, 3);
    let mut a = net.a().clone();
    for j in 0..5 {
        for i in 0..10 {
            a[(i, j)] += 1e-3 * (((i * 7 + j * 3) % 5) as f64 - 2.0) / 2.0;
        }
    }
    let oracle = NetworkOracle::new(net.clone());
    let rep = ridge_polish(
        la,
        &oracle,
        PolishStart::new(&a, net.theta()),
        Activation::Tanh,
        &SaturationConfig::default(),
        1,
    )
    .unwrap();
    let worst = match_errors(&rep.a, &rep.theta, &net)
        .iter()
        .fold(0.0_f64, |m, e| m.max(e.0));
    assert!(worst < A_TOL, "worst a_i error {worst:.3e}");
    assert!(rep.rounds >= 2 && rep.converged(), "rounds {}", rep.rounds);
    for (i, n) in rep.neurons.iter().enumerate() {
        assert!(
            n.corrections[0] > 1e-4,
            "neuron {i}: first correction {:.2e}",
            n.corrections[0]
        );
        let last = *n.corrections.last().unwrap();
        assert!(last < 1e-7, "neuron {i}: corrections {:?}", n.corrections);
    }
    assert_eq!(rep.queries, oracle.queries());
}

/// The first square (d, d, 3) teacher (seeds from `from`) whose A has condition number at
/// least `min_cond`: ill-conditioned the way the notes' cond-1.4e5 teacher was (a near linear
/// dependence among many unit Gaussian columns, no two of them nearly parallel).
fn ill_conditioned_teacher(
    la: Linalg<'_>,
    d: usize,
    act: Activation,
    min_cond: f64,
    from: u64,
) -> (Network, f64) {
    (from..from + 2000)
        .map(|seed| teacher(d, d, 3, act, seed))
        .map(|net| {
            let s = la.svd(net.a()).unwrap().s;
            let cond = s[0] / s[d - 1];
            (net, cond)
        })
        .find(|(_, cond)| *cond >= min_cond)
        .expect("a Gaussian square matrix has cond ≥ 1e3 with probability about 1 %")
}

#[test]
fn ill_conditioned_square_a_is_identified() {
    for la in backends() {
        for act in Activation::ALL {
            let (net, cond) = ill_conditioned_teacher(la, 10, act, 1e3, 100);
            let max_cos = (0..10)
                .flat_map(|i| (0..i).map(move |j| (i, j)))
                .map(|(i, j)| dot(net.a().col(i), net.a().col(j)).abs())
                .fold(0.0_f64, f64::max);
            let what = format!(
                "{} {act}, cond {cond:.2e}, max |cos| {max_cos:.3}",
                la.name()
            );
            let oracle = NetworkOracle::new(net.clone());
            let fl = first_layer(la, &oracle, Some(10), act, &SaturationConfig::default(), 4)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            check_exact(&fl, &net, &what);
            assert_eq!(fl.queries, oracle.queries(), "{what}");
        }
    }
}

/// U·diag(σ)·Vᵀ with random orthogonal U, V and σ log-spaced over 1…1e-3, columns then
/// normalised: here the small singular value ends up in a nearly parallel pair of columns.
fn nearly_parallel_pair(la: Linalg<'_>, d: usize, seed: u64) -> Mat {
    let g = |s| teacher(d, d, 1, Activation::Tanh, s).a().clone();
    let (u, v) = (la.qr(&g(seed)).unwrap().q, la.qr(&g(seed + 1)).unwrap().q);
    let sig: Vec<f64> = (0..d)
        .map(|k| 10f64.powf(-3.0 * k as f64 / (d - 1) as f64))
        .collect();
    let mut a = Mat::from_fn(d, d, |i, j| {
        (0..d).map(|k| u[(i, k)] * sig[k] * v[(j, k)]).sum()
    });
    for j in 0..d {
        nnid_linalg::normalize(a.col_mut(j));
    }
    a
}

#[test]
fn nearly_parallel_neurons_need_the_offset_rule() {
    let la = backends()[0];
    let base = teacher(10, 10, 3, Activation::Tanh, 21);
    let a = nearly_parallel_pair(la, 10, 40);
    let max_cos = (0..10)
        .flat_map(|i| (0..i).map(move |j| (i, j)))
        .map(|(i, j)| dot(a.col(i), a.col(j)).abs())
        .fold(0.0_f64, f64::max);
    assert!(
        max_cos > 0.99,
        "the construction should give a pair with |cos| > dup_cos: {max_cos}"
    );
    let net = Network::new(
        a,
        base.theta().to_vec(),
        base.b().clone(),
        base.tau().to_vec(),
        Activation::Tanh,
        Activation::Tanh,
    )
    .unwrap();
    // With the cosine rule alone the second neuron of the pair is always a "duplicate".
    let oracle = NetworkOracle::new(net.clone());
    let plain = discover(
        la,
        &oracle,
        Some(10),
        Activation::Tanh,
        &SaturationConfig {
            max_lines: 10,
            ..Default::default()
        },
        4,
    );
    assert!(
        matches!(plain, Err(SaturationError::Incomplete { found: 9, .. })),
        "{plain:?}"
    );
    // The hyperplane-offset rule tells them apart.
    let cfg = SaturationConfig {
        dup_offset: Some(20.0),
        ..Default::default()
    };
    let oracle = NetworkOracle::new(net.clone());
    let fl = first_layer(la, &oracle, Some(10), Activation::Tanh, &cfg, 4).unwrap();
    check_exact(
        &fl,
        &net,
        &format!("nearly parallel pair, |cos| = {max_cos:.4}"),
    );
}

#[test]
fn unknown_width_is_found_with_evidence() {
    let la = backends()[0];
    let net = teacher(12, 6, 3, Activation::Tanh, 8);
    let oracle = NetworkOracle::new(net.clone());
    let cfg = SaturationConfig::default();
    let fl = first_layer(la, &oracle, None, Activation::Tanh, &cfg, 2).unwrap();
    check_exact(&fl, &net, "m0 unknown");
    let ev = fl
        .report
        .discovery
        .width_evidence
        .expect("evidence when m0 is unknown");
    assert_eq!(ev.quiet_lines, cfg.quiet_lines);
    assert!(fl.report.discovery.lines.len() >= cfg.random_lines + cfg.quiet_lines);
    // m0 unknown: the radius is set from d.
    assert!(
        (fl.report.discovery.line_radius - cfg.line_radius(12, 12, Activation::Tanh)).abs() < 1e-9
    );
}

#[test]
fn same_seed_same_result() {
    let la = backends()[0];
    let net = teacher(12, 6, 3, Activation::Sigmoid, 4);
    let run = |seed| {
        let oracle = NetworkOracle::new(net.clone());
        first_layer(
            la,
            &oracle,
            Some(6),
            Activation::Sigmoid,
            &SaturationConfig::default(),
            seed,
        )
        .unwrap()
    };
    let (x, y, z) = (run(7), run(7), run(8));
    assert_eq!(x.a, y.a);
    assert_eq!(x.theta, y.theta);
    assert_eq!(x.queries, y.queries);
    assert_eq!(x.report.discovery.lines, y.report.discovery.lines);
    // Another seed takes other lines (different query points, so different counts or Â).
    assert!(x.queries != z.queries || x.report.discovery.a != z.report.discovery.a);
}

#[test]
fn a_too_small_radius_fails_before_querying() {
    let la = backends()[0];
    let net = teacher(12, 6, 3, Activation::Tanh, 1);
    let oracle = NetworkOracle::new(net);
    let cfg = SaturationConfig {
        max_radius: Some(100.0),
        ..Default::default()
    };
    match first_layer(la, &oracle, Some(6), Activation::Tanh, &cfg, 1) {
        Err(SaturationError::RadiusTooSmall {
            needed, max_radius, ..
        }) => {
            let reach = cfg.line_reach(12, 6, Activation::Tanh);
            assert!((needed - reach).abs() < 1e-9 * reach && (max_radius - 100.0).abs() < 1e-12);
        }
        other => panic!("expected RadiusTooSmall, got {other:?}"),
    }
    assert_eq!(oracle.queries(), 0);
    // A bound just above the line reach lets the route run (and it honours the bound).
    let net = teacher(12, 6, 3, Activation::Tanh, 1);
    let oracle = NetworkOracle::new(net);
    let bound = cfg.line_reach(12, 6, Activation::Tanh) * 1.01;
    let cfg = SaturationConfig {
        max_radius: Some(bound),
        ..Default::default()
    };
    let fl = first_layer(la, &oracle, Some(6), Activation::Tanh, &cfg, 1).unwrap();
    assert!(fl.farthest() <= bound);
}

#[test]
fn the_line_cap_reports_how_many_were_found() {
    let la = backends()[0];
    let net = teacher(20, 10, 5, Activation::Tanh, 2);
    let oracle = NetworkOracle::new(net);
    let cfg = SaturationConfig {
        max_lines: 1,
        ..Default::default()
    };
    let err = discover(la, &oracle, Some(10), Activation::Tanh, &cfg, 3).unwrap_err();
    let msg = err.to_string();
    match err {
        SaturationError::Incomplete {
            found,
            wanted,
            lines,
            queries,
            log,
        } => {
            // The cap is max(max_lines, ⌈m0/8⌉) = 2 lines here.
            let cap = cfg.line_cap(Some(10), 20);
            assert_eq!(cap, 2);
            assert!(
                found < 10 && wanted == 10 && lines == cap,
                "found {found} of {wanted} in {lines}"
            );
            assert_eq!(queries, oracle.queries());
            assert_eq!(log.len(), cap);
            assert_eq!(log.iter().map(|l| l.accepted).sum::<usize>(), found);
            assert!(msg.contains(&format!("found {found} of 10")), "{msg}");
        }
        other => panic!("expected Incomplete, got {other:?}"),
    }
}

#[test]
fn bad_input_is_an_error() {
    let la = backends()[0];
    let net = teacher(6, 3, 2, Activation::Tanh, 1);
    let oracle = NetworkOracle::new(net.clone());
    let cfg = SaturationConfig::default();
    for m0 in [0, 7] {
        assert!(matches!(
            discover(la, &oracle, Some(m0), Activation::Tanh, &cfg, 1),
            Err(SaturationError::InvalidInput { what: "m0", .. })
        ));
    }
    let bad_cfg = SaturationConfig {
        bracket: -1.0,
        ..Default::default()
    };
    assert!(matches!(
        discover(la, &oracle, Some(3), Activation::Tanh, &bad_cfg, 1),
        Err(SaturationError::InvalidConfig {
            field: "bracket",
            ..
        })
    ));
    let wrong_rows = Mat::zeros(5, 3);
    assert!(matches!(
        ridge_polish(
            la,
            &oracle,
            PolishStart::new(&wrong_rows, &[0.0; 3]),
            Activation::Tanh,
            &cfg,
            1
        ),
        Err(SaturationError::InvalidInput { what: "a", .. })
    ));
    let mut dup = net.a().clone();
    let c0 = dup.col(0).to_vec();
    dup.col_mut(1).copy_from_slice(&c0);
    assert!(matches!(
        ridge_polish(
            la,
            &oracle,
            PolishStart::new(&dup, net.theta()),
            Activation::Tanh,
            &cfg,
            1
        ),
        Err(SaturationError::InvalidInput { what: "a", .. })
    ));
    assert!(matches!(
        ridge_polish(
            la,
            &oracle,
            PolishStart::new(net.a(), &[0.0; 2]),
            Activation::Tanh,
            &cfg,
            1
        ),
        Err(SaturationError::InvalidInput { what: "theta", .. })
    ));
    assert_eq!(oracle.queries(), 0);
}

#[test]
fn errors_are_send_and_sync() {
    fn check<T: Send + Sync + std::error::Error + 'static>() {}
    check::<SaturationError>();
}

/// A black box that is constant: no line shows a jump.
struct Constant(usize);

impl Oracle for Constant {
    fn input_dim(&self) -> usize {
        self.0
    }
    fn query(&self, points: &Mat) -> Result<Vec<f64>, nnid_nn_model::OracleError> {
        Ok(vec![0.5; points.ncols()])
    }
    fn queries(&self) -> u64 {
        0
    }
}

#[test]
fn a_constant_function_has_no_first_layer() {
    let la = backends()[0];
    let cfg = SaturationConfig::default();
    match discover(la, &Constant(6), None, Activation::Tanh, &cfg, 1) {
        Err(SaturationError::NothingFound { lines, .. }) => {
            assert_eq!(lines, cfg.random_lines + cfg.quiet_lines)
        }
        other => panic!("expected NothingFound, got {other:?}"),
    }
    match discover(la, &Constant(6), Some(2), Activation::Tanh, &cfg, 1) {
        Err(SaturationError::Incomplete {
            found: 0,
            wanted: 2,
            lines,
            ..
        }) => assert_eq!(lines, cfg.max_lines),
        other => panic!("expected Incomplete, got {other:?}"),
    }
}

#[test]
fn a_ridge_flatter_than_allowed_is_an_error() {
    let la = backends()[0];
    let net = teacher(8, 4, 2, Activation::Tanh, 1);
    let oracle = NetworkOracle::new(net.clone());
    let cfg = SaturationConfig {
        polish_good_slope: 1e3,
        polish_min_slope: 1e3,
        ..Default::default()
    };
    match ridge_polish(
        la,
        &oracle,
        PolishStart::new(net.a(), net.theta()),
        Activation::Tanh,
        &cfg,
        1,
    ) {
        Err(SaturationError::FlatRidge {
            tries, best_slope, ..
        }) => {
            assert_eq!(tries, cfg.polish_tries);
            assert!(best_slope > 0.0 && best_slope < 1e3);
        }
        other => panic!("expected FlatRidge, got {other:?}"),
    }
}
