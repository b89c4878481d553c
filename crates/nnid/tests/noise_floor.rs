//! The noise floor and the noise-aware certificate (issue 10) on exact, noisy and float32
//! oracles of small teachers.

use nnid::metrics::{Certificate, certify, gaussian_points};
use nnid::noise::{
    MAX_CERTIFICATE_THRESHOLD, NOISE_FLOOR_FACTOR, NOISE_FLOOR_POINTS, NoiseFloor,
    estimate_noise_floor,
};
use nnid::routes::gradient::RouteG;
use nnid::{Architecture, CERTIFICATE_THRESHOLD, RunOptions, Silent, Status, identify};
use nnid_linalg::{Linalg, norm2};
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Float32Oracle, Network, NetworkOracle, NoisyOracle, Oracle};

/// Validation points of the certificate, as in `RunOptions::default()`.
const VALIDATION: usize = 200;

fn teacher(act: Activation, seed: u64) -> Network {
    TeacherConfig::new(8, 4, 2)
        .activation(act)
        .seed(seed)
        .generate()
        .unwrap()
}

fn floor(oracle: &dyn Oracle, act: Activation, seed: u64) -> NoiseFloor {
    estimate_noise_floor(oracle, NOISE_FLOOR_POINTS, act.width(), seed).unwrap()
}

fn certificate(oracle: &dyn Oracle, net: &Network, noise: Option<&NoiseFloor>) -> Certificate {
    certify(
        oracle,
        net,
        VALIDATION,
        net.g().width(),
        CERTIFICATE_THRESHOLD,
        noise,
        77,
    )
    .unwrap()
}

/// Exact equality (the thresholds are chosen, not computed: no tolerance applies).
fn bitwise_eq(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

/// The teacher with every τ_l moved by `shift`: f moves by about Σ_l h'(z_l)·shift.
fn shifted(net: &Network, shift: f64) -> Network {
    let tau = net.tau().iter().map(|t| t + shift).collect();
    Network::new(
        net.a().clone(),
        net.theta().to_vec(),
        net.b().clone(),
        tau,
        net.g(),
        net.h(),
    )
    .unwrap()
}

/// RMS of `oracle`'s errors against the exact network, relative to the RMS of f, at 2000
/// points of the validation distribution: the floor the estimate should find.
fn measured_relative_error(oracle: &dyn Oracle, net: &Network) -> f64 {
    let points = gaussian_points(net.input_dim(), 2000, net.g().width(), 5);
    let exact = net.values(&points);
    let answers = oracle.query(&points).unwrap();
    let diff: Vec<f64> = answers.iter().zip(&exact).map(|(a, b)| a - b).collect();
    norm2(&diff) / norm2(&exact)
}

/// On an exact float64 oracle the floor is rounding (≈ 1e-16 relative; bound 1e-13, far
/// below 1e-9), so the certificate keeps the exact-oracle threshold 1e-9.
#[test]
fn an_exact_oracle_has_a_rounding_floor_and_keeps_the_threshold() {
    for act in Activation::ALL {
        for seed in 1..=3 {
            let net = teacher(act, seed);
            let oracle = NetworkOracle::new(net.clone());
            let f = floor(&oracle, act, seed);
            assert!(f.relative <= 1e-13, "{act} seed {seed}: {f:?}");
            assert_eq!(f.queries, 6 * NOISE_FLOOR_POINTS as u64);
            assert_eq!(oracle.queries(), f.queries, "every query is counted");
            let c = certificate(&oracle, &net, Some(&f));
            assert!(
                bitwise_eq(c.threshold, CERTIFICATE_THRESHOLD),
                "{act}: {c:?}"
            );
            assert!(!c.noise_limited && c.certified, "{act}: {c:?}");
            assert!(c.relative_noise_floor.unwrap() <= 1e-13);
        }
    }
}

/// σ = 1e-6: the estimate is within a factor 3 of σ. Each of its two parts is the RMS of 24
/// samples of N(0, σ²), σ·√(χ²₂₄/24), capped at 5 times their median-based estimate; it falls
/// below σ/3 only when χ²₂₄ < 2.7 (probability ≈ 1e-9) or 12 of the 24 samples are below
/// 0.045σ (≈ 1e-11), and the larger of the two parts exceeds 3σ only when χ²₂₄ > 216 for one
/// of them (< 1e-30). Ten fixed seeds; measured 0.74–1.15 σ over 20 seeds and three sizes.
#[test]
fn a_noisy_oracle_floor_is_within_a_factor_three_of_sigma() {
    let sigma = 1e-6;
    for seed in 1..=10 {
        let act = if seed % 2 == 0 {
            Activation::Sigmoid
        } else {
            Activation::Tanh
        };
        let noisy = NoisyOracle::new(NetworkOracle::new(teacher(act, seed)), sigma, seed).unwrap();
        let f = floor(&noisy, act, seed);
        assert!(
            f.absolute > sigma / 3.0 && f.absolute < 3.0 * sigma,
            "seed {seed}: {f:?}"
        );
        // Both kinds see independent noise, so it is additive for the width decision.
        assert!(f.repeat > sigma / 3.0 && f.stencil > sigma / 3.0, "{f:?}");
        assert!(
            !f.is_deterministic() && f.point_noise().per_value == 0.0,
            "{f:?}"
        );
    }
}

/// With σ = 1e-6 the exact network has a residual ≈ σ/RMS(f) ≫ 1e-9, so the exact-oracle
/// certificate refuses it and the noise-aware one (threshold 3 × floor, the floor ≈ σ) accepts
/// it. Networks with every τ_l shifted by 1e-5 and by 1e-4 move f by about 1e-5 and 1e-4 (h' is
/// O(1) at the validation points): residuals ≈ 10σ and 100σ, above 3 × a floor that is below
/// 3σ (previous test), so both fail.
#[test]
fn the_noise_aware_certificate_passes_the_truth_and_refuses_a_perturbed_network() {
    let sigma = 1e-6;
    for act in Activation::ALL {
        let net = teacher(act, 4);
        let noisy = NoisyOracle::new(NetworkOracle::new(net.clone()), sigma, 3).unwrap();
        let f = floor(&noisy, act, 4);

        let plain = certificate(&noisy, &net, None);
        assert!(
            !plain.certified,
            "{act}: 1e-9 cannot pass on noise: {plain:?}"
        );
        assert!(bitwise_eq(plain.threshold, CERTIFICATE_THRESHOLD));

        let c = certificate(&noisy, &net, Some(&f));
        assert!(c.certified && c.noise_limited, "{act}: {c:?}");
        let rel = c.relative_noise_floor.unwrap();
        assert!((c.threshold - NOISE_FLOOR_FACTOR * rel).abs() <= 1e-12 * c.threshold);
        assert!(
            c.accuracy >= rel && c.accuracy >= c.validation_rel_l2,
            "{c:?}"
        );

        for shift in [1e-5, 1e-4] {
            let wrong = certificate(&noisy, &shifted(&net, shift), Some(&f));
            assert!(!wrong.certified, "{act} shift {shift}: {wrong:?}");
            assert!(wrong.validation_rel_l2 > 3.0 * c.validation_rel_l2);
        }
    }
}

/// Noise ten times larger than f: the answers are mostly noise, the floor ≈ 1 relative to
/// them, but the threshold stops at 0.1, so nothing is certified (not even the exact network,
/// whose residual is ≈ 1).
#[test]
fn the_threshold_is_capped_when_noise_drowns_the_answers() {
    let net = teacher(Activation::Tanh, 1);
    let noisy = NoisyOracle::new(NetworkOracle::new(net.clone()), 10.0, 1).unwrap();
    let f = floor(&noisy, Activation::Tanh, 1);
    assert!(f.relative > 0.5, "{f:?}");
    let c = certificate(&noisy, &net, Some(&f));
    assert!(bitwise_eq(c.threshold, MAX_CERTIFICATE_THRESHOLD), "{c:?}");
    assert!(!c.certified && c.noise_limited, "{c:?}");
}

/// A float32 oracle rounds each answer to 2⁻²⁴ relative (ulps of 6e-8 to 1.2e-7 of |f|, a
/// uniform error of RMS ulp/√12), and with rounded queries adds ∇f·(rounding of x). The
/// estimate is within a factor 3 of the error measured against the exact network, about
/// 1e-8–1e-7 relative, and the exact network passes against it.
#[test]
fn a_float32_oracle_floor_is_its_rounding() {
    for act in Activation::ALL {
        for round_queries in [false, true] {
            for seed in 1..=3 {
                let net = teacher(act, seed);
                let oracle = Float32Oracle::new(NetworkOracle::new(net.clone()))
                    .round_queries(round_queries);
                let truth = measured_relative_error(&oracle, &net);
                let f = floor(&oracle, act, seed);
                let what = format!("{act} rounded queries {round_queries} seed {seed}");
                assert!(
                    f.relative > truth / 3.0 && f.relative < 3.0 * truth,
                    "{what}: floor {:.2e} vs measured {truth:.2e}",
                    f.relative
                );
                assert!((1e-8..3e-7).contains(&f.relative), "{what}: {f:?}");
                assert!(
                    bitwise_eq(f.repeat, 0.0),
                    "{what}: a deterministic oracle repeats itself"
                );
                // Rounding follows |f|: the width decision models it point by point.
                assert!(f.is_deterministic(), "{what}: {f:?}");
                assert!(bitwise_eq(f.point_noise().per_value, f.relative), "{what}");
                let c = certificate(&oracle, &net, Some(&f));
                assert!(c.certified && c.noise_limited, "{what}: {c:?}");
                assert!(c.threshold > 1e-8, "{what}: {c:?}");
            }
        }
    }
}

/// The whole run on a float32 oracle: its result misses 1e-9, so the `noise_floor` stage
/// runs after the certificate and is counted, and route G's network is certified against the
/// floor, not 1e-9; on the exact oracle the same run keeps 1e-9 and never runs the stage.
#[test]
fn identify_certifies_a_float32_oracle_against_its_floor() {
    let la = Linalg::default_backend().unwrap();
    let net = teacher(Activation::Tanh, 2);
    let arch = Architecture {
        d: 8,
        m0: 4,
        m1: 2,
        g: Activation::Tanh,
        h: Activation::Tanh,
    };
    let options = RunOptions {
        seed: 1,
        test_points: 1000,
        ..RunOptions::default()
    };
    let route = RouteG::default();
    let f32o = Float32Oracle::new(NetworkOracle::new(net.clone()));
    let out = identify(la, &f32o, &arch, &route, &options, &Silent, Some(&net));
    let r = &out.report;
    let names: Vec<&str> = r.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(&names[names.len() - 2..], ["certificate", "noise_floor"]);
    assert_eq!(r.queries["noise_floor"], 6 * NOISE_FLOOR_POINTS as u64);
    let floor = r.noise_floor.expect("estimated");
    assert!(floor.relative > 1e-8, "{floor:?}");
    let c = r.certificate.expect("a network was produced");
    assert_eq!(r.status, Status::Certified, "{c:?} {:?}", r.notes);
    assert!(
        c.noise_limited && c.threshold > CERTIFICATE_THRESHOLD,
        "{c:?}"
    );
    assert!(c.accuracy >= c.relative_noise_floor.unwrap());
    let truth = r.truth.as_ref().unwrap();
    assert!(truth.unit_ball.rel_l2 < 1e-6, "{:?}", truth.unit_ball);

    let exact = NetworkOracle::new(net.clone());
    let out = identify(la, &exact, &arch, &route, &options, &Silent, Some(&net));
    let c = out.report.certificate.unwrap();
    assert!(out.certified() && !c.noise_limited, "{c:?}");
    assert!(bitwise_eq(c.threshold, CERTIFICATE_THRESHOLD));
    assert!(
        out.report.noise_floor.is_none(),
        "an exact oracle pays no floor queries"
    );
    assert!(!out.report.queries.contains_key("noise_floor"));
}

/// The (12, 6, 3) tanh teacher of the `auto` tests, its architecture and run options.
fn small_auto_case() -> (Network, Architecture, RunOptions) {
    let net = TeacherConfig::new(12, 6, 3).seed(5).generate().unwrap();
    let arch = Architecture {
        d: 12,
        m0: 6,
        m1: 3,
        g: Activation::Tanh,
        h: Activation::Tanh,
    };
    let options = RunOptions {
        seed: 2,
        test_points: 1000,
        ..RunOptions::default()
    };
    (net, arch, options)
}

/// `auto` probes the floor first (48 queries): on a noisy oracle it skips route S and says
/// so, route G stops at the floor and the result is certified against it; on an exact oracle
/// route S runs and the probe is all the noise handling costs.
#[test]
fn auto_chooses_the_route_by_the_probed_floor() {
    let la = Linalg::default_backend().unwrap();
    let (net, arch, options) = small_auto_case();
    let auto = nnid::routes::auto::Auto::default();
    let noisy = NoisyOracle::new(NetworkOracle::new(net.clone()), 1e-6, 3).unwrap();
    let out = identify(la, &noisy, &arch, &auto, &options, &Silent, Some(&net));
    let r = &out.report;
    let names: Vec<&str> = r.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names[0], "noise_probe");
    assert_eq!(r.queries["noise_probe"], 48);
    assert!(
        !names.contains(&"first_layer"),
        "route S skipped: {names:?}"
    );
    assert!(
        r.notes.iter().any(|n| n.contains("route S skipped")),
        "{:?}",
        r.notes
    );
    assert!(out.certified(), "{:?} {:?}", r.certificate, r.notes);
    let lm = &r
        .stages
        .iter()
        .find(|s| s.name == "multistart_lm")
        .unwrap()
        .details;
    let rho = lm["relative_noise_floor"].as_f64().unwrap();
    assert!(
        (1e-7..1e-5).contains(&rho),
        "probed floor {rho:e} for σ = 1e-6"
    );
    assert!(bitwise_eq(lm["lm_rel_tol"].as_f64().unwrap(), 1.5 * rho));

    let exact = NetworkOracle::new(net.clone());
    let out = identify(la, &exact, &arch, &auto, &options, &Silent, Some(&net));
    let names: Vec<&str> = out.report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(&names[..2], ["noise_probe", "first_layer"]);
    assert!(out.certified() && out.report.noise_floor.is_none());
}

/// Route S's u-gradients: forward differences when the probe finds the answers exact (m0 + 1
/// queries per point), the spec's central ones at σ = 1e-12, where route S still runs but
/// the forward difference's noise term (100 times the central one's) would eat the θ fit's
/// margin; both certify.
#[test]
fn auto_takes_forward_u_gradients_only_on_exact_answers() {
    let la = Linalg::default_backend().unwrap();
    let (net, arch, options) = small_auto_case();
    let auto = nnid::routes::auto::Auto::default();
    let cases: [(Box<dyn Oracle>, &str); 2] = [
        (Box::new(NetworkOracle::new(net.clone())), "forward"),
        (
            Box::new(NoisyOracle::new(NetworkOracle::new(net.clone()), 1e-12, 3).unwrap()),
            "central",
        ),
    ];
    for (oracle, stencil) in cases {
        let out = identify(
            la,
            oracle.as_ref(),
            &arch,
            &auto,
            &options,
            &Silent,
            Some(&net),
        );
        let r = &out.report;
        let second = &r
            .stages
            .iter()
            .find(|s| s.name == "second_layer")
            .unwrap_or_else(|| panic!("{stencil}: no route S second layer: {:?}", r.notes))
            .details;
        assert_eq!(second["gradient_stencil"], stencil);
        let per_point = if stencil == "forward" { 6 + 1 } else { 2 * 6 };
        let k = nnid_bias_fit::SecondLayerConfig::default().gradient_points(6, 3) as u64;
        let attempts = second["attempts"].as_u64().unwrap();
        assert_eq!(
            second["queries"]["gradients"].as_u64(),
            Some(attempts * k * per_point),
            "{stencil}"
        );
        assert!(
            out.certified(),
            "{stencil}: {:?} {:?}",
            r.certificate,
            r.notes
        );
    }
}
