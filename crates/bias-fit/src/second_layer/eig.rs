//! Eigenvalues and eigenvectors of a small real non-symmetric matrix whose eigenvalues are
//! expected to be real (the Jennrich matrix `M_α M_β⁻¹ = C Λ C⁻¹`).
//!
//! The linalg facade has only symmetric eigensolvers, so this module carries the classical
//! dense method for the few m1×m1 matrices of the second layer: reduction to upper
//! Hessenberg form by stabilised elimination, the Francis double-shift QR iteration for the
//! eigenvalues (real or complex pairs; EISPACK `hqr`), then one eigenvector per real
//! eigenvalue by inverse iteration with an LU factorisation. O(m1³), plain loops.

use nnid_linalg::{Mat, norm2, normalize};

/// Iterations of the QR sweep per eigenvalue before giving up.
const MAX_QR_ITERATIONS: usize = 60;

/// Eigenvalues `re + i·im` of a real matrix, in no particular order.
#[derive(Clone, Debug)]
pub(crate) struct Spectrum {
    /// Real parts.
    pub re: Vec<f64>,
    /// Imaginary parts (0 for a real eigenvalue; complex pairs have opposite signs).
    pub im: Vec<f64>,
}

impl Spectrum {
    /// The largest |im| relative to the largest |λ| (0 for a real spectrum).
    pub(crate) fn max_relative_imag(&self) -> f64 {
        let scale = self
            .re
            .iter()
            .zip(&self.im)
            .map(|(r, i)| r.hypot(*i))
            .fold(0.0, f64::max);
        let imag = self.im.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        if scale > 0.0 { imag / scale } else { 0.0 }
    }
}

/// The eigenvalues of the square matrix `x`, or `None` when the QR iteration does not
/// converge.
///
/// # Panics
/// If `x` is not square.
#[track_caller]
pub(crate) fn eigenvalues(x: &Mat) -> Option<Spectrum> {
    assert_eq!(
        x.nrows(),
        x.ncols(),
        "eigenvalues: {}×{} is not square",
        x.nrows(),
        x.ncols()
    );
    let mut a = x.clone();
    hessenberg(&mut a);
    hqr(&mut a)
}

/// A unit eigenvector of `x` for the real eigenvalue `lambda`, by inverse iteration, and its
/// relative residual `‖xv − λv‖/‖x‖`.
///
/// # Panics
/// If `x` is not square.
#[track_caller]
pub(crate) fn eigenvector(x: &Mat, lambda: f64) -> (Vec<f64>, f64) {
    let n = x.nrows();
    assert_eq!(
        n,
        x.ncols(),
        "eigenvector: {}×{} is not square",
        n,
        x.ncols()
    );
    let scale = x.norm_fro().max(f64::MIN_POSITIVE);
    let shift = lambda + 1e-10 * scale.max(lambda.abs());
    let shifted = Mat::from_fn(n, n, |i, j| x[(i, j)] - if i == j { shift } else { 0.0 });
    let lu = Lu::new(shifted, scale);
    // A start with no special structure, so that no eigenvector is orthogonal to it.
    let mut v: Vec<f64> = (0..n)
        .map(|i| 1.0 + 0.37 * ((i * 7 + 3) % 11) as f64 / 11.0)
        .collect();
    normalize(&mut v);
    for _ in 0..3 {
        v = lu.solve(&v);
        normalize(&mut v);
    }
    let xv = x.matvec(&v);
    let res: Vec<f64> = xv.iter().zip(&v).map(|(a, b)| a - lambda * b).collect();
    (v, norm2(&res) / scale)
}

/// In-place reduction to upper Hessenberg form by Gaussian elimination with pivoting (a
/// similarity transform; the entries below the subdiagonal are set to zero).
fn hessenberg(a: &mut Mat) {
    let n = a.nrows();
    for m in 1..n.saturating_sub(1) {
        let mut x = 0.0_f64;
        let mut piv = m;
        for j in m..n {
            if a[(j, m - 1)].abs() > x.abs() {
                x = a[(j, m - 1)];
                piv = j;
            }
        }
        if piv != m {
            for j in (m - 1)..n {
                let t = a[(piv, j)];
                a[(piv, j)] = a[(m, j)];
                a[(m, j)] = t;
            }
            for j in 0..n {
                let t = a[(j, piv)];
                a[(j, piv)] = a[(j, m)];
                a[(j, m)] = t;
            }
        }
        if x != 0.0 {
            for i in (m + 1)..n {
                let mut y = a[(i, m - 1)];
                if y != 0.0 {
                    y /= x;
                    a[(i, m - 1)] = y;
                    for j in m..n {
                        a[(i, j)] -= y * a[(m, j)];
                    }
                    for j in 0..n {
                        a[(j, m)] += y * a[(j, i)];
                    }
                }
            }
        }
    }
    for j in 0..n {
        for i in (j + 2)..n {
            a[(i, j)] = 0.0;
        }
    }
}

/// The eigenvalues of an upper Hessenberg matrix by the Francis double-shift QR iteration
/// (EISPACK `hqr`); `a` is destroyed.
#[allow(clippy::many_single_char_names)]
fn hqr(a: &mut Mat) -> Option<Spectrum> {
    let n = a.nrows();
    let mut wr = vec![0.0; n];
    let mut wi = vec![0.0; n];
    if n == 0 {
        return Some(Spectrum { re: wr, im: wi });
    }
    let ix = |i: isize, j: isize| (i as usize, j as usize);
    let mut anorm = 0.0;
    for i in 0..n {
        for j in i.saturating_sub(1)..n {
            anorm += a[(i, j)].abs();
        }
    }
    let eps = f64::EPSILON;
    let mut nn = n as isize - 1;
    let mut t = 0.0;
    while nn >= 0 {
        let mut its = 0;
        loop {
            let mut l = nn;
            while l >= 1 {
                let mut s = a[ix(l - 1, l - 1)].abs() + a[ix(l, l)].abs();
                if s == 0.0 {
                    s = anorm;
                }
                if a[ix(l, l - 1)].abs() <= eps * s {
                    a[ix(l, l - 1)] = 0.0;
                    break;
                }
                l -= 1;
            }
            let mut x = a[ix(nn, nn)];
            if l == nn {
                wr[nn as usize] = x + t;
                wi[nn as usize] = 0.0;
                nn -= 1;
                break;
            }
            let mut y = a[ix(nn - 1, nn - 1)];
            let mut w = a[ix(nn, nn - 1)] * a[ix(nn - 1, nn)];
            if l == nn - 1 {
                let p = 0.5 * (y - x);
                let q = p * p + w;
                let z = q.abs().sqrt();
                x += t;
                let (i0, i1) = ((nn - 1) as usize, nn as usize);
                if q >= 0.0 {
                    let z = p + z.copysign(p);
                    wr[i0] = x + z;
                    wr[i1] = if z != 0.0 { x - w / z } else { x + z };
                    wi[i0] = 0.0;
                    wi[i1] = 0.0;
                } else {
                    wr[i0] = x + p;
                    wr[i1] = x + p;
                    wi[i0] = -z;
                    wi[i1] = z;
                }
                nn -= 2;
                break;
            }
            if its == MAX_QR_ITERATIONS {
                return None;
            }
            if its == 10 || its == 20 {
                t += x;
                for i in 0..=nn {
                    a[ix(i, i)] -= x;
                }
                let s = a[ix(nn, nn - 1)].abs() + a[ix(nn - 1, nn - 2)].abs();
                x = 0.75 * s;
                y = x;
                w = -0.4375 * s * s;
            }
            its += 1;
            let mut m = nn - 2;
            let (mut p, mut q, mut r);
            loop {
                let z = a[ix(m, m)];
                let rr = x - z;
                let s = y - z;
                p = (rr * s - w) / a[ix(m + 1, m)] + a[ix(m, m + 1)];
                q = a[ix(m + 1, m + 1)] - z - rr - s;
                r = a[ix(m + 2, m + 1)];
                let s = p.abs() + q.abs() + r.abs();
                p /= s;
                q /= s;
                r /= s;
                if m == l {
                    break;
                }
                let u = a[ix(m, m - 1)].abs() * (q.abs() + r.abs());
                let v = p.abs() * (a[ix(m - 1, m - 1)].abs() + z.abs() + a[ix(m + 1, m + 1)].abs());
                if u <= eps * v {
                    break;
                }
                m -= 1;
            }
            for i in (m + 2)..=nn {
                a[ix(i, i - 2)] = 0.0;
                if i != m + 2 {
                    a[ix(i, i - 3)] = 0.0;
                }
            }
            let mut k = m;
            while k < nn {
                if k != m {
                    p = a[ix(k, k - 1)];
                    q = a[ix(k + 1, k - 1)];
                    r = if k != nn - 1 {
                        a[ix(k + 2, k - 1)]
                    } else {
                        0.0
                    };
                    x = p.abs() + q.abs() + r.abs();
                    if x != 0.0 {
                        p /= x;
                        q /= x;
                        r /= x;
                    }
                }
                let s = (p * p + q * q + r * r).sqrt().copysign(p);
                if s != 0.0 {
                    if k == m {
                        if l != m {
                            a[ix(k, k - 1)] = -a[ix(k, k - 1)];
                        }
                    } else {
                        a[ix(k, k - 1)] = -s * x;
                    }
                    p += s;
                    x = p / s;
                    y = q / s;
                    let z = r / s;
                    q /= p;
                    r /= p;
                    for j in k..=nn {
                        p = a[ix(k, j)] + q * a[ix(k + 1, j)];
                        if k != nn - 1 {
                            p += r * a[ix(k + 2, j)];
                            a[ix(k + 2, j)] -= p * z;
                        }
                        a[ix(k + 1, j)] -= p * y;
                        a[ix(k, j)] -= p * x;
                    }
                    let mmin = if nn < k + 3 { nn } else { k + 3 };
                    for i in l..=mmin {
                        p = x * a[ix(i, k)] + y * a[ix(i, k + 1)];
                        if k != nn - 1 {
                            p += z * a[ix(i, k + 2)];
                            a[ix(i, k + 2)] -= p * r;
                        }
                        a[ix(i, k + 1)] -= p * q;
                        a[ix(i, k)] -= p;
                    }
                }
                k += 1;
            }
        }
    }
    Some(Spectrum { re: wr, im: wi })
}

/// LU factorisation with partial pivoting of a square matrix; exactly zero pivots are
/// replaced by `ε·scale` (inverse iteration wants a nearly singular matrix).
struct Lu {
    lu: Mat,
    perm: Vec<usize>,
}

impl Lu {
    fn new(mut lu: Mat, scale: f64) -> Self {
        let n = lu.nrows();
        let mut perm: Vec<usize> = (0..n).collect();
        for k in 0..n {
            let piv = (k..n)
                .max_by(|&i, &j| lu[(i, k)].abs().total_cmp(&lu[(j, k)].abs()))
                .unwrap_or(k);
            if piv != k {
                perm.swap(piv, k);
                for j in 0..n {
                    let t = lu[(piv, j)];
                    lu[(piv, j)] = lu[(k, j)];
                    lu[(k, j)] = t;
                }
            }
            if lu[(k, k)] == 0.0 {
                lu[(k, k)] = f64::EPSILON * scale;
            }
            let d = lu[(k, k)];
            for i in (k + 1)..n {
                let f = lu[(i, k)] / d;
                lu[(i, k)] = f;
                for j in (k + 1)..n {
                    lu[(i, j)] -= f * lu[(k, j)];
                }
            }
        }
        Self { lu, perm }
    }

    fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = self.lu.nrows();
        let mut y: Vec<f64> = self.perm.iter().map(|&p| b[p]).collect();
        for i in 0..n {
            for j in 0..i {
                y[i] -= self.lu[(i, j)] * y[j];
            }
        }
        for i in (0..n).rev() {
            for j in (i + 1)..n {
                y[i] -= self.lu[(i, j)] * y[j];
            }
            y[i] /= self.lu[(i, i)];
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::dot;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    /// X = C Λ C⁻¹ with a random C: the eigenvalues come back to ~1e-12 (their condition
    /// numbers are O(cond C)), and each eigenvector is parallel to a column of C.
    #[test]
    fn recovers_a_diagonalisable_matrix() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for n in [1usize, 2, 3, 5, 8, 15] {
            let c = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
            let lambda: Vec<f64> = (0..n).map(|i| i as f64 - 0.3 * n as f64 + 0.1).collect();
            // C⁻¹ by solving C Y = I column by column.
            let lu = Lu::new(c.clone(), 1.0);
            let cinv = Mat::from_columns(
                n,
                &(0..n)
                    .map(|j| lu.solve(Mat::identity(n).col(j)))
                    .collect::<Vec<_>>(),
            );
            let x = Mat::from_fn(n, n, |i, j| {
                (0..n).map(|k| c[(i, k)] * lambda[k] * cinv[(k, j)]).sum()
            });
            let spec = eigenvalues(&x).expect("converges");
            assert!(
                spec.max_relative_imag() < 1e-12,
                "n = {n}: complex {:?}",
                spec.im
            );
            let got = sorted(spec.re.clone());
            for (g, e) in got.iter().zip(&lambda) {
                assert!((g - e).abs() < 1e-9, "n = {n}: eigenvalue {g} vs {e}");
            }
            for (k, &l) in lambda.iter().enumerate() {
                let (v, res) = eigenvector(&x, l);
                assert!(res < 1e-10, "n = {n}: residual {res:e}");
                let mut ck = c.col(k).to_vec();
                normalize(&mut ck);
                let cos = dot(&v, &ck).abs();
                assert!(
                    (1.0 - cos) < 1e-10,
                    "n = {n}: eigenvector {k} off by 1 − cos = {:e}",
                    1.0 - cos
                );
            }
        }
    }

    /// A rotation has the complex pair e^{±iφ}.
    #[test]
    fn reports_complex_pairs() {
        let (c, s) = (0.3_f64.cos(), 0.3_f64.sin());
        let x = Mat::from_rows(3, &[vec![c, -s, 0.0], vec![s, c, 0.0], vec![0.0, 0.0, 2.0]]);
        let spec = eigenvalues(&x).unwrap();
        let mut im = sorted(spec.im.clone());
        im.iter_mut().for_each(|v| *v = v.abs());
        assert!((sorted(im)[2] - s).abs() < 1e-14, "{:?}", spec);
        assert!(
            (spec.max_relative_imag() - s / 2.0).abs() < 1e-14,
            "{:?}",
            spec
        );
    }
}
