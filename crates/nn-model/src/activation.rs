//! Smooth sigmoidal activations with derivatives up to order 3.

use crate::fastmath;
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
            Self::Tanh => fastmath::tanh(t),
            Self::Sigmoid => fastmath::logistic(t),
        }
    }

    /// [`Activation::eval`] on every entry of `values`, in place, bit for bit the same values;
    /// the loop runs as SIMD code where the processor has it (AVX2 or AVX-512, chosen at run
    /// time).
    pub fn eval_in_place(self, values: &mut [f64]) {
        struct Kernel<'a>(Activation, &'a mut [f64]);
        impl pulp::WithSimd for Kernel<'_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) {
                match self.0 {
                    Activation::Tanh => self.1.iter_mut().for_each(|v| *v = fastmath::tanh(*v)),
                    Activation::Sigmoid => {
                        self.1.iter_mut().for_each(|v| *v = fastmath::logistic(*v));
                    }
                }
            }
        }
        pulp::Arch::new().dispatch(Kernel(self, values));
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
                let y = fastmath::tanh(t);
                let d1 = 1.0 - y * y;
                [y, d1, -2.0 * y * d1, d1 * (6.0 * y * y - 2.0)]
            }
            Self::Sigmoid => {
                let s = fastmath::logistic(t);
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

    #[test]
    fn the_slice_kernel_gives_the_scalar_values_bit_for_bit() {
        let mut values: Vec<f64> = (0..1001).map(|i| -30.0 + 0.06 * f64::from(i)).collect();
        values.extend([
            0.0,
            -0.0,
            1e-300,
            0.625,
            -0.625,
            710.0,
            f64::INFINITY,
            f64::NAN,
        ]);
        for act in Activation::ALL {
            let mut out = values.clone();
            act.eval_in_place(&mut out);
            for (x, y) in values.iter().zip(&out) {
                assert_eq!(act.eval(*x).to_bits(), y.to_bits(), "{act} at {x}");
            }
        }
    }

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
