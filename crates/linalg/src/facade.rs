//! [`Linalg`]: the checked, normalising handle every stage uses.

use crate::{Backend, BackendKind, LinalgError, Mat, Op, RawEigh, RawSvd};

/// A thin SVD in the documented convention: singular values non-increasing, and each left
/// singular vector's largest-magnitude entry positive (the matching right vector flipped
/// with it), so all backends agree entrywise up to rounding where the gaps allow.
#[derive(Clone, Debug)]
pub struct Svd {
    /// Left singular vectors (m×p).
    pub u: Mat,
    /// Singular values, non-increasing (length p).
    pub s: Vec<f64>,
    /// Right singular vectors (n×p).
    pub v: Mat,
}

impl Svd {
    /// `u · diag(s) · vᵀ`, by plain loops.
    pub fn recompose(&self) -> Mat {
        let (m, n) = (self.u.nrows(), self.v.nrows());
        Mat::from_fn(m, n, |i, j| {
            (0..self.s.len())
                .map(|k| self.u[(i, k)] * self.s[k] * self.v[(j, k)])
                .sum()
        })
    }
}

/// The leading `k` left singular vectors and every singular value.
#[derive(Clone, Debug)]
pub struct SvdTopK {
    /// The leading `k` left singular vectors (m×k), signs as in [`Svd`].
    pub u: Mat,
    /// All min(m, n) singular values, non-increasing.
    pub singular_values: Vec<f64>,
}

/// A symmetric eigendecomposition: eigenvalues non-decreasing, each eigenvector's
/// largest-magnitude entry positive.
#[derive(Clone, Debug)]
pub struct Eigh {
    /// Eigenvalues, non-decreasing.
    pub values: Vec<f64>,
    /// Orthonormal eigenvectors (columns), in the order of `values`.
    pub vectors: Mat,
}

/// A thin QR factorisation with `diag(r) ≥ 0`.
#[derive(Clone, Debug)]
pub struct Qr {
    /// m×p, orthonormal columns.
    pub q: Mat,
    /// p×n, upper triangular, non-negative diagonal.
    pub r: Mat,
}

/// A handle on the chosen backend. Cheap to copy; pass it first to every stage function.
///
/// Its methods panic (`#[track_caller]`) on shape mismatches, which are bugs in the caller,
/// and return [`LinalgError`] for non-finite input and numerical failure.
#[derive(Clone, Copy, Debug)]
pub struct Linalg<'a>(&'a dyn Backend);

impl<'a> Linalg<'a> {
    /// Wraps a backend (normally obtained through [`BackendKind::linalg`]).
    pub fn new(backend: &'a dyn Backend) -> Self {
        Self(backend)
    }

    /// The default backend: the first compiled one.
    ///
    /// # Errors
    /// [`LinalgError::NotCompiled`] when no backend feature is on.
    pub fn default_backend() -> Result<Linalg<'static>, LinalgError> {
        BackendKind::default_compiled()
            .ok_or(LinalgError::NotCompiled {
                backend: BackendKind::Faer,
            })?
            .linalg()
    }

    /// Which backend this is.
    pub fn kind(self) -> BackendKind {
        self.0.kind()
    }

    /// The backend's name.
    pub fn name(self) -> &'static str {
        self.kind().name()
    }

    /// `op_a(a) · op_b(b)`.
    ///
    /// # Panics
    /// If the inner dimensions differ.
    #[track_caller]
    pub fn matmul(self, a: &Mat, op_a: Op, b: &Mat, op_b: Op) -> Mat {
        let (m, ka) = oriented(a, op_a);
        let (kb, n) = oriented(b, op_b);
        assert_eq!(
            ka, kb,
            "matmul: inner dimensions differ: {m}×{ka} times {kb}×{n}"
        );
        if m == 0 || n == 0 || ka == 0 {
            return Mat::zeros(m, n);
        }
        self.0.matmul(a, op_a, b, op_b)
    }

    /// The full thin SVD, normalised (see [`Svd`]).
    ///
    /// # Errors
    /// [`LinalgError::NonFinite`], [`LinalgError::NoConvergence`].
    pub fn svd(self, a: &Mat) -> Result<Svd, LinalgError> {
        a.check_finite("svd")?;
        let RawSvd { u, s, v } = self.0.thin_svd(a)?;
        let order = sorted_order(&s, true);
        let (mut u, mut v) = (u.select_columns(&order), v.select_columns(&order));
        let s = order.iter().map(|&k| s[k].abs()).collect();
        fix_signs_paired(&mut u, Some(&mut v));
        Ok(Svd { u, s, v })
    }

    /// The leading `k` left singular vectors and all singular values.
    ///
    /// # Errors
    /// As [`Linalg::svd`].
    ///
    /// # Panics
    /// If `k > min(a.nrows(), a.ncols())`.
    #[track_caller]
    pub fn svd_top_k(self, a: &Mat, k: usize) -> Result<SvdTopK, LinalgError> {
        let p = a.nrows().min(a.ncols());
        assert!(
            k <= p,
            "svd_top_k: k = {k} exceeds min(m, n) = {p} for a {}×{} matrix",
            a.nrows(),
            a.ncols()
        );
        let svd = self.svd(a)?;
        Ok(SvdTopK {
            u: svd.u.leading_columns(k),
            singular_values: svd.s,
        })
    }

    /// Eigendecomposition of the symmetric matrix `a`, normalised (see [`Eigh`]).
    ///
    /// # Errors
    /// [`LinalgError::NonFinite`], [`LinalgError::NoConvergence`].
    ///
    /// # Panics
    /// If `a` is not square.
    #[track_caller]
    pub fn eigh(self, a: &Mat) -> Result<Eigh, LinalgError> {
        assert_eq!(
            a.nrows(),
            a.ncols(),
            "eigh: matrix is {}×{}, not square",
            a.nrows(),
            a.ncols()
        );
        a.check_finite("eigh")?;
        let sym = symmetrized(a);
        let RawEigh { values, vectors } = self.0.eigh(&sym)?;
        let order = sorted_order(&values, false);
        let mut vectors = vectors.select_columns(&order);
        fix_signs_paired(&mut vectors, None);
        Ok(Eigh {
            values: order.iter().map(|&k| values[k]).collect(),
            vectors,
        })
    }

    /// Thin QR with `diag(r) ≥ 0`.
    ///
    /// # Errors
    /// [`LinalgError::NonFinite`].
    ///
    /// # Panics
    /// If `a` has fewer rows than columns.
    #[track_caller]
    pub fn qr(self, a: &Mat) -> Result<Qr, LinalgError> {
        assert!(
            a.nrows() >= a.ncols(),
            "qr: needs nrows ≥ ncols, got {}×{}",
            a.nrows(),
            a.ncols()
        );
        a.check_finite("qr")?;
        let raw = self.0.qr(a)?;
        let (mut q, mut r) = (raw.q, raw.r);
        for k in 0..r.nrows().min(r.ncols()) {
            if r[(k, k)] < 0.0 {
                q.col_mut(k).iter_mut().for_each(|x| *x = -*x);
                for j in 0..r.ncols() {
                    r[(k, j)] = -r[(k, j)];
                }
            }
        }
        Ok(Qr { q, r })
    }

    /// The least-squares solution of `a·x ≈ b` (full column rank, `nrows ≥ ncols`).
    ///
    /// # Errors
    /// [`LinalgError::NonFinite`], [`LinalgError::NoConvergence`].
    ///
    /// # Panics
    /// If the row counts differ or `a` is wide.
    #[track_caller]
    pub fn lstsq(self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError> {
        assert_eq!(
            a.nrows(),
            b.nrows(),
            "lstsq: a is {}×{}, b is {}×{}",
            a.nrows(),
            a.ncols(),
            b.nrows(),
            b.ncols()
        );
        assert!(
            a.nrows() >= a.ncols(),
            "lstsq: needs nrows ≥ ncols, got {}×{}",
            a.nrows(),
            a.ncols()
        );
        a.check_finite("lstsq")?;
        b.check_finite("lstsq")?;
        self.0.lstsq(a, b)
    }

    /// Solves `a·x = b` for a symmetric positive definite `a` by Cholesky.
    ///
    /// # Errors
    /// [`LinalgError::NonFinite`], [`LinalgError::NotPositiveDefinite`].
    ///
    /// # Panics
    /// If `a` is not square or the row counts differ.
    #[track_caller]
    pub fn solve_spd(self, a: &Mat, b: &Mat) -> Result<Mat, LinalgError> {
        assert_eq!(
            a.nrows(),
            a.ncols(),
            "solve_spd: matrix is {}×{}, not square",
            a.nrows(),
            a.ncols()
        );
        assert_eq!(
            a.nrows(),
            b.nrows(),
            "solve_spd: a is {}×{}, b is {}×{}",
            a.nrows(),
            a.ncols(),
            b.nrows(),
            b.ncols()
        );
        a.check_finite("solve_spd")?;
        b.check_finite("solve_spd")?;
        self.0.solve_spd(&symmetrized(a), b)
    }

    /// The Cholesky factor L of a symmetric positive definite `a = L·Lᵀ`: lower
    /// triangular with a positive diagonal (zeros above it). Reads `(a + aᵀ)/2`.
    ///
    /// # Errors
    /// [`LinalgError::NonFinite`], [`LinalgError::NotPositiveDefinite`].
    ///
    /// # Panics
    /// If `a` is not square.
    #[track_caller]
    pub fn cholesky(self, a: &Mat) -> Result<Mat, LinalgError> {
        assert_eq!(
            a.nrows(),
            a.ncols(),
            "cholesky: matrix is {}×{}, not square",
            a.nrows(),
            a.ncols()
        );
        a.check_finite("cholesky")?;
        let mut l = self.0.cholesky(&symmetrized(a))?;
        for j in 1..l.ncols() {
            l.col_mut(j)[..j].fill(0.0);
        }
        Ok(l)
    }
}

fn oriented(a: &Mat, op: Op) -> (usize, usize) {
    match op {
        Op::NoTrans => (a.nrows(), a.ncols()),
        Op::Trans => (a.ncols(), a.nrows()),
    }
}

/// `(a + aᵀ)/2`, so backends that read one triangle and those that read both agree.
fn symmetrized(a: &Mat) -> Mat {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| 0.5 * (a[(i, j)] + a[(j, i)]))
}

/// Indices that sort `values` (descending by magnitude-free value when `descending`).
fn sorted_order(values: &[f64], descending: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| {
        let c = values[i].total_cmp(&values[j]);
        if descending { c.reverse() } else { c }
    });
    order
}

/// Flips each column of `a` so that its largest-magnitude entry is positive, flipping the
/// same column of `partner` with it.
fn fix_signs_paired(a: &mut Mat, mut partner: Option<&mut Mat>) {
    for k in 0..a.ncols() {
        let col = a.col(k);
        let pivot = col.iter().fold(
            0.0_f64,
            |best, &x| if x.abs() > best.abs() { x } else { best },
        );
        if pivot < 0.0 {
            a.col_mut(k).iter_mut().for_each(|x| *x = -*x);
            if let Some(p) = partner.as_deref_mut() {
                p.col_mut(k).iter_mut().for_each(|x| *x = -*x);
            }
        }
    }
}
