//! The second layer from a known first layer, by exact identities (spec §10.2 step 3).
//!
//! Given the first-layer weights Â (d×m0, from any first-layer route) and the activations,
//! [`recover_second_layer`] finds θ, B and τ of `f(x) = Σ_l h(b_lᵀ g(Âᵀx + θ) + τ_l)` from
//! queries of f. Write u = Âᵀx, y = u + θ, z = Bᵀg(y) + τ. Then
//!
//! 1. **u-gradients**: at K = m1 + 6 points x_k ~ N(0, (0.7·w)² I)
//!    (w = g's width), central differences with a fixed step in u:
//!    x_k ± εPe_j, P = (Âᵀ)⁺, ε = 10⁻⁴ (2·m0 queries per point); on an exact oracle
//!    forward differences x_k + εPe_j, ε = 1.5·10⁻⁶·w, halve that ([`UStencil`]).
//! 2. **θ by the rank condition**: `∇_u f = G(y) B h'(z)`, so `∇_u f / g'(u + θ)` lies in
//!    the m1-dimensional span(B) exactly at the true θ. A multi-start fit on the same data
//!    (no queries) finds θ; the span of the quotients at that θ is span(B), basis Q.
//! 3. **B by Jennrich**: at the two mildest points the second differences along
//!    W = G⁻¹Q (fixed u-step 10⁻³, m1² + m1 + 1 queries each), minus the known diagonal part,
//!    are exactly QᵀB diag(h''(z)) BᵀQ; the eigenvectors of one times the inverse of the
//!    other give the b_l.
//! 4. **Signs and τ**: the coefficients of the quotients in the b_l basis are h'(z) > 0;
//!    |z| follows from h', and τ from a vote over the points.
//! 5. **Polish**: Levenberg–Marquardt on (θ, B, τ) with Â frozen, on 2(m0 + m0·m1 + m1)
//!    fresh points x ~ N(0, (1.5·w)² I). The identities above are exact; only the
//!    finite-difference error (θ ~ 10⁻⁸, b_l ~ 10⁻⁵ in angle, τ ~ 10⁻⁵) is left for the LM,
//!    which starts inside the teacher's basin and ends at the rounding floor when Â is
//!    exact.
//!
//! Fallbacks, cheapest first: if the polish misses a relative residual of 10⁻⁷ although
//! the θ fit met its tolerance (an ill-conditioned Jennrich pair), a projected Hessian at
//! the next mildest point adds new pairs; every pair's network is ranked by its residual on
//! the polish data (no queries) and the best new one is polished (at most 4 points). If that
//! fails too, steps 1–5 are repeated on fresh points (at most 3 attempts). The best network
//! is returned with its residual, so the caller's certificate decides.
//!
//! Symmetries: the second-layer neurons come back in an arbitrary order; a first-layer
//! column given as −a_i is matched by −θ_i and the negated row i of B (and, for the
//! logistic sigmoid, τ_l + B_il), an exact copy of the same f.
//!
//! The step needs m1 < m0 (for m1 ≥ m0 every θ satisfies the rank condition:
//! [`FitError::RankConditionVoid`]) and a first layer of full column rank
//! ([`FitError::RankDeficientFirstLayer`]). Â may be only approximately right (~10⁻⁴); the
//! polish then stops at a residual of that order and the report says so.

mod eig;
mod jennrich;
mod tau;
mod theta_fit;
mod ugrad;
mod width;

pub use jennrich::JennrichDiagnostics;
pub use width::{MIN_GAP, WidthEvidence, discover_m1};

use crate::FitError;
use crate::error::{check_finite, check_size};
use crate::lm::{LmConfig, StepMethod, levenberg_marquardt};
use crate::operator::CgSettings;
use crate::student::{FitData, FreeBlocks, StudentModel, StudentProblem};
use jennrich::{HessianPoint, b_from_c, diagonalise, hessian_queries, projected_hessian};
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::{Activation, Network, Oracle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};
use theta_fit::{RankData, ThetaFitSettings, fit_theta};

/// How the u-gradients of step 1 are differenced.
///
/// The central difference's error is ε²|f'''|/6 + u|f|/ε (u the relative noise of the
/// answers), the forward difference's ε|f''|/2 + 2u|f|/ε: at the rounding unit, with |f| up
/// to m1 (sigmoid outputs are positive) and ε = 1.5·10⁻⁶·w, about 10⁻⁸, well inside the θ fit's
/// tolerance (`theta_accept` 10⁻⁶ on the misfit). But its noise term is 100 times the central
/// one's (ε 1e-4 against 1e-6), so forward differences are for exact oracles only: `auto`
/// picks them when its noise probe finds the answers exact to rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UStencil {
    /// `[f(x + εPe_j) − f(x − εPe_j)]/(2ε)`, ε = `gradient_step`: 2·m0 queries per point
    /// (§10.2 step 3).
    #[default]
    Central,
    /// `[f(x + εPe_j) − f(x)]/ε`, ε = `forward_step`·w: m0 + 1 queries per point (ours).
    /// Measured at (100, 50, 25), 5 teachers per activation: the θ misfit 0.95–2.2e-8 (central:
    /// 2e-10 to 6e-9), every run certified to rel-L2 ≤ 1e-12, 1,519 queries fewer.
    Forward,
}

/// Settings of [`recover_second_layer`]. Defaults are the prototype's (spec §10.2 step 3,
/// route-S notes §2.2 step 3); lengths in u are in units of the activation's width w
/// ([`Activation::width`] of g: 1 for tanh, 2 for the logistic sigmoid) where so noted.
#[derive(Clone, Debug, PartialEq)]
pub struct SecondLayerConfig {
    /// Gradient points beyond m1: K = m1 + max(`extra_points`, ⌈2·m0/(m0 − m1)⌉), so that
    /// the rank condition has at least twice as many equations, (K − m1)(m0 − m1), as θ has
    /// unknowns. Default 6 (the prototype used 12; 6 measured as reliable on the robust
    /// grid, docs/results/robust.md, and saves 12·m0 queries).
    pub extra_points: usize,
    /// Gradient points are x ~ N(0, (`point_scale`·w)² I). Default 0.7 (§10.2 step 3; 1.5
    /// made 1/g'(y)² up to 10⁴ in the projected Hessians, notes §6).
    pub point_scale: f64,
    /// Stencil of the u-gradients. Default [`UStencil::Central`] (the spec's; `auto` picks
    /// [`UStencil::Forward`] on exact oracles).
    pub gradient_stencil: UStencil,
    /// Fixed u-step ε of the central-difference gradients. Default 10⁻⁴ (§10.2 step 3).
    pub gradient_step: f64,
    /// u-step of the forward-difference gradients in units of g's width w. Default
    /// 1.5·10⁻⁶, about the step that balances 2u|f|/ε with ε|f''|/2 (measured at
    /// (100, 50, 25): the θ misfit was 3–4e-8 at 3e-6 on tanh, 1–1.5e-8 at 1e-6; on the
    /// sigmoid 3e-7 at 1e-7, 3e-8 at 1e-6, 1e-8 at 3e-6).
    pub forward_step: f64,
    /// Fixed u-step ε of the projected Hessians (second differences at ±2ε and ±ε±ε).
    /// Default 10⁻³ (§10.2 step 3; notes §2.1 for why it must be a u-step).
    pub hessian_step: f64,
    /// Starts of the θ fit (the hint, or 0, first; then uniform draws). Default 12 (notes §6:
    /// the rank fit has local minima).
    pub theta_starts: usize,
    /// Random θ starts are uniform in [−r, r]^m0 with r = `theta_start_range`. Default 1.
    pub theta_start_range: f64,
    /// The θ fit keeps |θ_i| ≤ `theta_bound`·w. Default 2 (§10.2 step 3).
    pub theta_bound: f64,
    /// A θ start whose rank misfit (RMS distance of the unit gradients to the span) is
    /// below this ends the search. Default 10⁻⁶ (notes §2.2).
    pub theta_accept: f64,
    /// LM iterations per θ start. Default 100.
    pub theta_max_iters: usize,
    /// **\[design\]** Escape scans per θ start. A start that ends above `theta_accept`
    /// usually has one or two coordinates stuck in a side minimum; a scan minimises the
    /// misfit over each coordinate alone (41-point grid over the box, golden-section
    /// refinement at the grid's local minima; one SVD per value, no queries), applies the
    /// single best replacement if it lowers the misfit by 5 %, and runs the LM again.
    /// Default 4.
    pub theta_scan_rounds: usize,
    /// Most points with a projected Hessian per attempt. The two mildest are always used;
    /// each further one (next in mildness) is added only when the polish of the best
    /// candidate so far missed `target_residual` while the θ fit looked right, and brings
    /// new pairs. Default 4 (the prototype used 2; extra points are a fallback for
    /// ill-conditioned pairs).
    pub hessian_points: usize,
    /// Tolerance of the τ vote. Default 10⁻² (notes §2.2).
    pub tau_vote_tol: f64,
    /// Polish points: ⌈`polish_point_factor`·(m0 + m0·m1 + m1)⌉. Default 1.25 (the
    /// prototype used 2: the data are exact and the start is within 1e-5, so 25 % more
    /// equations than unknowns suffice; measured on the robust and scale grids).
    pub polish_point_factor: f64,
    /// Polish points are x ~ N(0, (`polish_scale`·w)² I). Default 1.5 (§10.2 step 3).
    pub polish_scale: f64,
    /// LM iterations of the polish. Default 100 (notes §2.2).
    pub polish_max_iters: usize,
    /// **\[design\]** How the polish solves its steps. Default: conjugate gradients on
    /// Jacobian products from 800 free parameters on, dense normal equations below
    /// (docs/stages/second-layer.md has the measurements: the dense step costs N·P² flops,
    /// 10¹¹ at (200, 100, 50), and P² memory, 35 GB at (3072, 512, 128)). The CG factors
    /// `JᵀJ + Λ` at its first step (`first_factor_after` 0) when P ≤ 8,000: every one of
    /// the 90 polishes of `cargo xtask scale` (rev f4b8bb2) ran its first 30 iterations
    /// without converging and then factored; skipping them saved about 0.1 s of 3.3 at
    /// (784, 128, 32) sigmoid.
    pub polish_step: StepMethod,
    /// Initial LM damping of a matrix-free polish (more free parameters than
    /// [`CgSettings::factor_max_params`]). Default 10⁻⁶: the identities start it within
    /// about 10⁻⁵ of the solution, where undamped Gauss–Newton steps converge
    /// quadratically; the LM default 10⁻³ costs a factor of about 50 per step there, and
    /// less damping makes the conjugate gradients slower.
    pub polish_lambda0: f64,
    /// Initial LM damping of a polish whose steps are exact (dense, or preconditioned by
    /// the factored `JᵀJ`). Default 10⁻¹⁰: for the logistic sigmoid `JᵀJ` has eigenvalues
    /// far below 10⁻⁶ of its diagonal, so λ = 10⁻⁶ held each step back to gaining 1.5
    /// digits (six steps at (784, 128, 32)); at 10⁻¹⁰ three steps reach the rounding floor.
    pub polish_lambda0_exact: f64,
    /// The polish stops when its relative residual ‖f̂(X) − y‖/‖y‖ falls to this.
    /// Default 10⁻¹³.
    pub polish_rel_tol: f64,
    /// The polish stops when an accepted step lowers the cost by less than this fraction.
    /// Default 10⁻² (the misfit by less than 0.5 %): the polish starts next to the
    /// solution, where Gauss–Newton steps gain orders of magnitude each, so such a step
    /// means the rounding floor (measured: at (784, 128, 32) eight more steps after the
    /// floor 1.2·10⁻¹³ changed nothing but cost a minute).
    pub polish_cost_tol: f64,
    /// An attempt succeeds when the polish's relative residual is at most this; otherwise
    /// the step is repeated on fresh points. Default 10⁻⁷ (§10.2 step 3).
    pub target_residual: f64,
    /// Most attempts. Default 3 (§10.2 step 3).
    pub max_attempts: usize,
}

impl Default for SecondLayerConfig {
    fn default() -> Self {
        Self {
            extra_points: 6,
            point_scale: 0.7,
            gradient_stencil: UStencil::Central,
            gradient_step: 1e-4,
            forward_step: 1.5e-6,
            hessian_step: 1e-3,
            theta_starts: 12,
            theta_start_range: 1.0,
            theta_bound: 2.0,
            theta_accept: 1e-6,
            theta_max_iters: 100,
            theta_scan_rounds: 4,
            hessian_points: 4,
            tau_vote_tol: 1e-2,
            polish_point_factor: 1.25,
            polish_scale: 1.5,
            polish_max_iters: 100,
            polish_step: StepMethod::Auto {
                min_params: 800,
                cg: CgSettings {
                    first_factor_after: 0,
                    ..CgSettings::default()
                },
            },
            polish_lambda0: 1e-6,
            polish_lambda0_exact: 1e-10,
            polish_rel_tol: 1e-12,
            polish_cost_tol: 1e-2,
            target_residual: 1e-7,
            max_attempts: 3,
        }
    }
}

impl SecondLayerConfig {
    /// Sets [`SecondLayerConfig::max_attempts`].
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: usize) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets [`SecondLayerConfig::target_residual`].
    #[must_use]
    pub fn with_target_residual(mut self, target: f64) -> Self {
        self.target_residual = target;
        self
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`FitError::InvalidConfig`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), FitError> {
        let bad = |field: &'static str, reason: &str| {
            Err(FitError::InvalidConfig {
                field,
                reason: reason.to_string(),
            })
        };
        let positive = [
            ("point_scale", self.point_scale),
            ("gradient_step", self.gradient_step),
            ("forward_step", self.forward_step),
            ("hessian_step", self.hessian_step),
            ("theta_bound", self.theta_bound),
            ("polish_point_factor", self.polish_point_factor),
            ("polish_scale", self.polish_scale),
            ("polish_lambda0", self.polish_lambda0),
            ("polish_lambda0_exact", self.polish_lambda0_exact),
        ];
        for (field, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return bad(field, "must be positive and finite");
            }
        }
        let non_negative = [
            ("theta_start_range", self.theta_start_range),
            ("theta_accept", self.theta_accept),
            ("tau_vote_tol", self.tau_vote_tol),
            ("polish_rel_tol", self.polish_rel_tol),
            ("target_residual", self.target_residual),
        ];
        for (field, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return bad(field, "must be non-negative and finite");
            }
        }
        if !(self.polish_cost_tol.is_finite() && (0.0..1.0).contains(&self.polish_cost_tol)) {
            return bad("polish_cost_tol", "must lie in [0, 1)");
        }
        if self.theta_start_range > self.theta_bound {
            return bad("theta_start_range", "must not exceed theta_bound");
        }
        if self.theta_starts == 0 {
            return bad("theta_starts", "must be at least 1");
        }
        if self.hessian_points < 2 {
            return bad(
                "hessian_points",
                "must be at least 2 (Jennrich needs two matrices)",
            );
        }
        if self.max_attempts == 0 {
            return bad("max_attempts", "must be at least 1");
        }
        if self.polish_max_iters == 0 || self.theta_max_iters == 0 {
            return bad("polish_max_iters / theta_max_iters", "must be at least 1");
        }
        Ok(())
    }

    /// Sets [`SecondLayerConfig::gradient_stencil`].
    #[must_use]
    pub fn with_gradient_stencil(mut self, stencil: UStencil) -> Self {
        self.gradient_stencil = stencil;
        self
    }

    /// The u-gradients' stencil and step for first-layer activation `g`.
    pub(crate) fn u_difference(&self, g: Activation) -> ugrad::UDifference {
        let step = match self.gradient_stencil {
            UStencil::Central => self.gradient_step,
            UStencil::Forward => self.forward_step * g.width(),
        };
        ugrad::UDifference {
            stencil: self.gradient_stencil,
            step,
        }
    }

    /// Queries of one u-gradient point for m0 first-layer neurons
    /// ([`UStencil::queries_per_point`] of the configured stencil).
    pub fn gradient_point_queries(&self, m0: usize) -> usize {
        self.gradient_stencil.queries_per_point(m0)
    }

    /// Number of gradient points K for widths (m0, m1), m1 < m0.
    pub fn gradient_points(&self, m0: usize, m1: usize) -> usize {
        m1 + self
            .extra_points
            .max((2 * m0).div_ceil(m0.saturating_sub(m1).max(1)))
    }

    /// The θ fit's settings for first-layer activation `g` (its box scales with g's width).
    fn theta_fit_settings(&self, g: Activation) -> ThetaFitSettings {
        ThetaFitSettings {
            starts: self.theta_starts,
            start_range: self.theta_start_range,
            bound: self.theta_bound * g.width(),
            accept: self.theta_accept,
            max_iters: self.theta_max_iters,
            scan_rounds: self.theta_scan_rounds,
        }
    }

    /// Number of polish points for widths (m0, m1).
    pub fn polish_points(&self, m0: usize, m1: usize) -> usize {
        (self.polish_point_factor * (m0 + m0 * m1 + m1) as f64).ceil() as usize
    }
}

/// Queries of the step, per sub-step (every point sent to the oracle is counted once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecondLayerQueries {
    /// u-gradients: K per attempt times 2·m0 (central) or m0 + 1 (forward).
    pub gradients: u64,
    /// Projected Hessians: m1² + m1 + 1 per Hessian point.
    pub hessians: u64,
    /// Polish data: 2(m0 + m0·m1 + m1) per attempt that reached the polish.
    pub polish: u64,
}

impl SecondLayerQueries {
    /// All queries.
    pub fn total(&self) -> u64 {
        self.gradients + self.hessians + self.polish
    }

    fn add(&mut self, other: &Self) {
        self.gradients += other.gradients;
        self.hessians += other.hessians;
        self.polish += other.polish;
    }
}

/// What one attempt did.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRecord {
    /// Queries of this attempt.
    pub queries: SecondLayerQueries,
    /// Gradient points K.
    pub gradient_points: usize,
    /// Rank misfit of the fitted θ (RMS distance of the unit u-gradients, weighted back by
    /// g', to their best m1-dimensional span; FD noise level ~10⁻⁹ when Â is exact).
    pub theta_misfit: f64,
    /// θ starts run.
    pub theta_starts: usize,
    /// Relative gap σ_{m1+1}/σ_{m1} of the quotient vectors at the fitted θ (small when
    /// span(B) is well defined).
    pub span_gap: f64,
    /// Points with a projected Hessian (2, more when a polish missed the target).
    pub hessian_points: usize,
    /// Pairs of projected Hessians that could be diagonalised (candidate second layers).
    pub candidates: usize,
    /// Candidates polished (one per Hessian point from the second on, at most).
    pub polishes: usize,
    /// Diagnostics of the Jennrich pair of the returned network (`None` when every pair
    /// failed).
    pub jennrich: Option<JennrichDiagnostics>,
    /// Second-layer neurons whose sign was flipped by the h' > 0 test.
    pub flipped_signs: usize,
    /// Fewest points supporting a τ_l in the vote (out of K).
    pub tau_min_support: usize,
    /// Relative residual ‖f̂(X) − y‖/‖y‖ on the polish points of the polished candidate
    /// before the polish (the identities alone).
    pub identity_residual: f64,
    /// Relative residual after the polish (`NaN` when the attempt failed before it).
    pub polish_residual: f64,
    /// LM iterations of the polish.
    pub polish_iterations: usize,
    /// Conjugate-gradient iterations of each accepted polish step (0 for dense steps).
    pub polish_cg_iterations: Vec<usize>,
    /// The first accepted polish step (1-based) preconditioned by the factored `JᵀJ`
    /// ([`CgSettings::factor_max_params`]), if any.
    pub polish_factored_from: Option<usize>,
    /// Why the attempt failed before the polish, if it did.
    pub failure: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// The outcome of [`recover_second_layer`].
#[derive(Clone, Debug)]
pub struct SecondLayerReport {
    /// The network with the given first layer and the recovered θ, B, τ (from the attempt
    /// with the lowest polish residual).
    pub network: Network,
    /// Relative residual ‖f̂(X) − y‖/‖y‖ of `network` on its polish points.
    pub relative_residual: f64,
    /// Whether `relative_residual ≤ target_residual`. When false the network is the best
    /// found, not an identification: check it (e.g. on validation queries) before use.
    pub reached_target: bool,
    /// Queries of every attempt together; equal to the oracle counter's increase.
    pub queries: SecondLayerQueries,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptRecord>,
    /// Index of the attempt that produced `network`.
    pub best_attempt: usize,
    /// cond(Â) = σ_max/σ_min.
    pub cond_a: f64,
    /// Wall time.
    pub elapsed: Duration,
}

impl SecondLayerReport {
    /// The record of the attempt that produced the network.
    pub fn best(&self) -> &AttemptRecord {
        &self.attempts[self.best_attempt]
    }
}

/// The second-layer problem: a known first layer and the architecture. Build with
/// [`SecondLayer::new`], optionally add a θ hint, then [`SecondLayer::recover`].
#[derive(Clone, Copy, Debug)]
pub struct SecondLayer<'a> {
    /// First-layer weights Â, d×m0 (column i = a_i; unit columns in the model, though any
    /// full-rank Â works: θ and B are then those of the network with this Â).
    pub a: &'a Mat,
    /// First-layer activation g.
    pub g: Activation,
    /// Second-layer activation h.
    pub h: Activation,
    /// Second hidden width m1 (< m0).
    pub m1: usize,
    /// A rough θ (e.g. route S's θ̂ = −n·x* from discovery), used as the first start of the
    /// θ fit.
    pub theta_hint: Option<&'a [f64]>,
}

impl<'a> SecondLayer<'a> {
    /// The problem for first layer `a`, activations `g`, `h` and width `m1`.
    pub fn new(a: &'a Mat, g: Activation, h: Activation, m1: usize) -> Self {
        Self {
            a,
            g,
            h,
            m1,
            theta_hint: None,
        }
    }

    /// The same problem with a first start for the θ fit.
    #[must_use]
    pub fn with_theta_hint(mut self, theta: &'a [f64]) -> Self {
        self.theta_hint = Some(theta);
        self
    }

    /// Recovers θ, B, τ from queries of `oracle` (module docs). Attempt t draws its points
    /// from ChaCha8 stream t of `seed`.
    ///
    /// # Errors
    /// - [`FitError::InvalidConfig`] for a bad `cfg`;
    /// - [`FitError::Shape`] / [`FitError::NonFinite`] for Â, the hint, or an Â whose rows
    ///   differ from the oracle's dimension; m1 = 0 is a shape error;
    /// - [`FitError::RankConditionVoid`] when m1 ≥ m0;
    /// - [`FitError::RankDeficientFirstLayer`] when Â has dependent columns (or m0 > d);
    /// - [`FitError::Oracle`] when a query fails;
    /// - [`FitError::SecondLayerFailed`] when every attempt failed before its polish.
    pub fn recover(
        &self,
        la: Linalg<'_>,
        oracle: &dyn Oracle,
        cfg: &SecondLayerConfig,
        seed: u64,
    ) -> Result<SecondLayerReport, FitError> {
        let start = Instant::now();
        cfg.validate()?;
        let (d, m0) = self.a.shape();
        let m1 = self.m1;
        check_size(
            "second layer: rows of A (the oracle's input dimension)",
            oracle.input_dim(),
            d,
        )?;
        if m0 == 0 || m1 == 0 {
            return Err(FitError::Shape {
                what: "second layer: m0 and m1 must be at least 1 (m0·m1 shown)",
                expected: 1,
                got: m0 * m1,
            });
        }
        check_finite("second layer: A", self.a.as_slice())?;
        if let Some(t) = self.theta_hint {
            check_size("second layer: length of the θ hint (m0)", m0, t.len())?;
            check_finite("second layer: θ hint", t)?;
        }
        if m1 >= m0 {
            return Err(FitError::RankConditionVoid { m0, m1 });
        }
        if m0 > d {
            return Err(FitError::RankDeficientFirstLayer { ratio: 0.0 });
        }
        let (p, cond_a) = ugrad::u_pseudo_inverse(la, self.a)?;
        let mut queries = SecondLayerQueries::default();
        let mut attempts = Vec::new();
        let mut best: Option<(usize, Network, f64)> = None;
        let mut last_failure = String::new();
        for t in 0..cfg.max_attempts {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(t as u64);
            let (record, net) = self.attempt(la, oracle, &p, cfg, &mut rng)?;
            queries.add(&record.queries);
            if let Some(f) = &record.failure {
                last_failure.clone_from(f);
            }
            let residual = record.polish_residual;
            attempts.push(record);
            if let Some(net) = net
                && best.as_ref().is_none_or(|b| residual < b.2)
            {
                best = Some((t, net, residual));
            }
            if best.as_ref().is_some_and(|b| b.2 <= cfg.target_residual) {
                break;
            }
        }
        let Some((best_attempt, network, relative_residual)) = best else {
            return Err(FitError::SecondLayerFailed {
                attempts: attempts.len(),
                detail: last_failure,
            });
        };
        Ok(SecondLayerReport {
            network,
            relative_residual,
            reached_target: relative_residual <= cfg.target_residual,
            queries,
            attempts,
            best_attempt,
            cond_a,
            elapsed: start.elapsed(),
        })
    }

    /// One attempt of steps 1–5 (module docs), with the Hessian-point fallback. Identity
    /// failures are recorded, not returned; oracle and linear-algebra errors are returned.
    fn attempt(
        &self,
        la: Linalg<'_>,
        oracle: &dyn Oracle,
        p: &Mat,
        cfg: &SecondLayerConfig,
        rng: &mut ChaCha8Rng,
    ) -> Result<(AttemptRecord, Option<Network>), FitError> {
        let start = Instant::now();
        let (d, m0) = self.a.shape();
        let m1 = self.m1;
        let (g, h) = (self.g, self.h);
        let k = cfg.gradient_points(m0, m1);
        let mut rec = AttemptRecord {
            queries: SecondLayerQueries::default(),
            gradient_points: k,
            theta_misfit: f64::NAN,
            theta_starts: 0,
            span_gap: f64::NAN,
            hessian_points: 0,
            candidates: 0,
            polishes: 0,
            jennrich: None,
            flipped_signs: 0,
            tau_min_support: 0,
            identity_residual: f64::NAN,
            polish_residual: f64::NAN,
            polish_iterations: 0,
            polish_cg_iterations: Vec::new(),
            polish_factored_from: None,
            failure: None,
            elapsed: Duration::ZERO,
        };
        let fail = |mut rec: AttemptRecord, why: String| {
            rec.failure = Some(why);
            rec.elapsed = start.elapsed();
            Ok((rec, None))
        };

        // 1. u-gradients.
        let x = ugrad::gaussian_points(rng, d, k, cfg.point_scale * g.width());
        let ug = ugrad::u_gradients(oracle, self.a, p, x, cfg.u_difference(g))?;
        rec.queries.gradients = (cfg.gradient_point_queries(m0) * k) as u64;

        // 2. θ by the rank condition, then span(B).
        let data = RankData::new(&ug.u, &ug.grad, g, m1);
        if data.points() <= m1 {
            return fail(
                rec,
                format!("only {} of {k} gradient points are not flat", data.points()),
            );
        }
        let fit = fit_theta(la, &data, self.theta_hint, &cfg.theta_fit_settings(g), rng)?;
        let theta = fit.theta;
        rec.theta_misfit = fit.misfit;
        rec.theta_starts = fit.starts;
        let (q, sv) = data.span(la, &theta)?;
        rec.span_gap = if m1 < sv.len() && sv[m1 - 1] > 0.0 {
            sv[m1] / sv[m1 - 1]
        } else {
            0.0
        };

        // The polish data of step 5, queried now so that every candidate B can be ranked on
        // it without further queries.
        let np = cfg.polish_points(m0, m1);
        let xs = ugrad::gaussian_points(rng, d, np, cfg.polish_scale * g.width());
        let ys = oracle.query(&xs)?;
        rec.queries.polish = np as u64;
        let fit_data = FitData::new(xs, ys)?;

        // 3.–5. Candidates for B by Jennrich on projected Hessians at the mildest points,
        // each completed by signs and τ and ranked by its residual on the polish data; the
        // best is polished. If the polish misses the target and θ looked right, one more
        // point brings new pairs, up to `hessian_points`.
        let y = Mat::from_fn(m0, k, |i, c| ug.u[(i, c)] + theta[i]);
        let n = Mat::from_fn(m0, k, |i, c| ug.grad[(i, c)] / g.d1(y[(i, c)]));
        let phi = Mat::from_fn(m0, k, |i, c| g.eval(y[(i, c)]));
        let mut order: Vec<usize> = (0..k).collect();
        let mildness = |c: usize| y.col(c).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        order.sort_by(|&a, &b| mildness(a).total_cmp(&mildness(b)));
        let exact_steps = cfg.polish_step.exact_for(m0 * m1 + m0 + m1);
        let lm = LmConfig {
            lambda0: if exact_steps {
                cfg.polish_lambda0_exact
            } else {
                cfg.polish_lambda0
            },
            ..LmConfig::default()
        }
        .with_max_iters(cfg.polish_max_iters)
        .with_rel_tol(cfg.polish_rel_tol)
        .with_cost_tol(cfg.polish_cost_tol)
        .with_step(cfg.polish_step);
        let mut hessians: Vec<(usize, Mat)> = Vec::new();
        let mut pending: Vec<Candidate> = Vec::new();
        let mut best: Option<(Network, f64, crate::lm::LmReport, Candidate)> = None;
        for &c in order.iter().take(cfg.hessian_points.min(k)) {
            if best.is_some() && rec.theta_misfit > cfg.theta_accept {
                // θ missed its tolerance (or Â is only approximate): new pairs will not
                // help, fresh points might.
                break;
            }
            let at = HessianPoint {
                x: ug.x.col(c),
                y: y.col(c),
                grad: ug.grad.col(c),
            };
            let m = projected_hessian(oracle, p, &q, g, &at, cfg.hessian_step)?;
            rec.queries.hessians += hessian_queries(m1) as u64;
            rec.hessian_points += 1;
            for (c0, m_old) in &hessians {
                let Some((cmat, diag)) = diagonalise(la, m_old, &m, (*c0, c))? else {
                    continue;
                };
                rec.candidates += 1;
                let st =
                    tau::signs_and_shifts(la, b_from_c(&q, &cmat), &n, &phi, h, cfg.tau_vote_tol)?;
                let model = StudentModel {
                    a: self.a.clone(),
                    theta: theta.clone(),
                    b: st.b,
                    tau: st.tau,
                    c: vec![1.0; m1],
                    g,
                    h,
                };
                let residual = fit_data.relative_misfit(&model.values(fit_data.points()));
                pending.push(Candidate {
                    model,
                    diag,
                    flipped: st.flipped,
                    support: st.support.iter().copied().min().unwrap_or(0),
                    residual,
                });
            }
            hessians.push((c, m));
            let Some(pick) = (0..pending.len())
                .filter(|&i| pending[i].residual.is_finite())
                .min_by(|&i, &j| pending[i].residual.total_cmp(&pending[j].residual))
            else {
                continue;
            };
            let cand = pending.swap_remove(pick);
            let problem =
                StudentProblem::new(cand.model.clone(), &fit_data, FreeBlocks::SECOND_LAYER)?;
            let rep = levenberg_marquardt(la, &problem, problem.initial_params(), &lm)?;
            rec.polishes += 1;
            if best.as_ref().is_none_or(|b| rep.misfit < b.1) {
                let network = problem.model_at(&rep.params).to_network(0.0)?;
                best = Some((network, rep.misfit, rep, cand));
            }
            let done = best.as_ref().is_some_and(|b| b.1 <= cfg.target_residual);
            if done || rec.theta_misfit > cfg.theta_accept {
                break;
            }
        }
        rec.elapsed = start.elapsed();
        let Some((network, residual, polish, cand)) = best else {
            let candidates = rec.candidates;
            return fail(
                rec,
                format!(
                    "no usable candidate from {} projected Hessians ({} pairs diagonalised, \
                     none with a finite residual)",
                    hessians.len(),
                    candidates
                ),
            );
        };
        rec.jennrich = Some(cand.diag);
        rec.flipped_signs = cand.flipped;
        rec.tau_min_support = cand.support;
        rec.identity_residual = cand.residual;
        rec.polish_residual = residual;
        rec.polish_iterations = polish.iterations;
        rec.polish_cg_iterations = polish.history.iter().map(|h| h.cg_iterations).collect();
        rec.polish_factored_from = polish
            .history
            .iter()
            .find(|h| h.factored)
            .map(|h| h.iteration);
        Ok((rec, Some(network)))
    }
}

/// A candidate second layer from one pair of projected Hessians.
struct Candidate {
    model: StudentModel,
    diag: JennrichDiagnostics,
    flipped: usize,
    support: usize,
    residual: f64,
}

/// [`SecondLayer::recover`] as one call: θ, B, τ for the first layer `a` (d×m0) from
/// queries of `oracle`.
///
/// # Errors
/// As [`SecondLayer::recover`].
#[allow(clippy::too_many_arguments)]
pub fn recover_second_layer(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    a: &Mat,
    g: Activation,
    h: Activation,
    m1: usize,
    theta_hint: Option<&[f64]>,
    cfg: &SecondLayerConfig,
    seed: u64,
) -> Result<SecondLayerReport, FitError> {
    let problem = SecondLayer {
        a,
        g,
        h,
        m1,
        theta_hint,
    };
    problem.recover(la, oracle, cfg, seed)
}
