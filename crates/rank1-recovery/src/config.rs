//! Shared validation of solver settings.

use crate::{Rank1Error, Shift};

/// Builds [`Rank1Error::InvalidConfig`] for one solver.
pub(crate) struct Checker {
    solver: &'static str,
}

impl Checker {
    pub(crate) fn new(solver: &'static str) -> Self {
        Self { solver }
    }

    fn bad(
        &self,
        field: &'static str,
        value: impl ToString,
        reason: &'static str,
    ) -> Result<(), Rank1Error> {
        Err(Rank1Error::InvalidConfig {
            solver: self.solver,
            field,
            value: value.to_string(),
            reason,
        })
    }

    /// In (0, 1].
    pub(crate) fn unit_interval(&self, field: &'static str, v: f64) -> Result<(), Rank1Error> {
        if v > 0.0 && v <= 1.0 {
            Ok(())
        } else {
            self.bad(field, v, "must lie in (0, 1]")
        }
    }

    /// Positive and finite.
    pub(crate) fn positive(&self, field: &'static str, v: f64) -> Result<(), Rank1Error> {
        if v > 0.0 && v.is_finite() {
            Ok(())
        } else {
            self.bad(field, v, "must be positive and finite")
        }
    }

    /// At least 0 and finite.
    pub(crate) fn non_negative(&self, field: &'static str, v: f64) -> Result<(), Rank1Error> {
        if v >= 0.0 && v.is_finite() {
            Ok(())
        } else {
            self.bad(field, v, "must be ≥ 0 and finite")
        }
    }

    /// In [0, 1).
    pub(crate) fn below_one(&self, field: &'static str, v: f64) -> Result<(), Rank1Error> {
        if (0.0..1.0).contains(&v) {
            Ok(())
        } else {
            self.bad(field, v, "must lie in [0, 1)")
        }
    }

    /// A count of at least 1.
    pub(crate) fn at_least_one(&self, field: &'static str, v: usize) -> Result<(), Rank1Error> {
        if v >= 1 {
            Ok(())
        } else {
            self.bad(field, v, "must be at least 1")
        }
    }

    /// A fixed shift must be finite and ≥ 0.
    pub(crate) fn shift(&self, field: &'static str, s: Shift) -> Result<(), Rank1Error> {
        match s {
            Shift::Adaptive => Ok(()),
            Shift::Fixed(v) => self.non_negative(field, v),
        }
    }
}
