//! Exact constructions: Hessians assembled from known rank-one terms give Ŵ = W to
//! rounding; the measures and the lift agree with hand-computed cases; bad input is refused.

mod common;

use common::{backends, gaussian, rank1_mixtures, rng, unit_columns};
use nnid_linalg::sym::{SymSubspace, svec_len};
use nnid_linalg::{Mat, Op, normalize};
use nnid_subspace::{
    StackedSvd, SubspaceError, SubspaceEstimator, distance, lift, principal_cosines, project,
    rank1_span, weight_distance, weight_distances,
};
use proptest::prelude::*;

/// Constant of the perturbation bound below: the stacked matrix carries rounding
/// ‖E‖ ≲ c·u·max(rows, m_X)·s_1 (assembly of the mixtures, svec, backward-stable SVD), and
/// Wedin's theorem turns it into sin θ ≤ ‖E‖/s_K.
const WEDIN_C: f64 = 16.0;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn mixtures_of_known_rank_one_terms_give_w_exactly(
        d in 2usize..=7, k_frac in 0.0..1.0f64, extra in 0usize..4, seed in any::<u64>(),
    ) {
        let k = 1 + ((2 * d - 1) as f64 * k_frac) as usize; // 1 ≤ K ≤ 2d (m0 + m1 ≤ 2d)
        let k = k.min(svec_len(d));
        let mut r = rng(seed);
        let w = unit_columns(&mut r, d, k);
        let hessians = rank1_mixtures(&mut r, &w, k + extra);
        for (kind, la) in backends() {
            let truth = rank1_span(la, &w).unwrap();
            let report = StackedSvd.estimate(la, &hessians, k).unwrap();
            let s = &report.singular_values;
            prop_assert_eq!(s.len(), svec_len(d).min(k + extra), "{}", kind);
            let rows = svec_len(d).max(k + extra) as f64;
            let bound = WEDIN_C * f64::EPSILON * rows * s[0] / s[k - 1];
            let dist = distance(la, &truth, &report.subspace).unwrap();
            prop_assert!(dist <= bound, "{kind}: ‖P_W − P_Ŵ‖ = {dist:.2e} > {bound:.2e} (d={d}, K={k})");
            // 1 − ‖P_Ŵ(wwᵀ)‖ ≤ 1 − √(1 − sin²) ≤ sin², plus rounding of the projection.
            for (i, e) in weight_distances(&report.subspace, &w).unwrap().into_iter().enumerate() {
                prop_assert!(e.abs() <= dist * dist + 1e-13, "{kind}: weight {i}: 1 − ‖P(wwᵀ)‖ = {e:.2e}");
            }
            if extra > 0 && k < svec_len(d) {
                prop_assert_eq!(report.gap.largest_gap_dim, k, "{}: the exact gap is at K", kind);
            }
        }
    }
}

#[test]
fn distance_of_a_tiny_known_angle_is_accurate() {
    for (kind, la) in backends() {
        // d = 2 (svec length 3): W = span{e1}, Ŵ = span{cos t·e1 + sin t·e2}.
        for t in [1e-12, 1e-6, 0.3, std::f64::consts::FRAC_PI_2] {
            let w =
                SymSubspace::from_orthonormal(2, Mat::from_col_major(3, 1, vec![1.0, 0.0, 0.0]));
            let w_hat = SymSubspace::from_orthonormal(
                2,
                Mat::from_col_major(3, 1, vec![t.cos(), t.sin(), 0.0]),
            );
            let dist = distance(la, &w, &w_hat).unwrap();
            assert!(
                (dist - t.sin()).abs() <= 1e-15 + 1e-12 * t.sin(),
                "{kind}: t = {t:e}: {dist:e}"
            );
            let back = distance(la, &w_hat, &w).unwrap();
            assert!(
                (back - dist).abs() <= 1e-15 + 1e-12 * dist,
                "{kind}: not symmetric"
            );
            let cos = principal_cosines(la, &w, &w_hat).unwrap();
            assert!(
                (cos[0] - t.cos()).abs() < 1e-15,
                "{kind}: cosine {}",
                cos[0]
            );
        }
        let one = SymSubspace::from_orthonormal(2, Mat::from_col_major(3, 1, vec![1.0, 0.0, 0.0]));
        let two = SymSubspace::from_orthonormal(
            2,
            Mat::from_fn(3, 2, |i, j| if i == j { 1.0 } else { 0.0 }),
        );
        assert!(
            (distance(la, &one, &two).unwrap() - 1.0).abs() < 1e-15,
            "{kind}: different dims"
        );
        assert!(distance(la, &two, &two).unwrap() < 1e-15, "{kind}: W vs W");
    }
}

#[test]
fn projection_and_weight_distance_on_hand_cases() {
    for (kind, la) in backends() {
        let mut r = rng(3);
        let w = unit_columns(&mut r, 5, 3);
        let sub = rank1_span(la, &w).unwrap();
        // A member of W is its own projection.
        let s = Mat::from_fn(5, 5, |i, j| {
            2.0 * w[(i, 0)] * w[(j, 0)] - w[(i, 2)] * w[(j, 2)]
        });
        assert!(
            project(&sub, &s).unwrap().sub(&s).max_abs() < 1e-14,
            "{kind}"
        );
        // A vector orthogonal to all three weights: its u uᵀ is Frobenius-orthogonal to each
        // w wᵀ, hence to W, so the distance is 1.
        let mut u = gaussian(&mut r, 5);
        let q = la.qr(&w).unwrap().q;
        let c = q.matvec_t(&u);
        nnid_linalg::axpy(-1.0, &q.matvec(&c), &mut u);
        normalize(&mut u);
        assert!(
            (weight_distance(&sub, &u).unwrap() - 1.0).abs() < 1e-12,
            "{kind}"
        );
        // Scale does not matter.
        let scaled: Vec<f64> = w.col(1).iter().map(|v| -3.0 * v).collect();
        assert!(
            weight_distance(&sub, &scaled).unwrap().abs() < 1e-14,
            "{kind}"
        );
        assert!(
            matches!(
                weight_distance(&sub, &[0.0; 5]),
                Err(SubspaceError::BadInput { .. })
            ),
            "{kind}"
        );
        assert!(
            matches!(
                weight_distance(&sub, &[1.0; 4]),
                Err(SubspaceError::SideMismatch { .. })
            ),
            "{kind}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// A subspace estimated in reduced coordinates and lifted by U equals the span of the
    /// lifted weights, and per-weight distances are the same in both coordinates. The two
    /// spans are computed from differently rounded inputs, so they differ by rounding times
    /// the condition number κ of the rank-one matrices y_i y_iᵀ as columns (two nearly
    /// parallel y_i make it large): ‖P − P'‖ ≤ 64·d·ε·κ, and at least 1e-12 (a CI run found
    /// 1.5e-12 on nalgebra for m = k = 2).
    #[test]
    fn lifting_commutes_with_the_span(m in 2usize..=5, extra in 1usize..=4, k in 1usize..=4, seed in any::<u64>()) {
        let (d, k) = (m + extra, k.min(m));
        let mut r = rng(seed);
        for (kind, la) in backends() {
            let u = la.qr(&unit_columns(&mut r, d, m)).unwrap().q;
            let y = unit_columns(&mut r, m, k);
            let reduced = rank1_span(la, &y).unwrap();
            let lifted = lift(la, &reduced, &u).unwrap();
            let uy = la.matmul(&u, Op::NoTrans, &y, Op::NoTrans);
            let direct = rank1_span(la, &uy).unwrap();
            let dist = distance(la, &lifted, &direct).unwrap();
            let tol = (64.0 * d as f64 * f64::EPSILON * rank1_condition(la, &y)).max(1e-12);
            prop_assert!(dist < tol, "{kind}: lifted vs direct {dist:.2e} (tolerance {tol:.2e})");
            let probe = unit_columns(&mut r, m, 3);
            let up = la.matmul(&u, Op::NoTrans, &probe, Op::NoTrans);
            let a = weight_distances(&reduced, &probe).unwrap();
            let b = weight_distances(&lifted, &up).unwrap();
            for (x, z) in a.iter().zip(&b) {
                prop_assert!((x - z).abs() < 1e-13, "{kind}: {x} vs {z}");
            }
        }
    }
}

#[test]
fn bad_input_is_refused() {
    for (kind, la) in backends() {
        let mut r = rng(9);
        let w = unit_columns(&mut r, 3, 2);
        let hs = rank1_mixtures(&mut r, &w, 5);
        let dim_err =
            |res: Result<_, SubspaceError>| matches!(res, Err(SubspaceError::Dimension { .. }));
        assert!(dim_err(StackedSvd.estimate(la, &hs, 0)), "{kind}: K = 0");
        assert!(
            dim_err(StackedSvd.estimate(la, &hs[..2], 3)),
            "{kind}: K > m_X"
        );
        let w2 = unit_columns(&mut r, 2, 3);
        let big = rank1_mixtures(&mut r, &w2, 5);
        assert!(
            dim_err(StackedSvd.estimate(la, &big, 4)),
            "{kind}: K > d(d+1)/2"
        );
        assert!(
            matches!(
                StackedSvd.estimate(la, &[], 1),
                Err(SubspaceError::NoHessians)
            ),
            "{kind}"
        );
        // Rank 2 data, K = 3: refused rather than padded with arbitrary directions.
        let res = StackedSvd.estimate(la, &hs, 3);
        assert!(
            matches!(
                res,
                Err(SubspaceError::RankDeficient {
                    dim: 3,
                    rank: 2,
                    ..
                })
            ),
            "{kind}: {res:?}"
        );
        let mut mixed = hs.clone();
        mixed[1] = Mat::zeros(4, 4);
        assert!(
            matches!(
                StackedSvd.estimate(la, &mixed, 2),
                Err(SubspaceError::Shape { index: 1, .. })
            ),
            "{kind}"
        );
        let mut nan = hs.clone();
        nan[2][(1, 0)] = f64::NAN;
        assert!(
            matches!(
                StackedSvd.estimate(la, &nan, 2),
                Err(SubspaceError::NonFinite { index: 2, .. })
            ),
            "{kind}"
        );
        let mut asym = hs.clone();
        asym[3][(0, 2)] += 1e-3;
        assert!(
            matches!(
                StackedSvd.estimate(la, &asym, 2),
                Err(SubspaceError::NotSymmetric { index: 3, .. })
            ),
            "{kind}"
        );
        let not_orthonormal = Mat::from_fn(3, 2, |_, _| 1.0);
        let sub = rank1_span(la, &unit_columns(&mut r, 2, 2)).unwrap();
        assert!(
            matches!(
                lift(la, &sub, &not_orthonormal),
                Err(SubspaceError::BadInput { .. })
            ),
            "{kind}"
        );
        let dependent = Mat::from_columns(3, &[vec![1.0, 0.0, 0.0], vec![-2.0, 0.0, 0.0]]);
        assert!(
            matches!(
                rank1_span(la, &dependent),
                Err(SubspaceError::BadInput { .. })
            ),
            "{kind}"
        );
    }
}

#[test]
fn estimator_is_object_safe_and_errors_are_send_sync() {
    fn check<T: Send + Sync + std::error::Error>() {}
    check::<SubspaceError>();
    let boxed: Box<dyn SubspaceEstimator> = Box::new(StackedSvd);
    assert_eq!(boxed.name(), "stacked-svd");
}

/// σ_max/σ_min of the matrix whose columns are vec(y_i y_iᵀ) for the columns y_i of `y`.
fn rank1_condition(la: nnid_linalg::Linalg<'_>, y: &Mat) -> f64 {
    let m = y.nrows();
    let cols: Vec<Vec<f64>> = y
        .columns()
        .map(|c| (0..m * m).map(|t| c[t % m] * c[t / m]).collect())
        .collect();
    let s = la.svd(&Mat::from_columns(m * m, &cols)).unwrap().s;
    s[0] / s[s.len() - 1]
}
