//! Unknown widths (issue 10): `auto` decides m0 and m1 from the queries (route S on exact
//! oracles, route G on noisy ones), the report holds the widths and their evidence, and an
//! oracle too noisy to decide them is an error naming why.

use nnid::routes::auto::{Auto, Widths};
use nnid::{IdentifyError, RunOptions, Silent, Status, identify_discovering};
use nnid_linalg::Linalg;
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Float32Oracle, Network, NetworkOracle, NoisyOracle, Oracle};
use proptest::prelude::*;

fn la() -> Linalg<'static> {
    nnid_linalg::BackendKind::default_compiled()
        .unwrap()
        .linalg()
        .unwrap()
}

fn run(oracle: &dyn Oracle, truth: &Network, widths: Widths, seed: u64) -> nnid::Outcome {
    let options = RunOptions {
        seed,
        test_points: 2000,
        ..RunOptions::default()
    };
    identify_discovering(
        la(),
        oracle,
        truth.input_dim(),
        (truth.g(), truth.h()),
        widths,
        &Auto::default(),
        &options,
        &Silent,
        Some(truth),
    )
}

fn stage_details<'r>(report: &'r nnid::Report, name: &str) -> &'r serde_json::Value {
    &report
        .stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
        .details
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// With neither width given, a certified run has decided both exactly and identified the
    /// teacher (the certificate is 1e-9 on an exact oracle; the truth check uses the same
    /// 1e-6 / 1e-4 criteria as the robust grid).
    #[test]
    fn both_widths_are_decided_and_certified(m0 in 3usize..9, m1_frac in 0.1f64..0.9, extra in 0usize..6, seed in 0u64..500, sigmoid in any::<bool>()) {
        let m1 = ((m0 as f64 * m1_frac) as usize).clamp(1, m0 - 1);
        let act = if sigmoid { Activation::Sigmoid } else { Activation::Tanh };
        let truth = TeacherConfig::new(m0 + extra, m0, m1).activation(act).seed(seed).generate().unwrap();
        let oracle = NetworkOracle::new(truth.clone());
        let out = run(&oracle, &truth, Widths::default(), seed);
        let r = &out.report;
        prop_assert!(r.status != Status::Failed || r.error.is_some());
        if out.certified() {
            prop_assert_eq!((r.m0, r.m1), (m0, m1), "certified with wrong widths: {:?}", r.notes);
            let t = r.truth.as_ref().unwrap();
            prop_assert_eq!(t.first_layer.found, m0);
            prop_assert!(t.unit_ball.rel_l2 < 1e-6, "rel-L2 {}", t.unit_ball.rel_l2);
            // The rank condition's decision, or a wider one that the output-independence
            // check moved down (with a note saying so).
            let searched = stage_details(r, "widths_m1")["m1"].as_u64();
            let corrected = r.notes.iter().any(|n| n.contains("dependent second-layer outputs"));
            prop_assert!(searched == Some(m1 as u64) || corrected, "{:?} {:?}", searched, r.notes);
        }
    }
}

#[test]
fn decided_widths_match_given_ones_on_typical_teachers() {
    for (act, seed) in [(Activation::Tanh, 1), (Activation::Sigmoid, 2)] {
        let truth = TeacherConfig::new(20, 10, 5)
            .activation(act)
            .seed(seed)
            .generate()
            .unwrap();
        let oracle = NetworkOracle::new(truth.clone());
        let out = run(&oracle, &truth, Widths::default(), seed);
        assert!(
            out.certified(),
            "{act}: {:?} {:?}",
            out.report.error,
            out.report.notes
        );
        assert_eq!((out.report.m0, out.report.m1), (10, 5));
        assert_eq!(out.report.parameters, 20 * 10 + 10 * 5 + 10 + 5);
        let evidence = &stage_details(&out.report, "first_layer")["width_evidence"];
        assert!(evidence["quiet_lines"].as_u64().unwrap() >= 1, "{evidence}");
        // m1 given, m0 decided: no widths_m1 stage.
        let oracle = NetworkOracle::new(truth.clone());
        let out = run(
            &oracle,
            &truth,
            Widths {
                m0: None,
                m1: Some(5),
            },
            seed,
        );
        assert!(out.certified());
        assert!(out.report.stages.iter().all(|s| s.name != "widths_m1"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    /// On noisy answers route G decides the widths (m0 from the gradient span, m1 by the
    /// fit): a certified run has both exactly, and its error against the truth is of the
    /// order of the noise (the certificate's threshold is 3× the probed floor; the function
    /// error measured in docs/results/noise.md is below 2σ).
    #[test]
    fn noisy_oracles_get_both_widths_from_route_g(m0 in 2usize..6, m1_frac in 0.1f64..1.0, extra in 0usize..4, seed in 0u64..500, sigmoid in any::<bool>(), sigma in prop::sample::select(vec![1e-8f64, 1e-6])) {
        let m1 = ((m0 as f64 * m1_frac) as usize).clamp(1, m0);
        let act = if sigmoid { Activation::Sigmoid } else { Activation::Tanh };
        let truth = TeacherConfig::new(m0 + extra, m0, m1).activation(act).seed(seed).generate().unwrap();
        let oracle = NoisyOracle::new(NetworkOracle::new(truth.clone()), sigma, seed).unwrap();
        let out = run(&oracle, &truth, Widths::default(), seed);
        let r = &out.report;
        prop_assert!(r.status != Status::Failed || r.error.is_some());
        if out.certified() {
            prop_assert_eq!((r.m0, r.m1), (m0, m1), "certified with wrong widths: {:?}", r.notes);
            prop_assert_eq!(stage_details(r, "widths_m0")["m0"].as_u64(), Some(m0 as u64));
            let t = r.truth.as_ref().unwrap();
            prop_assert!(t.unit_ball.rel_l2 < 1e3 * sigma, "rel-L2 {}", t.unit_ball.rel_l2);
        }
    }
}

#[test]
fn float32_oracles_get_the_given_widths_from_route_g() {
    for (act, seed) in [(Activation::Tanh, 1), (Activation::Sigmoid, 2)] {
        let truth = TeacherConfig::new(20, 10, 5)
            .activation(act)
            .seed(seed)
            .generate()
            .unwrap();
        let oracle = Float32Oracle::new(NetworkOracle::new(truth.clone()));
        let out = run(&oracle, &truth, Widths::default(), seed);
        assert!(
            out.certified(),
            "{act}: {:?} {:?}",
            out.report.error,
            out.report.notes
        );
        assert_eq!((out.report.m0, out.report.m1), (10, 5));
        let t = out.report.truth.as_ref().unwrap();
        assert_eq!(t.first_layer.found, 10, "{act}");
        let m1 = stage_details(&out.report, "widths_m1");
        let rejected_below = m1["trials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["m1"] == 4 && t["certified"] == false);
        assert!(rejected_below, "{m1}");
    }
}

#[test]
fn an_oracle_too_noisy_for_the_span_is_an_error_naming_the_spectrum() {
    let truth = TeacherConfig::new(12, 6, 3).seed(4).generate().unwrap();
    let oracle = NoisyOracle::new(NetworkOracle::new(truth.clone()), 1e-2, 9).unwrap();
    let out = run(&oracle, &truth, Widths::default(), 4);
    assert!(out.network.is_none());
    assert_eq!(out.report.status, Status::Failed);
    let err = out.report.error.unwrap();
    assert!(
        err.contains("m0 cannot be decided") && err.contains("s_"),
        "{err}"
    );
    let expected = IdentifyError::WidthsUndecided(String::new()).to_string();
    assert!(err.starts_with(expected.trim_end()), "{err}");
}

/// Regression (docs/oracles.md): float32 rounding grows with |f|, so with one σ for every
/// gradient point the largest noise singular value of this teacher's span sat 1.7–1.9 times
/// above the prediction (above the 1.5 ceiling) and m0 was left undecided for identification
/// seeds 1 and 6; the point-by-point noise model decides it.
#[test]
fn float32_m0_is_decided_where_one_sigma_per_point_left_it_open() {
    let truth = TeacherConfig::new(20, 10, 5).seed(2).generate().unwrap();
    for seed in [1, 6] {
        let oracle = Float32Oracle::new(NetworkOracle::new(truth.clone()));
        let widths = Widths {
            m0: None,
            m1: Some(5),
        };
        let out = run(&oracle, &truth, widths, seed);
        let r = &out.report;
        assert!(out.certified(), "seed {seed}: {:?} {:?}", r.error, r.notes);
        let span = stage_details(r, "widths_m0");
        assert_eq!(span["m0"].as_u64(), Some(10), "{span}");
        assert_eq!(r.truth.as_ref().unwrap().first_layer.found, 10);
    }
}

/// Regression (fd-hessian width.rs, a property-test case): this (7, 7, 3) sigmoid teacher
/// has a neuron whose gradients lie at the float32 noise of the span, so for some seeds m0
/// comes out 6 (seed 7: the 7th singular value is 1.1 times the prediction). No rule on
/// that spectrum can see the neuron; what must hold is that no run certifies a wrong width,
/// and that the error says the missing neuron may be hidden below the noise.
#[test]
fn a_neuron_below_the_span_noise_is_never_certified_away() {
    let truth = TeacherConfig::new(7, 7, 3)
        .activation(Activation::Sigmoid)
        .seed(51)
        .generate()
        .unwrap();
    let oracle = Float32Oracle::new(NetworkOracle::new(truth.clone()));
    let out = run(&oracle, &truth, Widths::default(), 7);
    let r = &out.report;
    assert_eq!(stage_details(r, "widths_m0")["m0"].as_u64(), Some(6));
    assert!(!out.certified(), "{:?}", r.notes);
    let error = r.error.as_deref().unwrap_or_default();
    assert!(error.contains("not counted in m0"), "{error}");
}
