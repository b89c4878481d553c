//! The second hidden width m1 from the rank condition (issue 10: unknown widths).
//!
//! With the first layer known, the quotients `∇_u f(x_k) / g'(u_k + θ)` lie in span(B), of
//! dimension m1, at the true θ ([`super::theta_fit`]). For a trial width m the θ fit can drive
//! the rank misfit to the finite-difference level (≈ 1e-9) exactly when m ≥ m1: below m1 no θ
//! puts K > m generic quotients into an m-dimensional space, and the misfit stays of order
//! 1e-2 or more. So m1 is the smallest m whose θ fit reaches `theta_accept`. The search
//! doubles m (1, 2, 4, …, capped at m0 − 1) until the condition holds, then bisects; the
//! gradient points are shared, and queried only when a trial width needs more of them
//! ([`SecondLayerConfig::gradient_points`]). A width at which the misfit is neither at the
//! noise level nor clearly above it (less than [`MIN_GAP`] times the decided width's misfit)
//! makes the decision an error, never a guess.

use super::SecondLayerConfig;
use super::theta_fit::{RankData, fit_theta};
use super::ugrad;
use crate::FitError;
use crate::error::check_finite;
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::{Activation, Oracle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The smallest rejected width's misfit must be at least this multiple of the decided
/// width's: a smaller jump means the rank condition does not clearly fail below m1 (a
/// b_l nearly in the span of the others), and m1 is not decided. Measured on exact oracles:
/// jumps of 10⁵ and more (e.g. 6.9e-5 at m = 2 against 2.5e-10 at m1 = 3).
pub const MIN_GAP: f64 = 1e3;

/// The evidence for m1: every trial width with its rank misfit.
#[derive(Clone, Debug, PartialEq)]
pub struct WidthEvidence {
    /// The decided width.
    pub m1: usize,
    /// (trial width, θ-fit rank misfit), in the order tried.
    pub trials: Vec<(usize, f64)>,
    /// The misfit tolerance that accepts a width.
    pub accept: f64,
    /// Gradient points queried.
    pub gradient_points: usize,
    /// Oracle queries ([`SecondLayerConfig::gradient_point_queries`] per gradient point).
    pub queries: u64,
}

/// Shared, growing u-gradient data of the search.
struct Gradients<'a> {
    oracle: &'a dyn Oracle,
    a: &'a Mat,
    p: Mat,
    cfg: &'a SecondLayerConfig,
    g: Activation,
    rng: ChaCha8Rng,
    u: Vec<Vec<f64>>,
    grad: Vec<Vec<f64>>,
}

impl Gradients<'_> {
    /// Makes sure at least `k` gradient points are known.
    fn ensure(&mut self, k: usize) -> Result<(), FitError> {
        let have = self.u.len();
        if k <= have {
            return Ok(());
        }
        let d = self.a.nrows();
        let x = ugrad::gaussian_points(
            &mut self.rng,
            d,
            k - have,
            self.cfg.point_scale * self.g.width(),
        );
        let difference = self.cfg.u_difference(self.g);
        let ug = ugrad::u_gradients(self.oracle, self.a, &self.p, x, difference)?;
        self.u.extend(ug.u.columns().map(<[f64]>::to_vec));
        self.grad.extend(ug.grad.columns().map(<[f64]>::to_vec));
        Ok(())
    }

    /// The first `k` points as rank data for width `m`.
    fn data(&self, k: usize, m: usize) -> RankData {
        let m0 = self.a.ncols();
        RankData::new(
            &Mat::from_columns(m0, &self.u[..k]),
            &Mat::from_columns(m0, &self.grad[..k]),
            self.g,
            m,
        )
    }
}

/// Decides m1 for the first layer `a` (d×m0, full column rank) from queries of `oracle`
/// (module docs). `theta_hint` starts every θ fit (route S's rough θ̂).
///
/// # Errors
/// [`FitError::Shape`] when m0 < 2 (no m1 < m0 to decide) or the hint's length differs;
/// [`FitError::RankDeficientFirstLayer`]; [`FitError::WidthUndecided`] when no trial width
/// up to m0 − 1 meets the rank condition, or a rejected one is too close to the tolerance;
/// oracle and linear-algebra failures.
pub fn discover_m1(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    a: &Mat,
    g: Activation,
    theta_hint: Option<&[f64]>,
    cfg: &SecondLayerConfig,
    seed: u64,
) -> Result<WidthEvidence, FitError> {
    cfg.validate()?;
    let m0 = a.ncols();
    if m0 < 2 {
        return Err(FitError::Shape {
            what: "m1 discovery: m0 must be at least 2 (route S needs m1 < m0)",
            expected: 2,
            got: m0,
        });
    }
    check_finite("m1 discovery: A", a.as_slice())?;
    if let Some(t) = theta_hint {
        crate::error::check_size("m1 discovery: length of the θ hint (m0)", m0, t.len())?;
    }
    let (p, _) = ugrad::u_pseudo_inverse(la, a)?;
    let mut grads = Gradients {
        oracle,
        a,
        p,
        cfg,
        g,
        rng: ChaCha8Rng::seed_from_u64(seed),
        u: Vec::new(),
        grad: Vec::new(),
    };
    let settings = cfg.theta_fit_settings(g);
    let mut fit_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x3A1);
    let mut trials = Vec::new();
    let mut misfit = |m: usize, trials: &mut Vec<(usize, f64)>| -> Result<f64, FitError> {
        let k = cfg.gradient_points(m0, m);
        grads.ensure(k)?;
        let fit = fit_theta(la, &grads.data(k, m), theta_hint, &settings, &mut fit_rng)?;
        trials.push((m, fit.misfit));
        Ok(fit.misfit)
    };
    let holds = |v: f64| v <= cfg.theta_accept;
    let found = smallest_accepted(m0 - 1, |m| Ok(holds(misfit(m, &mut trials)?)))?;
    let Some(hi) = found else {
        return Err(undecided(
            &trials,
            cfg.theta_accept,
            "no width up to m0 − 1 meets the rank condition (m1 ≥ m0, or the first layer is not exact)",
        ));
    };
    let closest_reject = trials
        .iter()
        .filter(|(_, v)| !holds(*v))
        .map(|&(_, v)| v)
        .fold(f64::INFINITY, f64::min);
    let decided = trials
        .iter()
        .find(|(m, _)| *m == hi)
        .map_or(f64::NAN, |&(_, v)| v);
    if closest_reject < MIN_GAP * decided.max(f64::MIN_POSITIVE) {
        return Err(undecided(
            &trials,
            cfg.theta_accept,
            "the misfit does not jump at the decided width",
        ));
    }
    let k = grads.u.len();
    Ok(WidthEvidence {
        m1: hi,
        trials,
        accept: cfg.theta_accept,
        gradient_points: k,
        queries: (cfg.gradient_point_queries(m0) * k) as u64,
    })
}

/// The smallest width in 1..=`max` that `accepts`, for a condition that holds from some
/// width on: doubling (1, 2, 4, …, capped at `max`) until it holds, then bisection between
/// the largest rejected and the first accepted width. `None` when `max` is rejected.
///
/// # Errors
/// The first error of `accepts`.
fn smallest_accepted(
    max: usize,
    mut accepts: impl FnMut(usize) -> Result<bool, FitError>,
) -> Result<Option<usize>, FitError> {
    let (mut lo, mut hi) = (0, None);
    let mut m = 1;
    while m <= max {
        if accepts(m)? {
            hi = Some(m);
            break;
        }
        lo = m;
        m = if m == max { max + 1 } else { (2 * m).min(max) };
    }
    let Some(mut hi) = hi else {
        return Ok(None);
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if accepts(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Some(hi))
}

fn undecided(trials: &[(usize, f64)], accept: f64, why: &str) -> FitError {
    let tried: Vec<String> = trials
        .iter()
        .map(|(m, v)| format!("m1 = {m}: {v:.1e}"))
        .collect();
    FitError::WidthUndecided {
        detail: format!(
            "{why}; rank misfit per trial width (tolerance {accept:.0e}): {}",
            tried.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::BackendKind;
    use nnid_nn_model::NetworkOracle;
    use nnid_nn_model::teacher::TeacherConfig;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// On an exact oracle with the exact first layer, the rank condition decides m1
        /// exactly: the true width's θ fit reaches the FD level (≈ 1e-9 ≪ 1e-6), smaller
        /// widths stay [`MIN_GAP`] times above it (module docs).
        #[test]
        fn the_rank_condition_finds_m1(m1 in 1usize..6, extra in 1usize..5, seed in 0u64..1000, sigmoid in any::<bool>()) {
            let m0 = m1 + extra;
            let act = if sigmoid { Activation::Sigmoid } else { Activation::Tanh };
            let net = TeacherConfig::new(m0 + 3, m0, m1).activation(act).seed(seed).generate().unwrap();
            let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
            let oracle = NetworkOracle::new(net.clone());
            let cfg = SecondLayerConfig::default();
            let ev = discover_m1(la, &oracle, net.a(), act, Some(net.theta()), &cfg, seed).unwrap();
            prop_assert_eq!(ev.m1, m1, "trials {:?}", ev.trials);
            prop_assert_eq!(ev.queries, oracle.queries());
        }
    }

    proptest! {
        /// The search returns the threshold of any monotone condition, testing each width
        /// at most once.
        #[test]
        fn smallest_accepted_finds_the_threshold(max in 1usize..70, t in 1usize..80) {
            let mut tried = Vec::new();
            let found = smallest_accepted(max, |m| {
                tried.push(m);
                Ok(m >= t)
            })
            .unwrap();
            prop_assert_eq!(found, (t <= max).then_some(t));
            let mut unique = tried.clone();
            unique.sort_unstable();
            unique.dedup();
            prop_assert_eq!(unique.len(), tried.len(), "{:?}", tried);
        }
    }

    #[test]
    fn m0_of_one_is_refused() {
        let net = TeacherConfig::new(4, 1, 1).seed(1).generate().unwrap();
        let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
        let oracle = NetworkOracle::new(net.clone());
        let err = discover_m1(
            la,
            &oracle,
            net.a(),
            Activation::Tanh,
            None,
            &SecondLayerConfig::default(),
            1,
        )
        .unwrap_err();
        assert!(matches!(err, FitError::Shape { .. }), "{err}");
    }
}
