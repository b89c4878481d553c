//! Hessian subspaces around other centres: the [`SubspaceProbe`] trait and an exact probe.

use nnid_linalg::sym::{SymSubspace, svec, svec_len};
use nnid_linalg::{Linalg, Mat, normalize};
use nnid_nn_model::Network;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::{AttributionError, Result};

/// Estimates the subspace spanned by the Hessians of f around a centre x*.
///
/// The attribution stage does not sample Hessians itself; a pipeline implements this by
/// chaining its Hessian sampler (paper step 1, points around `centre` instead of 0) and its
/// subspace estimator (step 2, K = m0 + m1). Wrap foreign errors with
/// [`AttributionError::external`].
pub trait SubspaceProbe: Send + Sync {
    /// Name used in reports.
    fn name(&self) -> &'static str {
        "probe"
    }

    /// The estimated Hessian subspace Ŵ(x*) around `centre` (length d), with side d.
    ///
    /// # Errors
    /// Whatever the sampler or estimator reports.
    fn subspace_at(&self, la: Linalg<'_>, centre: &[f64], seed: u64) -> Result<SymSubspace>;
}

/// A probe from the true network, for experiments and tests only (it reads the ground
/// truth): exact Hessians `Network::hessian` at `points` points drawn uniformly on the
/// sphere of radius `radius` around the centre, stacked as `svec` columns, and the top
/// `k` left singular vectors. No finite-difference error, so it isolates the attribution
/// from step 1.
#[derive(Clone, Debug)]
pub struct ExactHessianProbe {
    net: Network,
    /// Radius of the sphere of sample points around the centre (paper default 1).
    pub radius: f64,
    /// Number of Hessians; `None` means 2(m0 + m1), the paper's default m_X.
    pub points: Option<usize>,
    /// Subspace dimension; `None` means K = m0 + m1.
    pub k: Option<usize>,
}

impl ExactHessianProbe {
    /// A probe on `net` with radius 1, m_X = 2(m0 + m1) and K = m0 + m1.
    pub fn new(net: Network) -> Self {
        Self {
            net,
            radius: 1.0,
            points: None,
            k: None,
        }
    }

    /// The same probe with another sampling radius.
    pub fn with_radius(self, radius: f64) -> Self {
        Self { radius, ..self }
    }

    /// The network it reads.
    pub fn network(&self) -> &Network {
        &self.net
    }
}

impl SubspaceProbe for ExactHessianProbe {
    fn name(&self) -> &'static str {
        "exact-hessians"
    }

    fn subspace_at(&self, la: Linalg<'_>, centre: &[f64], seed: u64) -> Result<SymSubspace> {
        let d = self.net.input_dim();
        if centre.len() != d {
            return Err(AttributionError::DimensionMismatch {
                what: "probe centre",
                expected: d,
                got: centre.len(),
            });
        }
        if !(self.radius.is_finite() && self.radius >= 0.0) {
            return Err(AttributionError::InvalidConfig {
                field: "radius",
                reason: format!("{} is not a finite radius ≥ 0", self.radius),
            });
        }
        let k = self.k.unwrap_or(self.net.m0() + self.net.m1());
        let points = self.points.unwrap_or(2 * (self.net.m0() + self.net.m1()));
        if k == 0 || k > points.min(svec_len(d)) {
            return Err(AttributionError::InvalidConfig {
                field: "k",
                reason: format!(
                    "K = {k} must be in 1..={} (m_X = {points}, d(d+1)/2 = {})",
                    points.min(svec_len(d)),
                    svec_len(d)
                ),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let xs: Vec<Vec<f64>> = (0..points)
            .map(|_| {
                let mut u: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
                normalize(&mut u);
                u.iter()
                    .zip(centre)
                    .map(|(ui, ci)| ci + self.radius * ui)
                    .collect()
            })
            .collect();
        let columns: Vec<Vec<f64>> = xs.par_iter().map(|x| svec(&self.net.hessian(x))).collect();
        let stacked = Mat::from_columns(svec_len(d), &columns);
        let top = la.svd_top_k(&stacked, k)?;
        Ok(SymSubspace::from_orthonormal(d, top.u))
    }
}
