//! The two-hidden-layer network `f(x) = Σ_l h(b_lᵀ g(Aᵀx + θ) + τ_l)` (paper-spec §1).

use crate::{Activation, ModelError};
use nnid_linalg::{Linalg, Mat, Op, dot};
use rayon::prelude::*;

/// Adds `shift` to every column of the column-major `values` (columns of `shift.len()`).
fn add_to_each_column(values: &mut [f64], shift: &[f64]) {
    for col in values.chunks_mut(shift.len().max(1)) {
        col.iter_mut().zip(shift).for_each(|(v, s)| *v += s);
    }
}

/// Points per block of [`Network::values`]'s matrix products.
const VALUES_BLOCK: usize = 256;

/// A two-hidden-layer network with scalar output
/// `f(x) = Σ_l h( Σ_i B[l][i] · g(a_i·x + θ_i) + τ_l )`.
///
/// Storage: `a` is d×m0 with column i the weight vector a_i; `b` is m0×m1 with column l the
/// weight vector b_l. (The JSON format stores the same vectors as rows.)
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    a: Mat,
    theta: Vec<f64>,
    b: Mat,
    tau: Vec<f64>,
    g: Activation,
    h: Activation,
}

/// Intermediate values of one forward pass at a point.
#[derive(Clone, Debug)]
pub struct Forward {
    /// `y = Aᵀx + θ` (length m0).
    pub y: Vec<f64>,
    /// `[g, g', g'', g''']` at each `y_i`.
    pub gy: Vec<[f64; 4]>,
    /// `z = Bᵀ g(y) + τ` (length m1).
    pub z: Vec<f64>,
    /// `[h, h', h'', h''']` at each `z_l`.
    pub hz: Vec<[f64; 4]>,
}

impl Network {
    /// Builds a network, checking shapes and finiteness.
    ///
    /// # Errors
    /// [`ModelError::Shape`] for inconsistent sizes, [`ModelError::NonFinite`] for NaN or
    /// infinite parameters, [`ModelError::Empty`] for a zero width or dimension.
    pub fn new(
        a: Mat,
        theta: Vec<f64>,
        b: Mat,
        tau: Vec<f64>,
        g: Activation,
        h: Activation,
    ) -> Result<Self, ModelError> {
        let (d, m0) = a.shape();
        if d == 0 || m0 == 0 || b.ncols() == 0 {
            return Err(ModelError::Empty {
                d,
                m0,
                m1: b.ncols(),
            });
        }
        check_len("layer1.shifts", theta.len(), m0)?;
        check_len("layer2.weights (row length)", b.nrows(), m0)?;
        check_len("layer2.shifts", tau.len(), b.ncols())?;
        check_finite("layer1.weights", a.as_slice())?;
        check_finite("layer1.shifts", &theta)?;
        check_finite("layer2.weights", b.as_slice())?;
        check_finite("layer2.shifts", &tau)?;
        Ok(Self {
            a,
            theta,
            b,
            tau,
            g,
            h,
        })
    }

    /// Input dimension d.
    pub fn input_dim(&self) -> usize {
        self.a.nrows()
    }

    /// First hidden width m0.
    pub fn m0(&self) -> usize {
        self.a.ncols()
    }

    /// Second hidden width m1.
    pub fn m1(&self) -> usize {
        self.b.ncols()
    }

    /// Number of parameters P = d·m0 + m0·m1 + m0 + m1.
    pub fn num_params(&self) -> usize {
        let (d, m0, m1) = (self.input_dim(), self.m0(), self.m1());
        d * m0 + m0 * m1 + m0 + m1
    }

    /// First-layer weights, d×m0, column i = a_i.
    pub fn a(&self) -> &Mat {
        &self.a
    }

    /// First-layer shifts θ.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// Second-layer weights, m0×m1, column l = b_l.
    pub fn b(&self) -> &Mat {
        &self.b
    }

    /// Second-layer shifts τ.
    pub fn tau(&self) -> &[f64] {
        &self.tau
    }

    /// First-layer activation g.
    pub fn g(&self) -> Activation {
        self.g
    }

    /// Second-layer activation h.
    pub fn h(&self) -> Activation {
        self.h
    }

    /// The forward pass at `x`.
    ///
    /// # Panics
    /// If `x.len() != d`.
    #[track_caller]
    pub fn forward(&self, x: &[f64]) -> Forward {
        assert_eq!(
            x.len(),
            self.input_dim(),
            "Network::forward: point of length {} for d = {}",
            x.len(),
            self.input_dim()
        );
        let y: Vec<f64> = self
            .a
            .columns()
            .zip(&self.theta)
            .map(|(ai, t)| dot(ai, x) + t)
            .collect();
        let gy: Vec<[f64; 4]> = y.iter().map(|&t| self.g.derivatives(t)).collect();
        let phi: Vec<f64> = gy.iter().map(|v| v[0]).collect();
        let z: Vec<f64> = self
            .b
            .columns()
            .zip(&self.tau)
            .map(|(bl, t)| dot(bl, &phi) + t)
            .collect();
        let hz = z.iter().map(|&t| self.h.derivatives(t)).collect();
        Forward { y, gy, z, hz }
    }

    /// `f(x)`: the same arithmetic in the same order as [`Network::forward`] (so the same
    /// bits), without the derivatives, and with four neurons' dot products interleaved.
    ///
    /// # Panics
    /// If `x.len() != d`.
    #[track_caller]
    pub fn value(&self, x: &[f64]) -> f64 {
        assert_eq!(
            x.len(),
            self.input_dim(),
            "Network::value: point of length {} for d = {}",
            x.len(),
            self.input_dim()
        );
        let phi = affine_activation(&self.a, x, &self.theta, self.g);
        affine_activation(&self.b, &phi, &self.tau, self.h)
            .into_iter()
            .sum()
    }

    /// `f` at every column of `points` (d×n), in parallel: bit for bit [`Network::value`]
    /// at each point, whatever the batch (the `nnid eval` server and the tests rely on it).
    ///
    /// # Panics
    /// If `points.nrows() != d`.
    #[track_caller]
    pub fn values(&self, points: &Mat) -> Vec<f64> {
        self.check_points(points, "Network::values");
        let d = self.input_dim().max(1);
        points
            .as_slice()
            .par_chunks(d)
            .with_min_len(64)
            .map(|x| self.value(x))
            .take(points.ncols())
            .collect()
    }

    /// `f` at every column of `points`, faster for large batches: with a linear-algebra
    /// backend compiled in, blocks of points go through two matrix products (`Aᵀ X`, then
    /// `Bᵀ g(·)`), several times faster than one matrix-vector product per point at
    /// (784, 128, 32). The values agree with [`Network::value`] to rounding, not bit for
    /// bit: the products sum in another order, which can depend on a point's place in its
    /// block (the in-process oracle uses this; see docs/oracles.md).
    ///
    /// # Panics
    /// If `points.nrows() != d`.
    #[track_caller]
    pub fn values_fast(&self, points: &Mat) -> Vec<f64> {
        self.check_points(points, "Network::values_fast");
        let d = self.input_dim().max(1);
        match Linalg::default_backend() {
            Ok(la) if points.ncols() >= VALUES_BLOCK / 4 => points
                .as_slice()
                .par_chunks(d * VALUES_BLOCK)
                .map(|block| self.values_of_block(la, block))
                .collect::<Vec<_>>()
                .concat(),
            _ => self.values(points),
        }
    }

    #[track_caller]
    fn check_points(&self, points: &Mat, what: &str) {
        assert_eq!(
            points.nrows(),
            self.input_dim(),
            "{what}: points have {} rows for d = {}",
            points.nrows(),
            self.input_dim()
        );
    }

    /// `f` at the points of one block (column-major, d rows) by two matrix products.
    fn values_of_block(&self, la: Linalg<'_>, block: &[f64]) -> Vec<f64> {
        let d = self.input_dim();
        let x = Mat::from_col_major(d, block.len() / d, block.to_vec());
        let mut y = la.matmul(&self.a, Op::Trans, &x, Op::NoTrans);
        add_to_each_column(y.as_mut_slice(), &self.theta);
        self.g.eval_in_place(y.as_mut_slice());
        let mut z = la.matmul(&self.b, Op::Trans, &y, Op::NoTrans);
        add_to_each_column(z.as_mut_slice(), &self.tau);
        self.h.eval_in_place(z.as_mut_slice());
        z.as_slice()
            .chunks(self.tau.len().max(1))
            .map(|col| col.iter().sum())
            .collect()
    }

    /// `∇f(x) = Σ_l h'(z_l) · A G_x b_l` (analytic).
    pub fn gradient(&self, x: &[f64]) -> Vec<f64> {
        let fw = self.forward(x);
        let coeff = self.first_layer_coefficients(&fw);
        self.a.matvec(&coeff)
    }

    /// `Σ_l h'(z_l) B_il g'(y_i)` for each i: the gradient is `A` times this.
    fn first_layer_coefficients(&self, fw: &Forward) -> Vec<f64> {
        let hp: Vec<f64> = fw.hz.iter().map(|v| v[1]).collect();
        let bh = self.b.matvec(&hp);
        bh.iter().zip(&fw.gy).map(|(s, g)| s * g[1]).collect()
    }

    /// The analytic Hessian at `x` (paper-spec §1):
    /// `Σ_i α_i a_i a_iᵀ + Σ_l h''(z_l) (A G_x b_l)(A G_x b_l)ᵀ`.
    pub fn hessian(&self, x: &[f64]) -> Mat {
        let fw = self.forward(x);
        let d = self.input_dim();
        let hp: Vec<f64> = fw.hz.iter().map(|v| v[1]).collect();
        let bh = self.b.matvec(&hp);
        let mut hess = Mat::zeros(d, d);
        for (i, ai) in self.a.columns().enumerate() {
            add_rank1(&mut hess, fw.gy[i][2] * bh[i], ai);
        }
        for (l, bl) in self.b.columns().enumerate() {
            let gb: Vec<f64> = bl.iter().zip(&fw.gy).map(|(b, g)| b * g[1]).collect();
            add_rank1(&mut hess, fw.hz[l][2], &self.a.matvec(&gb));
        }
        hess
    }

    /// The entangled weights at `x`: `v_l(x) = A G_x b_l / ‖A G_x b_l‖` (paper-spec §1),
    /// as the columns of a d×m1 matrix. At x = 0 these are the paper's v_l.
    pub fn entangled_weights(&self, x: &[f64]) -> Mat {
        let fw = self.forward(x);
        let cols: Vec<Vec<f64>> = self
            .b
            .columns()
            .map(|bl| {
                let gb: Vec<f64> = bl.iter().zip(&fw.gy).map(|(b, g)| b * g[1]).collect();
                let mut v = self.a.matvec(&gb);
                nnid_linalg::normalize(&mut v);
                v
            })
            .collect();
        Mat::from_columns(self.input_dim(), &cols)
    }
}

/// `act(mᵀx + shift)`, entrywise. Each dot product is summed in index order from 0 exactly as
/// [`dot`] does; four columns run side by side so their (independent) sums overlap.
fn affine_activation(m: &Mat, x: &[f64], shift: &[f64], act: Activation) -> Vec<f64> {
    let n = m.nrows();
    let data = m.as_slice();
    let mut out = Vec::with_capacity(m.ncols());
    let mut blocks = data.chunks_exact(4 * n.max(1));
    for block in &mut blocks {
        let (c0, rest) = block.split_at(n);
        let (c1, rest) = rest.split_at(n);
        let (c2, c3) = rest.split_at(n);
        let mut s = [0.0f64; 4];
        for ((((&a0, &a1), &a2), &a3), &xk) in c0.iter().zip(c1).zip(c2).zip(c3).zip(x) {
            s[0] += a0 * xk;
            s[1] += a1 * xk;
            s[2] += a2 * xk;
            s[3] += a3 * xk;
        }
        for v in s {
            out.push(act.eval(v + shift[out.len()]));
        }
    }
    for col in blocks.remainder().chunks_exact(n.max(1)) {
        out.push(act.eval(dot(col, x) + shift[out.len()]));
    }
    out
}

fn add_rank1(m: &mut Mat, alpha: f64, v: &[f64]) {
    let d = v.len();
    for j in 0..d {
        let s = alpha * v[j];
        for i in 0..d {
            m[(i, j)] += s * v[i];
        }
    }
}

fn check_len(field: &'static str, got: usize, expected: usize) -> Result<(), ModelError> {
    if got == expected {
        Ok(())
    } else {
        Err(ModelError::Shape {
            field: field.into(),
            expected,
            got,
        })
    }
}

fn check_finite(field: &'static str, values: &[f64]) -> Result<(), ModelError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(ModelError::NonFinite {
            field: field.into(),
            index,
            value: values[index],
        }),
    }
}
