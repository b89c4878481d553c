//! The paper's correlation criterion (paper-spec §5, strategy 1).

use nnid_linalg::{Linalg, Mat, Op};

use crate::report::split_by_score;
use crate::{Attribution, AttributionContext, AttributionReport, Label, Result, check_candidates};

/// The paper's rule: `s_k = Σ_{j≠k} ⟨w_k, w_j⟩²`, and the m1 largest scores (the n − m0
/// largest when candidates are missing) are the entangled weights.
///
/// Each v_l = A G₀ b_l / ‖A G₀ b_l‖ is a dense combination of the a_i, so it correlates with
/// many candidates, while nearly orthogonal a_i correlate little. No queries, no
/// randomness. It weakens as m0 → d, where the a_i themselves stop being nearly orthogonal
/// (paper-spec §5 measures 0.68–0.99 of the v's labelled correctly).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CorrelationCriterion;

impl CorrelationCriterion {
    /// The scores `s_k = Σ_{j≠k} ⟨w_k, w_j⟩²` of the columns of `candidates`, from one Gram
    /// matrix.
    pub fn scores(la: Linalg<'_>, candidates: &Mat) -> Vec<f64> {
        let gram = la.matmul(candidates, Op::Trans, candidates, Op::NoTrans);
        let n = candidates.ncols();
        (0..n)
            .map(|k| {
                (0..n)
                    .filter(|&j| j != k)
                    .map(|j| gram[(k, j)] * gram[(k, j)])
                    .sum()
            })
            .collect()
    }
}

impl Attribution for CorrelationCriterion {
    fn name(&self) -> &'static str {
        "correlation"
    }

    fn attribute(
        &self,
        la: Linalg<'_>,
        candidates: &Mat,
        m0: usize,
        m1: usize,
        _ctx: &AttributionContext<'_>,
    ) -> Result<AttributionReport> {
        check_candidates(candidates, m0, m1)?;
        let scores = Self::scores(la, candidates);
        let (first_layer, entangled, margin) = split_by_score(&scores, Label::Entangled, m0);
        Ok(AttributionReport {
            strategy: self.name(),
            missing_entangled: m0 + m1 - candidates.ncols(),
            first_layer,
            entangled,
            scores,
            high_score_means: Label::Entangled,
            margin,
            centres: Vec::new(),
            centre_scores: Vec::new(),
        })
    }
}
