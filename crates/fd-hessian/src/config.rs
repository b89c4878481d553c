//! Where the Hessians are taken: how many, on which sphere, in which coordinates.

use crate::error::{HessianError, Result, invalid};
use nnid_linalg::{Linalg, Mat, Op};

/// How many Hessians to sample (m_X in paper-spec §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HessianCount {
    /// The paper's default m_X = 2(m0 + m1).
    Paper {
        /// First hidden width.
        m0: usize,
        /// Second hidden width.
        m1: usize,
    },
    /// Exactly this many.
    Exact(usize),
}

impl HessianCount {
    /// The number m_X.
    pub const fn get(self) -> usize {
        match self {
            HessianCount::Paper { m0, m1 } => 2 * (m0 + m1),
            HessianCount::Exact(n) => n,
        }
    }
}

/// Tolerance on `‖UᵀU − I‖_max` for a basis to count as orthonormal.
pub const ORTHONORMAL_TOL: f64 = 1e-8;

/// The sampling points and coordinates (paper-spec §2, §7).
///
/// Points are `x_j = c + r·s_j` with `s_j` uniform on the unit sphere of R^d (the paper's
/// distribution; c = 0 by default), whether or not a reduction basis is set, so a reduced
/// run sees the same points as a full one with the same seed.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingConfig {
    /// How many Hessians.
    pub count: HessianCount,
    /// The radius r of the sphere (paper default 1).
    pub radius: f64,
    /// The centre c (default the origin). A second centre x* serves the drift attribution
    /// (paper-spec §5).
    pub centre: Option<Vec<f64>>,
    /// **\[design\]** An orthonormal d×m basis U (normally from [`crate::gradient_span`]):
    /// the Hessians are then taken along its columns, as m×m matrices `Uᵀ∇²f U`, at
    /// O(m²) instead of O(d²) queries each (paper-spec §7).
    pub basis: Option<Mat>,
}

impl SamplingConfig {
    /// The paper's defaults: 2(m0 + m1) points on the unit sphere around the origin, full
    /// d×d Hessians.
    pub fn paper(m0: usize, m1: usize) -> Self {
        Self {
            count: HessianCount::Paper { m0, m1 },
            radius: 1.0,
            centre: None,
            basis: None,
        }
    }

    /// Exactly `n` Hessians instead.
    pub fn with_count(mut self, n: usize) -> Self {
        self.count = HessianCount::Exact(n);
        self
    }

    /// Another radius.
    pub fn with_radius(mut self, radius: f64) -> Self {
        self.radius = radius;
        self
    }

    /// Another centre.
    pub fn with_centre(mut self, centre: Vec<f64>) -> Self {
        self.centre = Some(centre);
        self
    }

    /// Hessians in the coordinates of the orthonormal columns of `basis` (d×m).
    pub fn with_basis(mut self, basis: Mat) -> Self {
        self.basis = Some(basis);
        self
    }

    /// The number of Hessians m_X.
    pub fn num_hessians(&self) -> usize {
        self.count.get()
    }

    /// The side of each sampled Hessian for an oracle on R^d: m with a basis, else d.
    pub fn side(&self, d: usize) -> usize {
        self.basis.as_ref().map_or(d, Mat::ncols)
    }

    /// Checks the settings against an oracle on R^d.
    ///
    /// # Errors
    /// [`HessianError::InvalidConfig`] for zero Hessians, a radius that is not finite and
    /// positive, a non-finite centre, or a basis that is empty, wide, non-finite or not
    /// orthonormal (to [`ORTHONORMAL_TOL`]); [`HessianError::Dimension`] when the centre or
    /// the basis does not have d rows.
    pub fn validate(&self, la: Linalg<'_>, d: usize) -> Result<()> {
        if self.num_hessians() == 0 {
            return Err(invalid("count", "at least one Hessian is needed"));
        }
        if !(self.radius.is_finite() && self.radius > 0.0) {
            return Err(invalid(
                "radius",
                format!("must be finite and > 0, got {}", self.radius),
            ));
        }
        if let Some(c) = &self.centre {
            if c.len() != d {
                return Err(HessianError::Dimension {
                    what: "centre",
                    expected: d,
                    got: c.len(),
                });
            }
            if let Some(k) = c.iter().position(|v| !v.is_finite()) {
                return Err(invalid("centre", format!("coordinate {k} is {}", c[k])));
            }
        }
        if let Some(u) = &self.basis {
            check_basis(la, u, d)?;
        }
        Ok(())
    }
}

/// Checks that `u` is d×m with 1 ≤ m ≤ d, finite, and has orthonormal columns.
pub(crate) fn check_basis(la: Linalg<'_>, u: &Mat, d: usize) -> Result<()> {
    if u.nrows() != d {
        return Err(HessianError::Dimension {
            what: "basis (rows)",
            expected: d,
            got: u.nrows(),
        });
    }
    if u.ncols() == 0 || u.ncols() > d {
        return Err(invalid(
            "basis",
            format!("needs 1 to {d} columns, got {}", u.ncols()),
        ));
    }
    if let Err(e) = u.check_finite("basis") {
        return Err(invalid("basis", e.to_string()));
    }
    let gram = la.matmul(u, Op::Trans, u, Op::NoTrans);
    let dev = gram.sub(&Mat::identity(u.ncols())).max_abs();
    if dev > ORTHONORMAL_TOL {
        return Err(invalid(
            "basis",
            format!(
                "columns are not orthonormal: ‖UᵀU − I‖_max = {dev:.2e} > {ORTHONORMAL_TOL:.0e}"
            ),
        ));
    }
    Ok(())
}
