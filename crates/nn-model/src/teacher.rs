//! Random teacher networks: the weight distributions of the paper's experiments
//! (paper-spec §8, §9), seeded.
//!
//! * [`WeightDist::Gaussian`]: every a_i (column of A) is a standard Gaussian vector in R^d
//!   scaled to unit norm, i.e. uniform on the sphere.
//! * [`WeightDist::PerturbedOrthogonal`]: a_i = (q_i + ε z_i)/‖q_i + ε z_i‖ where q_1..q_m0 are
//!   the first m0 rows of a Haar-random d×d orthogonal matrix and z_i are independent uniform
//!   unit vectors, so ‖a_i − q_i‖ ≤ 2ε and |a_iᵀa_j| ≤ (2ε + ε²)/(1 − ε)² for i ≠ j.
//! * Every b_l (column of B) is a unit-norm Gaussian vector in R^m0; with [`BSigns::Positive`]
//!   its entries are replaced by their absolute values before normalising.
//! * θ_i and τ_l are uniform in `[−r, r]` with r = `shift_range` (default 0.5).
//!
//! The draws happen in a fixed order (A, then the perturbations, then B, θ, τ) from
//! `ChaCha8Rng::seed_from_u64(seed)`, so a configuration always gives the same network.

use crate::{Activation, ModelError, Network};
use nnid_linalg::{Mat, dot, normalize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// How the first-layer weights a_i are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightDist {
    /// Unit-norm Gaussian vectors (uniform on the sphere).
    Gaussian,
    /// Rows of a random orthogonal matrix, each moved by a random vector of norm `eps` and
    /// renormalised: nearly orthonormal for small `eps`.
    PerturbedOrthogonal {
        /// Norm of the perturbation of each row (before renormalising), ≥ 0.
        eps: f64,
    },
}

/// Signs of the second-layer weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BSigns {
    /// Plain Gaussian entries (both signs, balanced in distribution).
    Balanced,
    /// All entries positive (absolute values of the Gaussian draws).
    Positive,
}

/// Settings of a random teacher. Build with [`TeacherConfig::new`] and the builder methods
/// (each exists as `x(..)` and `with_x(..)`), then call [`TeacherConfig::generate`].
///
/// ```
/// use nnid_nn_model::{Activation, teacher::{TeacherConfig, WeightDist}};
/// let net = TeacherConfig::new(20, 10, 5)
///     .activation(Activation::Sigmoid)
///     .weights(WeightDist::PerturbedOrthogonal { eps: 0.1 })
///     .seed(7)
///     .generate()
///     .unwrap();
/// assert_eq!(net.num_params(), 20 * 10 + 10 * 5 + 10 + 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TeacherConfig {
    /// Input dimension d.
    pub d: usize,
    /// First hidden width m0 (≤ d).
    pub m0: usize,
    /// Second hidden width m1 (≤ m0).
    pub m1: usize,
    /// The activation of both layers (g = h). Default tanh.
    pub activation: Activation,
    /// Distribution of the a_i. Default [`WeightDist::Gaussian`].
    pub weights: WeightDist,
    /// Signs of the b_l. Default [`BSigns::Balanced`].
    pub b_signs: BSigns,
    /// θ_i, τ_l ~ U[−r, r] with this r ≥ 0. Default 0.5.
    pub shift_range: f64,
    /// The random seed. Default 0.
    pub seed: u64,
}

impl TeacherConfig {
    /// The default teacher of size (d, m0, m1): tanh, Gaussian A, sign-balanced B, shifts in
    /// [−0.5, 0.5], seed 0.
    pub fn new(d: usize, m0: usize, m1: usize) -> Self {
        Self {
            d,
            m0,
            m1,
            activation: Activation::Tanh,
            weights: WeightDist::Gaussian,
            b_signs: BSigns::Balanced,
            shift_range: 0.5,
            seed: 0,
        }
    }

    /// Sets the activation of both layers.
    #[must_use]
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets the first-layer weight distribution.
    #[must_use]
    pub fn weights(mut self, weights: WeightDist) -> Self {
        self.weights = weights;
        self
    }

    /// Sets the signs of the second-layer weights.
    #[must_use]
    pub fn b_signs(mut self, b_signs: BSigns) -> Self {
        self.b_signs = b_signs;
        self
    }

    /// Sets the shift range r (θ, τ ~ U[−r, r]).
    #[must_use]
    pub fn shift_range(mut self, r: f64) -> Self {
        self.shift_range = r;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Same as [`TeacherConfig::activation`].
    #[must_use]
    pub fn with_activation(self, activation: Activation) -> Self {
        self.activation(activation)
    }

    /// Same as [`TeacherConfig::weights`].
    #[must_use]
    pub fn with_weights(self, weights: WeightDist) -> Self {
        self.weights(weights)
    }

    /// Same as [`TeacherConfig::b_signs`].
    #[must_use]
    pub fn with_b_signs(self, b_signs: BSigns) -> Self {
        self.b_signs(b_signs)
    }

    /// Same as [`TeacherConfig::shift_range`].
    #[must_use]
    pub fn with_shift_range(self, r: f64) -> Self {
        self.shift_range(r)
    }

    /// Same as [`TeacherConfig::seed`].
    #[must_use]
    pub fn with_seed(self, seed: u64) -> Self {
        self.seed(seed)
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ModelError::Empty`] for a zero size, [`ModelError::InvalidConfig`] unless
    /// m1 ≤ m0 ≤ d, the shift range is finite and ≥ 0, and ε is finite and in [0, 1).
    pub fn validate(&self) -> Result<(), ModelError> {
        let Self { d, m0, m1, .. } = *self;
        if d == 0 || m0 == 0 || m1 == 0 {
            return Err(ModelError::Empty { d, m0, m1 });
        }
        if m0 > d {
            return Err(invalid(
                "m0",
                format!("the widths must satisfy m1 ≤ m0 ≤ d; got m0 = {m0} > d = {d}"),
            ));
        }
        if m1 > m0 {
            return Err(invalid(
                "m1",
                format!("the widths must satisfy m1 ≤ m0 ≤ d; got m1 = {m1} > m0 = {m0}"),
            ));
        }
        if !(self.shift_range.is_finite() && self.shift_range >= 0.0) {
            return Err(invalid(
                "shift_range",
                format!("must be finite and ≥ 0, got {}", self.shift_range),
            ));
        }
        if let WeightDist::PerturbedOrthogonal { eps } = self.weights
            && !(eps.is_finite() && (0.0..1.0).contains(&eps))
        {
            return Err(invalid(
                "eps",
                format!("the perturbation must be in [0, 1), got {eps}"),
            ));
        }
        Ok(())
    }

    /// Draws the teacher.
    ///
    /// # Errors
    /// As [`TeacherConfig::validate`].
    pub fn generate(&self) -> Result<Network, ModelError> {
        self.validate()?;
        let Self { d, m0, m1, .. } = *self;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let a_cols = match self.weights {
            WeightDist::Gaussian => (0..m0).map(|_| unit_gaussian(&mut rng, d)).collect(),
            WeightDist::PerturbedOrthogonal { eps } => perturbed_orthogonal(&mut rng, d, m0, eps),
        };
        let b_cols: Vec<Vec<f64>> = (0..m1)
            .map(|_| {
                let mut b = gaussian(&mut rng, m0);
                if self.b_signs == BSigns::Positive {
                    b.iter_mut().for_each(|v| *v = v.abs());
                }
                normalize(&mut b);
                b
            })
            .collect();
        let r = self.shift_range;
        let theta = (0..m0).map(|_| rng.random_range(-r..=r)).collect();
        let tau = (0..m1).map(|_| rng.random_range(-r..=r)).collect();
        Network::new(
            Mat::from_columns(d, &a_cols),
            theta,
            Mat::from_columns(m0, &b_cols),
            tau,
            self.activation,
            self.activation,
        )
    }
}

fn invalid(field: &'static str, reason: String) -> ModelError {
    ModelError::InvalidConfig { field, reason }
}

fn gaussian(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.sample(StandardNormal)).collect()
}

/// A uniform random unit vector (a Gaussian vector, normalised; redrawn in the probability-0
/// event of a zero vector).
fn unit_gaussian(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    loop {
        let mut v = gaussian(rng, n);
        if normalize(&mut v) > 0.0 {
            return v;
        }
    }
}

/// The first m rows of a Haar-random d×d orthogonal matrix, perturbed: Gram–Schmidt (twice,
/// for orthogonality to rounding) of m independent Gaussian vectors gives a uniformly
/// distributed orthonormal m-frame, which is exactly the law of m rows of a Haar matrix.
fn perturbed_orthogonal(rng: &mut ChaCha8Rng, d: usize, m: usize, eps: f64) -> Vec<Vec<f64>> {
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(m);
    while q.len() < m {
        let mut v = gaussian(rng, d);
        for _ in 0..2 {
            for u in &q {
                let c = dot(u, &v);
                v.iter_mut().zip(u).for_each(|(vi, ui)| *vi -= c * ui);
            }
        }
        // A new Gaussian vector lies in the span of the previous ones with probability 0;
        // redraw if rounding made it numerically so.
        if normalize(&mut v) > 1e-6 {
            q.push(v);
        }
    }
    q.into_iter()
        .map(|mut qi| {
            if eps > 0.0 {
                let z = unit_gaussian(rng, d);
                qi.iter_mut().zip(&z).for_each(|(a, zi)| *a += eps * zi);
                normalize(&mut qi);
            }
            qi
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::norm2;
    use proptest::prelude::*;

    fn max_offdiag_gram(a: &Mat) -> f64 {
        let mut worst = 0.0f64;
        for i in 0..a.ncols() {
            for j in 0..i {
                worst = worst.max(dot(a.col(i), a.col(j)).abs());
            }
        }
        worst
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Shapes, unit norms, sign constraint and shift range hold for every setting.
        #[test]
        fn teachers_have_the_promised_shape(
            d in 1usize..12, f0 in 0.0..1.0f64, f1 in 0.0..1.0f64, seed in any::<u64>(),
            ortho in any::<bool>(), positive in any::<bool>(), sigmoid in any::<bool>(),
            r in 0.0..2.0f64,
        ) {
            let m0 = 1 + (f0 * d as f64) as usize % d;
            let m1 = 1 + (f1 * m0 as f64) as usize % m0;
            let cfg = TeacherConfig::new(d, m0, m1)
                .weights(if ortho { WeightDist::PerturbedOrthogonal { eps: 0.05 } } else { WeightDist::Gaussian })
                .b_signs(if positive { BSigns::Positive } else { BSigns::Balanced })
                .activation(if sigmoid { Activation::Sigmoid } else { Activation::Tanh })
                .shift_range(r)
                .seed(seed);
            let net = cfg.generate().unwrap();
            prop_assert_eq!((net.input_dim(), net.m0(), net.m1()), (d, m0, m1));
            prop_assert_eq!(net.g(), cfg.activation);
            prop_assert_eq!(net.h(), cfg.activation);
            for col in net.a().columns().chain(net.b().columns()) {
                prop_assert!((norm2(col) - 1.0).abs() < 1e-14, "norm {}", norm2(col));
            }
            if positive {
                prop_assert!(net.b().as_slice().iter().all(|&v| v >= 0.0));
            }
            prop_assert!(net.theta().iter().chain(net.tau()).all(|t| t.abs() <= r));
            prop_assert_eq!(cfg.generate().unwrap(), net);
        }
    }

    #[test]
    fn same_seed_same_network_other_seed_other_network() {
        let cfg = TeacherConfig::new(8, 6, 3).seed(11);
        assert_eq!(cfg.generate().unwrap(), cfg.generate().unwrap());
        assert_ne!(cfg.generate().unwrap(), cfg.seed(12).generate().unwrap());
        let with = TeacherConfig::new(8, 6, 3)
            .with_seed(11)
            .with_activation(Activation::Tanh)
            .with_weights(WeightDist::Gaussian)
            .with_b_signs(BSigns::Balanced)
            .with_shift_range(0.5);
        assert_eq!(with, cfg);
    }

    #[test]
    fn perturbed_orthogonal_is_near_orthogonal() {
        let exact = TeacherConfig::new(30, 20, 5)
            .weights(WeightDist::PerturbedOrthogonal { eps: 0.0 })
            .seed(3)
            .generate()
            .unwrap();
        assert!(
            max_offdiag_gram(exact.a()) < 1e-14,
            "eps = 0: {}",
            max_offdiag_gram(exact.a())
        );
        for eps in [0.01, 0.1, 0.3] {
            let net = TeacherConfig::new(30, 20, 5)
                .weights(WeightDist::PerturbedOrthogonal { eps })
                .seed(3)
                .generate()
                .unwrap();
            let bound = (2.0 * eps + eps * eps) / ((1.0 - eps) * (1.0 - eps));
            let worst = max_offdiag_gram(net.a());
            assert!(worst <= bound + 1e-14, "eps = {eps}: {worst} > {bound}");
            // The perturbation is real: the rows are not orthonormal any more.
            assert!(worst > 1e-3 * eps, "eps = {eps}: {worst}");
        }
        // Gaussian rows in R^30 have |a_iᵀa_j| of order 1/√30, far above eps = 0.01's bound.
        let gauss = TeacherConfig::new(30, 20, 5).seed(3).generate().unwrap();
        assert!(max_offdiag_gram(gauss.a()) > 0.1);
    }

    #[test]
    fn invalid_settings_are_errors() {
        let msg = |c: TeacherConfig| c.generate().unwrap_err().to_string();
        assert!(msg(TeacherConfig::new(5, 6, 2)).contains("m0 = 6 > d = 5"));
        assert!(msg(TeacherConfig::new(5, 3, 4)).contains("m1 = 4 > m0 = 3"));
        assert!(msg(TeacherConfig::new(5, 0, 0)).contains("≥ 1"));
        assert!(msg(TeacherConfig::new(5, 3, 2).shift_range(f64::NAN)).contains("shift_range"));
        assert!(msg(TeacherConfig::new(5, 3, 2).shift_range(-1.0)).contains("shift_range"));
        let bad_eps =
            TeacherConfig::new(5, 3, 2).weights(WeightDist::PerturbedOrthogonal { eps: 1.5 });
        assert!(msg(bad_eps).contains("eps"));
    }
}
