//! The engine both solvers run on: a pool of concurrent starts ("slots") advanced together,
//! so that the expensive map `U ↦ [W_k U]_k` is one matrix product per round for all of them.
//!
//! Each start goes through up to three phases:
//! 1. **approach**: shifted power steps `u ← normalise(Σ_k c'_k W_k u + σ u)` on the
//!    (optionally deflated, `c' = (I − QQᵀ) c`) objective;
//! 2. **polish**: the same steps on the full objective F (SPM: adaptive shift; PGA: its own);
//! 3. **Newton**: near a maximiser `w` with `w wᵀ ∈ Ŵ` we have `P_Ŵ(w wᵀ) = w wᵀ`, so the
//!    Riemannian Hessian of F on the sphere is `−4 (I − 2 Z Zᵀ)` on the tangent space, with
//!    `Z = P_T [W_1 u, …, W_K u]` — already computed by the round's product. Solving
//!    `(I − 2 Z Zᵀ) η = Σ_k c_k W_k u − F u` by conjugate gradients costs O(pK) per CG step,
//!    so a Newton step costs about one power step, and convergence becomes quadratic where the
//!    power steps converge linearly at rate `2‖Z‖²` (0.3–0.5 for incoherent components, near 1
//!    for near-degenerate spans). A step that loses objective is halved; if that fails, it is
//!    retaken with the exact Hessian (`newton_round`), and if that fails too the slot goes back
//!    to power steps and tries Newton again later.
//!
//! The approach phase hands over to Newton as soon as the full objective reaches `newton_at`
//! while the deflated one keeps at least half of it (so the point is near a component not yet
//! found), and to polishing when its step falls below `switch_tol`; polishing hands over to
//! Newton when its step falls below `newton_from`. A run finishes when its step is below
//! `step_tol`; every phase has the cap `max_iters`, and a capped run says so.

use nnid_linalg::{Linalg, Mat};

use crate::ascent::{Deflation, Shift, finish_step};
use crate::kernel::Dense;
use crate::vecops::{axpy, dot, norm2, normalize};

/// Parameters of a pool run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolParams {
    /// Shift of the approach phase.
    pub(crate) approach_shift: Shift,
    /// Shift of the polishing phase.
    pub(crate) polish_shift: Shift,
    /// Approach → polish when the step is below this.
    pub(crate) switch_tol: f64,
    /// Approach → Newton when F reaches this (and the deflated objective keeps half of it);
    /// above 1: never.
    pub(crate) newton_at: f64,
    /// Polish → Newton when the step is below this (0: never).
    pub(crate) newton_from: f64,
    /// Final step tolerance.
    pub(crate) step_tol: f64,
    /// Cap on iterations per phase.
    pub(crate) max_iters: usize,
    /// Abandon a start in the approach phase when its objective is below this times the
    /// fraction of the subspace not yet deflated (0: never).
    pub(crate) hopeless_below: f64,
    /// Number of concurrent slots.
    pub(crate) batch: usize,
}

/// A finished run.
#[derive(Clone, Debug)]
pub(crate) struct Finished {
    /// Final iterate (working coordinates, unit).
    pub(crate) u: Vec<f64>,
    /// `c_k = uᵀ W_k u` at the last evaluation.
    pub(crate) c: Vec<f64>,
    /// `F = ‖c‖²` at the last evaluation.
    pub(crate) f: f64,
    /// Iterations over all phases.
    pub(crate) iters: usize,
    /// Whether some phase hit its cap.
    pub(crate) capped: bool,
    /// Abandoned as hopeless in the approach phase.
    pub(crate) hopeless: bool,
    /// Abandoned in the Newton phase on reaching an accepted component.
    pub(crate) duplicate: bool,
}

/// A new run: its start (a unit vector of the working space) and whether its approach phase
/// ascends the deflated objective.
#[derive(Clone, Debug)]
pub(crate) struct Start {
    pub(crate) u: Vec<f64>,
    pub(crate) deflate: bool,
}

/// What a solver plugs into the pool.
pub(crate) trait Driver {
    /// The next start (a unit vector of the working space), given how many runs are still
    /// active; None when the budget is spent or no start is wanted now.
    fn next_start(&mut self, deflation: &Deflation, active: usize) -> Option<Start>;

    /// Takes a finished run (and may deflate).
    fn on_done(&mut self, run: Finished, deflation: &mut Deflation) -> Next;

    /// How many components are accepted so far, and whether `u` is within the deduplication
    /// angle of one of those accepted at index `since` or later.
    fn duplicates(&self, u: &[f64], since: usize) -> (usize, bool);
}

/// What the caller decides after a run finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep drawing starts.
    Continue,
    /// Stop the whole pool (slots still running are discarded).
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Approach,
    Polish,
    Newton,
}

#[derive(Clone, Debug)]
struct Slot {
    u: Vec<f64>,
    deflate: bool,
    phase: Phase,
    iters: usize,
    phase_iters: usize,
    capped: bool,
    /// Newton steps failed (even with the exact Hessian) this many times.
    failures: u32,
    /// Power steps until this iteration count before Newton is tried again.
    retry_at: usize,
    /// Use the exact Riemannian Hessian (after the cheap model failed once).
    exact: bool,
    /// The point, direction and objective of the last Newton step, for backtracking.
    backup: Option<Backup>,
    /// Length of the last Newton step.
    step_prev: f64,
    /// Accepted components this run has been checked against.
    checked: usize,
}

impl Slot {
    fn new(start: Start) -> Self {
        Self {
            u: start.u,
            deflate: start.deflate,
            phase: Phase::Approach,
            iters: 0,
            phase_iters: 0,
            capped: false,
            failures: 0,
            retry_at: 0,
            exact: false,
            backup: None,
            step_prev: f64::INFINITY,
            checked: 0,
        }
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.phase_iters = 0;
    }
}

/// A Newton step taken: `u_new = normalise(u + t η)`.
#[derive(Clone, Debug)]
struct Backup {
    u: Vec<f64>,
    eta: Vec<f64>,
    f: f64,
    t: f64,
}

/// Scratch space shared by the slots of a round.
struct Work {
    c: Vec<f64>,
    cd: Vec<f64>,
    g: Vec<f64>,
    cg: [Vec<f64>; 4],
    zv: Vec<f64>,
}

/// Runs the driver's starts through the phases, `params.batch` at a time, and hands every
/// finished run back to it in a deterministic order (by round, then by slot).
pub(crate) fn run(
    la: Linalg<'_>,
    dense: &Dense,
    params: PoolParams,
    deflation: &mut Deflation,
    driver: &mut impl Driver,
) {
    let (p, k) = (dense.p(), dense.k());
    let mut slots: Vec<Slot> = Vec::with_capacity(params.batch);
    while slots.len() < params.batch.max(1) {
        match driver.next_start(deflation, slots.len()) {
            Some(start) => slots.push(Slot::new(start)),
            None => break,
        }
    }
    let zeros = || vec![0.0; p];
    let mut w = Work {
        c: vec![0.0; k],
        cd: vec![0.0; k],
        g: zeros(),
        cg: [zeros(), zeros(), zeros(), zeros()],
        zv: vec![0.0; k],
    };
    let mut umat = Mat::zeros(p, slots.len());
    while !slots.is_empty() {
        if umat.ncols() != slots.len() {
            umat = Mat::zeros(p, slots.len());
        }
        for (t, slot) in slots.iter().enumerate() {
            umat.col_mut(t).copy_from_slice(&slot.u);
        }
        let y = dense.eval_batch(la, &umat);
        let n = slots.len();
        let mut survivors = Vec::with_capacity(n);
        for (t, mut slot) in slots.drain(..).enumerate() {
            let finished = advance(la, dense, &params, deflation, &mut slot, y.col(t), &mut w)
                .or_else(|| {
                    // A run in its Newton phase that reached an accepted component is dropped.
                    if slot.phase != Phase::Newton {
                        return None;
                    }
                    let (accepted, dup) = driver.duplicates(&slot.u, slot.checked);
                    slot.checked = accepted;
                    dup.then(|| Finished {
                        u: std::mem::take(&mut slot.u),
                        c: w.c.clone(),
                        f: 0.0,
                        iters: slot.iters,
                        capped: slot.capped,
                        hopeless: false,
                        duplicate: true,
                    })
                });
            match finished {
                None => survivors.push(slot),
                Some(fin) => {
                    if driver.on_done(fin, deflation) == Next::Stop {
                        return;
                    }
                    if let Some(start) = driver.next_start(deflation, survivors.len() + (n - t - 1))
                    {
                        survivors.push(Slot::new(start));
                    }
                }
            }
        }
        slots = survivors;
    }
}

/// One iteration of one slot, given `Y = [W_k u]_k` at its current iterate. Returns the
/// finished run when the slot is done.
fn advance(
    la: Linalg<'_>,
    dense: &Dense,
    params: &PoolParams,
    deflation: &Deflation,
    slot: &mut Slot,
    y: &[f64],
    w: &mut Work,
) -> Option<Finished> {
    let f = dense.coefficients(&slot.u, y, &mut w.c);
    slot.iters += 1;
    slot.phase_iters += 1;
    let finish = |slot: &mut Slot, c: &[f64], hopeless: bool| Finished {
        u: std::mem::take(&mut slot.u),
        c: c.to_vec(),
        f,
        iters: slot.iters,
        capped: slot.capped,
        hopeless,
        duplicate: false,
    };
    match slot.phase {
        Phase::Approach => {
            let deflated = slot.deflate && deflation.len() > 0;
            let fd = if deflated {
                w.cd.copy_from_slice(&w.c);
                deflation.apply(&mut w.cd);
                dot(&w.cd, &w.cd)
            } else {
                f
            };
            if f >= params.newton_at && fd >= 0.5 * f {
                slot.enter(Phase::Newton);
                return newton_round(la, dense, params, slot, y, w, f)
                    .then(|| finish(slot, &w.c, false));
            }
            let remaining = if deflated {
                1.0 - deflation.len() as f64 / dense.k() as f64
            } else {
                1.0
            };
            if fd < params.hopeless_below * remaining {
                return Some(finish(slot, &w.c, true));
            }
            dense.combine(y, if deflated { &w.cd } else { &w.c }, &mut w.g);
            let step = finish_step(&mut slot.u, &mut w.g, params.approach_shift.value(fd));
            if step < params.switch_tol {
                slot.enter(Phase::Polish);
            } else if slot.phase_iters >= params.max_iters {
                slot.capped = true;
                slot.enter(Phase::Polish);
            }
            None
        }
        Phase::Polish => {
            dense.combine(y, &w.c, &mut w.g);
            let step = finish_step(&mut slot.u, &mut w.g, params.polish_shift.value(f));
            if step < params.step_tol {
                return Some(finish(slot, &w.c, false));
            }
            if slot.iters >= slot.retry_at && step < params.newton_from {
                slot.enter(Phase::Newton);
            } else if slot.phase_iters >= params.max_iters {
                slot.capped = true;
                return Some(finish(slot, &w.c, false));
            }
            None
        }
        Phase::Newton => {
            newton_round(la, dense, params, slot, y, w, f).then(|| finish(slot, &w.c, false))
        }
    }
}

/// A Newton-phase iteration (the coefficients `w.c` and `f` are at the current iterate).
/// Returns true when the run is finished.
///
/// If the last step lost objective, it is halved (up to four times, one evaluation each);
/// if that fails, the step is retaken with the exact Riemannian Hessian, and if that fails
/// too the run finishes with power steps.
fn newton_round(
    la: Linalg<'_>,
    dense: &Dense,
    params: &PoolParams,
    slot: &mut Slot,
    y: &[f64],
    w: &mut Work,
    f: f64,
) -> bool {
    if let Some(b) = slot.backup.as_mut()
        && f < b.f - 1e-12 * b.f.max(1.0)
    {
        if b.t > if slot.exact { 1e-3 } else { 0.1 } {
            b.t *= 0.5;
            slot.u.copy_from_slice(&b.u);
            axpy(b.t, &b.eta, &mut slot.u);
            normalize(&mut slot.u);
            return false;
        }
        let b = slot.backup.take().map(|b| b.u).unwrap_or_default();
        slot.u.copy_from_slice(&b);
        if slot.exact {
            give_up_newton(slot);
        }
        slot.exact = true;
        return false;
    }
    let mut eta = newton_direction(la, dense, &slot.u, y, w, f, slot.exact);
    if eta.is_none() && !slot.exact {
        // The cheap model is not positive definite here: try the exact Hessian (same Y).
        slot.exact = true;
        eta = newton_direction(la, dense, &slot.u, y, w, f, true);
    }
    let Some(eta) = eta else {
        // Not in a Newton basin (yet): power steps for a while.
        give_up_newton(slot);
        dense.combine(y, &w.c, &mut w.g);
        finish_step(&mut slot.u, &mut w.g, params.polish_shift.value(f));
        return false;
    };
    let old = slot.u.clone();
    axpy(1.0, &eta, &mut slot.u);
    normalize(&mut slot.u);
    let step = old
        .iter()
        .zip(&slot.u)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    slot.backup = Some(Backup {
        u: old,
        eta,
        f,
        t: 1.0,
    });
    if step < params.step_tol || quadratic_finish(step, slot.step_prev, params.step_tol) {
        return true;
    }
    slot.step_prev = step;
    if slot.phase_iters >= params.max_iters {
        slot.capped = true;
        return true;
    }
    false
}

/// Back to power steps after a failed Newton step; Newton is tried again after 10·2^n
/// iterations (n failures so far, at most 8 tries in all).
fn give_up_newton(slot: &mut Slot) {
    slot.failures += 1;
    slot.retry_at = if slot.failures >= 8 {
        usize::MAX
    } else {
        slot.iters + (10 << slot.failures)
    };
    slot.exact = false;
    slot.backup = None;
    slot.enter(Phase::Polish);
}

/// Whether Newton has visibly entered its quadratic regime (`step < step_prev`, both small)
/// and the next step, predicted as `step · (step / step_prev)²`, is below the tolerance: the
/// iterate is then already within about that distance of the fixed point, and the step that
/// would confirm it is skipped.
fn quadratic_finish(step: f64, step_prev: f64, step_tol: f64) -> bool {
    step < 10.0 * step_tol.sqrt()
        && step < step_prev
        && step * (step / step_prev).powi(2) < step_tol
}

/// The Newton direction η at `u` (see the module docs), or None when the Hessian model is
/// not positive definite. `exact` uses the full Riemannian Hessian
/// `P_T (C + 2 Y Yᵀ − F I) P_T` with `C = Σ_k c_k W_k` (a p×p solve), otherwise the model
/// `I − 2 Z Zᵀ` by conjugate gradients.
fn newton_direction(
    la: Linalg<'_>,
    dense: &Dense,
    u: &[f64],
    y: &[f64],
    w: &mut Work,
    f: f64,
    exact: bool,
) -> Option<Vec<f64>> {
    // r = Σ_k c_k W_k u − F u (a quarter of the Riemannian gradient; tangent).
    dense.combine(y, &w.c, &mut w.g);
    axpy(-f, u, &mut w.g);
    if norm2(&w.g) == 0.0 {
        return Some(vec![0.0; u.len()]);
    }
    if exact {
        exact_direction(la, dense, u, y, &w.c, f, &w.g)
    } else {
        model_direction(dense, u, y, w)
    }
}

/// Solves `(P_T (F I − C − 2 Y Yᵀ) P_T + u uᵀ) η = r`, positive definite at a non-degenerate
/// maximiser. Where the matrix is indefinite (a saddle region, e.g. a flat ridge between two
/// nearby rank-ones), the eigenvalues are replaced by their absolute values ("saddle-free"
/// Newton), so that η is still an ascent direction; the caller's backtracking keeps F rising.
fn exact_direction(
    la: Linalg<'_>,
    dense: &Dense,
    u: &[f64],
    y: &[f64],
    c: &[f64],
    f: f64,
    r: &[f64],
) -> Option<Vec<f64>> {
    let p = dense.p();
    let mut a = dense.weighted_sum(c);
    for yk in y.chunks_exact(p) {
        for (j, &ykj) in yk.iter().enumerate() {
            axpy(2.0 * ykj, yk, a.col_mut(j));
        }
    }
    let au = a.matvec(u);
    let uau = dot(u, &au);
    let n = Mat::from_fn(p, p, |i, j| {
        let pap = a[(i, j)] - u[i] * au[j] - au[i] * u[j] + u[i] * u[j] * uau;
        let fp = if i == j { f } else { 0.0 } - f * u[i] * u[j];
        fp - pap + u[i] * u[j]
    });
    let rhs = Mat::from_col_major(p, 1, r.to_vec());
    if let Ok(eta) = la.solve_spd(&n, &rhs) {
        return Some(eta.into_vec());
    }
    let e = la.eigh(&n).ok()?;
    let scale = e.values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let coords = e.vectors.matvec_t(r);
    let weighted: Vec<f64> = coords
        .iter()
        .zip(&e.values)
        .map(|(x, l)| x / l.abs().max(1e-8 * scale).max(f64::MIN_POSITIVE))
        .collect();
    Some(e.vectors.matvec(&weighted))
}

/// Solves `(I − 2 Z Zᵀ) η = r` (`Z_k = Y_k − c_k u`) by conjugate gradients, to the relative
/// residual `min(0.1, ‖r‖)` (inexact Newton, still quadratic).
fn model_direction(dense: &Dense, u: &[f64], y: &[f64], w: &mut Work) -> Option<Vec<f64>> {
    let p = dense.p();
    let Work { c, g, cg, zv, .. } = w;
    let [x, res, dir, ad] = cg;
    let rnorm = norm2(g);
    // A v = v − 2 Z Zᵀ v with Z_k = Y_k − c_k u.
    let apply = |v: &[f64], out: &mut [f64], zv: &mut [f64]| {
        let uv = dot(u, v);
        let mut s = 0.0;
        for ((z, &ck), yk) in zv.iter_mut().zip(c.iter()).zip(y.chunks_exact(p)) {
            *z = dot(yk, v) - ck * uv;
            s += *z * ck;
        }
        out.copy_from_slice(v);
        for (&z, yk) in zv.iter().zip(y.chunks_exact(p)) {
            axpy(-2.0 * z, yk, out);
        }
        axpy(2.0 * s, u, out);
    };
    // Inexact Newton: relative residual min(0.1, ‖r‖) keeps the convergence quadratic.
    let tol = 0.1_f64.min(rnorm) * rnorm;
    x.iter_mut().for_each(|v| *v = 0.0);
    res.copy_from_slice(g);
    dir.copy_from_slice(g);
    let mut rr = rnorm * rnorm;
    for _ in 0..2 * p + 10 {
        apply(dir, ad, zv);
        let curv = dot(dir, ad);
        if curv <= 1e-12 * dot(dir, dir) {
            return None;
        }
        let alpha = rr / curv;
        axpy(alpha, dir, x);
        axpy(-alpha, ad, res);
        let rr_new = dot(res, res);
        if rr_new.sqrt() <= tol {
            break;
        }
        let beta = rr_new / rr;
        for (di, ri) in dir.iter_mut().zip(res.iter()) {
            *di = ri + beta * *di;
        }
        rr = rr_new;
    }
    Some(x.clone())
}
