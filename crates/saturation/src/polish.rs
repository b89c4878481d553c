//! The ridge polish (notes §2.2 step 2): each â_i to rounding from long-step differences
//! across a designed ridge point.

use crate::probe::{Probe, Reflector};
use crate::{Discovery, PolishStencil, Result, SaturationConfig, SaturationError};
use nnid_linalg::{Linalg, Mat, Op, dot, norm2};
use nnid_nn_model::{Activation, Oracle};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Two polished columns with 1 − |cos| below this are the same neuron (angle 1.4e-5, far
/// above the polish's rounding error and far below any two distinct neurons discovery
/// accepts, |cos| ≤ dup_cos).
const SAME_NEURON_GAP: f64 = 1e-10;

/// Where the polish starts: rough unit directions, shifts, and optionally the crossing points
/// where discovery measured them (θ̂ is then recomputed there with the polished â).
#[derive(Clone, Copy, Debug)]
pub struct PolishStart<'a> {
    /// d×m0, column i = â_i (normalised by the polish).
    pub a: &'a Mat,
    /// θ̂ (length m0).
    pub theta: &'a [f64],
    /// d×m0 crossing points x*_i with y_i(x*_i) ≈ 0, if known.
    pub crossings: Option<&'a Mat>,
}

impl<'a> PolishStart<'a> {
    /// A start from directions and shifts alone.
    pub fn new(a: &'a Mat, theta: &'a [f64]) -> Self {
        Self {
            a,
            theta,
            crossings: None,
        }
    }
}

impl<'a> From<&'a Discovery> for PolishStart<'a> {
    fn from(d: &'a Discovery) -> Self {
        Self {
            a: &d.a,
            theta: &d.theta,
            crossings: Some(&d.crossings),
        }
    }
}

/// What the polish did to one neuron.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronPolish {
    /// ‖â_new − â_old‖ of each round. The first is about the start's error; a further round
    /// (only run when the first exceeds [`SaturationConfig::polish_repeat_above`]) shows the
    /// remaining error, which is third order in the previous one.
    pub corrections: Vec<f64>,
    /// |φ'|, the ridge slope at the last design point.
    pub slope: f64,
    /// ‖x‖ of the last design point.
    pub design_norm: f64,
    /// Design points tried in all rounds (more than the rounds when a ridge was too flat).
    pub design_tries: usize,
    /// Whether the last correction is at most [`SaturationConfig::polish_repeat_above`]
    /// (false only if [`SaturationConfig::polish_max_rounds`] ran out first).
    pub converged: bool,
}

/// The polished first layer.
#[derive(Clone, Debug)]
pub struct PolishReport {
    /// d×m0, column i = â_i polished (unit norm, the start's sign).
    pub a: Mat,
    /// θ̂ after the polish: `−â_i·x*_i` at the crossing point if the start had one, else
    /// `−â_i·x` at the last design point (where y_i was designed to be 0). Still rough: the
    /// exact θ comes with the second layer.
    pub theta: Vec<f64>,
    /// Per neuron, in column order.
    pub neurons: Vec<NeuronPolish>,
    /// Rounds run (the most any neuron needed).
    pub rounds: usize,
    /// Oracle queries spent.
    pub queries: u64,
    /// Largest ‖x‖ queried.
    pub farthest: f64,
}

impl PolishReport {
    /// Whether every neuron's last correction is at most
    /// [`SaturationConfig::polish_repeat_above`].
    pub fn converged(&self) -> bool {
        self.neurons.iter().all(|n| n.converged)
    }

    /// The largest last-round correction over the neurons: an upper estimate of the error
    /// left before the last round (the result is third order in it).
    pub fn max_last_correction(&self) -> f64 {
        self.neurons
            .iter()
            .filter_map(|n| n.corrections.last())
            .fold(0.0, |m: f64, &c| m.max(c))
    }
}

/// Polishes every â_i to rounding (notes §2.2 step 2).
///
/// For each neuron i a point x is designed with y_i = 0 and every other y_j = ±polish_level
/// (sign pattern with the smallest ‖x‖ among [`SaturationConfig::polish_patterns`] random
/// ones, then a greedy descent). There f is a ridge function F(a_iᵀx) up to e^{−2·18}, so
/// differences of f along an orthonormal basis V of â_i^⊥ (columns of a Householder
/// reflection, never formed as a matrix) with the long step L measure φ'·Vᵀa_i, and
/// `â_i ← normalise(â_i + V·c/φ')`. One oracle call per neuron for the long steps (2(d−1)
/// points with [`PolishStencil::Central`], d − 1 with [`PolishStencil::Forward`]) plus one
/// call for the slopes of all neurons; neurons run in parallel.
///
/// # Errors
/// [`SaturationError::InvalidInput`] for shapes, non-finite or zero columns, m0 > d;
/// [`SaturationError::InvalidConfig`]; [`SaturationError::RadiusTooSmall`] when a design point
/// lies beyond `max_radius`; [`SaturationError::FlatRidge`]; [`SaturationError::SameNeuron`];
/// oracle and linear-algebra errors.
pub fn ridge_polish<'a>(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    start: impl Into<PolishStart<'a>>,
    act: Activation,
    cfg: &SaturationConfig,
    seed: u64,
) -> Result<PolishReport> {
    cfg.validate()?;
    let start = start.into();
    let d = oracle.input_dim();
    let m = start.a.ncols();
    check_start(&start, d)?;
    let mut a = start.a.clone();
    for j in 0..m {
        nnid_linalg::normalize(a.col_mut(j));
    }
    let mut theta = start.theta.to_vec();
    let probe = Probe::new(oracle, cfg.max_radius);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let level = cfg.polish_level * act.width();
    let mut neurons: Vec<NeuronPolish> = (0..m)
        .map(|_| NeuronPolish {
            corrections: Vec::new(),
            slope: 0.0,
            design_norm: 0.0,
            design_tries: 0,
            converged: false,
        })
        .collect();
    let mut design_points: Vec<Vec<f64>> = vec![Vec::new(); m];
    let mut active: Vec<usize> = (0..m).collect();
    let mut rounds = 0;

    while !active.is_empty() && rounds < cfg.polish_max_rounds {
        rounds += 1;
        let designer = Designer::new(la, &a, &theta, level)?;
        let patterns = designer.patterns(la, &active, cfg, &mut rng);

        // Slopes: for each active neuron, design points in order until |φ'| is good; if none
        // is, the steepest one (rounding in c/φ' grows as 1/|φ'|).
        let mut chosen: Vec<Option<Ridge>> = vec![None; active.len()];
        let mut steepest: Vec<Option<Ridge>> = vec![None; active.len()];
        for attempt in 0..cfg.polish_tries {
            let todo: Vec<usize> = (0..active.len())
                .filter(|&k| chosen[k].is_none() && attempt < patterns[k].len())
                .collect();
            if todo.is_empty() {
                break;
            }
            let per = if cfg.polish_stencil == PolishStencil::Forward {
                3
            } else {
                2
            };
            let points: Vec<Vec<f64>> = todo
                .iter()
                .map(|&k| designer.point(active[k], &patterns[k][attempt]))
                .collect();
            let mut batch = Mat::zeros(d, todo.len() * per);
            for (c, (&k, x)) in todo.iter().zip(&points).enumerate() {
                let ai = a.col(active[k]);
                let steps: &[f64] = if per == 3 {
                    &[1.0, -1.0, 0.0]
                } else {
                    &[1.0, -1.0]
                };
                for (s, &sign) in steps.iter().enumerate() {
                    let col = batch.col_mut(c * per + s);
                    col.iter_mut()
                        .zip(x.iter().zip(ai))
                        .for_each(|(o, (xi, a))| *o = xi + sign * cfg.polish_h * a);
                }
            }
            let fv = probe.query(&batch, "ridge polish")?;
            for (c, &k) in todo.iter().enumerate() {
                let i = active[k];
                neurons[i].design_tries += 1;
                let (plus, minus) = (batch.col(c * per), batch.col(c * per + 1));
                let h2 = effective_step(a.col(i), plus, minus);
                let slope = (fv[c * per] - fv[c * per + 1]) / h2;
                let (f0, curvature) = if per == 3 {
                    let f0 = fv[c * per + 2];
                    let hh = 0.5 * h2;
                    (f0, (fv[c * per] + fv[c * per + 1] - 2.0 * f0) / (hh * hh))
                } else {
                    (0.5 * (fv[c * per] + fv[c * per + 1]), 0.0)
                };
                if !(slope.is_finite() && curvature.is_finite()) {
                    continue;
                }
                let ridge = Ridge {
                    x: points[c].clone(),
                    f0,
                    slope,
                    curvature,
                };
                if slope.abs() >= cfg.polish_good_slope {
                    chosen[k] = Some(ridge);
                } else if steepest[k]
                    .as_ref()
                    .is_none_or(|r| slope.abs() > r.slope.abs())
                {
                    steepest[k] = Some(ridge);
                }
            }
        }
        let mut ridges = Vec::with_capacity(active.len());
        for (k, (c, s)) in chosen.into_iter().zip(steepest).enumerate() {
            match c.or(s) {
                Some(r) if r.slope.abs() >= cfg.polish_min_slope => ridges.push(r),
                r => {
                    return Err(SaturationError::FlatRidge {
                        neuron: active[k],
                        best_slope: r.map_or(0.0, |r| r.slope.abs()),
                        tries: neurons[active[k]].design_tries,
                        min_slope: cfg.polish_min_slope,
                    });
                }
            }
        }

        // The long steps, one oracle call per neuron, neurons in parallel.
        let updates: Vec<Result<Vec<f64>>> = active
            .par_iter()
            .zip(&ridges)
            .map_init(Vec::new, |buffer, (&i, ridge)| {
                long_steps(&probe, a.col(i), ridge, cfg, buffer)
            })
            .collect();
        let mut next = Vec::new();
        for ((&i, ridge), new) in active.iter().zip(&ridges).zip(updates) {
            let new = new?;
            let correction = norm2(
                &new.iter()
                    .zip(a.col(i))
                    .map(|(x, y)| x - y)
                    .collect::<Vec<_>>(),
            );
            a.col_mut(i).copy_from_slice(&new);
            let n = &mut neurons[i];
            n.corrections.push(correction);
            n.slope = ridge.slope.abs();
            n.design_norm = norm2(&ridge.x);
            design_points[i] = ridge.x.clone();
            n.converged = correction <= cfg.polish_repeat_above;
            if !n.converged {
                next.push(i);
            }
        }
        // θ̂ for the next round's designs (and the report).
        for &i in &active {
            theta[i] = match start.crossings {
                Some(x) => -dot(a.col(i), x.col(i)),
                None => -dot(a.col(i), &design_points[i]),
            };
        }
        active = next;
    }

    // Distinct neurons stay apart (|cos| ≤ 0.99 at discovery); a column polished onto the
    // same neuron as another comes out identical to rounding.
    let gram = la.matmul(&a, Op::Trans, &a, Op::NoTrans);
    for j in 0..m {
        for i in 0..j {
            let gap = 1.0 - gram[(i, j)].abs();
            if gap < SAME_NEURON_GAP {
                return Err(SaturationError::SameNeuron {
                    first: i,
                    second: j,
                    gap,
                });
            }
        }
    }
    Ok(PolishReport {
        a,
        theta,
        neurons,
        rounds,
        queries: probe.queries(),
        farthest: probe.farthest(),
    })
}

/// A usable ridge point with the values measured there.
#[derive(Clone, Debug)]
struct Ridge {
    x: Vec<f64>,
    /// f(x) (measured for the forward stencil, the mean of f(x ± hâ) otherwise).
    f0: f64,
    /// φ' = F'(y_i) along â_i.
    slope: f64,
    /// φ'' (forward stencil only).
    curvature: f64,
}

/// The long-step differences across the ridge and the updated unit direction.
fn long_steps(
    probe: &Probe<'_>,
    ai: &[f64],
    ridge: &Ridge,
    cfg: &SaturationConfig,
    buffer: &mut Vec<f64>,
) -> Result<Vec<f64>> {
    let d = ai.len();
    let refl = Reflector::new(ai);
    let big_l = cfg.polish_step;
    let central = cfg.polish_stencil == PolishStencil::Central;
    let per = if central { 2 } else { 1 };
    let others: Vec<usize> = (0..d).filter(|&k| k != refl.pivot).collect();
    let signs: &[f64] = if central { &[1.0, -1.0] } else { &[1.0] };
    let mut data = std::mem::take(buffer);
    data.clear();
    data.reserve(others.len() * per * d);
    let mut v = vec![0.0; d];
    // ‖x ± Lv‖² = ‖x‖² ± 2L·xᵀv + L², with xᵀv in O(1) from the reflector.
    let (xx, wx) = (dot(&ridge.x, &ridge.x), refl.w_dot(&ridge.x));
    let mut far2 = 0.0_f64;
    for &k in &others {
        refl.column_into(k, &mut v);
        let xv = refl.column_dot(k, &ridge.x, wx);
        for &sign in signs {
            data.extend(ridge.x.iter().zip(&v).map(|(x, vi)| x + sign * big_l * vi));
            far2 = far2.max(xx + 2.0 * sign * big_l * xv + big_l * big_l);
        }
    }
    let batch = Mat::from_col_major(d, others.len() * per, data);
    let fv = probe.query_with_farthest(&batch, far2.sqrt(), "ridge polish");
    *buffer = batch.into_vec();
    let fv = fv?;
    // The long steps are taken as exactly ±L: rounding x ± Lv moves the step by about
    // 1e-16·‖x‖, a relative 1e-14 of L (the short step h along â is measured exactly).
    let mut delta = vec![0.0; d];
    let kappa = ridge.curvature * big_l / (2.0 * ridge.slope);
    for (c, &k) in others.iter().enumerate() {
        delta[k] = if central {
            (fv[2 * c] - fv[2 * c + 1]) / (2.0 * big_l) / ridge.slope
        } else {
            // c/φ' = δ + κδ² + O(δ³) with κ = φ''L/(2φ'): the root of the quadratic near c/φ'
            // (in the cancellation-free form 2q/(1 + √(1 + 4κq))); κ can be large where the
            // ridge is nearly flat, so a single fixed-point step would not do.
            let q = (fv[c] - ridge.f0) / big_l / ridge.slope;
            let disc = 1.0 + 4.0 * kappa * q;
            if disc > 0.0 {
                2.0 * q / (1.0 + disc.sqrt())
            } else {
                q
            }
        };
    }
    let mut new = refl.apply(&delta);
    // H·δ holds the correction; the pivot entry of δ is 0, so add â itself.
    nnid_linalg::axpy(1.0, ai, &mut new);
    nnid_linalg::normalize(&mut new);
    if !new.iter().all(|v| v.is_finite()) {
        return Err(SaturationError::InvalidInput {
            what: "oracle answers",
            reason: "the ridge polish produced a non-finite direction".into(),
        });
    }
    Ok(new)
}

/// The exact displacement between `plus` and `minus` along the unit vector `dir` (the
/// rounded points are not exactly x ± s·dir).
fn effective_step(dir: &[f64], plus: &[f64], minus: &[f64]) -> f64 {
    dir.iter()
        .zip(plus.iter().zip(minus))
        .map(|(d, (p, m))| d * (p - m))
        .sum()
}

fn check_start(start: &PolishStart<'_>, d: usize) -> Result<()> {
    let (rows, m) = start.a.shape();
    let bad = |what, reason: String| Err(SaturationError::InvalidInput { what, reason });
    if rows != d {
        return bad(
            "a",
            format!("Â has {rows} rows, the oracle's input dimension is {d}"),
        );
    }
    if m == 0 || m > d {
        return bad(
            "a",
            format!("Â needs 1 ≤ m0 ≤ d columns, got m0 = {m}, d = {d}"),
        );
    }
    if start.theta.len() != m {
        return bad(
            "theta",
            format!("θ̂ has {} entries for m0 = {m}", start.theta.len()),
        );
    }
    if let Some(x) = start.crossings {
        if x.shape() != (d, m) {
            return bad(
                "crossings",
                format!(
                    "crossings are {}×{}, expected {d}×{m}",
                    x.nrows(),
                    x.ncols()
                ),
            );
        }
        x.check_finite("crossings")?;
    }
    start.a.check_finite("polish start")?;
    if let Some(k) = start.theta.iter().position(|t| !t.is_finite()) {
        return bad("theta", format!("θ̂[{k}] = {}", start.theta[k]));
    }
    if let Some(j) = (0..m).find(|&j| norm2(start.a.col(j)) == 0.0) {
        return bad("a", format!("column {j} of Â is zero"));
    }
    Ok(())
}

/// Designs ridge points `x = Â⁺ᵀ(target − θ̂)` with target_i = 0 and target_j = ±level,
/// through the SVD Â = UΣVᵀ: x = U·w with w = Σ⁻¹Vᵀr, so ‖x‖ = ‖w‖.
struct Designer<'m> {
    u: Mat,
    /// P = Σ⁻¹Vᵀ (m×m); column j is p_j.
    p: Mat,
    /// G = PᵀP = (ÂᵀÂ)⁻¹.
    gram: Mat,
    theta: &'m [f64],
    level: f64,
}

impl<'m> Designer<'m> {
    fn new(la: Linalg<'_>, a: &Mat, theta: &'m [f64], level: f64) -> Result<Self> {
        let svd = la.svd(a)?;
        let m = a.ncols();
        let smax = svd.s.first().copied().unwrap_or(0.0);
        if let Some(k) = svd.s.iter().position(|&s| s.is_nan() || s <= smax * 1e-14) {
            return Err(SaturationError::InvalidInput {
                what: "a",
                reason: format!(
                    "Â is rank deficient (σ_{k} = {:.3e}, σ_1 = {smax:.3e}): two directions coincide",
                    svd.s[k]
                ),
            });
        }
        let p = Mat::from_fn(m, m, |r, j| svd.v[(j, r)] / svd.s[r]);
        let gram = la.matmul(&p, Op::Trans, &p, Op::NoTrans);
        Ok(Self {
            u: svd.u,
            p,
            gram,
            theta,
            level,
        })
    }

    /// For each active neuron, the sign patterns of up to `polish_tries` design points, best
    /// first (points are made from them on demand by [`Designer::point`]).
    ///
    /// With r = level·s − θ̂ for a pattern s and G = (ÂᵀÂ)⁻¹, neuron i's point has
    /// ‖x_i‖² = rᵀGr − 2·level·s_i·(Gr)_i + level²·G_ii (its target r_i is −θ̂_i), so one
    /// product G·[r_1 … r_n] scores every pattern for every neuron.
    fn patterns(
        &self,
        la: Linalg<'_>,
        active: &[usize],
        cfg: &SaturationConfig,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Vec<Vec<f64>>> {
        let m = self.p.ncols();
        let n = cfg.polish_patterns;
        let lv = self.level;
        let mut signs = Mat::zeros(m, n);
        for k in 0..n {
            let col = signs.col_mut(k);
            for chunk in col.chunks_mut(64) {
                let bits = rng.next_u64();
                chunk
                    .iter_mut()
                    .enumerate()
                    .for_each(|(j, v)| *v = if bits >> j & 1 == 1 { 1.0 } else { -1.0 });
            }
        }
        let r = Mat::from_fn(m, n, |j, k| lv * signs[(j, k)] - self.theta[j]);
        let gr = la.matmul(&self.gram, Op::NoTrans, &r, Op::NoTrans);
        let quad: Vec<f64> = (0..n).map(|k| dot(r.col(k), gr.col(k))).collect();
        active
            .iter()
            .map(|&i| {
                let gii = lv * lv * self.gram[(i, i)];
                // The `polish_tries` smallest scores, by a linear scan.
                let mut best: Vec<(f64, usize)> = Vec::with_capacity(cfg.polish_tries + 1);
                for k in 0..n {
                    let score = quad[k] - 2.0 * lv * signs[(i, k)] * gr[(i, k)] + gii;
                    if best.len() < cfg.polish_tries || score < best[best.len() - 1].0 {
                        let at = best.partition_point(|&(b, _)| b <= score);
                        best.insert(at, (score, k));
                        best.truncate(cfg.polish_tries);
                    }
                }
                best.iter()
                    .enumerate()
                    .map(|(rank, &(_, k))| {
                        let mut s = signs.col(k).to_vec();
                        if rank == 0 && cfg.polish_local_search {
                            self.descend(i, &mut s);
                        }
                        s
                    })
                    .collect()
            })
            .collect()
    }

    /// Greedy single-sign flips (j ≠ i) while ‖x‖ decreases.
    fn descend(&self, i: usize, s: &mut [f64]) {
        let m = s.len();
        let lv = self.level;
        let r: Vec<f64> = (0..m)
            .map(|j| {
                if j == i {
                    -self.theta[j]
                } else {
                    lv * s[j] - self.theta[j]
                }
            })
            .collect();
        let mut g = self.gram.matvec(&r);
        for _ in 0..4 * m {
            // Flipping s_j changes r_j by −2·L·s_j and ‖x‖² by −4L·s_j·g_j + 4L²·G_jj.
            let best = (0..m)
                .filter(|&j| j != i)
                .map(|j| {
                    (
                        j,
                        -4.0 * lv * s[j] * g[j] + 4.0 * lv * lv * self.gram[(j, j)],
                    )
                })
                .min_by(|x, y| x.1.total_cmp(&y.1));
            match best {
                Some((j, change)) if change < -1e-12 * lv * lv => {
                    nnid_linalg::axpy(-2.0 * lv * s[j], self.gram.col(j), &mut g);
                    s[j] = -s[j];
                }
                _ => break,
            }
        }
    }

    /// x = U·P·r for the pattern s with target_i = 0.
    fn point(&self, i: usize, s: &[f64]) -> Vec<f64> {
        let r: Vec<f64> = (0..s.len())
            .map(|j| {
                if j == i {
                    -self.theta[j]
                } else {
                    self.level * s[j] - self.theta[j]
                }
            })
            .collect();
        self.u.matvec(&self.p.matvec(&r))
    }
}
