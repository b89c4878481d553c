//! Issue 10 end to end: a real float32 model, computed in float32 arithmetic by a program that
//! is not nnid (`tests/scripts/network_oracle.py --float32`: weights, inputs and every
//! intermediate result rounded to float32), identified by `auto` through the subprocess
//! protocol. The certificate must pass against the oracle's measured noise floor, never
//! against 1e-9 (the answers carry about 1e-7), and the network must be right when checked
//! against the exact teacher, independently of the report.

use nnid::metrics::{match_weights, uniform_ball};
use nnid::routes::auto::Auto;
use nnid::{Architecture, RunOptions, Silent, identify};
use nnid_e2e::{network_oracle_script, scratch_dir};
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Framing, Oracle, SubprocessOracle};

fn identify_float32_model(act: Activation, seed: u64) {
    let teacher = TeacherConfig::new(12, 6, 3)
        .activation(act)
        .seed(seed)
        .generate()
        .unwrap();
    let path = scratch_dir(&format!("float32-model-{act}-{seed}")).join("teacher.json");
    teacher.write_json(&path).unwrap();
    let args = vec![
        network_oracle_script().display().to_string(),
        path.display().to_string(),
        "--binary".into(),
        "--float32".into(),
    ];
    let oracle = SubprocessOracle::spawn("python3", args, 12)
        .unwrap()
        .with_framing(Framing::Binary);
    let arch = Architecture {
        d: 12,
        m0: 6,
        m1: 3,
        g: act,
        h: act,
    };
    let options = RunOptions {
        seed,
        ..RunOptions::default()
    };
    let out = identify(
        nnid_linalg::BackendKind::default_compiled()
            .unwrap()
            .linalg()
            .unwrap(),
        &oracle,
        &arch,
        &Auto::default(),
        &options,
        &Silent,
        None,
    );
    let r = &out.report;
    assert!(out.certified(), "{act}: {:?} {:?}", r.error, r.notes);
    let cert = r.certificate.unwrap();
    assert!(
        cert.noise_limited && cert.threshold > 1e-9,
        "{act}: certified against the float32 floor, not 1e-9: {cert:?}"
    );
    // The floor is float32 rounding: 2⁻²⁴ ≈ 6e-8 relative per operation, a few of them.
    let rho = cert.relative_noise_floor.unwrap();
    assert!((1e-9..1e-5).contains(&rho), "{act}: relative floor {rho:e}");
    assert!(oracle.queries() > 0);

    // Independently of the report: the weights and the function against the exact teacher.
    // The targets: every a_i within 1e-4 and rel-L2 ≤ 1e-6 in the unit ball.
    let net = out.network.unwrap();
    let weights = match_weights(teacher.a(), net.a(), 1e-4);
    assert_eq!(weights.found, 6, "{act}: a_i errors {:?}", weights.errors);
    let pts = uniform_ball(12, 4000, 1.0, 5);
    let (y, yhat) = (teacher.values(&pts), net.values(&pts));
    let num: f64 = y.iter().zip(&yhat).map(|(a, b)| (a - b) * (a - b)).sum();
    let den: f64 = y.iter().map(|a| a * a).sum();
    let rel = (num / den).sqrt();
    assert!(rel <= 1e-6, "{act}: rel-L2 {rel:e}");
}

#[test]
fn a_float32_tanh_model_served_by_a_script_is_identified() {
    identify_float32_model(Activation::Tanh, 3);
}

#[test]
fn a_float32_sigmoid_model_served_by_a_script_is_identified() {
    identify_float32_model(Activation::Sigmoid, 4);
}
