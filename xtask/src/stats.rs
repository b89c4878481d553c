//! Order statistics and number formatting for the tables.

/// The median (NaN for no data); NaNs are ignored.
pub(crate) fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// The q-quantile by linear interpolation between order statistics (NaN for no data).
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Smallest and largest (NaN, NaN for no data).
pub(crate) fn min_max(values: &[f64]) -> (f64, f64) {
    let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    (
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// A number in scientific notation with 2 significant digits (`1.2e-5`), `—` for NaN.
pub(crate) fn sci(x: f64) -> String {
    if x.is_nan() {
        "—".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        }
    } else if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.1e}")
    }
}

/// A duration in seconds with a unit that keeps 3 significant digits.
pub(crate) fn secs(x: f64) -> String {
    if x.is_nan() {
        "—".into()
    } else if x < 1e-3 {
        format!("{:.0} µs", x * 1e6)
    } else if x < 1.0 {
        format!("{:.1} ms", x * 1e3)
    } else if x < 100.0 {
        format!("{x:.2} s")
    } else {
        format!("{x:.0} s")
    }
}

/// A count with thousands separators (`12,345`).
pub(crate) fn count(x: f64) -> String {
    if x.is_nan() {
        return "—".into();
    }
    let n = x.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

/// `k/n (p %)`.
pub(crate) fn rate(k: usize, n: usize) -> String {
    if n == 0 {
        "—".into()
    } else {
        format!("{k}/{n} ({:.0} %)", 100.0 * k as f64 / n as f64)
    }
}

/// A percentage with no decimals, `—` for NaN.
pub(crate) fn pct(x: f64) -> String {
    if x.is_nan() {
        "—".into()
    } else {
        format!("{:.0} %", 100.0 * x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        assert!((median(&[3.0, 1.0, 2.0]) - 2.0).abs() < 1e-15);
        assert!((median(&[4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < 1e-15);
        assert!((quantile(&[0.0, 10.0], 0.25) - 2.5).abs() < 1e-15);
        assert!(median(&[]).is_nan());
        assert!((median(&[f64::NAN, 1.0]) - 1.0).abs() < 1e-15);
        assert_eq!(min_max(&[2.0, -1.0, 5.0]), (-1.0, 5.0));
    }

    #[test]
    fn numbers_format() {
        assert_eq!(sci(1.234e-5), "1.2e-5");
        assert_eq!(sci(f64::NAN), "—");
        assert_eq!(sci(0.0), "0");
        assert_eq!(secs(0.0123), "12.3 ms");
        assert_eq!(secs(2.5), "2.50 s");
        assert_eq!(secs(5e-5), "50 µs");
        assert_eq!(count(1_234_567.0), "1,234,567");
        assert_eq!(count(999.0), "999");
        assert_eq!(rate(3, 4), "3/4 (75 %)");
        assert_eq!(rate(0, 0), "—");
        assert_eq!(pct(0.5), "50 %");
    }
}
