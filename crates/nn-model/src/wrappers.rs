//! Oracle wrappers that degrade the answers the way real black boxes do: additive Gaussian
//! noise ([`NoisyOracle`]) and float32 arithmetic ([`Float32Oracle`]). Both pass the query
//! count of the oracle they wrap through unchanged (they add no queries).

use crate::{ModelError, Oracle, OracleError, check_answers, check_points};
use nnid_linalg::Mat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::sync::Mutex;

/// Adds independent Gaussian noise `N(0, σ²)` to every answer of an oracle.
///
/// The noise comes from one `ChaCha8Rng` stream seeded at construction and consumed in
/// answer order, so the same seed and the same sequence of batches give the same noisy
/// answers (batches are served one at a time). Asking the same point twice gives two
/// independent draws, as a noisy black box would.
#[derive(Debug)]
pub struct NoisyOracle<O> {
    inner: O,
    sigma: f64,
    rng: Mutex<ChaCha8Rng>,
}

impl<O: Oracle> NoisyOracle<O> {
    /// Wraps `inner`, adding noise of standard deviation `sigma` drawn from `seed`.
    ///
    /// # Errors
    /// [`ModelError::InvalidConfig`] unless `sigma` is finite and ≥ 0.
    pub fn new(inner: O, sigma: f64, seed: u64) -> Result<Self, ModelError> {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(ModelError::InvalidConfig {
                field: "sigma",
                reason: format!("the noise level must be finite and ≥ 0, got {sigma}"),
            });
        }
        Ok(Self {
            inner,
            sigma,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        })
    }

    /// The noise level σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The wrapped oracle.
    pub fn inner(&self) -> &O {
        &self.inner
    }
}

impl<O: Oracle> Oracle for NoisyOracle<O> {
    fn input_dim(&self) -> usize {
        self.inner.input_dim()
    }

    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        // Hold the generator for the whole batch so concurrent batches draw contiguous runs.
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut values = self.inner.query(points)?;
        for v in &mut values {
            let z: f64 = rng.sample(StandardNormal);
            *v += self.sigma * z;
        }
        check_answers(&values)?;
        Ok(values)
    }

    fn queries(&self) -> u64 {
        self.inner.queries()
    }
}

/// Makes an oracle behave like a float32 model: every answer is rounded to the nearest `f32`
/// and, if [`Float32Oracle::round_queries`] is on, every query coordinate is rounded to `f32`
/// before it is passed on (the model then sees the point a float32 program would receive; the
/// caller still thinks it asked the unrounded point, exactly as with a real float32 model).
///
/// Rounding the answers alone already limits the relative accuracy to 2⁻²⁴ ≈ 6e-8; rounding
/// the queries too adds a perturbation of the input of relative size 6e-8, which finite
/// differences with small steps feel strongly. A value or coordinate beyond the `f32` range
/// (|v| > 3.4e38) becomes infinite and is reported as an error.
#[derive(Debug)]
pub struct Float32Oracle<O> {
    inner: O,
    round_queries: bool,
}

impl<O: Oracle> Float32Oracle<O> {
    /// Wraps `inner`, rounding its answers to `f32` (queries are passed unrounded).
    pub fn new(inner: O) -> Self {
        Self {
            inner,
            round_queries: false,
        }
    }

    /// Also round every query coordinate to `f32` before passing it on.
    #[must_use]
    pub fn round_queries(mut self, on: bool) -> Self {
        self.round_queries = on;
        self
    }

    /// Whether query coordinates are rounded.
    pub fn rounds_queries(&self) -> bool {
        self.round_queries
    }

    /// The wrapped oracle.
    pub fn inner(&self) -> &O {
        &self.inner
    }
}

/// Rounds to the nearest `f32`, as an `f64`.
fn to_f32(v: f64) -> f64 {
    // `as f32` rounds to nearest (ties to even) and overflows to ±∞: the float32 semantics.
    f64::from(v as f32)
}

impl<O: Oracle> Oracle for Float32Oracle<O> {
    fn input_dim(&self) -> usize {
        self.inner.input_dim()
    }

    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        let mut values = if self.round_queries {
            check_points(points, self.input_dim())?;
            let rounded: Vec<f64> = points.as_slice().iter().map(|&v| to_f32(v)).collect();
            let rounded = Mat::from_col_major(points.nrows(), points.ncols(), rounded);
            check_points(&rounded, self.input_dim())?;
            self.inner.query(&rounded)?
        } else {
            self.inner.query(points)?
        };
        values.iter_mut().for_each(|v| *v = to_f32(*v));
        check_answers(&values)?;
        Ok(values)
    }

    fn queries(&self) -> u64 {
        self.inner.queries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teacher::TeacherConfig;
    use crate::{Network, NetworkOracle};

    fn oracle() -> NetworkOracle {
        NetworkOracle::new(TeacherConfig::new(6, 4, 2).seed(5).generate().unwrap())
    }

    fn points(n: usize, seed: u64) -> Mat {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Mat::from_fn(6, n, |_, _| rng.random_range(-1.0..1.0))
    }

    /// The mean and variance of the noise over n = 4000 answers: the mean's standard error is
    /// σ/√n ≈ 0.016σ (bound 5 standard errors), the variance's relative standard error is
    /// √(2/n) ≈ 0.022 (bound 0.12).
    #[test]
    fn noise_has_the_requested_statistics_and_is_reproducible() {
        let sigma = 1e-3;
        let pts = points(4000, 1);
        let clean = oracle().query(&pts).unwrap();
        let noisy = NoisyOracle::new(oracle(), sigma, 9).unwrap();
        let got = noisy.query(&pts).unwrap();
        let n = got.len() as f64;
        let e: Vec<f64> = got.iter().zip(&clean).map(|(a, b)| a - b).collect();
        let mean = e.iter().sum::<f64>() / n;
        let var = e.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        assert!(mean.abs() < 5.0 * sigma / n.sqrt(), "mean {mean}");
        assert!(
            (var / (sigma * sigma) - 1.0).abs() < 0.12,
            "var ratio {}",
            var / (sigma * sigma)
        );
        assert_eq!(noisy.queries(), 4000);
        assert!((noisy.sigma() - sigma).abs() < 1e-18);

        // Same seed and batches: same answers; a second batch of the same points draws anew.
        let again = NoisyOracle::new(oracle(), sigma, 9).unwrap();
        assert_eq!(again.query(&pts).unwrap(), got);
        let second = again.query(&pts).unwrap();
        assert!(second.iter().zip(&got).all(|(a, b)| (a - b).abs() > 0.0));
        assert_eq!(again.queries(), 8000);
        let other = NoisyOracle::new(oracle(), sigma, 10).unwrap();
        assert_ne!(other.query(&pts).unwrap(), got);
    }

    #[test]
    fn zero_noise_is_the_identity_and_bad_sigma_is_an_error() {
        let pts = points(10, 2);
        let noisy = NoisyOracle::new(oracle(), 0.0, 1).unwrap();
        assert_eq!(noisy.query(&pts).unwrap(), oracle().query(&pts).unwrap());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let msg = NoisyOracle::new(oracle(), bad, 1).unwrap_err().to_string();
            assert!(msg.contains("sigma"), "{msg}");
        }
    }

    #[test]
    fn float32_rounds_answers_and_optionally_queries() {
        let pts = points(200, 3);
        let exact = oracle().query(&pts).unwrap();
        let f32o = Float32Oracle::new(oracle());
        let got = f32o.query(&pts).unwrap();
        for (g, e) in got.iter().zip(&exact) {
            // Representable in f32, and within half an f32 ulp (relative 2^-24) of the truth.
            assert!((f64::from(*g as f32) - g).abs() < 1e-300);
            assert!((g - e).abs() <= e.abs() * 2f64.powi(-24), "{g} vs {e}");
        }
        assert!(got.iter().zip(&exact).any(|(g, e)| (g - e).abs() > 0.0));
        assert_eq!(f32o.queries(), 200);
        assert!(!f32o.rounds_queries());

        // With rounded queries the inner oracle sees f32 points: compare with rounding by hand.
        let both = Float32Oracle::new(oracle()).round_queries(true);
        let rounded =
            Mat::from_col_major(6, 200, pts.as_slice().iter().map(|&v| to_f32(v)).collect());
        let want: Vec<f64> = oracle()
            .query(&rounded)
            .unwrap()
            .into_iter()
            .map(to_f32)
            .collect();
        assert_eq!(both.query(&pts).unwrap(), want);
        assert!(both.rounds_queries());
    }

    #[test]
    fn float32_overflow_is_an_error() {
        // A query coordinate beyond the f32 range cannot be sent to a float32 model.
        let net = Network::new(
            Mat::from_fn(1, 1, |_, _| 1.0),
            vec![0.0],
            Mat::from_fn(1, 1, |_, _| 1.0),
            vec![0.0],
            crate::Activation::Tanh,
            crate::Activation::Tanh,
        )
        .unwrap();
        let o = Float32Oracle::new(NetworkOracle::new(net)).round_queries(true);
        let err = o.query_one(&[1e39]).unwrap_err().to_string();
        assert!(err.contains("query 0") && err.contains("inf"), "{err}");
    }
}
