//! End to end through the oracle protocol with a program that is not nnid:
//! `tests/scripts/network_oracle.py` serves a network file written by nnid (text and binary
//! framing, float64 and float32), and [`SubprocessOracle`] must give back exactly what the
//! in-process [`NetworkOracle`] computes.
//!
//! The tests that drive the `nnid` program itself (`nnid generate | nnid eval`, the
//! subprocess oracle built from `nnid eval`, its error messages) live in
//! `crates/nnid/tests/oracle_cli.rs`: only there does cargo build the binary for them and
//! name it in `CARGO_BIN_EXE_nnid`, whatever packages are tested.

use nnid_e2e::{network_oracle_script, scratch_dir};
use nnid_linalg::Mat;
use nnid_nn_model::teacher::{TeacherConfig, WeightDist};
use nnid_nn_model::{
    Activation, Float32Oracle, Framing, Network, NetworkOracle, NoisyOracle, Oracle,
    SubprocessOracle,
};
use std::path::Path;

fn points(d: usize, n: usize, seed: u64) -> Mat {
    // A simple deterministic spread of points in [-2, 2]^d (no rand needed here).
    let mut state = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    Mat::from_fn(d, n, |_, _| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
    })
}

fn script_oracle(net_file: &Path, d: usize, flags: &[&str]) -> SubprocessOracle {
    let mut args = vec![
        network_oracle_script().display().to_string(),
        net_file.display().to_string(),
    ];
    args.extend(flags.iter().map(ToString::to_string));
    let framing = if flags.contains(&"--binary") {
        Framing::Binary
    } else {
        Framing::Text
    };
    SubprocessOracle::spawn("python3", args, d)
        .unwrap()
        .with_framing(framing)
}

fn write_teacher(name: &str, cfg: TeacherConfig) -> (Network, std::path::PathBuf) {
    let net = cfg.generate().unwrap();
    let path = scratch_dir(name).join("net.json");
    net.write_json(&path).unwrap();
    (net, path)
}

#[test]
fn a_foreign_program_serving_the_file_agrees_bit_for_bit() {
    for (k, act) in Activation::ALL.into_iter().enumerate() {
        let cfg = TeacherConfig::new(12, 8, 4)
            .activation(act)
            .seed(20 + k as u64);
        let (net, path) = write_teacher(&format!("bitexact-{act}"), cfg);
        assert_eq!(
            Network::read_json(&path).unwrap(),
            net,
            "the file holds the exact network"
        );
        let truth = NetworkOracle::new(net);
        let pts = points(12, 3000, k as u64);
        // The exact per-point values (the in-process oracle uses matrix products for large
        // batches and agrees with these to rounding only).
        let want = truth.network().values(&pts);
        for flags in [&[][..], &["--binary"][..]] {
            let o = script_oracle(&path, 12, flags);
            let got = o.query(&pts).unwrap();
            let worst = got
                .iter()
                .zip(&want)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(
                worst, 0,
                "{act} {flags:?}: {worst} answers differ from the in-process network"
            );
            // Small batches too: each answer must come back before the next query is sent.
            for (j, w) in want.iter().take(3).enumerate() {
                assert_eq!(o.query_one(pts.col(j)).unwrap().to_bits(), w.to_bits());
            }
            assert_eq!(o.queries(), 3003);
        }
    }
}

/// A float32 model served by a script: its answers are f32 values within float32 accuracy of
/// the exact network, and wrapping the exact oracle in [`Float32Oracle`] with rounded queries
/// models it to the same accuracy. Bound: each of the ~d + m0 + m1 rounded operations on
/// the path to an answer adds a relative error of at most 2⁻²⁴ of terms bounded by
/// Σ|weights|·|x| ≲ 10 here, so |difference| ≤ 64·(d + m0)·2⁻²⁴·m1 is generous but tight enough to
/// tell float32 (1e-7) from float64 (1e-16) or from a wrong network (1e-1).
#[test]
fn a_float32_model_matches_the_float32_wrapper_to_float32_accuracy() {
    let cfg = TeacherConfig::new(10, 6, 3)
        .weights(WeightDist::PerturbedOrthogonal { eps: 0.1 })
        .seed(3);
    let (net, path) = write_teacher("float32", cfg);
    let pts = points(10, 500, 9);
    let exact = NetworkOracle::new(net.clone()).query(&pts).unwrap();
    let model = script_oracle(&path, 10, &["--binary", "--float32"]);
    let got = model.query(&pts).unwrap();
    let wrapped = Float32Oracle::new(NetworkOracle::new(net))
        .round_queries(true)
        .query(&pts)
        .unwrap();
    let bound = 64.0 * 16.0 * 3.0 * 2f64.powi(-24);
    let mut max_diff = 0.0f64;
    for ((g, e), w) in got.iter().zip(&exact).zip(&wrapped) {
        assert!(
            (f64::from(*g as f32) - g).abs() < 1e-300,
            "answer {g} is not a float32 value"
        );
        assert!(
            (g - e).abs() <= bound && (g - w).abs() <= bound,
            "{g} vs exact {e}, wrapper {w}"
        );
        max_diff = max_diff.max((g - e).abs());
    }
    // The model really is float32: far from float64 agreement.
    assert!(
        max_diff > 1e-9,
        "max difference {max_diff} looks like float64"
    );
}

#[test]
fn noise_over_a_subprocess_keeps_the_count_and_the_seed() {
    let (net, path) = write_teacher("noisy", TeacherConfig::new(5, 4, 2).seed(8));
    let pts = points(5, 200, 1);
    let exact = NetworkOracle::new(net).query(&pts).unwrap();
    let run = || {
        let o = NoisyOracle::new(script_oracle(&path, 5, &[]), 1e-6, 42).unwrap();
        let v = o.query(&pts).unwrap();
        assert_eq!(o.queries(), 200);
        v
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b, "same seed, same batches: same noisy answers");
    let max = a
        .iter()
        .zip(&exact)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    // 200 draws of N(0, 1e-12): the largest is below 6σ with probability 1 − 4e-7.
    assert!(max > 0.0 && max < 6e-6, "{max}");
}

#[test]
fn a_script_that_stops_early_or_fails_is_a_clear_error() {
    let (_, path) = write_teacher("dies", TeacherConfig::new(4, 3, 2).seed(1));
    let script = network_oracle_script();
    // `head -n 2` lets two queries through: the script answers them and ends.
    let cmd = format!(
        "head -n 2 | python3 {} {}",
        script.display(),
        path.display()
    );
    let o = SubprocessOracle::spawn_shell(&cmd, 4).unwrap();
    let err = o.query(&points(4, 5, 2)).unwrap_err().to_string();
    assert!(
        err.starts_with("query 2: the oracle stopped answering after 2 of 5"),
        "{err}"
    );
    assert!(err.contains("exit status: 0"), "{err}");

    // A script that crashes on start-up (here: on a malformed network file): the error
    // carries its exit status and the end of its traceback.
    let bad = scratch_dir("dies-bad").join("net.json");
    std::fs::write(&bad, "{\"input_dim\": 4,").unwrap();
    let o = script_oracle(&bad, 4, &[]);
    let err = o.query(&points(4, 3, 3)).unwrap_err().to_string();
    assert!(
        err.starts_with("query 0: the oracle stopped answering after 0 of 3"),
        "{err}"
    );
    assert!(
        err.contains("exit status: 1") && err.contains("JSONDecodeError"),
        "{err}"
    );
}
