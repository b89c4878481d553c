//! Counted, radius-checked oracle access and the small vector helpers both stages share.

use crate::{Result, SaturationError};
use nnid_linalg::{Mat, dot, norm2};
use nnid_nn_model::Oracle;
use rand::Rng;
use rand_distr::StandardNormal;
use std::sync::atomic::{AtomicU64, Ordering};

/// An oracle seen through the route's bookkeeping: counts the points sent, tracks the
/// farthest one and refuses batches beyond `max_radius` before they are sent. Shared by
/// reference between rayon tasks (the counters are atomic).
pub(crate) struct Probe<'o> {
    oracle: &'o dyn Oracle,
    max_radius: Option<f64>,
    queries: AtomicU64,
    /// Bits of the largest ‖x‖ queried (non-negative floats order like their bits).
    farthest: AtomicU64,
}

impl<'o> Probe<'o> {
    pub(crate) fn new(oracle: &'o dyn Oracle, max_radius: Option<f64>) -> Self {
        Self {
            oracle,
            max_radius,
            queries: AtomicU64::new(0),
            farthest: AtomicU64::new(0),
        }
    }

    /// `f` at every column of `points`; `stage` names the caller in a radius error.
    pub(crate) fn query(&self, points: &Mat, stage: &'static str) -> Result<Vec<f64>> {
        let far = points.columns().map(sq_norm).fold(0.0_f64, f64::max).sqrt();
        self.query_with_farthest(points, far, stage)
    }

    /// As [`Probe::query`] when the caller knows the largest column norm `far` (computed in
    /// O(1) per point for structured batches such as x + ε·e_k).
    pub(crate) fn query_with_farthest(
        &self,
        points: &Mat,
        far: f64,
        stage: &'static str,
    ) -> Result<Vec<f64>> {
        self.check_radius(far, stage)?;
        self.farthest.fetch_max(far.to_bits(), Ordering::Relaxed);
        self.queries
            .fetch_add(points.ncols() as u64, Ordering::Relaxed);
        Ok(self.oracle.query(points)?)
    }

    /// Refuses a (predicted) query norm beyond `max_radius`.
    pub(crate) fn check_radius(&self, norm: f64, stage: &'static str) -> Result<()> {
        match self.max_radius {
            Some(max_radius) if norm > max_radius => Err(SaturationError::RadiusTooSmall {
                stage,
                needed: norm,
                max_radius,
            }),
            _ => Ok(()),
        }
    }

    pub(crate) fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    pub(crate) fn farthest(&self) -> f64 {
        f64::from_bits(self.farthest.load(Ordering::Relaxed))
    }

    /// Starts a new window for [`Probe::farthest`] (per-line figures) and returns the
    /// overall farthest so far, to be restored with [`Probe::end_window`].
    pub(crate) fn start_window(&self) -> f64 {
        f64::from_bits(self.farthest.swap(0, Ordering::Relaxed))
    }

    /// Ends a window: returns the window's farthest and folds `overall` back in.
    pub(crate) fn end_window(&self, overall: f64) -> f64 {
        let window = self.farthest();
        self.farthest
            .fetch_max(overall.to_bits(), Ordering::Relaxed);
        window
    }

    pub(crate) fn input_dim(&self) -> usize {
        self.oracle.input_dim()
    }
}

/// ‖v‖², with four partial sums so the loop vectorises.
pub(crate) fn sq_norm(v: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let mut chunks = v.chunks_exact(4);
    for c in &mut chunks {
        for k in 0..4 {
            acc[k] += c[k] * c[k];
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|x| x * x).sum();
    acc[0] + acc[1] + acc[2] + acc[3] + tail
}

/// A standard Gaussian vector of length `n`.
pub(crate) fn gaussian(rng: &mut impl Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.sample(StandardNormal)).collect()
}

/// Removes from `v` its components along the orthonormal columns of `q` (twice, for
/// orthogonality to rounding) and along the unit vectors `extra`.
pub(crate) fn project_out(v: &mut [f64], q: Option<&Mat>, extra: &[&[f64]]) {
    for _ in 0..2 {
        if let Some(q) = q {
            for c in q.columns() {
                let s = dot(c, v);
                nnid_linalg::axpy(-s, c, v);
            }
        }
        for e in extra {
            let s = dot(e, v);
            nnid_linalg::axpy(-s, e, v);
        }
    }
}

/// A random unit vector orthogonal to the columns of `q` and to `extra` (all orthonormal),
/// or `None` if the complement is (numerically) empty.
pub(crate) fn random_unit_in_complement(
    rng: &mut impl Rng,
    n: usize,
    q: Option<&Mat>,
    extra: &[&[f64]],
) -> Option<Vec<f64>> {
    for _ in 0..8 {
        let mut v = gaussian(rng, n);
        let before = norm2(&v);
        project_out(&mut v, q, extra);
        let after = nnid_linalg::normalize(&mut v);
        if after > 1e-6 * before {
            return Some(v);
        }
    }
    None
}

/// The Householder reflection `H = I − 2wwᵀ/‖w‖²` that maps `e_p` to a multiple of the unit
/// vector `a` (p the index of a's largest entry, for stability). `H` is symmetric and
/// orthogonal, so its columns other than p are an orthonormal basis of `a^⊥`, available in
/// O(d) each without forming a d×d matrix.
pub(crate) struct Reflector {
    w: Vec<f64>,
    /// 2/‖w‖².
    beta: f64,
    /// The pivot index p (column p of H is ±a).
    pub(crate) pivot: usize,
}

impl Reflector {
    pub(crate) fn new(a: &[f64]) -> Self {
        let pivot = a
            .iter()
            .enumerate()
            .fold((0, 0.0_f64), |(bi, bv), (i, &v)| {
                if v.abs() > bv { (i, v.abs()) } else { (bi, bv) }
            })
            .0;
        let mut w = a.to_vec();
        w[pivot] += a[pivot].signum() * norm2(a);
        let ww = dot(&w, &w);
        Self {
            w,
            beta: 2.0 / ww,
            pivot,
        }
    }

    /// Writes column k of H, `e_k − β w_k w`, into `out`.
    pub(crate) fn column_into(&self, k: usize, out: &mut [f64]) {
        let s = self.beta * self.w[k];
        out.iter_mut().zip(&self.w).for_each(|(o, wi)| *o = -s * wi);
        out[k] += 1.0;
    }

    /// `xᵀ(column k of H)` given `wx = wᵀx`: `x_k − β w_k (wᵀx)`, in O(1).
    pub(crate) fn column_dot(&self, k: usize, x: &[f64], wx: f64) -> f64 {
        x[k] - self.beta * self.w[k] * wx
    }

    /// `wᵀx`, for [`Reflector::column_dot`].
    pub(crate) fn w_dot(&self, x: &[f64]) -> f64 {
        dot(&self.w, x)
    }

    /// `H c` for a coefficient vector c (entry p ignored): `c − β (wᵀc) w`.
    pub(crate) fn apply(&self, c: &[f64]) -> Vec<f64> {
        let s = self.beta * dot(&self.w, c);
        c.iter().zip(&self.w).map(|(ci, wi)| ci - s * wi).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn reflector_columns_are_an_orthonormal_basis_of_the_complement() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for d in [2, 5, 17] {
            let mut a = gaussian(&mut rng, d);
            nnid_linalg::normalize(&mut a);
            let h = Reflector::new(&a);
            let mut cols = Vec::new();
            for k in 0..d {
                let mut c = vec![0.0; d];
                h.column_into(k, &mut c);
                cols.push(c);
            }
            for j in 0..d {
                for k in 0..d {
                    let expect = if j == k { 1.0 } else { 0.0 };
                    assert!(
                        (dot(&cols[j], &cols[k]) - expect).abs() < 1e-14,
                        "d = {d}: <h{j}, h{k}>"
                    );
                }
                if j == h.pivot {
                    assert!(
                        (dot(&cols[j], &a).abs() - 1.0).abs() < 1e-14,
                        "d = {d}: pivot column is ±a"
                    );
                } else {
                    assert!(dot(&cols[j], &a).abs() < 1e-14, "d = {d}: column {j} ⊥ a");
                }
            }
            // apply(c) = Σ_k c_k h_k.
            let c = gaussian(&mut rng, d);
            let hc = h.apply(&c);
            for i in 0..d {
                let direct: f64 = (0..d).map(|k| c[k] * cols[k][i]).sum();
                assert!((hc[i] - direct).abs() < 1e-13);
            }
        }
    }

    #[test]
    fn random_complement_vectors_are_orthogonal() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let e0: Vec<f64> = (0..6).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
        let q = Mat::from_columns(6, &[e0]);
        let v = random_unit_in_complement(&mut rng, 6, Some(&q), &[]).unwrap();
        let u = random_unit_in_complement(&mut rng, 6, Some(&q), &[&v]).unwrap();
        assert!(v[0].abs() < 1e-15 && u[0].abs() < 1e-15);
        assert!(dot(&u, &v).abs() < 1e-15);
        assert!((norm2(&u) - 1.0).abs() < 1e-15);
        // A full basis leaves nothing.
        let full = Mat::identity(3);
        assert!(random_unit_in_complement(&mut rng, 3, Some(&full), &[]).is_none());
    }
}
