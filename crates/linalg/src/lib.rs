//! Linear algebra for nnid: one small interface, several backends chosen at run time.
//!
//! Stage crates take a [`Linalg`] handle (a checked facade over a `&dyn` [`Backend`]) and
//! pass [`Mat`], an owned column-major `f64` matrix. They never see a backend's own types.
//!
//! | feature    | backend                                           | default |
//! |------------|---------------------------------------------------|---------|
//! | `faer`     | faer 0.24, pure Rust                              | yes     |
//! | `nalgebra` | nalgebra 0.35, pure Rust                          | no      |
//! | `lapack`   | ndarray-linalg 0.18 on the system OpenBLAS        | no      |
//! | `testing`  | proptest generators and the shared conformance checks | no  |
//!
//! Several backends can be compiled at once; [`BackendKind::linalg`] picks one at run time.
//!
//! # Conventions
//! The facade normalises what every backend returns, so results agree entrywise up to
//! rounding: singular values non-increasing, eigenvalues non-decreasing, each singular or
//! eigen-vector's largest-magnitude entry positive, `diag(R) ≥ 0` in QR. Shape mismatches
//! panic (they are bugs); non-finite inputs and numerical failures are [`LinalgError`]s.
//!
//! The [`sym`] module holds symmetric matrices as `svec` vectors (off-diagonals times √2,
//! so Frobenius inner products are kept) and [`sym::SymSubspace`], the value the subspace,
//! rank-one and attribution stages pass between them.

mod backend;
mod error;
mod facade;
mod kind;
mod mat;
pub mod sym;
mod threads;

#[cfg(feature = "faer")]
mod backend_faer;
#[cfg(feature = "lapack")]
mod backend_lapack;
#[cfg(feature = "nalgebra")]
mod backend_nalgebra;
#[cfg(feature = "testing")]
pub mod testing;

pub use backend::{Backend, RawEigh, RawQr, RawSvd};
pub use error::LinalgError;
pub use facade::{Eigh, Linalg, Qr, Svd, SvdTopK};
pub use kind::BackendKind;
pub use mat::{Mat, Op, axpy, dot, norm2, normalize};
pub use threads::{set_threads, threads};
