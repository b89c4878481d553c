//! Rank-one matrices inside a subspace of symmetric matrices (paper step 3, paper-spec §4).
//!
//! Given Ŵ ⊂ Sym(d) with an orthonormal basis W_1..W_K (a [`SymSubspace`]), find the unit
//! vectors u with u uᵀ ∈ Ŵ, i.e. the maximisers of
//!
//! ```text
//! F(u) = ‖P_Ŵ(u uᵀ)‖_F² = Σ_k (uᵀ W_k u)²   on ‖u‖ = 1,
//! ```
//!
//! F ≤ 1 with equality exactly when u uᵀ ∈ Ŵ. Every method here iterates the map
//! `u ↦ P_Ŵ(u uᵀ) u = Σ_k (uᵀW_k u) W_k u` (a quarter of the gradient of F, O(K d²)), with
//! a shift: `u ← normalise(P_Ŵ(u uᵀ) u + σ u)`. Two solvers implement [`Rank1Solver`]:
//!
//! - [`SubspacePowerMethod`] (solver B, the default): Kileel and Pereira's adaptive shift
//!   `σ = sqrt(f_c(1 − f_c))`, one component at a time, with a deflation in coefficient space
//!   that needs no tensor weights, eigenvector starts, and a fallback to plain restarts;
//! - [`ProjectedGradientAscent`] (solver A): the paper's iteration `u ← P_S(u + 2γ P_Ŵ(u uᵀ) u)`
//!   (σ = 1/(2γ)) from many independent random starts, in parallel, then clustering.
//!
//! Both finish each run with Newton steps on the sphere: near u = w with w wᵀ ∈ Ŵ,
//! `P_Ŵ(w wᵀ) = w wᵀ`, so the Riemannian Hessian is `−4(I − 2ZZᵀ)` on the tangent space with
//! `Z = (I − uuᵀ)[W_1u, …, W_Ku]`, which is already at hand; a CG solve with it costs about one
//! power step and turns the linear convergence (rate 2‖Z‖², often 0.3–0.9) quadratic. Exact
//! components come out to rounding error. Both accept a run when F ≥ `accept` (0.95, paper-spec
//! §4), deduplicate up to sign (|⟨u, u'⟩| ≥ 0.95, keeping the higher F) and return at most K
//! candidates, highest Φ = √F first ([`Rank1Report`]); in an exact span they keep searching while a
//! candidate with `1 − F > 1e-8` sits among exact ones (a spurious maximiser).
//! When Ŵ is only approximate, true and spurious maximisers can both reach F ≈ 0.98–0.999:
//! F alone then certifies nothing (paper-spec §4, §9), and the report says how high each
//! candidate got, no more.
//!
//! # Performance
//! The basis is held as K dense p×p matrices stacked into one (p·K)×p matrix, so one round of
//! a batch of starts is a single matrix product through the backend (`Linalg::matmul`); p is
//! the dimension of the common range of the W_k (every rank-one u uᵀ ∈ Ŵ has u there), to which
//! the basis is compressed when it is smaller than d (r < d components, or entangled components
//! inside span{a_i}). Measured figures: docs/results/rank1.md.
//!
//! # Standalone use
//! [`span_from_matrices`] checks and orthonormalises a list of symmetric matrices (what
//! `nnid rank1 --input span.json` reads); [`synthetic`] builds spans with known rank-ones.
//!
//! # Determinism
//! Start i draws from its own stream of `ChaCha8Rng::seed_from_u64(seed)`; the parallel
//! solver fixes its chunks by start index, so a seed gives the same report whatever the number
//! of threads.

mod ascent;
mod config;
mod error;
mod input;
mod kernel;
mod pga;
mod pool;
mod report;
mod spm;
pub mod synthetic;
mod vecops;

pub use ascent::Shift;
pub use error::Rank1Error;
pub use input::{SpanCheck, matrices_from_rows, span_from_matrices};
pub use pga::{PgaConfig, ProjectedGradientAscent};
pub use report::{Candidate, Rank1Report, Rejections};
pub use spm::{SpmConfig, SpmDeflation, SpmStarts, SubspacePowerMethod};

use nnid_linalg::Linalg;
use nnid_linalg::sym::SymSubspace;

/// Finds unit vectors `u` whose `u uᵀ` lies (nearly) in a subspace of symmetric matrices.
///
/// Object safe: the pipeline holds a `Box<dyn Rank1Solver>` and does not care which solver it
/// is.
pub trait Rank1Solver: Send + Sync {
    /// Name used in reports and by `--solver`.
    fn name(&self) -> &'static str;

    /// Searches `w` with random starts derived from `seed`.
    ///
    /// # Errors
    /// [`Rank1Error::InvalidConfig`] for bad settings, [`Rank1Error::EmptySubspace`],
    /// [`Rank1Error::NonFiniteBasis`], [`Rank1Error::Linalg`]. A run that hits its iteration
    /// cap is not an error: it is reported in [`Rank1Report::capped_runs`] and
    /// [`Candidate::capped`].
    fn recover(
        &self,
        la: Linalg<'_>,
        w: &SymSubspace,
        seed: u64,
    ) -> Result<Rank1Report, Rank1Error>;
}
