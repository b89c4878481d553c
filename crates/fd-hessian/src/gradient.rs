//! Finite-difference gradients and the gradient span (paper-spec §7, route G step 1).

use crate::error::{HessianError, Result, check_step, invalid};
use crate::points::gaussian_points;
use crate::stencil::{Frame, PointBuilder, query_batch};
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::Oracle;
use rayon::prelude::*;

/// A finite-difference scheme for the gradient in d coordinates.
///
/// | stencil   | queries | error | rounding   |
/// |-----------|---------|-------|------------|
/// | `Forward` | d + 1   | O(ε)  | ~2u·|f|/ε  |
/// | `Central` | 2d      | O(ε²) | ~u·|f|/ε   |
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GradientStencil {
    /// `g_k = [f(x + εe_k) − f(x)] / ε`.
    Forward {
        /// The step ε.
        eps: f64,
    },
    /// `g_k = [f(x + εe_k) − f(x − εe_k)] / (2ε)`.
    Central {
        /// The step ε.
        eps: f64,
    },
}

impl GradientStencil {
    /// The step ε.
    pub const fn eps(self) -> f64 {
        match self {
            GradientStencil::Forward { eps } | GradientStencil::Central { eps } => eps,
        }
    }

    /// The order p of the truncation error O(ε^p).
    pub const fn order(self) -> u32 {
        match self {
            GradientStencil::Forward { .. } => 1,
            GradientStencil::Central { .. } => 2,
        }
    }

    /// `"forward"` or `"central"`.
    pub const fn name(self) -> &'static str {
        match self {
            GradientStencil::Forward { .. } => "forward",
            GradientStencil::Central { .. } => "central",
        }
    }

    /// Queries for one gradient in d coordinates.
    pub const fn queries(self, d: usize) -> usize {
        match self {
            GradientStencil::Forward { .. } => d + 1,
            GradientStencil::Central { .. } => 2 * d,
        }
    }

    /// # Errors
    /// [`HessianError::InvalidConfig`] unless ε is finite and positive.
    pub fn validate(self) -> Result<()> {
        check_step("gradient eps", self.eps())
    }

    fn points(self, x: &[f64]) -> Mat {
        let d = x.len();
        let eps = self.eps();
        let mut pts = PointBuilder::new(x, Frame::Standard(d), self.queries(d));
        match self {
            GradientStencil::Forward { .. } => {
                pts.push(&[]);
                (0..d).for_each(|k| pts.push(&[(k, eps)]));
            }
            GradientStencil::Central { .. } => {
                (0..d).for_each(|k| pts.push(&[(k, eps)]));
                (0..d).for_each(|k| pts.push(&[(k, -eps)]));
            }
        }
        pts.finish()
    }

    fn assemble(self, v: &[f64], d: usize) -> Vec<f64> {
        let eps = self.eps();
        match self {
            GradientStencil::Forward { .. } => (0..d).map(|k| (v[k + 1] - v[0]) / eps).collect(),
            GradientStencil::Central { .. } => {
                (0..d).map(|k| (v[k] - v[d + k]) / (2.0 * eps)).collect()
            }
        }
    }
}

/// One finite-difference gradient at `x`, all of its queries in one oracle batch.
///
/// # Errors
/// A bad ε, `x` of the wrong length ([`HessianError::Dimension`]), any oracle failure.
pub fn fd_gradient(oracle: &dyn Oracle, x: &[f64], stencil: GradientStencil) -> Result<Vec<f64>> {
    stencil.validate()?;
    let d = oracle.input_dim();
    if x.len() != d {
        return Err(HessianError::Dimension {
            what: "x",
            expected: d,
            got: x.len(),
        });
    }
    gradient_unchecked(oracle, x, stencil)
}

fn gradient_unchecked(
    oracle: &dyn Oracle,
    x: &[f64],
    stencil: GradientStencil,
) -> Result<Vec<f64>> {
    gradient_and_value_scale(oracle, x, stencil).map(|(g, _)| g)
}

/// The gradient at `x` and the RMS of the stencil's answers (the size of |f| near `x`).
fn gradient_and_value_scale(
    oracle: &dyn Oracle,
    x: &[f64],
    stencil: GradientStencil,
) -> Result<(Vec<f64>, f64)> {
    let values = query_batch(oracle, &stencil.points(x))?;
    let rms = (values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt();
    Ok((stencil.assemble(&values, x.len()), rms))
}

/// Finite-difference gradients at every column of `points` (d×n): one batch per point, in
/// parallel. Returns the d×n matrix of gradients; the cost is `n · stencil.queries(d)`.
///
/// # Errors
/// As [`fd_gradient`].
pub fn fd_gradients(oracle: &dyn Oracle, points: &Mat, stencil: GradientStencil) -> Result<Mat> {
    stencil.validate()?;
    let d = oracle.input_dim();
    if points.nrows() != d {
        return Err(HessianError::Dimension {
            what: "points (rows)",
            expected: d,
            got: points.nrows(),
        });
    }
    gradients_with_value_scales(oracle, points, stencil).map(|(g, _)| g)
}

/// The gradients at the columns of `points` (checked by the caller) and the RMS of each
/// stencil's answers, one batch per point, in parallel.
fn gradients_with_value_scales(
    oracle: &dyn Oracle,
    points: &Mat,
    stencil: GradientStencil,
) -> Result<(Mat, Vec<f64>)> {
    let (cols, scales): (Vec<_>, Vec<_>) = (0..points.ncols())
        .into_par_iter()
        .map(|j| gradient_and_value_scale(oracle, points.col(j), stencil))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    Ok((Mat::from_columns(points.nrows(), &cols), scales))
}

/// Settings of [`gradient_span`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpanConfig {
    /// The dimension m0 of the span to return.
    pub m0: usize,
    /// How many gradients (route G: m0 + 5).
    pub n_grad: usize,
    /// The gradient stencil.
    pub stencil: GradientStencil,
    /// Points are `scale · N(0, I_d)` (route G: scale 1, so every |a_iᵀx| is of order 1
    /// and the gradients are spread over the whole span).
    pub scale: f64,
}

impl SpanConfig {
    /// The default central step for gradients, ≈ (3u)^{1/3}: it balances the O(ε²)
    /// truncation and the u/ε rounding.
    pub const DEFAULT_EPS: f64 = 1e-5;

    /// Route G's settings: m0 + 5 gradients at x ~ N(0, I); central differences,
    /// ε = 1e-5 (see `docs/stages/fd-hessian.md` for why central).
    pub const fn new(m0: usize) -> Self {
        Self {
            m0,
            n_grad: m0 + 5,
            stencil: GradientStencil::Central {
                eps: Self::DEFAULT_EPS,
            },
            scale: 1.0,
        }
    }

    /// Another number of gradients.
    pub const fn with_n_grad(mut self, n_grad: usize) -> Self {
        self.n_grad = n_grad;
        self
    }

    /// Another stencil.
    pub const fn with_stencil(mut self, stencil: GradientStencil) -> Self {
        self.stencil = stencil;
        self
    }

    /// Another point scale.
    pub const fn with_scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// Queries [`gradient_span`] will send for an oracle on R^d.
    pub const fn planned_queries(&self, d: usize) -> u64 {
        (self.n_grad * self.stencil.queries(d)) as u64
    }

    /// # Errors
    /// [`HessianError::InvalidConfig`] unless 1 ≤ m0 ≤ min(d, n_grad), ε > 0 and scale > 0.
    pub fn validate(&self, d: usize) -> Result<()> {
        self.stencil.validate()?;
        if self.m0 == 0 || self.m0 > d {
            return Err(invalid(
                "m0",
                format!("must be in 1..={d}, got {}", self.m0),
            ));
        }
        if self.n_grad < self.m0 {
            return Err(invalid(
                "n_grad",
                format!(
                    "needs at least m0 = {} gradients, got {}",
                    self.m0, self.n_grad
                ),
            ));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(invalid(
                "scale",
                format!("must be finite and > 0, got {}", self.scale),
            ));
        }
        Ok(())
    }
}

/// An estimate of span{a_i}.
#[derive(Clone, Debug)]
pub struct GradientSpan {
    /// Orthonormal basis U (d×m0): the top m0 left singular vectors of the gradients.
    pub basis: Mat,
    /// All singular values of the stacked gradients, non-increasing. Every exact gradient
    /// lies in span{a_i}, so the values after the m0-th measure finite-difference error
    /// (and any mismatch in m0).
    pub singular_values: Vec<f64>,
    /// The points, d×n_grad.
    pub points: Mat,
    /// The gradients, d×n_grad.
    pub gradients: Mat,
    /// Per gradient, the RMS of its stencil's answers: the size of |f| there, which sets
    /// the rounding noise of a float32 oracle ([`crate::PointNoise`]).
    pub value_scales: Vec<f64>,
    /// Every query sent.
    pub queries: u64,
}

impl GradientSpan {
    /// `s_{m0+1} / s_{m0}`: the relative size of what lies outside the returned span; a
    /// ground-truth-free check of the span (0 for exact gradients of the model).
    pub fn residual_ratio(&self) -> f64 {
        let m0 = self.basis.ncols();
        let last = m0.checked_sub(1).and_then(|k| self.singular_values.get(k));
        match (last, self.singular_values.get(m0)) {
            (Some(&s), Some(&t)) if s > 0.0 => t / s,
            (Some(&s), None) if s > 0.0 => 0.0,
            _ => f64::INFINITY,
        }
    }
}

/// **\[design\]** Dimension reduction (paper-spec §7, route G step 1): every gradient
/// `∇f(x) = A Σ_l h'(z_l) G_x b_l` lies in span{a_i}, so the top m0 left singular vectors of
/// n_grad ≥ m0 finite-difference gradients at x ~ N(0, scale²I) span it (up to the
/// finite-difference error). Cost: `n_grad · stencil.queries(d)` queries, one batch per
/// gradient.
///
/// # Errors
/// A bad config ([`HessianError::InvalidConfig`]), any oracle or SVD failure.
pub fn gradient_span(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    config: &SpanConfig,
    seed: u64,
) -> Result<GradientSpan> {
    let d = oracle.input_dim();
    config.validate(d)?;
    let points = gaussian_points(d, config.n_grad, config.scale, seed);
    let (gradients, value_scales) = gradients_with_value_scales(oracle, &points, config.stencil)?;
    let svd = la.svd_top_k(&gradients, config.m0)?;
    Ok(GradientSpan {
        basis: svd.u,
        singular_values: svd.singular_values,
        points,
        gradients,
        value_scales,
        queries: config.planned_queries(d),
    })
}
