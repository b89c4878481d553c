//! The norm-penalised Levenberg–Marquardt fit of a whole student (spec §6, §10.1 step 3):
//! first with A frozen, then on every parameter, then the output scales folded away.

use crate::FitError;
use crate::error::{check_finite, check_size};
use crate::lm::{LmConfig, LmReport, LmStop, levenberg_marquardt};
use crate::student::{DEFAULT_PENALTY_FACTOR, FitData, FreeBlocks, StudentModel, StudentProblem};
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::{Activation, Network};

/// A student whose output scales are within this of 1 (after folding signs) is written as a
/// network without the polishing stage.
const SCALE_TOL: f64 = 1e-12;

/// Settings of [`fit_penalised_lm`]; the defaults are route G's (spec §10.1).
#[derive(Clone, Debug, PartialEq)]
pub struct PenalisedFitConfig {
    /// LM iterations with A frozen (stage A). Default 60.
    pub frozen_a_iters: usize,
    /// LM iterations on every parameter (stage B). Default 200.
    pub full_iters: usize,
    /// LM iterations of the polishing stage run when an output scale is not ±1 at the end
    /// (c frozen at 1 after folding its sign). Default 50.
    pub polish_iters: usize,
    /// Penalty factor φ: w = φ·√N. Default 0.03.
    pub penalty_factor: f64,
    /// Whether the output scales c are free. `None` (default): free for tanh, whose
    /// oddness lets a negative c fold into (−b_l, −τ_l); frozen at 1 for the logistic
    /// sigmoid, where `−σ(z) = σ(−z) − 1` would leave an output constant the model lacks.
    pub free_c: Option<bool>,
    /// The LM settings of every stage (`max_iters` is replaced per stage).
    pub lm: LmConfig,
}

impl Default for PenalisedFitConfig {
    fn default() -> Self {
        Self {
            frozen_a_iters: 60,
            full_iters: 200,
            polish_iters: 50,
            penalty_factor: DEFAULT_PENALTY_FACTOR,
            free_c: None,
            lm: LmConfig::default(),
        }
    }
}

impl PenalisedFitConfig {
    /// Whether the output scales are free for output activation `h`.
    pub fn c_is_free(&self, h: Activation) -> bool {
        self.free_c.unwrap_or(h == Activation::Tanh)
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`FitError::InvalidConfig`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), FitError> {
        if !(self.penalty_factor.is_finite() && self.penalty_factor >= 0.0) {
            return Err(FitError::InvalidConfig {
                field: "penalty_factor",
                reason: format!(
                    "must be non-negative and finite, got {}",
                    self.penalty_factor
                ),
            });
        }
        self.lm.validate()
    }
}

/// One LM stage of [`fit_penalised_lm`].
#[derive(Clone, Debug, PartialEq)]
pub struct StageRecord {
    /// `"frozen A"`, `"all"` or `"polish"`.
    pub name: &'static str,
    /// The blocks that were free.
    pub free: FreeBlocks,
    /// The LM outcome (its `params` are the stage's free parameters).
    pub lm: LmReport,
}

/// The outcome of [`fit_penalised_lm`].
#[derive(Clone, Debug)]
pub struct FitReport {
    /// The fitted student, signs folded (scales 1 when `network` equals it exactly).
    pub model: StudentModel,
    /// The fitted network.
    pub network: Network,
    /// `‖f̂(X) − y‖ / ‖y‖` of `network` on the fit data.
    pub fit_misfit: f64,
    /// The stages run, in order.
    pub stages: Vec<StageRecord>,
}

impl FitReport {
    /// LM iterations over all stages.
    pub fn iterations(&self) -> usize {
        self.stages.iter().map(|s| s.lm.iterations).sum()
    }

    /// Whether the last stage reached its misfit tolerance.
    pub fn converged(&self) -> bool {
        self.stages
            .last()
            .is_some_and(|s| s.lm.stop == LmStop::Converged)
    }
}

/// Fits every parameter of `start` to `data` by the norm-penalised LM of spec §6: stage A
/// with A frozen (θ, B, τ and, for tanh, c free; at most
/// [`PenalisedFitConfig::frozen_a_iters`] iterations), stage B on all parameters (at most
/// [`PenalisedFitConfig::full_iters`]); then negative scales are folded into (−b_l, −τ_l),
/// and if a scale is still not 1 a polishing stage refits with c frozen at 1.
///
/// # Errors
/// A bad configuration, a `start` whose shapes are wrong or whose dimension differs from
/// the data's, and the LM's errors (see [`levenberg_marquardt`]).
pub fn fit_penalised_lm(
    la: Linalg<'_>,
    data: &FitData,
    start: StudentModel,
    cfg: &PenalisedFitConfig,
) -> Result<FitReport, FitError> {
    cfg.validate()?;
    start.check()?;
    let free_c = cfg.c_is_free(start.h);
    let w = cfg.penalty_factor * (data.len() as f64).sqrt();
    let mut model = start;
    let mut stages = Vec::new();
    let plan = [
        (
            "frozen A",
            FreeBlocks::FROZEN_A.with_c(free_c),
            cfg.frozen_a_iters,
        ),
        ("all", FreeBlocks::NETWORK.with_c(free_c), cfg.full_iters),
    ];
    for (name, free, iters) in plan {
        if iters == 0 {
            continue;
        }
        let (next, lm) = run_stage(la, data, model, free, w, &cfg.lm, iters)?;
        model = next;
        stages.push(StageRecord { name, free, lm });
    }
    model = model.fold_signs();
    if model.c.iter().any(|c| (c - 1.0).abs() > SCALE_TOL) {
        model.c.iter_mut().for_each(|c| *c = 1.0);
        if cfg.polish_iters > 0 {
            let free = FreeBlocks::NETWORK;
            let (next, lm) = run_stage(la, data, model, free, w, &cfg.lm, cfg.polish_iters)?;
            model = next;
            stages.push(StageRecord {
                name: "polish",
                free,
                lm,
            });
        }
    }
    let network = model.to_network(SCALE_TOL)?;
    let fit_misfit = data.relative_misfit(&network.values(data.points()));
    Ok(FitReport {
        model,
        network,
        fit_misfit,
        stages,
    })
}

fn run_stage(
    la: Linalg<'_>,
    data: &FitData,
    model: StudentModel,
    free: FreeBlocks,
    w: f64,
    lm: &LmConfig,
    iters: usize,
) -> Result<(StudentModel, LmReport), FitError> {
    let problem = StudentProblem::new(model, data, free)?.with_penalty_weight(w)?;
    let cfg = LmConfig {
        max_iters: iters,
        ..lm.clone()
    };
    let report = levenberg_marquardt(la, &problem, problem.initial_params(), &cfg)?;
    Ok((problem.model_at(&report.params), report))
}

/// The relative L2 error `‖net(X) − y‖ / ‖y‖` of a network on points `X` (d×n) and values
/// `y` (absolute when `y = 0`): the self-certificate of spec §10 on validation queries.
///
/// # Errors
/// [`FitError::Shape`] for mismatched sizes, [`FitError::NonFinite`] for NaN inputs.
pub fn relative_error(net: &Network, points: &Mat, values: &[f64]) -> Result<f64, FitError> {
    check_size(
        "relative_error: dimension of the points",
        net.input_dim(),
        points.nrows(),
    )?;
    check_size(
        "relative_error: number of values",
        points.ncols(),
        values.len(),
    )?;
    check_finite("relative_error: points", points.as_slice())?;
    check_finite("relative_error: values", values)?;
    let pred = net.values(points);
    let err: f64 = pred
        .iter()
        .zip(values)
        .map(|(p, y)| (p - y) * (p - y))
        .sum();
    let norm: f64 = values.iter().map(|y| y * y).sum::<f64>().sqrt();
    Ok(err.sqrt() / if norm > 0.0 { norm } else { 1.0 })
}
