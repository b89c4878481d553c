//! Routes: complete methods that turn queries of `f` into a network `f̂`.
//!
//! - [`paper::Pipeline`]: the paper's pipeline (Hessians → subspace → rank-one → attribution →
//!   fit), each stage behind its trait so a user can swap one (see `examples/`).
//! - [`saturation::RouteS`]: the first layer from saturated far queries, then the exact second
//!   layer (paper-spec §10.2).
//! - [`gradient::RouteG`]: the gradient span and a norm-penalised multi-start LM, with
//!   queries near the origin only (paper-spec §10.1).
//! - [`auto::Auto`]: route S, falling back to route G when S does not certify.

pub mod auto;
pub mod gradient;
pub mod paper;
pub mod saturation;

use crate::{IdentifyError, StageRunner};
use nnid_linalg::Linalg;
use nnid_nn_model::{Activation, Network};

/// What is known about the black box besides its queries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Architecture {
    /// Input dimension d.
    pub d: usize,
    /// First hidden width m0.
    pub m0: usize,
    /// Second hidden width m1.
    pub m1: usize,
    /// First-layer activation g.
    pub g: Activation,
    /// Second-layer activation h.
    pub h: Activation,
}

impl Architecture {
    /// Number of parameters P = d·m0 + m0·m1 + m0 + m1.
    pub fn parameters(&self) -> usize {
        self.d * self.m0 + self.m0 * self.m1 + self.m0 + self.m1
    }

    /// Checks the pyramidal shape `1 ≤ m1 ≤ m0 ≤ d` the methods assume (paper-spec §1).
    ///
    /// # Errors
    /// [`IdentifyError::InvalidConfig`] naming the violated inequality.
    pub fn validate(&self) -> Result<(), IdentifyError> {
        if self.d == 0 || self.m0 == 0 || self.m1 == 0 {
            return Err(IdentifyError::InvalidConfig {
                field: "widths",
                reason: format!(
                    "d, m0, m1 must be ≥ 1 (got {}, {}, {})",
                    self.d, self.m0, self.m1
                ),
            });
        }
        if self.m0 > self.d || self.m1 > self.m0 {
            return Err(IdentifyError::InvalidConfig {
                field: "widths",
                reason: format!(
                    "nnid assumes m1 ≤ m0 ≤ d (got d = {}, m0 = {}, m1 = {})",
                    self.d, self.m0, self.m1
                ),
            });
        }
        Ok(())
    }
}

/// A complete identification method. Implement it to add a route; [`crate::identify`] adds
/// the certificate and, when known, the comparison with the truth.
pub trait Route: Send + Sync {
    /// Name used in reports and by `--method`.
    fn name(&self) -> &'static str;

    /// Runs the route's stages through `runner` (which counts queries and times per stage)
    /// and returns the identified network.
    ///
    /// # Errors
    /// Any stage's error; [`IdentifyError::Incomplete`] when the route cannot produce every
    /// weight.
    fn run(
        &self,
        la: Linalg<'_>,
        arch: &Architecture,
        seed: u64,
        runner: &mut StageRunner<'_>,
    ) -> Result<Network, IdentifyError>;
}
