//! The backend contract, run against every compiled backend: one suite
//! (`nnid_linalg::testing::checks`), expanded per backend by `conformance!`, so a failure
//! reads `faer::svd_reconstructs`, `lapack::eigh_residual`, ... Cross-backend agreement is
//! tested when two or more backends are compiled in.
//!
//! Case counts are modest (see `CASES`); set `PROPTEST_CASES` for a longer run. Sizes stay
//! at most `MAX_DIM` so the whole suite runs in seconds in a debug build.

use nnid_linalg::testing::{checks, generators, proptest_config, strategies};
use nnid_linalg::{BackendKind, Linalg};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Default proptest cases per property and backend.
const CASES: u32 = 64;
/// Largest matrix dimension drawn.
const MAX_DIM: usize = 12;
/// Largest κ for the least-squares and SPD problems: large enough that the κ and κ² terms of
/// the forward-error bounds dominate, small enough (κ²ε < 1) that the bounds say something.
const MAX_COND: f64 = 1e6;

fn linalg(kind: BackendKind) -> Linalg<'static> {
    kind.linalg()
        .unwrap_or_else(|e| panic!("{kind} should be compiled in: {e}"))
}

/// Turns a check's message into a proptest failure.
fn run(result: checks::CheckResult) -> Result<(), TestCaseError> {
    result.map_err(TestCaseError::fail)
}

/// The draw (seed 5 of a sweep over 128..=260-sized rank-deficient matrices) that exposed
/// the faer divide-and-conquer bug; see `svd_large_rank_deficient`.
fn large_rank_deficient() -> generators::SpectralMatrix {
    let mut r = nnid_linalg::testing::rng(5);
    let (m, n) = (
        r.random_range(128..=260_usize),
        r.random_range(128..=260_usize),
    );
    let scale = 10f64.powf(r.random_range(-3.0..3.0));
    let sigma = generators::spectrum(
        &mut r,
        m.min(n),
        generators::SpectrumShape::RankDeficient,
        scale,
    );
    generators::matrix_with_spectrum(&mut r, m, n, &sigma)
}

macro_rules! conformance {
    ($($module:ident: $kind:expr, $feature:literal;)*) => {$(
        #[cfg(feature = $feature)]
        mod $module {
            use super::*;

            fn la() -> Linalg<'static> {
                linalg($kind)
            }

            /// A rank-77 155×154 matrix on which faer 0.24's divide-and-conquer SVD (its
            /// default from 128 columns) misses singular values by ~10⁻⁵·σ₁: the size and rank
            /// deficiency of the pipeline's stacked Hessians at d = 100.
            #[test]
            fn svd_large_rank_deficient() {
                let case = large_rank_deficient();
                let rank = case.sigma.iter().filter(|&&s| s > 0.0).count();
                assert_eq!((case.a.shape(), rank), ((155, 154), 77), "the generator changed");
                for check in [
                    checks::svd_spectrum(la(), &case),
                    checks::svd_reconstructs(la(), &case.a),
                    checks::svd_orthonormal(la(), &case.a),
                ] {
                    check.unwrap_or_else(|e| panic!("{e}"));
                }
            }

            proptest! {
                #![proptest_config(proptest_config(CASES))]

                #[test]
                fn svd_reconstructs(case in strategies::spectral_matrix(MAX_DIM, None)) {
                    run(checks::svd_reconstructs(la(), &case.a))?;
                }

                #[test]
                fn svd_reconstructs_gaussian(a in strategies::gaussian_matrix(MAX_DIM)) {
                    run(checks::svd_reconstructs(la(), &a))?;
                    run(checks::svd_orthonormal(la(), &a))?;
                }

                #[test]
                fn svd_orthonormal(case in strategies::spectral_matrix(MAX_DIM, None)) {
                    run(checks::svd_orthonormal(la(), &case.a))?;
                }

                #[test]
                fn svd_ordered(case in strategies::spectral_matrix(MAX_DIM, None)) {
                    run(checks::svd_ordered(la(), &case.a))?;
                }

                #[test]
                fn svd_spectrum(case in strategies::spectral_matrix(MAX_DIM, None)) {
                    run(checks::svd_spectrum(la(), &case))?;
                }

                #[test]
                fn svd_top_k_consistent(case in strategies::spectral_matrix(MAX_DIM, None)) {
                    run(checks::svd_top_k_consistent(la(), &case.a))?;
                }

                #[test]
                fn eigh_residual(case in strategies::symmetric_matrix(MAX_DIM, None)) {
                    run(checks::eigh_residual(la(), &case.a))?;
                }

                #[test]
                fn eigh_orthonormal(case in strategies::symmetric_matrix(MAX_DIM, None)) {
                    run(checks::eigh_orthonormal(la(), &case.a))?;
                }

                #[test]
                fn eigh_spectrum(case in strategies::symmetric_matrix(MAX_DIM, None)) {
                    run(checks::eigh_spectrum(la(), &case))?;
                }

                #[test]
                fn qr_reconstructs(case in strategies::tall_spectral_matrix(MAX_DIM, None)) {
                    run(checks::qr_reconstructs(la(), &case.a))?;
                }

                #[test]
                fn lstsq(
                    case in strategies::tall_spectral_matrix(MAX_DIM, Some(generators::SpectrumShape::Graded { cond: MAX_COND })),
                    k in 1..4_usize,
                    ratio in 0.0..1.0_f64,
                    seed in any::<u64>(),
                ) {
                    let problem = generators::lstsq_problem(&mut ChaCha8Rng::seed_from_u64(seed), case, k, ratio);
                    run(checks::lstsq_normal_equations(la(), &problem))?;
                    run(checks::lstsq_forward_error(la(), &problem))?;
                }

                #[test]
                fn solve_spd(case in strategies::spd_matrix(MAX_DIM, MAX_COND), k in 1..4_usize, seed in any::<u64>()) {
                    let x = generators::gaussian(&mut ChaCha8Rng::seed_from_u64(seed), case.a.nrows(), k);
                    run(checks::solve_spd_accurate(la(), &case, &x))?;
                }

                #[test]
                fn cholesky_reproduces(case in strategies::spd_matrix(MAX_DIM, MAX_COND)) {
                    run(checks::cholesky_reproduces(la(), &case))?;
                }

                #[test]
                fn solve_spd_rejects_indefinite(case in strategies::symmetric_matrix(MAX_DIM, None)) {
                    run(checks::solve_spd_rejects_indefinite(la(), &case))?;
                }

                #[test]
                fn matmul_matches_loops((a, b) in strategies::gaussian_factors(MAX_DIM)) {
                    run(checks::matmul_matches_loops(la(), &a, &b))?;
                }

                #[test]
                fn rejects_non_finite(
                    a in strategies::square_gaussian_matrix(MAX_DIM),
                    pos in any::<(prop::sample::Index, prop::sample::Index)>(),
                    value in prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
                ) {
                    let n = a.nrows();
                    run(checks::rejects_non_finite(la(), &a, pos.0.index(n), pos.1.index(n), value))?;
                }
            }
        }
    )*};
}

conformance! {
    faer: BackendKind::Faer, "faer";
    nalgebra: BackendKind::Nalgebra, "nalgebra";
    lapack: BackendKind::Lapack, "lapack";
}

/// Every pair of compiled backends agrees, up to sign, on matrices with separated spectra.
#[cfg(any(
    all(feature = "faer", feature = "nalgebra"),
    all(feature = "faer", feature = "lapack"),
    all(feature = "nalgebra", feature = "lapack")
))]
mod cross_backend {
    use super::*;
    use nnid_linalg::testing::SpectrumShape;

    fn pairs() -> Vec<(Linalg<'static>, Linalg<'static>)> {
        let kinds: Vec<_> = BackendKind::compiled().collect();
        assert!(
            kinds.len() >= 2,
            "cross-backend tests need two backends, have {kinds:?}"
        );
        let mut out = Vec::new();
        for (i, &a) in kinds.iter().enumerate() {
            for &b in &kinds[i + 1..] {
                out.push((linalg(a), linalg(b)));
            }
        }
        out
    }

    proptest! {
        #![proptest_config(proptest_config(CASES))]

        #[test]
        fn svd_agrees(case in strategies::spectral_matrix(MAX_DIM, Some(SpectrumShape::Separated))) {
            for (x, y) in pairs() {
                run(checks::svd_agree(x, y, &case))?;
            }
        }

        #[test]
        fn eigh_agrees(case in strategies::symmetric_matrix(MAX_DIM, Some(SpectrumShape::Separated))) {
            for (x, y) in pairs() {
                run(checks::eigh_agree(x, y, &case))?;
            }
        }
    }
}

/// The suite must run against something.
#[test]
fn some_backend_is_compiled() {
    assert!(
        BackendKind::compiled().next().is_some(),
        "no backend feature is on"
    );
}
