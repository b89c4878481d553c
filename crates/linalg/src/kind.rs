//! Backend names, always present, and run-time selection of the compiled ones.

use crate::{Backend, Linalg, LinalgError};

/// The linear-algebra backends nnid knows. Every variant exists in every build; only those
/// whose cargo feature is on can be used (see [`BackendKind::compiled`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackendKind {
    /// faer, pure Rust (feature `faer`, the default).
    Faer,
    /// nalgebra, pure Rust (feature `nalgebra`).
    Nalgebra,
    /// LAPACK through ndarray-linalg on the system OpenBLAS (feature `lapack`).
    Lapack,
}

impl BackendKind {
    /// Every backend nnid knows, in order of preference.
    pub const ALL: [Self; 3] = [Self::Faer, Self::Nalgebra, Self::Lapack];

    /// Whether this binary was built with the backend.
    pub const fn is_compiled(self) -> bool {
        match self {
            Self::Faer => cfg!(feature = "faer"),
            Self::Nalgebra => cfg!(feature = "nalgebra"),
            Self::Lapack => cfg!(feature = "lapack"),
        }
    }

    /// The compiled backends, in order of preference.
    pub fn compiled() -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(|k| k.is_compiled())
    }

    /// The first compiled backend (faer, then nalgebra, then lapack), if any.
    pub fn default_compiled() -> Option<Self> {
        Self::compiled().next()
    }

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Faer => "faer",
            Self::Nalgebra => "nalgebra",
            Self::Lapack => "lapack",
        }
    }

    pub(crate) const fn install_hint(self) -> &'static str {
        match self {
            Self::Lapack => " (needs the system OpenBLAS: `apt-get install libopenblas-dev`)",
            _ => "",
        }
    }

    /// The backend as a [`Linalg`] handle, or an error that says how to get it.
    #[cfg_attr(
        not(any(feature = "faer", feature = "nalgebra", feature = "lapack")),
        allow(
            unreachable_code,
            unused_variables,
            reason = "no backend compiled: every kind is an error"
        )
    )]
    pub fn linalg(self) -> Result<Linalg<'static>, LinalgError> {
        let backend: &'static dyn Backend = match self {
            #[cfg(feature = "faer")]
            Self::Faer => &crate::backend_faer::Faer,
            #[cfg(feature = "nalgebra")]
            Self::Nalgebra => &crate::backend_nalgebra::Nalgebra,
            #[cfg(feature = "lapack")]
            Self::Lapack => &crate::backend_lapack::Lapack,
            #[allow(unreachable_patterns)]
            other => return Err(LinalgError::NotCompiled { backend: other }),
        };
        Ok(Linalg::new(backend))
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = LinalgError;
    fn from_str(s: &str) -> Result<Self, LinalgError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| LinalgError::UnknownBackend(s.to_string()))
    }
}
