//! Finite-difference Hessians and gradients of a black-box oracle (paper step 1).
//!
//! The model's Hessian is `∇²f(x) = Σ_i α_i(x) a_i a_iᵀ + Σ_l β_l(x) v_l(x) v_l(x)ᵀ`
//! (paper-spec §1), so Hessians at points near the origin span (nearly) the matrix space
//! `W = span{a_i a_iᵀ, v_l v_lᵀ}` that the next stage (`nnid-subspace`) estimates. This
//! crate samples them from queries of an [`Oracle`] alone:
//!
//! - points `x_j = c + r·s_j`, `s_j` uniform on the unit sphere (r = 1, c = 0 by default);
//! - at each point a second-difference [`Stencil`]: the paper's forward stencil, error O(ε),
//!   (d+1)(d+2)/2 queries, ε = 1e-5; or a second-order central one, error O(ε²),
//!   d² + d + 1 queries, ε = 1e-3;
//! - optionally in reduced coordinates (**\[design\]**, paper-spec §7): every gradient lies in
//!   span{a_i}, so [`gradient_span`] estimates an orthonormal basis U (d×m0) of it from
//!   finite-difference gradients, and the Hessians are then taken along the columns of U as
//!   m0×m0 matrices `Uᵀ∇²f U`, at (m0+1)(m0+2)/2 queries instead of (d+1)(d+2)/2. Since
//!   W ⊂ {U S Uᵀ}, nothing is lost: [`HessianSample::lifted`] maps back by `H ↦ U H Uᵀ`.
//!
//! Every Hessian's (and gradient's) queries go to the oracle in one batch, points are
//! processed in parallel with one RNG stream each (results depend only on the seed), and
//! the reported query count is exactly what was sent.
//!
//! ```
//! use nnid_fd_hessian::{ForwardStencil, HessianSampler};
//! use nnid_linalg::{Linalg, Mat};
//! use nnid_nn_model::{Activation, Network, NetworkOracle, Oracle};
//!
//! let a = Mat::from_fn(3, 2, |i, j| if i == j { 1.0 } else { 0.0 });
//! let b = Mat::from_col_major(2, 1, vec![0.6, 0.8]);
//! let net = Network::new(a, vec![0.1, -0.2], b, vec![0.0], Activation::Tanh, Activation::Tanh)?;
//! let oracle = NetworkOracle::new(net);
//! let la = Linalg::default_backend()?;
//! let sample = ForwardStencil::paper(2, 1).sample(la, &oracle, 7)?;
//! assert_eq!(sample.hessians.len(), 6);                 // 2(m0 + m1)
//! assert_eq!(sample.queries, 6 * 10);                   // (d+1)(d+2)/2 = 10 each
//! assert_eq!(oracle.queries(), sample.queries);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod error;
mod gradient;
mod points;
mod sampler;
mod stencil;
mod width;

pub use config::{HessianCount, ORTHONORMAL_TOL, SamplingConfig};
pub use error::{HessianError, Result};
pub use gradient::{
    GradientSpan, GradientStencil, SpanConfig, fd_gradient, fd_gradients, gradient_span,
};
pub use sampler::{CentralStencil, ForwardStencil, HessianSample, sample_hessians};
pub use stencil::{Stencil, fd_hessian};
pub use width::{
    MIN_SPAN_GAP, NOISE_CEILING, NOISE_MARGIN, PointNoise, SpanRank,
    gradient_span_of_unknown_width, noise_adapted_step, predicted_noise, span_rank,
};

use nnid_linalg::Linalg;
use nnid_nn_model::Oracle;

/// Samples finite-difference Hessians of a black box at random points (paper-spec §2).
///
/// Implement this to plug another sampler into the pipeline. The trait is object safe.
pub trait HessianSampler: Send + Sync + std::fmt::Debug {
    /// Name used in reports.
    fn name(&self) -> &'static str;

    /// The number of queries [`HessianSampler::sample`] will send to an oracle on R^d.
    fn planned_queries(&self, d: usize) -> u64;

    /// Samples the Hessians. The same `seed` gives the same points and Hessians, whatever
    /// the number of threads; [`HessianSample::queries`] is every query sent.
    ///
    /// # Errors
    /// [`HessianError::InvalidConfig`] or [`HessianError::Dimension`] for bad settings,
    /// [`HessianError::Oracle`] when a query fails.
    fn sample(&self, la: Linalg<'_>, oracle: &dyn Oracle, seed: u64) -> Result<HessianSample>;
}
