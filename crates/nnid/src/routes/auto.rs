//! The default method: route S, and route G when S fails or does not certify.

use super::gradient::RouteG;
use super::saturation::RouteS;
use super::{Architecture, Route};
use crate::identify::threshold_reason;
use crate::metrics::certify;
use crate::{IdentifyError, StageRunner};
use nnid_linalg::Linalg;
use nnid_nn_model::Network;

/// Route S first (few queries, little compute); if it errors or its network fails a
/// validation check (the certificate's rule, with the noise floor the run estimated before the
/// route, when it did), route G (queries near the origin only). Both attempts appear in the
/// report.
#[derive(Clone, Debug, Default)]
pub struct Auto {
    /// The first attempt.
    pub saturation: RouteS,
    /// The fallback.
    pub gradient: RouteG,
    /// Validation points of the check between the two routes.
    pub check_points: usize,
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
        let first = self.saturation.run(la, arch, seed, runner);
        let reason = match first {
            Ok(net) => {
                let n = self.check_points.max(50);
                let oracle = runner.oracle;
                let floor = runner.report.noise_floor;
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
        self.gradient.run(la, arch, seed.wrapping_add(1000), runner)
    }
}
