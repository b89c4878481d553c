//! Matrix-free Gauss–Newton steps: the Jacobian as an operator, and the damped normal
//! equations solved by preconditioned conjugate gradients.
//!
//! A dense Levenberg–Marquardt step forms `JᵀJ` (N·P² multiply-adds) and factors it (P³/3):
//! at P ≈ 5,000 parameters that is 10¹¹ flops per iteration, and at P ≈ 66,000 (the second
//! layer of a (3072, 512, 128) network) `JᵀJ` alone needs 35 GB. Many Jacobians have
//! structure that makes `J·v` and `Jᵀ·w` cheap without forming `J` (for the student network
//! they are a few matrix products of the per-point features, O(N·m0·m1)), so a step can
//! instead solve `(JᵀJ + Λ) δ = −Jᵀr` by conjugate gradients on the normal equations,
//! preconditioned by `diag(JᵀJ) + Λ` (Jacobi). Each CG iteration costs one `J·v` and one
//! `Jᵀ·w`; near a solution inexact steps still converge (inexact Gauss–Newton: each step
//! reduces the error by about the inner tolerance, plus the usual quadratic term).

use nnid_linalg::{Linalg, LinalgError, Mat, dot};
use rayon::prelude::*;

/// The Jacobian `J` (N×P) of a least-squares problem at one parameter vector, as an
/// operator. Implementations are built by [`crate::LeastSquares::operator`].
pub trait JacobianOperator: Sync {
    /// `out = J·v` (v of length P, out of length N).
    fn apply(&self, v: &[f64], out: &mut [f64]);

    /// `out = Jᵀ·w` (w of length N, out of length P).
    fn apply_t(&self, w: &[f64], out: &mut [f64]);

    /// The squared column norms of `J`, `diag(JᵀJ)` (length P).
    fn column_sq_norms(&self) -> Vec<f64>;

    /// An approximate inverse of `JᵀJ + diag(damping)` for the conjugate gradients, set up
    /// once per step; `col_sq` is [`JacobianOperator::column_sq_norms`], computed once per
    /// linearisation by the caller. Default `None`: Jacobi, `diag(JᵀJ) + damping`.
    fn preconditioner<'s>(
        &'s self,
        _col_sq: &[f64],
        _damping: &[f64],
    ) -> Option<Box<dyn Preconditioner + 's>> {
        None
    }
}

/// An approximate inverse `M⁻¹` of the damped normal matrix (symmetric positive definite).
pub trait Preconditioner: Sync {
    /// `z = M⁻¹ r`.
    fn apply(&self, r: &[f64], z: &mut [f64]);
}

/// A dense Jacobian as an operator (small problems and tests; CG then uses Jacobi).
impl JacobianOperator for Mat {
    fn apply(&self, v: &[f64], out: &mut [f64]) {
        out.copy_from_slice(&self.matvec(v));
    }

    fn apply_t(&self, w: &[f64], out: &mut [f64]) {
        out.copy_from_slice(&self.matvec_t(w));
    }

    fn column_sq_norms(&self) -> Vec<f64> {
        self.columns().map(|c| dot(c, c)).collect()
    }
}

/// The Jacobi preconditioner `(diag(JᵀJ) + damping)⁻¹`.
struct Jacobi(Vec<f64>);

impl Preconditioner for Jacobi {
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        z.iter_mut()
            .zip(r.iter().zip(&self.0))
            .for_each(|(zk, (rk, m))| *zk = rk * m);
    }
}

/// Settings of the conjugate-gradient solve of one damped Gauss–Newton step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CgSettings {
    /// Stop when the preconditioned residual of the normal equations falls below this
    /// fraction of the right-hand side's. Default 10⁻¹⁰: the steps near the solution are
    /// then exact to far below the target misfits.
    pub rel_tol: f64,
    /// Most CG iterations per step. Default 500.
    pub max_iters: usize,
    /// When a step's CG has not converged after [`CgSettings::factor_after`] iterations
    /// and the problem has at most this many parameters, Levenberg–Marquardt factors
    /// `JᵀJ + Λ` at that iterate (the dense Jacobian, N·P² + P³/3 flops, 8·P² bytes for
    /// the factor), solves the step again with it and preconditions the later steps with
    /// it ([`FactoredPreconditioner`]): near a solution `J` hardly changes, so those steps
    /// converge in a few iterations however ill-conditioned `JᵀJ` is; when one does not
    /// within `factor_after`, the factor is rebuilt there. 0 never factors. Default 8,000
    /// (a 512 MB factor).
    pub factor_max_params: usize,
    /// The CG iterations after which an unconverged step is factored (see
    /// [`CgSettings::factor_max_params`]). Default 30: the second layer's polish (at
    /// λ₀ = 1e-10) converges in none of 150 iterations for either activation at
    /// (784, 128, 32) and (200, 100, 50), and the factor then costs about as much as 150
    /// iterations (docs/stages/second-layer.md).
    pub factor_after: usize,
    /// The CG iterations after which the *first* factorisation of a fit happens (before
    /// any factor exists; later refactorisations follow [`CgSettings::factor_after`]).
    /// Default 30, as `factor_after`; 0 factors at the first step, for fits known to need
    /// it (the second layer's polish: `SecondLayerConfig`).
    pub first_factor_after: usize,
}

impl Default for CgSettings {
    fn default() -> Self {
        Self {
            rel_tol: 1e-10,
            max_iters: 500,
            factor_max_params: 8_000,
            factor_after: 30,
            first_factor_after: 30,
        }
    }
}

/// The exact preconditioner `(JᵀJ + Λ)⁻¹ = L⁻ᵀL⁻¹` of one linearisation, from the
/// Cholesky factor L; used for the later steps of the same fit, where it is nearly exact.
/// Each application is two triangular solves, 2·P² multiply-adds.
#[derive(Clone, Debug)]
pub struct FactoredPreconditioner {
    l: Mat,
}

impl FactoredPreconditioner {
    /// Factors `normal + diag(damping)` (`normal` = `JᵀJ`, P×P, consumed: at the sizes
    /// this is for it is hundreds of megabytes).
    ///
    /// # Errors
    /// [`LinalgError::NotPositiveDefinite`] (or non-finite input) from the backend.
    pub fn new(la: Linalg<'_>, mut normal: Mat, damping: &[f64]) -> Result<Self, LinalgError> {
        add_to_diagonal(&mut normal, damping);
        Ok(Self {
            l: la.cholesky(&normal)?,
        })
    }
}

/// `m += diag(d)` for a square `m`: the damped normal matrix `JᵀJ + Λ`.
pub(crate) fn add_to_diagonal(m: &mut Mat, d: &[f64]) {
    for (k, v) in d.iter().enumerate() {
        m[(k, k)] += v;
    }
}

/// Columns of L per block of the triangular solves: the rows below a block (forward) and
/// the columns of a block (backward) are split between threads, so each solve streams L
/// once with every core (memory-bound: 145 MB per solve at P = 4,256). Row chunks and
/// blocks are fixed, so the result does not depend on the thread count.
const SOLVE_BLOCK: usize = 128;

/// Rows per parallel chunk of the forward solve's block update.
const SOLVE_ROWS: usize = 1024;

impl FactoredPreconditioner {
    /// `z ← L⁻¹ z`, by blocks of columns: the small triangle of a block in sequence, then
    /// the rows below it updated in parallel chunks.
    fn forward_solve(&self, z: &mut [f64]) {
        let (l, n) = (&self.l, self.l.nrows());
        for k0 in (0..n).step_by(SOLVE_BLOCK) {
            let k1 = (k0 + SOLVE_BLOCK).min(n);
            for k in k0..k1 {
                let col = l.col(k);
                z[k] /= col[k];
                let zk = z[k];
                z[k + 1..k1]
                    .iter_mut()
                    .zip(&col[k + 1..k1])
                    .for_each(|(zi, lik)| *zi -= lik * zk);
            }
            let (solved, below) = z.split_at_mut(k1);
            let block = &solved[k0..k1];
            below
                .par_chunks_mut(SOLVE_ROWS)
                .enumerate()
                .for_each(|(c, rows)| {
                    let first = k1 + c * SOLVE_ROWS;
                    for (k, zk) in (k0..k1).zip(block) {
                        let col = &l.col(k)[first..first + rows.len()];
                        rows.iter_mut()
                            .zip(col)
                            .for_each(|(zi, lik)| *zi -= lik * zk);
                    }
                });
        }
    }

    /// `z ← L⁻ᵀ z`, by blocks of columns from the bottom: the dot products of a block's
    /// columns with the solved part in parallel, then the small triangle in sequence.
    fn backward_solve(&self, z: &mut [f64]) {
        let (l, n) = (&self.l, self.l.nrows());
        for k0 in (0..n).step_by(SOLVE_BLOCK).rev() {
            let k1 = (k0 + SOLVE_BLOCK).min(n);
            let (head, solved) = z.split_at_mut(k1);
            let below: Vec<f64> = (k0..k1)
                .into_par_iter()
                .map(|k| dot(&l.col(k)[k1..], solved))
                .collect();
            let block = &mut head[k0..k1];
            block.iter_mut().zip(&below).for_each(|(zk, b)| *zk -= b);
            for k in (k0..k1).rev() {
                let col = &l.col(k)[k + 1..k1];
                let inside = dot(col, &block[k + 1 - k0..]);
                block[k - k0] = (block[k - k0] - inside) / l.col(k)[k];
            }
        }
    }
}

impl Preconditioner for FactoredPreconditioner {
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        // L y = r, then Lᵀ z = y.
        z.copy_from_slice(r);
        self.forward_solve(z);
        self.backward_solve(z);
    }
}

/// The outcome of [`solve_damped_normal`].
#[derive(Clone, Debug, PartialEq)]
pub struct CgSolve {
    /// The step δ.
    pub step: Vec<f64>,
    /// CG iterations used.
    pub iterations: usize,
    /// Final ‖r‖/‖b‖ of the normal equations (unpreconditioned).
    pub rel_residual: f64,
}

/// Solves `(JᵀJ + diag(damping)) δ = rhs` by conjugate gradients preconditioned with the
/// operator's [`JacobianOperator::preconditioner`], or `diag(JᵀJ) + damping` (`col_sq` is
/// `diag(JᵀJ)`). The matrix is symmetric positive definite whenever every damping entry
/// is positive.
pub fn solve_damped_normal(
    op: &dyn JacobianOperator,
    col_sq: &[f64],
    damping: &[f64],
    rhs: &[f64],
    n_residuals: usize,
    cfg: &CgSettings,
) -> CgSolve {
    let precond = op.preconditioner(col_sq, damping).unwrap_or_else(|| {
        Box::new(Jacobi(
            col_sq
                .iter()
                .zip(damping)
                .map(|(c, l)| {
                    let m = c + l;
                    if m > 0.0 { 1.0 / m } else { 1.0 }
                })
                .collect(),
        ))
    });
    solve_preconditioned(op, damping, rhs, n_residuals, cfg, precond.as_ref())
}

/// Conjugate gradients on `(JᵀJ + diag(damping)) δ = rhs` with the given preconditioner.
pub fn solve_preconditioned(
    op: &dyn JacobianOperator,
    damping: &[f64],
    rhs: &[f64],
    n_residuals: usize,
    cfg: &CgSettings,
    precond: &dyn Preconditioner,
) -> CgSolve {
    let np = rhs.len();
    let rhs_norm = dot(rhs, rhs).sqrt();
    let mut x = vec![0.0; np];
    if rhs_norm == 0.0 {
        return CgSolve {
            step: x,
            iterations: 0,
            rel_residual: 0.0,
        };
    }
    let mut r = rhs.to_vec();
    let mut z = vec![0.0; np];
    precond.apply(&r, &mut z);
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    let mut jp = vec![0.0; n_residuals];
    let mut q = vec![0.0; np];
    let mut iterations = 0;
    let mut rel = 1.0;
    while iterations < cfg.max_iters {
        iterations += 1;
        op.apply(&p, &mut jp);
        op.apply_t(&jp, &mut q);
        q.iter_mut()
            .zip(damping.iter().zip(&p))
            .for_each(|(qk, (l, pk))| *qk += l * pk);
        let pq = dot(&p, &q);
        if pq.is_nan() || pq <= 0.0 {
            break;
        }
        let alpha = rz / pq;
        x.iter_mut().zip(&p).for_each(|(xk, pk)| *xk += alpha * pk);
        r.iter_mut().zip(&q).for_each(|(rk, qk)| *rk -= alpha * qk);
        rel = dot(&r, &r).sqrt() / rhs_norm;
        if rel <= cfg.rel_tol {
            break;
        }
        precond.apply(&r, &mut z);
        let rz_new = dot(&r, &z);
        let beta = rz_new / rz;
        rz = rz_new;
        p.iter_mut()
            .zip(&z)
            .for_each(|(pk, zk)| *pk = zk + beta * *pk);
    }
    CgSolve {
        step: x,
        iterations,
        rel_residual: rel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The blocked, parallel triangular solves across several blocks and row chunks
    /// (n > SOLVE_ROWS + SOLVE_BLOCK): L has unit diagonal and entries U(−1, 1)/n below it,
    /// so ‖L − I‖₂ ≤ ‖L − I‖_F ≈ 0.41 and cond(LLᵀ) ≤ (1.41/0.59)² ≈ 5.7; a backward-stable
    /// solve leaves ‖LLᵀz − r‖/‖r‖ ≲ n·ε·cond ≈ 2e-12, so 1e-11.
    #[test]
    fn blocked_triangular_solves_invert_l_lt() {
        use rand::{Rng, SeedableRng};
        let n = SOLVE_ROWS + 3 * SOLVE_BLOCK + 17;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let l = Mat::from_fn(n, n, |i, j| match i.cmp(&j) {
            std::cmp::Ordering::Equal => 1.0,
            std::cmp::Ordering::Greater => rng.random_range(-1.0..1.0) / n as f64,
            std::cmp::Ordering::Less => 0.0,
        });
        let r: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut z = vec![0.0; n];
        FactoredPreconditioner { l: l.clone() }.apply(&r, &mut z);
        let back = l.matvec(&l.matvec_t(&z));
        let err: f64 = back
            .iter()
            .zip(&r)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            err <= 1e-11 * nnid_linalg::norm2(&r),
            "‖LLᵀz − r‖ = {err:e}"
        );
    }

    proptest! {
        /// On a well-conditioned random J (Gaussian, N = 3P), CG solves the damped normal
        /// equations to its tolerance: the residual `(JᵀJ + Λ)δ − b` is below
        /// 10⁻⁸·‖b‖ (the tolerance is 10⁻¹⁰ on the recursive residual; the true one can
        /// differ by rounding times the condition number, ≲ 10² here).
        #[test]
        fn cg_solves_the_damped_normal_equations(seed in 0u64..1000, np in 1usize..30) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let nr = 3 * np;
            let j = Mat::from_fn(nr, np, |_, _| rng.random_range(-1.0..1.0));
            let damping: Vec<f64> = (0..np).map(|_| rng.random_range(0.0..0.1)).collect();
            let b: Vec<f64> = (0..np).map(|_| rng.random_range(-1.0..1.0)).collect();
            let op = j.clone();
            let sol = solve_damped_normal(&op, &op.column_sq_norms(), &damping, &b, nr,
                &CgSettings { rel_tol: 1e-10, max_iters: 10 * np + 10, factor_max_params: 0, factor_after: 0, first_factor_after: 0 });
            let jd = j.matvec(&sol.step);
            let mut res = j.matvec_t(&jd);
            for k in 0..np {
                res[k] += damping[k] * sol.step[k] - b[k];
            }
            let bn = dot(&b, &b).sqrt();
            prop_assert!(dot(&res, &res).sqrt() <= 1e-8 * bn, "residual {:e}", dot(&res, &res).sqrt() / bn);
        }

        /// The factored preconditioner of the same damped matrix is its exact inverse: CG
        /// converges in one iteration up to rounding (the factor's relative error is about
        /// ε·κ(JᵀJ) ≤ 10⁻⁶ here, so a second or third iteration may be needed), however
        /// badly the columns are scaled (10⁰…10⁻⁴, which Jacobi would undo but not rotated).
        #[test]
        fn the_factored_preconditioner_solves_in_a_few_iterations(seed in 0u64..1000, np in 1usize..30) {
            use rand::{Rng, SeedableRng};
            let la = nnid_linalg::BackendKind::default_compiled().unwrap().linalg().unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let nr = 3 * np;
            let g = Mat::from_fn(nr, np, |_, _| rng.random_range(-1.0..1.0));
            let rot = la.qr(&Mat::from_fn(np, np, |_, _| rng.random_range(-1.0..1.0))).unwrap().q;
            let scales = Mat::from_fn(np, np, |i, j| rot[(j, i)] * 10f64.powf(-4.0 * i as f64 / np as f64));
            let j = la.matmul(&g, nnid_linalg::Op::NoTrans, &la.matmul(&rot, nnid_linalg::Op::NoTrans, &scales, nnid_linalg::Op::NoTrans), nnid_linalg::Op::NoTrans);
            let damping = vec![1e-12; np];
            let b: Vec<f64> = (0..np).map(|_| rng.random_range(-1.0..1.0)).collect();
            let normal = la.matmul(&j, nnid_linalg::Op::Trans, &j, nnid_linalg::Op::NoTrans);
            let factor = FactoredPreconditioner::new(la, normal, &damping).unwrap();
            let op = j.clone();
            let cfg = CgSettings { rel_tol: 1e-10, max_iters: 50, ..CgSettings::default() };
            let sol = solve_preconditioned(&op, &damping, &b, nr, &cfg, &factor);
            prop_assert!(sol.iterations <= 3, "{} iterations, residual {:e}", sol.iterations, sol.rel_residual);
            prop_assert!(sol.rel_residual <= 1e-10);
        }
    }
}
