//! Route G's fit (spec §10.1 step 3): multi-start norm-penalised LM from random starts
//! inside the gradient span, certified by the relative error on validation queries.
//!
//! Each start draws the rows of A as random unit vectors in span(A) (given by a basis U),
//! the b_l as random unit vectors, θ = τ = 0 and c = 1, then runs [`fit_penalised_lm`]. The
//! first start whose validation error is below [`RouteGConfig::accept_tol`] is accepted;
//! otherwise the start with the lowest validation error is returned, marked uncertified.
//! The gradient span and the queries themselves belong to the pipeline: this module takes
//! data in and gives a network out.

use crate::FitError;
use crate::error::check_size;
use crate::fit::{FitReport, PenalisedFitConfig, fit_penalised_lm};
use crate::student::{FitData, StudentModel};
use nnid_linalg::{Linalg, Mat, normalize};
use nnid_nn_model::{Activation, Network};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::time::{Duration, Instant};

/// Settings of [`route_g_fit`]; defaults as measured in spec §10.1.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteGConfig {
    /// Most random starts. Default 6.
    pub max_starts: usize,
    /// Seed of the random starts (start k uses ChaCha8 stream k of this seed).
    pub seed: u64,
    /// Accept a start when its validation relative error is below this. Default 10⁻⁹.
    pub accept_tol: f64,
    /// Stop starting new fits after this much time (`None`: no limit).
    pub time_limit: Option<Duration>,
    /// The penalised LM of each start.
    pub fit: PenalisedFitConfig,
}

impl Default for RouteGConfig {
    fn default() -> Self {
        Self {
            max_starts: 6,
            seed: 0,
            accept_tol: 1e-9,
            time_limit: None,
            fit: PenalisedFitConfig::default(),
        }
    }
}

impl RouteGConfig {
    /// Sets [`RouteGConfig::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`RouteGConfig::max_starts`].
    pub fn with_max_starts(mut self, max_starts: usize) -> Self {
        self.max_starts = max_starts;
        self
    }

    fn validate(&self) -> Result<(), FitError> {
        if self.max_starts == 0 {
            return Err(FitError::InvalidConfig {
                field: "max_starts",
                reason: "must be at least 1".into(),
            });
        }
        if !(self.accept_tol.is_finite() && self.accept_tol > 0.0) {
            return Err(FitError::InvalidConfig {
                field: "accept_tol",
                reason: format!("must be positive and finite, got {}", self.accept_tol),
            });
        }
        self.fit.validate()
    }
}

/// What one start of [`route_g_fit`] gave.
#[derive(Clone, Debug, PartialEq)]
pub struct StartRecord {
    /// Start index (its ChaCha8 stream).
    pub start: usize,
    /// Relative error on the validation data.
    pub validation_error: f64,
    /// Relative error on the fit data.
    pub fit_misfit: f64,
    /// LM iterations over all stages.
    pub iterations: usize,
    /// Wall time of the start, in seconds.
    pub seconds: f64,
    /// Whether it was accepted (validation error below the tolerance).
    pub accepted: bool,
}

/// The outcome of [`route_g_fit`].
#[derive(Clone, Debug)]
pub struct RouteGReport {
    /// The accepted network, or the best one when no start was accepted.
    pub network: Network,
    /// Its validation relative error.
    pub validation_error: f64,
    /// Whether a start passed the validation test (the self-certificate).
    pub certified: bool,
    /// Index of the returned start.
    pub best_start: usize,
    /// Every start run, in order.
    pub starts: Vec<StartRecord>,
    /// The full fit report of the returned start.
    pub fit: FitReport,
}

/// A random route-G start: a_i = normalise(U ζ_i), ζ_i ~ N(0, I_k) (k = columns of U),
/// b_l random unit vectors in R^{m0}, θ = τ = 0, c = 1. Here m0 = k.
pub fn random_start(
    span: &Mat,
    m1: usize,
    g: Activation,
    h: Activation,
    rng: &mut ChaCha8Rng,
) -> StudentModel {
    let (d, m0) = span.shape();
    let mut gauss = |n: usize| -> Vec<f64> { (0..n).map(|_| StandardNormal.sample(rng)).collect() };
    let a_cols: Vec<Vec<f64>> = (0..m0)
        .map(|_| {
            let mut a = span.matvec(&gauss(m0));
            normalize(&mut a);
            a
        })
        .collect();
    let b_cols: Vec<Vec<f64>> = (0..m1)
        .map(|_| {
            let mut b = gauss(m0);
            normalize(&mut b);
            b
        })
        .collect();
    StudentModel {
        a: Mat::from_columns(d, &a_cols),
        theta: vec![0.0; m0],
        b: Mat::from_columns(m0, &b_cols),
        tau: vec![0.0; m1],
        c: vec![1.0; m1],
        g,
        h,
    }
}

/// The random start number `k` of seed `seed`, as [`route_g_fit`] draws it: [`random_start`]
/// with ChaCha8 stream `k` of `seed`.
pub fn seeded_start(
    span: &Mat,
    m1: usize,
    g: Activation,
    h: Activation,
    seed: u64,
    k: u64,
) -> StudentModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(k);
    random_start(span, m1, g, h, &mut rng)
}

/// `n` points x ~ N(0, s²I_d) as the columns of a d×n matrix, from ChaCha8 seeded with
/// `seed` (the fit and validation points of spec §6 / §10.1 use s = the activation's width).
pub fn gaussian_points(d: usize, n: usize, s: f64, seed: u64) -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Mat::from_col_major(
        d,
        n,
        (0..d * n)
            .map(|_| s * Distribution::<f64>::sample(&StandardNormal, &mut rng))
            .collect(),
    )
}

/// Route G's multi-start penalised LM (module docs). `span` is d×m0 with columns spanning
/// span{a_i} (orthonormal, e.g. the top left singular vectors of stacked gradients); the
/// network has m0 = `span.ncols()` first-layer and `m1` second-layer neurons.
///
/// # Errors
/// A bad configuration, `m1 = 0`, data whose dimension differs from `span.nrows()`, a
/// non-finite span, and the errors of [`fit_penalised_lm`].
#[allow(clippy::too_many_arguments)]
pub fn route_g_fit(
    la: Linalg<'_>,
    span: &Mat,
    m1: usize,
    g: Activation,
    h: Activation,
    fit: &FitData,
    validation: &FitData,
    cfg: &RouteGConfig,
) -> Result<RouteGReport, FitError> {
    cfg.validate()?;
    crate::error::check_finite("route_g_fit: span", span.as_slice())?;
    if m1 == 0 || span.ncols() == 0 {
        return Err(FitError::Shape {
            what: "route_g_fit: widths m0 and m1 must be ≥ 1 (m1 shown)",
            expected: 1,
            got: m1,
        });
    }
    check_size(
        "route_g_fit: dimension of the fit points",
        span.nrows(),
        fit.input_dim(),
    )?;
    check_size(
        "route_g_fit: dimension of the validation points",
        span.nrows(),
        validation.input_dim(),
    )?;
    let clock = Instant::now();
    let mut starts = Vec::new();
    let mut best: Option<(f64, usize, FitReport)> = None;
    for k in 0..cfg.max_starts {
        if cfg
            .time_limit
            .is_some_and(|limit| k > 0 && clock.elapsed() > limit)
        {
            break;
        }
        let t0 = Instant::now();
        let start = seeded_start(span, m1, g, h, cfg.seed, k as u64);
        let report = fit_penalised_lm(la, fit, start, &cfg.fit)?;
        let validation_error =
            validation.relative_misfit(&report.network.values(validation.points()));
        let accepted = validation_error < cfg.accept_tol;
        starts.push(StartRecord {
            start: k,
            validation_error,
            fit_misfit: report.fit_misfit,
            iterations: report.iterations(),
            seconds: t0.elapsed().as_secs_f64(),
            accepted,
        });
        if best
            .as_ref()
            .is_none_or(|(e, ..)| validation_error < *e || e.is_nan())
        {
            best = Some((validation_error, k, report));
        }
        if accepted {
            break;
        }
    }
    let (validation_error, best_start, fit) = best.expect("route_g_fit: at least one start runs");
    Ok(RouteGReport {
        network: fit.network.clone(),
        validation_error,
        certified: validation_error < cfg.accept_tol,
        best_start,
        starts,
        fit,
    })
}
