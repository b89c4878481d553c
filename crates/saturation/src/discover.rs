//! Discovery of the first-layer directions on far lines (notes §2.2 step 1).

use crate::probe::{Probe, gaussian, project_out, random_unit_in_complement};
use crate::{Result, SaturationConfig, SaturationError};
use nnid_linalg::{Linalg, Mat, dot, norm2};
use nnid_nn_model::{Activation, Oracle};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a discovery line was laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// `x(t) = R·w + t·u` with w ⊥ u random unit vectors (item 1).
    Random,
    /// A deflated line (item 6): `held` known neurons are held at |y| = hold_level (the line
    /// runs in the orthogonal complement of their directions), `released` known neurons are
    /// left free because at most d − min_complement can be held.
    Deflated {
        /// Known neurons held saturated.
        held: usize,
        /// Known neurons not held.
        released: usize,
    },
}

/// Why examined crossings were turned down, counted per line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rejections {
    /// ‖∇f‖ below [`SaturationConfig::grad_floor`]: the tail of a step (item 4).
    pub small_gradient: usize,
    /// |cos| above [`SaturationConfig::dup_cos`] with a known direction (item 4; with
    /// [`SaturationConfig::dup_offset`] set, only if its hyperplane passes near the crossing).
    pub duplicate: usize,
    /// The purity test saw curvature across the gradient: a second active neuron (item 5).
    pub impure: usize,
    /// Crossings dropped before their gradient because a known neuron is active there
    /// ([`crate::SaturationConfig::known_level`]; no queries spent).
    pub on_known: usize,
}

impl Rejections {
    /// All rejections.
    pub fn total(&self) -> usize {
        self.small_gradient + self.duplicate + self.impure + self.on_known
    }
}

/// What happened on one discovery line.
#[derive(Clone, Debug, PartialEq)]
pub struct LineLog {
    /// Random or deflated.
    pub kind: LineKind,
    /// Jump regions seen on the grid (merged runs of marked intervals, item 2).
    pub jumps: usize,
    /// One-interval regions skipped because a known neuron is predicted to cross there.
    pub skipped: usize,
    /// Regions bisected and examined with a gradient.
    pub examined: usize,
    /// New directions accepted.
    pub accepted: usize,
    /// Examined regions turned down, by reason.
    pub rejected: Rejections,
    /// Oracle queries spent on this line.
    pub queries: u64,
    /// Largest ‖x‖ queried on this line.
    pub farthest: f64,
}

/// With m0 unknown: why discovery stopped where it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WidthEvidence {
    /// Consecutive deflated lines at the end without a new neuron.
    pub quiet_lines: usize,
    /// Jump regions on those lines (all of them skipped as known crossings or rejected).
    pub jumps_on_quiet_lines: usize,
    /// Rejections on those lines other than duplicates (small gradients, impure points):
    /// crossings that were seen but could not be told apart from a known neuron. Zero is the
    /// strongest evidence.
    pub unexplained_on_quiet_lines: usize,
}

/// The result of discovery: rough directions â_i (unit, good to about 1e-4) and shifts.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// d×k, column i = â_i (unit norm, sign arbitrary).
    pub a: Mat,
    /// θ̂_i = −â_i·x*_i (rough, O(0.5)).
    pub theta: Vec<f64>,
    /// d×k, column i = the crossing point x*_i where â_i was measured (y_i ≈ 0 there).
    pub crossings: Mat,
    /// The activation discovery was run for.
    pub activation: Activation,
    /// One entry per line scanned.
    pub lines: Vec<LineLog>,
    /// Oracle queries spent.
    pub queries: u64,
    /// Largest ‖x‖ queried.
    pub farthest: f64,
    /// The line offset R used.
    pub line_radius: f64,
    /// With m0 unknown, the evidence that no neuron is missing; `None` when m0 was given.
    pub width_evidence: Option<WidthEvidence>,
}

impl Discovery {
    /// Number of directions found.
    pub fn width(&self) -> usize {
        self.a.ncols()
    }
}

/// Neurons accepted so far.
#[derive(Default)]
struct Known {
    a: Vec<Vec<f64>>,
    theta: Vec<f64>,
    cross: Vec<Vec<f64>>,
}

impl Known {
    fn len(&self) -> usize {
        self.a.len()
    }
}

/// A line `x0 + t·u` (u unit, u ⊥ x0).
struct Line {
    x0: Vec<f64>,
    u: Vec<f64>,
    kind: LineKind,
}

impl Line {
    fn point(&self, t: f64) -> Vec<f64> {
        self.x0
            .iter()
            .zip(&self.u)
            .map(|(x, u)| x + t * u)
            .collect()
    }
}

/// A crossing candidate after bisection and gradient.
struct Candidate {
    x: Vec<f64>,
    f0: f64,
    grad_norm: f64,
    n: Vec<f64>,
}

/// Finds the first-layer directions from far queries (notes §2.2 step 1).
///
/// Scans far lines until `m0` distinct directions are accepted (or, with `m0 = None`, until
/// [`SaturationConfig::quiet_lines`] consecutive deflated lines bring no new one), at most
/// [`SaturationConfig::line_cap`] lines. Every oracle call is a batch: one per line grid,
/// one per bisection round (all regions of a line together), gradients of several crossings
/// together, one per purity test round.
///
/// # Errors
/// [`SaturationError::InvalidConfig`] / [`SaturationError::InvalidInput`] for bad settings or
/// `m0` (0, or above d), d < 2; [`SaturationError::RadiusTooSmall`] if the lines reach beyond
/// `max_radius` (checked before any query); [`SaturationError::Incomplete`] naming how many
/// neurons were found when the cap is reached; [`SaturationError::TooMany`];
/// [`SaturationError::WidthUndetermined`]; [`SaturationError::NothingFound`]; oracle and
/// linear-algebra failures.
pub fn discover(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    m0: Option<usize>,
    act: Activation,
    cfg: &SaturationConfig,
    seed: u64,
) -> Result<Discovery> {
    cfg.validate()?;
    let d = oracle.input_dim();
    if d < 2 {
        return Err(SaturationError::InvalidInput {
            what: "oracle",
            reason: format!("route S needs input dimension d ≥ 2 (far lines need w ⊥ u), got {d}"),
        });
    }
    match m0 {
        Some(0) => {
            return Err(SaturationError::InvalidInput {
                what: "m0",
                reason: "m0 must be ≥ 1".into(),
            });
        }
        Some(m) if m > d => {
            return Err(SaturationError::InvalidInput {
                what: "m0",
                reason: format!("route S needs m0 ≤ d (pyramidal network), got m0 = {m} > d = {d}"),
            });
        }
        _ => {}
    }
    let radius = cfg.line_radius(d, m0.unwrap_or(d), act);
    let probe = Probe::new(oracle, cfg.max_radius);
    probe.check_radius(cfg.line_reach(d, m0.unwrap_or(d), act), "discovery lines")?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut known = Known::default();
    let mut lines = Vec::new();
    let mut quiet = 0usize;
    let mut quiet_tail: Vec<usize> = Vec::new();

    for index in 0..cfg.line_cap(m0, d) {
        if m0.is_some_and(|m| known.len() >= m) || (m0.is_none() && quiet >= cfg.quiet_lines) {
            break;
        }
        let (q0, overall) = (probe.queries(), probe.start_window());
        let line = if index < cfg.random_lines || known.len() == 0 {
            random_line(&mut rng, d, radius)
        } else {
            deflated_line(la, &mut rng, &known, d, radius, act, cfg, &probe)?
        };
        let before = known.len();
        let mut log = scan_line(
            &probe,
            &line,
            radius,
            act.width(),
            &mut known,
            cfg,
            &mut rng,
        )?;
        log.queries = probe.queries() - q0;
        log.farthest = probe.end_window(overall);
        let new = known.len() - before;
        if index >= cfg.random_lines && new == 0 {
            quiet += 1;
            quiet_tail.push(lines.len());
        } else {
            quiet = 0;
            quiet_tail.clear();
        }
        lines.push(log);
        if let Some(m) = m0
            && known.len() > m
        {
            return Err(SaturationError::TooMany {
                found: known.len(),
                wanted: m,
            });
        }
    }

    let found = known.len();
    let width_evidence = match m0 {
        Some(m) if found < m => {
            let (count, queries) = (lines.len(), probe.queries());
            return Err(SaturationError::Incomplete {
                found,
                wanted: m,
                lines: count,
                queries,
                log: lines,
            });
        }
        Some(_) => None,
        None if quiet < cfg.quiet_lines => {
            return Err(SaturationError::WidthUndetermined {
                found,
                quiet,
                needed: cfg.quiet_lines,
                lines: lines.len(),
            });
        }
        None => {
            let tail = quiet_tail.iter().map(|&i| &lines[i]);
            Some(WidthEvidence {
                quiet_lines: quiet,
                jumps_on_quiet_lines: tail.clone().map(|l: &LineLog| l.jumps).sum(),
                unexplained_on_quiet_lines: tail
                    .map(|l| l.rejected.small_gradient + l.rejected.impure)
                    .sum(),
            })
        }
    };
    if found == 0 {
        return Err(SaturationError::NothingFound {
            lines: lines.len(),
            queries: probe.queries(),
        });
    }
    Ok(Discovery {
        a: Mat::from_columns(d, &known.a),
        theta: known.theta,
        crossings: Mat::from_columns(d, &known.cross),
        activation: act,
        lines,
        queries: probe.queries(),
        farthest: probe.farthest(),
        line_radius: radius,
        width_evidence,
    })
}

/// The farthest point of a line (its ends).
fn line_farthest(line: &Line, radius: f64, cfg: &SaturationConfig) -> f64 {
    let t = cfg.t_span * radius;
    (dot(&line.x0, &line.x0) + t * t).sqrt()
}

/// Item 1: `x(t) = R·w + t·u`, w and u random orthonormal.
fn random_line(rng: &mut ChaCha8Rng, d: usize, radius: f64) -> Line {
    let w = random_unit_in_complement(rng, d, None, &[]).expect("a Gaussian vector is nonzero");
    let u = random_unit_in_complement(rng, d, None, &[&w]).expect("d ≥ 2 leaves a complement of w");
    Line {
        x0: w.iter().map(|x| radius * x).collect(),
        u,
        kind: LineKind::Random,
    }
}

/// Item 6: hold a random subset H of at most d − min_complement known neurons at
/// y_j = ±hold_level (x0 = K⁺(hold·s − θ̂_H) + R·w) and run the line in the orthogonal
/// complement of their directions. If the held part lands beyond `max_radius` or farther
/// than `max_hold_offset·R`, other subsets are tried, then a random line.
#[allow(clippy::too_many_arguments)]
fn deflated_line(
    la: Linalg<'_>,
    rng: &mut ChaCha8Rng,
    known: &Known,
    d: usize,
    radius: f64,
    act: Activation,
    cfg: &SaturationConfig,
    probe: &Probe<'_>,
) -> Result<Line> {
    let k = known.len();
    let hold = k.min(d.saturating_sub(cfg.min_complement));
    let level = cfg.hold_level * act.width();
    for _ in 0..4 {
        let mut held: Vec<usize> = sample(rng, k, hold).into_vec();
        held.sort_unstable();
        let kind = LineKind::Deflated {
            held: hold,
            released: k - hold,
        };
        if held.is_empty() {
            let mut line = random_line(rng, d, radius);
            line.kind = kind;
            return Ok(line);
        }
        let kmat = Mat::from_columns(
            d,
            &held.iter().map(|&j| known.a[j].clone()).collect::<Vec<_>>(),
        );
        let qr = la.qr(&kmat)?;
        let rhs: Vec<f64> = held
            .iter()
            .map(|&j| {
                let s = if rng.random::<bool>() { level } else { -level };
                s - known.theta[j]
            })
            .collect();
        // Minimum-norm x with Kᵀx = rhs: x = Q z, Rᵀ z = rhs (forward substitution).
        let Some(z) = solve_lower_transposed(&qr.r, &rhs) else {
            continue;
        };
        let mut x0 = qr.q.matvec(&z);
        if norm2(&x0) > cfg.max_hold_offset * radius {
            continue;
        }
        let Some(w) = random_unit_in_complement(rng, d, Some(&qr.q), &[]) else {
            continue;
        };
        let Some(u) = random_unit_in_complement(rng, d, Some(&qr.q), &[&w]) else {
            continue;
        };
        nnid_linalg::axpy(radius, &w, &mut x0);
        // u ⊥ x0 up to rounding: clean it so the line's norms are as predicted.
        let mut u = u;
        let x0n = {
            let mut v = x0.clone();
            nnid_linalg::normalize(&mut v);
            v
        };
        project_out(&mut u, None, &[&x0n]);
        nnid_linalg::normalize(&mut u);
        let line = Line { x0, u, kind };
        if probe
            .check_radius(line_farthest(&line, radius, cfg), "deflated line")
            .is_ok()
        {
            return Ok(line);
        }
    }
    Ok(random_line(rng, d, radius))
}

/// Solves `rᵀ z = b` for the upper-triangular `r` (so `rᵀ` is lower triangular); `None` if a
/// pivot is zero or the result is not finite.
fn solve_lower_transposed(r: &Mat, b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut z = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|j| r[(j, i)] * z[j]).sum();
        let p = r[(i, i)];
        if p == 0.0 {
            return None;
        }
        z[i] = (b[i] - s) / p;
    }
    z.iter().all(|v| v.is_finite()).then_some(z)
}

/// Items 2–5 on one line: grid, jump regions, skips, bisection, gradients, tests.
fn scan_line(
    probe: &Probe<'_>,
    line: &Line,
    radius: f64,
    width: f64,
    known: &mut Known,
    cfg: &SaturationConfig,
    rng: &mut ChaCha8Rng,
) -> Result<LineLog> {
    let d = probe.input_dim();
    let n = cfg.grid_points;
    let t_max = cfg.t_span * radius;
    let dt = 2.0 * t_max / (n - 1) as f64;
    let ts: Vec<f64> = (0..n).map(|k| -t_max + k as f64 * dt).collect();
    let grid = Mat::from_fn(d, n, |i, k| line.x0[i] + ts[k] * line.u[i]);
    let fs = probe.query(&grid, "discovery line")?;

    let mut log = LineLog {
        kind: line.kind,
        jumps: 0,
        skipped: 0,
        examined: 0,
        accepted: 0,
        rejected: Rejections::default(),
        queries: 0,
        farthest: 0.0,
    };

    // Item 2: marked intervals, merged into regions [first, last] (interval k = [t_k, t_k+1]).
    let diffs: Vec<f64> = fs.windows(2).map(|w| w[1] - w[0]).collect();
    let max_jump = diffs.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let threshold = cfg.jump_abs.max(cfg.jump_rel * max_jump);
    let mut regions: Vec<(usize, usize)> = Vec::new();
    for (k, dk) in diffs.iter().enumerate() {
        if dk.abs() >= threshold {
            match regions.last_mut() {
                Some((_, last)) if *last + 1 == k => *last = k,
                _ => regions.push((k, k)),
            }
        }
    }
    log.jumps = regions.len();

    // Predicted crossings of the known neurons: t = −(âᵀx0 + θ̂)/(âᵀu).
    let predicted: Vec<f64> = known
        .a
        .iter()
        .zip(&known.theta)
        .filter_map(|(a, th)| {
            let s = dot(a, &line.u);
            let t = -(dot(a, &line.x0) + th) / s;
            t.is_finite().then_some(t)
        })
        .collect();
    let margin = cfg.skip_margin * dt;
    regions.retain(|&(first, last)| {
        let skip = first == last
            && predicted
                .iter()
                .any(|&t| t >= ts[first] - margin && t <= ts[first + 1] + margin);
        if skip {
            log.skipped += 1;
        }
        !skip
    });
    if regions.is_empty() {
        return Ok(log);
    }

    // Item 3: bisection on the mid-level, all regions of the line in one batch per round.
    let mut brackets: Vec<[f64; 4]> = regions
        .iter()
        .map(|&(first, last)| [ts[first], ts[last + 1], fs[first], fs[last + 1]])
        .collect();
    loop {
        let active: Vec<usize> = (0..brackets.len())
            .filter(|&r| brackets[r][1] - brackets[r][0] > cfg.bracket)
            .collect();
        if active.is_empty() {
            break;
        }
        let mids: Vec<f64> = active
            .iter()
            .map(|&r| 0.5 * (brackets[r][0] + brackets[r][1]))
            .collect();
        let pts = Mat::from_fn(d, mids.len(), |i, k| line.x0[i] + mids[k] * line.u[i]);
        let fm = probe.query(&pts, "discovery bisection")?;
        for ((&r, &t), &f) in active.iter().zip(&mids).zip(&fm) {
            let [_, _, f_lo, f_hi] = brackets[r];
            let level = 0.5 * (f_lo + f_hi);
            if (f - level > 0.0) == (f_lo - level > 0.0) {
                brackets[r][0] = t;
                brackets[r][2] = f;
            } else {
                brackets[r][1] = t;
                brackets[r][3] = f;
            }
        }
    }
    let mut points: Vec<Vec<f64>> = brackets
        .iter()
        .map(|b| line.point(0.5 * (b[0] + b[1])))
        .collect();
    log.examined = points.len();
    if let Some(level) = cfg.known_level {
        let on_known = |x: &[f64]| {
            known
                .a
                .iter()
                .zip(&known.theta)
                .any(|(a, t)| (dot(a, x) + t).abs() < level * width)
        };
        let before = points.len();
        points.retain(|x| !on_known(x));
        log.rejected.on_known += before - points.len();
    }

    // Item 4: forward-difference gradients, several crossings per batch.
    let per_batch = (cfg.batch_floats / (d * (d + 1))).max(1);
    let mut candidates: Vec<Candidate> = Vec::with_capacity(points.len());
    let mut data: Vec<f64> = Vec::new();
    for chunk in points.chunks(per_batch) {
        data.clear();
        data.reserve(chunk.len() * (d + 1) * d);
        let mut far2 = 0.0_f64;
        for x in chunk {
            let xx = dot(x, x);
            far2 = far2.max(xx);
            for k in 0..=d {
                data.extend_from_slice(x);
                if k > 0 {
                    let at = data.len() - d + k - 1;
                    data[at] += cfg.fd_step;
                    // ‖x + ε e_k‖² in O(1).
                    far2 = far2.max(xx + 2.0 * cfg.fd_step * x[k - 1] + cfg.fd_step * cfg.fd_step);
                }
            }
        }
        let batch = Mat::from_col_major(d, chunk.len() * (d + 1), data);
        let fv = probe.query_with_farthest(&batch, far2.sqrt(), "discovery gradient");
        data = batch.into_vec(); // the buffer is reused by the next batch
        let fv = fv?;
        for (c, x) in chunk.iter().enumerate() {
            let base = c * (d + 1);
            let f0 = fv[base];
            let g: Vec<f64> = (0..d)
                .map(|k| (fv[base + 1 + k] - f0) / ((x[k] + cfg.fd_step) - x[k]))
                .collect();
            let grad_norm = norm2(&g);
            let n = g.iter().map(|v| v / grad_norm).collect();
            candidates.push(Candidate {
                x: x.clone(),
                f0,
                grad_norm,
                n,
            });
        }
    }

    // Floor and duplicates (free), then the purity test (item 5) on the rest, batched.
    let dup_offset = cfg.dup_offset.map_or(f64::INFINITY, |o| o * width);
    let mut pending: Vec<Candidate> = Vec::new();
    for c in candidates {
        if !(c.grad_norm >= cfg.grad_floor && c.grad_norm.is_finite()) {
            log.rejected.small_gradient += 1;
            continue;
        }
        let near = |a: &[f64], theta: f64| {
            dot(a, &c.n).abs() > cfg.dup_cos && (dot(a, &c.x) + theta).abs() < dup_offset
        };
        let dup = known.a.iter().zip(&known.theta).any(|(a, &t)| near(a, t))
            || pending.iter().any(|p| near(&p.n, -dot(&p.n, &p.x)));
        if dup {
            log.rejected.duplicate += 1;
            continue;
        }
        pending.push(c);
    }
    if pending.is_empty() {
        return Ok(log);
    }
    let nv = cfg.purity_vectors;
    let mut batch = Mat::zeros(d, pending.len() * 2 * nv);
    for (c, cand) in pending.iter().enumerate() {
        for j in 0..nv {
            let mut v = gaussian(rng, d);
            project_out(&mut v, None, &[&cand.n]);
            let s = cfg.purity_len / norm2(&v);
            for (sign, col) in [(1.0, 2 * (c * nv + j)), (-1.0, 2 * (c * nv + j) + 1)] {
                batch
                    .col_mut(col)
                    .iter_mut()
                    .zip(cand.x.iter().zip(&v))
                    .for_each(|(o, (x, vi))| *o = x + sign * s * vi);
            }
        }
    }
    let fv = probe.query(&batch, "discovery purity test")?;
    for (c, cand) in pending.into_iter().enumerate() {
        let worst = (0..nv)
            .map(|j| {
                let k = 2 * (c * nv + j);
                (fv[k] + fv[k + 1] - 2.0 * cand.f0).abs()
            })
            .fold(0.0_f64, f64::max);
        if worst / cand.grad_norm < cfg.purity_tol {
            known.theta.push(-dot(&cand.n, &cand.x));
            known.a.push(cand.n);
            known.cross.push(cand.x);
            log.accepted += 1;
        } else {
            log.rejected.impure += 1;
        }
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_transposed_solve() {
        // r = [[2, 1], [0, 4]]: rᵀ = [[2, 0], [1, 4]]; rᵀ z = [2, 9] → z = [1, 2].
        let r = Mat::from_rows(2, &[vec![2.0, 1.0], vec![0.0, 4.0]]);
        let z = solve_lower_transposed(&r, &[2.0, 9.0]).unwrap();
        assert!((z[0] - 1.0).abs() < 1e-15 && (z[1] - 2.0).abs() < 1e-15);
        let singular = Mat::from_rows(2, &[vec![0.0, 1.0], vec![0.0, 4.0]]);
        assert!(solve_lower_transposed(&singular, &[1.0, 1.0]).is_none());
    }
}
