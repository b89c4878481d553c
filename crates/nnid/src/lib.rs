//! nnid: identify the weights of a two-hidden-layer network
//! `f(x) = Σ_l h(b_lᵀ g(Aᵀx + θ) + τ_l)` from black-box queries.
//!
//! This crate wires the stage crates into complete methods ([`routes`]): the paper's
//! pipeline (Fornasier, Klock and Rauchensteiner, arXiv 1907.00485) with every stage behind
//! its trait, and two routes beyond it that identify generic networks exactly. [`identify`]
//! runs one route, counts every query per stage with the oracle's own counter, and ends with
//! the certificate: the relative error of `f̂` on fresh validation queries, against 1e-9 or,
//! when the oracle's answers carry more (float32, noise), against a multiple of the noise floor
//! it measured from the oracle's own answers first ([`noise`]). A run that does not pass it
//! says so ([`Status::NotCertified`]); it never claims success silently, nor more accuracy than
//! the answers carry.

mod error;
pub mod experiment;
mod identify;
pub mod metrics;
pub mod noise;
pub mod plot;
mod progress;
mod report;
pub mod routes;
mod stage;

pub use error::IdentifyError;
pub use identify::{
    CERTIFICATE_THRESHOLD, Outcome, RunOptions, compare_with_truth, identify, identify_discovering,
};
pub use progress::{Progress, Silent};
pub use report::{Report, StageRecord, Status, TruthComparison};
pub use routes::{Architecture, Route};
pub use stage::StageRunner;
