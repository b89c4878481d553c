//! Unknown widths (issue 10): `auto` decides m0 and m1 from the queries, the report holds the
//! widths and their evidence, and an oracle too noisy to decide them is an error naming why.

use nnid::routes::auto::{Auto, Widths};
use nnid::{IdentifyError, RunOptions, Silent, Status, identify_discovering};
use nnid_linalg::Linalg;
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Network, NetworkOracle, NoisyOracle, Oracle};
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
            prop_assert_eq!(stage_details(r, "widths_m1")["m1"].as_u64(), Some(m1 as u64));
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

#[test]
fn a_noisy_oracle_is_an_error_naming_the_floor() {
    let truth = TeacherConfig::new(12, 6, 3).seed(4).generate().unwrap();
    let oracle = NoisyOracle::new(NetworkOracle::new(truth.clone()), 1e-6, 9).unwrap();
    let out = run(&oracle, &truth, Widths::default(), 4);
    assert!(out.network.is_none());
    assert_eq!(out.report.status, Status::Failed);
    let err = out.report.error.unwrap();
    assert!(err.contains("noise floor") && err.contains("--m0"), "{err}");
    let expected = IdentifyError::WidthsUndecided(String::new()).to_string();
    assert!(err.starts_with(expected.trim_end()), "{err}");
}
