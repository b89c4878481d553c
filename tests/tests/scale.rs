//! Issue 9 in CI: a (100, 50, 25) teacher (6,325 parameters) identified by the default
//! method through the in-process oracle, certified, and checked against the truth here,
//! independently of the report: every a_i up to sign, and f̂ against f on fresh points.
//! (The larger sizes run in `cargo xtask scale`.)

use nnid::metrics::{function_error, gaussian_points, sign_free_distance};
use nnid::routes::auto::Auto;
use nnid::{Architecture, RunOptions, Silent, identify};
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, NetworkOracle};

/// The smallest distance of `a` to ±b over the columns b of `m`.
fn nearest_up_to_sign(a: &[f64], m: &Mat) -> f64 {
    m.columns()
        .map(|b| sign_free_distance(a, b))
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn a_100_50_25_teacher_is_identified_exactly_and_certified() {
    let (d, m0, m1) = (100, 50, 25);
    let teacher = TeacherConfig::new(d, m0, m1)
        .activation(Activation::Tanh)
        .seed(3)
        .generate()
        .unwrap();
    let oracle = NetworkOracle::new(teacher.clone());
    let arch = Architecture {
        d,
        m0,
        m1,
        g: Activation::Tanh,
        h: Activation::Tanh,
    };
    let la = Linalg::default_backend().unwrap();
    let options = RunOptions {
        seed: 5,
        ..RunOptions::default()
    };
    let out = identify(
        la,
        &oracle,
        &arch,
        &Auto::default(),
        &options,
        &Silent,
        None,
    );
    assert!(out.certified(), "not certified: {:?}", out.report.notes);
    let net = out.network.expect("a certified run has a network");

    // Every true a_i has an identified column within 1e-8 up to sign: the route's first
    // layer is rounding-limited (~1e-12, docs/stages/saturation.md); 1e-8 leaves room for
    // the conditioning of this teacher and still rejects any wrong neuron (errors O(1)).
    for (i, a) in teacher.a().columns().enumerate() {
        let e = nearest_up_to_sign(a, net.a());
        assert!(e < 1e-8, "a_{i} is off by {e:.2e}");
    }
    // f̂ against f on 2,000 fresh points x ~ N(0, 4I/d) (norm about 2, other points than
    // the certificate's): the certificate vouches for 1e-9 on its own points; 1e-8 allows a
    // factor 10 for the other distribution, while a wrong network errs by O(1).
    let pts = gaussian_points(d, 2000, 2.0 / (d as f64).sqrt(), 99);
    let rel = function_error(&net, &pts, &teacher.values(&pts)).rel_l2;
    assert!(rel < 1e-8, "relative L2 error {rel:.2e}");
}
