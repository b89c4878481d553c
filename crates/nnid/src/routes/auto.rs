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
use crate::noise::probe_stage;
use crate::{IdentifyError, StageRunner};
use nnid_linalg::Linalg;
use nnid_nn_model::Network;

/// Route S is skipped when the probed relative noise floor is above this: it cannot reach
/// the certificate's threshold there (module docs of [`crate::noise`]; measured in
/// docs/results/noise.md).
pub const SATURATION_NOISE_LIMIT: f64 = 1e-11;

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
}

impl Default for Auto {
    fn default() -> Self {
        Self {
            saturation: RouteS::default(),
            gradient: RouteG::default(),
            check_points: 0,
            probe_noise: true,
            saturation_noise_limit: SATURATION_NOISE_LIMIT,
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
        let floor = if self.probe_noise {
            Some(probe_stage(runner, arch, seed ^ 0x9E0B)?)
        } else {
            None
        };
        let gradient = RouteG {
            noise_floor: floor.map(|f| f.relative),
            ..self.gradient.clone()
        };
        if let Some(f) = floor.filter(|f| f.relative > self.saturation_noise_limit) {
            runner.report.notes.push(format!(
                "route S skipped: the oracle's noise floor {:.1e} (relative) is above {:.0e}, where route S cannot certify; route G runs instead",
                f.relative, self.saturation_noise_limit
            ));
            return gradient.run(la, arch, seed.wrapping_add(1000), runner);
        }
        let first = self.saturation.run(la, arch, seed, runner);
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
        gradient.run(la, arch, seed.wrapping_add(1000), runner)
    }
}
