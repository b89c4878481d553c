//! Dimension reduction: the gradient span recovers span{a_i}, and Hessians taken along its
//! basis, lifted back by U H Uᵀ, match the analytic Hessians at O(m0²) queries each.

mod common;

use common::{Recording, backends, random_network, rel_err};
use nnid_fd_hessian::{
    GradientStencil, HessianError, SamplingConfig, SpanConfig, Stencil, fd_gradients,
    gradient_span, sample_hessians,
};
use nnid_linalg::{Linalg, Mat, Op};
use nnid_nn_model::{Activation, NetworkOracle, Oracle};

/// `max_i ‖(I − U Uᵀ) a_i‖` for unit columns a_i: the sine of the largest angle between each
/// a_i and span U.
fn max_leak(la: Linalg<'_>, u: &Mat, a: &Mat) -> f64 {
    let coeff = la.matmul(u, Op::Trans, a, Op::NoTrans);
    let proj = la.matmul(u, Op::NoTrans, &coeff, Op::NoTrans);
    a.columns()
        .zip(proj.columns())
        .map(|(x, p)| {
            x.iter()
                .zip(p)
                .map(|(s, t)| (s - t).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .fold(0.0, f64::max)
}

#[test]
fn gradient_span_recovers_the_first_layer_span() {
    for (kind, la) in backends() {
        for (d, m0, m1, act) in [(9, 4, 2, Activation::Tanh), (8, 5, 3, Activation::Sigmoid)] {
            let net = random_network(d, m0, m1, act, 17);
            let oracle = Recording::new(net.clone());
            // Sigmoid: points twice as wide (its slope is half that of tanh).
            let config = SpanConfig::new(m0).with_scale(act.width());
            let span = gradient_span(la, &oracle, &config, 5).unwrap();
            assert_eq!(span.basis.shape(), (d, m0), "{kind}");
            assert_eq!(
                span.queries,
                ((m0 + 5) * 2 * d) as u64,
                "{kind}: 2d queries per gradient"
            );
            assert_eq!(oracle.queries(), span.queries, "{kind}: oracle counter");
            assert_eq!(
                oracle.batches(),
                vec![2 * d; m0 + 5],
                "{kind}: one batch per gradient"
            );
            // Wedin: the exact gradients have rank m0, so sin∠(span U, span A) ≤ ‖E‖/s_m0 for
            // the finite-difference error E (Frobenius bounds the spectral norm).
            let exact: Vec<Vec<f64>> = span.points.columns().map(|x| net.gradient(x)).collect();
            let e = span.gradients.sub(&Mat::from_columns(d, &exact)).norm_fro();
            // Central differences at ε = 1e-5: ε²|f‴|/6 + u|f|/ε ≈ 1e-11 per entry.
            let rel = e / span.gradients.norm_fro();
            assert!(
                rel < 1e-9,
                "{kind} {act}: relative gradient error {rel:.2e}"
            );
            let bound = e / span.singular_values[m0 - 1];
            let leak = max_leak(la, &span.basis, net.a());
            assert!(
                leak <= bound * (1.0 + 1e-6) + 1e-14,
                "{kind} {act}: leak {leak:.2e} > Wedin bound {bound:.2e}"
            );
            // Outside the span only the error remains: s_(m0+1) ≤ ‖E‖.
            let outside = span.singular_values[m0];
            assert!(
                outside <= e * (1.0 + 1e-6),
                "{kind} {act}: s_(m0+1) = {outside:.2e} > ‖E‖ = {e:.2e}"
            );
        }
    }
}

#[test]
fn forward_gradients_cost_d_plus_one_and_are_first_order() {
    for (kind, _) in backends() {
        let net = random_network(6, 3, 2, Activation::Tanh, 3);
        let oracle = NetworkOracle::new(net.clone());
        let pts = Mat::from_fn(6, 4, |i, j| ((i + 2 * j) as f64 * 0.37).sin());
        let g = fd_gradients(&oracle, &pts, GradientStencil::Forward { eps: 1e-7 }).unwrap();
        assert_eq!(oracle.queries(), 4 * 7, "{kind}");
        for j in 0..4 {
            let exact = net.gradient(pts.col(j));
            let err = g
                .col(j)
                .iter()
                .zip(&exact)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            // ε|f''|/2 + 2u|f|/ε ≈ 5e-8 + 5e-9.
            assert!(err < 1e-6, "{kind}: forward gradient error {err:.2e}");
        }
    }
}

#[test]
fn reduced_hessians_lift_to_the_analytic_hessians() {
    for (kind, la) in backends() {
        let (d, m0, m1) = (10, 4, 2);
        let net = random_network(d, m0, m1, Activation::Tanh, 29);
        let span = gradient_span(
            la,
            &NetworkOracle::new(net.clone()),
            &SpanConfig::new(m0),
            1,
        )
        .unwrap();
        let oracle = Recording::new(net.clone());
        let config = SamplingConfig::paper(m0, m1).with_basis(span.basis.clone());
        let s = sample_hessians(la, &oracle, Stencil::central(), &config, 2).unwrap();
        let per = m0 * m0 + m0 + 1;
        assert_eq!(s.side(), m0, "{kind}");
        assert_eq!(
            s.queries,
            (2 * (m0 + m1) * per) as u64,
            "{kind}: O(m0²) per Hessian"
        );
        assert_eq!(oracle.queries(), s.queries, "{kind}: oracle counter");
        assert_eq!(
            oracle.batches(),
            vec![per; 2 * (m0 + m1)],
            "{kind}: one batch per Hessian"
        );
        // Every exact Hessian lies in {U S Uᵀ} (up to the span error 1e-9), so lifting loses
        // nothing: the error is the central stencil's O(ε²) ≈ 1e-6.
        for (j, h) in s.lifted(la).iter().enumerate() {
            let e = rel_err(h, &net.hessian(s.points.col(j)));
            assert!(
                e < 1e-5,
                "{kind}: lifted Hessian {j} relative error {e:.2e}"
            );
        }
        // The same points as an unreduced run with the same seed.
        let full = sample_hessians(
            la,
            &oracle,
            Stencil::central(),
            &config.clone().with_count(1),
            2,
        );
        let full_pts = full.unwrap().points;
        assert!(
            full_pts.col(0) == s.points.col(0),
            "{kind}: reduced run moved the points"
        );
    }
}

#[test]
fn span_settings_are_checked() {
    let oracle = NetworkOracle::new(random_network(5, 3, 1, Activation::Tanh, 0));
    for (kind, la) in backends() {
        let cases = [
            ("m0", SpanConfig::new(0)),
            ("m0", SpanConfig::new(6)),
            ("n_grad", SpanConfig::new(3).with_n_grad(2)),
            ("scale", SpanConfig::new(3).with_scale(0.0)),
            (
                "gradient eps",
                SpanConfig::new(3).with_stencil(GradientStencil::Central { eps: 0.0 }),
            ),
        ];
        for (field, config) in cases {
            match gradient_span(la, &oracle, &config, 0) {
                Err(HessianError::InvalidConfig { field: f, .. }) => assert_eq!(f, field, "{kind}"),
                other => panic!("{kind}: expected InvalidConfig for `{field}`, got {other:?}"),
            }
        }
        assert_eq!(oracle.queries(), 0, "{kind}");
    }
}
