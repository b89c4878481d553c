//! The subspace in the dense layout the iterations use, and the one map they all evaluate:
//! `u ↦ Y = [W_1 u, …, W_K u]` (p×K), from which `c_k = uᵀ W_k u` and
//! `P_Ŵ(u uᵀ) u = Σ_k c_k W_k u` follow in O(pK).
//!
//! Layout: the K basis matrices (each p×p, symmetric) are stored as one (p·K) × p column-major
//! matrix `M` with `M[(k, i), j] = W_k[i, j]` (row `k·p + i`): `M u` stacks `W_k u` for every
//! k, so a batch of starts (the columns of U) costs one matrix product `M U` of K·p²
//! multiply-adds per start, run by the linear-algebra backend on an operand in its preferred
//! (column-major, unit-stride) layout.
//!
//! Range compression: every rank-one `u uᵀ` inside Ŵ has `u` in the common range R of the
//! basis matrices. When R is a proper subspace (r independent components spanning fewer than d
//! directions, or entangled components inside span{a_i}), the matrices are compressed to it,
//! `W̃_k = Uᵀ W_k U` with U a d×p orthonormal basis of R, and every step becomes (d/p)²
//! cheaper. R is the range of a random element X_1 of Ŵ (eigenvalues with |λ| above
//! `range_tol` times the largest), checked against two more random elements (see `probe`);
//! directions carrying less than `range_tol` of the largest eigenvalue are dropped.

use nnid_linalg::sym::SymSubspace;
use nnid_linalg::{Linalg, Mat, Op};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::Rank1Error;
use crate::synthetic::random_unit_vector;
use crate::vecops::{axpy, dot, normalize};

/// How many random elements of Ŵ probe its common range.
const RANGE_PROBES: usize = 3;

/// Ŵ as dense (possibly range-compressed) matrices.
#[derive(Clone, Debug)]
pub(crate) struct Dense {
    /// The original side d.
    d: usize,
    /// The working side p ≤ d.
    p: usize,
    /// Number of basis matrices K.
    k: usize,
    /// d×p orthonormal basis of the range when compressed (None: p = d, identity).
    range: Option<Mat>,
    /// (p·K) × p: `M[(k, i), j] = W_k[i, j]`.
    m: Mat,
    /// Eigenvectors of a random element of Ŵ (working coordinates), smallest |λ| first.
    starts: Vec<Vec<f64>>,
}

impl Dense {
    /// Builds the dense layout of `w`, compressing to the common range when it is smaller
    /// than d (see the module docs; `range_tol = 0` keeps all of R^d).
    ///
    /// # Errors
    /// [`Rank1Error::EmptySubspace`], [`Rank1Error::NonFiniteBasis`], [`Rank1Error::Linalg`].
    pub(crate) fn new(la: Linalg<'_>, w: &SymSubspace, range_tol: f64) -> Result<Self, Rank1Error> {
        let (d, k) = (w.side(), w.dim());
        if d == 0 || k == 0 {
            return Err(Rank1Error::EmptySubspace { d, dim: k });
        }
        if let Some(idx) = w.basis().as_slice().iter().position(|x| !x.is_finite()) {
            let rows = w.basis().nrows();
            return Err(Rank1Error::NonFiniteBasis {
                row: idx % rows,
                col: idx / rows,
                value: w.basis().as_slice()[idx],
            });
        }
        let probe = probe(la, stacked(w), d, k, range_tol)?;
        let s = probe.stacked;
        Ok(match probe.range {
            None => Self {
                d,
                p: d,
                k,
                range: None,
                m: stacked_to_rows(&s, d, k),
                starts: probe.starts,
            },
            Some(u) => {
                let m = compress(la, &s, &u, k);
                Self {
                    d,
                    p: u.ncols(),
                    k,
                    range: Some(u),
                    m,
                    starts: probe.starts,
                }
            }
        })
    }

    /// Eigenvectors of one random element of Ŵ in working coordinates, ordered so that
    /// `pop` yields the largest |λ| first (found while probing the range, so free).
    pub(crate) fn spectral_starts(&self) -> Vec<Vec<f64>> {
        self.starts.clone()
    }

    /// The original side d.
    pub(crate) fn d(&self) -> usize {
        self.d
    }

    /// The working side p.
    pub(crate) fn p(&self) -> usize {
        self.p
    }

    /// The subspace dimension K.
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// `Y = [W_k U]` for a batch of starts (the columns of `u`, p×s): column t of the
    /// result, read as a p×K column-major matrix, is `[W_1 u_t, …, W_K u_t]`.
    pub(crate) fn eval_batch(&self, la: Linalg<'_>, u: &Mat) -> Mat {
        la.matmul(&self.m, Op::NoTrans, u, Op::NoTrans)
    }

    /// `F(u) = ‖P_Ŵ(u uᵀ)‖²` for each unit vector of the working space, in one product.
    pub(crate) fn objectives(&self, la: Linalg<'_>, us: &[&[f64]]) -> Vec<f64> {
        if us.is_empty() {
            return Vec::new();
        }
        let mut umat = Mat::zeros(self.p, us.len());
        for (t, u) in us.iter().enumerate() {
            umat.col_mut(t).copy_from_slice(u);
        }
        let y = self.eval_batch(la, &umat);
        let mut c = vec![0.0; self.k];
        us.iter()
            .enumerate()
            .map(|(t, u)| self.coefficients(u, y.col(t), &mut c))
            .collect()
    }

    /// `c_k = ⟨u, Y_k⟩` for a precomputed `Y`; returns `F = ‖c‖²`.
    pub(crate) fn coefficients(&self, u: &[f64], y: &[f64], c: &mut [f64]) -> f64 {
        for (ck, yk) in c.iter_mut().zip(y.chunks_exact(self.p)) {
            *ck = dot(u, yk);
        }
        dot(c, c)
    }

    /// `out = Σ_k coeff_k Y_k`.
    pub(crate) fn combine(&self, y: &[f64], coeff: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|x| *x = 0.0);
        for (&ck, yk) in coeff.iter().zip(y.chunks_exact(self.p)) {
            axpy(ck, yk, out);
        }
    }

    /// `Σ_k coeff_k W_k` (p×p).
    pub(crate) fn weighted_sum(&self, coeff: &[f64]) -> Mat {
        let p = self.p;
        let mut out = Mat::zeros(p, p);
        for j in 0..p {
            let (mj, oj) = (self.m.col(j), out.col_mut(j));
            for (&ck, block) in coeff.iter().zip(mj.chunks_exact(p)) {
                axpy(ck, block, oj);
            }
        }
        out
    }

    /// A working-space vector in the original coordinates (`U u`), normalised.
    pub(crate) fn lift(&self, u: &[f64]) -> Vec<f64> {
        let mut x = match &self.range {
            None => u.to_vec(),
            Some(r) => r.matvec(u),
        };
        normalize(&mut x);
        x
    }

    /// The working-space coordinates of an original-space vector (`Uᵀ x`), normalised.
    #[cfg(test)]
    pub(crate) fn restrict(&self, x: &[f64]) -> Vec<f64> {
        let mut u = match &self.range {
            None => x.to_vec(),
            Some(r) => r.matvec_t(x),
        };
        normalize(&mut u);
        u
    }
}

/// `[W_1 | … | W_K]` as a d × (d·K) matrix (block k is `W_k`, column-major).
fn stacked(w: &SymSubspace) -> Mat {
    let (d, k) = (w.side(), w.dim());
    let mut s = Mat::zeros(d, d * k);
    let inv_sqrt2 = std::f64::consts::FRAC_1_SQRT_2;
    for (kk, block) in s.as_mut_slice().chunks_exact_mut(d * d).enumerate() {
        let v = w.basis().col(kk);
        let mut idx = 0;
        for i in 0..d {
            block[i * d + i] = v[idx];
            idx += 1;
            for j in i + 1..d {
                let x = v[idx] * inv_sqrt2;
                block[j * d + i] = x;
                block[i * d + j] = x;
                idx += 1;
            }
        }
    }
    s
}

/// `M` from `S = [W_1 | … | W_K]` (d × d·K): `M[(k, i), j] = W_k[i, j]`.
fn stacked_to_rows(s: &Mat, d: usize, k: usize) -> Mat {
    let mut m = Mat::zeros(d * k, d);
    let (src, dst) = (s.as_slice(), m.as_mut_slice());
    for j in 0..d {
        for kk in 0..k {
            let from = (kk * d + j) * d;
            let to = j * d * k + kk * d;
            dst[to..to + d].copy_from_slice(&src[from..from + d]);
        }
    }
    m
}

/// What probing Ŵ with random elements gives.
struct Probe {
    /// `[W_1 | … | W_K]`, handed back unchanged.
    stacked: Mat,
    /// An orthonormal basis of the common range, when it is smaller than R^d.
    range: Option<Mat>,
    /// Eigenvectors of the random element X_1 in working coordinates, smallest |λ| first.
    starts: Vec<Vec<f64>>,
}

/// Finds the common range R of the basis matrices, and spectral starts.
///
/// For a random element X_1 = Σ_k g_k W_k (g Gaussian), range(X_1) = R with probability one
/// when Ŵ holds an element of full rank on R, as every span of rank-ones does. Its
/// eigenvectors with `|λ| > tol · max|λ|` are taken as U, and the range is accepted when two
/// more random elements X_j live in it: `‖X_j‖² − ‖Uᵀ X_j U‖² ≤ tol² ‖X_j‖²`. If not, R is
/// read off `Σ_j X_j²` (threshold `tol²` on its eigenvalues). In the working coordinates of
/// U the eigenvectors of `Uᵀ X_1 U` are the unit vectors: free starts for the search.
fn probe(la: Linalg<'_>, s: Mat, d: usize, k: usize, tol: f64) -> Result<Probe, Rank1Error> {
    // X_j = Σ_k g_jk W_k: one product of vec(W_k) (d²×K, the same buffer as s) with G (K×m).
    let mut rng = ChaCha8Rng::seed_from_u64(0x0a11_5eed);
    let g: Vec<Vec<f64>> = (0..RANGE_PROBES)
        .map(|_| random_unit_vector(k, &mut rng))
        .collect();
    let flat = Mat::from_col_major(d * d, k, s.into_vec());
    let xs = la.matmul(&flat, Op::NoTrans, &Mat::from_columns(k, &g), Op::NoTrans);
    let stacked = Mat::from_col_major(d, d * k, flat.into_vec());
    let x = |j: usize| Mat::from_col_major(d, d, xs.col(j).to_vec());
    let eig = la.eigh(&x(0))?;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eig.values[a].abs().total_cmp(&eig.values[b].abs()));
    let largest = eig.values[order[d - 1]].abs();
    let keep: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| eig.values[i].abs() > tol * largest)
        .collect();
    if tol == 0.0 || keep.len() == d || keep.is_empty() {
        let starts = order.iter().map(|&i| eig.vectors.col(i).to_vec()).collect();
        return Ok(Probe {
            stacked,
            range: None,
            starts,
        });
    }
    let u = eig.vectors.select_columns(&keep);
    let ut = u.transpose();
    let inside = (1..RANGE_PROBES).all(|j| {
        let xj = x(j);
        let uxu = la.matmul(
            &ut,
            Op::NoTrans,
            &la.matmul(&xj, Op::NoTrans, &u, Op::NoTrans),
            Op::NoTrans,
        );
        let total = xj.norm_fro().powi(2);
        total - uxu.norm_fro().powi(2) <= tol * tol * total
    });
    if inside {
        let p = keep.len();
        let starts = (0..p)
            .map(|i| (0..p).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
            .collect();
        return Ok(Probe {
            stacked,
            range: Some(u),
            starts,
        });
    }
    // Σ_j X_j² = [X_1 … X_m][X_1 … X_m]ᵀ (each X_j symmetric).
    let wide = Mat::from_col_major(d, d * RANGE_PROBES, xs.into_vec());
    let gram = la.matmul(&wide, Op::NoTrans, &wide, Op::Trans);
    let eig = la.eigh(&gram)?;
    let lam_max = eig.values.last().copied().unwrap_or(0.0).max(0.0);
    let keep: Vec<usize> = (0..d)
        .filter(|&i| eig.values[i] > tol * tol * lam_max)
        .collect();
    let range = (keep.len() < d && !keep.is_empty()).then(|| eig.vectors.select_columns(&keep));
    Ok(Probe {
        stacked,
        range,
        starts: Vec::new(),
    })
}

/// `M` of the compressed matrices `W̃_k = Uᵀ W_k U`: (p·K) × p.
///
/// First `V = [W_1 U; …; W_K U]` (d·K × p, one product per block written straight into
/// place); V's buffer read as a d × (p·K) matrix has column `j·K + k` equal to `W_k u_j`, so
/// `Uᵀ` times it has column `j·K + k` equal to `W̃_k[:, j]` — exactly the buffer of M. (Every
/// product has both operands untransposed, which every backend handles alike.)
fn compress(la: Linalg<'_>, s: &Mat, u: &Mat, k: usize) -> Mat {
    let (d, p) = u.shape();
    let mut v = vec![0.0; d * k * p];
    for (kk, block) in s.as_slice().chunks_exact(d * d).enumerate() {
        let wu = la.matmul(
            &Mat::from_col_major(d, d, block.to_vec()),
            Op::NoTrans,
            u,
            Op::NoTrans,
        );
        for j in 0..p {
            let to = j * d * k + kk * d;
            v[to..to + d].copy_from_slice(wu.col(j));
        }
    }
    let t = la.matmul(
        &u.transpose(),
        Op::NoTrans,
        &Mat::from_col_major(d, p * k, v),
        Op::NoTrans,
    );
    Mat::from_col_major(p * k, p, t.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::BackendKind;
    use nnid_linalg::sym::{svec_rank1, unsvec};

    fn span_of(la: Linalg<'_>, vs: &[Vec<f64>]) -> SymSubspace {
        let d = vs[0].len();
        let cols: Vec<Vec<f64>> = vs.iter().map(|v| svec_rank1(v)).collect();
        let q = la.qr(&Mat::from_columns(d * (d + 1) / 2, &cols)).unwrap().q;
        SymSubspace::from_orthonormal(d, q)
    }

    fn objective(dense: &Dense, la: Linalg<'_>, u: &[f64]) -> f64 {
        let y = dense.eval_batch(la, &Mat::from_col_major(dense.p(), 1, u.to_vec()));
        let mut c = vec![0.0; dense.k()];
        dense.coefficients(u, y.as_slice(), &mut c)
    }

    #[test]
    fn layouts_agree_with_the_svec_definition_with_and_without_compression() {
        let kinds: Vec<_> = BackendKind::compiled().collect();
        assert!(!kinds.is_empty(), "no backend compiled");
        for kind in kinds {
            let la = kind.linalg().unwrap();
            let d = 6;
            // Three vectors in the first four coordinates: the common range has dimension 3.
            let vs = vec![
                vec![1.0, 0.5, 0.0, 0.2, 0.0, 0.0],
                vec![0.3, -1.0, 0.4, 0.0, 0.0, 0.0],
                vec![0.0, 0.2, 1.0, -0.5, 0.0, 0.0],
            ];
            let w = span_of(la, &vs);
            let full = Dense::new(la, &w, 0.0).unwrap();
            let comp = Dense::new(la, &w, 1e-6).unwrap();
            assert_eq!(full.p(), d, "{kind}");
            assert_eq!(comp.p(), 3, "{kind}: the range of three vectors");
            let mut u = vec![0.2, 0.4, -0.3, 0.7, 0.1, -0.2];
            normalize(&mut u);
            let want = w.proj_norm_rank1(&u).powi(2);
            let got = objective(&full, la, &u);
            assert!(
                (got - want).abs() < 1e-13,
                "{kind}: F = {got}, svec definition {want}"
            );
            // In the range, the compressed objective equals the original one.
            let mut inside = vs[0].clone();
            axpy(0.7, &vs[2], &mut inside);
            normalize(&mut inside);
            let ut = comp.restrict(&inside);
            let back = comp.lift(&ut);
            assert!(
                back.iter().zip(&inside).all(|(a, b)| (a - b).abs() < 1e-12),
                "{kind}: lift ∘ restrict"
            );
            let got = objective(&comp, la, &ut);
            let want = w.proj_norm_rank1(&inside).powi(2);
            assert!(
                (got - want).abs() < 1e-12,
                "{kind}: compressed F = {got}, original {want}"
            );
            // Weighted sums: Σ c_k W_k.
            let c = w.coefficients_rank1(&u);
            let got = full.weighted_sum(&c);
            let want = unsvec(d, &w.basis().matvec(&c));
            assert!(got.sub(&want).max_abs() < 1e-13, "{kind}: weighted sum");
        }
    }
}
