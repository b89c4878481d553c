//! Symmetric matrices as vectors, and subspaces of them.
//!
//! `svec` maps a symmetric d×d matrix `S` to the vector of its upper triangle (row-major over
//! `i ≤ j`), with off-diagonal entries multiplied by √2, so that `⟨svec S, svec T⟩ = ⟨S, T⟩_F`
//! (paper-spec §3). A [`SymSubspace`] stores an orthonormal basis of such vectors; it projects
//! without ever forming a d²×d² matrix.

use crate::{Mat, dot, mat::norm2};

/// Length of `svec` for d×d matrices: d(d+1)/2.
pub const fn svec_len(d: usize) -> usize {
    d * (d + 1) / 2
}

/// Position of entry `(i, j)` (either order) in `svec`.
pub const fn svec_index(d: usize, i: usize, j: usize) -> usize {
    let (i, j) = if i <= j { (i, j) } else { (j, i) };
    i * d - i * (i + 1) / 2 + j
}

/// `svec` of a symmetric matrix (its upper triangle is read).
///
/// # Panics
/// If `s` is not square.
#[track_caller]
pub fn svec(s: &Mat) -> Vec<f64> {
    let d = s.nrows();
    assert_eq!(
        d,
        s.ncols(),
        "svec: {}×{} is not square",
        s.nrows(),
        s.ncols()
    );
    let mut out = Vec::with_capacity(svec_len(d));
    for i in 0..d {
        out.push(s[(i, i)]);
        for j in i + 1..d {
            out.push(std::f64::consts::SQRT_2 * s[(i, j)]);
        }
    }
    out
}

/// The symmetric d×d matrix whose `svec` is `v`.
///
/// # Panics
/// If `v.len() != d(d+1)/2`.
#[track_caller]
pub fn unsvec(d: usize, v: &[f64]) -> Mat {
    assert_eq!(
        v.len(),
        svec_len(d),
        "unsvec: length {} does not fit d = {d}",
        v.len()
    );
    let mut s = Mat::zeros(d, d);
    for i in 0..d {
        s[(i, i)] = v[svec_index(d, i, i)];
        for j in i + 1..d {
            let x = v[svec_index(d, i, j)] / std::f64::consts::SQRT_2;
            s[(i, j)] = x;
            s[(j, i)] = x;
        }
    }
    s
}

/// `svec(u uᵀ)`.
pub fn svec_rank1(u: &[f64]) -> Vec<f64> {
    let d = u.len();
    let mut out = Vec::with_capacity(svec_len(d));
    for i in 0..d {
        out.push(u[i] * u[i]);
        for j in i + 1..d {
            out.push(std::f64::consts::SQRT_2 * u[i] * u[j]);
        }
    }
    out
}

/// A subspace of symmetric d×d matrices, held as an orthonormal basis of `svec` vectors
/// (the columns of `basis`, d(d+1)/2 × K).
#[derive(Clone, Debug)]
pub struct SymSubspace {
    d: usize,
    basis: Mat,
}

impl SymSubspace {
    /// Wraps an orthonormal basis (columns of length d(d+1)/2). Orthonormality is the
    /// caller's promise (it is what an SVD or QR returns).
    ///
    /// # Panics
    /// If the column length does not match `d`.
    #[track_caller]
    pub fn from_orthonormal(d: usize, basis: Mat) -> Self {
        assert_eq!(
            basis.nrows(),
            svec_len(d),
            "SymSubspace: basis rows {} do not fit d = {d}",
            basis.nrows()
        );
        Self { d, basis }
    }

    /// The matrix side d.
    pub fn side(&self) -> usize {
        self.d
    }

    /// The dimension K of the subspace.
    pub fn dim(&self) -> usize {
        self.basis.ncols()
    }

    /// The orthonormal basis (svec columns).
    pub fn basis(&self) -> &Mat {
        &self.basis
    }

    /// Basis element `k` as a dense symmetric d×d matrix.
    pub fn basis_matrix(&self, k: usize) -> Mat {
        unsvec(self.d, self.basis.col(k))
    }

    /// Coordinates of `P_Ŵ(S)` in the basis: `⟨W_k, S⟩_F` for each k.
    pub fn coefficients_svec(&self, s: &[f64]) -> Vec<f64> {
        self.basis.matvec_t(s)
    }

    /// Coordinates of `P_Ŵ(u uᵀ)`: `uᵀ W_k u` for each k.
    pub fn coefficients_rank1(&self, u: &[f64]) -> Vec<f64> {
        self.coefficients_svec(&svec_rank1(u))
    }

    /// `P_Ŵ(S)` for a symmetric matrix `S`, as a matrix.
    pub fn project(&self, s: &Mat) -> Mat {
        let c = self.coefficients_svec(&svec(s));
        unsvec(self.d, &self.basis.matvec(&c))
    }

    /// `‖P_Ŵ(u uᵀ)‖_F`; equals 1 for a unit `u` exactly when `u uᵀ ∈ Ŵ`.
    pub fn proj_norm_rank1(&self, u: &[f64]) -> f64 {
        norm2(&self.coefficients_rank1(u))
    }

    /// `‖P_Ŵ(u uᵀ)‖_F / ‖u‖²`, the scale-free version.
    pub fn proj_norm_rank1_unit(&self, u: &[f64]) -> f64 {
        self.proj_norm_rank1(u) / dot(u, u)
    }
}
