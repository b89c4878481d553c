//! A Levenberg–Marquardt solver for dense nonlinear least squares, `min ½‖r(p)‖²`.
//!
//! Each iteration forms the normal equations through the backend (`JᵀJ` is one BLAS-3
//! product, the hot path: N·P² multiply-adds for N residuals and P parameters) and solves
//! `(JᵀJ + λ·diag(d + 10⁻⁹·mean(d))) δ = −Jᵀr`, `d = diag(JᵀJ)`, by Cholesky. A step that
//! lowers the cost is accepted and λ shrinks by [`LmConfig::lambda_down`]; otherwise λ grows
//! by [`LmConfig::lambda_up`] and the step is retried with the same `JᵀJ` (up to
//! [`LmConfig::max_retries`] times). The measured comparison with the `levenberg-marquardt`
//! crate (QR per iteration) is in `docs/stages/bias-fit.md`.

use crate::FitError;
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
        if !(self.cost_tol.is_finite() && (0.0..1.0).contains(&self.cost_tol)) {
            return bad("cost_tol", "must lie in [0, 1)");
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
    /// An accepted step lowered the cost by less than [`LmConfig::cost_tol`].
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

    let mut jac = Mat::zeros(nr, np);
    let mut trial = vec![0.0; np];
    let mut r_trial = vec![0.0; nr];
    let mut lambda = cfg.lambda0;
    let mut history = Vec::new();
    for iteration in 1..=cfg.max_iters {
        jac.as_mut_slice().fill(0.0);
        problem.jacobian(&p, &mut jac);
        let normal = normal_matrix(la, &jac);
        let grad: Vec<f64> = jac
            .as_slice()
            .par_chunks(nr.max(1))
            .map(|c| dot(c, &r))
            .collect();
        if grad.iter().all(|&v| v == 0.0) {
            return Ok(report(
                p,
                cost,
                misfit,
                iteration,
                LmStop::Stationary,
                history,
            ));
        }
        let neg_grad = Mat::from_col_major(np, 1, grad.iter().map(|v| -v).collect());
        let diag: Vec<f64> = (0..np).map(|k| normal[(k, k)]).collect();
        let floor = 1e-9 * diag.iter().sum::<f64>() / np as f64;

        let mut accepted = None;
        for retries in 0..=cfg.max_retries {
            let mut damped = normal.clone();
            for (k, dk) in diag.iter().enumerate() {
                damped[(k, k)] += lambda * (dk + floor);
            }
            let step = match la.solve_spd(&damped, &neg_grad) {
                Ok(step) => step,
                Err(LinalgError::NotPositiveDefinite { .. }) => {
                    lambda *= cfg.lambda_up;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            trial
                .iter_mut()
                .zip(&p)
                .zip(step.as_slice())
                .for_each(|((t, pk), s)| *t = pk + s);
            problem.residuals(&trial, &mut r_trial);
            let trial_cost = 0.5 * dot(&r_trial, &r_trial);
            if trial_cost.is_finite() && trial_cost < cost {
                accepted = Some((retries, trial_cost));
                break;
            }
            lambda *= cfg.lambda_up;
        }
        let Some((retries, new_cost)) = accepted else {
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
        if decrease < cfg.cost_tol {
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
