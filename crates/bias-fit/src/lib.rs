//! Step 5 of the paper and the least-squares fits around it: the second layer, the shifts,
//! and a norm-penalised Levenberg–Marquardt refinement of every parameter.
//!
//! - [`lm`]: a Levenberg–Marquardt solver for any [`LeastSquares`] problem, with dense steps
//!   (normal equations, Cholesky) or matrix-free ones ([`operator`]: conjugate gradients on
//!   Jacobian products) for problems too large to form `JᵀJ`.
//! - [`student`]: the student `f̂(x) = Σ_l c_l h(b_lᵀ g(Aᵀx + θ) + τ_l)` and its penalised
//!   least-squares problem on fit data (spec §6): data residuals `f̂(x_n) − y_n` plus
//!   `w(‖a_i‖² − 1)`, `w(‖b_l‖² − 1)`, `w(c_l² − 1)`, `w = 0.03·√N`, which vanish at the
//!   teacher and its symmetric copies and close the degenerate valleys of plain LM.
//! - [`fit`]: the two-stage penalised fit (A frozen, then everything) and the validation
//!   error `‖f̂(X) − y‖/‖y‖` that certifies an identification without ground truth.
//! - [`paper`]: the paper's step 5 (spec §6): `b_l ∝ G₀(θ)⁻¹ Â⁺ v̂_l` with the sign of each
//!   v̂_l read off `∇f(0)`, and θ, τ by gradient descent on fresh queries.
//! - [`route_g`]: route G's multi-start penalised LM from random starts in the gradient span
//!   (spec §10.1), self-certified on validation queries.
//! - [`second_layer`]: θ, B, τ from a known first layer by exact identities (rank condition,
//!   Jennrich on projected Hessians, h' > 0) and an LM polish with A frozen (spec §10.2 step 3).

mod error;
pub mod fit;
pub mod fit_width;
pub mod lm;
pub mod operator;
pub mod paper;
pub mod route_g;
pub mod second_layer;
pub mod student;

pub use error::FitError;
pub use fit::{FitReport, PenalisedFitConfig, StageRecord, fit_penalised_lm, relative_error};
pub use fit_width::{FitWidthEvidence, FitWidthSearch, FitWidthTrial, discover_m1_by_fit};
pub use lm::{
    LeastSquares, LmConfig, LmReport, LmStep, LmStop, Plateau, StepMethod, levenberg_marquardt,
    normal_matrix, normal_matrix_with,
};
pub use operator::{CgSettings, FactoredPreconditioner, JacobianOperator, Preconditioner};
pub use paper::{
    PaperFit, PaperFitConfig, PaperFitReport, ParamFit, ShiftProblem, ShiftSolver, paper_fit,
};
pub use route_g::{
    RouteGConfig, RouteGReport, StartRecord, gaussian_points, random_start, route_g_fit,
    seeded_start,
};
pub use second_layer::{
    SecondLayer, SecondLayerConfig, SecondLayerQueries, SecondLayerReport, UStencil,
    recover_second_layer,
};
pub use student::{FitData, FreeBlocks, ParamLayout, StudentModel, StudentProblem};
