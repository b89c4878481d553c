//! The first hidden width m0 from the gradient span's singular values (unknown widths on
//! noisy oracles).
//!
//! Every exact gradient lies in span{a_i}, so n > d stacked finite-difference gradients have
//! m0 singular values of the network's size and d − m0 of the size of the finite-difference
//! error. For an oracle with relative noise floor ρ (absolute σ), the central step
//! ε = max(ε₀, (3ρ)^{1/3}) ([`noise_adapted_step`]) balances the noise σ/ε against the
//! truncation ε²|f'''|/6; each central difference carries noise of standard deviation
//! σ/(√2 ε), and a d×n matrix of such errors has spectral norm at most about
//! σ/(√2 ε)·(√d + √n) (the edge of its singular values). Rounding noise grows with |f|, so σ
//! is taken point by point ([`PointNoise`]), and the norm is about the largest column norm
//! plus the largest row norm, (√d·max σ_i + (Σ σ_i²)^{1/2})/(√2 ε) ([`predicted_noise`]).
//! m0 is the number of singular values above
//! [`NOISE_MARGIN`] times that prediction, and it is decided only when the m0-th value is at
//! least [`MIN_SPAN_GAP`] times that threshold: otherwise [`HessianError::RankUndecided`],
//! never a guess.
//!
//! What a decision guarantees: m0 is the number of directions the gradients show above
//! their noise. With G = G₀ + E (exact gradients plus finite-difference error, ‖E‖ below
//! the prediction: measured ≤ 0.77 of it), Weyl's inequality |s_k(G) − s_k(G₀)| ≤ ‖E‖ makes
//! every decided value a direction of span{a_i} (s_k(G₀) ≥ (2·4 − 1) × the prediction), and
//! a value counted as noise at most (1.5 + 1) × the prediction in G₀. A neuron whose
//! gradients are weaker than that is invisible to any rule on this spectrum (a property
//! test found one: a (7, 7, 3) float32 sigmoid teacher whose 7th value, 1.1e-5, sat below
//! the prediction): m0 comes out one short, and the second layer then finds no width that
//! certifies, so the run ends in an error that says so ([`SpanRank::largest_noise`] is the
//! evidence), never in a certified wrong network.
//!
//! The floor ρ here is relative to the spread of f's answers (its variation, which sets its
//! derivatives), not to their size; the noise model's `per_value` is relative to |f| (the
//! pipeline sets it for deterministic noise, rounding, and leaves it 0 for noise that changes
//! between calls). Measured at (20, 10, 5) and (30, 20, 10), 4 teachers each, n = d + 5
//! (`cargo run --release -p nnid --example width_evidence -- 30 20 10 tanh float32 span`,
//! which prints the one-σ and the point-by-point predictions): on float32 answers the
//! largest noise singular value is 0.28–0.77 times the point-by-point prediction (one σ for
//! every point gave up to 1.68 on tanh, whose |f| varies most); on Gaussian σ = 1e-8 to
//! 1e-4 it is 0.45–0.66 times the prediction. The m0-th value is 630–2460 times the
//! prediction on float32 tanh answers, 14–133 on float32 sigmoid answers, 110–360 at
//! σ = 1e-6 (tanh), 10–21 at (20, 10, 5) sigmoid σ = 1e-6; at (30, 20, 10) sigmoid
//! σ = 1e-6 (4–8 times) and tanh σ = 1e-4 (5–8 times at (30, 20, 10), 7–17 at (20, 10, 5))
//! the width is not always decided.

use crate::error::{HessianError, Result};
use crate::gradient::{GradientSpan, GradientStencil, SpanConfig, gradient_span};
use nnid_linalg::Linalg;
use nnid_nn_model::Oracle;

/// A singular value counts as signal above this multiple of [`predicted_noise`] (measured:
/// the largest noise value is at most 0.77 times the prediction, so the margin is ≥ 2.6×,
/// and covers a floor underestimated by half).
pub const NOISE_MARGIN: f64 = 2.0;

/// The largest singular value counted as noise must be at most this multiple of
/// [`predicted_noise`] for m0 to be decided (measured: up to 0.77 at (20, 10, 5) and
/// (30, 20, 10), float32 and Gaussian answers; module docs); a value between this and the
/// threshold could be signal or noise.
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

/// The noise of an oracle's answers as the width decision models it, point by point: an
/// answer where |f| has size v carries noise of standard deviation
/// max(`absolute`, `per_value`·v). Additive noise is `absolute`; rounding noise (a float32
/// oracle's) grows with |f|, and `per_value` (the floor over the RMS answer where it was
/// measured) follows it: one σ for every point underestimated the largest noise singular
/// value of a float32 span 1.7–1.9 times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointNoise {
    /// σ in the units of f: the floor measured at the probe's points.
    pub absolute: f64,
    /// σ per unit of |f|: the floor over the RMS of the answers where it was measured.
    pub per_value: f64,
}

impl PointNoise {
    /// The same σ at every point.
    pub const fn uniform(absolute: f64) -> Self {
        Self {
            absolute,
            per_value: 0.0,
        }
    }

    /// σ of an answer where |f| has size `value_scale`.
    pub fn at(&self, value_scale: f64) -> f64 {
        self.absolute.max(self.per_value * value_scale)
    }
}

/// The spectral norm expected of the finite-difference error of central-difference
/// gradients in R^d with step `eps`, one per point, whose answers carry noise of standard
/// deviation `sigmas[i]` at point i: column i has entries of standard deviation
/// σ_i/(√2 ε), and such a matrix has norm about its largest column norm plus its largest
/// row norm, (√d·max σ_i + (Σ σ_i²)^{1/2})/(√2 ε); σ(√d + √n)/(√2 ε) for one σ (module
/// docs).
pub fn predicted_noise(sigmas: &[f64], eps: f64, d: usize) -> f64 {
    let largest = sigmas.iter().copied().fold(0.0, f64::max);
    let row = sigmas.iter().map(|s| s * s).sum::<f64>().sqrt();
    ((d as f64).sqrt() * largest + row) / (std::f64::consts::SQRT_2 * eps)
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
    /// s_{m0+1}, the largest value counted as noise (0 when m0 = d): a neuron whose
    /// gradients are weaker than about this plus the noise cannot be told from the noise
    /// (module docs).
    pub largest_noise: f64,
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
            largest_noise,
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
/// [`noise_adapted_step`] of the oracle's floor relative to f's spread, m0 decided by
/// [`span_rank`] against the [`predicted_noise`] of `noise` at each gradient's |f|, and the
/// basis cut to the top m0 singular vectors.
///
/// # Errors
/// As [`gradient_span`] and [`span_rank`].
pub fn gradient_span_of_unknown_width(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    relative_floor: f64,
    noise: PointNoise,
    extra: usize,
    seed: u64,
) -> Result<(GradientSpan, SpanRank)> {
    let d = oracle.input_dim();
    let eps = noise_adapted_step(relative_floor);
    let cfg = SpanConfig::new(d)
        .with_n_grad(d + extra)
        .with_stencil(GradientStencil::Central { eps });
    let mut span = gradient_span(la, oracle, &cfg, seed)?;
    let sigmas: Vec<f64> = span.value_scales.iter().map(|&v| noise.at(v)).collect();
    let rank = span_rank(&span.singular_values, predicted_noise(&sigmas, eps, d))?;
    span.basis = span.basis.leading_columns(rank.m0);
    Ok((span, rank))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::BackendKind;
    use nnid_nn_model::teacher::TeacherConfig;
    use nnid_nn_model::{Activation, Float32Oracle, NetworkOracle, NoisyOracle};
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
            let (_, spread) = probe_values(&net, seed);
            let noise_model = PointNoise::uniform(floor);
            let decided = if noise > 0.0 {
                let noisy = NoisyOracle::new(Box::new(exact), noise, seed).unwrap();
                gradient_span_of_unknown_width(la(), &noisy, floor / spread, noise_model, 5, seed)
            } else {
                gradient_span_of_unknown_width(la(), &exact, floor / spread, noise_model, 5, seed)
            };
            check_decision(&net, decided)?;
        }

        /// Exact construction: the same networks on a float32 oracle, whose rounding grows
        /// with |f|; the floor is the RMS rounding error at 48 points, per unit of the RMS
        /// answer there, as the pipeline's probe measures it. A decision is right.
        #[test]
        fn the_float32_span_shows_m0(m0 in 1usize..8, extra_d in 0usize..4, seed in 0u64..500,
                                     sigmoid in any::<bool>()) {
            let d = m0 + extra_d;
            let act = if sigmoid { Activation::Sigmoid } else { Activation::Tanh };
            let net = TeacherConfig::new(d, m0, 1.max(m0 / 2)).activation(act).seed(seed).generate().unwrap();
            let (values, spread) = probe_values(&net, seed);
            let rms = |v: &mut dyn Iterator<Item = f64>| (v.map(|x| x * x).sum::<f64>() / 48.0).sqrt();
            let rounding = rms(&mut values.iter().map(|&v| f64::from(v as f32) - v));
            let noise = PointNoise { absolute: rounding, per_value: rounding / rms(&mut values.iter().copied()) };
            let oracle = Float32Oracle::new(NetworkOracle::new(net.clone()));
            let decided = gradient_span_of_unknown_width(la(), &oracle, rounding / spread, noise, 5, seed);
            check_decision(&net, decided)?;
        }
    }

    /// f at 48 points x ~ N(0, I), as the pipeline's noise probe sees it, and the spread
    /// (standard deviation) of those answers.
    fn probe_values(net: &nnid_nn_model::Network, seed: u64) -> (Vec<f64>, f64) {
        let values = net.values(&crate::points::gaussian_points(
            net.input_dim(),
            48,
            1.0,
            seed,
        ));
        let mean = values.iter().sum::<f64>() / 48.0;
        let spread = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 47.0).sqrt();
        (values, spread)
    }

    /// Undecided is allowed (the error names the spectrum). A decision counts the directions
    /// the gradients show above their noise (module docs): never more than m0, and fewer only
    /// when the exact gradients at the same points have their next singular value below
    /// (NOISE_CEILING + 1) × the prediction (Weyl, with ‖E‖ ≤ the prediction). A decision of
    /// m0 holds every a_i up to Wedin's bound: ‖(I − UUᵀ)a_i‖ ≤ sin Θ ≤ ‖E‖ / s_{m0}(G), with
    /// ‖E‖ ≤ the prediction (at most 1/8, since s_{m0} ≥ 8 × the prediction).
    fn check_decision(
        net: &nnid_nn_model::Network,
        decided: Result<(GradientSpan, SpanRank)>,
    ) -> std::result::Result<(), TestCaseError> {
        let Ok((span, rank)) = decided else {
            return Ok(());
        };
        let m0 = net.a().ncols();
        prop_assert!(rank.m0 <= m0, "values {:?}", span.singular_values);
        prop_assert_eq!(span.basis.ncols(), rank.m0);
        if rank.m0 < m0 {
            let exact = exact_singular_values(net, &span.points);
            let bound = (NOISE_CEILING + 1.0) * rank.predicted_noise;
            prop_assert!(
                exact[rank.m0] <= bound,
                "m0 = {} decided, but the exact gradients show s_{} = {:.2e} > {bound:.2e}: {:?}",
                rank.m0,
                rank.m0 + 1,
                exact[rank.m0],
                span.singular_values
            );
            return Ok(());
        }
        let wedin = rank.predicted_noise / span.singular_values[m0 - 1];
        for a in net.a().columns() {
            let mut outside = a.to_vec();
            let inside = span.basis.matvec(&span.basis.matvec_t(a));
            nnid_linalg::axpy(-1.0, &inside, &mut outside);
            let outside = nnid_linalg::norm2(&outside);
            prop_assert!(
                outside <= wedin,
                "‖(I − UUᵀ)a_i‖ = {outside:.2e} > {wedin:.2e}: {:?}",
                span.singular_values
            );
        }
        Ok(())
    }

    /// The singular values of the network's exact gradients at `points` (d×n).
    fn exact_singular_values(net: &nnid_nn_model::Network, points: &nnid_linalg::Mat) -> Vec<f64> {
        let gradients: Vec<Vec<f64>> = points.columns().map(|x| net.gradient(x)).collect();
        let g = nnid_linalg::Mat::from_columns(net.input_dim(), &gradients);
        la().svd(&g).unwrap().s
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
