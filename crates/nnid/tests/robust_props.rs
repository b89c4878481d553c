//! Property tests of the robust method (issue 7): `nnid identify`'s default, [`Auto`]
//! (route S — the saturation first layer and the exact second layer — with route G as its
//! fallback), on random small teachers through the in-process oracle.
//!
//! * **Safety**: whenever a run is certified, it is right. The truth is checked here,
//!   independently of the report: every true a_i has an identified column within 1e-6 up to
//!   sign, and f̂ matches f on fresh points with a relative L2 error below 1e-7.
//! * **Liveness**: the runs are certified, measured on the same cases: all but at most one
//!   of the 20 default cases (5 % of the cases in larger runs).
//!
//! The cases come from a fixed proptest seed, so the liveness count is reproducible: a
//! failure is a regression of the method, not bad luck of the draw. `PROPTEST_CASES` and
//! `PROPTEST_RNG_SEED` run other and more cases.

use nnid::metrics::{function_error, sign_free_distance, uniform_ball};
use nnid::routes::auto::Auto;
use nnid::{Architecture, RunOptions, Silent, identify};
use nnid_linalg::Linalg;
use nnid_nn_model::teacher::{BSigns, TeacherConfig};
use nnid_nn_model::{Activation, NetworkOracle};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use std::cell::{Cell, RefCell};
use std::time::Instant;

/// Largest distance of a true a_i to its nearest identified column, up to sign.
///
/// Why 1e-6 is safe and still strict: the certificate accepts a network whose relative
/// error on fresh validation queries is below 1e-9 (`nnid::CERTIFICATE_THRESHOLD`). For an
/// identifiable network the parameters depend Lipschitz-continuously on f near the truth,
/// so a certified network is within κ·1e-9 of the truth, κ the conditioning of that map;
/// 1e-6 leaves a margin of κ up to 10³ for these small random teachers. Route S itself is
/// rounding-limited: over 2000 cases (`PROPTEST_CASES=2000`) the largest error of a
/// certified run was 2.0e-11, while a missed neuron is off by O(1).
const A_TOLERANCE: f64 = 1e-6;

/// Largest relative L2 error of f̂ on fresh points in the unit ball.
///
/// The certificate vouches for 1e-9 on its own points (x ~ N(0, s²I), s the width of g,
/// so ‖x‖ ≈ s√d); the test points are other points, uniform in the unit ball, where the
/// relative error can be larger: a factor 100 covers that change of distribution. Over 2000
/// cases the largest unit-ball error of a certified run was 3.1e-10 (validation 3.8e-10),
/// and the runs that were not certified had validation errors from 4.8e-7 up, so 1e-7 sits
/// between right and wrong.
const F_TOLERANCE: f64 = 1e-7;

/// Cases of a default run (`PROPTEST_CASES` overrides).
const CASES: u32 = 20;

/// Fresh test points (not queries: the truth is evaluated directly).
const TEST_POINTS: usize = 2000;

/// One random case: a teacher and the run's seed.
#[derive(Clone, Debug)]
struct Case {
    d: usize,
    m0: usize,
    m1: usize,
    activation: Activation,
    b_signs: BSigns,
    teacher_seed: u64,
    run_seed: u64,
}

/// Sizes 3 ≤ d ≤ 12, 2 ≤ m0 ≤ d, 1 ≤ m1 < m0; both activations, both signs of B (sign-
/// balanced and all-positive, the family that defeats the paper's pipeline), any seeds.
fn cases() -> impl Strategy<Value = Case> {
    (3usize..=12)
        .prop_flat_map(|d| (Just(d), 2..=d))
        .prop_flat_map(|(d, m0)| (Just(d), Just(m0), 1..m0))
        .prop_flat_map(|(d, m0, m1)| {
            (
                Just((d, m0, m1)),
                prop_oneof![Just(Activation::Tanh), Just(Activation::Sigmoid)],
                prop_oneof![Just(BSigns::Balanced), Just(BSigns::Positive)],
                any::<u64>(),
                any::<u64>(),
            )
        })
        .prop_map(
            |((d, m0, m1), activation, b_signs, teacher_seed, run_seed)| Case {
                d,
                m0,
                m1,
                activation,
                b_signs,
                teacher_seed,
                run_seed,
            },
        )
}

/// Identifies the case's teacher with [`Auto`] and, when certified, checks it against the
/// truth (the safety property). Returns `None` for a certified run, else the report's notes
/// (why it was not certified).
fn check(case: &Case) -> Result<Option<Vec<String>>, TestCaseError> {
    let teacher = TeacherConfig::new(case.d, case.m0, case.m1)
        .activation(case.activation)
        .b_signs(case.b_signs)
        .seed(case.teacher_seed)
        .generate()
        .map_err(|e| TestCaseError::fail(format!("teacher: {e}")))?;
    let oracle = NetworkOracle::new(teacher.clone());
    let arch = Architecture {
        d: case.d,
        m0: case.m0,
        m1: case.m1,
        g: case.activation,
        h: case.activation,
    };
    let la = Linalg::default_backend().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let options = RunOptions {
        seed: case.run_seed,
        ..RunOptions::default()
    };
    // No truth given: the route and the certificate see only the oracle.
    let out = identify(
        la,
        &oracle,
        &arch,
        &Auto::default(),
        &options,
        &Silent,
        None,
    );
    if out.certified() {
        let net = out
            .network
            .as_ref()
            .ok_or_else(|| TestCaseError::fail("certified without a network"))?;
        for (i, a) in teacher.a().columns().enumerate() {
            let e = net
                .a()
                .columns()
                .map(|b| sign_free_distance(a, b))
                .fold(f64::INFINITY, f64::min);
            prop_assert!(
                e < A_TOLERANCE,
                "certified, but a_{i} is off by {e:.2e} ({case:?})"
            );
        }
        let points = uniform_ball(case.d, TEST_POINTS, 1.0, case.run_seed ^ 0x5AFE);
        let rel = function_error(net, &points, &teacher.values(&points)).rel_l2;
        prop_assert!(
            rel < F_TOLERANCE,
            "certified, but f̂ is off by {rel:.2e} (relative L2) ({case:?})"
        );
        Ok(None)
    } else {
        Ok(Some(out.report.notes))
    }
}

/// The value of the environment variable `name`, parsed, or `default`.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn auto_is_right_whenever_certified_and_certifies_almost_always() {
    let config = Config {
        // Fixed cases (see the module docs); no regression file, no shrinking (a failing
        // case is printed whole, seeds included).
        rng_seed: RngSeed::Fixed(env_or("PROPTEST_RNG_SEED", 7)),
        failure_persistence: None,
        max_shrink_iters: 0,
        ..Config::with_cases(env_or("PROPTEST_CASES", CASES))
    };
    let n = config.cases as usize;
    let certified = Cell::new(0usize);
    let uncertified = RefCell::new(Vec::new());
    let start = Instant::now();
    let safety = TestRunner::new(config).run(&cases(), |case| {
        match check(&case)? {
            None => certified.set(certified.get() + 1),
            Some(notes) => uncertified.borrow_mut().push((case, notes)),
        }
        Ok(())
    });
    if let Err(e) = safety {
        panic!("safety: {e}");
    }
    let uncertified = uncertified.into_inner();
    eprintln!(
        "{n} cases in {:.1} s; certified {}; not certified: {uncertified:#?}",
        start.elapsed().as_secs_f64(),
        certified.get(),
    );
    assert_eq!(
        certified.get() + uncertified.len(),
        n,
        "every case ran once"
    );
    // Liveness: measured 1969 of 2000 cases certified (98.5 %, PROPTEST_CASES=2000, seed 7;
    // the misses are mostly sigmoid teachers with all-positive B and m1 = 1 or m1 close to
    // m0). Allowed: one miss in the 20 default cases, 5 % in larger runs.
    let allowed = n.div_ceil(20).max(1);
    assert!(
        uncertified.len() <= allowed,
        "liveness: {} of {n} runs not certified (at most {allowed} allowed): {uncertified:#?}",
        uncertified.len(),
    );
}
