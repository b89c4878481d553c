//! The oracle's noise floor, estimated from its own answers (issue 10).
//!
//! A float32 model or a noisy service cannot answer to 1e-9, so the exact-oracle certificate
//! (validation error below [`CERTIFICATE_THRESHOLD`](crate::CERTIFICATE_THRESHOLD)) could
//! never pass on it, even for the true network. The floor measures how far its answers stray
//! from a smooth function, at `6·n` queries (n centres, default [`NOISE_FLOOR_POINTS`] = 24:
//! 144 queries):
//!
//! - **Fourth differences** (5n queries, one batch): at each centre x ~ N(0, s²I) (the
//!   validation distribution) and a random unit direction u, the five points x + s_jδu with
//!   nodes s_j ∈ {−√3, −1, 0, √2, √5} and δ = [`NOISE_STENCIL_STEP`]·(1 + ‖x‖) = 1e-5·(1 + ‖x‖).
//!   The fourth divided difference Σ w_j f(x + s_jδu) (w_j = 1/∏_{k≠j}(s_j − s_k), scaled to
//!   ‖w‖ = 1) is zero on cubics, so of the true function only `c·δ⁴ ∂⁴_u f(ξ)` is left, with
//!   c ≈ 0.1: ≈ (1e-5·s)⁴ ≈ 1e-20 for networks with unit weights (each directional derivative
//!   carries a factor a_iᵀu ≈ 1/√d while ‖x‖ ≈ s√d), far below float64 rounding; of
//!   independent errors of variance σ² it keeps a sample of variance σ².
//!   The step: large enough that the five answers differ by δ·|∂_u f| ≈ 1e-6, many float32
//!   ulps (≈ 1e-7), so that rounding errors do not repeat from point to point (a step of 1e-7
//!   rounds the five answers alike); small enough that a second difference would not do
//!   (its true part δ²∂²_u f ≈ 1e-13 is above the float64 floor, hence the fourth).
//!   The nodes: with equally spaced ones (−2…2) the answers of a locally linear f form an
//!   arithmetic progression, their float32 rounding errors a sawtooth whose fourth difference
//!   is exactly 0 unless it wraps (at 9 of 24 centres on a (8,4,2) tanh teacher; with a median
//!   over the centres the floor came out 4 times too low); with nodes whose ratios are irrational the rounding errors behave as
//!   independent (equidistribution of s_jΔ/ulp mod 1 for Δ ≫ ulp).
//! - **Repeats** (n queries, a second batch): the centres again. They catch noise that does
//!   not change between nearby points but does between calls (a per-batch perturbation),
//!   which the differences cancel; a deterministic oracle repeats itself exactly.
//!
//! Each kind gives n samples of standard deviation σ (the unit-norm difference, the repeat
//! difference / √2). Each estimate is their RMS, the quantity the validation residual of an
//! exact network measures (the mean noise power over the validation distribution), for any
//! independent noise; a median would not do: float32 rounding follows |f|, and on tanh
//! teachers, whose f changes sign, the median-based estimate is up to 3.7 times below the RMS.
//! Measured over 20 teachers each of (8,4,2), (20,10,5), (30,20,10), tanh and sigmoid (seeds
//! 1–20): float32 answers 0.63–1.73 times the RMS error of the answers (against the exact
//! network, at 2000 validation-distributed points; 0.66–1.49 with rounded queries too); exact
//! float64 oracles 1.5e-16–4.3e-16 relative; σ = 1e-6 0.74–1.15 σ.
//! To stay robust, the RMS is capped at [`TAIL_CAP`] = 5 times the median-based estimate
//! (median of |z| over Φ⁻¹(3/4) ≈ 0.6745), so a few wild answers cannot raise the floor, and the
//! threshold with it, without bound. The floor is the larger of the two estimates, absolute and
//! relative to the RMS of the answers at the centres (the certificate recomputes the relative
//! floor against its validation answers).
//!
//! The certificate's rule (see [`crate::metrics::Certificate`]): certified when the relative
//! validation residual is below max(1e-9, [`NOISE_FLOOR_FACTOR`] × relative floor), the second
//! term capped at [`MAX_CERTIFICATE_THRESHOLD`].

use crate::metrics::gaussian_points;
use crate::{IdentifyError, StageRunner};
use nnid_fd_hessian::PointNoise;
use nnid_linalg::{Mat, norm2, normalize};
use nnid_nn_model::{Activation, Oracle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

/// Centres of the noise-floor estimate (6 queries each, 144 in all). For Gaussian noise each
/// part of the estimate is σ·√(χ²₂₄/24): relative standard deviation 1/√48 ≈ 0.14, and below
/// σ/3 only when χ²₂₄ < 2.7 (probability ≈ 1e-9; its 0.1 % quantile is 10.0); the cap at 5 times
/// the median-based estimate brings it below σ/3 only when 12 of the 24 samples have
/// |z| < 0.045σ (probability 0.036 each, a binomial tail ≈ 1e-11).
pub const NOISE_FLOOR_POINTS: usize = 24;

/// Fewest centres [`estimate_noise_floor`] accepts: below this an RMS and a median say little.
pub const MIN_NOISE_FLOOR_POINTS: usize = 8;

/// Centres of the quick probe (48 queries) that route choice and route G's tolerances use
/// ([`probe_stage`]): each part of its estimate is σ·√(χ²₈/8), within a factor 2 of σ with
/// probability 0.99, which is all a choice between routes needs; the certificate still uses
/// the full [`NOISE_FLOOR_POINTS`] estimate.
pub const NOISE_PROBE_POINTS: usize = MIN_NOISE_FLOOR_POINTS;

/// The stencil step relative to `1 + ‖x‖` (see the module docs for why 1e-5).
pub const NOISE_STENCIL_STEP: f64 = 1e-5;

/// The certificate accepts a relative validation residual up to this multiple of the relative
/// noise floor. For independent noise of RMS σ the residual of the exact network is σ itself
/// (to ±5 % on 200 validation points) and the floor estimate is σ to about ±14 % (Gaussian
/// noise; measured 0.74–1.15 σ at σ = 1e-6 and 0.63–1.73 times the float32 rounding error,
/// module docs), so 3 leaves room for a floor
/// underestimated by a factor 2.5; a network whose own error e (RMS, independent of the noise)
/// gives a residual √(σ² + e²), so it passes only when e ≤ √(3² − 1)·σ ≈ 2.8σ: a certificate
/// never vouches for a network more than about 3 times the noise away from the oracle.
pub const NOISE_FLOOR_FACTOR: f64 = 3.0;

/// The noise-aware threshold never exceeds this relative error: answers whose noise is a tenth
/// of their size (or whose size is ≈ 0, making every relative figure meaningless) cannot tell an
/// identification from a network 10 % off, so none is certified above it.
pub const MAX_CERTIFICATE_THRESHOLD: f64 = 0.1;

/// The floor's RMS is capped at this multiple of its median-based estimate, so that a few
/// wild answers cannot raise the floor (and the threshold with it) without bound. Measured:
/// float32 rounding of tanh teachers, whose size follows |f| and so varies from point to
/// point, has an RMS up to 3.7 times its median-based estimate (20 teachers each of (8,4,2),
/// (20,10,5), (30,20,10)); for Gaussian noise the two agree to about ±30 % (24 samples).
pub const TAIL_CAP: f64 = 5.0;

/// The certificate's threshold (module docs): `max(base, min(NOISE_FLOOR_FACTOR × relative
/// floor, MAX_CERTIFICATE_THRESHOLD))`, or `base` when no floor is known.
pub fn noise_threshold(base: f64, relative_floor: Option<f64>) -> f64 {
    let from_noise = relative_floor.map_or(0.0, |r| {
        (NOISE_FLOOR_FACTOR * r).min(MAX_CERTIFICATE_THRESHOLD)
    });
    base.max(from_noise)
}

/// The stage `noise_probe`: a quick [`estimate_noise_floor`] from [`NOISE_PROBE_POINTS`]
/// centres at the validation points' scale (g's width), for decisions a route takes before the
/// certificate (which route to run, when a fit is as good as the answers allow).
///
/// # Errors
/// Whatever the oracle reports.
pub fn probe_stage(
    runner: &mut StageRunner<'_>,
    g: Activation,
    seed: u64,
) -> Result<NoiseFloor, IdentifyError> {
    let oracle = runner.oracle;
    runner.run("noise_probe", || {
        let floor = estimate_noise_floor(oracle, NOISE_PROBE_POINTS, g.width(), seed)?;
        Ok((floor, serde_json::to_value(floor).unwrap_or_default()))
    })
}

/// Φ⁻¹(3/4): the median of |z| for z ~ N(0, 1).
const MEDIAN_ABS_NORMAL: f64 = 0.674_489_750_196_081_7;

/// The nodes s_j of the stencil x + s_jδu: 0 (the centre, also repeated) and −√3, −1, √2,
/// √5, whose ratios are irrational (module docs: why not −2…2).
const NODES: [f64; 5] = [
    -1.732_050_807_568_877_2,
    -1.0,
    0.0,
    std::f64::consts::SQRT_2,
    2.236_067_977_499_79,
];

/// Index of the centre among [`NODES`].
const CENTRE: usize = 2;

/// The weights of the fourth divided difference on `nodes`, `w_j = 1/∏_{k≠j}(s_j − s_k)`
/// (Σ w_j p(s_j) = 0 for every polynomial p of degree ≤ 3), scaled to unit Euclidean norm, so
/// that `Σ w_j e_j` of independent errors e_j of variance σ² has variance σ².
fn unit_divided_difference(nodes: &[f64]) -> Vec<f64> {
    let mut w: Vec<f64> = nodes
        .iter()
        .enumerate()
        .map(|(j, sj)| {
            let p: f64 = nodes
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != j)
                .map(|(_, sk)| sj - sk)
                .product();
            1.0 / p
        })
        .collect();
    normalize(&mut w);
    w
}

/// The oracle's noise floor, from its own answers (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NoiseFloor {
    /// Centres used.
    pub points: usize,
    /// Queries spent (6 per centre, counted in the report's `noise_floor` stage).
    pub queries: u64,
    /// The stencil step relative to `1 + ‖x‖`.
    pub step: f64,
    /// σ estimated from the fourth differences (rounding and independent noise).
    pub stencil: f64,
    /// σ estimated from repeated queries (noise that changes between calls).
    pub repeat: f64,
    /// The floor: the larger of the two estimates, in the units of f.
    pub absolute: f64,
    /// The RMS of the answers at the centres.
    pub rms_value: f64,
    /// `absolute / rms_value`.
    pub relative: f64,
    /// The standard deviation of the answers at the centres: the scale of f's variation,
    /// which sets its derivatives (a logistic-sigmoid network's answers sit on a large
    /// constant, so `rms_value` overstates it).
    pub spread: f64,
}

impl NoiseFloor {
    /// `absolute / spread`: the noise relative to f's variation, which finite-difference
    /// steps balance against truncation.
    pub fn relative_to_spread(&self) -> f64 {
        self.absolute / self.spread.max(f64::MIN_POSITIVE)
    }

    /// Whether the noise is deterministic: repeated queries agree (their estimate is below
    /// a tenth of the fourth differences'; on independent Gaussian noise the two estimate the
    /// same σ, and from the probe's 8 points their squared ratio is about F(8, 8)-distributed,
    /// below 0.01 with probability about 3·10⁻⁷), as for rounding (a float32 model), whose size follows |f| point by point;
    /// noise that changes between calls is taken as additive.
    pub fn is_deterministic(&self) -> bool {
        self.repeat < 0.1 * self.stencil
    }

    /// The noise of an answer point by point, as the width decision models it: this floor
    /// everywhere, and for deterministic noise (rounding) also `relative`·|f| where |f| is
    /// above its RMS at the probe's points. Measured: with the |f| part on additive noise
    /// the prediction of the gradient span's noise was up to 2.5 times too high and left
    /// m0 undecided on 2 of 3 (20, 10, 5) tanh teachers at σ = 1e-4 that it had decided
    /// before; without it, float32 answers gave 1.7–1.9 times too low (docs/oracles.md).
    pub fn point_noise(&self) -> PointNoise {
        PointNoise {
            absolute: self.absolute,
            per_value: if self.is_deterministic() {
                self.relative
            } else {
                0.0
            },
        }
    }
}

/// Estimates the noise floor of `oracle` from `n` centres x ~ N(0, s²I) (6n queries in two
/// batches; module docs).
///
/// # Errors
/// [`IdentifyError::InvalidConfig`] when `n` < [`MIN_NOISE_FLOOR_POINTS`] or `s` is not
/// positive and finite; whatever the oracle reports.
pub fn estimate_noise_floor(
    oracle: &dyn Oracle,
    n: usize,
    s: f64,
    seed: u64,
) -> Result<NoiseFloor, IdentifyError> {
    if n < MIN_NOISE_FLOOR_POINTS {
        return Err(IdentifyError::InvalidConfig {
            field: "noise_floor_points",
            reason: format!(
                "the noise floor needs at least {MIN_NOISE_FLOOR_POINTS} points, got {n}"
            ),
        });
    }
    if !(s.is_finite() && s > 0.0) {
        return Err(IdentifyError::InvalidConfig {
            field: "scale",
            reason: format!("the scale of the noise-floor points must be positive, got {s}"),
        });
    }
    let d = oracle.input_dim();
    let centres = gaussian_points(d, n, s, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x57E9);
    let mut stencil_points = Vec::with_capacity(d * n * NODES.len());
    for x in centres.columns() {
        let mut u: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        normalize(&mut u);
        let delta = NOISE_STENCIL_STEP * (1.0 + norm2(x));
        for s in NODES {
            if s == 0.0 {
                stencil_points.extend_from_slice(x);
            } else {
                stencil_points.extend(x.iter().zip(&u).map(|(xi, ui)| xi + s * delta * ui));
            }
        }
    }
    let stencil_points = Mat::from_col_major(d, n * NODES.len(), stencil_points);
    let answers = oracle.query(&stencil_points)?;
    let again = oracle.query(&centres)?;

    let weights = unit_divided_difference(&NODES);
    let differences: Vec<f64> = answers
        .chunks_exact(NODES.len())
        .map(|f| f.iter().zip(&weights).map(|(v, w)| w * v).sum())
        .collect();
    let first: Vec<f64> = answers
        .chunks_exact(NODES.len())
        .map(|f| f[CENTRE])
        .collect();
    let repeats: Vec<f64> = first
        .iter()
        .zip(&again)
        .map(|(a, b)| (a - b) / std::f64::consts::SQRT_2)
        .collect();
    let stencil = noise_sigma(&differences);
    let repeat = noise_sigma(&repeats);
    let absolute = stencil.max(repeat);
    let rms_value = norm2(&first) / (n as f64).sqrt();
    let mean = first.iter().sum::<f64>() / n as f64;
    let spread = (first.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    Ok(NoiseFloor {
        points: n,
        queries: (n * (NODES.len() + 1)) as u64,
        step: NOISE_STENCIL_STEP,
        stencil,
        repeat,
        absolute,
        rms_value,
        relative: absolute / rms_value.max(f64::MIN_POSITIVE),
        spread,
    })
}

/// The noise level of zero-mean samples: their RMS, but at most [`TAIL_CAP`] times the
/// median-based estimate [`median_sigma`] (module docs). `samples` is not empty.
fn noise_sigma(samples: &[f64]) -> f64 {
    let rms = norm2(samples) / (samples.len() as f64).sqrt();
    rms.min(TAIL_CAP * median_sigma(samples))
}

/// The standard deviation of zero-mean samples from the median of their absolute values,
/// calibrated for Gaussian samples. `samples` is not empty.
fn median_sigma(samples: &[f64]) -> f64 {
    let mut abs: Vec<f64> = samples.iter().map(|v| v.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let k = abs.len();
    let median = if k % 2 == 1 {
        abs[k / 2]
    } else {
        0.5 * (abs[k / 2 - 1] + abs[k / 2])
    };
    median / MEDIAN_ABS_NORMAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_divided_difference_kills_cubics_and_has_unit_norm() {
        let w = unit_divided_difference(&NODES);
        assert!((norm2(&w) - 1.0).abs() < 1e-15);
        // Σ w_j s_j^k = 0 for k ≤ 3 (to rounding: the s_j and w_j are O(1)), not for k = 4.
        for k in 0..=4 {
            let m: f64 = w.iter().zip(&NODES).map(|(w, s)| w * s.powi(k)).sum();
            if k < 4 {
                assert!(m.abs() < 1e-14, "moment {k}: {m}");
            } else {
                assert!(m.abs() > 0.1, "moment 4: {m}");
            }
        }
        // The equally spaced −2…2 would give the classical 1, −4, 6, −4, 1.
        let classic = unit_divided_difference(&[-2.0, -1.0, 0.0, 1.0, 2.0]);
        let want = [1.0, -4.0, 6.0, -4.0, 1.0].map(|c: f64| c / 70f64.sqrt());
        for (a, b) in classic.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{classic:?}");
        }
    }

    #[test]
    fn median_sigma_is_the_calibrated_median() {
        // Median of |·| over {−1, 2, −3, 4} is 2.5; odd counts take the middle value.
        let got = median_sigma(&[-1.0, 2.0, -3.0, 4.0]);
        assert!((got * MEDIAN_ABS_NORMAL - 2.5).abs() < 1e-15);
        let got = median_sigma(&[0.0, -5.0, 1.0]);
        assert!((got * MEDIAN_ABS_NORMAL - 1.0).abs() < 1e-15);
    }

    #[test]
    fn noise_sigma_is_the_rms_unless_a_few_samples_run_wild() {
        // Equal magnitudes: the RMS (1), below the cap (5 × 1/0.6745).
        assert!((noise_sigma(&[1.0, -1.0, 1.0, -1.0]) - 1.0).abs() < 1e-15);
        // Scales that differ by 4 (rounding that follows |f|): still the RMS, √8.5 ≈ 2.9.
        let mixed = noise_sigma(&[1.0, -1.0, 4.0, -4.0]);
        assert!((mixed - 8.5f64.sqrt()).abs() < 1e-14, "{mixed}");
        // One wild answer among 24: the cap, 5 × the median-based estimate, not 1e9/√24.
        let mut wild = vec![1.0; 23];
        wild.push(1e9);
        let got = noise_sigma(&wild);
        assert!((got - TAIL_CAP / MEDIAN_ABS_NORMAL).abs() < 1e-12, "{got}");
        // A deterministic oracle repeats itself: zero.
        assert!(noise_sigma(&[0.0; 8]).abs() < f64::MIN_POSITIVE);
    }
}
