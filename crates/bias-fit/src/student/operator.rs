//! The student's Jacobian as an operator (module [`crate::operator`]): `J·v` and `Jᵀ·w`
//! by matrix products of the per-point features, never forming J.
//!
//! With the features U (u_i), G (g(y_i)), Ω (ω_l), H (h(z_l)) of every point (N×m0 or
//! N×m1) and the points X (N×d), the data rows of `J·v` for a direction
//! (δA, δθ, δB, δτ, δc) are
//! `Σ_i U_xi ((X δA)_xi + δθ_i) + Σ_l Ω_xl ((G δB)_xl + δτ_l) + Σ_l H_xl δc_l`,
//! and `Jᵀw` is `(Xᵀ diag(w) U, Uᵀw, Gᵀ diag(w) Ω, Ωᵀw, Hᵀw)`: O(N·(d·m0 + m0·m1)) per
//! product instead of O(N·P) memory for J. The penalty rows add `2w⟨a_i, δa_i⟩` (and the
//! same for b_l, c_l).

use super::{Features, StudentModel, StudentProblem};
use crate::operator::{JacobianOperator, Preconditioner};
use nnid_linalg::{Linalg, Mat, Op, dot};
use rayon::prelude::*;
use std::sync::OnceLock;

/// Offsets of the free blocks in the parameter vector (layout of [`StudentProblem`]).
#[derive(Clone, Copy, Debug, Default)]
struct Offsets {
    a: Option<usize>,
    theta: Option<usize>,
    b: Option<usize>,
    tau: Option<usize>,
    c: Option<usize>,
}

/// The Jacobian of a [`StudentProblem`] at one parameter vector.
pub(super) struct StudentOperator<'p> {
    la: Linalg<'p>,
    problem: &'p StudentProblem<'p>,
    model: StudentModel,
    feats: Features,
    at: Offsets,
    /// The Kronecker factors of the (B, τ) block, computed on first use.
    kron: OnceLock<Option<KroneckerFactors>>,
}

impl<'p> StudentOperator<'p> {
    pub(super) fn new(la: Linalg<'p>, problem: &'p StudentProblem<'p>, p: &[f64]) -> Self {
        let model = problem.model_at(p);
        let feats = problem.features(&model);
        let (d, m0, m1) = model.dims();
        let free = problem.free;
        let mut next = 0;
        let mut take = |on: bool, len: usize| {
            on.then(|| {
                let start = next;
                next += len;
                start
            })
        };
        let at = Offsets {
            a: take(free.a, d * m0),
            theta: take(free.theta, m0),
            b: take(free.b, m0 * m1),
            tau: take(free.tau, m1),
            c: take(free.c, m1),
        };
        Self {
            la,
            problem,
            model,
            feats,
            at,
            kron: OnceLock::new(),
        }
    }

    fn n(&self) -> usize {
        self.feats.u.nrows()
    }

    fn block(v: &[f64], at: Option<usize>, len: usize) -> Option<&[f64]> {
        at.map(|s| &v[s..s + len])
    }

    /// `out += Σ_k M_xk W_xk` over the columns k (row-wise inner products).
    fn add_row_dots(out: &mut [f64], m: &Mat, w: &Mat) {
        for (mc, wc) in m.columns().zip(w.columns()) {
            out.iter_mut()
                .zip(mc.iter().zip(wc))
                .for_each(|(o, (a, b))| *o += a * b);
        }
    }

    /// `m` with row x scaled by `w[x]`.
    fn scale_rows(m: &Mat, w: &[f64]) -> Mat {
        let mut out = m.clone();
        out.as_mut_slice()
            .par_chunks_mut(w.len().max(1))
            .for_each(|col| col.iter_mut().zip(w).for_each(|(c, s)| *c *= s));
        out
    }

    /// `m` with every entry squared.
    fn squared(m: &Mat) -> Mat {
        let mut out = m.clone();
        out.as_mut_slice().iter_mut().for_each(|v| *v *= *v);
        out
    }

    /// `op(a)·b`, the columns of b split over the rayon threads (the backends run each
    /// product on one thread).
    fn product(&self, a: &Mat, op: Op, b: &Mat) -> Mat {
        let k = b.nrows();
        let parts = rayon::current_num_threads().clamp(1, b.ncols().max(1));
        let width = b.ncols().div_ceil(parts).max(1);
        let pieces: Vec<Mat> = (0..b.ncols())
            .step_by(width)
            .collect::<Vec<_>>()
            .par_iter()
            .map(|&s| {
                let e = (s + width).min(b.ncols());
                let bb = Mat::from_col_major(k, e - s, b.as_slice()[s * k..e * k].to_vec());
                self.la.matmul(a, op, &bb, Op::NoTrans)
            })
            .collect();
        let rows = pieces.first().map_or(0, Mat::nrows);
        let data: Vec<f64> = pieces.into_iter().flat_map(Mat::into_vec).collect();
        Mat::from_col_major(rows, b.ncols(), data)
    }

    /// `Mᵀw`: the inner product of every column of `m` with `w`.
    fn col_dots(m: &Mat, w: &[f64]) -> Vec<f64> {
        m.columns().map(|c| dot(c, w)).collect()
    }
}

/// Writes `vals` at offset `at` of `out`, if the block is free.
fn put_block(out: &mut [f64], at: Option<usize>, vals: &[f64]) {
    if let Some(s) = at {
        out[s..s + vals.len()].copy_from_slice(vals);
    }
}

impl JacobianOperator for StudentOperator<'_> {
    fn apply(&self, v: &[f64], out: &mut [f64]) {
        let (d, m0, m1) = self.model.dims();
        let n = self.n();
        let f = &self.feats;
        let (data, pen) = out.split_at_mut(n);
        data.fill(0.0);
        let theta = Self::block(v, self.at.theta, m0);
        if let Some(da) = Self::block(v, self.at.a, d * m0) {
            let da = Mat::from_col_major(d, m0, da.to_vec());
            let mut w = self.product(self.problem.data.points_t(), Op::NoTrans, &da);
            if let Some(t) = theta {
                for (i, ti) in t.iter().enumerate() {
                    w.col_mut(i).iter_mut().for_each(|x| *x += ti);
                }
            }
            Self::add_row_dots(data, &f.u, &w);
        } else if let Some(t) = theta {
            data.copy_from_slice(&f.u.matvec(t));
        }
        let tau = Self::block(v, self.at.tau, m1);
        if let Some(db) = Self::block(v, self.at.b, m0 * m1) {
            let db = Mat::from_col_major(m0, m1, db.to_vec());
            let mut w = self.product(&f.g, Op::NoTrans, &db);
            if let Some(t) = tau {
                for (l, tl) in t.iter().enumerate() {
                    w.col_mut(l).iter_mut().for_each(|x| *x += tl);
                }
            }
            Self::add_row_dots(data, &f.omega, &w);
        } else if let Some(t) = tau {
            let add = f.omega.matvec(t);
            data.iter_mut().zip(add).for_each(|(o, a)| *o += a);
        }
        if let Some(dc) = Self::block(v, self.at.c, m1) {
            let add = f.h.matvec(dc);
            data.iter_mut().zip(add).for_each(|(o, a)| *o += a);
        }
        self.apply_penalties(v, pen);
    }

    fn apply_t(&self, w: &[f64], out: &mut [f64]) {
        let (d, m0, m1) = self.model.dims();
        let n = self.n();
        let f = &self.feats;
        let (wd, wp) = w.split_at(n);
        if self.at.a.is_some() {
            let wu = Self::scale_rows(&f.u, wd);
            let ga = self.product(self.problem.data.points_t(), Op::Trans, &wu);
            put_block(out, self.at.a, &ga.as_slice()[..d * m0]);
        }
        put_block(out, self.at.theta, &Self::col_dots(&f.u, wd));
        if self.at.b.is_some() {
            let wo = Self::scale_rows(&f.omega, wd);
            let gb = self.product(&f.g, Op::Trans, &wo);
            put_block(out, self.at.b, &gb.as_slice()[..m0 * m1]);
        }
        put_block(out, self.at.tau, &Self::col_dots(&f.omega, wd));
        put_block(out, self.at.c, &Self::col_dots(&f.h, wd));
        self.apply_t_penalties(wp, out);
    }

    fn column_sq_norms(&self) -> Vec<f64> {
        let (d, m0, m1) = self.model.dims();
        let f = &self.feats;
        let mut out = vec![0.0; self.problem.params.len()];
        let sq_sums = |m: &Mat| -> Vec<f64> { m.columns().map(|c| dot(c, c)).collect() };
        if self.at.a.is_some() {
            let x2 = Self::squared(self.problem.data.points_t());
            let na = self.product(&x2, Op::Trans, &Self::squared(&f.u));
            put_block(&mut out, self.at.a, &na.as_slice()[..d * m0]);
        }
        put_block(&mut out, self.at.theta, &sq_sums(&f.u));
        if self.at.b.is_some() {
            let g2 = Self::squared(&f.g);
            let nb = self.product(&g2, Op::Trans, &Self::squared(&f.omega));
            put_block(&mut out, self.at.b, &nb.as_slice()[..m0 * m1]);
        }
        put_block(&mut out, self.at.tau, &sq_sums(&f.omega));
        put_block(&mut out, self.at.c, &sq_sums(&f.h));
        let w2 = 2.0 * self.problem.weight;
        self.for_each_penalty(|_, at, len, values| {
            out[at..at + len]
                .iter_mut()
                .zip(values)
                .for_each(|(o, v)| *o += (w2 * v) * (w2 * v));
        });
        out
    }

    fn preconditioner<'s>(
        &'s self,
        col_sq: &[f64],
        damping: &[f64],
    ) -> Option<Box<dyn Preconditioner + 's>> {
        let at_b = self.at.b?;
        let kron = self
            .kron
            .get_or_init(|| self.kronecker_factors())
            .as_ref()?;
        let (_, m0, m1) = self.model.dims();
        let tau_len = if self.at.tau.is_some() { m1 } else { 0 };
        let block = &damping[at_b..at_b + m0 * m1];
        let mu = block.iter().sum::<f64>() / block.len().max(1) as f64;
        let jacobi = col_sq
            .iter()
            .zip(damping)
            .map(|(c, l)| if c + l > 0.0 { 1.0 / (c + l) } else { 1.0 })
            .collect();
        Some(Box::new(KroneckerPreconditioner {
            la: self.la,
            factors: kron,
            mu,
            at_b,
            at_tau: self.at.tau,
            dims: (m0, m1, tau_len),
            jacobi,
        }))
    }
}

/// `(ΩᵀΩ) ⊗ (ΦᵀΦ) / N ≈` the (B, τ) block of `JᵀJ`, with Φ = [G | 1] when τ is free (K-FAC's
/// approximation: the Jacobian column of B_il is ω_l·φ_i, so the block is
/// `Σ_x ω ωᵀ ⊗ φ φᵀ`, approximated by the product of the two averages), held as the
/// eigendecompositions of both factors so that the damped inverse is two small products.
struct KroneckerFactors {
    phi_vectors: Mat,
    phi_values: Vec<f64>,
    omega_vectors: Mat,
    omega_values: Vec<f64>,
    n: f64,
}

/// The preconditioner: the Kronecker inverse on the (B, τ) block, Jacobi elsewhere.
struct KroneckerPreconditioner<'k> {
    la: Linalg<'k>,
    factors: &'k KroneckerFactors,
    mu: f64,
    at_b: usize,
    at_tau: Option<usize>,
    /// (m0, m1, length of the τ block: m1 or 0).
    dims: (usize, usize, usize),
    jacobi: Vec<f64>,
}

impl Preconditioner for KroneckerPreconditioner<'_> {
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        z.iter_mut()
            .zip(r.iter().zip(&self.jacobi))
            .for_each(|(zk, (rk, m))| *zk = rk * m);
        let (m0, m1, tau_len) = self.dims;
        let rows = m0 + usize::from(tau_len > 0);
        let k = self.factors;
        let rb = Mat::from_fn(rows, m1, |i, l| {
            if i < m0 {
                r[self.at_b + l * m0 + i]
            } else {
                self.at_tau.map_or(0.0, |t| r[t + l])
            }
        });
        let la = self.la;
        let t = la.matmul(&k.phi_vectors, Op::Trans, &rb, Op::NoTrans);
        let t = la.matmul(&t, Op::NoTrans, &k.omega_vectors, Op::NoTrans);
        let scaled = Mat::from_fn(rows, m1, |i, l| {
            t[(i, l)] / (k.phi_values[i] * k.omega_values[l] / k.n + self.mu)
        });
        let zb = la.matmul(&k.phi_vectors, Op::NoTrans, &scaled, Op::NoTrans);
        let zb = la.matmul(&zb, Op::NoTrans, &k.omega_vectors, Op::Trans);
        for l in 0..m1 {
            z[self.at_b + l * m0..self.at_b + (l + 1) * m0].copy_from_slice(&zb.col(l)[..m0]);
            if let Some(at) = self.at_tau {
                z[at + l] = zb[(m0, l)];
            }
        }
    }
}

impl StudentOperator<'_> {
    /// The factors of [`KroneckerFactors`], or `None` when an eigendecomposition fails.
    fn kronecker_factors(&self) -> Option<KroneckerFactors> {
        let f = &self.feats;
        let n = self.n();
        let phi = if self.at.tau.is_some() {
            let mut data = f.g.as_slice().to_vec();
            data.extend(std::iter::repeat_n(1.0, n));
            Mat::from_col_major(n, f.g.ncols() + 1, data)
        } else {
            f.g.clone()
        };
        let cp = self.la.matmul(&phi, Op::Trans, &phi, Op::NoTrans);
        let co = self.la.matmul(&f.omega, Op::Trans, &f.omega, Op::NoTrans);
        let ep = self.la.eigh(&cp).ok()?;
        let eo = self.la.eigh(&co).ok()?;
        let floor = |v: Vec<f64>| -> Vec<f64> {
            let top = v.iter().fold(0.0_f64, |m, x| m.max(*x));
            v.into_iter().map(|x| x.max(1e-14 * top)).collect()
        };
        Some(KroneckerFactors {
            phi_vectors: ep.vectors,
            phi_values: floor(ep.values),
            omega_vectors: eo.vectors,
            omega_values: floor(eo.values),
            n: n as f64,
        })
    }
}

impl StudentOperator<'_> {
    /// Calls `visit(penalty row, offset of the row's parameters in the vector, count,
    /// their current values)` for every penalty row (`w(‖a_i‖² − 1)`, `w(‖b_l‖² − 1)`,
    /// `w(c_l² − 1)`): row r's Jacobian is `2w·values` on those parameters.
    fn for_each_penalty(&self, mut visit: impl FnMut(usize, usize, usize, &[f64])) {
        let (d, m0, m1) = self.model.dims();
        let n = self.n();
        let p = self.problem;
        if let (Some(rows), Some(at)) = (p.rows_a, self.at.a) {
            for i in 0..m0 {
                visit(rows - n + i, at + i * d, d, self.model.a.col(i));
            }
        }
        if let (Some(rows), Some(at)) = (p.rows_b, self.at.b) {
            for l in 0..m1 {
                visit(rows - n + l, at + l * m0, m0, self.model.b.col(l));
            }
        }
        if let (Some(rows), Some(at)) = (p.rows_c, self.at.c) {
            for l in 0..m1 {
                visit(rows - n + l, at + l, 1, &self.model.c[l..=l]);
            }
        }
    }

    fn apply_penalties(&self, v: &[f64], pen: &mut [f64]) {
        let w2 = 2.0 * self.problem.weight;
        pen.fill(0.0);
        self.for_each_penalty(|row, at, len, values| {
            pen[row] = w2 * dot(values, &v[at..at + len]);
        });
    }

    fn apply_t_penalties(&self, wp: &[f64], out: &mut [f64]) {
        let w2 = 2.0 * self.problem.weight;
        self.for_each_penalty(|row, at, len, values| {
            out[at..at + len]
                .iter_mut()
                .zip(values)
                .for_each(|(o, v)| *o += w2 * v * wp[row]);
        });
    }
}
