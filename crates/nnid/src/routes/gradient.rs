//! Route G (paper-spec §10.1): the gradient span, then a norm-penalised multi-start
//! Levenberg–Marquardt fit. Queries stay near the origin (x ~ N(0, s²I)).
//!
//! On a noisy oracle (float32 answers, measurement noise) no fit reaches the exact-oracle
//! tolerances, so the route first probes the oracle's noise floor ρ (relative, 48 queries,
//! [`crate::noise::probe_stage`]) unless its caller knows it: each LM stops once its misfit
//! on the fit data is below [`LM_NOISE_FACTOR`]·ρ, and a start is accepted when its
//! validation error passes the certificate's noise-aware threshold. Without that, every
//! start runs to its iteration cap (measured: 61 s instead of 6 s at (30, 20, 10), σ = 1e-6).

use super::{Architecture, Route};
use crate::metrics::gaussian_points;
use crate::noise::{noise_threshold, probe_stage};
use crate::{IdentifyError, StageRunner};
use nnid_bias_fit::{FitData, RouteGConfig, route_g_fit};
use nnid_fd_hessian::{SpanConfig, gradient_span};
use nnid_linalg::Linalg;
use nnid_nn_model::{Network, Oracle};
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
            Ok((span, details))
        })?;
        let scale = arch.g.width();
        let (fit, validation) = runner.run("fit_data", || {
            let n = (self.fit_factor * arch.parameters() as f64).ceil() as usize;
            let fit = query_data(oracle, n, scale, seed.wrapping_add(1))?;
            let validation =
                query_data(oracle, self.validation_points, scale, seed.wrapping_add(2))?;
            Ok((
                (fit, validation),
                json!({ "fit_points": n, "validation_points": self.validation_points }),
            ))
        })?;
        runner.run("multistart_lm", || {
            let cfg = self.fit_config(floor, seed.wrapping_add(3));
            let report = route_g_fit(
                la,
                &span.basis,
                arch.m1,
                arch.g,
                arch.h,
                &fit,
                &validation,
                &cfg,
            )?;
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
}
