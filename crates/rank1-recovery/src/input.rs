//! A search space from user-supplied symmetric matrices: checked, then orthonormalised.

use nnid_linalg::sym::{SymSubspace, svec, svec_len};
use nnid_linalg::{Linalg, Mat};

use crate::Rank1Error;

/// Tolerances of [`span_from_matrices`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpanCheck {
    /// A matrix is symmetric when `|S_ij − S_ji| ≤ symmetry_tol · max|S|` for all i, j
    /// (its symmetric part `(S + Sᵀ)/2` is then used).
    pub symmetry_tol: f64,
    /// The matrices are independent when every singular value of their stacked, normalised
    /// svecs exceeds `rank_tol` times the largest.
    pub rank_tol: f64,
    /// Entries larger than this in magnitude are refused (their squares would overflow).
    pub max_abs: f64,
}

impl Default for SpanCheck {
    fn default() -> Self {
        Self {
            symmetry_tol: 1e-8,
            rank_tol: 1e-10,
            max_abs: 1e150,
        }
    }
}

/// Matrices given as rows (`rows[k][i]` is row i of matrix k, d numbers), as [`Mat`]s.
///
/// # Errors
/// [`Rank1Error::MatrixShape`] naming the first matrix that is not d×d.
pub fn matrices_from_rows(d: usize, rows: &[Vec<Vec<f64>>]) -> Result<Vec<Mat>, Rank1Error> {
    rows.iter()
        .enumerate()
        .map(|(index, m)| {
            if m.len() != d {
                return Err(Rank1Error::MatrixShape {
                    index,
                    d,
                    detail: format!("{} rows", m.len()),
                });
            }
            if let Some((i, r)) = m.iter().enumerate().find(|(_, r)| r.len() != d) {
                return Err(Rank1Error::MatrixShape {
                    index,
                    d,
                    detail: format!("row {i} with {} numbers", r.len()),
                });
            }
            Ok(Mat::from_rows(d, m))
        })
        .collect()
}

/// The span of `matrices` (each d×d, symmetric up to `check.symmetry_tol`) as a
/// [`SymSubspace`] with an orthonormal basis (left singular vectors of the stacked svecs,
/// each normalised first so that the scale of a matrix does not matter).
///
/// # Errors
/// In this order: [`Rank1Error::EmptySubspace`] (d = 0 or no matrix),
/// [`Rank1Error::TooManyMatrices`] (more than d(d+1)/2), [`Rank1Error::MatrixShape`],
/// [`Rank1Error::NonFiniteEntry`] (NaN, infinite or above `max_abs`),
/// [`Rank1Error::ZeroMatrix`], [`Rank1Error::NotSymmetric`], [`Rank1Error::RankDeficient`],
/// [`Rank1Error::Linalg`].
pub fn span_from_matrices(
    la: Linalg<'_>,
    d: usize,
    matrices: &[Mat],
    check: SpanCheck,
) -> Result<SymSubspace, Rank1Error> {
    if d == 0 || matrices.is_empty() {
        return Err(Rank1Error::EmptySubspace {
            d,
            dim: matrices.len(),
        });
    }
    let max = svec_len(d);
    if matrices.len() > max {
        return Err(Rank1Error::TooManyMatrices {
            count: matrices.len(),
            d,
            max,
        });
    }
    let mut cols = Vec::with_capacity(matrices.len());
    for (index, m) in matrices.iter().enumerate() {
        if m.shape() != (d, d) {
            return Err(Rank1Error::MatrixShape {
                index,
                d,
                detail: format!("{}×{}", m.nrows(), m.ncols()),
            });
        }
        if let Some(k) = m
            .as_slice()
            .iter()
            .position(|x| !(x.is_finite() && x.abs() <= check.max_abs))
        {
            return Err(Rank1Error::NonFiniteEntry {
                index,
                row: k % d,
                col: k / d,
                value: m.as_slice()[k],
                limit: check.max_abs,
            });
        }
        let scale = m.max_abs();
        if scale == 0.0 {
            return Err(Rank1Error::ZeroMatrix { index });
        }
        let (mut gap, mut at) = (0.0_f64, (0, 0));
        for j in 0..d {
            for i in 0..j {
                let g = (m[(i, j)] - m[(j, i)]).abs();
                if g > gap {
                    (gap, at) = (g, (i, j));
                }
            }
        }
        if gap > check.symmetry_tol * scale {
            return Err(Rank1Error::NotSymmetric {
                index,
                row: at.0,
                col: at.1,
                gap,
                tol: check.symmetry_tol,
                bound: check.symmetry_tol * scale,
            });
        }
        let sym = Mat::from_fn(d, d, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]) / scale);
        let mut v = svec(&sym);
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        cols.push(v);
    }
    let stacked = Mat::from_columns(max, &cols);
    let svd = la.svd(&stacked)?;
    let largest = svd.s.first().copied().unwrap_or(0.0);
    let smallest = svd.s.last().copied().unwrap_or(0.0);
    let rank = svd
        .s
        .iter()
        .filter(|&&s| s > check.rank_tol * largest)
        .count();
    if rank < matrices.len() {
        return Err(Rank1Error::RankDeficient {
            count: matrices.len(),
            rank,
            smallest,
            largest,
            tol: check.rank_tol,
        });
    }
    Ok(SymSubspace::from_orthonormal(d, svd.u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::BackendKind;

    fn la() -> Linalg<'static> {
        BackendKind::default_compiled()
            .expect("a compiled backend")
            .linalg()
            .unwrap()
    }

    fn rank1(u: &[f64]) -> Mat {
        Mat::from_fn(u.len(), u.len(), |i, j| u[i] * u[j])
    }

    #[test]
    fn a_good_list_gives_an_orthonormal_basis_of_its_span() {
        let ms = vec![
            rank1(&[1.0, 0.0, 2.0]),
            rank1(&[0.0, 3.0, 1.0]).add(&rank1(&[1.0, 1.0, 0.0])),
        ];
        let w = span_from_matrices(la(), 3, &ms, SpanCheck::default()).unwrap();
        assert_eq!(w.dim(), 2);
        let gram = w.basis().transpose().matvec(w.basis().col(0));
        assert!(
            (gram[0] - 1.0).abs() < 1e-14 && gram[1].abs() < 1e-14,
            "not orthonormal: {gram:?}"
        );
        // Every input lies in the span.
        for m in &ms {
            let p = w.project(m);
            assert!(p.sub(m).max_abs() < 1e-12 * m.max_abs());
        }
    }

    #[test]
    fn each_bad_input_gets_its_own_error() {
        let la = la();
        let ok = rank1(&[1.0, 2.0]);
        let check = SpanCheck::default();
        assert!(matches!(
            span_from_matrices(la, 2, &[], check),
            Err(Rank1Error::EmptySubspace { .. })
        ));
        let four = vec![ok.clone(); 4];
        assert!(matches!(
            span_from_matrices(la, 2, &four, check),
            Err(Rank1Error::TooManyMatrices {
                count: 4,
                max: 3,
                ..
            })
        ));
        let wide = Mat::zeros(2, 3);
        assert!(matches!(
            span_from_matrices(la, 2, &[ok.clone(), wide], check),
            Err(Rank1Error::MatrixShape { index: 1, .. })
        ));
        let mut nan = ok.clone();
        nan[(1, 0)] = f64::NAN;
        assert!(matches!(
            span_from_matrices(la, 2, &[nan], check),
            Err(Rank1Error::NonFiniteEntry {
                index: 0,
                row: 1,
                col: 0,
                ..
            })
        ));
        let mut huge = ok.clone();
        huge[(0, 0)] = 1e200;
        assert!(matches!(
            span_from_matrices(la, 2, &[huge], check),
            Err(Rank1Error::NonFiniteEntry { .. })
        ));
        assert!(matches!(
            span_from_matrices(la, 2, &[ok.clone(), Mat::zeros(2, 2)], check),
            Err(Rank1Error::ZeroMatrix { index: 1 })
        ));
        let skew = Mat::from_rows(2, &[vec![1.0, 2.0], vec![2.5, 1.0]]);
        assert!(matches!(
            span_from_matrices(la, 2, &[skew], check),
            Err(Rank1Error::NotSymmetric {
                index: 0,
                row: 0,
                col: 1,
                ..
            })
        ));
        let mut twice = ok.clone();
        twice.scale(-3.0);
        assert!(matches!(
            span_from_matrices(la, 2, &[ok, twice], check),
            Err(Rank1Error::RankDeficient {
                count: 2,
                rank: 1,
                ..
            })
        ));
    }

    #[test]
    fn rows_must_form_square_matrices() {
        let good = vec![vec![vec![1.0, 2.0], vec![2.0, 3.0]]];
        let m = matrices_from_rows(2, &good).unwrap();
        assert!((m[0][(1, 0)] - 2.0).abs() < 1e-15 && (m[0][(1, 1)] - 3.0).abs() < 1e-15);
        let short = vec![good[0].clone(), vec![vec![1.0, 2.0]]];
        assert!(matches!(
            matrices_from_rows(2, &short),
            Err(Rank1Error::MatrixShape { index: 1, .. })
        ));
        let ragged = vec![vec![vec![1.0, 2.0], vec![2.0]]];
        let err = matrices_from_rows(2, &ragged).unwrap_err().to_string();
        assert!(err.contains("row 1 with 1 numbers"), "{err}");
    }

    #[test]
    fn tiny_asymmetry_is_accepted() {
        let mut m = rank1(&[1.0, 2.0, 3.0]);
        m[(0, 2)] += 1e-12;
        assert!(span_from_matrices(la(), 3, &[m], SpanCheck::default()).is_ok());
    }
}
