//! u-gradients by finite differences with a fixed step in u = Âᵀx (route S step 3.1).
//!
//! With P = (Âᵀ)⁺ (d×m0, ÂᵀP = I), the points x ± εPe_j move u = Âᵀx by exactly ±εe_j, so
//! `∂f/∂u_j ≈ [f(x + εPe_j) − f(x − εPe_j)]/(2ε)` has the error of a plain central difference
//! whatever the conditioning of Â: an ill-conditioned Â only lengthens the x-step; the same
//! holds for the forward difference `[f(x + εPe_j) − f(x)]/ε` ([`UDifference`]). (The
//! alternative, a least-squares map of x-gradients, multiplies their error by cond(Â): it
//! failed on a cond-1.4e5 teacher in the prototype, route-S notes §2.1.)

use super::UStencil;
use crate::FitError;
use nnid_linalg::{Linalg, Mat, axpy};
use nnid_nn_model::Oracle;
use rand::Rng;
use rand_distr::StandardNormal;

/// Smallest accepted ratio σ_min/σ_max of Â: below it the u-coordinates are not defined.
pub(crate) const MIN_RELATIVE_SINGULAR_VALUE: f64 = 1e-13;

/// The pseudo-inverse P = (Âᵀ)⁺ = U Σ⁻¹ Vᵀ (d×m0) and cond(Â), from the thin SVD Â = UΣVᵀ.
///
/// # Errors
/// [`FitError::RankDeficientFirstLayer`] when Â is rank deficient (σ_min/σ_max below
/// [`MIN_RELATIVE_SINGULAR_VALUE`]); [`FitError::Linalg`] when the SVD fails.
pub(crate) fn u_pseudo_inverse(la: Linalg<'_>, a: &Mat) -> Result<(Mat, f64), FitError> {
    let svd = la.svd(a)?;
    let (smax, smin) = (svd.s[0], svd.s[svd.s.len() - 1]);
    if smin.is_nan() || smin <= MIN_RELATIVE_SINGULAR_VALUE * smax {
        return Err(FitError::RankDeficientFirstLayer { ratio: smin / smax });
    }
    let (d, m0) = a.shape();
    let mut us = svd.u.clone();
    for k in 0..m0 {
        let s = svd.s[k];
        us.col_mut(k).iter_mut().for_each(|v| *v /= s);
    }
    let p = Mat::from_fn(d, m0, |i, j| {
        (0..m0).map(|k| us[(i, k)] * svd.v[(j, k)]).sum()
    });
    Ok((p, smax / smin))
}

/// `n` points x ~ N(0, scale² I_d), one per column.
pub(crate) fn gaussian_points(rng: &mut impl Rng, d: usize, n: usize, scale: f64) -> Mat {
    Mat::from_fn(d, n, |_, _| scale * rng.sample::<f64, _>(StandardNormal))
}

/// u-gradients at a set of points.
#[derive(Clone, Debug)]
pub(crate) struct UGradients {
    /// The points x_k (d×K).
    pub x: Mat,
    /// u_k = Âᵀx_k (m0×K).
    pub u: Mat,
    /// ∇_u f(x_k) (m0×K).
    pub grad: Mat,
}

/// A finite-difference stencil in u with its step (chosen by
/// [`super::SecondLayerConfig::u_difference`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct UDifference {
    pub stencil: UStencil,
    pub step: f64,
}

impl UStencil {
    /// The (sign, coordinate) offsets of one point's stencil, in query order: `None` is x
    /// itself.
    fn offsets(self, m0: usize) -> Vec<Option<(f64, usize)>> {
        match self {
            Self::Central => (0..m0)
                .flat_map(|j| [Some((1.0, j)), Some((-1.0, j))])
                .collect(),
            Self::Forward => std::iter::once(None)
                .chain((0..m0).map(|j| Some((1.0, j))))
                .collect(),
        }
    }

    /// Queries of one u-gradient point for m0 first-layer neurons: 2·m0 central, m0 + 1
    /// forward.
    pub fn queries_per_point(self, m0: usize) -> usize {
        self.offsets(m0).len()
    }
}

impl UDifference {
    /// ∂f/∂u_j from one point's answers `f` (in [`UStencil::offsets`] order).
    fn derivative(self, f: &[f64], j: usize) -> f64 {
        match self.stencil {
            UStencil::Central => (f[2 * j] - f[2 * j + 1]) / (2.0 * self.step),
            UStencil::Forward => (f[1 + j] - f[0]) / self.step,
        }
    }
}

/// u-gradients at every column of `x` by `difference`, in batches of whole points.
///
/// # Errors
/// [`FitError::Oracle`] when the oracle fails.
pub(crate) fn u_gradients(
    oracle: &dyn Oracle,
    a: &Mat,
    p: &Mat,
    x: Mat,
    difference: UDifference,
) -> Result<UGradients, FitError> {
    let (d, m0) = a.shape();
    let k = x.ncols();
    let offsets = difference.stencil.offsets(m0);
    let per_point = offsets.len();
    // Batches of whole gradient points, at most about 2²⁴ coordinates (128 MB) each: at
    // (3072, 512, 128) all 134 points at once would be 3.4 GB.
    let per_batch = ((1usize << 24) / (per_point * d).max(1)).max(1);
    let mut f = Vec::with_capacity(per_point * k);
    for first in (0..k).step_by(per_batch) {
        let last = (first + per_batch).min(k);
        let mut pts = Mat::zeros(d, per_point * (last - first));
        for c in first..last {
            for (o, offset) in offsets.iter().enumerate() {
                let col = pts.col_mut((c - first) * per_point + o);
                col.copy_from_slice(x.col(c));
                if let Some((sign, j)) = *offset {
                    axpy(sign * difference.step, p.col(j), col);
                }
            }
        }
        f.extend(oracle.query(&pts)?);
    }
    let grad = Mat::from_fn(m0, k, |j, c| {
        difference.derivative(&f[c * per_point..(c + 1) * per_point], j)
    });
    let u = Mat::from_fn(m0, k, |i, c| nnid_linalg::dot(a.col(i), x.col(c)));
    Ok(UGradients { x, u, grad })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::{BackendKind, Op};
    use nnid_nn_model::teacher::TeacherConfig;
    use nnid_nn_model::{Activation, NetworkOracle};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The (9, 6, 3) teacher of these tests and its oracle.
    fn teacher(act: Activation) -> (nnid_nn_model::Network, NetworkOracle) {
        let net = TeacherConfig::new(9, 6, 3)
            .activation(act)
            .seed(3)
            .generate()
            .unwrap();
        (net.clone(), NetworkOracle::new(net))
    }

    /// The u-gradient of f is Σ_l h'(z_l) G b_l; the central difference with u-step 1e-4
    /// has truncation error ε²/6·|∂³f| ≲ 1e-8·m1 and rounding ≲ 1e-16·|f|/ε, so 1e-7 bounds it.
    #[test]
    fn u_gradients_match_the_analytic_gradient() {
        let kinds: Vec<_> = BackendKind::compiled().collect();
        assert!(!kinds.is_empty(), "no backend compiled");
        for kind in kinds {
            let la = kind.linalg().unwrap();
            for act in Activation::ALL {
                let (net, oracle) = teacher(act);
                let (p, cond) = u_pseudo_inverse(la, net.a()).unwrap();
                assert!(cond >= 1.0, "{kind}: cond {cond}");
                let atp = la.matmul(net.a(), Op::Trans, &p, Op::NoTrans);
                assert!(
                    atp.sub(&Mat::identity(6)).max_abs() < 1e-12,
                    "{kind}: AᵀP ≠ I"
                );
                let mut rng = ChaCha8Rng::seed_from_u64(1);
                let x = gaussian_points(&mut rng, 9, 4, 0.7);
                let ug = u_gradients(
                    &oracle,
                    net.a(),
                    &p,
                    x,
                    UDifference {
                        stencil: UStencil::Central,
                        step: 1e-4,
                    },
                )
                .unwrap();
                assert_eq!(oracle.queries(), 2 * 6 * 4, "{kind}: queries");
                for c in 0..4 {
                    let fw = net.forward(ug.x.col(c));
                    for i in 0..6 {
                        let exact: f64 = (0..3).map(|l| fw.hz[l][1] * net.b()[(i, l)]).sum::<f64>()
                            * fw.gy[i][1];
                        let err = (ug.grad[(i, c)] - exact).abs();
                        assert!(
                            err < 1e-7,
                            "{kind} {act}: point {c} coord {i}: error {err:e}"
                        );
                    }
                }
            }
        }
    }

    /// The forward difference with u-step ε is ∂_j f + ε/2·∂²_jj f + O(ε²|∂³f|) plus rounding
    /// 2u|f|/ε: with ε = 1.5e-6, |f| ≤ m1 = 3 and |∂³f| ≲ 10 that is ≲ 1e-9 around the exact
    /// second-order value (computed from the forward pass), so 2e-9 bounds it; m0 + 1
    /// queries per point.
    #[test]
    fn forward_u_gradients_match_to_second_order() {
        let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
        for act in Activation::ALL {
            let (net, oracle) = teacher(act);
            let (p, _) = u_pseudo_inverse(la, net.a()).unwrap();
            let x = gaussian_points(&mut ChaCha8Rng::seed_from_u64(2), 9, 4, 0.7);
            let step = 1.5e-6;
            let ug = u_gradients(
                &oracle,
                net.a(),
                &p,
                x,
                UDifference {
                    stencil: UStencil::Forward,
                    step,
                },
            )
            .unwrap();
            assert_eq!(oracle.queries(), (6 + 1) * 4, "queries");
            for c in 0..4 {
                let fw = net.forward(ug.x.col(c));
                for j in 0..6 {
                    let (g1, g2) = (fw.gy[j][1], fw.gy[j][2]);
                    let (first, second) = (0..3).fold((0.0, 0.0), |(f1, f2), l| {
                        let b = net.b()[(j, l)];
                        let hz = fw.hz[l];
                        (
                            f1 + hz[1] * b * g1,
                            f2 + hz[2] * (b * g1).powi(2) + hz[1] * b * g2,
                        )
                    });
                    let err = (ug.grad[(j, c)] - first - step / 2.0 * second).abs();
                    assert!(err < 2e-9, "{act}: point {c} coord {j}: error {err:e}");
                }
            }
        }
    }

    #[test]
    fn rank_deficient_a_is_refused() {
        let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
        let a = Mat::from_columns(3, &[vec![1.0, 0.0, 0.0], vec![1.0, 0.0, 0.0]]);
        let err = u_pseudo_inverse(la, &a).unwrap_err();
        assert!(
            matches!(err, FitError::RankDeficientFirstLayer { .. }),
            "{err}"
        );
    }
}
