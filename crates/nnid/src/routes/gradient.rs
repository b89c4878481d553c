//! Route G (paper-spec §10.1): the gradient span, then a norm-penalised multi-start
//! Levenberg–Marquardt fit. Queries stay near the origin (x ~ N(0, s²I)).

use super::{Architecture, Route};
use crate::metrics::gaussian_points;
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
            extra_gradients: 5,
            fit_factor: 4.0,
            validation_points: 500,
            fit: RouteGConfig::default(),
        }
    }
}

/// Queries `n` points x ~ N(0, s² I) and wraps them as fit data.
fn query_data(oracle: &dyn Oracle, n: usize, s: f64, seed: u64) -> Result<FitData, IdentifyError> {
    let points = gaussian_points(oracle.input_dim(), n, s, seed);
    let values = oracle.query(&points)?;
    Ok(FitData::new(points, values)?)
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
            let cfg = RouteGConfig {
                seed: seed.wrapping_add(3),
                ..self.fit.clone()
            };
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
            });
            Ok((report.network, details))
        })
    }
}
