//! The analytic gradient and Hessian of [`Network`] against finite differences of its value.
//!
//! Tolerances are the finite-difference error bounds, computed per network:
//! * central difference of the value for ∂_k f: truncation h²/6·M3 plus rounding δ/h;
//! * the four-point stencil `(f(x+he_i+he_j) − f(x+he_i−he_j) − f(x−he_i+he_j) + f(x−he_i−he_j))/4h²`
//!   for ∂_i∂_j f: truncation h²/3·M4 plus rounding δ/h²;
//!
//! where Mk bounds the k-th directional derivative of f over unit directions and δ bounds the
//! absolute rounding error of one evaluation of f. With z_l(x + tu) the second-layer input,
//! |d^k z_l/dt^k| ≤ Z_k = S·α^k·sup|g^(k)| (S = max_l Σ_i |B_il|, α = max_i ‖a_i‖), and Faà di
//! Bruno's formula for h∘z gives M3 and M4 below (a symmetric k-linear form is bounded by its
//! values on the diagonal, so the same Mk bound mixed partials). The step h minimises the bound.

use nnid_linalg::norm2;
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Network};
use proptest::prelude::*;

/// sup |φ^(k)| for k = 0..4 (rounded up).
fn sup_derivatives(act: Activation) -> [f64; 5] {
    match act {
        Activation::Tanh => [1.0, 1.0, 0.7699, 2.0, 4.086],
        Activation::Sigmoid => [1.0, 0.25, 0.09623, 0.125, 0.1277],
    }
}

struct Bounds {
    m3: f64,
    m4: f64,
    delta: f64,
}

fn bounds(net: &Network, radius: f64) -> Bounds {
    let s = net
        .b()
        .columns()
        .map(|b| b.iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let alpha = net.a().columns().map(norm2).fold(0.0, f64::max);
    let cg = sup_derivatives(net.g());
    let ch = sup_derivatives(net.h());
    let z = |k: usize| s * alpha.powi(k as i32) * cg[k];
    let m1 = net.m1() as f64;
    let m3 = m1 * (ch[3] * z(1).powi(3) + 3.0 * ch[2] * z(1) * z(2) + ch[1] * z(3));
    let m4 = m1
        * (ch[4] * z(1).powi(4)
            + 6.0 * ch[3] * z(1).powi(2) * z(2)
            + 3.0 * ch[2] * z(2).powi(2)
            + 4.0 * ch[2] * z(1) * z(3)
            + ch[1] * z(4));
    // Rounding of one evaluation: sums of at most d + m0 + m1 terms, each of size at most
    // (1 + α·radius + |θ|)(1 + S + |τ|), with a generous factor for tanh/exp's own error.
    let shift = net
        .theta()
        .iter()
        .chain(net.tau())
        .fold(0.0f64, |m, t| m.max(t.abs()));
    let scale = (1.0 + alpha * radius + shift) * (1.0 + s + shift) * m1;
    let n = (net.input_dim() + net.m0() + net.m1()) as f64;
    Bounds {
        m3,
        m4,
        delta: 16.0 * n * f64::EPSILON * scale,
    }
}

fn shifted(x: &[f64], moves: &[(usize, f64)]) -> Vec<f64> {
    let mut y = x.to_vec();
    for &(k, h) in moves {
        y[k] += h;
    }
    y
}

fn network_strategy() -> impl Strategy<Value = Network> {
    (
        2usize..8,
        0.0..1.0f64,
        0.0..1.0f64,
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(d, f0, f1, seed, sig)| {
            let m0 = 1 + (f0 * d as f64) as usize % d;
            let m1 = 1 + (f1 * m0 as f64) as usize % m0;
            let act = if sig {
                Activation::Sigmoid
            } else {
                Activation::Tanh
            };
            TeacherConfig::new(d, m0, m1)
                .activation(act)
                .seed(seed)
                .generate()
                .unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn gradient_matches_central_differences(net in network_strategy(), u in prop::collection::vec(-1.0..1.0f64, 8)) {
        let radius = 2.0;
        let x: Vec<f64> = u[..net.input_dim()].iter().map(|v| radius * v / (net.input_dim() as f64).sqrt()).collect();
        let b = bounds(&net, radius + 1.0);
        let h = (3.0 * b.delta / b.m3).cbrt();
        let tol = h * h / 6.0 * b.m3 + b.delta / h;
        let grad = net.gradient(&x);
        for (k, gk) in grad.iter().enumerate() {
            let fd = (net.value(&shifted(&x, &[(k, h)])) - net.value(&shifted(&x, &[(k, -h)]))) / (2.0 * h);
            prop_assert!((fd - gk).abs() <= tol, "∂_{k}: analytic {gk}, FD {fd}, bound {tol:e} (h = {h:e})");
        }
    }

    #[test]
    fn hessian_matches_second_differences(net in network_strategy(), u in prop::collection::vec(-1.0..1.0f64, 8)) {
        let radius = 2.0;
        let x: Vec<f64> = u[..net.input_dim()].iter().map(|v| radius * v / (net.input_dim() as f64).sqrt()).collect();
        let b = bounds(&net, radius + 1.0);
        let h = (3.0 * b.delta / b.m4).powf(0.25);
        let tol = h * h / 3.0 * b.m4 + b.delta / (h * h);
        let hess = net.hessian(&x);
        let d = net.input_dim();
        for i in 0..d {
            for j in 0..=i {
                let f = |si: f64, sj: f64| net.value(&shifted(&x, &[(i, si * h), (j, sj * h)]));
                let fd = (f(1.0, 1.0) - f(1.0, -1.0) - f(-1.0, 1.0) + f(-1.0, -1.0)) / (4.0 * h * h);
                prop_assert!((fd - hess[(i, j)]).abs() <= tol, "∂_{i}∂_{j}: analytic {}, FD {fd}, bound {tol:e}", hess[(i, j)]);
                prop_assert!((hess[(i, j)] - hess[(j, i)]).abs() <= 1e-14 * (1.0 + hess[(i, j)].abs()));
            }
        }
    }
}

/// The bounds above are only as good as the derivative suprema: check those against a fine
/// grid of the analytic derivatives (orders 0–3) and central differences of the third
/// derivative (order 4; its error is below 1e-6 at step 1e-4).
#[test]
fn derivative_suprema_are_upper_bounds() {
    for act in Activation::ALL {
        let sup = sup_derivatives(act);
        for i in -40_000..=40_000 {
            let t = f64::from(i) * 5e-4;
            let dv = act.derivatives(t);
            for k in 0..4 {
                assert!(
                    dv[k].abs() <= sup[k],
                    "{act}: |φ^({k})({t})| = {} > {}",
                    dv[k].abs(),
                    sup[k]
                );
            }
            let d4 = (act.d3(t + 1e-4) - act.d3(t - 1e-4)) / 2e-4;
            assert!(
                d4.abs() <= sup[4] + 1e-6,
                "{act}: |φ''''({t})| ≈ {} > {}",
                d4.abs(),
                sup[4]
            );
        }
    }
}

/// `values` (batched, parallel) agrees with `value` point by point bit for bit, `values_fast`
/// (matrix products) to rounding, and `value` (the fast path) with the forward pass bit for
/// bit, for widths on and off the blocks of four. Bound for `values_fast`: the products sum
/// the same terms in another order, so y_i differs by at most d·ε·Σ_j|a_ji x_j| and z_l by
/// m0·ε·Σ_i|B_il| plus the propagated error (g', h' ≤ 1): |Δf| ≤ m1·m0·ε·(d·max|x| + 2)
/// with unit-norm rows; 4× margin.
#[test]
fn batched_values_equal_single_values() {
    for (d, m0, m1) in [(7, 5, 3), (9, 8, 4), (3, 3, 3), (12, 11, 1)] {
        let net = TeacherConfig::new(d, m0, m1).seed(4).generate().unwrap();
        let pts =
            nnid_linalg::Mat::from_fn(d, 300, |i, j| ((i * 31 + j * 17) % 23) as f64 / 7.0 - 1.5);
        let exact = net.values(&pts);
        let batch = net.values_fast(&pts);
        let tol = 4.0 * (m1 * m0) as f64 * f64::EPSILON * (d as f64 * 1.6 + 2.0);
        for (j, v) in batch.iter().enumerate() {
            let x = pts.col(j);
            let single = net.value(x);
            assert_eq!(
                exact[j].to_bits(),
                single.to_bits(),
                "{d},{m0},{m1} point {j}"
            );
            assert!(
                (v - single).abs() <= tol,
                "{d},{m0},{m1} point {j}: {v} vs {single}"
            );
            let slow: f64 = net.forward(x).hz.iter().map(|h| h[0]).sum();
            assert_eq!(single.to_bits(), slow.to_bits(), "{d},{m0},{m1} point {j}");
        }
    }
}
