//! What a solver returns.

use nnid_linalg::{Linalg, Mat};

use crate::kernel::Dense;

/// One accepted rank-one direction.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The unit vector u (length d), signed so that its largest-magnitude entry is positive.
    pub vector: Vec<f64>,
    /// Φ = ‖P_Ŵ(u uᵀ)‖_F ∈ [0, 1]: 1 exactly when u uᵀ ∈ Ŵ.
    pub objective: f64,
    /// F = Φ², the objective the iterations ascend (paper-spec §4 states thresholds on F).
    pub objective_sq: f64,
    /// Iterations of the run that produced it (all phases).
    pub iterations: usize,
    /// Whether that run stopped at an iteration cap instead of meeting its step tolerance.
    pub capped: bool,
}

/// Why runs did not produce a candidate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rejections {
    /// The final objective F was below the acceptance threshold.
    pub below_threshold: usize,
    /// Within the deduplication angle of a better candidate (the same vector up to sign).
    pub duplicates: usize,
    /// Abandoned early because F fell below the restart threshold (a hopeless start).
    pub hopeless: usize,
    /// Accepted but dropped because more than the allowed number of candidates passed.
    pub over_limit: usize,
}

impl Rejections {
    /// All rejected runs.
    pub fn total(&self) -> usize {
        self.below_threshold + self.duplicates + self.hopeless + self.over_limit
    }
}

/// The result of a rank-one search.
#[derive(Clone, Debug, PartialEq)]
pub struct Rank1Report {
    /// The solver's name.
    pub solver: &'static str,
    /// The acceptance threshold on F = Φ² the solver applied: a run became a candidate only
    /// when its final F reached it.
    pub accept: f64,
    /// Accepted candidates, highest objective first, at most the number asked for.
    pub candidates: Vec<Candidate>,
    /// Random starts drawn.
    pub starts: usize,
    /// Starts that did not yield a candidate, by reason.
    pub rejected: Rejections,
    /// Runs (accepted or not) that stopped at an iteration cap.
    pub capped_runs: usize,
    /// Iterations over all runs (one iteration costs about K·p² multiply-adds).
    pub iterations: usize,
    /// The side p of the space the iterations ran in (d, or smaller after compression to the
    /// common range of the basis).
    pub working_side: usize,
}

impl Rank1Report {
    /// The candidate vectors as the columns of a d×n matrix.
    pub fn vectors(&self, d: usize) -> Mat {
        let cols: Vec<Vec<f64>> = self.candidates.iter().map(|c| c.vector.clone()).collect();
        Mat::from_columns(d, &cols)
    }

    /// Whether any accepted candidate came from a capped run.
    pub fn any_candidate_capped(&self) -> bool {
        self.candidates.iter().any(|c| c.capped)
    }
}

/// Flips `v` so that its largest-magnitude entry is positive.
pub(crate) fn canonical_sign(v: &mut [f64]) {
    let pivot = v.iter().fold(
        0.0_f64,
        |best, &x| if x.abs() > best.abs() { x } else { best },
    );
    if pivot < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

impl Candidate {
    /// A candidate for the unit vector `u` (original coordinates) with objective `F = Φ²`.
    pub(crate) fn new(
        mut vector: Vec<f64>,
        objective_sq: f64,
        iterations: usize,
        capped: bool,
    ) -> Self {
        canonical_sign(&mut vector);
        let objective_sq = objective_sq.clamp(0.0, 1.0);
        Self {
            vector,
            objective: objective_sq.sqrt(),
            objective_sq,
            iterations,
            capped,
        }
    }
}

/// Candidates for accepted runs `(u, iterations, capped)` (working coordinates): each scored
/// by F at its final iterate (in the working space, where `uᵀ W̃_k u = (Uu)ᵀ W_k (Uu)`),
/// lifted to R^d, sorted by objective (highest first).
pub(crate) fn finalize(
    la: Linalg<'_>,
    dense: &Dense,
    runs: Vec<(Vec<f64>, usize, bool)>,
) -> Vec<Candidate> {
    let us: Vec<&[f64]> = runs.iter().map(|(u, _, _)| u.as_slice()).collect();
    let fs = dense.objectives(la, &us);
    let mut out: Vec<Candidate> = runs
        .iter()
        .zip(fs)
        .map(|((u, iters, capped), f)| Candidate::new(dense.lift(u), f, *iters, *capped))
        .collect();
    out.sort_by(|a, b| b.objective.total_cmp(&a.objective));
    out
}
