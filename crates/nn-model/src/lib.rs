//! The network model of nnid and black-box access to it.
//!
//! The model (paper-spec §1) is `f(x) = Σ_l h(b_lᵀ g(Aᵀx + θ) + τ_l)` with x ∈ R^d,
//! A = (a_1 | … | a_m0), B = (b_1 | … | b_m1) and smooth sigmoidal g, h ([`Activation`]).
//! [`Network`] evaluates it with exact gradients and Hessians (ground truth for tests);
//! [`Oracle`] is how every stage sees `f`: batched queries and an honest query counter.
//!
//! * [`Network::from_json_str`] / [`Network::to_json_string`] / [`Network::read_json`] /
//!   [`Network::write_json`]: the JSON file format (rows of `layer1.weights` are the a_i, rows
//!   of `layer2.weights` the b_l; docs/file-format.md).
//! * [`teacher`]: random teachers of the paper's experiments (unit-norm Gaussian or perturbed
//!   orthogonal a_i, unit-norm Gaussian b_l of balanced or positive sign, uniform shifts).
//! * Oracles: [`NetworkOracle`] (in process), [`SubprocessOracle`] (a program speaking the
//!   text or binary protocol of docs/oracles.md), and the wrappers [`NoisyOracle`] (additive
//!   Gaussian noise) and [`Float32Oracle`] (float32 rounding).

mod activation;
mod error;
mod fastmath;
mod json;
mod network;
mod oracle;
mod subprocess;
pub mod teacher;
mod wrappers;

pub use activation::Activation;
pub use error::{ModelError, OracleError};
pub use network::{Forward, Network};
pub use oracle::{NetworkOracle, Oracle, check_answers, check_points};
pub use subprocess::{Framing, SubprocessOracle};
pub use wrappers::{Float32Oracle, NoisyOracle};
