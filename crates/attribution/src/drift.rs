//! The drift (second-centre) criterion (paper-spec §5, strategy 2, our design).

use nnid_linalg::{Linalg, Mat, normalize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::report::split_by_score;
use crate::{
    Attribution, AttributionContext, AttributionError, AttributionReport, Label, Result,
    check_candidates, subspace_scores,
};

/// How the per-centre scores of a candidate are combined into one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CentreCombine {
    /// The largest score over the centres (default). An a_i needs only one centre where its
    /// neuron is well excited to score ≈ 1, while v_l(0) v_l(0)ᵀ lies outside Ŵ(x*) at
    /// every far centre.
    #[default]
    Max,
    /// The mean score over the centres (measured worse: an a_i whose neuron is saturated or
    /// barely curved at some centres is pulled down with the v's).
    Mean,
}

/// Settings of [`DriftCriterion`]. The defaults are the best measured ones
/// (docs/results/attribution.md).
#[derive(Clone, Debug, PartialEq)]
pub struct DriftConfig {
    /// Number of random centres (default 10). Each costs the probe one Hessian subspace
    /// (m_X Hessians in a pipeline), so this is the strategy's query budget.
    pub centres: usize,
    /// Norm of each centre in units of `width(g) · √d` (default 3). For a random direction
    /// u and a unit a_i, a_iᵀ(‖x*‖u) is about N(0, ‖x*‖²/d), so scale s puts the first-layer
    /// pre-activations at about N(θ_i, s²) in transition widths: at s = 3 most neurons are
    /// saturated at any one centre, the few that are not dominate the Hessians there (their
    /// a_i a_iᵀ are captured by Ŵ(x*)), and G_x* is far from G₀, so every v_l(x*) has
    /// turned away from v_l(0). Smaller scales keep the v's too close to their origin
    /// values (measured: s = 1 labels 0.77 of the v's correctly with mean combining).
    pub centre_scale: f64,
    /// How the scores at the centres are combined (default [`CentreCombine::Max`]).
    pub combine: CentreCombine,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            centres: 10,
            centre_scale: 3.0,
            combine: CentreCombine::Max,
        }
    }
}

impl DriftConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`AttributionError::InvalidConfig`] for zero centres or a scale that is not finite
    /// and positive.
    pub fn validate(&self) -> Result<()> {
        if self.centres == 0 {
            return Err(AttributionError::InvalidConfig {
                field: "centres",
                reason: "need at least one centre".into(),
            });
        }
        if !(self.centre_scale.is_finite() && self.centre_scale > 0.0) {
            return Err(AttributionError::InvalidConfig {
                field: "centre_scale",
                reason: format!("{} is not finite and > 0", self.centre_scale),
            });
        }
        Ok(())
    }
}

/// Scores each candidate w by `‖P_Ŵ(x*)(w wᵀ)‖_F`, combined (by default the maximum) over
/// random centres x* far from 0, where Ŵ(x*) is the Hessian subspace around x* given by the context's
/// [`crate::SubspaceProbe`]. The a_i a_iᵀ belong to the Hessian subspace at every point,
/// the v_l(0) v_l(0)ᵀ do not once G_x* differs from G₀, so the m0 highest scores are the
/// first-layer weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriftCriterion {
    /// The settings.
    pub config: DriftConfig,
}

impl DriftCriterion {
    /// A drift criterion with the given settings.
    pub fn new(config: DriftConfig) -> Self {
        Self { config }
    }

    /// The centres used for dimension `d` and the given context: unit directions drawn
    /// from the seed (one stream per centre), scaled to `centre_scale · width(g) · √d`.
    /// Returns each centre with the seed to pass to the probe.
    pub fn centres(&self, d: usize, ctx: &AttributionContext<'_>) -> Vec<(Vec<f64>, u64)> {
        let norm = self.config.centre_scale * ctx.activation.width() * (d as f64).sqrt();
        (0..self.config.centres)
            .map(|c| {
                let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
                rng.set_stream(c as u64);
                let mut u: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
                normalize(&mut u);
                u.iter_mut().for_each(|x| *x *= norm);
                (u, rng.random())
            })
            .collect()
    }
}

impl Attribution for DriftCriterion {
    fn name(&self) -> &'static str {
        "drift"
    }

    fn attribute(
        &self,
        la: Linalg<'_>,
        candidates: &Mat,
        m0: usize,
        m1: usize,
        ctx: &AttributionContext<'_>,
    ) -> Result<AttributionReport> {
        self.config.validate()?;
        check_candidates(candidates, m0, m1)?;
        let probe = ctx.probe.ok_or(AttributionError::ProbeRequired {
            strategy: self.name(),
        })?;
        let d = candidates.nrows();
        let centres = self.centres(d, ctx);
        let centre_scores = centres
            .par_iter()
            .enumerate()
            .map(|(c, (x, seed))| {
                let wrap = |e| AttributionError::ProbeFailed {
                    centre: c,
                    centre_norm: nnid_linalg::norm2(x),
                    source: Box::new(e),
                };
                let sub = probe.subspace_at(la, x, *seed).map_err(wrap)?;
                if sub.dim() == 0 {
                    return Err(AttributionError::BadProbeSubspace {
                        centre: c,
                        reason: "it has dimension 0".into(),
                    });
                }
                if let Some(bad) = sub.basis().as_slice().iter().find(|x| !x.is_finite()) {
                    return Err(AttributionError::BadProbeSubspace {
                        centre: c,
                        reason: format!("its basis has the entry {bad}"),
                    });
                }
                subspace_scores(&sub, candidates).map_err(wrap)
            })
            .collect::<Result<Vec<Vec<f64>>>>()?;
        let n = candidates.ncols();
        let per_candidate = |k: usize| centre_scores.iter().map(move |s| s[k]);
        let scores: Vec<f64> = match self.config.combine {
            CentreCombine::Max => (0..n)
                .map(|k| per_candidate(k).fold(f64::NEG_INFINITY, f64::max))
                .collect(),
            CentreCombine::Mean => (0..n)
                .map(|k| per_candidate(k).sum::<f64>() / centre_scores.len() as f64)
                .collect(),
        };
        let (first_layer, entangled, margin) = split_by_score(&scores, Label::FirstLayer, m0);
        Ok(AttributionReport {
            strategy: self.name(),
            missing_entangled: m0 + m1 - n,
            first_layer,
            entangled,
            scores,
            high_score_means: Label::FirstLayer,
            margin,
            centres: centres.into_iter().map(|(x, _)| x).collect(),
            centre_scores,
        })
    }
}
