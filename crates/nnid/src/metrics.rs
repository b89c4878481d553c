//! Measures of an identification against the truth (for experiments) and the
//! ground-truth-free certificate.

use crate::noise::{NoiseFloor, noise_threshold};
use nnid_linalg::{Mat, dot, norm2};
use nnid_nn_model::{Activation, Network, Oracle, OracleError};
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

/// Compares `net` with reference values `y` at `points` (`net` evaluated by
/// [`Network::values_fast`]: the same values to rounding, by matrix products on large batches).
pub fn function_error(net: &Network, points: &Mat, y: &[f64]) -> FunctionError {
    let yhat = net.values_fast(points);
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

/// The paper's recovery criterion (paper-spec §4): a true weight counts as found when some
/// recovered vector is within this distance of it up to sign.
pub const RECOVERY_THRESHOLD: f64 = 0.05;

/// Matches the columns of `recovered` to the columns of `truth` up to sign, greedily by
/// decreasing `|cos|` (each used once), and reports `min ‖ŵ ∓ w‖` per true vector.
pub fn match_weights(truth: &Mat, recovered: &Mat, threshold: f64) -> WeightMatch {
    let t = unit_columns(truth);
    let r = unit_columns(recovered);
    let pairing = pair_up_to_sign(&t, &r);
    let errors: Vec<Option<f64>> = pairing
        .iter()
        .zip(&t)
        .map(|(j, ti)| j.map(|j| sign_free_distance(ti, &r[j])))
        .collect();
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

/// Indices of the columns of `truth` that no column of `recovered` (both unit-normalised)
/// comes within `threshold` of up to sign. Unlike [`match_weights`] this is not one-to-one:
/// it is the paper's criterion "some output û has min(‖û − w‖, ‖û + w‖) ≤ threshold".
pub fn missing_weights(truth: &Mat, recovered: &Mat, threshold: f64) -> Vec<usize> {
    let r = unit_columns(recovered);
    unit_columns(truth)
        .iter()
        .enumerate()
        .filter(|(_, w)| r.iter().all(|u| sign_free_distance(u, w) > threshold))
        .map(|(i, _)| i)
        .collect()
}

/// The columns of `m`, each scaled to unit norm (zero columns stay zero).
fn unit_columns(m: &Mat) -> Vec<Vec<f64>> {
    m.columns()
        .map(|c| {
            let n = norm2(c).max(f64::MIN_POSITIVE);
            c.iter().map(|v| v / n).collect()
        })
        .collect()
}

/// Pairs unit vectors `t` with unit vectors `r` greedily by decreasing `|cos|`.
fn pair_up_to_sign(t: &[Vec<f64>], r: &[Vec<f64>]) -> Vec<Option<usize>> {
    greedy_pairing(t.len(), r.len(), |i, j| dot(&t[i], &r[j]).abs())
}

/// Pairs each of `n` true items with at most one of `m` recovered items, greedily by
/// decreasing `score(i, j)` (ties in index order), each recovered item used at most once.
/// Every true item is paired when `n ≤ m`.
pub fn greedy_pairing(
    n: usize,
    m: usize,
    score: impl Fn(usize, usize) -> f64,
) -> Vec<Option<usize>> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(n * m);
    for i in 0..n {
        for j in 0..m {
            pairs.push((score(i, j), i, j));
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut pairing = vec![None; n];
    let mut used = vec![false; m];
    for (_, i, j) in pairs {
        if pairing[i].is_none() && !used[j] {
            used[j] = true;
            pairing[i] = Some(j);
        }
    }
    pairing
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
    let (ua, uv) = (unit_columns(a), unit_columns(v));
    let best = |truth: &[Vec<f64>], w: &[f64]| -> f64 {
        truth
            .iter()
            .map(|t| dot(t, w).abs())
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let mut acc = LabelAccuracy {
        candidates: candidates.ncols(),
        correct: 0,
        entangled: 0,
        entangled_correct: 0,
    };
    for (k, w) in unit_columns(candidates).iter().enumerate() {
        let truly_entangled = best(&uv, w) > best(&ua, w);
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

/// `‖u − w‖`.
fn distance(u: &[f64], w: &[f64]) -> f64 {
    u.iter()
        .zip(w)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt()
}

/// Errors of the second layer and the shifts of an identified network against the truth,
/// after matching neurons up to the model's symmetries (paper-spec §1).
///
/// First-layer neurons are paired as in [`match_weights`] (greedily by `|cos|`); an
/// identified â_j pointing against its true a_i is taken as the flipped copy
/// `(−a_i, −θ_i, −row i of B)`. The truth is then moved to the identified network's gauge:
/// rows of B and entries of θ permuted and sign-flipped, and each τ_l shifted by
/// `c · Σ_{flipped i} B_il` where `g(−t) = c − g(t)` (c = 0 for tanh; c = 1 for the logistic
/// sigmoid, whose flip is a symmetry only with this shift, so τ is well defined and compared
/// after it). Second-layer neurons are paired greedily by smallest `‖b̂ − b_l‖`, without sign
/// freedom: the sign of b_l is not a symmetry. Errors are of the raw parameters (nothing is
/// renormalised; the model's a_i and b_l have unit norm).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParameterErrors {
    /// For each true first-layer neuron i, the identified neuron paired with it.
    pub first_layer_pairing: Vec<usize>,
    /// For each true first-layer neuron i, whether its identified neuron is the flipped copy.
    pub first_layer_flipped: Vec<bool>,
    /// For each true second-layer neuron l, the identified neuron paired with it.
    pub second_layer_pairing: Vec<usize>,
    /// For each true second-layer neuron l, `‖b̂ − b_l‖` with b_l in the identified gauge.
    pub second_layer_errors: Vec<f64>,
    /// The largest of `second_layer_errors`.
    pub second_layer_max_error: f64,
    /// `max_i |θ̂ − (±θ_i)|` over the paired first-layer neurons.
    pub theta_max_error: f64,
    /// `max_l |τ̂ − τ_l'|` over the paired second-layer neurons, τ' in the identified gauge.
    pub tau_max_error: f64,
}

/// [`ParameterErrors`] of `net` against `truth`; `None` when their shapes or activations
/// differ (then the neurons cannot all be paired and the gauge is undefined).
pub fn parameter_errors(truth: &Network, net: &Network) -> Option<ParameterErrors> {
    let same = truth.a().shape() == net.a().shape()
        && truth.b().shape() == net.b().shape()
        && (truth.g(), truth.h()) == (net.g(), net.h());
    if !same {
        return None;
    }
    let (pairing, flipped) = first_layer_gauge(truth.a(), net.a())?;
    let sign = |i: usize| if flipped[i] { -1.0 } else { 1.0 };
    let theta_max_error = max_of(
        pairing
            .iter()
            .enumerate()
            .map(|(i, &j)| (net.theta()[j] - sign(i) * truth.theta()[i]).abs()),
    );
    let (b_true, tau_true) = second_layer_in_gauge(truth, &pairing, &flipped);
    let b_hat: Vec<&[f64]> = net.b().columns().collect();
    let dist = |l: usize, k: usize| distance(b_hat[k], &b_true[l]);
    let second: Vec<usize> = greedy_pairing(b_true.len(), b_hat.len(), |l, k| -dist(l, k))
        .into_iter()
        .collect::<Option<_>>()?;
    let second_layer_errors: Vec<f64> = second
        .iter()
        .enumerate()
        .map(|(l, &k)| dist(l, k))
        .collect();
    let tau_max_error = max_of(
        second
            .iter()
            .zip(&tau_true)
            .map(|(&k, t)| (net.tau()[k] - t).abs()),
    );
    Some(ParameterErrors {
        second_layer_max_error: max_of(second_layer_errors.iter().copied()),
        first_layer_pairing: pairing,
        first_layer_flipped: flipped,
        second_layer_pairing: second,
        second_layer_errors,
        theta_max_error,
        tau_max_error,
    })
}

/// The largest value (0 for none).
fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, f64::max)
}

/// Pairs the true first-layer neurons with identified ones (as [`match_weights`] does) and
/// says which are flipped; `None` when some true neuron stays unpaired.
fn first_layer_gauge(truth: &Mat, recovered: &Mat) -> Option<(Vec<usize>, Vec<bool>)> {
    let t = unit_columns(truth);
    let r = unit_columns(recovered);
    let pairing: Vec<usize> = pair_up_to_sign(&t, &r).into_iter().collect::<Option<_>>()?;
    let flipped = pairing
        .iter()
        .zip(&t)
        .map(|(&j, ti)| dot(ti, &r[j]) < 0.0)
        .collect();
    Some((pairing, flipped))
}

/// The true b_l (in the identified network's row order and signs) and τ_l (shifted for the
/// flipped neurons, see [`ParameterErrors`]).
fn second_layer_in_gauge(
    truth: &Network,
    pairing: &[usize],
    flipped: &[bool],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let c = reflection_constant(truth.g());
    truth
        .b()
        .columns()
        .zip(truth.tau())
        .map(|(bl, &tau)| {
            let mut col = vec![0.0; bl.len()];
            let mut tau = tau;
            for (i, (&j, &flip)) in pairing.iter().zip(flipped).enumerate() {
                col[j] = if flip { -bl[i] } else { bl[i] };
                if flip {
                    tau += c * bl[i];
                }
            }
            (col, tau)
        })
        .unzip()
}

/// The constant c with `g(−t) = c − g(t)`.
fn reflection_constant(g: Activation) -> f64 {
    match g {
        Activation::Tanh => 0.0,
        Activation::Sigmoid => 1.0,
    }
}

/// The ground-truth-free certificate (paper-spec §10): the relative error of `f̂` on fresh
/// validation queries, against a threshold that respects the oracle's noise floor.
///
/// The rule: certified when `validation_rel_l2 < threshold` with
/// `threshold = max(base_threshold, min(NOISE_FLOOR_FACTOR × relative_noise_floor,
/// MAX_CERTIFICATE_THRESHOLD))` ([`NOISE_FLOOR_FACTOR`](crate::noise::NOISE_FLOOR_FACTOR) = 3 and the cap 0.1 are justified
/// there). On an exact float64 oracle the floor is at rounding level (≈ 1e-16), so the
/// threshold is the base 1e-9; on a float32 or noisy oracle it is 3 × the floor, and `accuracy`
/// never claims more than the floor.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Certificate {
    /// Relative L2 error on the validation queries (the residual).
    pub validation_rel_l2: f64,
    /// The acceptance threshold used.
    pub threshold: f64,
    /// The threshold for exact oracles (the threshold unless the noise floor is higher).
    pub base_threshold: f64,
    /// The oracle's noise floor in the units of f, when it was estimated.
    pub noise_floor: Option<f64>,
    /// The noise floor relative to the RMS of the validation answers.
    pub relative_noise_floor: Option<f64>,
    /// Whether the noise floor set the threshold (`NOISE_FLOOR_FACTOR × floor > base`).
    pub noise_limited: bool,
    /// The relative L2 accuracy the validation shows: the residual, but never less than the
    /// relative noise floor (answers that carry noise ρ cannot show agreement better than ρ).
    pub accuracy: f64,
    /// Number of validation queries (counted in the query total).
    pub points: usize,
    /// Whether the identification is certified.
    pub certified: bool,
}

impl Certificate {
    /// Compares `net` with the oracle's answers `y` at `points` under the rule above;
    /// `noise` is the oracle's noise floor, when estimated.
    pub fn evaluate(
        net: &Network,
        points: &Mat,
        y: &[f64],
        base_threshold: f64,
        noise: Option<&NoiseFloor>,
    ) -> Self {
        let residual = function_error(net, points, y).rel_l2;
        let rms = norm2(y) / (y.len().max(1) as f64).sqrt();
        let relative = noise.map(|nf| nf.absolute / rms.max(f64::MIN_POSITIVE));
        let threshold = noise_threshold(base_threshold, relative);
        Self {
            validation_rel_l2: residual,
            threshold,
            base_threshold,
            noise_floor: noise.map(|nf| nf.absolute),
            relative_noise_floor: relative,
            noise_limited: threshold > base_threshold,
            accuracy: residual.max(relative.unwrap_or(0.0)),
            points: y.len(),
            certified: residual < threshold,
        }
    }
}

/// Queries `oracle` at `n` fresh points `x ~ N(0, s² I)` and compares with `net`
/// ([`Certificate::evaluate`]).
///
/// # Errors
/// Whatever the oracle reports.
pub fn certify(
    oracle: &dyn Oracle,
    net: &Network,
    n: usize,
    s: f64,
    base_threshold: f64,
    noise: Option<&NoiseFloor>,
    seed: u64,
) -> Result<Certificate, OracleError> {
    let points = gaussian_points(oracle.input_dim(), n, s, seed);
    let y = oracle.query(&points)?;
    Ok(Certificate::evaluate(
        net,
        &points,
        &y,
        base_threshold,
        noise,
    ))
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
    use crate::{RunOptions, compare_with_truth};
    use nnid_nn_model::teacher::TeacherConfig;

    /// Identified neuron `PERM[i]` is true first-layer neuron i; `PERM2[l]` likewise for the
    /// second layer.
    const PERM: [usize; 5] = [2, 0, 4, 1, 3];
    const FLIP: [usize; 2] = [0, 3];
    const PERM2: [usize; 3] = [1, 2, 0];

    fn teacher(act: Activation) -> Network {
        TeacherConfig::new(8, 5, 3)
            .activation(act)
            .seed(11)
            .generate()
            .unwrap()
    }

    /// The copy of `net` with neurons permuted by [`PERM`] and [`PERM2`] and the first-layer
    /// neurons in [`FLIP`] flipped, τ absorbing g's reflection constant: the same function
    /// (checked separately, so this construction is not taken on trust).
    fn symmetric_copy(net: &Network) -> Network {
        let (d, m0, m1) = (net.input_dim(), net.m0(), net.m1());
        let sign = |i: usize| if FLIP.contains(&i) { -1.0 } else { 1.0 };
        let mut a = vec![Vec::new(); m0];
        let mut theta = vec![0.0; m0];
        for i in 0..m0 {
            a[PERM[i]] = net.a().col(i).iter().map(|v| sign(i) * v).collect();
            theta[PERM[i]] = sign(i) * net.theta()[i];
        }
        let mut b = vec![vec![0.0; m0]; m1];
        let mut tau = vec![0.0; m1];
        for (l, &k) in PERM2.iter().enumerate() {
            tau[k] = net.tau()[l];
            for i in 0..m0 {
                b[k][PERM[i]] = sign(i) * net.b()[(i, l)];
                if sign(i) < 0.0 {
                    tau[k] += reflection_constant(net.g()) * net.b()[(i, l)];
                }
            }
        }
        let (a, b) = (Mat::from_columns(d, &a), Mat::from_columns(m0, &b));
        Network::new(a, theta, b, tau, net.g(), net.h()).unwrap()
    }

    /// A copy of `net` with first-layer neuron `j` turned by 0.2 rad towards a direction
    /// orthogonal to it: `‖a_j' − a_j‖ = 2 sin 0.1 ≈ 0.2 > 0.05`.
    fn turn_neuron(net: &Network, j: usize) -> Network {
        let mut a = net.a().clone();
        let aj = a.col(j).to_vec();
        let mut e: Vec<f64> = (0..aj.len())
            .map(|k| if k == 0 { 1.0 } else { 0.0 })
            .collect();
        let proj = dot(&e, &aj);
        e.iter_mut().zip(&aj).for_each(|(v, w)| *v -= proj * w);
        nnid_linalg::normalize(&mut e);
        for (k, v) in a.col_mut(j).iter_mut().enumerate() {
            *v = 0.2_f64.cos() * aj[k] + 0.2_f64.sin() * e[k];
        }
        let (theta, b, tau) = (net.theta().to_vec(), net.b().clone(), net.tau().to_vec());
        Network::new(a, theta, b, tau, net.g(), net.h()).unwrap()
    }

    // The copy is an exact symmetry: the same sums in another order, so every error is
    // rounding (≈ 1e-16 per operation); 1e-12 leaves a wide margin.
    const EXACT: f64 = 1e-12;

    #[test]
    fn a_permuted_sign_flipped_copy_matches_exactly() {
        for act in Activation::ALL {
            let truth = teacher(act);
            let copy = symmetric_copy(&truth);
            let points = uniform_ball(8, 200, 2.0, 5);
            let err = function_error(&copy, &points, &truth.values(&points));
            assert!(err.abs_sup < EXACT, "{act}: not a symmetry: {err:?}");
            let p = parameter_errors(&truth, &copy).unwrap();
            assert_eq!(p.first_layer_pairing, PERM, "{act}");
            let flipped: Vec<bool> = (0..5).map(|i| FLIP.contains(&i)).collect();
            assert_eq!(p.first_layer_flipped, flipped, "{act}");
            assert_eq!(p.second_layer_pairing, PERM2, "{act}");
            let worst = p
                .second_layer_max_error
                .max(p.theta_max_error)
                .max(p.tau_max_error);
            assert!(worst < EXACT, "{act}: {p:?}");
            assert!(missing_weights(truth.a(), copy.a(), RECOVERY_THRESHOLD).is_empty());
        }
    }

    #[test]
    fn without_the_tau_shift_the_sigmoid_flip_shows_in_tau() {
        // The shift is what makes τ comparable after a sigmoid flip: dropping it must show.
        let truth = teacher(Activation::Sigmoid);
        let copy = symmetric_copy(&truth);
        let mut tau = vec![0.0; PERM2.len()];
        for (l, &k) in PERM2.iter().enumerate() {
            tau[k] = truth.tau()[l];
        }
        let (a, theta, b) = (copy.a().clone(), copy.theta().to_vec(), copy.b().clone());
        let unshifted = Network::new(a, theta, b, tau, copy.g(), copy.h()).unwrap();
        let p = parameter_errors(&truth, &unshifted).unwrap();
        assert!(p.tau_max_error > 1e-3, "{p:?}");
    }

    #[test]
    fn a_turned_neuron_is_listed_missing() {
        for act in Activation::ALL {
            let truth = teacher(act);
            let turned = turn_neuron(&symmetric_copy(&truth), PERM[3]);
            let options = RunOptions {
                test_points: 100,
                ..RunOptions::default()
            };
            let cmp = compare_with_truth(&truth, &turned, &options);
            assert_eq!(cmp.missing_first_layer, vec![3], "{act}");
            let p = cmp.parameters.unwrap();
            assert_eq!(p.first_layer_pairing, PERM, "{act}: still paired");
            let worst = p
                .second_layer_max_error
                .max(p.theta_max_error)
                .max(p.tau_max_error);
            assert!(worst < EXACT, "{act}: only a_3 moved: {p:?}");
        }
    }

    #[test]
    fn different_shapes_have_no_parameter_errors() {
        let truth = teacher(Activation::Tanh);
        let other = TeacherConfig::new(8, 4, 3).seed(1).generate().unwrap();
        assert!(parameter_errors(&truth, &other).is_none());
        assert_eq!(
            missing_weights(truth.a(), other.a(), RECOVERY_THRESHOLD).len(),
            5
        );
    }
}
