//! The column-major `f64` matrix every stage passes around.

use crate::LinalgError;

/// Whether an operand of [`crate::Linalg::matmul`] is used as is or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Use the matrix as stored.
    NoTrans,
    /// Use the transpose.
    Trans,
}

/// An owned, column-major `f64` matrix. Column `j` is the contiguous slice
/// `data[j * nrows .. (j + 1) * nrows]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mat {
    nrows: usize,
    ncols: usize,
    data: Vec<f64>,
}

impl Mat {
    /// An `nrows × ncols` matrix of zeros.
    pub fn zeros(nrows: usize, ncols: usize) -> Self {
        Self {
            nrows,
            ncols,
            data: vec![0.0; nrows * ncols],
        }
    }

    /// The `n × n` identity.
    pub fn identity(n: usize) -> Self {
        Self::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.0 })
    }

    /// A matrix whose entry `(i, j)` is `f(i, j)`.
    pub fn from_fn(nrows: usize, ncols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let mut data = Vec::with_capacity(nrows * ncols);
        for j in 0..ncols {
            for i in 0..nrows {
                data.push(f(i, j));
            }
        }
        Self { nrows, ncols, data }
    }

    /// Wraps column-major data.
    ///
    /// # Panics
    /// If `data.len() != nrows * ncols`.
    #[track_caller]
    pub fn from_col_major(nrows: usize, ncols: usize, data: Vec<f64>) -> Self {
        assert_eq!(
            data.len(),
            nrows * ncols,
            "Mat::from_col_major: {nrows}×{ncols} needs {} entries, got {}",
            nrows * ncols,
            data.len()
        );
        Self { nrows, ncols, data }
    }

    /// A matrix whose columns are the given vectors (all of length `nrows`).
    ///
    /// # Panics
    /// If the columns have different lengths.
    #[track_caller]
    pub fn from_columns(nrows: usize, columns: &[Vec<f64>]) -> Self {
        let mut data = Vec::with_capacity(nrows * columns.len());
        for (j, c) in columns.iter().enumerate() {
            assert_eq!(
                c.len(),
                nrows,
                "Mat::from_columns: column {j} has length {}, expected {nrows}",
                c.len()
            );
            data.extend_from_slice(c);
        }
        Self {
            nrows,
            ncols: columns.len(),
            data,
        }
    }

    /// A matrix whose rows are the given vectors (all of length `ncols`).
    ///
    /// # Panics
    /// If the rows have different lengths.
    #[track_caller]
    pub fn from_rows(ncols: usize, rows: &[Vec<f64>]) -> Self {
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(
                r.len(),
                ncols,
                "Mat::from_rows: row {i} has length {}, expected {ncols}",
                r.len()
            );
        }
        Self::from_fn(rows.len(), ncols, |i, j| rows[i][j])
    }

    /// Number of rows.
    #[inline]
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Number of columns.
    #[inline]
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// `(nrows, ncols)`.
    #[inline]
    pub fn shape(&self) -> (usize, usize) {
        (self.nrows, self.ncols)
    }

    /// The column-major entries.
    #[inline]
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// The column-major entries, mutably.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// Consumes the matrix and returns its column-major entries.
    pub fn into_vec(self) -> Vec<f64> {
        self.data
    }

    /// Column `j` as a contiguous slice.
    #[track_caller]
    #[inline]
    pub fn col(&self, j: usize) -> &[f64] {
        assert!(
            j < self.ncols,
            "Mat::col: column {j} of a {}×{} matrix",
            self.nrows,
            self.ncols
        );
        &self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    /// Column `j`, mutably.
    #[track_caller]
    #[inline]
    pub fn col_mut(&mut self, j: usize) -> &mut [f64] {
        assert!(
            j < self.ncols,
            "Mat::col_mut: column {j} of a {}×{} matrix",
            self.nrows,
            self.ncols
        );
        &mut self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    /// Row `i`, copied into a vector.
    pub fn row(&self, i: usize) -> Vec<f64> {
        (0..self.ncols).map(|j| self[(i, j)]).collect()
    }

    /// Iterator over the columns.
    pub fn columns(&self) -> impl ExactSizeIterator<Item = &[f64]> {
        (0..self.ncols).map(move |j| self.col(j))
    }

    /// A copy of the first `k` columns.
    #[track_caller]
    pub fn leading_columns(&self, k: usize) -> Mat {
        assert!(
            k <= self.ncols,
            "Mat::leading_columns: {k} of {} columns",
            self.ncols
        );
        Mat::from_col_major(self.nrows, k, self.data[..k * self.nrows].to_vec())
    }

    /// A copy of the listed columns, in the given order.
    pub fn select_columns(&self, idx: &[usize]) -> Mat {
        let mut data = Vec::with_capacity(self.nrows * idx.len());
        for &j in idx {
            data.extend_from_slice(self.col(j));
        }
        Mat::from_col_major(self.nrows, idx.len(), data)
    }

    /// The transpose.
    pub fn transpose(&self) -> Mat {
        Mat::from_fn(self.ncols, self.nrows, |i, j| self[(j, i)])
    }

    /// Frobenius norm.
    pub fn norm_fro(&self) -> f64 {
        norm2(&self.data)
    }

    /// Largest absolute entry (0 for an empty matrix).
    pub fn max_abs(&self) -> f64 {
        self.data.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
    }

    /// `self · x`, by plain loops (no backend needed).
    #[track_caller]
    pub fn matvec(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(
            x.len(),
            self.ncols,
            "Mat::matvec: {}×{} times a vector of length {}",
            self.nrows,
            self.ncols,
            x.len()
        );
        let mut y = vec![0.0; self.nrows];
        for (j, &xj) in x.iter().enumerate() {
            axpy(xj, self.col(j), &mut y);
        }
        y
    }

    /// `selfᵀ · x`, by plain loops (no backend needed).
    #[track_caller]
    pub fn matvec_t(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(
            x.len(),
            self.nrows,
            "Mat::matvec_t: ({}×{})ᵀ times a vector of length {}",
            self.nrows,
            self.ncols,
            x.len()
        );
        self.columns().map(|c| dot(c, x)).collect()
    }

    /// Multiplies every entry by `alpha`.
    pub fn scale(&mut self, alpha: f64) {
        self.data.iter_mut().for_each(|x| *x *= alpha);
    }

    /// `self - other`.
    #[track_caller]
    pub fn sub(&self, other: &Mat) -> Mat {
        assert_eq!(self.shape(), other.shape(), "Mat::sub: shapes differ");
        let data = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| a - b)
            .collect();
        Mat::from_col_major(self.nrows, self.ncols, data)
    }

    /// `self + other`.
    #[track_caller]
    pub fn add(&self, other: &Mat) -> Mat {
        assert_eq!(self.shape(), other.shape(), "Mat::add: shapes differ");
        let data = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| a + b)
            .collect();
        Mat::from_col_major(self.nrows, self.ncols, data)
    }

    /// Returns [`LinalgError::NonFinite`] naming the first NaN or infinite entry.
    pub fn check_finite(&self, op: &'static str) -> Result<(), LinalgError> {
        match self.data.iter().position(|x| !x.is_finite()) {
            None => Ok(()),
            Some(k) => Err(LinalgError::NonFinite {
                op,
                row: k % self.nrows.max(1),
                col: k / self.nrows.max(1),
                value: self.data[k],
            }),
        }
    }
}

impl std::ops::Index<(usize, usize)> for Mat {
    type Output = f64;
    #[track_caller]
    #[inline]
    fn index(&self, (i, j): (usize, usize)) -> &f64 {
        assert!(
            i < self.nrows && j < self.ncols,
            "Mat index ({i}, {j}) out of a {}×{} matrix",
            self.nrows,
            self.ncols
        );
        &self.data[j * self.nrows + i]
    }
}

impl std::ops::IndexMut<(usize, usize)> for Mat {
    #[track_caller]
    #[inline]
    fn index_mut(&mut self, (i, j): (usize, usize)) -> &mut f64 {
        assert!(
            i < self.nrows && j < self.ncols,
            "Mat index ({i}, {j}) out of a {}×{} matrix",
            self.nrows,
            self.ncols
        );
        &mut self.data[j * self.nrows + i]
    }
}

/// Dot product of two equally long slices.
#[track_caller]
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot: lengths {} and {}", a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Euclidean norm.
#[inline]
pub fn norm2(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `y += alpha · x`.
#[track_caller]
#[inline]
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    assert_eq!(
        x.len(),
        y.len(),
        "axpy: lengths {} and {}",
        x.len(),
        y.len()
    );
    y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += alpha * xi);
}

/// Scales `v` to unit Euclidean norm in place and returns its former norm
/// (a zero vector is left unchanged).
pub fn normalize(v: &mut [f64]) -> f64 {
    let n = norm2(v);
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    n
}
