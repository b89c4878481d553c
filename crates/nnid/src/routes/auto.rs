//! The default method: route S, and route G when S fails or does not certify.
//!
//! Route S differentiates the black box at far points and along lines, which amplifies noise
//! in the answers; route G fits queries directly. So `Auto` first probes the oracle's noise
//! floor (48 queries, [`crate::noise::probe_stage`]) and skips route S when the floor is above
//! [`SATURATION_NOISE_LIMIT`], handing the floor to route G either way.

use super::gradient::RouteG;
use super::saturation::RouteS;
use super::{Architecture, Route};
use crate::identify::threshold_reason;
use crate::metrics::certify;
use crate::metrics::gaussian_points;
use crate::noise::{NoiseFloor, probe_stage};
use crate::{IdentifyError, StageRunner};
use nnid_bias_fit::UStencil;
use nnid_bias_fit::fit_width::output_independence;
use nnid_linalg::Linalg;
use nnid_nn_model::{Activation, Network};
use nnid_saturation::FirstLayer;

/// The output independence below which a width decided by route S's rank condition moves
/// down (see `minimal_second_layer`): 1e-4, route G's first value of
/// [`nnid_bias_fit::FitWidthSearch::min_independence`], kept on exact answers, where the certificate
/// (1e-9) leaves a wider network no room to pass with a vanishing neuron (measured: 1e-8
/// for the one overshoot found).
pub const ROUTE_S_MIN_INDEPENDENCE: f64 = 1e-4;

/// Route S is skipped when the probed relative noise floor is above this: it cannot reach
/// the certificate's threshold there (module docs of [`crate::noise`]; measured in
/// docs/results/noise.md).
pub const SATURATION_NOISE_LIMIT: f64 = 1e-11;

/// Route S's second layer takes its u-gradients by forward differences (m0 + 1 queries per
/// point instead of 2·m0, [`nnid_bias_fit::UStencil::Forward`]) when the probed relative
/// noise floor is at most this: answers exact to about a hundred rounding units (measured on
/// exact oracles: 1.6e-16 at (100, 50, 25)). Above it the forward difference's noise term,
/// 100 times the central one's, would eat the θ fit's margin, so the spec's central
/// differences stay.
pub const FORWARD_GRADIENT_LIMIT: f64 = 1e-14;

/// The noise probe first (module docs); then route S (few queries, little compute) unless the
/// floor rules it out; if it errors or its network fails a validation check (the
/// certificate's rule, with the probed floor), route G (queries near the origin only), given
/// the floor. Every attempt appears in the report.
#[derive(Clone, Debug)]
pub struct Auto {
    /// The first attempt.
    pub saturation: RouteS,
    /// The fallback.
    pub gradient: RouteG,
    /// Validation points of the check between the two routes.
    pub check_points: usize,
    /// Probe the noise floor first (48 queries). Default true; off, route S always runs
    /// first and route G probes for itself.
    pub probe_noise: bool,
    /// Skip route S above this relative noise floor. Default [`SATURATION_NOISE_LIMIT`].
    pub saturation_noise_limit: f64,
    /// Forward-difference u-gradients in route S's second layer at or below this probed
    /// relative floor. Default [`FORWARD_GRADIENT_LIMIT`]; a negative value keeps
    /// `saturation.second.gradient_stencil` as it is.
    pub forward_gradient_limit: f64,
}

impl Default for Auto {
    fn default() -> Self {
        Self {
            saturation: RouteS::default(),
            gradient: RouteG::default(),
            check_points: 0,
            probe_noise: true,
            saturation_noise_limit: SATURATION_NOISE_LIMIT,
            forward_gradient_limit: FORWARD_GRADIENT_LIMIT,
        }
    }
}

impl Route for Auto {
    fn name(&self) -> &'static str {
        "auto"
    }

    fn run(
        &self,
        la: Linalg<'_>,
        arch: &Architecture,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<Network, IdentifyError> {
        let floor = self.probe(arch.g, seed, runner)?;
        if let Some(f) = floor.filter(|f| self.too_noisy_for_s(f)) {
            runner.report.notes.push(format!(
                "route S skipped: the oracle's noise floor {:.1e} (relative) is above {:.0e}, where route S cannot certify; route G runs instead",
                f.relative, self.saturation_noise_limit
            ));
            return self
                .gradient_with(floor)
                .run(la, arch, seed.wrapping_add(1000), runner);
        }
        let first = self.saturation_for(floor).run(la, arch, seed, runner);
        self.check_or_fall_back(la, arch, first, floor, seed, runner)
    }
}

/// The widths the caller knows (`None`: decide it from the queries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Widths {
    /// First hidden width m0.
    pub m0: Option<usize>,
    /// Second hidden width m1.
    pub m1: Option<usize>,
}

impl Auto {
    /// Stage `noise_probe`, when on.
    fn probe(
        &self,
        g: Activation,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<Option<NoiseFloor>, IdentifyError> {
        if self.probe_noise {
            probe_stage(runner, g, seed ^ 0x9E0B).map(Some)
        } else {
            Ok(None)
        }
    }

    fn too_noisy_for_s(&self, floor: &NoiseFloor) -> bool {
        floor.relative > self.saturation_noise_limit
    }

    /// Route S, with forward-difference u-gradients when the probed floor is at most
    /// [`Auto::forward_gradient_limit`] ([`FORWARD_GRADIENT_LIMIT`]).
    fn saturation_for(&self, floor: Option<NoiseFloor>) -> RouteS {
        let mut route = self.saturation.clone();
        if floor.is_some_and(|f| f.relative <= self.forward_gradient_limit) {
            route.second.gradient_stencil = UStencil::Forward;
        }
        route
    }

    /// Route G, told the probed noise floor.
    fn gradient_with(&self, floor: Option<NoiseFloor>) -> RouteG {
        RouteG {
            noise_floor: floor.map(|f| f.relative),
            ..self.gradient.clone()
        }
    }

    /// Checks route S's network on fresh queries (the certificate's rule with the probed
    /// floor); when it fails or route S errored, runs route G.
    fn check_or_fall_back(
        &self,
        la: Linalg<'_>,
        arch: &Architecture,
        first: Result<Network, IdentifyError>,
        floor: Option<NoiseFloor>,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<Network, IdentifyError> {
        let reason = match first {
            Ok(net) => {
                let n = self.check_points.max(50);
                let oracle = runner.oracle;
                let cert = runner.run("route_check", || {
                    let c = certify(
                        oracle,
                        &net,
                        n,
                        arch.g.width(),
                        crate::CERTIFICATE_THRESHOLD,
                        floor.as_ref(),
                        seed.wrapping_add(11),
                    )?;
                    Ok((c, serde_json::to_value(c).unwrap_or_default()))
                })?;
                if cert.certified {
                    return Ok(net);
                }
                format!("route S not certified: {}", threshold_reason(&cert))
            }
            Err(e) => format!("route S failed: {e}"),
        };
        runner
            .report
            .notes
            .push(format!("{reason}; falling back to route G"));
        self.gradient_with(floor)
            .run(la, arch, seed.wrapping_add(1000), runner)
    }

    /// `auto` when the widths are not all known (issue 10). On an exact oracle route S
    /// decides them, m0 by discovery until no new neuron appears on several lines, m1 by the
    /// rank condition of the second layer ([`RouteS::m1_stage`]); then route S's second
    /// layer, checked, with route G as the fallback at the decided widths. On an oracle whose
    /// probed floor rules route S out, route G decides them ([`RouteG::run_discovering`]: m0
    /// from the gradient span's singular values, m1 as the smallest width whose fit
    /// certifies). The stages' details hold the evidence. Returns the network and the
    /// decided architecture (also written into the report).
    ///
    /// # Errors
    /// [`IdentifyError::WidthsUndecided`] when a width cannot be decided (the evidence is
    /// named: give the widths there), and every error of the stages.
    #[allow(clippy::too_many_arguments)]
    pub fn run_discovering(
        &self,
        la: Linalg<'_>,
        d: usize,
        g: Activation,
        h: Activation,
        widths: Widths,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<(Network, Architecture), IdentifyError> {
        let floor = self.probe(g, seed, runner)?;
        if let Some(f) = floor.filter(|f| self.too_noisy_for_s(f)) {
            runner.report.notes.push(format!(
                "route S skipped: the oracle's noise floor {:.1e} (relative) is above {:.0e}, where route S cannot certify; route G decides the widths and runs instead",
                f.relative, self.saturation_noise_limit
            ));
            return self.gradient_with(Some(f)).run_discovering(
                la,
                d,
                (g, h),
                widths,
                f,
                seed.wrapping_add(1000),
                runner,
            );
        }
        let saturation = self.saturation_for(floor);
        let layer1 = saturation.first_layer_stage(la, widths.m0, g, seed, runner)?;
        let m0 = layer1.a.ncols();
        let m1 = match widths.m1 {
            Some(m1) => m1,
            None => saturation.m1_stage(la, g, &layer1, seed.wrapping_add(5), runner)?,
        };
        let decided = widths.m1.is_none();
        let context = (&saturation, &layer1);
        let (first, arch) =
            self.minimal_second_layer(la, (d, m0, m1, g, h), decided, context, seed, runner)?;
        let report = &mut *runner.report;
        (report.m0, report.m1, report.parameters) = (m0, arch.m1, arch.parameters());
        let net = self.check_or_fall_back(la, &arch, first, floor, seed, runner)?;
        Ok((net, arch))
    }

    /// Route S's second layer at width m1; when m1 was decided (not given) and the network's
    /// second-layer outputs are dependent ([`output_independence`] below
    /// [`ROUTE_S_MIN_INDEPENDENCE`] on 500 points, no queries), the rank condition
    /// overshot (its θ fit missed at the true width; measured once in a property test: a
    /// (11, 7, 5) sigmoid teacher decided as m1 = 6, certified with a saturated neuron), so
    /// the width moves down and the second layer runs again.
    #[allow(clippy::type_complexity)]
    fn minimal_second_layer(
        &self,
        la: Linalg<'_>,
        (d, m0, m1, g, h): (usize, usize, usize, Activation, Activation),
        decided: bool,
        (saturation, layer1): (&RouteS, &FirstLayer),
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<(Result<Network, IdentifyError>, Architecture), IdentifyError> {
        let points = gaussian_points(d, 500, g.width(), seed ^ 0x1D5);
        let mut m1 = m1;
        loop {
            let arch = Architecture { d, m0, m1, g, h };
            arch.validate()?;
            let net = saturation.second_layer_stage(la, &arch, layer1, seed, runner);
            let independence = match &net {
                Ok(n) if decided && m1 > 1 => output_independence(la, n, &points)?,
                _ => return Ok((net, arch)),
            };
            if independence >= ROUTE_S_MIN_INDEPENDENCE {
                return Ok((net, arch));
            }
            runner.report.notes.push(format!(
                "m1 = {m1} gives dependent second-layer outputs (σ_min/σ_max = {independence:.1e} < {ROUTE_S_MIN_INDEPENDENCE:.0e}): the network is wider than f; trying m1 = {}",
                m1 - 1
            ));
            m1 -= 1;
        }
    }
}
