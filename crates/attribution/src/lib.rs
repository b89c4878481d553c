//! Splitting rank-one candidates into first-layer and entangled weights (paper step 4).
//!
//! The rank-one stage returns unit vectors w_1, …, w_n (n ≤ m0 + m1), each close to either a
//! first-layer weight a_i or an entangled weight v_l = A G₀ b_l / ‖A G₀ b_l‖ (paper-spec §1),
//! up to sign, in unknown order. Exactly m0 of them are a_i. An [`Attribution`] strategy
//! scores every candidate and labels the m0 most first-layer-like ones as a_i, the rest as
//! v_l; the [`AttributionReport`] keeps the scores so the split can be checked.
//!
//! Strategies (paper-spec §5):
//! - [`CorrelationCriterion`], the paper's rule: `s_k = Σ_{j≠k} ⟨w_k, w_j⟩²`; every v_l is a
//!   dense combination of the a_i, so it correlates with many candidates, while the a_i
//!   are nearly orthogonal. The m1 largest scores are the v's. It degrades as m0 → d.
//! - [`DriftCriterion`] (our design): the Hessian at any x is
//!   `Σ_i α_i(x) a_i a_iᵀ + Σ_l β_l(x) v_l(x) v_l(x)ᵀ` with `v_l(x) ∝ A G_x b_l`. The a_i a_iᵀ
//!   lie in the Hessian subspace W(x) at every x, while v_l(x) turns as G_x changes. So a
//!   subspace Ŵ(x*) estimated around a second centre x* far from 0 (through a
//!   [`SubspaceProbe`]) keeps a_i a_iᵀ and loses v_l(0) v_l(0)ᵀ: the score
//!   `‖P_Ŵ(x*)(w wᵀ)‖_F` is near 1 for an a_i and lower for a v_l. An estimated Ŵ(x*) only
//!   holds the a_i a_iᵀ of neurons that are well excited around x*, so the score is the
//!   maximum over several random centres (default 10, at norm 3·width(g)·√d). The m0
//!   highest are the a's.
//!
//! The default strategy, [`default_strategy`], is the more accurate of the two in our
//! measurements (docs/results/attribution.md, 100 random teachers, exact Hessians in the
//! probe): the drift criterion labels every candidate correctly, the correlation criterion
//! 81 % of the entangled weights. The drift criterion costs the probe's Hessians at 10
//! centres far from 0; the correlation criterion costs nothing.
//!
//! # Conventions
//! - Candidates are the columns of a d×n [`Mat`], unit vectors (within
//!   [`UNIT_TOLERANCE`]), sorted by the rank-one stage's confidence, most confident first;
//!   ties in score go to the earlier candidate.
//! - n must satisfy m0 ≤ n ≤ m0 + m1. The first layer is filled first (the fit of step 5
//!   needs all of A): exactly m0 candidates are labelled first-layer, the other n − m0
//!   entangled, and the report counts the m0 + m1 − n entangled weights that are missing.
//!   If an a_i itself was missed by the rank-one stage, some v_l is labelled a_i; a pipeline
//!   must therefore treat n < m0 + m1 as an incomplete identification.
//!
//! # Example
//! ```
//! use nnid_attribution::{Attribution, AttributionContext, CorrelationCriterion, Label};
//! use nnid_linalg::{Linalg, Mat, normalize};
//!
//! let la = Linalg::default_backend()?;
//! // a_1, a_2, a_3 = e_1, e_2, e_3 in R^4 and one dense entangled weight v ∝ a_1 + a_2 − a_3.
//! let mut v = vec![1.0, 1.0, -1.0, 0.0];
//! normalize(&mut v);
//! let e = |i: usize| (0..4).map(|k| if k == i { 1.0 } else { 0.0 }).collect::<Vec<f64>>();
//! let candidates = Mat::from_columns(4, &[e(0), v, e(1), e(2)]);
//! let report = CorrelationCriterion.attribute(la, &candidates, 3, 1, &AttributionContext::new(0))?;
//! assert_eq!(report.entangled, vec![1]);
//! assert_eq!(report.first_layer, vec![0, 2, 3]);
//! // s_k = Σ_{j≠k} ⟨w_k, w_j⟩²: 1/3 for each a_i, 1 for v.
//! assert!((report.scores[1] - 1.0).abs() < 1e-12 && (report.scores[0] - 1.0 / 3.0).abs() < 1e-12);
//! assert_eq!(report.label(1), Label::Entangled);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod correlation;
mod drift;
mod error;
mod probe;
mod report;

use nnid_linalg::{Linalg, Mat, norm2, sym::SymSubspace};
use nnid_nn_model::Activation;

pub use correlation::CorrelationCriterion;
pub use drift::{CentreCombine, DriftConfig, DriftCriterion};
pub use error::{AttributionError, Result};
pub use probe::{ExactHessianProbe, SubspaceProbe};
pub use report::{AttributionReport, Label};

/// How far from 1 a candidate's norm may be before it is rejected as not unit.
pub const UNIT_TOLERANCE: f64 = 1e-6;

/// Splits unit candidate vectors into first-layer weights a_i and entangled weights v_l.
///
/// Implement this to plug your own rule into the pipeline. Object safe, so a pipeline can
/// hold a `Box<dyn Attribution>`.
pub trait Attribution: Send + Sync {
    /// Name used in reports and on the command line.
    fn name(&self) -> &'static str;

    /// Labels the columns of `candidates` (d×n, unit vectors, most confident first):
    /// exactly m0 first-layer, the other n − m0 entangled (see the crate docs for n <
    /// m0 + m1). `ctx` carries the seed and, for strategies that need Hessians elsewhere,
    /// the probe.
    ///
    /// # Errors
    /// Bad input ([`AttributionError::InvalidWidths`], [`AttributionError::TooFewCandidates`],
    /// [`AttributionError::TooManyCandidates`], [`AttributionError::NonFinite`],
    /// [`AttributionError::NotUnit`], [`AttributionError::DimensionMismatch`]), a missing
    /// probe ([`AttributionError::ProbeRequired`]), or a failure underneath.
    fn attribute(
        &self,
        la: Linalg<'_>,
        candidates: &Mat,
        m0: usize,
        m1: usize,
        ctx: &AttributionContext<'_>,
    ) -> Result<AttributionReport>;
}

/// What a strategy may use besides the candidates: a seed, the first-layer activation g
/// (it sets how far a second centre must be to excite the neurons) and, optionally, a
/// [`SubspaceProbe`] that estimates the Hessian subspace around other points.
#[derive(Clone, Copy)]
pub struct AttributionContext<'a> {
    /// Estimates Hessian subspaces around other centres (needed by [`DriftCriterion`]).
    pub probe: Option<&'a dyn SubspaceProbe>,
    /// The first-layer activation g (default tanh).
    pub activation: Activation,
    /// Seed for every random choice (centres, probe points).
    pub seed: u64,
}

impl<'a> AttributionContext<'a> {
    /// A context with no probe, tanh, and the given seed.
    pub fn new(seed: u64) -> Self {
        Self {
            probe: None,
            activation: Activation::Tanh,
            seed,
        }
    }

    /// The same context with a probe.
    pub fn with_probe(self, probe: &'a dyn SubspaceProbe) -> Self {
        Self {
            probe: Some(probe),
            ..self
        }
    }

    /// The same context with the first-layer activation g.
    pub fn with_activation(self, activation: Activation) -> Self {
        Self { activation, ..self }
    }
}

impl std::fmt::Debug for AttributionContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttributionContext")
            .field("probe", &self.probe.map(SubspaceProbe::name))
            .field("activation", &self.activation)
            .field("seed", &self.seed)
            .finish()
    }
}

/// The strategy nnid uses unless told otherwise: the best one measured in
/// docs/results/attribution.md, [`DriftCriterion`] with its default settings. It needs a
/// probe in the context; without one, use [`CorrelationCriterion`].
pub fn default_strategy() -> Box<dyn Attribution> {
    Box::new(DriftCriterion::default())
}

/// Every built-in strategy by name, for command lines.
pub fn strategy_by_name(name: &str) -> Option<Box<dyn Attribution>> {
    match name.trim().to_ascii_lowercase().as_str() {
        "correlation" | "paper" => Some(Box::new(CorrelationCriterion)),
        "drift" | "second-centre" => Some(Box::new(DriftCriterion::default())),
        _ => None,
    }
}

/// Checks the input every strategy shares: m0, m1 ≥ 1, d ≥ 1, m0 ≤ n ≤ m0 + m1, finite unit
/// columns. Public so that custom strategies can reuse it.
///
/// # Errors
/// The first problem found, as an [`AttributionError`] naming it.
pub fn check_candidates(candidates: &Mat, m0: usize, m1: usize) -> Result<()> {
    let (d, n) = candidates.shape();
    if m0 == 0 || m1 == 0 {
        return Err(AttributionError::InvalidWidths { m0, m1 });
    }
    if d == 0 {
        return Err(AttributionError::EmptyDimension);
    }
    if n < m0 {
        return Err(AttributionError::TooFewCandidates { n, m0 });
    }
    if n > m0 + m1 {
        return Err(AttributionError::TooManyCandidates { n, m0, m1 });
    }
    for (k, w) in candidates.columns().enumerate() {
        if let Some(row) = w.iter().position(|x| !x.is_finite()) {
            return Err(AttributionError::NonFinite {
                candidate: k,
                row,
                value: w[row],
            });
        }
        let norm = norm2(w);
        if (norm - 1.0).abs() > UNIT_TOLERANCE {
            return Err(AttributionError::NotUnit { candidate: k, norm });
        }
    }
    Ok(())
}

/// `‖P_Ŵ(w wᵀ)‖_F` for every column w of `candidates`, after checking that the subspace
/// lives in the candidates' dimension.
///
/// # Errors
/// [`AttributionError::DimensionMismatch`] when the subspace side is not d.
pub fn subspace_scores(subspace: &SymSubspace, candidates: &Mat) -> Result<Vec<f64>> {
    let d = candidates.nrows();
    if subspace.side() != d {
        return Err(AttributionError::DimensionMismatch {
            what: "subspace side",
            expected: d,
            got: subspace.side(),
        });
    }
    Ok(candidates
        .columns()
        .map(|w| subspace.proj_norm_rank1(w))
        .collect())
}
