//! Both strategies on constructions where the right split is known.

mod common;

use common::*;
use nnid_attribution::{
    Attribution, AttributionContext, CentreCombine, CorrelationCriterion, DriftConfig,
    DriftCriterion, ExactHessianProbe, Label, default_strategy, strategy_by_name,
};
use nnid_linalg::{Linalg, Mat, dot, norm2};
use nnid_nn_model::Activation;
use nnid_nn_model::teacher::TeacherConfig;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Orthonormal a_i and flat v_l = A c_l (c_l = ±1/√m0): every a-score is exactly m1/m0
/// (⟨a_k, v_l⟩ = ±1/√m0, the a_i orthogonal), every v-score is at least Σ_i c_li² = 1, so
/// the paper's criterion splits them exactly whenever m1 < m0.
#[test]
fn correlation_splits_orthonormal_first_layer_from_dense_entangled() {
    for la in backends() {
        for (seed, (d, m0, m1)) in [(12, 6, 3), (20, 10, 5), (30, 30, 10), (9, 3, 2)]
            .into_iter()
            .enumerate()
        {
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
            let a = perturbed_orthonormal(la, &mut rng, d, m0, 0.0);
            let v = flat_entangled(&mut rng, &a, m1);
            let (cands, is_v) = shuffled(&mut rng, &a, &v);
            let rep = CorrelationCriterion
                .attribute(la, &cands, m0, m1, &AttributionContext::new(0))
                .unwrap();
            let tag = format!("{} ({d}, {m0}, {m1})", la.name());
            assert_eq!(rep.strategy, "correlation");
            assert_eq!(rep.high_score_means, Label::Entangled, "{tag}");
            assert_eq!(rep.missing_entangled, 0, "{tag}");
            for (k, &s) in rep.scores.iter().enumerate() {
                if is_v[k] {
                    assert!(s >= 1.0 - 1e-12, "{tag}: v-score {s} below 1");
                    assert_eq!(rep.label(k), Label::Entangled, "{tag}: candidate {k}");
                } else {
                    let expect = m1 as f64 / m0 as f64;
                    assert!(
                        (s - expect).abs() < 1e-12,
                        "{tag}: a-score {s}, expected m1/m0 = {expect}"
                    );
                    assert_eq!(rep.label(k), Label::FirstLayer, "{tag}: candidate {k}");
                }
            }
            assert_eq!(rep.first_layer.len(), m0, "{tag}");
            assert_eq!(entangled_right(&rep.entangled, &is_v), m1, "{tag}");
            let margin = rep.margin.unwrap();
            assert!(
                margin >= 1.0 - m1 as f64 / m0 as f64 - 1e-12,
                "{tag}: margin {margin}"
            );
        }
    }
}

/// The scores are the definition, computed naively.
#[test]
fn correlation_scores_match_the_definition() {
    for la in backends() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let cands = Mat::from_columns(7, &(0..5).map(|_| unit(&mut rng, 7)).collect::<Vec<_>>());
        let s = CorrelationCriterion::scores(la, &cands);
        assert_eq!(s.len(), 5);
        for (k, score) in s.iter().enumerate() {
            let naive: f64 = (0..5)
                .filter(|&j| j != k)
                .map(|j| dot(cands.col(k), cands.col(j)).powi(2))
                .sum();
            assert!(
                (score - naive).abs() < 1e-13,
                "{}: score {k}: {score} vs {naive}",
                la.name()
            );
        }
    }
}

/// A probe that returns exactly span{a_i a_iᵀ} ∪ {v'_l v'_lᵀ}, with every v' turned by a
/// random vector of norm 0.5: the a_i score 1 (to rounding) at every centre, the v_l less,
/// so the drift criterion splits exactly, also with A far from orthonormal.
#[test]
fn drift_splits_when_the_probe_keeps_first_layer_and_turns_entangled() {
    for la in backends() {
        for (seed, (d, m0, m1, eps)) in [(12, 6, 3, 0.0), (20, 10, 5, 0.3), (15, 15, 5, 0.5)]
            .into_iter()
            .enumerate()
        {
            let mut rng = ChaCha8Rng::seed_from_u64(100 + seed as u64);
            let a = perturbed_orthonormal(la, &mut rng, d, m0, eps);
            let v = flat_entangled(&mut rng, &a, m1);
            let (cands, is_v) = shuffled(&mut rng, &a, &v);
            let probe = TurningProbe {
                la,
                a: a.clone(),
                v: v.clone(),
                turn: 0.5,
            };
            for combine in [CentreCombine::Max, CentreCombine::Mean] {
                let tag = format!("{} ({d}, {m0}, {m1}), eps {eps}, {combine:?}", la.name());
                let drift = DriftCriterion::new(DriftConfig {
                    centres: 4,
                    centre_scale: 3.0,
                    combine,
                });
                let ctx = AttributionContext::new(seed as u64).with_probe(&probe);
                let rep = drift.attribute(la, &cands, m0, m1, &ctx).unwrap();
                assert_eq!(rep.high_score_means, Label::FirstLayer, "{tag}");
                assert_eq!(rep.centres.len(), 4, "{tag}");
                assert_eq!(rep.centre_scores.len(), 4, "{tag}");
                for (k, &s) in rep.scores.iter().enumerate() {
                    if is_v[k] {
                        assert!(s < 0.999, "{tag}: v-score {s}");
                    } else {
                        assert!(s > 1.0 - 1e-10, "{tag}: a-score {s}");
                    }
                }
                assert_eq!(
                    rep.labels(),
                    is_v.iter()
                        .map(|&b| if b {
                            Label::Entangled
                        } else {
                            Label::FirstLayer
                        })
                        .collect::<Vec<_>>(),
                    "{tag}"
                );
            }
        }
    }
}

/// If the entangled weights did not turn, they would stay in the subspace and score 1 too:
/// the criterion rests on the drift, not on anything else.
#[test]
fn drift_scores_are_one_for_every_vector_inside_the_probe_subspace() {
    for la in backends() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let a = perturbed_orthonormal(la, &mut rng, 10, 5, 0.2);
        let v = flat_entangled(&mut rng, &a, 2);
        let (cands, _) = shuffled(&mut rng, &a, &v);
        let probe = TurningProbe {
            la,
            a,
            v,
            turn: 0.0,
        };
        let ctx = AttributionContext::new(1).with_probe(&probe);
        let rep = DriftCriterion::default()
            .attribute(la, &cands, 5, 2, &ctx)
            .unwrap();
        for s in &rep.scores {
            assert!((s - 1.0).abs() < 1e-10, "{}: score {s}", la.name());
        }
    }
}

/// The true network with exact Hessians around far centres: the default drift criterion
/// labels the true vectors {a_i} ∪ {v_l(0)} correctly (measured 100/100 teachers in
/// docs/results/attribution.md; these are small fixed teachers of both activations).
#[test]
fn drift_with_exact_hessians_labels_small_teachers() {
    for la in backends() {
        for (seed, g) in [
            (1, Activation::Tanh),
            (2, Activation::Sigmoid),
            (3, Activation::Tanh),
        ] {
            let (d, m0, m1) = (10, 6, 3);
            let net = TeacherConfig::new(d, m0, m1)
                .activation(g)
                .seed(seed)
                .generate()
                .unwrap();
            let v = net.entangled_weights(&vec![0.0; d]);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (cands, is_v) = shuffled(&mut rng, net.a(), &v);
            let probe = ExactHessianProbe::new(net);
            let ctx = AttributionContext::new(seed)
                .with_probe(&probe)
                .with_activation(g);
            let rep = default_strategy()
                .attribute(la, &cands, m0, m1, &ctx)
                .unwrap();
            let tag = format!("{} seed {seed} {g:?}: scores {:?}", la.name(), rep.scores);
            assert_eq!(rep.strategy, "drift", "{tag}");
            assert_eq!(entangled_right(&rep.entangled, &is_v), m1, "{tag}");
            let expect_norm = 3.0 * g.width() * (d as f64).sqrt();
            for x in &rep.centres {
                assert!(
                    (norm2(x) - expect_norm).abs() < 1e-9 * expect_norm,
                    "{tag}: centre norm {}",
                    norm2(x)
                );
            }
        }
    }
}

/// Same seed, same report; another seed, other centres.
#[test]
fn drift_is_deterministic_in_the_seed() {
    let la = backends()[0];
    let net = TeacherConfig::new(8, 4, 2).seed(4).generate().unwrap();
    let v = net.entangled_weights(&[0.0; 8]);
    let cands = Mat::from_columns(
        8,
        &net.a()
            .columns()
            .chain(v.columns())
            .map(<[f64]>::to_vec)
            .collect::<Vec<_>>(),
    );
    let probe = ExactHessianProbe::new(net);
    let run = |seed| {
        DriftCriterion::default()
            .attribute(
                la,
                &cands,
                4,
                2,
                &AttributionContext::new(seed).with_probe(&probe),
            )
            .unwrap()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7).centres, run(8).centres);
}

/// n < m0 + m1: the first layer is filled (exactly m0), the rest entangled, and the missing
/// entangled weights are counted.
#[test]
fn missing_entangled_candidates_are_reported() {
    for la in backends() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (d, m0, m1) = (16, 8, 4);
        let a = perturbed_orthonormal(la, &mut rng, d, m0, 0.0);
        let v = flat_entangled(&mut rng, &a, m1);
        let probe = TurningProbe {
            la,
            a: a.clone(),
            v: v.clone(),
            turn: 0.5,
        };
        for kept in 0..=m1 {
            let (cands, is_v) = shuffled(
                &mut rng,
                &a,
                &v.select_columns(&(0..kept).collect::<Vec<_>>()),
            );
            let strategies: [Box<dyn Attribution>; 2] = [
                Box::new(CorrelationCriterion),
                Box::new(DriftCriterion::default()),
            ];
            for s in &strategies {
                let tag = format!("{} {} with {kept} of {m1} v's", la.name(), s.name());
                let rep = s
                    .attribute(
                        la,
                        &cands,
                        m0,
                        m1,
                        &AttributionContext::new(3).with_probe(&probe),
                    )
                    .unwrap();
                assert_eq!(rep.first_layer.len(), m0, "{tag}");
                assert_eq!(rep.entangled.len(), kept, "{tag}");
                assert_eq!(rep.missing_entangled, m1 - kept, "{tag}");
                assert_eq!(entangled_right(&rep.entangled, &is_v), kept, "{tag}");
                assert_eq!(rep.margin.is_none(), kept == 0, "{tag}");
            }
        }
    }
}

#[test]
fn strategies_are_object_safe_send_sync_and_named() {
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<dyn Attribution>();
    assert_send_sync::<nnid_attribution::AttributionError>();
    assert_send_sync::<dyn nnid_attribution::SubspaceProbe>();
    assert_eq!(
        strategy_by_name("correlation").unwrap().name(),
        "correlation"
    );
    assert_eq!(strategy_by_name(" Drift ").unwrap().name(), "drift");
    assert!(strategy_by_name("oracle").is_none());
    assert_eq!(default_strategy().name(), "drift");
}

/// Bounds from E = AᵀA − I (η = ‖E‖₂) for unit a_i and flat c_l = ±1/√m0:
/// a-score ≤ η² + m1 (1/√m0 + η)² / (1 − η) and v-score ≥ (1 − η)² / (1 + η).
fn correlation_bounds(la: Linalg<'_>, a: &Mat, m1: usize) -> (f64, f64) {
    let m0 = a.ncols();
    let gram = la.matmul(a, nnid_linalg::Op::Trans, a, nnid_linalg::Op::NoTrans);
    let e = gram.sub(&Mat::identity(m0));
    let eta = la
        .eigh(&e)
        .unwrap()
        .values
        .iter()
        .fold(0.0_f64, |m, x| m.max(x.abs()));
    let a_max = eta * eta + m1 as f64 * (1.0 / (m0 as f64).sqrt() + eta).powi(2) / (1.0 - eta);
    let v_min = (1.0 - eta).powi(2) / (1.0 + eta);
    (a_max, v_min)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random incoherent first layers (orthonormal plus a perturbation of norm ≤ 0.02) with
    /// flat dense entangled weights, m1 ≤ m0/2: the bounds above separate the groups, so the
    /// correlation criterion must split them exactly. The drift criterion with the exact
    /// turning probe must too.
    #[test]
    fn both_strategies_split_incoherent_layers(
        d in 8usize..30,
        m0_frac in 0.3f64..1.0,
        m1_frac in 0.0f64..1.0,
        eps in 0.0f64..0.02,
        seed in any::<u64>(),
    ) {
        let m0 = ((d as f64 * m0_frac) as usize).max(2);
        let m1 = 1 + ((m0 / 2 - 1) as f64 * m1_frac) as usize;
        for la in backends() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let a = perturbed_orthonormal(la, &mut rng, d, m0, eps);
            let v = flat_entangled(&mut rng, &a, m1);
            let (a_max, v_min) = correlation_bounds(la, &a, m1);
            prop_assume!(a_max < v_min);
            let (cands, is_v) = shuffled(&mut rng, &a, &v);
            let rep = CorrelationCriterion.attribute(la, &cands, m0, m1, &AttributionContext::new(seed)).unwrap();
            for (k, &s) in rep.scores.iter().enumerate() {
                if is_v[k] {
                    prop_assert!(s >= v_min - 1e-12, "{}: v-score {} < bound {}", la.name(), s, v_min);
                } else {
                    prop_assert!(s <= a_max + 1e-12, "{}: a-score {} > bound {}", la.name(), s, a_max);
                }
            }
            prop_assert_eq!(entangled_right(&rep.entangled, &is_v), m1, "{}: correlation", la.name());

            let probe = TurningProbe { la, a: a.clone(), v: v.clone(), turn: 0.5 };
            let drift = DriftCriterion::new(DriftConfig { centres: 2, ..DriftConfig::default() });
            let rep = drift.attribute(la, &cands, m0, m1, &AttributionContext::new(seed).with_probe(&probe)).unwrap();
            prop_assert_eq!(entangled_right(&rep.entangled, &is_v), m1, "{}: drift, scores {:?}", la.name(), rep.scores);
        }
    }
}
