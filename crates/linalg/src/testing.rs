//! Test support shared by every crate (feature `testing`): random matrices with a chosen
//! spectrum, proptest strategies over them, and the backend conformance checks.
//!
//! - [`generators`]: `A = Q₁ diag(σ) Q₂ᵀ` with Haar-random orthonormal `Q₁`, `Q₂` and a
//!   spectrum of a chosen [`SpectrumShape`], so ‖A‖₂, κ(A) and the gaps between singular
//!   values are known exactly and tolerances can be derived from them.
//! - [`strategies`]: proptest strategies producing those matrices from a seed (sizes shrink;
//!   every case is reproducible from the seed in the failure message).
//! - [`checks`]: the backend contract as plain functions of a [`crate::Linalg`], each
//!   returning `Err(message)` naming the backend, the measured error and the bound.
//!   `crates/linalg/tests/conformance.rs` runs them against every compiled backend.

pub mod checks;
pub mod generators;
pub mod strategies;

pub use generators::{
    SpectralMatrix, SpectrumShape, SymmetricMatrix, gaussian, matrix_with_spectrum,
    random_orthonormal, spd_with_condition, spectrum, symmetric_with_spectrum,
};

/// The seeded generator the generators expect (`ChaCha8Rng::seed_from_u64(seed)`).
pub fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand::SeedableRng::seed_from_u64(seed)
}

/// A proptest configuration running `default_cases` cases, unless the environment variable
/// `PROPTEST_CASES` asks for another number (as in CI or for a long local run). Failing
/// cases are saved next to the test file (`tests/<name>.proptest-regressions`, to be
/// committed) and replayed first on later runs.
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default_cases);
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}
