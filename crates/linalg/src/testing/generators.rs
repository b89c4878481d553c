//! Random matrices with a known spectrum, built with plain loops (no backend involved, so a
//! backend is never tested against itself).

use rand::Rng;
use rand_distr::StandardNormal;

use crate::{Mat, dot};

/// An `m × n` matrix `a ≈ left · diag(sigma) · rightᵀ`, with the factors it was built from.
#[derive(Clone, Debug)]
pub struct SpectralMatrix {
    /// The matrix (rounded from the exact product: its singular values differ from
    /// `sigma` by at most a few ε·p·σ₁).
    pub a: Mat,
    /// `m × p` orthonormal columns, p = min(m, n).
    pub left: Mat,
    /// The p singular values, non-increasing.
    pub sigma: Vec<f64>,
    /// `n × p` orthonormal columns.
    pub right: Mat,
}

impl SpectralMatrix {
    /// ‖a‖₂ = σ₁ (0 for an empty matrix).
    pub fn norm2(&self) -> f64 {
        self.sigma.first().copied().unwrap_or(0.0)
    }

    /// κ₂(a) = σ₁ / σ_p (infinite when rank deficient).
    pub fn cond(&self) -> f64 {
        match self.sigma.last() {
            Some(&s) if s > 0.0 => self.norm2() / s,
            Some(_) => f64::INFINITY,
            None => 1.0,
        }
    }

    /// The gap that governs the perturbation of singular pair `k` (Wedin): the distance from
    /// σ_k to every other singular value, and to 0 when the matrix is not square (the
    /// thin factors then have a complement whose singular values are 0).
    pub fn gap(&self, k: usize) -> f64 {
        let (m, n) = self.a.shape();
        let own = if m == n { f64::INFINITY } else { self.sigma[k] };
        distance_to_others(&self.sigma, k).min(own)
    }
}

/// A symmetric `n × n` matrix `a ≈ vectors · diag(values) · vectorsᵀ`.
#[derive(Clone, Debug)]
pub struct SymmetricMatrix {
    /// The matrix, exactly symmetric.
    pub a: Mat,
    /// Orthonormal eigenvectors (columns), in the order of `values`.
    pub vectors: Mat,
    /// The eigenvalues, non-decreasing.
    pub values: Vec<f64>,
}

impl SymmetricMatrix {
    /// ‖a‖₂ = max |λ|.
    pub fn norm2(&self) -> f64 {
        self.values.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
    }

    /// κ₂(a) = max |λ| / min |λ|.
    pub fn cond(&self) -> f64 {
        let min = self
            .values
            .iter()
            .fold(f64::INFINITY, |m, v| m.min(v.abs()));
        if min > 0.0 {
            self.norm2() / min
        } else {
            f64::INFINITY
        }
    }

    /// Distance from λ_k to the nearest other eigenvalue (Davis–Kahan gap).
    pub fn gap(&self, k: usize) -> f64 {
        distance_to_others(&self.values, k)
    }
}

fn distance_to_others(values: &[f64], k: usize) -> f64 {
    values
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != k)
        .fold(f64::INFINITY, |m, (_, v)| m.min((v - values[k]).abs()))
}

/// How the singular values (or |eigenvalues|) of a generated matrix are spread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SpectrumShape {
    /// Distinct values in `[s/10, s]`, consecutive ones at least `0.45·s/p` apart: gaps are
    /// known and large, for tests that compare singular vectors.
    Separated,
    /// Geometric decay from `s` to `s / cond`.
    Graded {
        /// The condition number σ₁/σ_p.
        cond: f64,
    },
    /// Values drawn from `{s, s/2, s/4}`, so most are repeated (vectors are not unique).
    Clustered,
    /// Like `Separated`, but about half of the values (never σ₁) are exactly zero.
    RankDeficient,
}

/// `p` non-negative values of the given shape, non-increasing, the largest equal to `scale`.
pub fn spectrum<R: Rng + ?Sized>(
    rng: &mut R,
    p: usize,
    shape: SpectrumShape,
    scale: f64,
) -> Vec<f64> {
    let pf = p.max(1) as f64;
    let mut s: Vec<f64> = match shape {
        SpectrumShape::Separated | SpectrumShape::RankDeficient => {
            // s·(1 − 0.9·(k + u_k/2)/p): steps of 0.9·s/p minus at most half a step of jitter.
            (0..p)
                .map(|k| scale * (1.0 - 0.9 * (k as f64 + 0.5 * rng.random::<f64>()) / pf))
                .collect()
        }
        SpectrumShape::Graded { cond } => {
            let span = if p > 1 { (p - 1) as f64 } else { 1.0 };
            (0..p)
                .map(|k| scale * cond.powf(-(k as f64) / span))
                .collect()
        }
        SpectrumShape::Clustered => (0..p)
            .map(|_| scale / f64::from(1 << rng.random_range(0..3)))
            .collect(),
    };
    if shape == SpectrumShape::RankDeficient {
        for v in s.iter_mut().skip(1) {
            if rng.random::<bool>() {
                *v = 0.0;
            }
        }
    }
    s.sort_by(|a, b| b.total_cmp(a));
    if let Some(first) = s.first_mut() {
        *first = scale;
    }
    s
}

/// An `m × n` matrix of independent standard normal entries.
pub fn gaussian<R: Rng + ?Sized>(rng: &mut R, m: usize, n: usize) -> Mat {
    Mat::from_fn(m, n, |_, _| rng.sample(StandardNormal))
}

/// An `m × k` matrix with orthonormal columns, Haar distributed: Gram–Schmidt (run twice,
/// which makes it orthonormal to working precision) on a Gaussian matrix.
///
/// # Panics
/// If `k > m`.
#[track_caller]
pub fn random_orthonormal<R: Rng + ?Sized>(rng: &mut R, m: usize, k: usize) -> Mat {
    assert!(
        k <= m,
        "random_orthonormal: {k} orthonormal columns do not fit in dimension {m}"
    );
    let mut q = gaussian(rng, m, k);
    for j in 0..k {
        loop {
            for _pass in 0..2 {
                for i in 0..j {
                    let c = dot(q.col(i), q.col(j));
                    let qi = q.col(i).to_vec();
                    crate::axpy(-c, &qi, q.col_mut(j));
                }
            }
            // A Gaussian column lies in the span of the previous ones with probability 0;
            // redraw it in the (numerically) degenerate case.
            if crate::normalize(q.col_mut(j)) > 1e-3 {
                break;
            }
            for x in q.col_mut(j) {
                *x = rng.sample(StandardNormal);
            }
        }
    }
    q
}

/// `Q₁ diag(sigma) Q₂ᵀ` with Haar-random `Q₁` (m × p) and `Q₂` (n × p), p = min(m, n).
///
/// # Panics
/// If `sigma.len() != min(m, n)` or a value is negative.
#[track_caller]
pub fn matrix_with_spectrum<R: Rng + ?Sized>(
    rng: &mut R,
    m: usize,
    n: usize,
    sigma: &[f64],
) -> SpectralMatrix {
    let p = m.min(n);
    assert_eq!(
        sigma.len(),
        p,
        "matrix_with_spectrum: {m}×{n} needs {p} singular values"
    );
    assert!(
        sigma.iter().all(|&s| s >= 0.0),
        "matrix_with_spectrum: negative singular value in {sigma:?}"
    );
    let mut sigma = sigma.to_vec();
    sigma.sort_by(|a, b| b.total_cmp(a));
    let (left, right) = (random_orthonormal(rng, m, p), random_orthonormal(rng, n, p));
    let a = Mat::from_fn(m, n, |i, j| {
        (0..p)
            .map(|k| left[(i, k)] * sigma[k] * right[(j, k)])
            .sum()
    });
    SpectralMatrix {
        a,
        left,
        sigma,
        right,
    }
}

/// `Q diag(values) Qᵀ` with a Haar-random orthogonal `Q`, symmetrised exactly.
pub fn symmetric_with_spectrum<R: Rng + ?Sized>(rng: &mut R, values: &[f64]) -> SymmetricMatrix {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let values: Vec<f64> = order.iter().map(|&k| values[k]).collect();
    let vectors = random_orthonormal(rng, n, n);
    let mut a = Mat::from_fn(n, n, |i, j| {
        (0..n)
            .map(|k| vectors[(i, k)] * values[k] * vectors[(j, k)])
            .sum()
    });
    for j in 0..n {
        for i in 0..j {
            let v = 0.5 * (a[(i, j)] + a[(j, i)]);
            a[(i, j)] = v;
            a[(j, i)] = v;
        }
    }
    SymmetricMatrix { a, vectors, values }
}

/// A symmetric positive definite `n × n` matrix with eigenvalues spread geometrically
/// over `[scale / cond, scale]`.
pub fn spd_with_condition<R: Rng + ?Sized>(
    rng: &mut R,
    n: usize,
    cond: f64,
    scale: f64,
) -> SymmetricMatrix {
    let values = spectrum(rng, n, SpectrumShape::Graded { cond }, scale);
    symmetric_with_spectrum(rng, &values)
}

/// A least-squares problem `min ‖a·x − b‖` with a known solution: `b = a·x + residual`,
/// where every column of `residual` is orthogonal to the range of `a`.
#[derive(Clone, Debug)]
pub struct LstsqProblem {
    /// The tall, full-rank matrix (m ≥ n) with its known spectrum.
    pub a: SpectralMatrix,
    /// The exact minimiser (n × k).
    pub x: Mat,
    /// `b − a·x` (m × k), orthogonal to the columns of `a.left`.
    pub residual: Mat,
    /// The right-hand side (m × k).
    pub b: Mat,
}

/// A least-squares problem on `a` (m ≥ n, full rank) with `k` Gaussian solution columns and
/// residuals of norm `residual_ratio · σ₁ · ‖x_j‖` (zero when `a` is square).
///
/// # Panics
/// If `a` is wide.
#[track_caller]
pub fn lstsq_problem<R: Rng + ?Sized>(
    rng: &mut R,
    a: SpectralMatrix,
    k: usize,
    residual_ratio: f64,
) -> LstsqProblem {
    let (m, n) = a.a.shape();
    assert!(m >= n, "lstsq_problem: a is {m}×{n}, needs m ≥ n");
    let x = gaussian(rng, n, k);
    let mut residual = gaussian(rng, m, k);
    for j in 0..k {
        for _pass in 0..2 {
            for c in a.left.columns() {
                let proj = dot(c, residual.col(j));
                crate::axpy(-proj, c, residual.col_mut(j));
            }
        }
        let norm = crate::norm2(residual.col(j));
        let target = if m > n {
            residual_ratio * a.norm2() * crate::norm2(x.col(j))
        } else {
            0.0
        };
        let factor = if norm > 0.0 { target / norm } else { 0.0 };
        residual.col_mut(j).iter_mut().for_each(|v| *v *= factor);
    }
    let b = Mat::from_fn(m, k, |i, j| {
        (0..n).map(|l| a.a[(i, l)] * x[(l, j)]).sum::<f64>() + residual[(i, j)]
    });
    LstsqProblem { a, x, residual, b }
}
