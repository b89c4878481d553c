//! proptest strategies over the [`super::generators`]. Each case is drawn from a `u64` seed
//! (ChaCha8), so a failure is reproducible from the seed proptest prints, and sizes shrink.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::generators::{
    SpectralMatrix, SpectrumShape, SymmetricMatrix, gaussian, matrix_with_spectrum, spectrum,
    symmetric_with_spectrum,
};
use crate::Mat;

/// A random scale `10^u`, u uniform in [−3, 3]: the contract is scale invariant, so the
/// tolerances (relative to ‖A‖) must hold at any scale.
fn scale(rng: &mut ChaCha8Rng) -> f64 {
    10f64.powf(rng.random_range(-3.0..3.0))
}

/// A spectrum shape drawn at random: separated, graded with κ up to 10⁸, clustered, or
/// rank deficient.
fn any_shape(rng: &mut ChaCha8Rng) -> SpectrumShape {
    match rng.random_range(0..4) {
        0 => SpectrumShape::Separated,
        1 => SpectrumShape::Graded {
            cond: 10f64.powf(rng.random_range(0.0..8.0)),
        },
        2 => SpectrumShape::Clustered,
        _ => SpectrumShape::RankDeficient,
    }
}

fn build(m: usize, n: usize, seed: u64, shape: Option<SpectrumShape>) -> SpectralMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let shape = shape.unwrap_or_else(|| any_shape(&mut rng));
    let s = scale(&mut rng);
    let sigma = spectrum(&mut rng, m.min(n), shape, s);
    matrix_with_spectrum(&mut rng, m, n, &sigma)
}

/// `m × n` matrices, `1 ≤ m, n ≤ max_dim`, of the given spectrum shape (any shape when
/// `None`), at a random scale.
pub fn spectral_matrix(
    max_dim: usize,
    shape: Option<SpectrumShape>,
) -> impl Strategy<Value = SpectralMatrix> {
    (1..=max_dim, 1..=max_dim, any::<u64>()).prop_map(move |(m, n, seed)| build(m, n, seed, shape))
}

/// Like [`spectral_matrix`], but with `m ≥ n` (for QR and least squares).
pub fn tall_spectral_matrix(
    max_dim: usize,
    shape: Option<SpectrumShape>,
) -> impl Strategy<Value = SpectralMatrix> {
    (1..=max_dim, 1..=max_dim, any::<u64>())
        .prop_map(move |(m, n, seed)| build(m.max(n), m.min(n), seed, shape))
}

/// `n × n` symmetric matrices, `1 ≤ n ≤ max_dim`, whose eigenvalues have magnitudes of the
/// given shape (any when `None`) and random signs.
pub fn symmetric_matrix(
    max_dim: usize,
    shape: Option<SpectrumShape>,
) -> impl Strategy<Value = SymmetricMatrix> {
    (1..=max_dim, any::<u64>()).prop_map(move |(n, seed)| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shape = shape.unwrap_or_else(|| any_shape(&mut rng));
        let s = scale(&mut rng);
        let values: Vec<f64> = spectrum(&mut rng, n, shape, s)
            .into_iter()
            .map(|v| if rng.random::<bool>() { v } else { -v })
            .collect();
        symmetric_with_spectrum(&mut rng, &values)
    })
}

/// `n × n` symmetric positive definite matrices, `1 ≤ n ≤ max_dim`, with κ up to `max_cond`.
pub fn spd_matrix(max_dim: usize, max_cond: f64) -> impl Strategy<Value = SymmetricMatrix> {
    (1..=max_dim, any::<u64>()).prop_map(move |(n, seed)| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cond = max_cond.powf(rng.random::<f64>());
        let s = scale(&mut rng);
        super::generators::spd_with_condition(&mut rng, n, cond, s)
    })
}

/// An `m × n` Gaussian matrix with `1 ≤ m, n ≤ max_dim`.
pub fn gaussian_matrix(max_dim: usize) -> impl Strategy<Value = Mat> {
    (1..=max_dim, 1..=max_dim, any::<u64>())
        .prop_map(|(m, n, seed)| gaussian(&mut ChaCha8Rng::seed_from_u64(seed), m, n))
}

/// An `n × n` Gaussian matrix with `1 ≤ n ≤ max_dim`.
pub fn square_gaussian_matrix(max_dim: usize) -> impl Strategy<Value = Mat> {
    (1..=max_dim, any::<u64>())
        .prop_map(|(n, seed)| gaussian(&mut ChaCha8Rng::seed_from_u64(seed), n, n))
}

/// A Gaussian `m × k` and `k × n` pair of factors (as stored, before any transpose) with
/// `0 ≤ m, k, n ≤ max_dim`; empty sizes are included.
pub fn gaussian_factors(max_dim: usize) -> impl Strategy<Value = (Mat, Mat)> {
    (0..=max_dim, 0..=max_dim, 0..=max_dim, any::<u64>()).prop_map(|(m, k, n, seed)| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (gaussian(&mut rng, m, k), gaussian(&mut rng, k, n))
    })
}
