//! Route S (paper-spec §10.2): the first layer from saturated far queries (crate
//! `nnid-saturation`), then the exact second layer (crate `nnid-bias-fit`).

use super::{Architecture, Route};
use crate::{IdentifyError, StageRunner};
use nnid_bias_fit::second_layer::{SecondLayerConfig, discover_m1, recover_second_layer};
use nnid_linalg::Linalg;
use nnid_nn_model::{Activation, Network};
use nnid_saturation::{FirstLayer, PolishStencil, SaturationConfig, first_layer};
use serde_json::json;

/// Route S: discovery on far lines + ridge polish, then the second layer by exact identities.
/// Needs an oracle that may be queried far from the origin (‖x‖ up to about 15·m0·√d, twice
/// that for the logistic sigmoid; bound it with [`SaturationConfig`]'s radius limit).
#[derive(Clone, Debug)]
pub struct RouteS {
    /// Settings of the first layer (discovery and ridge polish).
    pub first: SaturationConfig,
    /// Settings of the second layer.
    pub second: SecondLayerConfig,
}

impl Default for RouteS {
    /// The prototype's settings, except the ridge polish's forward stencil: as accurate as
    /// the central one on every teacher measured (docs/stages/saturation.md) for (d+2)·m0
    /// instead of 2d·m0 queries.
    fn default() -> Self {
        let first = SaturationConfig {
            polish_stencil: PolishStencil::Forward,
            ..SaturationConfig::default()
        };
        Self {
            first,
            second: SecondLayerConfig::default(),
        }
    }
}

impl Route for RouteS {
    fn name(&self) -> &'static str {
        "saturation"
    }

    fn run(
        &self,
        la: Linalg<'_>,
        arch: &Architecture,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<Network, IdentifyError> {
        let layer1 = self.first_layer_stage(la, Some(arch.m0), arch.g, seed, runner)?;
        self.second_layer_stage(la, arch, &layer1, seed, runner)
    }
}

impl RouteS {
    /// Stage `first_layer`: discovery and ridge polish; with `m0 = None` discovery runs until
    /// no new neuron appears on [`SaturationConfig::quiet_lines`] lines, and the stage's
    /// details give that evidence (`width_evidence`).
    ///
    /// # Errors
    /// Those of [`first_layer`].
    pub fn first_layer_stage(
        &self,
        la: Linalg<'_>,
        m0: Option<usize>,
        g: Activation,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<FirstLayer, IdentifyError> {
        let oracle = runner.oracle;
        runner.run("first_layer", || {
            let fl = first_layer(la, oracle, m0, g, &self.first, seed)?;
            let evidence = fl.report.discovery.width_evidence.as_ref().map(|w| {
                json!({ "quiet_lines": w.quiet_lines, "jumps_on_quiet_lines": w.jumps_on_quiet_lines, "unexplained_on_quiet_lines": w.unexplained_on_quiet_lines })
            });
            let details = json!({
                "m0": fl.a.ncols(),
                "width_evidence": evidence,
                "lines": fl.report.discovery.lines.len(),
                "discovery_queries": fl.report.discovery.queries,
                "polish_queries": fl.report.polish.queries,
                "farthest_query": fl.farthest(),
                "max_polish_correction": fl.report.polish.max_last_correction(),
            });
            Ok((fl, details))
        })
    }

    /// Stage `widths_m1`: m1 from the rank condition of the second layer
    /// ([`discover_m1`]), given route S's first layer.
    ///
    /// # Errors
    /// Those of [`discover_m1`].
    pub fn m1_stage(
        &self,
        la: Linalg<'_>,
        g: Activation,
        layer1: &FirstLayer,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<usize, IdentifyError> {
        let oracle = runner.oracle;
        runner.run("widths_m1", || {
            let ev = discover_m1(la, oracle, &layer1.a, g, Some(&layer1.theta), &self.second, seed)?;
            let details = json!({ "m1": ev.m1, "trials": ev.trials, "accept": ev.accept, "gradient_points": ev.gradient_points });
            Ok((ev.m1, details))
        })
    }

    /// Stage `second_layer`: θ, B, τ by exact identities on route S's first layer.
    ///
    /// # Errors
    /// Those of [`recover_second_layer`].
    pub fn second_layer_stage(
        &self,
        la: Linalg<'_>,
        arch: &Architecture,
        layer1: &FirstLayer,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<Network, IdentifyError> {
        let oracle = runner.oracle;
        runner.run("second_layer", || {
            let sl = recover_second_layer(la, oracle, &layer1.a, arch.g, arch.h, arch.m1, Some(&layer1.theta), &self.second, seed.wrapping_add(7))?;
            let details = json!({
                "relative_residual": sl.relative_residual,
                "reached_target": sl.reached_target,
                "attempts": sl.attempts.len(),
                "cond_a": sl.cond_a,
                "gradient_stencil": format!("{:?}", self.second.gradient_stencil).to_lowercase(),
                "theta_starts": sl.best().theta_starts,
                "theta_misfit": sl.best().theta_misfit,
                "identity_residual": sl.best().identity_residual,
                "polish_iterations": sl.best().polish_iterations,
                "polish_cg_iterations": sl.best().polish_cg_iterations,
                "polish_factored_from": sl.best().polish_factored_from,
                "queries": { "gradients": sl.queries.gradients, "hessians": sl.queries.hessians, "polish": sl.queries.polish },
            });
            Ok((sl.network, details))
        })
    }
}
