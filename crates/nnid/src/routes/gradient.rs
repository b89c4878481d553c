//! Route G (paper-spec §10.1): the gradient span, then a norm-penalised multi-start
//! Levenberg–Marquardt fit. Queries stay near the origin (x ~ N(0, s²I)).
//!
//! On a noisy oracle (float32 answers, measurement noise) no fit reaches the exact-oracle
//! tolerances, so the route first probes the oracle's noise floor ρ (relative, 48 queries,
//! [`crate::noise::probe_stage`]) unless its caller knows it: each LM stops once its misfit
//! on the fit data is below [`LM_NOISE_FACTOR`]·ρ, and a start is accepted when its
//! validation error passes the certificate's noise-aware threshold. Without that, every
//! start runs to its iteration cap (measured: 61 s instead of 6 s at (30, 20, 10), σ = 1e-6).

use super::auto::Widths;
use super::{Architecture, Route};
use crate::metrics::gaussian_points;
use crate::noise::{NoiseFloor, noise_threshold, probe_stage};
use crate::{IdentifyError, StageRunner};
use nnid_bias_fit::{FitData, FitWidthSearch, RouteGConfig, discover_m1_by_fit, route_g_fit};
use nnid_fd_hessian::{
    GradientStencil, SpanConfig, SpanRank, gradient_span, gradient_span_of_unknown_width,
    noise_adapted_step,
};
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::{Activation, Network, Oracle};
use serde_json::json;

/// Route G: span{a_i} from m0 + `extra_gradients` finite-difference gradients, then
/// `fit_factor`·P fit queries and `validation_points` validation queries shared by up to
/// `fit.max_starts` random starts of the penalised LM.
#[derive(Clone, Debug)]
pub struct RouteG {
    /// The oracle's noise floor relative to its answers, when the caller measured it
    /// ([`crate::routes::auto::Auto`] passes its probe). Default `None`.
    pub noise_floor: Option<f64>,
    /// Probe the noise floor (48 queries) when `noise_floor` is unknown. Default true.
    pub probe_noise: bool,
    /// Gradients beyond m0 for the span. Default 5 (§10.1 step 1).
    pub extra_gradients: usize,
    /// Fit points per parameter. Default 4 (§10.1 step 2; 3 also worked, 2 did not).
    pub fit_factor: f64,
    /// Validation points that choose among starts. Default 500.
    pub validation_points: usize,
    /// The multi-start fit.
    pub fit: RouteGConfig,
    /// The search for m1 when it is unknown ([`RouteG::run_discovering`]).
    pub width_search: FitWidthSearch,
}

impl Default for RouteG {
    fn default() -> Self {
        Self {
            noise_floor: None,
            probe_noise: true,
            extra_gradients: 5,
            fit_factor: 4.0,
            validation_points: 500,
            fit: RouteGConfig::default(),
            width_search: FitWidthSearch::default(),
        }
    }
}

/// A fit stops once its relative misfit is below this multiple of the relative noise floor ρ:
/// the true network's misfit is ≈ ρ and the least-squares optimum's ≈ ρ·√(1 − P/N) ≈ 0.87ρ
/// (N = 4P fit points), so 1.5 stays reachable when the probe underestimates ρ by a factor
/// 1.7, and stops a network whose own error is at most √(1.5² − 0.87²)·ρ ≈ 1.2ρ on the fit data.
pub const LM_NOISE_FACTOR: f64 = 1.5;

/// Queries `n` points x ~ N(0, s² I) and wraps them as fit data.
fn query_data(oracle: &dyn Oracle, n: usize, s: f64, seed: u64) -> Result<FitData, IdentifyError> {
    let points = gaussian_points(oracle.input_dim(), n, s, seed);
    let values = oracle.query(&points)?;
    Ok(FitData::new(points, values)?)
}

impl RouteG {
    /// The multi-start settings for relative noise floor `floor`: the acceptance threshold
    /// of the certificate and LM fits that stop at [`LM_NOISE_FACTOR`] times the floor.
    fn fit_config(&self, floor: Option<f64>, seed: u64) -> RouteGConfig {
        let mut cfg = RouteGConfig {
            seed,
            ..self.fit.clone()
        };
        cfg.accept_tol = noise_threshold(cfg.accept_tol, floor);
        if let Some(rho) = floor {
            cfg.fit.lm.rel_tol = cfg.fit.lm.rel_tol.max(LM_NOISE_FACTOR * rho);
        }
        cfg
    }
}

impl Route for RouteG {
    fn name(&self) -> &'static str {
        "gradient"
    }

    fn run(
        &self,
        la: Linalg<'_>,
        arch: &Architecture,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<Network, IdentifyError> {
        let floor = match self.noise_floor {
            Some(rho) => Some(rho),
            None if self.probe_noise => Some(probe_stage(runner, arch.g, seed ^ 0x9E0B)?.relative),
            None => None,
        };
        let oracle = runner.oracle;
        let span = runner.run("gradient_span", || {
            let cfg = SpanConfig::new(arch.m0).with_n_grad(arch.m0 + self.extra_gradients);
            let span = gradient_span(la, oracle, &cfg, seed)?;
            let details = json!({ "singular_values": span.singular_values, "residual_ratio": span.residual_ratio() });
            Ok((span.basis, details))
        })?;
        let (fit, validation) = self.data_stage(arch, seed, runner)?;
        let cfg = self.fit_config(floor, seed.wrapping_add(3));
        let inputs = (la, &span, &fit, &validation, &cfg);
        self.fit_at(inputs, (arch.g, arch.h), arch.m1, floor, runner)
    }
}

impl RouteG {
    /// Stage `fit_data`: `fit_factor`·P fit points (P of `arch`) and the validation points,
    /// x ~ N(0, s²I) at the activation's width s.
    fn data_stage(
        &self,
        arch: &Architecture,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<(FitData, FitData), IdentifyError> {
        let oracle = runner.oracle;
        let scale = arch.g.width();
        runner.run("fit_data", || {
            let n = (self.fit_factor * arch.parameters() as f64).ceil() as usize;
            let fit = query_data(oracle, n, scale, seed.wrapping_add(1))?;
            let validation =
                query_data(oracle, self.validation_points, scale, seed.wrapping_add(2))?;
            Ok((
                (fit, validation),
                json!({ "fit_points": n, "validation_points": self.validation_points }),
            ))
        })
    }

    /// Route G when the widths are not all known, on an oracle whose noise floor was probed
    /// (`auto` hands it over: noisy oracles, where route S cannot decide widths):
    /// - stage `widths_m0` (unless m0 is given): `d + extra_gradients` gradients at the
    ///   noise-adapted step, m0 = the number of singular values clearly above the predicted
    ///   finite-difference error ([`gradient_span_of_unknown_width`]);
    /// - stage `fit_data` for the largest width m1 can have (m0);
    /// - stage `widths_m1` (unless m1 is given): the smallest width whose fit certifies
    ///   ([`discover_m1_by_fit`]), which is also the returned network; with m1 given, the
    ///   usual `multistart_lm`.
    ///
    /// # Errors
    /// A width that cannot be decided (the error names the evidence), and every error of
    /// the stages.
    #[allow(clippy::too_many_arguments)]
    pub fn run_discovering(
        &self,
        la: Linalg<'_>,
        d: usize,
        (g, h): (Activation, Activation),
        widths: Widths,
        floor: NoiseFloor,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<(Network, Architecture), IdentifyError> {
        let (span, rank) = self.span_of_unknown_width(la, widths.m0, floor, seed, runner)?;
        let m0 = span.ncols();
        let widest = Architecture {
            d,
            m0,
            m1: widths.m1.unwrap_or(m0),
            g,
            h,
        };
        widest.validate()?;
        let (fit, validation) = self.data_stage(&widest, seed, runner)?;
        let cfg = self.fit_config(Some(floor.relative), seed.wrapping_add(3));
        let inputs = (la, &span, &fit, &validation, &cfg);
        let (net, m1) = match widths.m1 {
            Some(m1) => (
                self.fit_at(inputs, (g, h), m1, Some(floor.relative), runner)?,
                m1,
            ),
            None => self
                .m1_stage(inputs, (g, h), runner)
                .map_err(|e| with_hidden_neuron_hint(e, rank.as_ref()))?,
        };
        let arch = Architecture { m1, ..widest };
        let report = &mut *runner.report;
        (report.m0, report.m1, report.parameters) = (m0, m1, arch.parameters());
        Ok((net, arch))
    }

    /// Stage `widths_m0` (module docs of [`nnid_fd_hessian::span_rank`]), with the decision's
    /// evidence; with m0 given, the usual `gradient_span` at the noise-adapted step.
    fn span_of_unknown_width(
        &self,
        la: Linalg<'_>,
        m0: Option<usize>,
        floor: NoiseFloor,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<(Mat, Option<SpanRank>), IdentifyError> {
        let oracle = runner.oracle;
        let rho = floor.relative_to_spread();
        let eps = noise_adapted_step(rho);
        if let Some(m0) = m0 {
            return runner.run("gradient_span", || {
                let cfg = SpanConfig::new(m0)
                    .with_n_grad(m0 + self.extra_gradients)
                    .with_stencil(GradientStencil::Central { eps });
                let span = gradient_span(la, oracle, &cfg, seed)?;
                let details = json!({ "singular_values": span.singular_values, "eps": eps });
                Ok(((span.basis, None), details))
            });
        }
        runner.run("widths_m0", || {
            let (span, rank) = gradient_span_of_unknown_width(
                la,
                oracle,
                rho,
                floor.point_noise(),
                self.extra_gradients,
                seed,
            )
            .map_err(|e| IdentifyError::WidthsUndecided(e.to_string()))?;
            let details = json!({
                "m0": rank.m0,
                "singular_values": span.singular_values,
                "eps": eps,
                "predicted_noise": rank.predicted_noise,
                "threshold": rank.threshold,
                "gap": rank.gap,
                "largest_noise": rank.largest_noise,
            });
            Ok(((span.basis, Some(rank)), details))
        })
    }

    /// Stage `multistart_lm`: the multi-start fit at a given m1 (`floor`: the relative noise
    /// floor the settings were made for, reported).
    fn fit_at(
        &self,
        (la, span, fit, validation, cfg): FitInputs<'_>,
        (g, h): (Activation, Activation),
        m1: usize,
        floor: Option<f64>,
        runner: &mut StageRunner<'_>,
    ) -> Result<Network, IdentifyError> {
        runner.run("multistart_lm", || {
            let report = route_g_fit(la, span, m1, g, h, fit, validation, cfg)?;
            let details = json!({
                "starts": report.starts.len(),
                "best_start": report.best_start,
                "validation_error": report.validation_error,
                "accepted": report.certified,
                "accept_tol": cfg.accept_tol,
                "lm_rel_tol": cfg.fit.lm.rel_tol,
                "relative_noise_floor": floor,
            });
            Ok((report.network, details))
        })
    }

    /// Stage `widths_m1`: m1 and the network by [`discover_m1_by_fit`].
    fn m1_stage(
        &self,
        (la, span, fit, validation, cfg): FitInputs<'_>,
        (g, h): (Activation, Activation),
        runner: &mut StageRunner<'_>,
    ) -> Result<(Network, usize), IdentifyError> {
        runner.run("widths_m1", || {
            let (report, ev) = discover_m1_by_fit(
                la,
                span,
                g,
                h,
                fit,
                validation,
                cfg,
                &self.width_search,
            )
            .map_err(|e| IdentifyError::WidthsUndecided(e.to_string()))?;
            let trials: Vec<_> = ev
                .trials
                .iter()
                .map(|t| json!({ "m1": t.m, "starts": t.starts, "validation_error": t.validation_error, "certified": t.certified, "seconds": t.seconds }))
                .collect();
            let details = json!({
                "m1": ev.m1,
                "output_independence": ev.output_independence,
                "trials": trials,
                "accept_tol": ev.accept_tol,
                "validation_error": report.validation_error,
            });
            Ok(((report.network, ev.m1), details))
        })
    }
}

/// When no m1 certifies after m0 was decided from the gradient span, says that a
/// first-layer neuron whose gradients lie below the span's noise is not counted in m0 and
/// leaves every m1 uncertified (module docs of [`nnid_fd_hessian::span_rank`]).
fn with_hidden_neuron_hint(error: IdentifyError, rank: Option<&SpanRank>) -> IdentifyError {
    match (error, rank) {
        (IdentifyError::WidthsUndecided(detail), Some(rank)) => {
            IdentifyError::WidthsUndecided(format!(
                "{detail}. m0 = {} was decided from the gradient span (the next singular value {:.2e} is {:.1} times the predicted noise): a first-layer neuron whose gradients lie below that noise is not counted in m0, and it would leave every m1 uncertified",
                rank.m0,
                rank.largest_noise,
                rank.largest_noise / rank.predicted_noise
            ))
        }
        (error, _) => error,
    }
}

/// What every route-G fit of one run shares: the backend, the span basis, the fit and
/// validation data, and the multi-start settings.
type FitInputs<'a> = (
    Linalg<'a>,
    &'a Mat,
    &'a FitData,
    &'a FitData,
    &'a RouteGConfig,
);
