//! Spans with known rank-one elements, for tests, benchmarks and experiments.
//!
//! - [`incoherent_unit_vectors`]: Gaussian unit vectors, redrawn while too coherent with the
//!   earlier ones;
//! - [`entangled_vectors`]: the paper's situation without a network: `a_1..a_m0` Gaussian unit
//!   vectors and `v_l = A G b_l / ‖A G b_l‖` (G diagonal in [0.79, 1], the range of tanh'(θ)
//!   for |θ| ≤ 0.5; b_l Gaussian), so the v_l are linearly dependent on the a_i while all the
//!   rank-one matrices stay independent;
//! - [`exact_span`] and [`perturbed_span`]: the subspace span{w_k w_kᵀ}, exactly or with its
//!   basis perturbed by δ;
//! - [`match_errors`]: how far each true vector is from the closest candidate, up to sign.

use nnid_linalg::sym::{SymSubspace, svec_len, svec_rank1};
use nnid_linalg::{Linalg, LinalgError, Mat, dot, normalize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A Gaussian vector of length `n`, normalised.
pub fn random_unit_vector<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    loop {
        let mut v: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        if normalize(&mut v) > 1e-8 {
            return v;
        }
    }
}

/// `r` unit vectors in R^d (the columns of a d×r matrix), each Gaussian and redrawn (up to 1000
/// times) while `|⟨w_i, w_j⟩| > max_coherence` for an earlier one. Deterministic in `seed`.
///
/// # Panics
/// If no vector with the required coherence is found in 1000 draws (choose a larger bound).
#[track_caller]
pub fn incoherent_unit_vectors(d: usize, r: usize, max_coherence: f64, seed: u64) -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(r);
    for k in 0..r {
        let mut tries = 0;
        let v = loop {
            let v = random_unit_vector(d, &mut rng);
            if cols.iter().all(|w| dot(w, &v).abs() <= max_coherence) {
                break v;
            }
            tries += 1;
            assert!(
                tries < 1000,
                "incoherent_unit_vectors: no vector {k} of {r} in R^{d} with coherence ≤ {max_coherence}"
            );
        };
        cols.push(v);
    }
    Mat::from_columns(d, &cols)
}

/// The columns `a_1..a_m0, v_1..v_m1` (d × (m0 + m1)) of an entangled configuration:
/// Gaussian unit `a_i`, `v_l = A G b_l` normalised with `G = diag(g_i)`, `g_i` uniform in
/// [0.79, 1] and `b_l` Gaussian. Every vector is redrawn (up to 1000 times) while
/// `|⟨·, ·⟩| > max_coherence` with an earlier one. Deterministic in `seed`.
///
/// # Panics
/// If no vector with the required coherence is found in 1000 draws.
#[track_caller]
pub fn entangled_vectors(d: usize, m0: usize, m1: usize, max_coherence: f64, seed: u64) -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g: Vec<f64> = (0..m0).map(|_| rng.random_range(0.79..=1.0)).collect();
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(m0 + m1);
    for k in 0..m0 + m1 {
        let mut tries = 0;
        let v = loop {
            let v = if k < m0 {
                random_unit_vector(d, &mut rng)
            } else {
                let mut v = vec![0.0; d];
                for (i, ai) in cols[..m0].iter().enumerate() {
                    let b: f64 = rng.sample(StandardNormal);
                    nnid_linalg::axpy(g[i] * b, ai, &mut v);
                }
                normalize(&mut v);
                v
            };
            if cols.iter().all(|w| dot(w, &v).abs() <= max_coherence) {
                break v;
            }
            tries += 1;
            assert!(
                tries < 1000,
                "entangled_vectors: no vector {k} of {m0} + {m1} in R^{d} with coherence ≤ {max_coherence}"
            );
        };
        cols.push(v);
    }
    Mat::from_columns(d, &cols)
}

/// span{w_k w_kᵀ} for the columns `w_k` of `vectors`, with an orthonormal basis from QR.
///
/// # Errors
/// Non-finite vectors ([`LinalgError::NonFinite`]).
///
/// # Panics
/// If there are more vectors than d(d+1)/2.
#[track_caller]
pub fn exact_span(la: Linalg<'_>, vectors: &Mat) -> Result<SymSubspace, LinalgError> {
    let d = vectors.nrows();
    let cols: Vec<Vec<f64>> = vectors.columns().map(svec_rank1).collect();
    let q = la.qr(&Mat::from_columns(svec_len(d), &cols))?.q;
    Ok(SymSubspace::from_orthonormal(d, q))
}

/// [`exact_span`] with its orthonormal basis perturbed: each basis vector gets `δ` times a
/// Gaussian unit vector added, then the basis is orthonormalised again. The principal angles
/// to the exact span are then of order δ.
///
/// # Errors
/// As [`exact_span`].
#[track_caller]
pub fn perturbed_span(
    la: Linalg<'_>,
    vectors: &Mat,
    delta: f64,
    seed: u64,
) -> Result<SymSubspace, LinalgError> {
    let exact = exact_span(la, vectors)?;
    let d = exact.side();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut basis = exact.basis().clone();
    for k in 0..basis.ncols() {
        let e = random_unit_vector(svec_len(d), &mut rng);
        nnid_linalg::axpy(delta, &e, basis.col_mut(k));
    }
    let q = la.qr(&basis)?.q;
    Ok(SymSubspace::from_orthonormal(d, q))
}

/// For each column `w` of `truth`, `min_u min(‖u − w‖, ‖u + w‖)` over the candidates.
pub fn match_errors(truth: &Mat, candidates: &[Vec<f64>]) -> Vec<f64> {
    truth
        .columns()
        .map(|w| {
            candidates
                .iter()
                .map(|u| sign_free_distance(u, w))
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

/// `min(‖u − w‖, ‖u + w‖)`.
pub fn sign_free_distance(u: &[f64], w: &[f64]) -> f64 {
    let (mut minus, mut plus) = (0.0, 0.0);
    for (a, b) in u.iter().zip(w) {
        minus += (a - b) * (a - b);
        plus += (a + b) * (a + b);
    }
    minus.min(plus).sqrt()
}
