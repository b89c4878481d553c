//! The paper's step 5 (spec §6): the second layer B(θ), the shifts θ, τ, and f̂, from the
//! first-layer weights Â and the entangled weights v̂_l.
//!
//! Since `v_l ∝ A G₀ b_l` with `G₀ = diag(g'(θ_i))`, `b_l ∝ G₀(θ)⁻¹ Â⁺ v̂_l`: B is a function
//! of the unknown first-layer shifts. Its columns are normalised, and the sign of each v̂_l
//! (not a symmetry of f: the output is a plain sum) is read off the gradient at the origin,
//! `∇f(0) = Σ_l h'(z_l(0)) ‖A G₀ b_l‖ · v_l` with positive coefficients: the least-squares
//! coefficients κ of ∇f(0) in the v̂_l have the signs that make v̂_l = +v_l (one
//! finite-difference gradient, d + 1 queries). Then θ and τ are fitted to fresh queries by
//! gradient descent on `½N⁻¹ Σ_k (f̂_{θ,τ}(x_k) − f(x_k))²`, where the gradient includes the
//! dependence of B on θ:
//! `∂b_l/∂θ_i = −(g''/g')(θ_i) · b_il · (e_i − b_il b_l)`.
//!
//! **\[design\]** The paper does not fix the step rule of its gradient iteration; we adapt the
//! step (×1.2 after a decrease, ×0.5 and retry after an increase), start at θ = τ = 0, and
//! draw the fit points from N(0, s²I) with s the activation's width (spec §6). A
//! Levenberg–Marquardt solve of the same (θ, τ) problem is available as
//! [`ShiftSolver::LevenbergMarquardt`] (ours, not the paper's).

use crate::FitError;
use crate::error::{check_finite, check_size};
use crate::lm::{LeastSquares, LmConfig, levenberg_marquardt};
use crate::student::{FitData, FreeBlocks, StudentModel, StudentProblem};
use nnid_linalg::{Linalg, Mat, dot, normalize};
use nnid_nn_model::{Activation, Network, Oracle};

/// How the shifts θ, τ are fitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftSolver {
    /// The paper's gradient descent with an adaptive step (default).
    GradientDescent,
    /// Levenberg–Marquardt on the same (θ, τ) residuals (ours).
    LevenbergMarquardt,
}

/// Settings of [`paper_fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct PaperFitConfig {
    /// Fresh fit queries N. `None` (default): `max(200, 20·(m0 + m1))`.
    pub num_points: Option<usize>,
    /// Standard deviation s of the fit points x ~ N(0, s²I). `None` (default): the width of
    /// g (1 for tanh, 2 for the logistic sigmoid).
    pub scale: Option<f64>,
    /// The solver of the shifts.
    pub solver: ShiftSolver,
    /// Most gradient (or LM) iterations. Default 5000.
    pub max_iters: usize,
    /// Initial step of the gradient descent. Default 1.
    pub step0: f64,
    /// Stop when the relative fit error `‖f̂ − y‖/‖y‖` falls to this. Default 10⁻¹².
    pub rel_tol: f64,
    /// Stop when the gradient norm falls to this. Default 10⁻¹³.
    pub grad_tol: f64,
    /// Step of the forward-difference gradient at 0 used for the signs. Default 10⁻⁵.
    pub fd_step: f64,
    /// Seed of the fit points.
    pub seed: u64,
}

impl Default for PaperFitConfig {
    fn default() -> Self {
        Self {
            num_points: None,
            scale: None,
            solver: ShiftSolver::GradientDescent,
            max_iters: 5000,
            step0: 1.0,
            rel_tol: 1e-12,
            grad_tol: 1e-13,
            fd_step: 1e-5,
            seed: 0,
        }
    }
}

impl PaperFitConfig {
    fn validate(&self) -> Result<(), FitError> {
        let positive = |field: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(FitError::InvalidConfig {
                    field,
                    reason: format!("must be positive and finite, got {v}"),
                })
            }
        };
        positive("step0", self.step0)?;
        positive("fd_step", self.fd_step)?;
        if let Some(s) = self.scale {
            positive("scale", s)?;
        }
        if self.num_points == Some(0) {
            return Err(FitError::InvalidConfig {
                field: "num_points",
                reason: "must be at least 1".into(),
            });
        }
        if !(self.rel_tol.is_finite() && self.rel_tol >= 0.0) {
            return Err(FitError::InvalidConfig {
                field: "rel_tol",
                reason: "must be non-negative and finite".into(),
            });
        }
        if !(self.grad_tol.is_finite() && self.grad_tol >= 0.0) {
            return Err(FitError::InvalidConfig {
                field: "grad_tol",
                reason: "must be non-negative and finite".into(),
            });
        }
        Ok(())
    }
}

/// The outcome of [`paper_fit`].
#[derive(Clone, Debug)]
pub struct PaperFitReport {
    /// f̂ = (Â, B(θ̂), θ̂, τ̂).
    pub network: Network,
    /// The sign applied to each v̂_l (+1 or −1).
    pub signs: Vec<f64>,
    /// The coefficients κ of ∇f(0) in the given v̂_l (before the signs); a small |κ_l|
    /// relative to the others means the sign of b_l was decided on weak evidence.
    pub kappa: Vec<f64>,
    /// Iterations of the shift solver.
    pub iterations: usize,
    /// Final relative error `‖f̂ − y‖/‖y‖` on the fit queries.
    pub fit_error: f64,
    /// Oracle queries made by this step (gradient at 0 plus fit points).
    pub queries: u64,
    /// The fit data (reusable, for instance by a refinement).
    pub data: FitData,
}

/// The (θ, τ) least-squares problem of the paper's step 5: residuals `f̂_{θ,τ}(x_k) − y_k`
/// with `B = B(θ)`, columns `b_l = G₀(θ)⁻¹ w_l / ‖G₀(θ)⁻¹ w_l‖`, `w_l = s_l Â⁺ v̂_l`.
///
/// Parameters: `[θ (m0) | τ (m1)]`.
#[derive(Clone, Debug)]
pub struct ShiftProblem<'a> {
    inner: StudentProblem<'a>,
    w: Mat,
}

impl<'a> ShiftProblem<'a> {
    /// The problem for first layer `a_hat` (d×m0), unnormalised second-layer directions `w`
    /// (m0×m1, column l ∝ G₀ b_l), activations g, h, on `data`.
    ///
    /// # Errors
    /// Shape and finiteness errors of the inputs.
    pub fn new(
        a_hat: Mat,
        w: Mat,
        g: Activation,
        h: Activation,
        data: &'a FitData,
    ) -> Result<Self, FitError> {
        let (m0, m1) = w.shape();
        check_size(
            "shift problem: rows of w (= columns of Â)",
            a_hat.ncols(),
            m0,
        )?;
        check_finite("shift problem: w", w.as_slice())?;
        let template = StudentModel {
            a: a_hat,
            theta: vec![0.0; m0],
            b: Mat::zeros(m0, m1),
            tau: vec![0.0; m1],
            c: vec![1.0; m1],
            g,
            h,
        };
        let inner = StudentProblem::new(template, data, FreeBlocks::SECOND_LAYER)?
            .with_penalty_weight(0.0)?;
        Ok(Self { inner, w })
    }

    /// `B(θ)`: column l is `G₀(θ)⁻¹ w_l` normalised.
    pub fn b_of(&self, theta: &[f64]) -> Mat {
        let g = self.inner.template().g;
        let mut b = self.w.clone();
        for l in 0..b.ncols() {
            let col = b.col_mut(l);
            col.iter_mut().zip(theta).for_each(|(v, &t)| *v /= g.d1(t));
            normalize(col);
        }
        b
    }

    /// The student at parameters `[θ | τ]`.
    pub fn model_at(&self, p: &[f64]) -> StudentModel {
        let m0 = self.w.nrows();
        let mut model = self.inner.template().clone();
        model.theta.copy_from_slice(&p[..m0]);
        model.tau.copy_from_slice(&p[m0..]);
        model.b = self.b_of(&model.theta);
        model
    }
}

impl LeastSquares for ShiftProblem<'_> {
    fn num_params(&self) -> usize {
        self.w.nrows() + self.w.ncols()
    }

    fn num_residuals(&self) -> usize {
        self.inner.num_residuals()
    }

    fn residuals(&self, p: &[f64], r: &mut [f64]) {
        let model = self.model_at(p);
        self.inner.residuals(&self.inner.free_params(&model), r);
    }

    fn jacobian(&self, p: &[f64], j: &mut Mat) {
        let (m0, m1) = self.w.shape();
        let model = self.model_at(p);
        let n = self.inner.num_residuals();
        // Columns of the inner Jacobian: θ (m0), B column-major (m0·m1), τ (m1).
        let mut inner = Mat::zeros(n, self.inner.num_params());
        self.inner
            .jacobian(&self.inner.free_params(&model), &mut inner);
        let jb = |i: usize, l: usize| inner.col(m0 + l * m0 + i);
        let g = model.g;
        for i in 0..m0 {
            j.col_mut(i).copy_from_slice(inner.col(i));
        }
        for l in 0..m1 {
            let bl = model.b.col(l);
            // s = Σ_k b_kl ∂r/∂B_kl
            let mut s = vec![0.0; n];
            for (k, &bk) in bl.iter().enumerate() {
                s.iter_mut().zip(jb(k, l)).for_each(|(sv, v)| *sv += bk * v);
            }
            for (i, &bil) in bl.iter().enumerate() {
                let [_, d1, d2, _] = g.derivatives(model.theta[i]);
                let coeff = -(d2 / d1) * bil;
                let col = j.col_mut(i);
                col.iter_mut()
                    .zip(jb(i, l))
                    .zip(&s)
                    .for_each(|((c, v), sv)| *c += coeff * (v - bil * sv));
            }
            j.col_mut(m0 + l)
                .copy_from_slice(inner.col(m0 + m0 * m1 + l));
        }
    }

    fn data_misfit(&self, r: &[f64]) -> f64 {
        self.inner.data_misfit(r)
    }
}

/// Step 5 behind a trait, so that a pipeline can swap it: from Â (d×m0) and V̂ (d×m1) and
/// fresh queries of the oracle, a network f̂.
pub trait ParamFit: Send + Sync {
    /// A short name for reports.
    fn name(&self) -> &'static str;

    /// Fits B, θ, τ given Â and V̂; `seed` drives the fresh query points.
    ///
    /// # Errors
    /// As [`paper_fit`].
    #[allow(clippy::too_many_arguments)]
    fn fit(
        &self,
        la: Linalg<'_>,
        oracle: &dyn Oracle,
        a_hat: &Mat,
        v_hat: &Mat,
        g: Activation,
        h: Activation,
        seed: u64,
    ) -> Result<PaperFitReport, FitError>;
}

/// The paper's step 5 ([`paper_fit`]) as a [`ParamFit`]; its `seed` replaces the config's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaperFit {
    /// The settings (the seed is taken from [`ParamFit::fit`]).
    pub config: PaperFitConfig,
}

impl ParamFit for PaperFit {
    fn name(&self) -> &'static str {
        match self.config.solver {
            ShiftSolver::GradientDescent => "paper: B(θ) from Â⁺v̂, θ and τ by gradient descent",
            ShiftSolver::LevenbergMarquardt => {
                "paper: B(θ) from Â⁺v̂, θ and τ by Levenberg–Marquardt"
            }
        }
    }

    fn fit(
        &self,
        la: Linalg<'_>,
        oracle: &dyn Oracle,
        a_hat: &Mat,
        v_hat: &Mat,
        g: Activation,
        h: Activation,
        seed: u64,
    ) -> Result<PaperFitReport, FitError> {
        let cfg = PaperFitConfig {
            seed,
            ..self.config.clone()
        };
        paper_fit(la, oracle, a_hat, v_hat, g, h, &cfg)
    }
}

/// The paper's step 5 (module docs): signs from the gradient at 0, B(θ), and θ, τ fitted to
/// fresh queries of `oracle`. `a_hat` is d×m0 (columns â_i), `v_hat` is d×m1 (columns v̂_l,
/// any signs).
///
/// # Errors
/// Shape or finiteness errors of the inputs, a bad configuration, a rank-deficient Â or V̂
/// ([`FitError::Linalg`]), and oracle failures.
#[allow(clippy::too_many_arguments)]
pub fn paper_fit(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    a_hat: &Mat,
    v_hat: &Mat,
    g: Activation,
    h: Activation,
    cfg: &PaperFitConfig,
) -> Result<PaperFitReport, FitError> {
    cfg.validate()?;
    let (d, m0) = a_hat.shape();
    let m1 = v_hat.ncols();
    check_size("paper_fit: dimension of the oracle", d, oracle.input_dim())?;
    check_size("paper_fit: rows of V̂ (= d)", d, v_hat.nrows())?;
    if m0 == 0 || m1 == 0 || m0 > d || m1 > d {
        return Err(FitError::Shape {
            what: "paper_fit: need 1 ≤ m0 ≤ d and 1 ≤ m1 ≤ d (m0 shown)",
            expected: d,
            got: m0,
        });
    }
    check_finite("paper_fit: Â", a_hat.as_slice())?;
    check_finite("paper_fit: V̂", v_hat.as_slice())?;
    let start_queries = oracle.queries();

    // Signs: ∇f(0) by forward differences, one batch of d + 1 points.
    let eps = cfg.fd_step;
    let stencil = Mat::from_fn(d, d + 1, |i, k| if k == i + 1 { eps } else { 0.0 });
    let f = oracle.query(&stencil)?;
    let grad: Vec<f64> = (0..d).map(|i| (f[i + 1] - f[0]) / eps).collect();
    let kappa = la
        .lstsq(v_hat, &Mat::from_col_major(d, 1, grad))?
        .into_vec();
    let signs: Vec<f64> = kappa
        .iter()
        .map(|&k| if k < 0.0 { -1.0 } else { 1.0 })
        .collect();

    // w_l = s_l Â⁺ v̂_l.
    let mut w = la.lstsq(a_hat, v_hat)?;
    for (l, s) in signs.iter().enumerate() {
        w.col_mut(l).iter_mut().for_each(|v| *v *= s);
    }

    // Fresh fit queries x ~ N(0, s²I).
    let n = cfg.num_points.unwrap_or_else(|| (20 * (m0 + m1)).max(200));
    let scale = cfg.scale.unwrap_or_else(|| g.width());
    let points = crate::route_g::gaussian_points(d, n, scale, cfg.seed);
    let values = oracle.query(&points)?;
    let data = FitData::new(points, values)?;

    let problem = ShiftProblem::new(a_hat.clone(), w, g, h, &data)?;
    let p0 = vec![0.0; m0 + m1];
    let (p, iterations) = match cfg.solver {
        ShiftSolver::GradientDescent => gradient_descent(&problem, p0, cfg),
        ShiftSolver::LevenbergMarquardt => {
            let lm = LmConfig {
                max_iters: cfg.max_iters,
                rel_tol: cfg.rel_tol,
                ..LmConfig::default()
            };
            let rep = levenberg_marquardt(la, &problem, p0, &lm)?;
            (rep.params, rep.iterations)
        }
    };
    let model = problem.model_at(&p);
    let network = model.to_network(0.0)?;
    let fit_error = data.relative_misfit(&network.values(data.points()));
    Ok(PaperFitReport {
        network,
        signs,
        kappa,
        iterations,
        fit_error,
        queries: oracle.queries() - start_queries,
        data,
    })
}

/// Gradient descent on `½‖r‖²/N` with the adaptive step of the module docs.
fn gradient_descent(
    problem: &ShiftProblem<'_>,
    mut p: Vec<f64>,
    cfg: &PaperFitConfig,
) -> (Vec<f64>, usize) {
    let objective = ShiftObjective::new(problem);
    let np = problem.num_params();
    let mut at = objective.evaluate(&p);
    let mut step = cfg.step0;
    let mut trial = vec![0.0; np];
    for it in 1..=cfg.max_iters {
        if problem.data_misfit(&at.r) <= cfg.rel_tol {
            return (p, it - 1);
        }
        let grad = objective.gradient(&p, &at);
        if dot(&grad, &grad).sqrt() <= cfg.grad_tol {
            return (p, it);
        }
        // Shrink the step until the loss decreases (at most 60 halvings).
        let mut accepted = None;
        for _ in 0..60 {
            trial
                .iter_mut()
                .zip(&p)
                .zip(&grad)
                .for_each(|((t, pk), gk)| *t = pk - step * gk);
            let next = objective.evaluate(&trial);
            if next.loss.is_finite() && next.loss < at.loss {
                accepted = Some(next);
                break;
            }
            step *= 0.5;
        }
        let Some(next) = accepted else {
            return (p, it);
        };
        std::mem::swap(&mut p, &mut trial);
        at = next;
        step *= 1.2;
    }
    (p, cfg.max_iters)
}

/// The paper's (θ, τ) objective `½‖r‖²/N` evaluated point by point, with the first layer's
/// inputs u_k = Âᵀx_k computed once (Â is fixed) and the gradient by the chain rule from
/// the quantities of the same pass: one activation evaluation per neuron and point, and no
/// Jacobian (the gradient descent needs only Jᵀr; [`ShiftProblem::jacobian`] stays for the
/// LM solver). Equal to `Jᵀr/N` of that Jacobian to rounding (tested).
struct ShiftObjective<'p> {
    problem: &'p ShiftProblem<'p>,
    /// u_k = Âᵀx_k, m0×N.
    u: Mat,
}

/// One evaluation: residuals, loss and what the gradient needs.
struct ShiftEvaluation {
    r: Vec<f64>,
    loss: f64,
    /// B(θ), m0×m1.
    b: Mat,
    /// g(y_k) and g'(y_k), m0×N.
    phi: Mat,
    dphi: Mat,
    /// h'(z_k), m1×N.
    dh: Mat,
}

impl<'p> ShiftObjective<'p> {
    fn new(problem: &'p ShiftProblem<'p>) -> Self {
        let template = problem.inner.template();
        let data = problem.inner.data();
        let (m0, n) = (template.a.ncols(), data.len());
        let u = Mat::from_fn(m0, n, |i, k| dot(template.a.col(i), data.points().col(k)));
        Self { problem, u }
    }

    fn evaluate(&self, p: &[f64]) -> ShiftEvaluation {
        let t = self.problem.inner.template();
        let (m0, m1) = self.problem.w.shape();
        let (theta, tau) = p.split_at(m0);
        let b = self.problem.b_of(theta);
        let values = self.problem.inner.data().values();
        let n = values.len();
        let (mut phi, mut dphi) = (Mat::zeros(m0, n), Mat::zeros(m0, n));
        let mut dh = Mat::zeros(m1, n);
        let mut r = vec![0.0; n];
        // Point by point (serial: with N ≈ 20(m0 + m1) points a parallel pass costs more in
        // wake-ups than it saves: measured 3.5 times slower at (50, 30, 15) with another job on
        // the 2 cores).
        for k in 0..n {
            let (phi_k, dphi_k) = (phi.col_mut(k), dphi.col_mut(k));
            for i in 0..m0 {
                let [v, d1, ..] = t.g.derivatives(self.u[(i, k)] + theta[i]);
                (phi_k[i], dphi_k[i]) = (v, d1);
            }
            let mut f = 0.0;
            for l in 0..m1 {
                let z = tau[l] + dot(b.col(l), phi.col(k));
                let [v, d1, ..] = t.h.derivatives(z);
                f += v;
                dh[(l, k)] = d1;
            }
            r[k] = f - values[k];
        }
        let loss = 0.5 * dot(&r, &r) / n as f64;
        ShiftEvaluation {
            r,
            loss,
            b,
            phi,
            dphi,
            dh,
        }
    }

    /// `Jᵀr/N` at `p`, where `at` is the evaluation at `p`: with s_kl = r_k h'(z_kl),
    /// ∂/∂τ_l = Σ_k s_kl, ∂/∂θ_i (B fixed) = Σ_k Σ_l s_kl B_il g'(y_ki), and through
    /// B(θ): with G_il = Σ_k s_kl g(y_ki) (the gradient in B), the column-normalisation chain
    /// `∂b_l/∂θ_i = −(g''/g')(θ_i)·b_il·(e_i − b_il b_l)` adds
    /// `Σ_l −(g''/g')(θ_i)·b_il·(G_il − b_il·b_lᵀG_l)`.
    fn gradient(&self, p: &[f64], at: &ShiftEvaluation) -> Vec<f64> {
        let g = self.problem.inner.template().g;
        let (m0, m1) = self.problem.w.shape();
        let n = at.r.len();
        let mut grad = vec![0.0; m0 + m1];
        let mut gb = Mat::zeros(m0, m1);
        for k in 0..n {
            for l in 0..m1 {
                let s = at.r[k] * at.dh[(l, k)];
                grad[m0 + l] += s;
                let (bl, col) = (at.b.col(l), gb.col_mut(l));
                for i in 0..m0 {
                    col[i] += s * at.phi[(i, k)];
                    grad[i] += s * bl[i] * at.dphi[(i, k)];
                }
            }
        }
        for l in 0..m1 {
            let (bl, gl) = (at.b.col(l), gb.col(l));
            let proj = dot(bl, gl);
            for i in 0..m0 {
                let [_, d1, d2, _] = g.derivatives(p[i]);
                grad[i] += -(d2 / d1) * bl[i] * (gl[i] - bl[i] * proj);
            }
        }
        grad.iter_mut().for_each(|v| *v /= n as f64);
        grad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_nn_model::teacher::TeacherConfig;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// The chain-rule gradient of the descent equals `Jᵀr/N` of the analytic Jacobian at
        /// any (θ, τ): the same derivatives summed in another order, so they agree to a few
        /// ulps of the largest term (N·max|J_kj r_k|/N ≲ 10 here): 1e-12 absolute.
        #[test]
        fn the_descent_gradient_is_j_transpose_r(seed in 0u64..1000, sigmoid in any::<bool>(), shift in -0.5f64..0.5) {
            let act = if sigmoid { Activation::Sigmoid } else { Activation::Tanh };
            let net = TeacherConfig::new(7, 5, 2).activation(act).seed(seed).generate().unwrap();
            let points = crate::route_g::gaussian_points(7, 40, act.width(), seed);
            let data = FitData::new(points.clone(), net.values(&points)).unwrap();
            let w = net.b().clone();
            let problem = ShiftProblem::new(net.a().clone(), w, act, act, &data).unwrap();
            let p: Vec<f64> = (0..7).map(|j| shift * (j as f64 - 3.0) / 3.0).collect();
            let objective = ShiftObjective::new(&problem);
            let at = objective.evaluate(&p);
            let fast = objective.gradient(&p, &at);
            let mut r = vec![0.0; problem.num_residuals()];
            problem.residuals(&p, &mut r);
            prop_assert!(at.r.iter().zip(&r).all(|(a, b)| (a - b).abs() < 1e-13));
            let mut j = Mat::zeros(problem.num_residuals(), problem.num_params());
            problem.jacobian(&p, &mut j);
            for (c, col) in j.columns().enumerate() {
                let want = dot(col, &r) / 40.0;
                prop_assert!((fast[c] - want).abs() < 1e-12, "param {}: {} vs {}", c, fast[c], want);
            }
        }
    }
}
