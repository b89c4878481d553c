//! Discovery followed by the ridge polish.

use crate::{Discovery, PolishReport, Result, SaturationConfig, discover, ridge_polish};
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::{Activation, Oracle};

/// Both stages' reports.
#[derive(Clone, Debug)]
pub struct FirstLayerReport {
    /// Discovery (step 1): per-line log, queries, farthest query.
    pub discovery: Discovery,
    /// Ridge polish (step 2): per-neuron corrections, queries, farthest query.
    pub polish: PolishReport,
}

/// The first layer from route S.
#[derive(Clone, Debug)]
pub struct FirstLayer {
    /// d×m0, column i = a_i (unit norm, exact to rounding, sign arbitrary).
    pub a: Mat,
    /// Rough shifts θ̂ (sign matching the columns of `a`); the exact θ comes with the
    /// second layer.
    pub theta: Vec<f64>,
    /// Oracle queries of both stages.
    pub queries: u64,
    /// What each stage did.
    pub report: FirstLayerReport,
}

impl FirstLayer {
    /// The largest ‖x‖ queried by either stage.
    pub fn farthest(&self) -> f64 {
        self.report
            .discovery
            .farthest
            .max(self.report.polish.farthest)
    }
}

/// Runs [`discover`] and then [`ridge_polish`] from its result (seeds `seed` and
/// `seed + 1`).
///
/// # Errors
/// Those of [`discover`] and [`ridge_polish`].
pub fn first_layer(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    m0: Option<usize>,
    act: Activation,
    cfg: &SaturationConfig,
    seed: u64,
) -> Result<FirstLayer> {
    let discovery = discover(la, oracle, m0, act, cfg, seed)?;
    let polish = ridge_polish(la, oracle, &discovery, act, cfg, seed.wrapping_add(1))?;
    Ok(FirstLayer {
        a: polish.a.clone(),
        theta: polish.theta.clone(),
        queries: discovery.queries + polish.queries,
        report: FirstLayerReport { discovery, polish },
    })
}
