//! Route S, first layer: the weights a_i and rough shifts θ_i of
//! `f(x) = Σ_l h(b_lᵀ g(Aᵀx + θ) + τ_l)` from queries far from the origin
//! (paper-spec §10.2 steps 1–2; research notes `route-S-prototype.md` §2.2).
//!
//! Far from the origin almost every neuron is saturated (tanh: g'(y) ≈ 4e^{−2|y|}), so along
//! a far line `x(t) = x₀ + t·u` f is piecewise constant with one smooth step where the line
//! crosses a hyperplane `a_iᵀx + θ_i = 0`. Where neuron i is the only unsaturated one
//! (every other |y_j| ≳ 18), f is a ridge function `F(a_iᵀx)` up to e^{−36}, so its gradient
//! is a multiple of a_i.
//!
//! 1. [`discover`]: scan far lines on a 121-point grid, bisect each jump to its mid-level,
//!    take a forward-difference gradient there and keep it if it is long enough, new, and
//!    pure (no curvature across it). After four random lines, deflated lines hold known
//!    neurons at |y| = 20 so only unknown ones step. Directions come out to about 1e-4.
//! 2. [`ridge_polish`]: design x with y_i = 0 and every other y_j = ±20; along a basis V of
//!    â_i^⊥, long-step differences `[f(x + 2v) − f(x − 2v)]/4 = φ'·vᵀa_i` measure the
//!    error of â_i exactly up to third order, so one round gives a_i to rounding (~1e-13).
//!
//! For the logistic sigmoid every saturation level and radius is doubled
//! ([`nnid_nn_model::Activation::width`]). [`first_layer`] runs both. The second layer
//! given A is another crate's job (`nnid-bias-fit`).
//!
//! ```
//! use nnid_linalg::{BackendKind, dot};
//! use nnid_nn_model::{Activation, NetworkOracle, Oracle, teacher::TeacherConfig};
//! use nnid_saturation::{SaturationConfig, first_layer};
//!
//! let net = TeacherConfig::new(8, 4, 2).seed(3).generate().unwrap();
//! let oracle = NetworkOracle::new(net.clone());
//! let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
//! let fl = first_layer(la, &oracle, Some(4), Activation::Tanh, &SaturationConfig::default(), 1).unwrap();
//! assert_eq!(fl.queries, oracle.queries());
//! // Every true a_i is a column of Â up to sign, to rounding.
//! for a in net.a().columns() {
//!     let dist = |c: &[f64]| {
//!         let s = dot(a, c).signum();
//!         c.iter().zip(a).map(|(x, y)| (x - s * y).powi(2)).sum::<f64>().sqrt()
//!     };
//!     assert!(fl.a.columns().map(dist).fold(f64::INFINITY, f64::min) < 1e-9);
//! }
//! ```
//!
//! The route needs queries at ‖x‖ ≈ √10·r_fac·m0·√d (2e3–1e4 for the notes' sizes); set
//! [`SaturationConfig::max_radius`] to forbid farther queries (the route then fails with
//! [`SaturationError::RadiusTooSmall`] instead of querying).

mod config;
mod discover;
mod error;
mod first_layer;
mod polish;
mod probe;

pub use config::{PolishStencil, SaturationConfig};
pub use discover::{Discovery, LineKind, LineLog, Rejections, WidthEvidence, discover};
pub use error::{Result, SaturationError};
pub use first_layer::{FirstLayer, FirstLayerReport, first_layer};
pub use polish::{NeuronPolish, PolishReport, PolishStart, ridge_polish};
