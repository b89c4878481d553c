//! Sampling m_X Hessians at random points: the two [`HessianSampler`] implementations.

use crate::HessianSampler;
use crate::config::SamplingConfig;
use crate::error::Result;
use crate::points::sphere_points;
use crate::stencil::{Frame, Stencil, hessian_in_frame};
use nnid_linalg::{Linalg, Mat, Op};
use nnid_nn_model::Oracle;
use rayon::prelude::*;

/// Sampled Hessians with their points and cost.
#[derive(Clone, Debug)]
pub struct HessianSample {
    /// The points x_j, as the columns of a d×m_X matrix.
    pub points: Mat,
    /// The Hessian at each point, symmetric, in the sampling coordinates: d×d, or
    /// `Uᵀ∇²f(x_j)U` (m×m) when [`HessianSample::basis`] is set.
    pub hessians: Vec<Mat>,
    /// The reduction basis U (d×m), if any.
    pub basis: Option<Mat>,
    /// The stencil used.
    pub stencil: Stencil,
    /// Every query sent to the oracle for these Hessians.
    pub queries: u64,
}

impl HessianSample {
    /// The side of each stored Hessian (m with a basis, else d).
    pub fn side(&self) -> usize {
        self.hessians.first().map_or(0, Mat::nrows)
    }

    /// Hessian `j` in R^d coordinates: `U H_j Uᵀ` with a basis, else a copy of `H_j`.
    pub fn lifted_hessian(&self, la: Linalg<'_>, j: usize) -> Mat {
        let h = &self.hessians[j];
        match &self.basis {
            None => h.clone(),
            Some(u) => {
                let uh = la.matmul(u, Op::NoTrans, h, Op::NoTrans);
                let mut full = la.matmul(&uh, Op::NoTrans, u, Op::Trans);
                symmetrize(&mut full);
                full
            }
        }
    }

    /// Every Hessian in R^d coordinates (see [`HessianSample::lifted_hessian`]).
    pub fn lifted(&self, la: Linalg<'_>) -> Vec<Mat> {
        (0..self.hessians.len())
            .map(|j| self.lifted_hessian(la, j))
            .collect()
    }
}

/// Makes `m` exactly symmetric (the matmul rounding can differ by an ulp across the
/// diagonal).
fn symmetrize(m: &mut Mat) {
    for j in 0..m.ncols() {
        for i in 0..j {
            let v = 0.5 * (m[(i, j)] + m[(j, i)]);
            m[(i, j)] = v;
            m[(j, i)] = v;
        }
    }
}

/// Samples `config.num_hessians()` finite-difference Hessians of `oracle` with `stencil`.
///
/// Each Hessian's queries go to the oracle in one batch; the points are processed in
/// parallel (rayon), each with its own RNG stream, so the result depends only on `seed`.
///
/// # Errors
/// A bad ε or config ([`crate::HessianError::InvalidConfig`],
/// [`crate::HessianError::Dimension`]) and any oracle failure.
pub fn sample_hessians(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    stencil: Stencil,
    config: &SamplingConfig,
    seed: u64,
) -> Result<HessianSample> {
    stencil.validate()?;
    let d = oracle.input_dim();
    config.validate(la, d)?;
    let n = config.num_hessians();
    let points = sphere_points(d, n, config.radius, config.centre.as_deref(), seed);
    let frame = Frame::new(d, config.basis.as_ref());
    let hessians = (0..n)
        .into_par_iter()
        .map(|j| hessian_in_frame(oracle, points.col(j), frame, stencil))
        .collect::<Result<Vec<Mat>>>()?;
    let queries = (n * stencil.queries(frame.dim())) as u64;
    Ok(HessianSample {
        points,
        hessians,
        basis: config.basis.clone(),
        stencil,
        queries,
    })
}

/// The paper's sampler: forward second differences (paper-spec §2), ε = 1e-5 by default,
/// (n+1)(n+2)/2 queries per Hessian in n coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct ForwardStencil {
    /// The step ε.
    pub eps: f64,
    /// Points and coordinates.
    pub sampling: SamplingConfig,
}

impl ForwardStencil {
    /// The paper's defaults: ε = 1e-5, 2(m0 + m1) points on the unit sphere.
    pub fn paper(m0: usize, m1: usize) -> Self {
        Self {
            eps: Stencil::PAPER_FORWARD_EPS,
            sampling: SamplingConfig::paper(m0, m1),
        }
    }

    /// The stencil with this sampler's step.
    pub const fn stencil(&self) -> Stencil {
        Stencil::Forward { eps: self.eps }
    }
}

/// **\[design\]** Second-order central differences (see [`Stencil::Central`]), ε = 1e-3 by
/// default, n² + n + 1 queries per Hessian in n coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct CentralStencil {
    /// The step ε.
    pub eps: f64,
    /// Points and coordinates.
    pub sampling: SamplingConfig,
}

impl CentralStencil {
    /// ε = 1e-3 and the paper's points: 2(m0 + m1) on the unit sphere.
    pub fn new(m0: usize, m1: usize) -> Self {
        Self {
            eps: Stencil::DEFAULT_CENTRAL_EPS,
            sampling: SamplingConfig::paper(m0, m1),
        }
    }

    /// The stencil with this sampler's step.
    pub const fn stencil(&self) -> Stencil {
        Stencil::Central { eps: self.eps }
    }
}

macro_rules! impl_sampler {
    ($ty:ty, $name:literal) => {
        impl HessianSampler for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn planned_queries(&self, d: usize) -> u64 {
                let n = self.sampling.side(d);
                (self.sampling.num_hessians() * self.stencil().queries(n)) as u64
            }

            fn sample(
                &self,
                la: Linalg<'_>,
                oracle: &dyn Oracle,
                seed: u64,
            ) -> Result<HessianSample> {
                sample_hessians(la, oracle, self.stencil(), &self.sampling, seed)
            }
        }
    };
}

impl_sampler!(ForwardStencil, "forward");
impl_sampler!(CentralStencil, "central");
