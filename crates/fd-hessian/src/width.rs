//! The first hidden width m0 from the gradient span's singular values (unknown widths on
//! noisy oracles).
//!
//! Every exact gradient lies in span{a_i}, so n > d stacked finite-difference gradients have
//! m0 singular values of the network's size and d − m0 of the size of the finite-difference
//! error. For an oracle with relative noise floor ρ (absolute σ), the central step
//! ε = max(ε₀, (3ρ)^{1/3}) ([`noise_adapted_step`]) balances the noise σ/ε against the
//! truncation ε²|f'''|/6; each central difference carries noise of standard deviation
//! σ/(√2 ε), and a d×n matrix of such errors has spectral norm at most about
//! σ/(√2 ε)·(√d + √n) ([`predicted_noise`]; the edge of its singular values). m0 is the number of singular values above
//! [`NOISE_MARGIN`] times that prediction, and it is decided only when the m0-th value is at
//! least [`MIN_SPAN_GAP`] times that threshold: otherwise [`HessianError::RankUndecided`],
//! never a guess.
//!
//! The floor ρ here is relative to the spread of f's answers (its variation, which sets its
//! derivatives), not to their size. Measured at (30, 20, 10), tanh, 4 teachers, n = d + 5
//! (`cargo run --release -p nnid --example width_evidence -- 30 20 10 tanh float32 span`):
//! the largest noise singular value is 0.45–0.95 times the prediction on exact, float32 and
//! σ = 1e-8, 1e-6 answers, and the m0-th value is 1600× (float32) to 250× (σ = 1e-6) the
//! (m0+1)-th; at σ = 1e-4 the ratio is about 12 and the width is not decided. (20, 10, 5)
//! sigmoid teachers at σ = 1e-6 and (30, 20, 10) sigmoid teachers on float32 answers
//! (seeds 1–4): the m0-th value is 10–20 times the prediction, the (m0+1)-th 0.5–0.8 times.

use crate::error::{HessianError, Result};
use crate::gradient::{GradientSpan, GradientStencil, SpanConfig, gradient_span};
use nnid_linalg::Linalg;
use nnid_nn_model::Oracle;

/// A singular value counts as signal above this multiple of [`predicted_noise`] (measured:
/// the largest noise value is at most 0.95 times the prediction, so the margin is ≥ 2×,
/// and covers a floor underestimated by half).
pub const NOISE_MARGIN: f64 = 2.0;

/// The largest singular value counted as noise must be at most this multiple of
/// [`predicted_noise`] for m0 to be decided (measured: up to 1.03 on float32 answers, whose
/// rounding noise is not Gaussian, and 0.79 on Gaussian noise, over 24 runs at (20, 10, 5) and
/// (30, 20, 10)); a value between this and the threshold could be signal or noise.
pub const NOISE_CEILING: f64 = 1.5;

/// The m0-th singular value must be at least this multiple of the threshold for m0 to be
/// decided: every signal value is then at least 8 times the prediction, about 8 times every
/// noise value.
pub const MIN_SPAN_GAP: f64 = 4.0;

/// The central-difference step for an oracle with relative noise floor ρ:
/// max([`SpanConfig::DEFAULT_EPS`], (3ρ)^{1/3}), the step that balances the noise ρ/ε with
/// the truncation ε² for f and f''' of order 1 (at ρ = the rounding unit it is the default).
pub fn noise_adapted_step(relative_floor: f64) -> f64 {
    (3.0 * relative_floor.max(0.0))
        .cbrt()
        .max(SpanConfig::DEFAULT_EPS)
}

/// The spectral norm expected of the finite-difference error of `n` central-difference
/// gradients in R^d with step `eps` on answers with absolute noise `absolute_floor`:
/// σ/(√2 ε)·(√d + √n) (module docs).
pub fn predicted_noise(absolute_floor: f64, eps: f64, d: usize, n: usize) -> f64 {
    let per_entry = absolute_floor / (std::f64::consts::SQRT_2 * eps);
    per_entry * ((d as f64).sqrt() + (n as f64).sqrt())
}

/// The decided dimension of a gradient span, with its evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanRank {
    /// The decided dimension m0.
    pub m0: usize,
    /// [`predicted_noise`] of the gradients.
    pub predicted_noise: f64,
    /// The threshold: [`NOISE_MARGIN`] × the predicted noise.
    pub threshold: f64,
    /// s_{m0} / threshold (at least [`MIN_SPAN_GAP`]).
    pub gap: f64,
}

/// m0 from the singular values (non-increasing) of the stacked gradients and the predicted
/// noise (module docs).
///
/// # Errors
/// [`HessianError::RankUndecided`] when no value is above the threshold, the smallest one
/// above it is less than [`MIN_SPAN_GAP`] times the threshold, or the largest one below it
/// is above [`NOISE_CEILING`] times the prediction (a value in that band could be signal or
/// noise: a property test
/// found a steep sigmoid spectrum whose m0-th value sat at 0.97 times the threshold); the
/// detail names them.
pub fn span_rank(singular_values: &[f64], predicted_noise: f64) -> Result<SpanRank> {
    let threshold = NOISE_MARGIN * predicted_noise;
    let m0 = singular_values
        .iter()
        .take_while(|&&s| s > threshold)
        .count();
    let last = m0.checked_sub(1).map(|k| singular_values[k]);
    let gap = last.map_or(0.0, |s| s / threshold);
    let largest_noise = singular_values.get(m0).copied().unwrap_or(0.0);
    if m0 > 0 && gap >= MIN_SPAN_GAP && largest_noise <= NOISE_CEILING * predicted_noise {
        return Ok(SpanRank {
            m0,
            predicted_noise,
            threshold,
            gap,
        });
    }
    let around: Vec<String> = singular_values
        .iter()
        .enumerate()
        .skip(m0.saturating_sub(3))
        .take(6)
        .map(|(k, s)| format!("s_{} = {s:.2e}", k + 1))
        .collect();
    Err(HessianError::RankUndecided {
        detail: format!(
            "{m0} singular values are above the threshold {threshold:.2e} ({NOISE_MARGIN} × the predicted finite-difference error {predicted_noise:.2e}), the smallest of them {gap:.1} times it (at least {MIN_SPAN_GAP} needed), and the next one is {:.1} times the prediction (at most {NOISE_CEILING} allowed): {}; the answers are too noisy for the gradient span to show m0",
            largest_noise / predicted_noise,
            around.join(", ")
        ),
    })
}

/// The gradient span when m0 is unknown: `d + extra` central-difference gradients at the
/// [`noise_adapted_step`] of the oracle's floor, m0 decided by [`span_rank`], and the basis
/// cut to the top m0 singular vectors.
///
/// # Errors
/// As [`gradient_span`] and [`span_rank`].
pub fn gradient_span_of_unknown_width(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    relative_floor: f64,
    absolute_floor: f64,
    extra: usize,
    seed: u64,
) -> Result<(GradientSpan, SpanRank)> {
    let d = oracle.input_dim();
    let eps = noise_adapted_step(relative_floor);
    let cfg = SpanConfig::new(d)
        .with_n_grad(d + extra)
        .with_stencil(GradientStencil::Central { eps });
    let mut span = gradient_span(la, oracle, &cfg, seed)?;
    let rank = span_rank(
        &span.singular_values,
        predicted_noise(absolute_floor, eps, d, cfg.n_grad),
    )?;
    span.basis = span.basis.leading_columns(rank.m0);
    Ok((span, rank))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::BackendKind;
    use nnid_nn_model::teacher::TeacherConfig;
    use nnid_nn_model::{Activation, NetworkOracle, NoisyOracle};
    use proptest::prelude::*;

    fn la() -> Linalg<'static> {
        BackendKind::default_compiled().unwrap().linalg().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Exact construction: a network with m0 ≤ d first-layer neurons, answers with
        /// Gaussian noise σ ∈ {0 (rounding), 1e-10, 1e-8}: a decided span has dimension m0,
        /// and its basis contains every a_i (‖(I − UUᵀ)a_i‖ of the order of the predicted
        /// error over the smallest signal value, far below 1e-2).
        #[test]
        fn the_span_shows_m0(m0 in 1usize..8, extra_d in 0usize..4, seed in 0u64..500,
                             noise in prop::sample::select(vec![0.0f64, 1e-10, 1e-8]),
                             sigmoid in any::<bool>()) {
            let d = m0 + extra_d;
            let act = if sigmoid { Activation::Sigmoid } else { Activation::Tanh };
            let net = TeacherConfig::new(d, m0, 1.max(m0 / 2)).activation(act).seed(seed).generate().unwrap();
            let exact = NetworkOracle::new(net.clone());
            let floor = noise.max(1e-16);
            // As the pipeline does: the floor relative to the spread of f's answers.
            let values = net.values(&crate::points::gaussian_points(d, 48, 1.0, seed));
            let mean = values.iter().sum::<f64>() / 48.0;
            let spread = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 47.0).sqrt();
            let decided = if noise > 0.0 {
                let noisy = NoisyOracle::new(Box::new(exact), noise, seed).unwrap();
                gradient_span_of_unknown_width(la(), &noisy, floor / spread, floor, 5, seed)
            } else {
                gradient_span_of_unknown_width(la(), &exact, floor / spread, floor, 5, seed)
            };
            // Undecided is allowed (the error names the spectrum); a decision must be right.
            let Ok((span, rank)) = decided else {
                return Ok(());
            };
            prop_assert_eq!(rank.m0, m0, "values {:?}", span.singular_values);
            prop_assert_eq!(span.basis.ncols(), m0);
            for a in net.a().columns() {
                let c = span.basis.matvec_t(a);
                let inside: f64 = c.iter().map(|x| x * x).sum();
                prop_assert!((1.0 - inside).max(0.0).sqrt() < 1e-2);
            }
        }
    }

    #[test]
    fn no_gap_is_an_error_naming_the_values() {
        let err = span_rank(&[1.0, 0.5, 0.2], 0.05).unwrap_err().to_string();
        assert!(err.contains("cannot be decided"), "{err}");
        assert!(err.contains("s_3 = 2.00e-1"), "{err}");
        let err = span_rank(&[1e-3, 1e-4], 1.0).unwrap_err().to_string();
        assert!(err.contains("0 singular values are above"), "{err}");
        // A clear gap above, but a value between the prediction and the threshold below.
        let err = span_rank(&[1.0, 0.5, 1.8e-2], 1e-2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("next one is 1.8 times the prediction"),
            "{err}"
        );
    }

    #[test]
    fn a_clear_gap_decides() {
        let r = span_rank(&[2.0, 1.0, 1e-6, 1e-7], 1e-5).unwrap();
        assert_eq!(r.m0, 2);
        assert!((r.gap - 1.0 / (NOISE_MARGIN * 1e-5)).abs() < 1e-6);
    }

    #[test]
    fn the_adapted_step_is_the_default_on_exact_answers() {
        assert_eq!(
            noise_adapted_step(1e-17).to_bits(),
            SpanConfig::DEFAULT_EPS.to_bits()
        );
        assert!((noise_adapted_step(1e-6 / 3.0) - 1e-2).abs() < 1e-12);
    }
}
