//! The pipeline's error type: one variant per stage, wrapping that stage's typed error.

use nnid_nn_model::{ModelError, OracleError};

/// Why an identification run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifyError {
    /// A query of the black box failed.
    #[error("oracle: {0}")]
    Oracle(#[from] OracleError),
    /// A network could not be built or read.
    #[error("model: {0}")]
    Model(#[from] ModelError),
    /// Linear algebra failed.
    #[error("linear algebra: {0}")]
    Linalg(#[from] nnid_linalg::LinalgError),
    /// Step 1 (finite-difference Hessians or gradients) failed.
    #[error("Hessian sampling: {0}")]
    Hessian(#[from] nnid_fd_hessian::HessianError),
    /// Step 2 (the subspace) failed.
    #[error("subspace: {0}")]
    Subspace(#[from] nnid_subspace::SubspaceError),
    /// Step 3 (rank-one recovery) failed.
    #[error("rank-one recovery: {0}")]
    Rank1(#[from] nnid_rank1_recovery::Rank1Error),
    /// Step 4 (attribution) failed.
    #[error("attribution: {0}")]
    Attribution(#[from] nnid_attribution::AttributionError),
    /// Step 5 (fit) failed.
    #[error("fit: {0}")]
    Fit(#[from] nnid_bias_fit::FitError),
    /// Route S's first layer failed.
    #[error("saturation: {0}")]
    Saturation(#[from] nnid_saturation::SaturationError),
    /// The method found fewer weights than the network has.
    #[error("incomplete identification: {0}")]
    Incomplete(String),
    /// The widths m0, m1 were not given and cannot be decided (the evidence is named).
    #[error("the widths cannot be decided: {0}")]
    WidthsUndecided(String),
    /// Bad settings.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// Why.
        reason: String,
    },
}
