//! θ from the rank condition (route S step 3.2).
//!
//! With u = Âᵀx, y = u + θ and z = Bᵀg(y) + τ, the chain rule gives
//! `∇_u f = G(y) · B h'(z)`, `G = diag(g'(y))`. So the vectors
//! `n_k(θ) = ∇_u f(x_k) / g'(u_k + θ)` (entrywise) lie in the m1-dimensional span of the b_l
//! when θ is the true shift, and for generic data only then. The fit minimises, over the
//! m0 unknowns θ, the distance of the normalised `n̂_k = n_k/‖∇_u f(x_k)‖` to their own best
//! m1-dimensional span (top-m1 left singular vectors V of `[n̂_1 … n̂_K]`), weighted back by g':
//! residual `r_k = G_k (I − VVᵀ) n̂_k`. Unweighted, θ_i → ±∞ would be a degenerate minimiser
//! (n_k would grow like 1/g'); the box |θ_i| ≤ bound (by the substitution θ = bound·sin s)
//! guards the same. The landscape has local minima (the prototype's logistic teachers from
//! θ = 0), hence several starts on the same gradients, which costs no queries.

use crate::FitError;
use crate::lm::{LeastSquares, LmConfig, levenberg_marquardt};
use nnid_linalg::{Linalg, Mat, axpy, dot, norm2};
use nnid_nn_model::Activation;
use rand::Rng;
use rayon::prelude::*;

/// The gradient data of the rank fit.
#[derive(Clone, Debug)]
pub(crate) struct RankData {
    /// u_k of the usable points (m0×K).
    u: Mat,
    /// ∇_u f at the usable points divided by its norm (m0×K).
    grad_unit: Mat,
    g: Activation,
    m1: usize,
}

impl RankData {
    /// Keeps the points whose u-gradient is not negligible (‖∇_u f‖ > 1e-10·max): a flat point
    /// carries no direction.
    pub(crate) fn new(u: &Mat, grad: &Mat, g: Activation, m1: usize) -> Self {
        let norms: Vec<f64> = grad.columns().map(norm2).collect();
        let max = norms.iter().fold(0.0_f64, |m, &v| m.max(v));
        let keep: Vec<usize> = (0..norms.len())
            .filter(|&k| norms[k] > 1e-10 * max)
            .collect();
        let u = u.select_columns(&keep);
        let mut grad_unit = grad.select_columns(&keep);
        for (c, &k) in keep.iter().enumerate() {
            grad_unit.col_mut(c).iter_mut().for_each(|v| *v /= norms[k]);
        }
        Self {
            u,
            grad_unit,
            g,
            m1,
        }
    }

    /// Number of usable points K.
    pub(crate) fn points(&self) -> usize {
        self.u.ncols()
    }

    /// The vectors n̂_k(θ) as columns (m0×K) and g'(u_k + θ) (m0×K).
    fn normalised(&self, theta: &[f64]) -> (Mat, Mat) {
        let (m0, k) = self.u.shape();
        let gp = Mat::from_fn(m0, k, |i, c| self.g.d1(self.u[(i, c)] + theta[i]));
        let n = Mat::from_fn(m0, k, |i, c| self.grad_unit[(i, c)] / gp[(i, c)]);
        (n, gp)
    }

    /// The top-m1 left singular vectors of `[n̂_k(θ)]` and all singular values.
    pub(crate) fn span(&self, la: Linalg<'_>, theta: &[f64]) -> Result<(Mat, Vec<f64>), FitError> {
        let (n, _) = self.normalised(theta);
        let svd = la.svd(&n)?;
        Ok((svd.u.leading_columns(self.m1), svd.s))
    }

    /// The weighted residuals `G_k (I − VVᵀ) n̂_k`, stacked point by point (m0·K entries);
    /// NaN everywhere when the SVD fails (the LM then rejects the step).
    pub(crate) fn residuals(&self, la: Linalg<'_>, theta: &[f64], r: &mut [f64]) {
        let (n, gp) = self.normalised(theta);
        let Ok(svd) = la.svd(&n) else {
            r.fill(f64::NAN);
            return;
        };
        let (m0, k) = n.shape();
        for c in 0..k {
            let col = n.col(c);
            let mut e = col.to_vec();
            for l in 0..self.m1 {
                let v = svd.u.col(l);
                let coef = dot(v, col);
                e.iter_mut().zip(v).for_each(|(ei, vi)| *ei -= coef * vi);
            }
            for i in 0..m0 {
                r[c * m0 + i] = gp[(i, c)] * e[i];
            }
        }
    }

    /// The Jacobian `∂r/∂θ` (m0·K × m0) of [`RankData::residuals`], analytic.
    ///
    /// With N̂ = USWᵀ (thin SVD, p = min(m0, K) columns), P = U₁U₁ᵀ the projector on the
    /// top m1 left singular vectors and E = (I − P)N̂: r_{ik} = g'(y_ik)·E_ik. Moving θ_j
    /// changes only row j of N̂, by dN̂ = e_j vᵀ with v_k = −(g''/g')(y_jk)·n̂_jk, and
    /// `dP = ZU₁ᵀ + U₁Zᵀ` with Z = U₂C + (I − UUᵀ)e_j·(W₁ᵀv ⊘ σ₁)ᵀ,
    /// `C_qi = (σ_i·U₂[j,q]·(W₁ᵀv)_i + σ_q·(W₂ᵀv)_q·U₁[j,i]) / (σ_i² − σ_q²)` (first-order
    /// perturbation of singular vectors). Then `dE = (I − P)e_j vᵀ − dP·N̂` and
    /// `dr_{ik} = g'(y_ik)·dE_ik + δ_ij·g''(y_jk)·E_jk`. Returns `false` (and leaves `jac`
    /// unspecified) when the SVD fails.
    pub(crate) fn jacobian(&self, la: Linalg<'_>, theta: &[f64], jac: &mut Mat) -> bool {
        let (n, gp) = self.normalised(theta);
        let Ok(svd) = la.svd(&n) else { return false };
        let (m0, k) = n.shape();
        let m1 = self.m1;
        let p = svd.s.len();
        let gpp = Mat::from_fn(m0, k, |i, c| self.g.d2(self.u[(i, c)] + theta[i]));
        let (u, w, sig) = (&svd.u, &svd.v, &svd.s);
        // U₁ᵀN̂ (m1×K) and E = N̂ − U₁(U₁ᵀN̂).
        let u1n = Mat::from_fn(m1, k, |a, c| dot(u.col(a), n.col(c)));
        let e = Mat::from_fn(m0, k, |i, c| {
            n[(i, c)] - (0..m1).map(|a| u[(i, a)] * u1n[(a, c)]).sum::<f64>()
        });
        jac.as_mut_slice()
            .par_chunks_mut(m0 * k)
            .enumerate()
            .for_each(|(j, col)| {
                let v: Vec<f64> = (0..k)
                    .map(|c| -gpp[(j, c)] / gp[(j, c)] * n[(j, c)])
                    .collect();
                let wv: Vec<f64> = (0..p).map(|a| dot(w.col(a), &v)).collect();
                let mut z = Mat::zeros(m0, m1);
                for i in 0..m1 {
                    let zi = z.col_mut(i);
                    // (I − UUᵀ)e_j · (W₁ᵀv)_i/σ_i: the part outside the range of N̂.
                    let coef = if sig[i] > 0.0 { wv[i] / sig[i] } else { 0.0 };
                    zi[j] += coef;
                    for a in 0..p {
                        let ua = u[(j, a)] * coef;
                        zi.iter_mut()
                            .zip(u.col(a))
                            .for_each(|(zr, ur)| *zr -= ur * ua);
                    }
                    for q in m1..p {
                        let den = sig[i] * sig[i] - sig[q] * sig[q];
                        if den.abs() <= f64::MIN_POSITIVE {
                            continue;
                        }
                        let cq = (sig[i] * u[(j, q)] * wv[i] + sig[q] * wv[q] * u[(j, i)]) / den;
                        zi.iter_mut()
                            .zip(u.col(q))
                            .for_each(|(zr, ur)| *zr += ur * cq);
                    }
                }
                let ztn = Mat::from_fn(m1, k, |a, c| dot(z.col(a), n.col(c)));
                // (I − P)e_j.
                let pe: Vec<f64> = (0..m0)
                    .map(|r| {
                        f64::from(u8::from(r == j))
                            - (0..m1).map(|a| u[(r, a)] * u[(j, a)]).sum::<f64>()
                    })
                    .collect();
                // dP·N̂ column by column: Σ_a Z[:, a]·(U₁ᵀN̂)[a, c] + U[:, a]·(ZᵀN̂)[a, c].
                let mut dpn = vec![0.0; m0];
                for c in 0..k {
                    dpn.fill(0.0);
                    for a in 0..m1 {
                        axpy(u1n[(a, c)], z.col(a), &mut dpn);
                        axpy(ztn[(a, c)], u.col(a), &mut dpn);
                    }
                    let out = &mut col[c * m0..(c + 1) * m0];
                    for (((o, g), p), q) in out.iter_mut().zip(gp.col(c)).zip(&pe).zip(&dpn) {
                        *o = g * (p * v[c] - q);
                    }
                    out[j] += gpp[(j, c)] * e[(j, c)];
                }
            });
        true
    }

    /// RMS of the residuals per point, `‖r‖/√K`: each point's gradient has unit norm, so
    /// this is a relative distance.
    pub(crate) fn misfit(&self, r: &[f64]) -> f64 {
        norm2(r) / (self.points().max(1) as f64).sqrt()
    }
}

/// The least-squares problem in s, θ = bound·sin(s).
struct RankProblem<'a> {
    la: Linalg<'a>,
    data: &'a RankData,
    bound: f64,
}

impl RankProblem<'_> {
    fn theta(&self, s: &[f64]) -> Vec<f64> {
        s.iter().map(|v| self.bound * v.sin()).collect()
    }
}

impl LeastSquares for RankProblem<'_> {
    fn num_params(&self) -> usize {
        self.data.u.nrows()
    }

    fn num_residuals(&self) -> usize {
        self.data.u.nrows() * self.data.points()
    }

    fn residuals(&self, s: &[f64], r: &mut [f64]) {
        self.data.residuals(self.la, &self.theta(s), r);
    }

    fn jacobian(&self, s: &[f64], j: &mut Mat) {
        if !self.data.jacobian(self.la, &self.theta(s), j) {
            j.as_mut_slice().fill(f64::NAN);
            return;
        }
        // Chain rule for θ = bound·sin(s).
        let nr = self.num_residuals();
        for (i, col) in j.as_mut_slice().chunks_mut(nr.max(1)).enumerate() {
            let ds = self.bound * s[i].cos();
            col.iter_mut().for_each(|v| *v *= ds);
        }
    }

    fn data_misfit(&self, r: &[f64]) -> f64 {
        self.data.misfit(r)
    }
}

/// Settings of the θ fit (a view of [`super::SecondLayerConfig`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThetaFitSettings {
    /// Number of starts (the hint or 0 first, then uniform draws).
    pub starts: usize,
    /// Random starts are uniform in [−start_range, start_range]^m0.
    pub start_range: f64,
    /// The box |θ_i| ≤ bound.
    pub bound: f64,
    /// A start whose misfit is below this ends the search.
    pub accept: f64,
    /// LM iterations per start.
    pub max_iters: usize,
    /// Escape scans per start.
    pub scan_rounds: usize,
}

/// The outcome of the θ fit.
#[derive(Clone, Debug)]
pub(crate) struct ThetaFit {
    /// The fitted θ.
    pub theta: Vec<f64>,
    /// Its misfit ([`RankData::misfit`]).
    pub misfit: f64,
    /// Starts run.
    pub starts: usize,
}

/// Grid points per coordinate of the escape scan (spacing bound/20; a grid 4× finer found
/// no more escapes on the logistic teachers tried).
const SCAN_POINTS: usize = 41;

/// Golden-section steps refining the best grid point (bracket shrinks by 0.618 each).
const GOLDEN_STEPS: usize = 20;

/// A scan must lower the misfit below this fraction of the current one to be taken.
const SCAN_GAIN: f64 = 0.95;

/// Escape from a local minimum in which a few coordinates of θ are stuck (the typical
/// failure, seen in the prototype's logistic teachers): for every coordinate i, the misfit
/// is minimised over θ_i alone (the others fixed) by a grid over [−bound, bound] and a
/// golden-section refinement (one SVD per evaluation, no queries); returns θ with the single
/// most rewarding replacement, if it lowers the misfit below `SCAN_GAIN` times `current`.
fn coordinate_scan(
    la: Linalg<'_>,
    data: &RankData,
    theta: &[f64],
    bound: f64,
    current: f64,
) -> Option<Vec<f64>> {
    let m0 = theta.len();
    let nr = m0 * data.points();
    let best: Vec<(f64, f64)> = (0..m0)
        .into_par_iter()
        .map(|i| {
            let mut t = theta.to_vec();
            let mut r = vec![0.0; nr];
            let mut eval = |v: f64| {
                t[i] = v;
                data.residuals(la, &t, &mut r);
                data.misfit(&r)
            };
            let h = 2.0 * bound / (SCAN_POINTS - 1) as f64;
            let grid: Vec<(f64, f64)> = (0..SCAN_POINTS)
                .map(|g| {
                    let v = -bound + g as f64 * h;
                    (eval(v), v)
                })
                .collect();
            let mut best = (f64::INFINITY, theta[i]);
            // Golden-section refinement around every local minimum of the grid: the
            // basins are narrow, so the best grid point need not be in the deepest one.
            for g in 0..SCAN_POINTS {
                let left = g == 0 || grid[g - 1].0 >= grid[g].0;
                let right = g + 1 == SCAN_POINTS || grid[g + 1].0 >= grid[g].0;
                if !(left && right) {
                    continue;
                }
                let (f, x) = golden_section(
                    &mut eval,
                    (grid[g].1 - h).max(-bound),
                    (grid[g].1 + h).min(bound),
                );
                for (f, x) in [grid[g], (f, x)] {
                    if f < best.0 {
                        best = (f, x);
                    }
                }
            }
            best
        })
        .collect();
    let (i, &(m, v)) = best
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.0.total_cmp(&b.1.0))?;
    (m < SCAN_GAIN * current).then(|| {
        let mut t = theta.to_vec();
        t[i] = v;
        t
    })
}

/// Minimum of a unimodal-looking `f` on [lo, hi] by golden-section search:
/// (value, argument).
fn golden_section(f: &mut impl FnMut(f64) -> f64, mut lo: f64, mut hi: f64) -> (f64, f64) {
    let phi = 0.5 * (5.0_f64.sqrt() - 1.0);
    let (mut x1, mut x2) = (hi - phi * (hi - lo), lo + phi * (hi - lo));
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..GOLDEN_STEPS {
        if f1 < f2 {
            hi = x2;
            (x2, f2) = (x1, f1);
            x1 = hi - phi * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            (x1, f1) = (x2, f2);
            x2 = lo + phi * (hi - lo);
            f2 = f(x2);
        }
    }
    if f1 < f2 { (f1, x1) } else { (f2, x2) }
}

/// Multi-start fit of θ; keeps the best start, stops early at `settings.accept`. A start
/// that ends above `accept` gets up to `settings.scan_rounds` escape scans
/// ([`coordinate_scan`]), each followed by a new LM run.
///
/// # Errors
/// [`FitError::Linalg`] or [`FitError::NonFiniteStart`] from the LM when every start fails;
/// a failing start is otherwise skipped.
pub(crate) fn fit_theta(
    la: Linalg<'_>,
    data: &RankData,
    hint: Option<&[f64]>,
    settings: &ThetaFitSettings,
    rng: &mut impl Rng,
) -> Result<ThetaFit, FitError> {
    let m0 = data.u.nrows();
    let problem = RankProblem {
        la,
        data,
        bound: settings.bound,
    };
    let lm = LmConfig::default()
        .with_max_iters(settings.max_iters)
        .with_rel_tol(1e-2 * settings.accept)
        .with_cost_tol(1e-10);
    let to_s = |theta: &[f64]| -> Vec<f64> {
        theta
            .iter()
            .map(|t| (t / settings.bound).clamp(-0.99, 0.99).asin())
            .collect()
    };
    let mut best: Option<ThetaFit> = None;
    let mut last_err = None;
    for start in 0..settings.starts.max(1) {
        let theta0: Vec<f64> = match (start, hint) {
            (0, Some(h)) => h.to_vec(),
            (0, None) => vec![0.0; m0],
            _ => (0..m0)
                .map(|_| rng.random_range(-settings.start_range..=settings.start_range))
                .collect(),
        };
        let mut run = levenberg_marquardt(la, &problem, to_s(&theta0), &lm)
            .map(|rep| (problem.theta(&rep.params), rep.misfit));
        for _ in 0..settings.scan_rounds {
            let Ok((theta, misfit)) = &run else { break };
            if *misfit < settings.accept {
                break;
            }
            let Some(t) = coordinate_scan(la, data, theta, settings.bound, *misfit) else {
                break;
            };
            match levenberg_marquardt(la, &problem, to_s(&t), &lm) {
                Ok(rep) if rep.misfit < *misfit => {
                    run = Ok((problem.theta(&rep.params), rep.misfit))
                }
                _ => break,
            }
        }
        match run {
            Ok((theta, misfit)) => {
                let fit = ThetaFit {
                    theta,
                    misfit,
                    starts: start + 1,
                };
                if best.as_ref().is_none_or(|b| fit.misfit < b.misfit) {
                    best = Some(fit);
                } else if let Some(b) = best.as_mut() {
                    b.starts = start + 1;
                }
            }
            Err(e) => last_err = Some(e),
        }
        if best.as_ref().is_some_and(|b| b.misfit < settings.accept) {
            break;
        }
    }
    match (best, last_err) {
        (Some(b), _) => Ok(b),
        (None, Some(e)) => Err(e),
        (None, None) => unreachable!("fit_theta: at least one start runs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::BackendKind;
    use nnid_nn_model::teacher::TeacherConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The analytic Jacobian agrees with central differences (step 1e-6: truncation
    /// ~1e-12·|∂³r| plus rounding ~1e-16·|r|/1e-6) away from the solution, for K > m0 and
    /// K < m0.
    #[test]
    fn analytic_jacobian_matches_central_differences() {
        let la = BackendKind::default_compiled()
            .expect("a backend")
            .linalg()
            .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for (m0, k) in [(6usize, 10usize), (8, 5)] {
            for act in Activation::ALL {
                let u = Mat::from_fn(m0, k, |_, _| rng.random_range(-1.0..1.0));
                let grad = Mat::from_fn(m0, k, |_, _| rng.random_range(-1.0..1.0));
                let data = RankData::new(&u, &grad, act, 3);
                let theta: Vec<f64> = (0..m0).map(|_| rng.random_range(-0.5..0.5)).collect();
                let nr = m0 * k;
                let mut jac = Mat::zeros(nr, m0);
                assert!(data.jacobian(la, &theta, &mut jac));
                let (mut rp, mut rm) = (vec![0.0; nr], vec![0.0; nr]);
                for j in 0..m0 {
                    let h = 1e-6;
                    let mut t = theta.clone();
                    t[j] += h;
                    data.residuals(la, &t, &mut rp);
                    t[j] -= 2.0 * h;
                    data.residuals(la, &t, &mut rm);
                    for r in 0..nr {
                        let fd = (rp[r] - rm[r]) / (2.0 * h);
                        let err = (fd - jac[(r, j)]).abs();
                        assert!(
                            err < 1e-7 * (1.0 + fd.abs()),
                            "{act} m0 = {m0}, K = {k}: ∂r_{r}/∂θ_{j}: {} vs {fd}",
                            jac[(r, j)]
                        );
                    }
                }
            }
        }
    }

    /// Exact u-gradients of a teacher: the residual vanishes at the true θ (to rounding) and
    /// is clearly positive elsewhere, and the fit finds the true θ.
    #[test]
    fn exact_gradients_give_the_true_theta() {
        let kinds: Vec<_> = BackendKind::compiled().collect();
        assert!(!kinds.is_empty(), "no backend compiled");
        for kind in kinds {
            let la = kind.linalg().unwrap();
            for act in Activation::ALL {
                let (d, m0, m1) = (10, 6, 3);
                let net = TeacherConfig::new(d, m0, m1)
                    .activation(act)
                    .seed(11)
                    .generate()
                    .unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(5);
                let k = m1 + 12;
                let x =
                    crate::second_layer::ugrad::gaussian_points(&mut rng, d, k, 0.7 * act.width());
                let u = Mat::from_fn(m0, k, |i, c| dot(net.a().col(i), x.col(c)));
                let grad = Mat::from_fn(m0, k, |i, c| {
                    let fw = net.forward(x.col(c));
                    fw.gy[i][1] * (0..m1).map(|l| fw.hz[l][1] * net.b()[(i, l)]).sum::<f64>()
                });
                let data = RankData::new(&u, &grad, act, m1);
                let mut r = vec![0.0; m0 * data.points()];
                data.residuals(la, net.theta(), &mut r);
                assert!(
                    data.misfit(&r) < 1e-13,
                    "{kind} {act}: misfit at θ* {:e}",
                    data.misfit(&r)
                );
                let off: Vec<f64> = net.theta().iter().map(|t| t + 0.1).collect();
                data.residuals(la, &off, &mut r);
                assert!(
                    data.misfit(&r) > 1e-4,
                    "{kind} {act}: misfit off θ* {:e}",
                    data.misfit(&r)
                );
                let settings = ThetaFitSettings {
                    starts: 12,
                    start_range: 1.0,
                    bound: 2.0 * act.width(),
                    accept: 1e-6,
                    max_iters: 100,
                    scan_rounds: 4,
                };
                let fit = fit_theta(la, &data, None, &settings, &mut rng).unwrap();
                let err = fit
                    .theta
                    .iter()
                    .zip(net.theta())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(
                    err < 1e-7,
                    "{kind} {act}: θ error {err:e}, misfit {:e}, starts {}",
                    fit.misfit,
                    fit.starts
                );
            }
        }
    }
}
