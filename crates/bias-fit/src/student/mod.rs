//! The student network with output scales, and its penalised least-squares problem.
//!
//! The student is `f̂(x) = Σ_l c_l · h(b_lᵀ g(Aᵀx + θ) + τ_l)`: the model of paper-spec §1
//! with one output scale `c_l` per second-layer neuron (initialised to 1). With `c` free,
//! Levenberg–Marquardt can flip the sign of a `b_l` by passing `c_l` through −1 instead of
//! crossing the degenerate valley `b_l ≈ 0` (spec §6).
//!
//! [`StudentProblem`] is the least-squares problem of spec §6 / §10.1: N data residuals
//! `f̂(x_n) − y_n`, then, for the free blocks, the norm penalties `w(‖a_i‖² − 1)`,
//! `w(‖b_l‖² − 1)`, `w(c_l² − 1)` with `w = 0.03·√N` by default. They vanish at the teacher
//! and at all its symmetric copies, so they change no exact solution, but they close the
//! degenerate valleys of the over-flexible model (`c_l → 0` with `|b_l| → 10³`).
//!
//! Jacobian (per point x, with `y = Aᵀx + θ`, `z = BᵀG + τ`, `G = g(y)`, `G' = g'(y)`,
//! `ω_l = c_l h'(z_l)`, `u_i = G'_i Σ_l ω_l B_il`):
//! `∂/∂A_ji = u_i x_j`, `∂/∂θ_i = u_i`, `∂/∂B_il = ω_l G_i`, `∂/∂τ_l = ω_l`, `∂/∂c_l = h(z_l)`;
//! penalty rows `2w a_i`, `2w b_l`, `2w c_l` in the matching blocks.

use crate::FitError;
use crate::error::{check_finite, check_size};
use crate::lm::LeastSquares;
use crate::operator::JacobianOperator;
use nnid_linalg::{Linalg, Mat, Op, axpy, dot, norm2};
use nnid_nn_model::{Activation, Network};
use rayon::prelude::*;

mod operator;

/// Default penalty factor: `w = 0.03·√N` (spec §6; 0.1·√N and 0.3·√N measured worse).
pub const DEFAULT_PENALTY_FACTOR: f64 = 0.03;

/// Parallel chunks of fewer points than this are not worth the rayon overhead.
const MIN_POINTS_PER_TASK: usize = 64;

/// A two-hidden-layer network with output scales `c`:
/// `f̂(x) = Σ_l c_l · h(b_lᵀ g(Aᵀx + θ) + τ_l)`.
///
/// Fields are public; [`StudentModel::check`] validates their shapes and finiteness, and
/// every function of this crate that takes a model calls it.
#[derive(Clone, Debug, PartialEq)]
pub struct StudentModel {
    /// First-layer weights, d×m0, column i = a_i.
    pub a: Mat,
    /// First-layer shifts θ (length m0).
    pub theta: Vec<f64>,
    /// Second-layer weights, m0×m1, column l = b_l.
    pub b: Mat,
    /// Second-layer shifts τ (length m1).
    pub tau: Vec<f64>,
    /// Output scales c (length m1; 1 for a plain [`Network`]).
    pub c: Vec<f64>,
    /// First-layer activation g.
    pub g: Activation,
    /// Second-layer activation h.
    pub h: Activation,
}

/// Which parameter blocks a [`StudentProblem`] fits; the others stay at the template's
/// values and have no Jacobian columns (and no penalty rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FreeBlocks {
    /// First-layer weights A.
    pub a: bool,
    /// First-layer shifts θ.
    pub theta: bool,
    /// Second-layer weights B.
    pub b: bool,
    /// Second-layer shifts τ.
    pub tau: bool,
    /// Output scales c.
    pub c: bool,
}

impl FreeBlocks {
    /// Every block, output scales included.
    pub const ALL: Self = Self {
        a: true,
        theta: true,
        b: true,
        tau: true,
        c: true,
    };
    /// Every block of a plain [`Network`] (A, θ, B, τ), output scales frozen.
    pub const NETWORK: Self = Self {
        a: true,
        theta: true,
        b: true,
        tau: true,
        c: false,
    };
    /// A frozen: θ, B, τ and c free (stage A of route G).
    pub const FROZEN_A: Self = Self {
        a: false,
        theta: true,
        b: true,
        tau: true,
        c: true,
    };
    /// A and c frozen: θ, B, τ free (the second layer given A, as in route S step 3).
    pub const SECOND_LAYER: Self = Self {
        a: false,
        theta: true,
        b: true,
        tau: true,
        c: false,
    };

    /// The same blocks with the output scales set free or frozen.
    pub const fn with_c(self, c: bool) -> Self {
        Self { c, ..self }
    }
}

/// Where each block sits in the full parameter vector of a (d, m0, m1) student:
/// `[A column-major (a_1, …, a_m0) | θ | B column-major (b_1, …, b_m1) | τ | c]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamLayout {
    /// Input dimension.
    pub d: usize,
    /// First hidden width.
    pub m0: usize,
    /// Second hidden width.
    pub m1: usize,
}

impl ParamLayout {
    /// Offset of A (always 0).
    pub const fn a(self) -> usize {
        0
    }
    /// Offset of θ.
    pub const fn theta(self) -> usize {
        self.d * self.m0
    }
    /// Offset of B.
    pub const fn b(self) -> usize {
        self.theta() + self.m0
    }
    /// Offset of τ.
    pub const fn tau(self) -> usize {
        self.b() + self.m0 * self.m1
    }
    /// Offset of c.
    pub const fn c(self) -> usize {
        self.tau() + self.m1
    }
    /// Length of the full vector, `d·m0 + m0 + m0·m1 + 2·m1`.
    pub const fn len(self) -> usize {
        self.c() + self.m1
    }
    /// Whether the layout is empty (never for a valid model).
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl StudentModel {
    /// The student equal to `net`, with every output scale 1.
    pub fn from_network(net: &Network) -> Self {
        Self {
            a: net.a().clone(),
            theta: net.theta().to_vec(),
            b: net.b().clone(),
            tau: net.tau().to_vec(),
            c: vec![1.0; net.m1()],
            g: net.g(),
            h: net.h(),
        }
    }

    /// `(d, m0, m1)`.
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.a.nrows(), self.a.ncols(), self.b.ncols())
    }

    /// The parameter layout of this model.
    pub fn layout(&self) -> ParamLayout {
        let (d, m0, m1) = self.dims();
        ParamLayout { d, m0, m1 }
    }

    /// Checks shapes (`B` has m0 rows, θ has m0 entries, τ and c have m1, all sizes ≥ 1)
    /// and finiteness.
    ///
    /// # Errors
    /// [`FitError::Shape`] or [`FitError::NonFinite`] naming the field.
    pub fn check(&self) -> Result<(), FitError> {
        let (d, m0, m1) = self.dims();
        if d == 0 || m0 == 0 || m1 == 0 {
            return Err(FitError::Shape {
                what: "student model: d, m0 and m1 must be at least 1 (product shown)",
                expected: 1,
                got: d * m0 * m1,
            });
        }
        check_size("student model: length of θ (m0)", m0, self.theta.len())?;
        check_size("student model: rows of B (m0)", m0, self.b.nrows())?;
        check_size("student model: length of τ (m1)", m1, self.tau.len())?;
        check_size("student model: length of c (m1)", m1, self.c.len())?;
        check_finite("student model: A", self.a.as_slice())?;
        check_finite("student model: θ", &self.theta)?;
        check_finite("student model: B", self.b.as_slice())?;
        check_finite("student model: τ", &self.tau)?;
        check_finite("student model: c", &self.c)
    }

    /// The full parameter vector (layout in [`ParamLayout`]).
    pub fn params(&self) -> Vec<f64> {
        let mut p = Vec::with_capacity(self.layout().len());
        p.extend_from_slice(self.a.as_slice());
        p.extend_from_slice(&self.theta);
        p.extend_from_slice(self.b.as_slice());
        p.extend_from_slice(&self.tau);
        p.extend_from_slice(&self.c);
        p
    }

    /// Overwrites every parameter from a full vector (layout in [`ParamLayout`]).
    ///
    /// # Panics
    /// If `p` does not have [`ParamLayout::len`] entries.
    #[track_caller]
    pub fn set_params(&mut self, p: &[f64]) {
        let lay = self.layout();
        assert_eq!(
            p.len(),
            lay.len(),
            "StudentModel::set_params: {} entries for {lay:?}",
            p.len()
        );
        self.a
            .as_mut_slice()
            .copy_from_slice(&p[lay.a()..lay.theta()]);
        self.theta.copy_from_slice(&p[lay.theta()..lay.b()]);
        self.b
            .as_mut_slice()
            .copy_from_slice(&p[lay.b()..lay.tau()]);
        self.tau.copy_from_slice(&p[lay.tau()..lay.c()]);
        self.c.copy_from_slice(&p[lay.c()..]);
    }

    /// `f̂(x)`.
    ///
    /// # Panics
    /// If `x.len() != d`.
    #[track_caller]
    pub fn value(&self, x: &[f64]) -> f64 {
        assert_eq!(
            x.len(),
            self.a.nrows(),
            "StudentModel::value: point of length {}",
            x.len()
        );
        let phi: Vec<f64> = self
            .a
            .columns()
            .zip(&self.theta)
            .map(|(ai, t)| self.g.eval(dot(ai, x) + t))
            .collect();
        self.b
            .columns()
            .zip(&self.tau)
            .zip(&self.c)
            .map(|((bl, t), c)| c * self.h.eval(dot(bl, &phi) + t))
            .sum()
    }

    /// `f̂` at every column of `points` (d×n), in parallel.
    ///
    /// # Panics
    /// If `points.nrows() != d`.
    #[track_caller]
    pub fn values(&self, points: &Mat) -> Vec<f64> {
        let (d, m0, m1) = self.dims();
        assert_eq!(
            points.nrows(),
            d,
            "StudentModel::values: points have {} rows",
            points.nrows()
        );
        let fast = FastForward::new(self);
        points
            .as_slice()
            .par_chunks(d.max(1))
            .with_min_len(MIN_POINTS_PER_TASK)
            .map_init(
                || (vec![0.0; m0], vec![0.0; m1]),
                |(y, z), x| fast.value(x, y, z),
            )
            .collect()
    }

    /// Folds negative output scales into the weights where that is an exact symmetry:
    /// for an odd `h` (tanh), `c·h(z) = (−c)·h(−z)`, so `(b_l, τ_l, c_l) → (−b_l, −τ_l, −c_l)`
    /// whenever `c_l < 0`. The logistic sigmoid has no such symmetry without an output
    /// constant (`−σ(z) = σ(−z) − 1`), so a sigmoid student is returned unchanged.
    pub fn fold_signs(&self) -> Self {
        let mut out = self.clone();
        if self.h == Activation::Tanh {
            for l in 0..out.c.len() {
                if out.c[l] < 0.0 {
                    out.c[l] = -out.c[l];
                    out.tau[l] = -out.tau[l];
                    out.b.col_mut(l).iter_mut().for_each(|v| *v = -*v);
                }
            }
        }
        out
    }

    /// The plain [`Network`] equal to this student: every output scale must be 1 after
    /// [`StudentModel::fold_signs`], within `tol`; the deviation is dropped.
    ///
    /// # Errors
    /// [`FitError::OutputScale`] for a scale that is not ±1 (tanh) or not 1 (sigmoid), and
    /// the shape and finiteness errors of [`StudentModel::check`].
    pub fn to_network(&self, tol: f64) -> Result<Network, FitError> {
        self.check()?;
        let folded = self.fold_signs();
        if let Some(l) = folded.c.iter().position(|c| (c - 1.0).abs() > tol) {
            return Err(FitError::OutputScale {
                index: l,
                value: self.c[l],
                activation: self.h,
                tol,
            });
        }
        Ok(Network::new(
            folded.a,
            folded.theta,
            folded.b,
            folded.tau,
            self.g,
            self.h,
        )?)
    }
}

/// A model with its weight matrices also stored transposed, so that the forward pass is a
/// sequence of contiguous `axpy`s (vectorised, no serial dot-product chains).
struct FastForward<'m> {
    model: &'m StudentModel,
    /// Aᵀ (m0×d): column j holds entry j of every a_i.
    at: Mat,
    /// Bᵀ (m1×m0): column i holds entry i of every b_l.
    bt: Mat,
}

impl<'m> FastForward<'m> {
    fn new(model: &'m StudentModel) -> Self {
        Self {
            model,
            at: model.a.transpose(),
            bt: model.b.transpose(),
        }
    }

    /// `y = Aᵀx + θ`.
    fn first(&self, x: &[f64], y: &mut [f64]) {
        y.copy_from_slice(&self.model.theta);
        for (j, &xj) in x.iter().enumerate() {
            axpy(xj, self.at.col(j), y);
        }
    }

    /// [`FastForward::first`] at every point of `xs` (column-major, d rows) into `ys`
    /// (m0 rows): one matrix product `AᵀX` with the default backend (the per-point `axpy`s
    /// read all of A once per point, the product once per block), per point without one.
    fn first_block(&self, xs: &[f64], ys: &mut [f64]) {
        let (m0, d) = self.at.shape();
        let n = xs.len() / d.max(1);
        match Linalg::default_backend() {
            Ok(la) if n > 1 && d > 0 && m0 > 0 => {
                let x = Mat::from_col_major(d, n, xs.to_vec());
                let y = la.matmul(&self.at, Op::NoTrans, &x, Op::NoTrans);
                for (out, col) in ys.chunks_mut(m0).zip(y.as_slice().chunks(m0)) {
                    for ((o, v), t) in out.iter_mut().zip(col).zip(&self.model.theta) {
                        *o = v + t;
                    }
                }
            }
            _ => {
                for (x, y) in xs.chunks(d.max(1)).zip(ys.chunks_mut(m0.max(1))) {
                    self.first(x, y);
                }
            }
        }
    }

    /// `f̂` at the points of `xs` (column-major, d rows) into `out`, with scratch `ys`
    /// (m0 per point) and `z` (m1).
    fn values_block(&self, xs: &[f64], ys: &mut [f64], z: &mut [f64], out: &mut [f64]) {
        let m0 = self.model.theta.len();
        let ys = &mut ys[..m0 * out.len()];
        self.first_block(xs, ys);
        self.model.g.eval_in_place(ys);
        for (o, phi) in out.iter_mut().zip(ys.chunks(m0.max(1))) {
            *o = self.output(phi, z);
        }
    }

    /// `z = Bᵀφ + τ`.
    fn second(&self, phi: &[f64], z: &mut [f64]) {
        z.copy_from_slice(&self.model.tau);
        for (i, &pi) in phi.iter().enumerate() {
            axpy(pi, self.bt.col(i), z);
        }
    }

    /// `f̂(x)`, with scratch `y` (m0) and `z` (m1).
    fn value(&self, x: &[f64], y: &mut [f64], z: &mut [f64]) -> f64 {
        self.first(x, y);
        y.iter_mut().for_each(|t| *t = self.model.g.eval(*t));
        self.output(y, z)
    }

    /// `Σ_l c_l h(b_lᵀφ + τ_l)` from the first layer's outputs φ, with scratch `z` (m1).
    fn output(&self, phi: &[f64], z: &mut [f64]) -> f64 {
        let m = self.model;
        self.second(phi, z);
        z.iter().zip(&m.c).map(|(t, c)| c * m.h.eval(*t)).sum()
    }
}

/// Fit data: query points (d×N, one per column) and the oracle's answers, with the
/// transposed points made on first use for the first layer's Jacobian.
#[derive(Clone, Debug)]
pub struct FitData {
    points: Mat,
    /// The transposed points (N×d), made on first use: only the first layer's Jacobian
    /// needs them, and at (3072, 512, 128) they take 2 GB.
    points_t: std::sync::OnceLock<Mat>,
    values: Vec<f64>,
    values_norm: f64,
}

impl FitData {
    /// Wraps points (d×N) and values (length N).
    ///
    /// # Errors
    /// [`FitError::Shape`] when the lengths differ or N = 0, [`FitError::NonFinite`] for a
    /// NaN or infinite point coordinate or value.
    pub fn new(points: Mat, values: Vec<f64>) -> Result<Self, FitError> {
        check_size(
            "fit data: number of values (= columns of the points)",
            points.ncols(),
            values.len(),
        )?;
        if values.is_empty() {
            return Err(FitError::Shape {
                what: "fit data: number of points",
                expected: 1,
                got: 0,
            });
        }
        check_finite("fit data: points", points.as_slice())?;
        check_finite("fit data: values", &values)?;
        let values_norm = norm2(&values);
        Ok(Self {
            points,
            points_t: std::sync::OnceLock::new(),
            values,
            values_norm,
        })
    }

    /// The points, d×N.
    pub fn points(&self) -> &Mat {
        &self.points
    }

    /// The points transposed (N×d), computed once on first use.
    fn points_t(&self) -> &Mat {
        self.points_t.get_or_init(|| self.points.transpose())
    }

    /// The values, length N.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of points N.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no points (never for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Input dimension d.
    pub fn input_dim(&self) -> usize {
        self.points.nrows()
    }

    /// `‖y‖`.
    pub fn values_norm(&self) -> f64 {
        self.values_norm
    }

    /// `‖pred − y‖ / ‖y‖` (absolute when `y = 0`).
    ///
    /// # Panics
    /// If `pred` does not have N entries.
    #[track_caller]
    pub fn relative_misfit(&self, pred: &[f64]) -> f64 {
        assert_eq!(
            pred.len(),
            self.len(),
            "FitData::relative_misfit: {} predictions",
            pred.len()
        );
        let err: f64 = pred
            .iter()
            .zip(&self.values)
            .map(|(p, y)| (p - y) * (p - y))
            .sum();
        let scale = if self.values_norm > 0.0 {
            self.values_norm
        } else {
            1.0
        };
        err.sqrt() / scale
    }
}

/// One column of the free parameter vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Param {
    /// Entry `j` of `a_i`.
    A {
        j: usize,
        i: usize,
    },
    Theta(usize),
    /// Entry `i` of `b_l`.
    B {
        i: usize,
        l: usize,
    },
    Tau(usize),
    C(usize),
}

/// The penalised least-squares problem of a student on fit data (module docs).
///
/// The free parameter vector holds the free blocks in the order of [`ParamLayout`]
/// (A, θ, B, τ, c), each in its own column-major order; frozen blocks keep the template's
/// values. Residuals: the N data rows, then `w(‖a_i‖² − 1)` (i ≤ m0) if A is free,
/// `w(‖b_l‖² − 1)` (l ≤ m1) if B is free, `w(c_l² − 1)` (l ≤ m1) if c is free; no penalty
/// rows when `w = 0`.
#[derive(Clone, Debug)]
pub struct StudentProblem<'a> {
    template: StudentModel,
    data: &'a FitData,
    free: FreeBlocks,
    weight: f64,
    params: Vec<Param>,
    rows_a: Option<usize>,
    rows_b: Option<usize>,
    rows_c: Option<usize>,
    num_residuals: usize,
}

/// Per-point quantities of a forward pass, stored feature-major (each feature a contiguous
/// column over the N points) so that every Jacobian column is a product of two columns,
/// and the Jacobian products of [`operator`] are matrix products.
struct Features {
    /// `u_i = G'_i Σ_l ω_l B_il`, N×m0.
    u: Mat,
    /// `G_i = g(y_i)`, N×m0.
    g: Mat,
    /// `ω_l = c_l h'(z_l)`, N×m1.
    omega: Mat,
    /// `h(z_l)`, N×m1.
    h: Mat,
}

impl<'a> StudentProblem<'a> {
    /// The problem of fitting the `free` blocks of `template` to `data`, with the default
    /// penalty weight `w = 0.03·√N`.
    ///
    /// # Errors
    /// The errors of [`StudentModel::check`], and [`FitError::Shape`] when the data's
    /// dimension differs from the model's.
    pub fn new(
        template: StudentModel,
        data: &'a FitData,
        free: FreeBlocks,
    ) -> Result<Self, FitError> {
        template.check()?;
        let (d, m0, m1) = template.dims();
        check_size(
            "student problem: dimension of the fit points",
            d,
            data.input_dim(),
        )?;
        let mut params = Vec::new();
        if free.a {
            params.extend((0..m0).flat_map(|i| (0..d).map(move |j| Param::A { j, i })));
        }
        if free.theta {
            params.extend((0..m0).map(Param::Theta));
        }
        if free.b {
            params.extend((0..m1).flat_map(|l| (0..m0).map(move |i| Param::B { i, l })));
        }
        if free.tau {
            params.extend((0..m1).map(Param::Tau));
        }
        if free.c {
            params.extend((0..m1).map(Param::C));
        }
        let mut problem = Self {
            template,
            data,
            free,
            weight: 0.0,
            params,
            rows_a: None,
            rows_b: None,
            rows_c: None,
            num_residuals: data.len(),
        };
        problem.set_penalty_weight(DEFAULT_PENALTY_FACTOR * (data.len() as f64).sqrt())?;
        Ok(problem)
    }

    /// The same problem with penalty weight `w` (0 switches the penalties off).
    ///
    /// # Errors
    /// [`FitError::InvalidConfig`] for a negative or non-finite `w`.
    pub fn with_penalty_weight(mut self, w: f64) -> Result<Self, FitError> {
        self.set_penalty_weight(w)?;
        Ok(self)
    }

    fn set_penalty_weight(&mut self, w: f64) -> Result<(), FitError> {
        if !(w.is_finite() && w >= 0.0) {
            return Err(FitError::InvalidConfig {
                field: "penalty weight",
                reason: format!("must be non-negative and finite, got {w}"),
            });
        }
        let (_, m0, m1) = self.template.dims();
        self.weight = w;
        let mut next = self.data.len();
        let mut block = |on: bool, count: usize| {
            (on && w > 0.0).then(|| {
                let start = next;
                next += count;
                start
            })
        };
        self.rows_a = block(self.free.a, m0);
        self.rows_b = block(self.free.b, m1);
        self.rows_c = block(self.free.c, m1);
        self.num_residuals = next;
        Ok(())
    }

    /// The penalty weight w.
    pub fn penalty_weight(&self) -> f64 {
        self.weight
    }

    /// The free blocks.
    pub fn free(&self) -> FreeBlocks {
        self.free
    }

    /// The template (frozen blocks are taken from it).
    pub fn template(&self) -> &StudentModel {
        &self.template
    }

    /// The fit data.
    pub fn data(&self) -> &'a FitData {
        self.data
    }

    /// The template's free parameters: the natural start vector.
    pub fn initial_params(&self) -> Vec<f64> {
        self.free_params(&self.template)
    }

    /// The free parameters of `model` (same dimensions as the template).
    ///
    /// # Panics
    /// If `model`'s dimensions differ from the template's.
    #[track_caller]
    pub fn free_params(&self, model: &StudentModel) -> Vec<f64> {
        assert_eq!(
            model.dims(),
            self.template.dims(),
            "StudentProblem::free_params: dimensions differ"
        );
        self.params
            .iter()
            .map(|&p| match p {
                Param::A { j, i } => model.a[(j, i)],
                Param::Theta(i) => model.theta[i],
                Param::B { i, l } => model.b[(i, l)],
                Param::Tau(l) => model.tau[l],
                Param::C(l) => model.c[l],
            })
            .collect()
    }

    /// The template with its free blocks replaced by `p`.
    ///
    /// # Panics
    /// If `p` does not have [`LeastSquares::num_params`] entries.
    #[track_caller]
    pub fn model_at(&self, p: &[f64]) -> StudentModel {
        assert_eq!(
            p.len(),
            self.params.len(),
            "StudentProblem::model_at: {} parameters",
            p.len()
        );
        let mut model = self.template.clone();
        for (&param, &v) in self.params.iter().zip(p) {
            match param {
                Param::A { j, i } => model.a[(j, i)] = v,
                Param::Theta(i) => model.theta[i] = v,
                Param::B { i, l } => model.b[(i, l)] = v,
                Param::Tau(l) => model.tau[l] = v,
                Param::C(l) => model.c[l] = v,
            }
        }
        model
    }

    /// Forward pass at every point, feature-major.
    fn features(&self, model: &StudentModel) -> Features {
        let (d, m0, m1) = model.dims();
        let n = self.data.len();
        let width = 2 * m0 + 2 * m1;
        let fast = FastForward::new(model);
        let mut point_major = vec![0.0; n * width];
        point_major
            .par_chunks_mut(width * MIN_POINTS_PER_TASK)
            .zip(
                self.data
                    .points
                    .as_slice()
                    .par_chunks(d.max(1) * MIN_POINTS_PER_TASK),
            )
            .for_each_init(
                || (vec![0.0; m0 * MIN_POINTS_PER_TASK], vec![0.0; m0]),
                |(ys, gp), (outs, xs)| {
                    let ys = &mut ys[..m0 * (outs.len() / width.max(1))];
                    fast.first_block(xs, ys);
                    for (out, y) in outs.chunks_mut(width.max(1)).zip(ys.chunks(m0.max(1))) {
                        let (u, rest) = out.split_at_mut(m0);
                        let (gv, rest) = rest.split_at_mut(m0);
                        let (omega, hv) = rest.split_at_mut(m1);
                        for ((gi, gpi), yi) in gv.iter_mut().zip(gp.iter_mut()).zip(y) {
                            let [v, dv, ..] = model.g.derivatives(*yi);
                            (*gi, *gpi) = (v, dv);
                        }
                        fast.second(gv, hv);
                        for ((hl, ol), c) in hv.iter_mut().zip(omega.iter_mut()).zip(&model.c) {
                            let [v, dv, ..] = model.h.derivatives(*hl);
                            (*hl, *ol) = (v, c * dv);
                        }
                        u.fill(0.0);
                        for (l, &ol) in omega.iter().enumerate() {
                            axpy(ol, model.b.col(l), u);
                        }
                        u.iter_mut().zip(gp.iter()).for_each(|(ui, g)| *ui *= g);
                    }
                },
            );
        let block = |start: usize, count: usize| {
            let mut m = Mat::zeros(n, count);
            m.as_mut_slice()
                .par_chunks_mut(n.max(1))
                .enumerate()
                .for_each(|(k, col)| {
                    col.iter_mut()
                        .zip(point_major.iter().skip(start + k).step_by(width))
                        .for_each(|(c, v)| *c = *v);
                });
            m
        };
        Features {
            u: block(0, m0),
            g: block(m0, m0),
            omega: block(2 * m0, m1),
            h: block(2 * m0 + m1, m1),
        }
    }
}

impl LeastSquares for StudentProblem<'_> {
    fn num_params(&self) -> usize {
        self.params.len()
    }

    fn num_residuals(&self) -> usize {
        self.num_residuals
    }

    fn residuals(&self, p: &[f64], r: &mut [f64]) {
        assert_eq!(
            r.len(),
            self.num_residuals,
            "StudentProblem::residuals: output length"
        );
        let model = self.model_at(p);
        let (d, m0, m1) = model.dims();
        let n = self.data.len();
        let fast = FastForward::new(&model);
        let (data_rows, penalty_rows) = r.split_at_mut(n);
        data_rows
            .par_chunks_mut(MIN_POINTS_PER_TASK)
            .zip(
                self.data
                    .points
                    .as_slice()
                    .par_chunks(d.max(1) * MIN_POINTS_PER_TASK),
            )
            .zip(self.data.values.par_chunks(MIN_POINTS_PER_TASK))
            .for_each_init(
                || (vec![0.0; m0 * MIN_POINTS_PER_TASK], vec![0.0; m1]),
                |(ys, zs), ((rs, xs), values)| {
                    fast.values_block(xs, ys, zs, rs);
                    rs.iter_mut().zip(values).for_each(|(r, y)| *r -= y);
                },
            );
        let w = self.weight;
        let base = n;
        if let Some(s) = self.rows_a {
            for i in 0..m0 {
                let a = model.a.col(i);
                penalty_rows[s - base + i] = w * (dot(a, a) - 1.0);
            }
        }
        if let Some(s) = self.rows_b {
            for l in 0..m1 {
                let b = model.b.col(l);
                penalty_rows[s - base + l] = w * (dot(b, b) - 1.0);
            }
        }
        if let Some(s) = self.rows_c {
            for l in 0..m1 {
                penalty_rows[s - base + l] = w * (model.c[l] * model.c[l] - 1.0);
            }
        }
    }

    fn jacobian(&self, p: &[f64], j: &mut Mat) {
        assert_eq!(
            j.shape(),
            (self.num_residuals, self.params.len()),
            "StudentProblem::jacobian: shape"
        );
        let model = self.model_at(p);
        let feats = self.features(&model);
        let n = self.data.len();
        let w2 = 2.0 * self.weight;
        let xt = self.data.points_t();
        let nr = self.num_residuals;
        j.as_mut_slice()
            .par_chunks_mut(nr)
            .zip(self.params.par_iter())
            .for_each(|(col, &param)| {
                let (rows, pen) = col.split_at_mut(n);
                let product = |rows: &mut [f64], a: &[f64], b: &[f64]| {
                    rows.iter_mut()
                        .zip(a.iter().zip(b))
                        .for_each(|(r, (x, y))| *r = x * y);
                };
                match param {
                    Param::A { j, i } => {
                        product(rows, feats.u.col(i), xt.col(j));
                        if let Some(s) = self.rows_a {
                            pen[s - n + i] = w2 * model.a[(j, i)];
                        }
                    }
                    Param::Theta(i) => rows.copy_from_slice(feats.u.col(i)),
                    Param::B { i, l } => {
                        product(rows, feats.omega.col(l), feats.g.col(i));
                        if let Some(s) = self.rows_b {
                            pen[s - n + l] = w2 * model.b[(i, l)];
                        }
                    }
                    Param::Tau(l) => rows.copy_from_slice(feats.omega.col(l)),
                    Param::C(l) => {
                        rows.copy_from_slice(feats.h.col(l));
                        if let Some(s) = self.rows_c {
                            pen[s - n + l] = w2 * model.c[l];
                        }
                    }
                }
            });
    }

    fn operator<'s>(&'s self, la: Linalg<'s>, p: &[f64]) -> Option<Box<dyn JacobianOperator + 's>> {
        Some(Box::new(operator::StudentOperator::new(la, self, p)))
    }

    fn data_misfit(&self, r: &[f64]) -> f64 {
        let n = self.data.len();
        let scale = if self.data.values_norm > 0.0 {
            self.data.values_norm
        } else {
            1.0
        };
        norm2(&r[..n]) / scale
    }
}
