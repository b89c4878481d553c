//! The b_l by simultaneous diagonalisation of two projected Hessians (route S step 3.4).
//!
//! At a point with y = u + θ, G = diag(g'(y)) and n = ∇_u f / g'(y), the u-Hessian is
//! `H_u = diag(g''(y) ⊙ n) + G B diag(h''(z)) Bᵀ G`. With Q an orthonormal basis of span(B)
//! and W = G⁻¹Q, the known diagonal part can be removed exactly:
//! `M = WᵀH_uW − Wᵀdiag(g''(y) ⊙ n)W = QᵀB · diag(h''(z)) · BᵀQ = C D Cᵀ`, C = QᵀB (unit
//! columns). `WᵀH_uW` comes from second differences of f along the u-normalised columns of
//! W, with a fixed step in u (x-steps εP·ŵ, P = (Âᵀ)⁺): m1² + m1 + 1 queries per point (second differences along ŵ_a and ŵ_a + ŵ_b). Two
//! such matrices share C, and the eigenvectors of `M_α M_β⁻¹ = C D_α D_β⁻¹ C⁻¹` are its
//! columns (Jennrich). The pencil is rotated (M_β = cos β M₁ + sin β M₂, M_α the orthogonal
//! combination) so that the inverted matrix is as well conditioned as the eight angles
//! kπ/8 allow; then each b_l corresponds to the direction of the pair (d₁_l, d₂_l), and the
//! eigenvectors are well determined when those directions are well separated (angle gap)
//! and none of the pairs is near zero (strength).

use super::eig::{eigenvalues, eigenvector};
use crate::FitError;
use nnid_linalg::{Linalg, Mat, axpy, norm2};
use nnid_nn_model::{Activation, Oracle};

/// Queries of one projected Hessian of an m1-dimensional span: m1² + m1 + 1.
pub(crate) fn hessian_queries(m1: usize) -> usize {
    m1 * m1 + m1 + 1
}

/// What one projected Hessian needs to know about its point.
pub(crate) struct HessianPoint<'a> {
    /// The point x (length d).
    pub x: &'a [f64],
    /// y = Âᵀx + θ (length m0).
    pub y: &'a [f64],
    /// ∇_u f at x (length m0).
    pub grad: &'a [f64],
}

/// `M = QᵀB diag(h''(z)) BᵀQ` at a point, from `m1² + m1 + 1` queries (one batch).
///
/// # Errors
/// [`FitError::Oracle`] when the oracle fails.
pub(crate) fn projected_hessian(
    oracle: &dyn Oracle,
    p: &Mat,
    q: &Mat,
    g: Activation,
    at: &HessianPoint<'_>,
    step: f64,
) -> Result<Mat, FitError> {
    let (m0, m1) = q.shape();
    let d = p.nrows();
    let gp: Vec<f64> = at.y.iter().map(|&t| g.d1(t)).collect();
    let gpp: Vec<f64> = at.y.iter().map(|&t| g.d2(t)).collect();
    let w = Mat::from_fn(m0, m1, |i, a| q[(i, a)] / gp[i]);
    let nu: Vec<f64> = w.columns().map(norm2).collect();
    // x-directions of the unit u-steps ŵ_a.
    let dirs: Vec<Vec<f64>> = (0..m1)
        .map(|a| p.matvec(&w.col(a).iter().map(|v| v / nu[a]).collect::<Vec<_>>()))
        .collect();
    let mut pts: Vec<Vec<f64>> = Vec::with_capacity(hessian_queries(m1));
    pts.push(at.x.to_vec());
    let shifted = |terms: &[(f64, usize)]| {
        let mut x = at.x.to_vec();
        for &(s, a) in terms {
            axpy(s * step, &dirs[a], &mut x);
        }
        x
    };
    for a in 0..m1 {
        pts.push(shifted(&[(1.0, a)]));
        pts.push(shifted(&[(-1.0, a)]));
    }
    for a in 0..m1 {
        for b in (a + 1)..m1 {
            pts.push(shifted(&[(1.0, a), (1.0, b)]));
            pts.push(shifted(&[(-1.0, a), (-1.0, b)]));
        }
    }
    let f = oracle.query(&Mat::from_columns(d, &pts))?;
    // Second differences D_v = f(x + hv) − 2f(x) + f(x − hv) = h² vᵀHv + O(h⁴) along e_a and
    // e_a + e_b; then H_ab = (D_{a+b} − D_a − D_b)/(2h²), second-order accurate like the
    // four-point cross stencil, for m1² + m1 + 1 queries instead of 2m1² + 1.
    let h2 = step * step;
    let diag: Vec<f64> = (0..m1)
        .map(|a| f[1 + 2 * a] - 2.0 * f[0] + f[2 + 2 * a])
        .collect();
    let mut hat = Mat::zeros(m1, m1);
    for a in 0..m1 {
        hat[(a, a)] = diag[a] / h2;
    }
    let mut idx = 1 + 2 * m1;
    for a in 0..m1 {
        for b in (a + 1)..m1 {
            let dab = f[idx] - 2.0 * f[0] + f[idx + 1];
            let v = (dab - diag[a] - diag[b]) / (2.0 * h2);
            hat[(a, b)] = v;
            hat[(b, a)] = v;
            idx += 2;
        }
    }
    let corr: Vec<f64> = (0..m0).map(|i| gpp[i] * at.grad[i] / gp[i]).collect();
    Ok(Mat::from_fn(m1, m1, |a, b| {
        let known: f64 = (0..m0).map(|i| w[(i, a)] * w[(i, b)] * corr[i]).sum();
        nu[a] * nu[b] * hat[(a, b)] - known
    }))
}

/// Conditioning of one simultaneous diagonalisation (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JennrichDiagnostics {
    /// Indices (into the gradient points) of the two Hessian points used.
    pub points: (usize, usize),
    /// Smallest angle, in radians modulo π, between the directions (d₁_l, d₂_l) of two
    /// second-layer neurons: the eigenvalue gap of the rotated pencil. Near 0 means two b_l
    /// are nearly indistinguishable from these two points.
    pub angle_gap: f64,
    /// Smallest `‖(d₁_l, d₂_l)‖` over l relative to the largest: near 0 means some b_l is
    /// hardly seen at either point (h''(z_l) ≈ 0 at both).
    pub min_strength: f64,
    /// cond(C) of the recovered C = QᵀB (unit columns).
    pub cond_c: f64,
    /// `angle_gap · min_strength`: small values flag an ill-conditioned pair. (Reported only;
    /// candidate pairs are ranked by the residual of their network on the polish data.)
    pub score: f64,
}

/// The columns of C = QᵀB (unit norm, arbitrary sign) and the diagnostics, or `None` when
/// the pencil has complex eigenvalues or the iteration fails (for this pair of points).
///
/// # Errors
/// [`FitError::Linalg`] when a symmetric eigendecomposition or SVD fails on finite input.
pub(crate) fn diagonalise(
    la: Linalg<'_>,
    m1: &Mat,
    m2: &Mat,
    points: (usize, usize),
) -> Result<Option<(Mat, JennrichDiagnostics)>, FitError> {
    let n = m1.nrows();
    let (n1, n2) = (m1.norm_fro(), m2.norm_fro());
    if !(n1.is_normal() && n2.is_normal()) {
        return Ok(None);
    }
    let scaled = [scaled(m1, 1.0 / n1), scaled(m2, 1.0 / n2)];
    let comb = |c1: f64, c2: f64| {
        Mat::from_fn(n, n, |i, j| c1 * scaled[0][(i, j)] + c2 * scaled[1][(i, j)])
    };
    let mut best: Option<(f64, f64, nnid_linalg::Eigh)> = None;
    for k in 0..8 {
        let beta = k as f64 * std::f64::consts::PI / 8.0;
        let e = la.eigh(&comb(beta.cos(), beta.sin()))?;
        let (lo, hi) = e
            .values
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
                (lo.min(v.abs()), hi.max(v.abs()))
            });
        let cond = if lo > 0.0 { hi / lo } else { f64::INFINITY };
        if best.as_ref().is_none_or(|b| cond < b.0) {
            best = Some((cond, beta, e));
        }
    }
    let Some((cond, beta, e)) = best else {
        return Ok(None);
    };
    if !cond.is_finite() {
        return Ok(None);
    }
    let m_alpha = comb(-beta.sin(), beta.cos());
    // X = M_α M_β⁻¹ with M_β⁻¹ = U Λ⁻¹ Uᵀ.
    let inv = Mat::from_fn(n, n, |i, j| {
        (0..n)
            .map(|k| e.vectors[(i, k)] * e.vectors[(j, k)] / e.values[k])
            .sum()
    });
    let x = Mat::from_fn(n, n, |i, j| {
        (0..n).map(|k| m_alpha[(i, k)] * inv[(k, j)]).sum()
    });
    let Some(spec) = eigenvalues(&x) else {
        return Ok(None);
    };
    if spec.max_relative_imag() > 1e-8 {
        return Ok(None);
    }
    let cols: Vec<Vec<f64>> = spec.re.iter().map(|&l| eigenvector(&x, l).0).collect();
    let c = Mat::from_columns(n, &cols);
    let svd = la.svd(&c)?;
    let cond_c = svd.s[0] / svd.s[n - 1];
    if !cond_c.is_finite() || cond_c > 1e12 {
        return Ok(None);
    }
    // C⁻¹ = V Σ⁻¹ Uᵀ.
    let cinv = Mat::from_fn(n, n, |i, j| {
        (0..n)
            .map(|k| svd.v[(i, k)] * svd.u[(j, k)] / svd.s[k])
            .sum()
    });
    // D_k = diag(C⁻¹ M_k C⁻ᵀ). (Two symmetric matrices are always diagonalised exactly by
    // their pencil's eigenvectors, so the off-diagonal part carries no information.)
    let dvals: Vec<Vec<f64>> = scaled
        .iter()
        .map(|s| {
            (0..n)
                .map(|l| {
                    (0..n)
                        .map(|a| {
                            cinv[(l, a)] * (0..n).map(|b| s[(a, b)] * cinv[(l, b)]).sum::<f64>()
                        })
                        .sum()
                })
                .collect()
        })
        .collect();
    let strength: Vec<f64> = (0..n).map(|l| dvals[0][l].hypot(dvals[1][l])).collect();
    let smax = strength.iter().fold(0.0_f64, |m, &v| m.max(v));
    let min_strength = if smax > 0.0 {
        strength.iter().fold(f64::INFINITY, |m, &v| m.min(v)) / smax
    } else {
        0.0
    };
    let angles: Vec<f64> = spec.re.iter().map(|l| l.atan()).collect();
    let mut angle_gap = std::f64::consts::PI;
    for i in 0..n {
        for j in (i + 1)..n {
            let dlt = (angles[i] - angles[j]).abs();
            angle_gap = angle_gap.min(dlt.min(std::f64::consts::PI - dlt));
        }
    }
    if n == 1 {
        angle_gap = std::f64::consts::FRAC_PI_2;
    }
    let diagnostics = JennrichDiagnostics {
        points,
        angle_gap,
        min_strength,
        cond_c,
        score: angle_gap * min_strength,
    };
    Ok(Some((c, diagnostics)))
}

fn scaled(m: &Mat, s: f64) -> Mat {
    let mut out = m.clone();
    out.scale(s);
    out
}

/// `b_l = Q c_l`, normalised (Q has orthonormal columns, so this only removes rounding).
pub(crate) fn b_from_c(q: &Mat, c: &Mat) -> Mat {
    let cols: Vec<Vec<f64>> = c
        .columns()
        .map(|cl| {
            let mut b = q.matvec(cl);
            let n = norm2(&b);
            b.iter_mut().for_each(|v| *v /= n);
            b
        })
        .collect();
    Mat::from_columns(q.nrows(), &cols)
}

/// `|cos|` between two unit vectors (for matching up to sign in tests and diagnostics).
#[cfg(test)]
pub(crate) fn abs_cos(a: &[f64], b: &[f64]) -> f64 {
    nnid_linalg::dot(a, b).abs() / (norm2(a) * norm2(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::second_layer::ugrad::{UDifference, gaussian_points, u_gradients, u_pseudo_inverse};
    use nnid_linalg::{BackendKind, dot};
    use nnid_nn_model::NetworkOracle;
    use nnid_nn_model::teacher::TeacherConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// With the true θ and Q = an orthonormal basis of span(B), the projected Hessian equals
    /// QᵀB diag(h''(z)) BᵀQ up to the second-difference error (ε²/12·|∂⁴f| ≈ 1e-7, times
    /// ‖w‖² ≲ 10 at a mild point) and the gradient error in the correction; 1e-5 bounds both.
    /// Then the diagonalisation returns every b_l to ~1e-5 in angle.
    #[test]
    fn projected_hessians_and_jennrich_recover_b() {
        let kinds: Vec<_> = BackendKind::compiled().collect();
        assert!(!kinds.is_empty(), "no backend compiled");
        for kind in kinds {
            let la = kind.linalg().unwrap();
            for act in Activation::ALL {
                let (d, m0, m1) = (12, 6, 3);
                let net = TeacherConfig::new(d, m0, m1)
                    .activation(act)
                    .seed(4)
                    .generate()
                    .unwrap();
                let oracle = NetworkOracle::new(net.clone());
                let (p, _) = u_pseudo_inverse(la, net.a()).unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(9);
                let x = gaussian_points(&mut rng, d, 2, 0.7 * act.width());
                let ug = u_gradients(
                    &oracle,
                    net.a(),
                    &p,
                    x,
                    UDifference {
                        stencil: crate::second_layer::UStencil::Central,
                        step: 1e-4,
                    },
                )
                .unwrap();
                let q = la.qr(net.b()).unwrap().q;
                let mut ms = Vec::new();
                for k in 0..2 {
                    let y: Vec<f64> = (0..m0).map(|i| ug.u[(i, k)] + net.theta()[i]).collect();
                    let before = oracle.queries();
                    let at = HessianPoint {
                        x: ug.x.col(k),
                        y: &y,
                        grad: ug.grad.col(k),
                    };
                    let m = projected_hessian(&oracle, &p, &q, act, &at, 1e-3).unwrap();
                    assert_eq!(
                        oracle.queries() - before,
                        hessian_queries(m1) as u64,
                        "{kind}: queries"
                    );
                    let fw = net.forward(ug.x.col(k));
                    let cb = Mat::from_fn(m1, m1, |a, l| dot(q.col(a), net.b().col(l)));
                    let exact = Mat::from_fn(m1, m1, |a, b| {
                        (0..m1).map(|l| cb[(a, l)] * fw.hz[l][2] * cb[(b, l)]).sum()
                    });
                    let err = m.sub(&exact).max_abs();
                    assert!(err < 1e-5, "{kind} {act}: projected Hessian error {err:e}");
                    ms.push(m);
                }
                let (c, diag) = diagonalise(la, &ms[0], &ms[1], (0, 1))
                    .unwrap()
                    .expect("diagonalisable");
                let b = b_from_c(&q, &c);
                for l in 0..m1 {
                    let best = (0..m1)
                        .map(|j| abs_cos(b.col(j), net.b().col(l)))
                        .fold(0.0, f64::max);
                    assert!(
                        1.0 - best < 1e-8,
                        "{kind} {act}: b_{l} off by 1 − cos = {:e}; {diag:?}",
                        1.0 - best
                    );
                }
                assert!(
                    diag.score > 1e-4 && diag.cond_c < 1e2,
                    "{kind} {act}: {diag:?}"
                );
            }
        }
    }
}
