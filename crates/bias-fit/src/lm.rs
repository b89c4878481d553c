//! A Levenberg–Marquardt solver for dense nonlinear least squares, `min ½‖r(p)‖²`.
//!
//! Each iteration forms the normal equations through the backend (`JᵀJ` is one BLAS-3
//! product, the hot path: N·P² multiply-adds for N residuals and P parameters) and solves
//! `(JᵀJ + λ·diag(d + 10⁻⁹·mean(d))) δ = −Jᵀr`, `d = diag(JᵀJ)`, by Cholesky. A step that
//! lowers the cost is accepted and λ shrinks by [`LmConfig::lambda_down`]; otherwise λ grows
//! by [`LmConfig::lambda_up`] and the step is retried with the same `JᵀJ` (up to
//! [`LmConfig::max_retries`] times). The measured comparison with the `levenberg-marquardt`
//! crate (QR per iteration) is in `docs/stages/bias-fit.md`.
//!
//! For problems too large for `JᵀJ`, [`StepMethod::Iterative`] (or [`StepMethod::Auto`]
//! above a size) solves the same damped system by conjugate gradients on Jacobian products
//! ([`crate::operator`]), when the problem provides them ([`LeastSquares::operator`]); the
//! outer iteration (acceptance, λ updates, stopping) is the same. When those conjugate
//! gradients do not converge within [`CgSettings::factor_after`] iterations on a problem of
//! at most [`CgSettings::factor_max_params`] parameters, `JᵀJ + Λ` is factored at that
//! iterate and preconditions that step and the later ones (exactly at first, nearly so
//! after, since J changes little near a solution), until one of them again needs more than
//! `factor_after` iterations and is factored anew.

use crate::FitError;
use crate::operator::{
    CgSettings, FactoredPreconditioner, JacobianOperator, add_to_diagonal, solve_damped_normal,
    solve_preconditioned,
};
use nnid_linalg::{Linalg, LinalgError, Mat, Op, dot, norm2};
use rayon::prelude::*;

/// A nonlinear least-squares problem `min_p ½‖r(p)‖²` with an analytic Jacobian.
///
/// `Sync` so that implementations can evaluate rows in parallel and so that several
/// problems can be solved side by side (multi-start).
pub trait LeastSquares: Sync {
    /// Number of parameters P.
    fn num_params(&self) -> usize;

    /// Number of residuals N.
    fn num_residuals(&self) -> usize;

    /// Writes the N residuals at `p` (length P) into `r` (length N).
    fn residuals(&self, p: &[f64], r: &mut [f64]);

    /// Writes the Jacobian `∂r_n/∂p_k` at `p` into `j` (N×P, column-major). `j` arrives
    /// filled with zeros, so only non-zero entries need writing.
    fn jacobian(&self, p: &[f64], j: &mut Mat);

    /// The Jacobian at `p` as an operator (products `J·v`, `Jᵀ·w` without forming J), for
    /// [`StepMethod::Iterative`]. Default: `None` (only dense steps).
    fn operator<'s>(
        &'s self,
        _la: Linalg<'s>,
        _p: &[f64],
    ) -> Option<Box<dyn JacobianOperator + 's>> {
        None
    }

    /// The misfit compared against [`LmConfig::rel_tol`], from the residuals `r`.
    ///
    /// Default: `‖r‖`. Problems whose residuals hold data rows and regularisation rows
    /// override it with the relative data misfit (for the student network,
    /// `‖f̂(X) − y‖ / ‖y‖`).
    fn data_misfit(&self, r: &[f64]) -> f64 {
        norm2(r)
    }
}

/// Settings of [`levenberg_marquardt`]. Build with struct update syntax from
/// [`LmConfig::default`] or with the `with_*` methods.
#[derive(Clone, Debug, PartialEq)]
pub struct LmConfig {
    /// Most Jacobian evaluations (outer iterations). Default 200.
    pub max_iters: usize,
    /// Initial damping λ₀. Default 10⁻³.
    pub lambda0: f64,
    /// λ is divided by this after an accepted step. Default 3.
    pub lambda_down: f64,
    /// λ is multiplied by this after a rejected step. Default 4.
    pub lambda_up: f64,
    /// Floor of λ. Default 10⁻¹⁵.
    pub lambda_min: f64,
    /// Rejected steps in a row, at one Jacobian, before giving up. Default 30.
    pub max_retries: usize,
    /// Stop (converged) when [`LeastSquares::data_misfit`] falls to this. Default 10⁻¹⁴.
    pub rel_tol: f64,
    /// Stop (stalled) when an accepted step lowers the cost by less than this fraction of
    /// it. Default 0 (off): plateaus do occur on the way into a basin.
    pub cost_tol: f64,
    /// How each damped step is solved. Default [`StepMethod::Dense`].
    pub step: StepMethod,
    /// Stop (stalled) on a plateau: when the cost fell by less than `tol` of itself over the
    /// last `window` accepted steps. Default `None` (off).
    pub plateau: Option<Plateau>,
}

/// A plateau of the cost ([`LmConfig::plateau`]): over `window` accepted steps it fell by
/// less than the fraction `tol`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plateau {
    /// Accepted steps compared.
    pub window: usize,
    /// Smallest relative decrease over the window that is not a plateau.
    pub tol: f64,
}

impl Plateau {
    /// Whether `history` (accepted steps, in order) ends on a plateau.
    fn reached(&self, history: &[LmStep]) -> bool {
        let n = history.len();
        n > self.window && {
            let (before, now) = (history[n - 1 - self.window].cost, history[n - 1].cost);
            before - now < self.tol * before
        }
    }
}

/// How [`levenberg_marquardt`] solves the damped normal equations of a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepMethod {
    /// Form `JᵀJ` and factor it (Cholesky): exact steps, N·P² + P³/3 flops and P² memory.
    Dense,
    /// Conjugate gradients on Jacobian products ([`crate::operator`]); falls back to dense
    /// steps for problems without [`LeastSquares::operator`].
    Iterative(CgSettings),
    /// Iterative from `min_params` parameters on (when the problem has an operator), dense
    /// below.
    Auto {
        /// The smallest number of parameters solved iteratively.
        min_params: usize,
        /// Settings of the iterative steps.
        cg: CgSettings,
    },
}

impl StepMethod {
    /// Whether the steps of a problem of `np` parameters are solved exactly: densely, or
    /// by conjugate gradients that may factor `JᵀJ` ([`CgSettings::factor_max_params`]).
    pub fn exact_for(self, np: usize) -> bool {
        self.iterative_for(np)
            .is_none_or(|cg| np <= cg.factor_max_params)
    }

    /// The CG settings to use for a problem of `np` parameters, if iterative.
    fn iterative_for(self, np: usize) -> Option<CgSettings> {
        match self {
            Self::Dense => None,
            Self::Iterative(cg) => Some(cg),
            Self::Auto { min_params, cg } => (np >= min_params).then_some(cg),
        }
    }
}

impl Default for LmConfig {
    fn default() -> Self {
        Self {
            max_iters: 200,
            lambda0: 1e-3,
            lambda_down: 3.0,
            lambda_up: 4.0,
            lambda_min: 1e-15,
            max_retries: 30,
            rel_tol: 1e-14,
            cost_tol: 0.0,
            step: StepMethod::Dense,
            plateau: None,
        }
    }
}

impl LmConfig {
    /// Sets [`LmConfig::max_iters`].
    pub fn with_max_iters(mut self, max_iters: usize) -> Self {
        self.max_iters = max_iters;
        self
    }

    /// Sets [`LmConfig::rel_tol`].
    pub fn with_rel_tol(mut self, rel_tol: f64) -> Self {
        self.rel_tol = rel_tol;
        self
    }

    /// Sets [`LmConfig::cost_tol`].
    pub fn with_cost_tol(mut self, cost_tol: f64) -> Self {
        self.cost_tol = cost_tol;
        self
    }

    /// Sets [`LmConfig::step`].
    pub fn with_step(mut self, step: StepMethod) -> Self {
        self.step = step;
        self
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`FitError::InvalidConfig`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), FitError> {
        let bad = |field: &'static str, reason: &str| {
            Err(FitError::InvalidConfig {
                field,
                reason: reason.to_string(),
            })
        };
        if !(self.lambda0.is_finite() && self.lambda0 > 0.0) {
            return bad("lambda0", "must be positive and finite");
        }
        if !(self.lambda_down.is_finite() && self.lambda_down > 1.0) {
            return bad("lambda_down", "must be finite and greater than 1");
        }
        if !(self.lambda_up.is_finite() && self.lambda_up > 1.0) {
            return bad("lambda_up", "must be finite and greater than 1");
        }
        if !(self.lambda_min.is_finite() && self.lambda_min >= 0.0) {
            return bad("lambda_min", "must be non-negative and finite");
        }
        if !(self.rel_tol.is_finite() && self.rel_tol >= 0.0) {
            return bad("rel_tol", "must be non-negative and finite");
        }
        if self
            .plateau
            .is_some_and(|w| w.window == 0 || !(w.tol > 0.0 && w.tol < 1.0))
        {
            return bad("plateau", "needs a window ≥ 1 and a tolerance in (0, 1)");
        }
        if !(self.cost_tol.is_finite() && (0.0..1.0).contains(&self.cost_tol)) {
            return bad("cost_tol", "must lie in [0, 1)");
        }
        if let Some(cg) = self.step.iterative_for(usize::MAX)
            && !(cg.rel_tol.is_finite() && cg.rel_tol > 0.0 && cg.max_iters > 0)
        {
            return bad(
                "step",
                "CG needs a positive finite rel_tol and at least one iteration",
            );
        }
        Ok(())
    }
}

/// Why [`levenberg_marquardt`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LmStop {
    /// The data misfit reached [`LmConfig::rel_tol`].
    Converged,
    /// The gradient `Jᵀr` is exactly zero (a stationary point).
    Stationary,
    /// An accepted step lowered the cost by less than [`LmConfig::cost_tol`], or the cost
    /// reached a [`LmConfig::plateau`].
    Stalled,
    /// [`LmConfig::max_retries`] steps in a row did not lower the cost.
    NoProgress,
    /// [`LmConfig::max_iters`] iterations were used.
    MaxIterations,
}

/// One accepted iteration of [`levenberg_marquardt`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LmStep {
    /// Iteration number (1-based).
    pub iteration: usize,
    /// Cost `½‖r‖²` after the step.
    pub cost: f64,
    /// Data misfit after the step ([`LeastSquares::data_misfit`]).
    pub misfit: f64,
    /// λ used for the accepted step.
    pub lambda: f64,
    /// Rejected trial steps before it.
    pub retries: usize,
    /// Conjugate-gradient iterations of the accepted step (0 for a dense step).
    pub cg_iterations: usize,
    /// Whether the step's conjugate gradients used the factored preconditioner
    /// ([`CgSettings::factor_max_params`]).
    pub factored: bool,
}

/// The outcome of [`levenberg_marquardt`].
#[derive(Clone, Debug, PartialEq)]
pub struct LmReport {
    /// The final parameters.
    pub params: Vec<f64>,
    /// Final cost `½‖r‖²`.
    pub cost: f64,
    /// Final data misfit ([`LeastSquares::data_misfit`]).
    pub misfit: f64,
    /// Jacobian evaluations used.
    pub iterations: usize,
    /// Whether the run stopped at [`LmConfig::max_iters`].
    pub capped: bool,
    /// Whether the misfit reached [`LmConfig::rel_tol`].
    pub converged: bool,
    /// Why it stopped.
    pub stop: LmStop,
    /// Cost before the first step.
    pub initial_cost: f64,
    /// Every accepted step.
    pub history: Vec<LmStep>,
}

/// Columns per block of [`normal_matrix`]: below 2 blocks' worth `JᵀJ` is one product
/// (measured: at P = 270 splitting is slower, at P = 2010 it saves about a third).
const BLOCK_COLS: usize = 256;

/// `JᵀJ` for a tall `J` (N×P), exploiting symmetry: `J` is cut into k ≤ 8 column blocks
/// `J = [J_1 | … | J_k]` of about 256 columns and only the blocks `J_iᵀJ_j`,
/// i ≤ j, are multiplied (each by the backend, single-threaded), in parallel over the block
/// pairs, then mirrored: (k + 1)/(2k) of the flops of one product. Measurements are in
/// `docs/stages/bias-fit.md`.
pub fn normal_matrix(la: Linalg<'_>, j: &Mat) -> Mat {
    normal_matrix_with(la, j, true)
}

/// [`normal_matrix`], with the block products run in parallel or in sequence (for
/// measurements).
pub fn normal_matrix_with(la: Linalg<'_>, j: &Mat, parallel: bool) -> Mat {
    let (nr, np) = j.shape();
    let blocks = (np / BLOCK_COLS).clamp(1, 8);
    if blocks == 1 {
        // Some BLAS kernels do not return JᵀJ exactly symmetric: mirror the upper triangle.
        let mut out = la.matmul(j, Op::Trans, j, Op::NoTrans);
        for c in 0..np {
            for r in c + 1..np {
                out[(r, c)] = out[(c, r)];
            }
        }
        return out;
    }
    let width = np.div_ceil(blocks);
    let bounds: Vec<(usize, usize)> = (0..np)
        .step_by(width)
        .map(|s| (s, (s + width).min(np)))
        .collect();
    let parts: Vec<Mat> = bounds
        .iter()
        .map(|&(s, e)| Mat::from_col_major(nr, e - s, j.as_slice()[s * nr..e * nr].to_vec()))
        .collect();
    let pairs: Vec<(usize, usize)> = (0..parts.len())
        .flat_map(|a| (a..parts.len()).map(move |b| (a, b)))
        .collect();
    let product =
        |&(a, b): &(usize, usize)| la.matmul(&parts[a], Op::Trans, &parts[b], Op::NoTrans);
    let products: Vec<Mat> = if parallel {
        pairs.par_iter().map(product).collect()
    } else {
        pairs.iter().map(product).collect()
    };
    let mut out = Mat::zeros(np, np);
    for (&(a, b), prod) in pairs.iter().zip(&products) {
        let (ra, cb) = (bounds[a].0, bounds[b].0);
        for jj in 0..prod.ncols() {
            // A diagonal block from a BLAS need not be exactly symmetric: read its upper
            // triangle only, so the mirrored result is.
            let rows = if a == b { jj + 1 } else { prod.nrows() };
            for ii in 0..rows {
                let v = prod[(ii, jj)];
                out[(ra + ii, cb + jj)] = v;
                out[(cb + jj, ra + ii)] = v;
            }
        }
    }
    out
}

/// Minimises `½‖r(p)‖²` from `p0` by Levenberg–Marquardt (see the module docs).
///
/// # Errors
/// [`FitError::InvalidConfig`] for a bad `cfg`, [`FitError::Shape`] when `p0` does not have
/// [`LeastSquares::num_params`] entries, [`FitError::NonFinite`] for a non-finite `p0`,
/// [`FitError::NonFiniteStart`] when the residuals at `p0` are not finite, and
/// [`FitError::Linalg`] when the normal matrix is not finite.
pub fn levenberg_marquardt(
    la: Linalg<'_>,
    problem: &dyn LeastSquares,
    p0: Vec<f64>,
    cfg: &LmConfig,
) -> Result<LmReport, FitError> {
    cfg.validate()?;
    let (np, nr) = (problem.num_params(), problem.num_residuals());
    crate::error::check_size("levenberg_marquardt: start vector length", np, p0.len())?;
    crate::error::check_finite("levenberg_marquardt: start vector", &p0)?;

    let mut p = p0;
    let mut r = vec![0.0; nr];
    problem.residuals(&p, &mut r);
    if let Some(index) = r.iter().position(|v| !v.is_finite()) {
        return Err(FitError::NonFiniteStart {
            index,
            value: r[index],
        });
    }
    let mut cost = 0.5 * dot(&r, &r);
    let initial_cost = cost;
    let mut misfit = problem.data_misfit(&r);
    let report = |p, cost, misfit, iterations, stop, history| LmReport {
        params: p,
        cost,
        misfit,
        iterations,
        capped: stop == LmStop::MaxIterations,
        converged: stop == LmStop::Converged,
        stop,
        initial_cost,
        history,
    };
    if misfit <= cfg.rel_tol {
        return Ok(report(p, cost, misfit, 0, LmStop::Converged, Vec::new()));
    }
    if np == 0 {
        return Ok(report(p, cost, misfit, 0, LmStop::Stationary, Vec::new()));
    }

    let cg = cfg.step.iterative_for(np);
    let mut jac = Mat::zeros(0, 0);
    let mut trial = vec![0.0; np];
    let mut r_trial = vec![0.0; nr];
    let mut lambda = cfg.lambda0;
    let mut history = Vec::new();
    let mut factoring = Factoring {
        allowed: cg.is_some_and(|c| np <= c.factor_max_params),
        probe_iterations: cg.map_or((0, 0), |c| (c.first_factor_after, c.factor_after)),
        factor: None,
    };
    for iteration in 1..=cfg.max_iters {
        let lin = Linearization::new(la, problem, &p, &r, cg, &mut jac);
        if lin.grad.iter().all(|&v| v == 0.0) {
            return Ok(report(
                p,
                cost,
                misfit,
                iteration,
                LmStop::Stationary,
                history,
            ));
        }
        let neg_grad: Vec<f64> = lin.grad.iter().map(|v| -v).collect();
        let floor = 1e-9 * lin.diag.iter().sum::<f64>() / np as f64;

        let mut accepted = None;
        for retries in 0..=cfg.max_retries {
            let damping: Vec<f64> = lin.diag.iter().map(|d| lambda * (d + floor)).collect();
            let Some((step, cg_iterations)) =
                factoring.step(la, (problem, &p, &mut jac), &lin, &damping, &neg_grad)?
            else {
                lambda *= cfg.lambda_up;
                continue;
            };
            trial
                .iter_mut()
                .zip(&p)
                .zip(&step)
                .for_each(|((t, pk), s)| *t = pk + s);
            problem.residuals(&trial, &mut r_trial);
            let trial_cost = 0.5 * dot(&r_trial, &r_trial);
            if trial_cost.is_finite() && trial_cost < cost {
                accepted = Some((retries, trial_cost, cg_iterations));
                break;
            }
            lambda *= cfg.lambda_up;
        }
        let Some((retries, new_cost, cg_iterations)) = accepted else {
            return Ok(report(
                p,
                cost,
                misfit,
                iteration,
                LmStop::NoProgress,
                history,
            ));
        };
        std::mem::swap(&mut p, &mut trial);
        std::mem::swap(&mut r, &mut r_trial);
        let decrease = (cost - new_cost) / cost;
        cost = new_cost;
        misfit = problem.data_misfit(&r);
        history.push(LmStep {
            iteration,
            cost,
            misfit,
            lambda,
            retries,
            cg_iterations,
            factored: cg_iterations > 0 && factoring.factor.is_some(),
        });
        lambda = (lambda / cfg.lambda_down).max(cfg.lambda_min);
        if misfit <= cfg.rel_tol {
            return Ok(report(
                p,
                cost,
                misfit,
                iteration,
                LmStop::Converged,
                history,
            ));
        }
        if decrease < cfg.cost_tol || cfg.plateau.is_some_and(|w| w.reached(&history)) {
            return Ok(report(p, cost, misfit, iteration, LmStop::Stalled, history));
        }
    }
    Ok(report(
        p,
        cost,
        misfit,
        cfg.max_iters,
        LmStop::MaxIterations,
        history,
    ))
}

/// What a step needs from the linearisation at one iterate: the gradient `Jᵀr`, the
/// diagonal of `JᵀJ`, and a solver of the damped normal equations.
struct Linearization<'s> {
    grad: Vec<f64>,
    diag: Vec<f64>,
    solver: StepSolver<'s>,
}

enum StepSolver<'s> {
    /// `JᵀJ`, factored for each damping.
    Dense(Mat),
    /// Conjugate gradients on the operator.
    Iterative {
        op: Box<dyn JacobianOperator + 's>,
        cg: CgSettings,
        residuals: usize,
    },
}

impl<'s> Linearization<'s> {
    /// Linearises `problem` at `p` (residuals `r`): iteratively when `cg` is set and the
    /// problem has an operator, else densely into the reused buffer `jac`.
    fn new(
        la: Linalg<'s>,
        problem: &'s dyn LeastSquares,
        p: &[f64],
        r: &[f64],
        cg: Option<CgSettings>,
        jac: &mut Mat,
    ) -> Self {
        let (np, nr) = (problem.num_params(), problem.num_residuals());
        if let Some((op, cg)) = cg.and_then(|cg| Some((problem.operator(la, p)?, cg))) {
            let mut grad = vec![0.0; np];
            op.apply_t(r, &mut grad);
            let diag = op.column_sq_norms();
            let solver = StepSolver::Iterative {
                op,
                cg,
                residuals: nr,
            };
            return Self { grad, diag, solver };
        }
        let normal = dense_normal(la, problem, p, jac);
        let grad = jac
            .as_slice()
            .par_chunks(nr.max(1))
            .map(|c| dot(c, r))
            .collect();
        let diag = (0..np).map(|k| normal[(k, k)]).collect();
        Self {
            grad,
            diag,
            solver: StepSolver::Dense(normal),
        }
    }

    /// Solves `(JᵀJ + diag(damping)) δ = rhs`: the step, or `None` when the dense system
    /// is not positive definite (the caller raises λ). CG uses `factored` when given, else
    /// the operator's preconditioner, and stops after `probe` iterations when given.
    fn solve(
        &self,
        la: Linalg<'_>,
        damping: &[f64],
        rhs: &[f64],
        factored: Option<&FactoredPreconditioner>,
        probe: Option<usize>,
    ) -> Result<Option<StepSolution>, FitError> {
        match &self.solver {
            StepSolver::Dense(normal) => {
                let mut damped = normal.clone();
                add_to_diagonal(&mut damped, damping);
                let b = Mat::from_col_major(rhs.len(), 1, rhs.to_vec());
                match la.solve_spd(&damped, &b) {
                    Ok(step) => Ok(Some(StepSolution {
                        step: step.into_vec(),
                        iterations: 0,
                        converged: true,
                    })),
                    Err(LinalgError::NotPositiveDefinite { .. }) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            StepSolver::Iterative { op, cg, residuals } => {
                let cg = &CgSettings {
                    max_iters: probe.unwrap_or(cg.max_iters),
                    ..*cg
                };
                let sol = match factored {
                    Some(m) => solve_preconditioned(op.as_ref(), damping, rhs, *residuals, cg, m),
                    None => {
                        solve_damped_normal(op.as_ref(), &self.diag, damping, rhs, *residuals, cg)
                    }
                };
                let finite = sol.step.iter().all(|v| v.is_finite());
                let converged = sol.rel_residual <= cg.rel_tol;
                Ok(finite.then_some(StepSolution {
                    step: sol.step,
                    iterations: sol.iterations,
                    converged,
                }))
            }
        }
    }
}

/// The dense Jacobian of `problem` at `p` into the reused buffer `jac`, and `JᵀJ`.
fn dense_normal(la: Linalg<'_>, problem: &dyn LeastSquares, p: &[f64], jac: &mut Mat) -> Mat {
    let (np, nr) = (problem.num_params(), problem.num_residuals());
    if jac.shape() != (nr, np) {
        *jac = Mat::zeros(nr, np);
    } else {
        jac.as_mut_slice().fill(0.0);
    }
    problem.jacobian(p, jac);
    normal_matrix(la, jac)
}

/// The factored preconditioner `(JᵀJ + diag(damping))⁻¹` at `p`, or `None` when that
/// matrix is not positive definite in floating point (the steps then keep the operator's
/// preconditioner).
fn factor_normal(
    la: Linalg<'_>,
    problem: &dyn LeastSquares,
    p: &[f64],
    damping: &[f64],
    jac: &mut Mat,
) -> Option<FactoredPreconditioner> {
    let normal = dense_normal(la, problem, p, jac);
    *jac = Mat::zeros(0, 0);
    FactoredPreconditioner::new(la, normal, damping).ok()
}

/// A solved step: δ, its CG iterations (0 for a dense step), and whether CG met its
/// tolerance.
struct StepSolution {
    step: Vec<f64>,
    iterations: usize,
    converged: bool,
}

/// The factored preconditioner of one fit ([`CgSettings::factor_max_params`]): whenever a
/// step's CG has run [`CgSettings::factor_after`] iterations without converging (with the
/// operator's preconditioner, or with a factor from an earlier iterate that has gone
/// stale), `JᵀJ + Λ` is factored at that iterate and the step is solved again with it (one
/// or two iterations: it is exact there); later steps use it until it goes stale.
struct Factoring {
    /// CG steps, at most `factor_max_params` parameters, and no failed factorisation.
    allowed: bool,
    /// CG iterations before factoring: ([`CgSettings::first_factor_after`],
    /// [`CgSettings::factor_after`]).
    probe_iterations: (usize, usize),
    factor: Option<FactoredPreconditioner>,
}

impl Factoring {
    /// Solves one damped step (see [`Linearization::solve`]), factoring when the probe
    /// does not converge; `at` is the problem, the iterate and the dense-Jacobian buffer.
    fn step(
        &mut self,
        la: Linalg<'_>,
        (problem, p, jac): (&dyn LeastSquares, &[f64], &mut Mat),
        lin: &Linearization<'_>,
        damping: &[f64],
        rhs: &[f64],
    ) -> Result<Option<(Vec<f64>, usize)>, FitError> {
        let probe = self.allowed.then_some(self.probe_iterations);
        let probe = probe.map(|(first, later)| if self.factor.is_some() { later } else { first });
        let Some(first) = lin.solve(la, damping, rhs, self.factor.as_ref(), probe)? else {
            return Ok(None);
        };
        if probe.is_none() || first.converged {
            return Ok(Some((first.step, first.iterations)));
        }
        self.factor = factor_normal(la, problem, p, damping, jac);
        self.allowed = self.factor.is_some();
        let again = lin.solve(la, damping, rhs, self.factor.as_ref(), None)?;
        Ok(again.map(|s| (s.step, first.iterations + s.iterations)))
    }
}
