//! Pieces of the iterations shared by the solvers: the shifted power step (SPM and the
//! paper's projected gradient ascent differ only in the shift) and the deflation in
//! coefficient space.

use crate::vecops::{axpy, dot, normalize};

/// The shift σ in the power step `u ← normalise(P_Ŵ(u uᵀ) u + σ u)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shift {
    /// Kileel and Pereira's adaptive shift `sqrt(f_c (1 − f_c))`, `f_c = clip(f, 1/2, 1)`,
    /// with `f = ⟨P_Ŵ(u uᵀ) u, u⟩`: the step then never decreases the objective.
    Adaptive,
    /// A constant shift. The paper's projected gradient ascent
    /// `u ← P_S(u + 2γ P_Ŵ(u uᵀ) u)` is the constant shift `1/(2γ)`; 0 is the plain power
    /// step.
    Fixed(f64),
}

impl Shift {
    /// The shift at objective `f`.
    pub(crate) fn value(self, f: f64) -> f64 {
        match self {
            Shift::Adaptive => {
                let fc = f.clamp(0.5, 1.0);
                (fc * (1.0 - fc)).sqrt()
            }
            Shift::Fixed(s) => s,
        }
    }
}

/// An orthonormal set of coefficient vectors (length K) to project out of `c(u)`:
/// the search then runs on `F'(u) = ‖(I − QQᵀ) c(u)‖²`, the objective of the subspace Ŵ with
/// the found rank-ones' projections removed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deflation {
    q: Vec<Vec<f64>>,
}

impl Deflation {
    /// Removes the direction of `c` too (Gram–Schmidt, twice for stability). Returns false
    /// (and adds nothing) when `c` is already (numerically) in the span.
    pub(crate) fn push(&mut self, c: &[f64]) -> bool {
        let mut v = c.to_vec();
        let n0 = dot(&v, &v).sqrt();
        for _ in 0..2 {
            for q in &self.q {
                let a = dot(q, &v);
                axpy(-a, q, &mut v);
            }
        }
        let n = normalize(&mut v);
        if n <= 1e-10 * n0 || n == 0.0 {
            return false;
        }
        self.q.push(v);
        true
    }

    /// `c ← (I − QQᵀ) c`.
    pub(crate) fn apply(&self, c: &mut [f64]) {
        for q in &self.q {
            let a = dot(q, c);
            axpy(-a, q, c);
        }
    }

    /// How many directions are removed.
    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }
}

/// `u ← normalise(g + shift·u)`; returns the step length. `g` is overwritten.
pub(crate) fn finish_step(u: &mut [f64], g: &mut [f64], shift: f64) -> f64 {
    axpy(shift, u, g);
    normalize(g);
    let mut step2 = 0.0;
    for (ui, &gi) in u.iter_mut().zip(g.iter()) {
        let diff = gi - *ui;
        step2 += diff * diff;
        *ui = gi;
    }
    step2.sqrt()
}
