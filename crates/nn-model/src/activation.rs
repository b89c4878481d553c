//! Smooth sigmoidal activations with derivatives up to order 3.

use serde::{Deserialize, Serialize};

/// An activation function of the model (paper-spec §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `tanh(t)`, odd.
    Tanh,
    /// The logistic sigmoid `σ(t) = 1/(1 + e^{−t})`; `σ(−t) = 1 − σ(t)`.
    Sigmoid,
}

impl Activation {
    /// Every activation, for parsing and sweeps.
    pub const ALL: [Self; 2] = [Self::Tanh, Self::Sigmoid];

    /// Name as used in JSON and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tanh => "tanh",
            Self::Sigmoid => "sigmoid",
        }
    }

    /// The value at `t` (bit for bit `derivatives(t)[0]`, without the derivatives).
    pub fn eval(self, t: f64) -> f64 {
        match self {
            Self::Tanh => t.tanh(),
            Self::Sigmoid => logistic(t),
        }
    }

    /// The first derivative at `t`.
    pub fn d1(self, t: f64) -> f64 {
        self.derivatives(t)[1]
    }

    /// The second derivative at `t`.
    pub fn d2(self, t: f64) -> f64 {
        self.derivatives(t)[2]
    }

    /// The third derivative at `t`.
    pub fn d3(self, t: f64) -> f64 {
        self.derivatives(t)[3]
    }

    /// `[f, f', f'', f''']` at `t`, from the value alone (both activations satisfy a
    /// polynomial ODE: tanh' = 1 − tanh², σ' = σ(1 − σ)).
    pub fn derivatives(self, t: f64) -> [f64; 4] {
        match self {
            Self::Tanh => {
                let y = t.tanh();
                let d1 = 1.0 - y * y;
                [y, d1, -2.0 * y * d1, d1 * (6.0 * y * y - 2.0)]
            }
            Self::Sigmoid => {
                let s = logistic(t);
                let d1 = s * (1.0 - s);
                let d2 = d1 * (1.0 - 2.0 * s);
                [s, d1, d2, d1 * (1.0 - 6.0 * d1)]
            }
        }
    }

    /// The slope scale of the activation: the transition width relative to tanh
    /// (1 for tanh, 2 for the logistic sigmoid, which is `(1 + tanh(t/2))/2`).
    pub const fn width(self) -> f64 {
        match self {
            Self::Tanh => 1.0,
            Self::Sigmoid => 2.0,
        }
    }
}

fn logistic(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Activation {
    type Err = crate::ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s.trim())
            .ok_or_else(|| crate::ModelError::UnknownActivation {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Each derivative matches a central difference of the one below it; the central
        /// difference error is h²/6·|f'''| ≤ h² here, plus rounding 2ε/h.
        #[test]
        fn derivatives_match_central_differences(t in -6.0..6.0f64) {
            let h = 1e-5;
            for act in Activation::ALL {
                let (p, m) = (act.derivatives(t + h), act.derivatives(t - h));
                let c = act.derivatives(t);
                for k in 0..3 {
                    let fd = (p[k] - m[k]) / (2.0 * h);
                    prop_assert!((fd - c[k + 1]).abs() < 1e-8, "{act} order {}: {fd} vs {}", k + 1, c[k + 1]);
                }
            }
        }
    }
}
