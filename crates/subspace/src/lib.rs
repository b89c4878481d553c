//! The matrix subspace spanned by sampled Hessians (paper step 2).
//!
//! Hessians of the model near the origin lie (nearly) in
//! `W = span{a_i a_iᵀ, v_l v_lᵀ}`, of dimension K = m0 + m1 (paper-spec §1). The paper
//! estimates it as Ŵ = the span of the top K left singular vectors of the stacked
//! Hessians; here each Hessian is stacked as `svec H` (upper triangle, off-diagonals times
//! √2, so Frobenius inner products are kept and the SVD has d(d+1)/2 rows instead of d²).
//! K is always an input: the spectral gap at K is weak in practice, so [`GapDiagnostic`]
//! only reports it. The result is a [`SymSubspace`], which projects a symmetric matrix
//! (`P_Ŵ(S)`) and computes `‖P_Ŵ(u uᵀ)‖_F` in O(d² K) without any d²×d² matrix.
//!
//! Quality measures for experiments: [`distance`] `= ‖P_W − P_Ŵ‖` (sine of the largest
//! principal angle, from the bases) and [`weight_distance`] `= 1 − ‖P_Ŵ(w wᵀ)‖_F` per true
//! weight w. Hessians taken in reduced coordinates U (d×m0, see `nnid-fd-hessian`) give a
//! subspace of side m0; [`lift`] maps it to R^d.
//!
//! ```
//! use nnid_linalg::{Linalg, Mat};
//! use nnid_subspace::{StackedSvd, SubspaceEstimator, distance, rank1_span};
//!
//! let la = Linalg::default_backend()?;
//! // Two weights in R^3 and four Hessians built from them: W is recovered exactly.
//! let w = Mat::from_columns(3, &[vec![1.0, 0.0, 0.0], vec![0.6, 0.8, 0.0]]);
//! let rank1 = |u: &[f64]| Mat::from_fn(3, 3, |i, j| u[i] * u[j]);
//! let (h1, h2) = (rank1(w.col(0)), rank1(w.col(1)));
//! let mix = |p: f64, q: f64| Mat::from_fn(3, 3, |i, j| p * h1[(i, j)] + q * h2[(i, j)]);
//! let hessians = [mix(1.0, 2.0), mix(-0.5, 1.0), mix(0.3, 0.3), mix(2.0, -1.0)];
//! let report = StackedSvd.estimate(la, &hessians, 2)?;
//! assert!(distance(la, &rank1_span(la, &w)?, &report.subspace)? < 1e-12);
//! assert_eq!(report.gap.largest_gap_dim, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod measure;
mod stacked;

pub use error::{Result, SubspaceError};
pub use measure::{
    BASIS_TOL, distance, lift, model_subspace, model_weights, principal_cosines, project,
    rank1_span, weight_distance, weight_distances,
};
pub use nnid_linalg::sym::SymSubspace;
pub use stacked::{
    GapDiagnostic, SYMMETRY_TOL, StackedSvd, SubspaceReport, check_hessians, stack_svec,
};

use nnid_linalg::{Linalg, Mat};

/// Estimates the matrix subspace W from sampled Hessians (paper-spec §3).
///
/// Implement this to plug another estimator into the pipeline. The trait is object safe.
pub trait SubspaceEstimator: Send + Sync + std::fmt::Debug {
    /// Name used in reports.
    fn name(&self) -> &'static str;

    /// A K-dimensional estimate Ŵ from symmetric Hessians of one side (d, or m0 in reduced
    /// coordinates), K = `dim` (normally m0 + m1), with the full spectrum.
    ///
    /// # Errors
    /// Bad input ([`SubspaceError::NoHessians`], [`SubspaceError::Shape`],
    /// [`SubspaceError::NonFinite`], [`SubspaceError::NotSymmetric`]), a K that the data
    /// cannot give ([`SubspaceError::Dimension`]: K = 0, K > m_X or K > d(d+1)/2;
    /// [`SubspaceError::RankDeficient`]), or an SVD failure.
    fn estimate(&self, la: Linalg<'_>, hessians: &[Mat], dim: usize) -> Result<SubspaceReport>;
}
