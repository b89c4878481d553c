//! `svec`/`unsvec` and [`SymSubspace`]: the isometry between symmetric matrices with the
//! Frobenius inner product and `svec` vectors with the Euclidean one, and the projection onto
//! a subspace held as an orthonormal svec basis.

use nnid_linalg::sym::{SymSubspace, svec, svec_index, svec_len, svec_rank1, unsvec};
use nnid_linalg::testing::{gaussian, proptest_config, random_orthonormal};
use nnid_linalg::{Mat, dot};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Each identity below is a sum of at most d² products of O(1) Gaussian entries, exact in
/// real arithmetic: d²·ε per unit of magnitude bounds the rounding.
fn tol(d: usize, magnitude: f64) -> f64 {
    4.0 * f64::EPSILON * (d * d).max(1) as f64 * magnitude
}

fn random_symmetric(rng: &mut ChaCha8Rng, d: usize) -> Mat {
    let g = gaussian(rng, d, d);
    Mat::from_fn(d, d, |i, j| 0.5 * (g[(i, j)] + g[(j, i)]))
}

fn frobenius_inner(s: &Mat, t: &Mat) -> f64 {
    dot(s.as_slice(), t.as_slice())
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn svec_unsvec_round_trip(d in 0..8_usize, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = random_symmetric(&mut rng, d);
        let v = svec(&s);
        prop_assert_eq!(v.len(), svec_len(d));
        let back = unsvec(d, &v);
        prop_assert!(back.sub(&s).max_abs() <= tol(d, s.max_abs()), "unsvec(svec S) ≠ S for d = {}", d);
        let again = svec(&back);
        let err = again.iter().zip(&v).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
        prop_assert!(err <= tol(d, s.max_abs()), "svec(unsvec v) ≠ v for d = {}", d);
    }

    #[test]
    fn svec_preserves_frobenius_inner_product(d in 0..8_usize, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (s, t) = (random_symmetric(&mut rng, d), random_symmetric(&mut rng, d));
        let (lhs, rhs) = (dot(&svec(&s), &svec(&t)), frobenius_inner(&s, &t));
        prop_assert!((lhs - rhs).abs() <= tol(d, s.norm_fro() * t.norm_fro()), "⟨svec S, svec T⟩ = {} but ⟨S, T⟩_F = {}", lhs, rhs);
    }

    #[test]
    fn svec_rank1_is_svec_of_outer_product(d in 0..8_usize, seed in any::<u64>()) {
        let u = gaussian(&mut ChaCha8Rng::seed_from_u64(seed), d, 1).into_vec();
        let outer = Mat::from_fn(d, d, |i, j| u[i] * u[j]);
        let (fast, slow) = (svec_rank1(&u), svec(&outer));
        let err = fast.iter().zip(&slow).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
        prop_assert!(fast.len() == slow.len() && err <= tol(d, dot(&u, &u)), "svec_rank1 differs by {}", err);
    }

    /// `P_W` is an orthogonal projection: idempotent, and `‖P_W(uuᵀ)‖_F` computed from the
    /// coefficients equals the Frobenius norm of the projected matrix.
    #[test]
    fn projection_is_idempotent_and_rank1_norm_matches(d in 1..7_usize, k_frac in 0.0..1.0_f64, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let p = svec_len(d);
        let k = ((k_frac * p as f64) as usize).min(p);
        let w = SymSubspace::from_orthonormal(d, random_orthonormal(&mut rng, p, k));
        prop_assert_eq!((w.side(), w.dim()), (d, k));
        let s = random_symmetric(&mut rng, d);
        let once = w.project(&s);
        let twice = w.project(&once);
        prop_assert!(twice.sub(&once).max_abs() <= tol(d, s.norm_fro()), "P(P(S)) ≠ P(S): {}", twice.sub(&once).max_abs());
        prop_assert!(once.sub(&once.transpose()).max_abs() <= 0.0, "P(S) not symmetric");
        // The residual S − P(S) is orthogonal to the subspace.
        let residual = s.sub(&once);
        let leak = w.coefficients_svec(&svec(&residual)).iter().fold(0.0_f64, |m, c| m.max(c.abs()));
        prop_assert!(leak <= tol(d, s.norm_fro()), "S − P(S) has coefficient {} in W", leak);

        let u = gaussian(&mut rng, d, 1).into_vec();
        let outer = Mat::from_fn(d, d, |i, j| u[i] * u[j]);
        let (fast, slow) = (w.proj_norm_rank1(&u), w.project(&outer).norm_fro());
        prop_assert!((fast - slow).abs() <= tol(d, dot(&u, &u)), "proj_norm_rank1 = {} but ‖P(uuᵀ)‖_F = {}", fast, slow);
        let unit = w.proj_norm_rank1_unit(&u);
        prop_assert!((unit - fast / dot(&u, &u)).abs() <= tol(d, 1.0) && unit <= 1.0 + tol(d, 1.0), "proj_norm_rank1_unit = {}", unit);
    }
}

#[test]
fn svec_index_enumerates_the_upper_triangle_row_by_row() {
    for d in 0..6 {
        let mut expected = 0;
        for i in 0..d {
            for j in i..d {
                assert_eq!(svec_index(d, i, j), expected, "d = {d}, ({i}, {j})");
                assert_eq!(
                    svec_index(d, j, i),
                    expected,
                    "d = {d}, ({j}, {i}) (symmetric)"
                );
                expected += 1;
            }
        }
        assert_eq!(expected, svec_len(d), "d = {d}");
    }
}

#[test]
fn svec_scales_off_diagonals_by_sqrt2() {
    let s = Mat::from_rows(2, &[vec![1.0, 3.0], vec![3.0, 2.0]]);
    let v = svec(&s);
    assert_eq!(v.len(), 3);
    assert!(
        (v[0] - 1.0).abs() <= 0.0 && (v[2] - 2.0).abs() <= 0.0,
        "diagonal copied: {v:?}"
    );
    assert!(
        (v[1] - 3.0 * std::f64::consts::SQRT_2).abs() <= f64::EPSILON * 8.0,
        "off-diagonal × √2: {v:?}"
    );
}

#[test]
fn full_subspace_projects_to_identity_and_contains_every_rank1() {
    let d = 3;
    let w = SymSubspace::from_orthonormal(d, Mat::identity(svec_len(d)));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let s = random_symmetric(&mut rng, d);
    assert!(w.project(&s).sub(&s).max_abs() <= tol(d, s.max_abs()));
    let u = [0.6, 0.0, 0.8];
    assert!(
        (w.proj_norm_rank1_unit(&u) - 1.0).abs() <= tol(d, 1.0),
        "a unit uuᵀ lies in the full space"
    );
    let m = w.basis_matrix(1);
    assert!(
        (m[(0, 1)] - std::f64::consts::FRAC_1_SQRT_2).abs() <= f64::EPSILON,
        "basis element 1 is (E₀₁ + E₁₀)/√2"
    );
}
