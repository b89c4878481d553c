//! The norm-penalised Levenberg–Marquardt fit (paper-spec §6 \[design\]) from a perturbed
//! teacher: the hot loop of the refinement and of route G (`JᵀJ` products and Cholesky
//! solves through the backend), measured on its own.

use super::{ExperimentError, timed};
use crate::metrics::{function_error, gaussian_points, match_weights, uniform_ball};
use nnid_bias_fit::{FitData, PenalisedFitConfig, StudentModel, fit_penalised_lm};
use nnid_linalg::Linalg;
use nnid_nn_model::{Network, NetworkOracle, Oracle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

fn default_perturbation() -> f64 {
    0.05
}

fn default_points_per_parameter() -> f64 {
    4.0
}

fn default_test_points() -> usize {
    10_000
}

/// Settings of a `fit` trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitParams {
    /// Every parameter of the start is the teacher's plus `perturbation · N(0, 1)`.
    #[serde(default = "default_perturbation")]
    pub perturbation: f64,
    /// Fit points per parameter, x ~ N(0, width(g)² I).
    #[serde(default = "default_points_per_parameter")]
    pub points_per_parameter: f64,
    /// Test points uniform in the unit ball for the final error.
    #[serde(default = "default_test_points")]
    pub test_points: usize,
}

impl Default for FitParams {
    fn default() -> Self {
        Self {
            perturbation: default_perturbation(),
            points_per_parameter: default_points_per_parameter(),
            test_points: default_test_points(),
        }
    }
}

/// The result of a `fit` trial.
#[derive(Clone, Debug, Serialize)]
pub struct FitResult {
    /// Wall time of the fit alone (data queried beforehand).
    pub seconds: f64,
    /// Fit points N.
    pub points: usize,
    /// Parameters P of the network.
    pub parameters: usize,
    /// LM iterations over all stages.
    pub iterations: usize,
    /// Relative misfit on the fit data at the end.
    pub fit_misfit: f64,
    /// Relative L2 error of f̂ on the test points.
    pub rel_l2: f64,
    /// Relative sup error of f̂ on the test points.
    pub rel_sup: f64,
    /// Per a_i, distance up to sign to its matched fitted weight (unit-normalised).
    pub a_errors: Vec<Option<f64>>,
    /// a_i within 1e-4.
    pub a_found: usize,
}

/// The teacher with every parameter moved by `delta · N(0, 1)` (seeded).
pub fn perturbed(teacher: &Network, delta: f64, seed: u64) -> StudentModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut model = StudentModel::from_network(teacher);
    let mut p = model.params();
    let layout = model.layout();
    // The output scales (the tail after τ) stay at 1.
    for v in &mut p[..layout.c()] {
        let z: f64 = StandardNormal.sample(&mut rng);
        *v += delta * z;
    }
    model.set_params(&p);
    model
}

/// Runs the fit from the perturbed teacher (see the module docs).
///
/// # Errors
/// The oracle's or the fit's errors.
pub fn run(
    la: Linalg<'_>,
    teacher: &Network,
    params: &FitParams,
    seed: u64,
) -> Result<FitResult, ExperimentError> {
    let d = teacher.input_dim();
    let parameters = teacher.num_params();
    let n = (params.points_per_parameter * parameters as f64).ceil() as usize;
    let oracle = NetworkOracle::new(teacher.clone());
    let points = gaussian_points(d, n, teacher.g().width(), seed ^ 0xF17);
    let data = FitData::new(points.clone(), oracle.query(&points)?)?;
    let start = perturbed(teacher, params.perturbation, seed ^ 0x5747);
    let (report, seconds) =
        timed(|| fit_penalised_lm(la, &data, start, &PenalisedFitConfig::default()));
    let report = report?;
    let test = uniform_ball(d, params.test_points, 1.0, seed ^ 0x7E57);
    let err = function_error(&report.network, &test, &teacher.values(&test));
    let m = match_weights(teacher.a(), report.network.a(), 1e-4);
    Ok(FitResult {
        seconds,
        points: n,
        parameters,
        iterations: report.iterations(),
        fit_misfit: report.fit_misfit,
        rel_l2: err.rel_l2,
        rel_sup: err.rel_sup,
        a_errors: m.errors,
        a_found: m.found,
    })
}
