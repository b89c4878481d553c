//! Bad input is an error that names the problem, never a panic.

mod common;

use common::*;
use nnid_attribution::{
    Attribution, AttributionContext, AttributionError, CentreCombine, CorrelationCriterion,
    DriftConfig, DriftCriterion, ExactHessianProbe, SubspaceProbe, check_candidates,
};
use nnid_linalg::Mat;
use nnid_linalg::sym::SymSubspace;
use nnid_nn_model::teacher::TeacherConfig;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Eight unit candidates in R^6.
fn candidates() -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    Mat::from_columns(6, &(0..8).map(|_| unit(&mut rng, 6)).collect::<Vec<_>>())
}

fn both() -> [Box<dyn Attribution>; 2] {
    [
        Box::new(CorrelationCriterion),
        Box::new(DriftCriterion::default()),
    ]
}

#[test]
fn widths_and_counts_are_checked() {
    let c = candidates();
    let la = backends()[0];
    let probe = FixedProbe(rank1_span(la, &c));
    let ctx = AttributionContext::new(0).with_probe(&probe);
    for s in both() {
        let name = s.name();
        let err = s.attribute(la, &c, 6, 0, &ctx).unwrap_err();
        assert!(
            matches!(err, AttributionError::InvalidWidths { m0: 6, m1: 0 }),
            "{name}: {err}"
        );
        let err = s.attribute(la, &c, 0, 3, &ctx).unwrap_err();
        assert!(
            matches!(err, AttributionError::InvalidWidths { m0: 0, m1: 3 }),
            "{name}: {err}"
        );
        let err = s.attribute(la, &c, 9, 3, &ctx).unwrap_err();
        assert!(
            matches!(err, AttributionError::TooFewCandidates { n: 8, m0: 9 }),
            "{name}: {err}"
        );
        assert!(
            err.to_string().contains("need at least m0"),
            "{name}: {err}"
        );
        let err = s.attribute(la, &c, 5, 2, &ctx).unwrap_err();
        assert!(
            matches!(
                err,
                AttributionError::TooManyCandidates { n: 8, m0: 5, m1: 2 }
            ),
            "{name}: {err}"
        );
        let err = s.attribute(la, &Mat::zeros(0, 3), 2, 1, &ctx).unwrap_err();
        assert!(
            matches!(err, AttributionError::EmptyDimension),
            "{name}: {err}"
        );
    }
}

#[test]
fn non_finite_and_non_unit_candidates_are_rejected() {
    let la = backends()[0];
    let probe = FixedProbe(rank1_span(la, &candidates()));
    let ctx = AttributionContext::new(0).with_probe(&probe);
    for s in both() {
        let name = s.name();
        let mut c = candidates();
        c[(4, 5)] = f64::NAN;
        let err = s.attribute(la, &c, 5, 3, &ctx).unwrap_err();
        assert!(
            matches!(
                err,
                AttributionError::NonFinite {
                    candidate: 5,
                    row: 4,
                    ..
                }
            ),
            "{name}: {err}"
        );
        let mut c = candidates();
        c[(0, 2)] = f64::INFINITY;
        let err = s.attribute(la, &c, 5, 3, &ctx).unwrap_err();
        assert!(
            matches!(
                err,
                AttributionError::NonFinite {
                    candidate: 2,
                    row: 0,
                    ..
                }
            ),
            "{name}: {err}"
        );
        let mut c = candidates();
        c.col_mut(3).iter_mut().for_each(|x| *x *= 1.01);
        let err = s.attribute(la, &c, 5, 3, &ctx).unwrap_err();
        match err {
            AttributionError::NotUnit { candidate: 3, norm } => {
                assert!((norm - 1.01).abs() < 1e-12, "{name}: norm {norm}")
            }
            other => panic!("{name}: expected NotUnit for candidate 3, got {other}"),
        }
        // Within the tolerance is fine.
        let mut c = candidates();
        c.col_mut(3).iter_mut().for_each(|x| *x *= 1.0 + 1e-9);
        s.attribute(la, &c, 5, 3, &ctx).unwrap();
    }
    assert!(check_candidates(&candidates(), 5, 3).is_ok());
}

#[test]
fn drift_needs_a_probe_and_valid_settings() {
    let la = backends()[0];
    let c = candidates();
    let err = DriftCriterion::default()
        .attribute(la, &c, 5, 3, &AttributionContext::new(0))
        .unwrap_err();
    assert!(
        matches!(err, AttributionError::ProbeRequired { strategy: "drift" }),
        "{err}"
    );
    let probe = FixedProbe(rank1_span(la, &c));
    let ctx = AttributionContext::new(0).with_probe(&probe);
    let bad = [
        (
            DriftConfig {
                centres: 0,
                ..DriftConfig::default()
            },
            "centres",
        ),
        (
            DriftConfig {
                centre_scale: f64::NAN,
                ..DriftConfig::default()
            },
            "centre_scale",
        ),
        (
            DriftConfig {
                centre_scale: -1.0,
                combine: CentreCombine::Mean,
                ..DriftConfig::default()
            },
            "centre_scale",
        ),
    ];
    for (config, field) in bad {
        let err = DriftCriterion::new(config)
            .attribute(la, &c, 5, 3, &ctx)
            .unwrap_err();
        assert!(
            matches!(err, AttributionError::InvalidConfig { field: f, .. } if f == field),
            "{err}"
        );
    }
}

#[test]
fn probe_problems_are_reported_with_the_centre() {
    let la = backends()[0];
    let c = candidates();
    // A subspace of 5×5 matrices for candidates in R^6.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let small = Mat::from_columns(5, &(0..3).map(|_| unit(&mut rng, 5)).collect::<Vec<_>>());
    let probe = FixedProbe(rank1_span(la, &small));
    let err = DriftCriterion::default()
        .attribute(la, &c, 5, 3, &AttributionContext::new(0).with_probe(&probe))
        .unwrap_err();
    match &err {
        AttributionError::ProbeFailed {
            centre: 0, source, ..
        } => assert!(
            matches!(
                **source,
                AttributionError::DimensionMismatch {
                    expected: 6,
                    got: 5,
                    ..
                }
            ),
            "{err}"
        ),
        other => panic!("expected ProbeFailed(DimensionMismatch), got {other}"),
    }

    let empty = FixedProbe(SymSubspace::from_orthonormal(6, Mat::zeros(21, 0)));
    let err = DriftCriterion::default()
        .attribute(la, &c, 5, 3, &AttributionContext::new(0).with_probe(&empty))
        .unwrap_err();
    assert!(
        matches!(err, AttributionError::BadProbeSubspace { centre: 0, .. }),
        "{err}"
    );

    let mut basis = rank1_span(la, &c).basis().clone();
    basis[(3, 1)] = f64::NAN;
    let nan = FixedProbe(SymSubspace::from_orthonormal(6, basis));
    let err = DriftCriterion::default()
        .attribute(la, &c, 5, 3, &AttributionContext::new(0).with_probe(&nan))
        .unwrap_err();
    assert!(
        matches!(err, AttributionError::BadProbeSubspace { .. }),
        "{err}"
    );

    let err = DriftCriterion::default()
        .attribute(
            la,
            &c,
            5,
            3,
            &AttributionContext::new(0).with_probe(&FailingProbe),
        )
        .unwrap_err();
    assert!(matches!(err, AttributionError::ProbeFailed { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("centre") && text.contains("oracle went away"),
        "{text}"
    );
}

#[test]
fn exact_probe_checks_its_input() {
    let la = backends()[0];
    let net = TeacherConfig::new(6, 3, 2).seed(1).generate().unwrap();
    let probe = ExactHessianProbe::new(net.clone());
    let err = probe.subspace_at(la, &[0.0; 5], 0).unwrap_err();
    assert!(
        matches!(
            err,
            AttributionError::DimensionMismatch {
                expected: 6,
                got: 5,
                ..
            }
        ),
        "{err}"
    );
    let err = probe
        .clone()
        .with_radius(f64::NAN)
        .subspace_at(la, &[0.0; 6], 0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            AttributionError::InvalidConfig {
                field: "radius",
                ..
            }
        ),
        "{err}"
    );
    let mut few = probe.clone();
    few.points = Some(3);
    let err = few.subspace_at(la, &[0.0; 6], 0).unwrap_err();
    assert!(
        matches!(err, AttributionError::InvalidConfig { field: "k", .. }),
        "{err}"
    );
    // The default probe at the origin holds every a_i a_iᵀ to a good part (paper-spec §9).
    let sub = probe.subspace_at(la, &[0.0; 6], 0).unwrap();
    assert_eq!((sub.side(), sub.dim()), (6, 5));
    assert_eq!(probe.network(), &net);
}
