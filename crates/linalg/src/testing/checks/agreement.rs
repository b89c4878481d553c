//! Cross-backend agreement on matrices with separated spectra (Davis–Kahan / Wedin).

use super::{C_AGREE, C_BACKWARD, CheckResult, EPS, call, ensure, size, worst_difference};
use crate::Linalg;
use crate::testing::generators::{SpectralMatrix, SymmetricMatrix};

/// Two backends agree on the SVD of a matrix whose singular values are separated
/// (`case.gap(k) > 0`): singular values within `2·C_BACKWARD·ε·max(m, n)·σ₁` and each
/// singular pair, up to one common sign, within `C_AGREE·ε·max(m, n)·σ₁ / gap_k` (Wedin).
/// Where a left vector's largest-magnitude entry is unambiguous (its lead over the
/// runner-up exceeds twice that bound), the facade's sign convention must make the flip
/// unnecessary.
///
/// # Errors
/// A message naming both backends and the pair that disagrees.
pub fn svd_agree(first: Linalg<'_>, second: Linalg<'_>, case: &SpectralMatrix) -> CheckResult {
    let (m, n) = case.a.shape();
    let (x, y) = (
        call(first, "svd", first.svd(&case.a))?,
        call(second, "svd", second.svd(&case.a))?,
    );
    let pair = format!("{} vs {}", first.name(), second.name());
    let unit = EPS * size(m, n) * case.norm2();
    let (k, ds) = worst_difference(&x.s, &y.s);
    ensure(ds <= 2.0 * C_BACKWARD * unit, || {
        format!(
            "{pair}: σ_{k} differs by {ds:.3e} > {:.3e}",
            2.0 * C_BACKWARD * unit
        )
    })?;
    for k in 0..m.min(n) {
        let bound = C_AGREE * unit / case.gap(k);
        let (du, flip) = distance_up_to_sign(x.u.col(k), y.u.col(k));
        // The right vector must follow the left one's sign.
        let sign = if flip { -1.0 } else { 1.0 };
        let dv =
            x.v.col(k)
                .iter()
                .zip(y.v.col(k))
                .map(|(a, b)| (a - sign * b).powi(2))
                .sum::<f64>()
                .sqrt();
        ensure(du <= bound && dv <= bound, || {
            format!(
                "{pair}: singular pair {k} differs by (u {du:.3e}, v {dv:.3e}) > C·ε·max(m,n)·σ₁/gap = {bound:.3e} ({m}×{n}, gap {:.3e})",
                case.gap(k)
            )
        })?;
        ensure(!flip || pivot_margin(x.u.col(k)) <= 2.0 * bound, || {
            format!("{pair}: u_{k} signs differ although its largest entry is unambiguous")
        })?;
    }
    Ok(())
}

/// Two backends agree on the eigendecomposition of a symmetric matrix with separated
/// eigenvalues: values within `2·C_BACKWARD·ε·n·‖A‖₂`, vectors up to sign within
/// `C_AGREE·ε·n·‖A‖₂ / gap_k` (Davis–Kahan), and without the sign flip where the largest
/// entry is unambiguous.
///
/// # Errors
/// A message naming both backends and the pair that disagrees.
pub fn eigh_agree(first: Linalg<'_>, second: Linalg<'_>, case: &SymmetricMatrix) -> CheckResult {
    let n = case.a.nrows();
    let (x, y) = (
        call(first, "eigh", first.eigh(&case.a))?,
        call(second, "eigh", second.eigh(&case.a))?,
    );
    let pair = format!("{} vs {}", first.name(), second.name());
    let unit = EPS * size(n, n) * case.norm2();
    let (k, dl) = worst_difference(&x.values, &y.values);
    ensure(dl <= 2.0 * C_BACKWARD * unit, || {
        format!(
            "{pair}: λ_{k} differs by {dl:.3e} > {:.3e}",
            2.0 * C_BACKWARD * unit
        )
    })?;
    for k in 0..n {
        let bound = C_AGREE * unit / case.gap(k);
        let (d, flip) = distance_up_to_sign(x.vectors.col(k), y.vectors.col(k));
        ensure(d <= bound, || {
            format!(
                "{pair}: eigenvector {k} differs by {d:.3e} > C·ε·n·‖A‖/gap = {bound:.3e} (n = {n}, gap {:.3e})",
                case.gap(k)
            )
        })?;
        ensure(
            !flip || pivot_margin(x.vectors.col(k)) <= 2.0 * bound,
            || {
                format!(
                    "{pair}: eigenvector {k} signs differ although its largest entry is unambiguous"
                )
            },
        )?;
    }
    Ok(())
}

/// `min(‖x − y‖, ‖x + y‖)` and whether the minimum needed the flip.
fn distance_up_to_sign(x: &[f64], y: &[f64]) -> (f64, bool) {
    let same = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let flip = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a + b).powi(2))
        .sum::<f64>()
        .sqrt();
    if same <= flip {
        (same, false)
    } else {
        (flip, true)
    }
}

/// The gap between the largest and second-largest magnitudes in `v`.
fn pivot_margin(v: &[f64]) -> f64 {
    let (mut first, mut second) = (0.0_f64, 0.0_f64);
    for x in v.iter().map(|x| x.abs()) {
        if x > first {
            second = first;
            first = x;
        } else if x > second {
            second = x;
        }
    }
    first - second
}
