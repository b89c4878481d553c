//! The paper's steps 1–4 on one teacher, each stage timed on its own and compared with the
//! truth: finite-difference Hessians (against the exact ones), the subspace Ŵ (against
//! W = span{a_i a_iᵀ, v_l v_lᵀ}), the rank-one candidates (against a_i and v_l) and, when
//! asked for, their attribution (each label against the kind of the candidate's nearest
//! true weight).
//!
//! The stages are the ones [`crate::routes::paper::Pipeline::paper`] uses, with the same
//! seeds (`seed` for the Hessians, `seed + 1` for the rank-one search, `seed + 2` for the
//! attribution), so a `stages` trial sees exactly what the pipeline's first four stages see.

use super::{ExperimentError, timed};
use crate::Architecture;
use crate::metrics::{LabelAccuracy, label_accuracy, match_weights};
use crate::routes::paper::Pipeline;
use nnid_fd_hessian::{CentralStencil, ForwardStencil, HessianSampler, SamplingConfig, Stencil};
use nnid_linalg::Linalg;
use nnid_nn_model::{Network, NetworkOracle, Oracle};
use nnid_rank1_recovery::{ProjectedGradientAscent, Rank1Solver, SubspacePowerMethod};
use nnid_subspace::{
    StackedSvd, SubspaceEstimator, distance, model_subspace, model_weights, weight_distances,
};
use serde::{Deserialize, Serialize};

/// The finite-difference stencil of step 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StencilKind {
    /// The paper's forward second differences, (d+1)(d+2)/2 queries.
    Forward,
    /// Second-order central differences, d² + d + 1 queries.
    Central,
}

/// The rank-one solver of step 3.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolverKind {
    /// The subspace power method (the pipeline's default).
    #[default]
    Spm,
    /// Projected gradient ascent.
    Pga,
}

impl SolverKind {
    /// The solver with its default settings.
    pub fn build(self) -> Box<dyn Rank1Solver> {
        match self {
            Self::Spm => Box::new(SubspacePowerMethod::default()),
            Self::Pga => Box::new(ProjectedGradientAscent::default()),
        }
    }
}

fn default_radius() -> f64 {
    1.0
}

fn default_mx_factor() -> f64 {
    2.0
}

fn default_true() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Settings of a `stages` trial. Defaults are the paper's (§2–§4): forward differences with
/// ε = 1e-5, m_X = 2(m0 + m1) points on the unit sphere, the subspace power method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StagesParams {
    /// The stencil.
    pub stencil: StencilKind,
    /// The step ε (default: the stencil's, 1e-5 forward, 1e-3 central).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// Radius of the sphere of sampling points.
    #[serde(default = "default_radius")]
    pub radius: f64,
    /// m_X = round(mx_factor · (m0 + m1)), at least 1.
    #[serde(default = "default_mx_factor")]
    pub mx_factor: f64,
    /// Whether to run step 3 (rank-one) after the subspace.
    #[serde(default = "default_true")]
    pub rank1: bool,
    /// The rank-one solver.
    #[serde(default)]
    pub solver: SolverKind,
    /// Whether to run step 4 (attribution, the pipeline's default strategy and probe) after
    /// the rank-one stage. Off by default (its probe Hessians cost many queries); left out
    /// of the trial key when off, so older results files keep their keys.
    #[serde(default, skip_serializing_if = "is_false")]
    pub attribution: bool,
}

impl Default for StagesParams {
    fn default() -> Self {
        Self {
            stencil: StencilKind::Forward,
            eps: None,
            radius: 1.0,
            mx_factor: 2.0,
            rank1: true,
            solver: SolverKind::Spm,
            attribution: false,
        }
    }
}

impl StagesParams {
    /// The step ε in use.
    pub fn eps(&self) -> f64 {
        self.eps.unwrap_or(match self.stencil {
            StencilKind::Forward => Stencil::PAPER_FORWARD_EPS,
            StencilKind::Central => Stencil::DEFAULT_CENTRAL_EPS,
        })
    }

    /// m_X for widths (m0, m1).
    pub fn num_hessians(&self, m0: usize, m1: usize) -> usize {
        ((self.mx_factor * (m0 + m1) as f64).round() as usize).max(1)
    }

    /// The sampler these settings describe.
    pub fn sampler(&self, m0: usize, m1: usize) -> Box<dyn HessianSampler> {
        let sampling = SamplingConfig::paper(m0, m1)
            .with_count(self.num_hessians(m0, m1))
            .with_radius(self.radius);
        match self.stencil {
            StencilKind::Forward => Box::new(ForwardStencil {
                eps: self.eps(),
                sampling,
            }),
            StencilKind::Central => Box::new(CentralStencil {
                eps: self.eps(),
                sampling,
            }),
        }
    }
}

/// Step 1's measurements.
#[derive(Clone, Debug, Serialize)]
pub struct HessianStage {
    /// Wall time of the sampling.
    pub seconds: f64,
    /// Queries sent.
    pub queries: u64,
    /// m_X.
    pub count: usize,
    /// Median over the points of `‖Ĥ − ∇²f‖_F / ‖∇²f‖_F` (exact Hessians from the truth).
    pub fd_error_median: f64,
    /// Largest of those relative errors.
    pub fd_error_max: f64,
}

/// Step 2's measurements.
#[derive(Clone, Debug, Serialize)]
pub struct SubspaceStage {
    /// Wall time of the estimate (stacking and SVD).
    pub seconds: f64,
    /// The dimension K used: m0 + m1, or m_X when fewer Hessians were taken.
    pub dim: usize,
    /// Rows of the stacked matrix, d(d+1)/2.
    pub rows: usize,
    /// Every singular value of the stacked Hessians, non-increasing.
    pub singular_values: Vec<f64>,
    /// `s_K / s_{K+1}` (None when K = m_X).
    pub gap_ratio: Option<f64>,
    /// `s_K − s_{K+1}` (None when K = m_X).
    pub gap: Option<f64>,
    /// `‖P_W − P_Ŵ‖` (1 when K ≠ m0 + m1).
    pub distance: f64,
    /// `‖P_Ŵ(a_i a_iᵀ)‖_F` per first-layer weight (1 = inside Ŵ).
    pub a_in_subspace: Vec<f64>,
    /// `‖P_Ŵ(v_l v_lᵀ)‖_F` per entangled weight.
    pub v_in_subspace: Vec<f64>,
}

/// Step 3's measurements (weights count as found within 0.05 up to sign, paper-spec §4).
#[derive(Clone, Debug, Serialize)]
pub struct Rank1Stage {
    /// Wall time of the search.
    pub seconds: f64,
    /// The solver.
    pub solver: String,
    /// Candidates accepted.
    pub candidates: usize,
    /// Random starts drawn.
    pub starts: usize,
    /// Runs stopped at an iteration cap.
    pub capped_runs: usize,
    /// a_i with a candidate within 0.05.
    pub a_found: usize,
    /// v_l with a candidate within 0.05.
    pub v_found: usize,
    /// Per a_i, the distance (up to sign) of its greedily matched candidate.
    pub a_errors: Vec<Option<f64>>,
    /// Per v_l, the same.
    pub v_errors: Vec<Option<f64>>,
    /// Objectives Φ of the candidates, highest first.
    pub objectives: Vec<f64>,
}

/// Step 4's measurements.
#[derive(Clone, Debug, Serialize)]
pub struct AttributionStage {
    /// Wall time of the attribution (its probe's sampling and SVDs included).
    pub seconds: f64,
    /// Queries of the probe.
    pub queries: u64,
    /// The strategy (`none` when at most m0 candidates were found: all are taken as a_i).
    pub strategy: String,
    /// The labels against the truth.
    #[serde(flatten)]
    pub accuracy: LabelAccuracy,
}

/// The result of a `stages` trial.
#[derive(Clone, Debug, Serialize)]
pub struct StagesResult {
    /// Step 1.
    pub hessians: HessianStage,
    /// Step 2.
    pub subspace: SubspaceStage,
    /// Step 3, when asked for.
    pub rank1: Option<Rank1Stage>,
    /// Step 4, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<AttributionStage>,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Runs steps 1–3 (and 4 when asked for) on `teacher` (see the module docs).
///
/// # Errors
/// Any stage's error; [`ExperimentError::InvalidConfig`] when the attribution is asked for
/// without the rank-one stage.
pub fn run(
    la: Linalg<'_>,
    teacher: &Network,
    params: &StagesParams,
    seed: u64,
) -> Result<StagesResult, ExperimentError> {
    if params.attribution && !params.rank1 {
        return Err(ExperimentError::InvalidConfig {
            field: "attribution",
            reason: "the attribution labels the rank-one candidates: it needs `rank1: true`".into(),
        });
    }
    let (d, m0, m1) = (teacher.input_dim(), teacher.m0(), teacher.m1());
    let oracle = NetworkOracle::new(teacher.clone());
    let sampler = params.sampler(m0, m1);
    let (sample, seconds) = timed(|| sampler.sample(la, &oracle, seed));
    let sample = sample?;
    let mut errors: Vec<f64> = sample
        .points
        .columns()
        .zip(&sample.hessians)
        .map(|(x, h)| {
            let exact = teacher.hessian(x);
            h.sub(&exact).norm_fro() / exact.norm_fro().max(f64::MIN_POSITIVE)
        })
        .collect();
    let fd_error_max = errors.iter().copied().fold(0.0, f64::max);
    let hessians = HessianStage {
        seconds,
        queries: sample.queries,
        count: sample.hessians.len(),
        fd_error_median: median(&mut errors),
        fd_error_max,
    };

    let lifted = sample.lifted(la);
    let dim = (m0 + m1).min(lifted.len());
    let (estimate, seconds) = timed(|| StackedSvd.estimate(la, &lifted, dim));
    let estimate = estimate?;
    let s = &estimate.singular_values;
    let (gap_ratio, gap) = match (s.get(dim - 1), s.get(dim)) {
        (Some(&a), Some(&b)) => (Some(a / b), Some(a - b)),
        _ => (None, None),
    };
    let truth_w = model_subspace(la, teacher)?;
    let (a, v) = model_weights(teacher);
    let in_subspace = |m| -> Result<Vec<f64>, ExperimentError> {
        Ok(weight_distances(&estimate.subspace, m)?
            .into_iter()
            .map(|x| 1.0 - x)
            .collect())
    };
    let subspace = SubspaceStage {
        seconds,
        dim,
        rows: d * (d + 1) / 2,
        singular_values: s.clone(),
        gap_ratio,
        gap,
        distance: distance(la, &truth_w, &estimate.subspace)?,
        a_in_subspace: in_subspace(&a)?,
        v_in_subspace: in_subspace(&v)?,
    };

    let mut candidates = None;
    let rank1 = if params.rank1 {
        let solver = params.solver.build();
        let (rep, seconds) = timed(|| solver.recover(la, &estimate.subspace, seed.wrapping_add(1)));
        let rep = rep?;
        let vectors = rep.vectors(d);
        let ma = match_weights(&a, &vectors, 0.05);
        let mv = match_weights(&v, &vectors, 0.05);
        let stage = Rank1Stage {
            seconds,
            solver: solver.name().to_string(),
            candidates: vectors.ncols(),
            starts: rep.starts,
            capped_runs: rep.capped_runs,
            a_found: ma.found,
            v_found: mv.found,
            a_errors: ma.errors,
            v_errors: mv.errors,
            objectives: rep.candidates.iter().map(|c| c.objective).collect(),
        };
        candidates = Some(vectors);
        Some(stage)
    } else {
        None
    };
    let attribution = match candidates {
        Some(found) if params.attribution => {
            let arch = Architecture {
                d,
                m0,
                m1,
                g: teacher.g(),
                h: teacher.h(),
            };
            let pipeline = Pipeline::paper(m0, m1);
            let before = oracle.queries();
            let (rep, seconds) = timed(|| {
                pipeline.attribute_candidates(la, &arch, &oracle, &found, seed.wrapping_add(2))
            });
            let queries = oracle.queries() - before;
            let usable = found.leading_columns(found.ncols().min(m0 + m1));
            let (strategy, first_layer) = match rep? {
                Some(r) => (r.strategy.to_string(), r.first_layer),
                None => ("none".to_string(), (0..usable.ncols()).collect()),
            };
            Some(AttributionStage {
                seconds,
                queries,
                strategy,
                accuracy: label_accuracy(&a, &v, &usable, &first_layer),
            })
        }
        _ => None,
    };
    Ok(StagesResult {
        hessians,
        subspace,
        rank1,
        attribution,
    })
}
