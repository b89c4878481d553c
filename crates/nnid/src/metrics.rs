//! Measures of an identification against the truth (for experiments) and the
//! ground-truth-free certificate.

use nnid_linalg::{Mat, dot, norm2};
use nnid_nn_model::{Network, Oracle, OracleError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

/// `n` points uniform in the ball of radius `radius` in R^d, as columns (seeded).
pub fn uniform_ball(d: usize, n: usize, radius: f64, seed: u64) -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut data = Vec::with_capacity(d * n);
    for _ in 0..n {
        let mut x: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let r =
            radius * rng.random::<f64>().powf(1.0 / d as f64) / norm2(&x).max(f64::MIN_POSITIVE);
        x.iter_mut().for_each(|v| *v *= r);
        data.extend(x);
    }
    Mat::from_col_major(d, n, data)
}

/// `n` points `x ~ N(0, s² I)` as columns (seeded).
pub fn gaussian_points(d: usize, n: usize, s: f64, seed: u64) -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data: Vec<f64> = (0..d * n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            s * z
        })
        .collect();
    Mat::from_col_major(d, n, data)
}

/// Relative L2 and relative sup errors of `f̂` against reference values.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FunctionError {
    /// `‖f̂ − f‖₂ / ‖f‖₂` over the points.
    pub rel_l2: f64,
    /// `max |f̂ − f| / max |f|` over the points.
    pub rel_sup: f64,
    /// `max |f̂ − f|`.
    pub abs_sup: f64,
}

/// Compares `net` with reference values `y` at `points`.
pub fn function_error(net: &Network, points: &Mat, y: &[f64]) -> FunctionError {
    let yhat = net.values(points);
    let diff: Vec<f64> = yhat.iter().zip(y).map(|(a, b)| a - b).collect();
    let abs_sup = diff.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let ymax = y.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    FunctionError {
        rel_l2: norm2(&diff) / norm2(y).max(f64::MIN_POSITIVE),
        rel_sup: abs_sup / ymax.max(f64::MIN_POSITIVE),
        abs_sup,
    }
}

/// Errors of recovered weight vectors against true ones, up to sign and permutation.
#[derive(Clone, Debug, Serialize)]
pub struct WeightMatch {
    /// For each true vector, `min ‖ŵ ∓ w‖` over the recovered vectors matched to it
    /// (unit-normalised), or `None` when nothing was recovered for it.
    pub errors: Vec<Option<f64>>,
    /// How many true vectors have a match within the threshold.
    pub found: usize,
    /// The threshold used for `found`.
    pub threshold: f64,
    /// Largest error among matched vectors (∞ if any is missing).
    pub max_error: f64,
}

/// Matches the columns of `recovered` to the columns of `truth` up to sign, greedily by
/// decreasing `|cos|` (each used once), and reports `min ‖ŵ ∓ w‖` per true vector.
pub fn match_weights(truth: &Mat, recovered: &Mat, threshold: f64) -> WeightMatch {
    let t: Vec<Vec<f64>> = truth.columns().map(unit).collect();
    let r: Vec<Vec<f64>> = recovered.columns().map(unit).collect();
    let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(t.len() * r.len());
    for (i, ti) in t.iter().enumerate() {
        for (j, rj) in r.iter().enumerate() {
            pairs.push((dot(ti, rj).abs(), i, j));
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut errors = vec![None; t.len()];
    let mut used = vec![false; r.len()];
    for (_, i, j) in pairs {
        if errors[i].is_none() && !used[j] {
            used[j] = true;
            errors[i] = Some(sign_free_distance(&t[i], &r[j]));
        }
    }
    let found = errors
        .iter()
        .filter(|e| e.is_some_and(|e| e <= threshold))
        .count();
    let max_error = errors
        .iter()
        .map(|e| e.unwrap_or(f64::INFINITY))
        .fold(0.0, f64::max);
    WeightMatch {
        errors,
        found,
        threshold,
        max_error,
    }
}

/// `c / ‖c‖`.
fn unit(c: &[f64]) -> Vec<f64> {
    let n = norm2(c).max(f64::MIN_POSITIVE);
    c.iter().map(|v| v / n).collect()
}

/// How a first-layer/entangled split of rank-one candidates (paper step 4) compares with the
/// truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LabelAccuracy {
    /// Candidates labelled.
    pub candidates: usize,
    /// Candidates labelled as the kind of their nearest true weight.
    pub correct: usize,
    /// Candidates whose nearest true weight is an entangled weight v_l.
    pub entangled: usize,
    /// Of those, the ones labelled entangled.
    pub entangled_correct: usize,
}

/// Scores a split of the columns of `candidates` against the truth: a candidate's true kind
/// is that of its nearest true weight up to sign (largest `|cos|` over the columns of the
/// first-layer weights `a` and the entangled weights `v`; a tie goes to `a`). The candidates
/// listed in `first_layer` are labelled a_i, all others v_l.
pub fn label_accuracy(a: &Mat, v: &Mat, candidates: &Mat, first_layer: &[usize]) -> LabelAccuracy {
    let best = |truth: &Mat, w: &[f64]| -> f64 {
        truth
            .columns()
            .map(|t| dot(&unit(t), w).abs())
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let mut acc = LabelAccuracy {
        candidates: candidates.ncols(),
        correct: 0,
        entangled: 0,
        entangled_correct: 0,
    };
    for (k, w) in candidates.columns().enumerate() {
        let w = unit(w);
        let truly_entangled = best(v, &w) > best(a, &w);
        let labelled_entangled = !first_layer.contains(&k);
        if truly_entangled == labelled_entangled {
            acc.correct += 1;
        }
        if truly_entangled {
            acc.entangled += 1;
            acc.entangled_correct += usize::from(labelled_entangled);
        }
    }
    acc
}

/// `min(‖u − w‖, ‖u + w‖)`.
pub fn sign_free_distance(u: &[f64], w: &[f64]) -> f64 {
    let minus: f64 = u.iter().zip(w).map(|(a, b)| (a - b) * (a - b)).sum();
    let plus: f64 = u.iter().zip(w).map(|(a, b)| (a + b) * (a + b)).sum();
    minus.min(plus).sqrt()
}

/// The ground-truth-free certificate (paper-spec §10): the relative error of `f̂` on fresh
/// validation queries.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Certificate {
    /// Relative L2 error on the validation queries.
    pub validation_rel_l2: f64,
    /// The acceptance threshold.
    pub threshold: f64,
    /// Number of validation queries (counted in the query total).
    pub points: usize,
    /// Whether the identification is certified.
    pub certified: bool,
}

/// Queries `oracle` at `n` fresh points `x ~ N(0, s² I)` and compares with `net`.
///
/// # Errors
/// Whatever the oracle reports.
pub fn certify(
    oracle: &dyn Oracle,
    net: &Network,
    n: usize,
    s: f64,
    threshold: f64,
    seed: u64,
) -> Result<Certificate, OracleError> {
    let points = gaussian_points(oracle.input_dim(), n, s, seed);
    let y = oracle.query(&points)?;
    let err = function_error(net, &points, &y);
    Ok(Certificate {
        validation_rel_l2: err.rel_l2,
        threshold,
        points: n,
        certified: err.rel_l2 < threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_scored_by_the_nearest_true_weight() {
        // a = e1, e2; v ∝ e1 + e2 + e3 (in R^3). Candidates: −e2, v, e1 (signs do not matter).
        let a = Mat::from_columns(3, &[vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]]);
        let v = Mat::from_columns(3, &[vec![1.0, 1.0, 1.0]]);
        let s = 1.0 / 3f64.sqrt();
        let c = Mat::from_columns(
            3,
            &[vec![0.0, -1.0, 0.0], vec![s, s, s], vec![1.0, 0.0, 0.01]],
        );
        let right = label_accuracy(&a, &v, &c, &[0, 2]);
        assert_eq!(
            right,
            LabelAccuracy {
                candidates: 3,
                correct: 3,
                entangled: 1,
                entangled_correct: 1
            }
        );
        let wrong = label_accuracy(&a, &v, &c, &[0, 1]);
        assert_eq!((wrong.correct, wrong.entangled_correct), (1, 0));
    }
}
