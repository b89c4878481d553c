//! A whole identification through [`crate::identify`], with the truth known: the report's
//! queries and times per stage, the certificate, and the success criterion of issue 7
//! (relative L2 error of f̂ below 1e-6 on points uniform in the unit ball, and every a_i
//! within 1e-4 up to sign).

use super::stages::{SolverKind, StagesParams, StencilKind};
use super::{ExperimentError, compact};
use crate::routes::auto::{Auto, Widths};
use crate::routes::gradient::RouteG;
use crate::routes::paper::Pipeline;
use crate::routes::saturation::RouteS;
use crate::{Architecture, Route, RunOptions, Silent, Status, identify, identify_discovering};
use nnid_linalg::Linalg;
use nnid_nn_model::{Float32Oracle, Network, NetworkOracle, NoisyOracle, Oracle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Success threshold on the relative L2 error of f̂ in the unit ball (issue 7).
pub const SUCCESS_REL_L2: f64 = 1e-6;

/// Success threshold on every a_i, up to sign (issue 7).
pub const SUCCESS_WEIGHT: f64 = 1e-4;

/// The methods `nnid identify --method` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Route S, then route G when S does not certify.
    Auto,
    /// Route S.
    Saturation,
    /// Route G.
    Gradient,
    /// The paper's pipeline.
    Paper,
}

impl Method {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Saturation => "saturation",
            Self::Gradient => "gradient",
            Self::Paper => "paper",
        }
    }
}

/// Settings of the paper pipeline in a `route` trial: steps 1–3 as in a `stages` trial,
/// plus the refinement and the partial mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperParams {
    /// Steps 1–3 (the `rank1` flag is ignored: the pipeline always runs it).
    #[serde(flatten)]
    pub stages: StagesParams,
    /// Run the penalised LM refinement after the paper's fit.
    pub refine: bool,
    /// Go on with random fill-ins when rank-one candidates are missing (the paper alone
    /// would stop there; with it every trial ends with a network to measure).
    #[serde(default)]
    pub allow_partial: bool,
}

impl Default for PaperParams {
    fn default() -> Self {
        Self {
            stages: StagesParams::default(),
            refine: true,
            allow_partial: true,
        }
    }
}

fn default_test_points() -> usize {
    100_000
}

/// How the teacher's answers are degraded in a `route` trial (issue 10): float32 rounding
/// and additive Gaussian noise, as `nnid identify --float32 --noise σ` does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OracleParams {
    /// Round every answer to float32.
    #[serde(default)]
    pub float32: bool,
    /// Standard deviation of the additive noise (0: none).
    #[serde(default)]
    pub noise: f64,
}

impl OracleParams {
    /// Whether the answers are exact (float64, no noise).
    pub fn is_exact(&self) -> bool {
        !self.float32 && self.noise == 0.0
    }

    /// The teacher's oracle, degraded as asked; the noise is drawn from `seed`.
    ///
    /// # Errors
    /// A negative or non-finite noise level.
    pub fn build(&self, teacher: &Network, seed: u64) -> Result<Box<dyn Oracle>, ExperimentError> {
        let mut oracle: Box<dyn Oracle> = Box::new(NetworkOracle::new(teacher.clone()));
        if self.float32 {
            oracle = Box::new(Float32Oracle::new(oracle));
        }
        if self.noise != 0.0 {
            oracle = Box::new(NoisyOracle::new(oracle, self.noise, seed ^ 0x006E_015E)?);
        }
        Ok(oracle)
    }
}

/// Settings of a `route` trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteParams {
    /// The method.
    pub method: Method,
    /// The paper pipeline's settings (method `paper` only; default: the paper's, with the
    /// refinement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<PaperParams>,
    /// Test points uniform in the unit ball for the comparison with the truth.
    #[serde(default = "default_test_points")]
    pub test_points: usize,
    /// The oracle's degradation (default: exact answers).
    #[serde(default, skip_serializing_if = "OracleParams::is_exact")]
    pub oracle: OracleParams,
    /// Method `auto` only: the widths are not given, `auto` decides them from the queries
    /// ([`crate::identify_discovering`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub discover_widths: bool,
}

impl RouteParams {
    /// A method with its defaults.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            paper: (method == Method::Paper).then(PaperParams::default),
            test_points: default_test_points(),
            oracle: OracleParams::default(),
            discover_widths: false,
        }
    }

    /// `auto`, `paper+refine(m_X×2, ε=1e-5, r=1)`, …
    pub fn label(&self) -> String {
        match (&self.method, &self.paper) {
            (Method::Paper, Some(p)) => format!(
                "paper{}{} m_X×{} ε={:e} r={}",
                if p.refine { "+refine" } else { "" },
                if p.stages.solver == SolverKind::Pga {
                    " pga"
                } else {
                    ""
                },
                p.stages.mx_factor,
                p.stages.eps(),
                p.stages.radius
            ),
            (m, _) if self.discover_widths => format!("{} (widths decided)", m.name()),
            (m, _) => m.name().to_string(),
        }
    }

    /// The route these settings describe.
    pub fn build(&self, m0: usize, m1: usize) -> Box<dyn Route> {
        match self.method {
            Method::Auto => Box::new(Auto::default()),
            Method::Saturation => Box::new(RouteS::default()),
            Method::Gradient => Box::new(RouteG::default()),
            Method::Paper => {
                let p = self.paper.clone().unwrap_or_default();
                let mut pipeline = Pipeline::paper(m0, m1)
                    .with_sampler(p.stages.sampler(m0, m1))
                    .with_solver(p.stages.solver.build());
                if !p.refine {
                    pipeline = pipeline.with_refinement(None);
                }
                if p.stages.stencil == StencilKind::Central {
                    pipeline.probe.eps = p.stages.eps();
                }
                pipeline.allow_partial = p.allow_partial;
                Box::new(pipeline)
            }
        }
    }
}

/// One stage of the run.
#[derive(Clone, Debug, Serialize)]
pub struct StageSummary {
    /// Stage name.
    pub name: String,
    /// Its queries.
    pub queries: u64,
    /// Its wall time.
    pub seconds: f64,
    /// Its details, with long arrays summarised (see [`compact`]).
    pub details: serde_json::Value,
}

/// The result of a `route` trial.
#[derive(Clone, Debug, Serialize)]
pub struct RouteResult {
    /// The route's name as reported.
    pub method: String,
    /// How the run ended.
    pub status: Status,
    /// The certificate passed.
    pub certified: bool,
    /// The certificate's relative validation error.
    pub validation_rel_l2: Option<f64>,
    /// The certificate's threshold (1e-9, or 3 × the noise floor when that is higher).
    pub certificate_threshold: Option<f64>,
    /// The oracle's noise floor relative to the RMS of its validation answers.
    pub relative_noise_floor: Option<f64>,
    /// The success criterion of issue 7 (module docs).
    pub success: bool,
    /// Every query, certificate included.
    pub queries: u64,
    /// Queries per stage.
    pub queries_by_stage: BTreeMap<String, u64>,
    /// Wall time of the whole run, certificate included.
    pub seconds: f64,
    /// Parameters P.
    pub parameters: usize,
    /// The paper's Hessian budget m_X(d+1)(d+2)/2 with m_X = 2(m0 + m1).
    pub paper_budget: u64,
    /// Relative L2 error of f̂ in the unit ball (None when no network was produced).
    pub rel_l2: Option<f64>,
    /// Relative sup error of f̂ in the unit ball.
    pub rel_sup: Option<f64>,
    /// a_i within 1e-4 up to sign.
    pub a_found: usize,
    /// Largest a_i error (∞ when one is missing).
    pub a_max_error: Option<f64>,
    /// The stages in order.
    pub stages: Vec<StageSummary>,
    /// The report's notes.
    pub notes: Vec<String>,
    /// The error that ended the run, if any.
    pub error: Option<String>,
}

/// Runs the route on the teacher's in-process oracle (see the module docs).
///
/// # Errors
/// None in practice: a failing route is a result with status `failed`. The `Result` is for
/// symmetry with the other experiments.
pub fn run(
    la: Linalg<'_>,
    teacher: &Network,
    params: &RouteParams,
    seed: u64,
) -> Result<RouteResult, ExperimentError> {
    let arch = Architecture {
        d: teacher.input_dim(),
        m0: teacher.m0(),
        m1: teacher.m1(),
        g: teacher.g(),
        h: teacher.h(),
    };
    let route = params.build(arch.m0, arch.m1);
    let oracle = params.oracle.build(teacher, seed)?;
    let options = RunOptions {
        seed,
        test_points: params.test_points,
        ..RunOptions::default()
    };
    let outcome = if params.discover_widths {
        if params.method != Method::Auto {
            return Err(ExperimentError::InvalidConfig {
                field: "discover_widths",
                reason: format!(
                    "only method auto decides widths, not {}",
                    params.method.name()
                ),
            });
        }
        let widths = Widths::default();
        let (d, acts) = (arch.d, (arch.g, arch.h));
        identify_discovering(
            la,
            oracle.as_ref(),
            d,
            acts,
            widths,
            &Auto::default(),
            &options,
            &Silent,
            Some(teacher),
        )
    } else {
        identify(
            la,
            oracle.as_ref(),
            &arch,
            route.as_ref(),
            &options,
            &Silent,
            Some(teacher),
        )
    };
    let r = &outcome.report;
    let truth = r.truth.as_ref();
    let a_found = truth.map_or(0, |t| t.first_layer.found);
    let rel_l2 = truth.map(|t| t.unit_ball.rel_l2);
    let success = outcome.network.is_some()
        && a_found == arch.m0
        && rel_l2.is_some_and(|e| e < SUCCESS_REL_L2);
    Ok(RouteResult {
        method: r.method.clone(),
        status: r.status,
        certified: outcome.certified(),
        validation_rel_l2: r.certificate.map(|c| c.validation_rel_l2),
        certificate_threshold: r.certificate.map(|c| c.threshold),
        relative_noise_floor: r.certificate.and_then(|c| c.relative_noise_floor),
        success,
        queries: r.total_queries(),
        queries_by_stage: r.queries.clone(),
        seconds: r.seconds.get("total").copied().unwrap_or(0.0),
        parameters: r.parameters,
        paper_budget: r.paper_budget(),
        rel_l2,
        rel_sup: truth.map(|t| t.unit_ball.rel_sup),
        a_found,
        a_max_error: truth.map(|t| t.first_layer.max_error),
        stages: r
            .stages
            .iter()
            .map(|s| StageSummary {
                name: s.name.clone(),
                queries: s.queries,
                seconds: s.seconds,
                details: compact(&s.details),
            })
            .collect(),
        notes: r.notes.clone(),
        error: r.error.clone(),
    })
}
