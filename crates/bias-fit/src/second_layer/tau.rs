//! Signs of the b_l and the shifts τ (route S step 3.5).
//!
//! `n_k = ∇_u f(x_k)/g'(y_k) = Σ_l h'(z_kl) b_l` with h' > 0, so the least-squares
//! coefficients of n_k in the recovered b_l are the values h'(z_kl): a b_l whose coefficients
//! are mostly negative has the wrong sign (the sign of b_l is not a symmetry of f). Then
//! |z_kl| follows from h'(z_kl) (tanh: h' = 1/cosh²z, |z| = arcosh(1/√h'); logistic sigmoid:
//! h' = 1/(4cosh²(z/2)), |z| = 2·arcosh(1/(2√h'))), and τ_l = ±|z_kl| − b_lᵀg(y_k) for one of
//! the two signs at every point: the value shared by most points wins the vote, and τ_l is
//! the median of its supporters.

use crate::FitError;
use nnid_linalg::{Linalg, Mat, dot};
use nnid_nn_model::Activation;

/// |z| from h'(z) for an even, unimodal h' (tanh, logistic sigmoid); values above the
/// maximum of h' (rounding or finite-difference noise) map to 0, non-positive ones to
/// `None`.
pub(crate) fn abs_preimage_of_slope(h: Activation, slope: f64) -> Option<f64> {
    if slope.is_nan() || slope <= 0.0 || slope.is_infinite() {
        return None;
    }
    Some(match h {
        Activation::Tanh => (1.0 / slope.sqrt()).max(1.0).acosh(),
        Activation::Sigmoid => 2.0 * (0.5 / slope.sqrt()).max(1.0).acosh(),
    })
}

/// The outcome of the sign and shift step.
#[derive(Clone, Debug)]
pub(crate) struct SignsAndShifts {
    /// B with corrected signs (m0×m1).
    pub b: Mat,
    /// τ.
    pub tau: Vec<f64>,
    /// Number of b_l flipped.
    pub flipped: usize,
    /// For each l, how many points voted for τ_l.
    pub support: Vec<usize>,
}

/// Signs and τ from the gradient data (module docs). `n` holds the vectors n_k (m0×K),
/// `phi` the values g(y_k) (m0×K).
///
/// # Errors
/// [`FitError::Linalg`] when the least-squares solve fails.
pub(crate) fn signs_and_shifts(
    la: Linalg<'_>,
    mut b: Mat,
    n: &Mat,
    phi: &Mat,
    h: Activation,
    tol: f64,
) -> Result<SignsAndShifts, FitError> {
    let m1 = b.ncols();
    let k = n.ncols();
    let mut coef = la.lstsq(&b, n)?; // m1×K
    let mut flipped = 0;
    for l in 0..m1 {
        let mut row = coef.row(l);
        if median(&mut row) < 0.0 {
            flipped += 1;
            b.col_mut(l).iter_mut().for_each(|v| *v = -*v);
            for c in 0..k {
                coef[(l, c)] = -coef[(l, c)];
            }
        }
    }
    let mut tau = vec![0.0; m1];
    let mut support = vec![0; m1];
    for l in 0..m1 {
        let bl = b.col(l);
        // Candidates per point: (+|z| − s, −|z| − s).
        let cands: Vec<[f64; 2]> = (0..k)
            .filter_map(|c| {
                let z = abs_preimage_of_slope(h, coef[(l, c)])?;
                let s = dot(bl, phi.col(c));
                Some([z - s, -z - s])
            })
            .collect();
        let mut best: Option<(usize, f64, f64)> = None; // (support, spread, value)
        for v in cands.iter().flatten() {
            let near: Vec<f64> = cands
                .iter()
                .filter_map(|pair| {
                    let w = if (pair[0] - v).abs() <= (pair[1] - v).abs() {
                        pair[0]
                    } else {
                        pair[1]
                    };
                    ((w - v).abs() <= tol).then_some(w)
                })
                .collect();
            let spread = near.iter().map(|w| (w - v).abs()).sum::<f64>();
            let better =
                best.is_none_or(|(s, sp, _)| near.len() > s || (near.len() == s && spread < sp));
            if better {
                let mut near = near;
                best = Some((near.len(), spread, median(&mut near)));
            }
        }
        if let Some((s, _, value)) = best {
            support[l] = s;
            tau[l] = value;
        }
    }
    Ok(SignsAndShifts {
        b,
        tau,
        flipped,
        support,
    })
}

/// The median (mean of the middle two for an even count); 0 for an empty slice.
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::BackendKind;
    use nnid_nn_model::teacher::TeacherConfig;

    #[test]
    fn preimage_inverts_the_slope() {
        for h in Activation::ALL {
            for z in [0.0, 0.1, 0.7, 2.0, 6.0] {
                let back = abs_preimage_of_slope(h, h.d1(z)).unwrap();
                // d|z|/dh' = 1/|h''| blows up at z = 0: there rounding of h' gives √ε.
                let tol = if z == 0.0 { 1e-7 } else { 1e-9 };
                assert!((back - z).abs() < tol, "{h}: z = {z}, got {back}");
                let back = abs_preimage_of_slope(h, h.d1(-z)).unwrap();
                assert!((back - z).abs() < tol, "{h}: z = −{z}, got {back}");
            }
            assert!(abs_preimage_of_slope(h, 0.0).is_none());
            assert!(abs_preimage_of_slope(h, -1e-3).is_none());
        }
    }

    /// With exact n_k and φ_k and B given with some columns negated, the signs are
    /// restored and τ comes back to rounding.
    #[test]
    fn exact_data_give_signs_and_tau() {
        let la = BackendKind::default_compiled()
            .expect("a backend")
            .linalg()
            .unwrap();
        for act in Activation::ALL {
            let (d, m0, m1) = (9, 6, 3);
            let net = TeacherConfig::new(d, m0, m1)
                .activation(act)
                .seed(21)
                .generate()
                .unwrap();
            let k = 15;
            let xs: Vec<Vec<f64>> = (0..k)
                .map(|c| (0..d).map(|j| ((c * d + j) as f64 * 0.618).sin()).collect())
                .collect();
            let mut n = Mat::zeros(m0, k);
            let mut phi = Mat::zeros(m0, k);
            for (c, x) in xs.iter().enumerate() {
                let fw = net.forward(x);
                for i in 0..m0 {
                    n[(i, c)] = (0..m1).map(|l| fw.hz[l][1] * net.b()[(i, l)]).sum();
                    phi[(i, c)] = fw.gy[i][0];
                }
            }
            let mut b = net.b().clone();
            b.col_mut(1).iter_mut().for_each(|v| *v = -*v);
            let out = signs_and_shifts(la, b, &n, &phi, act, 1e-2).unwrap();
            assert_eq!(out.flipped, 1, "{act}");
            assert!(out.b.sub(net.b()).max_abs() < 1e-15, "{act}: signs");
            for l in 0..m1 {
                assert!(
                    (out.tau[l] - net.tau()[l]).abs() < 1e-6,
                    "{act}: τ_{l} = {} vs {}",
                    out.tau[l],
                    net.tau()[l]
                );
                assert_eq!(out.support[l], k, "{act}: support of τ_{l}");
            }
        }
    }
}
