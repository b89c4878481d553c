//! The second hidden width m1 from route G's fit (unknown widths on noisy oracles, where
//! route S's rank condition is out of reach).
//!
//! With span{a_i} known, m1 is the smallest width m whose multi-start fit certifies on the
//! validation data ([`route_g_fit`]): below m1 no network of the class matches f (measured
//! at (30, 20, 10) on float32 answers: validation errors 5e-2 (tanh) and 4e-4 (sigmoid) at
//! m = 9, against a threshold of 8e-8). Widths are tried in order m = 1, 2, …: a wider
//! network can match f only with neurons that cancel or vanish, which a least-squares fit
//! from random starts rarely finds (measured: (20, 10, 5) tanh on float32 answers did not
//! certify at m = 8 or 10 from 2 starts; the logistic sigmoid, whose extra neurons add a
//! positive function nothing cancels, did not at m = 12, 15, 16, 20 for m1 = 10), so a
//! doubling search would step over m1.
//!
//! Trial fits run [`FitWidthSearch::trial_starts`] starts with a plateau stop (a second scan
//! from [`FitWidthSearch::retry_starts`] new starts when no width certifies). The widths below
//! the first certified one are then fitted again from [`FitWidthSearch::confirm_starts`] new
//! random starts: the decision moves to every one that certifies, and past those that do not
//! while the decided network's second-layer outputs are dependent (it is wider than f). The
//! decision needs the width below it to miss the threshold by [`FitWidthSearch::min_gap`]
//! times, and the decided network's outputs to be independent ([`output_independence`];
//! measured: 0.2 for fits at m1, 1e-8 to 1e-7 for certified fits wider than m1, whose extra
//! neurons cancel): otherwise [`FitError::WidthUndecided`], with every trial, never a guess.

use crate::FitError;
use crate::lm::Plateau;
use crate::route_g::{RouteGConfig, RouteGReport, route_g_fit};
use crate::student::FitData;
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::{Activation, Network};
use std::time::Instant;

/// Settings of [`discover_m1_by_fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct FitWidthSearch {
    /// Starts per trial width. Default 1 (a false negative at m1 is caught by the
    /// confirmation, which then certifies at m1 from more starts).
    pub trial_starts: usize,
    /// New starts per width of the second scan, run when the first finds no width that
    /// certifies (0: none). Default 2 (measured: one start at m1 = 5 missed on 2 of 6
    /// (20, 10, 5) sigmoid teachers at σ = 1e-8 and 1e-6, and a sigmoid network wider than
    /// m1 never certifies, so nothing else catches that).
    pub retry_starts: usize,
    /// Fresh starts (new random draws) of the confirmation of the width below the decided
    /// one. Default `None`: the route's `max_starts` (6), as many as a fit at a known width
    /// gets (measured: a (6, 3, 1) tanh teacher at σ = 1e-8 certified at m1 = 1 only on
    /// its fifth start, and one start per trial decided m1 = 3).
    pub confirm_starts: Option<usize>,
    /// Trial fits stop when their cost falls by less than 1 % over this many accepted
    /// steps. Default 40 (the refinement's plateau: a fit that converges may sit 20 steps
    /// on a slow stretch first; a width below m1 plateaus within tens of steps).
    pub plateau_window: usize,
    /// The rejected width's best validation error must be at least this multiple of the
    /// acceptance threshold. Default 10.
    pub min_gap: f64,
    /// The decided network's second-layer outputs h(b_lᵀg(Aᵀx + θ) + τ_l) on the validation
    /// points must have σ_min/σ_max at least this: a certified network wider than m1
    /// matches f only with neurons that cancel or vanish, i.e. dependent outputs. Default
    /// 1e-3. Measured at the true width over the 24 `auto-widths` runs of
    /// docs/results/noise-widths.md: 0.026–0.034 (logistic sigmoid), 0.18–0.21 (tanh); on
    /// noisy answers the certificate tolerates 3× the floor, so a wider fit can pass with a
    /// neuron that nearly vanishes: 2.2e-4 for a (4, 3, 1) sigmoid teacher at σ = 1e-6, whose
    /// m1 = 1 fits missed from 9 starts (a property-test counterexample; 1e-4 let it through
    /// as m1 = 2).
    pub min_independence: f64,
}

impl Default for FitWidthSearch {
    fn default() -> Self {
        Self {
            trial_starts: 1,
            retry_starts: 2,
            confirm_starts: None,
            plateau_window: 40,
            min_gap: 10.0,
            min_independence: 1e-3,
        }
    }
}

/// One trial width of [`discover_m1_by_fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct FitWidthTrial {
    /// The width m.
    pub m: usize,
    /// Starts run.
    pub starts: usize,
    /// The best start's validation relative error.
    pub validation_error: f64,
    /// Whether it certified (below the acceptance threshold).
    pub certified: bool,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// σ_min/σ_max of the matrix of `net`'s second-layer outputs at `points` (one column per
/// neuron): near 0 when neurons cancel or vanish.
///
/// # Errors
/// An SVD failure.
pub fn output_independence(la: Linalg<'_>, net: &Network, points: &Mat) -> Result<f64, FitError> {
    let columns: Vec<Vec<f64>> = points
        .columns()
        .map(|x| net.forward(x).hz.iter().map(|h| h[0]).collect())
        .collect();
    let outputs = Mat::from_rows(net.m1(), &columns);
    let s = la.svd(&outputs)?.s;
    let (max, min) = (
        s.first().copied().unwrap_or(0.0),
        s.last().copied().unwrap_or(0.0),
    );
    Ok(if max > 0.0 { min / max } else { 0.0 })
}

/// The evidence for m1 from the fit.
#[derive(Clone, Debug, PartialEq)]
pub struct FitWidthEvidence {
    /// The decided width.
    pub m1: usize,
    /// Every trial, in order.
    pub trials: Vec<FitWidthTrial>,
    /// The acceptance threshold (the route's `accept_tol`).
    pub accept_tol: f64,
    /// σ_min/σ_max of the decided network's second-layer outputs on the validation points
    /// (at least [`FitWidthSearch::min_independence`]).
    pub output_independence: f64,
}

/// Added to the route's seed for the confirmation, so that its starts are new draws.
const CONFIRM_SEED: u64 = 0xC0F1;

/// Added to the route's seed for the second scan.
const RETRY_SEED: u64 = 0x2E5C;

struct Trials<'a> {
    la: Linalg<'a>,
    span: &'a Mat,
    g: Activation,
    h: Activation,
    fit: &'a FitData,
    validation: &'a FitData,
    cfg: &'a RouteGConfig,
    search: &'a FitWidthSearch,
    done: Vec<FitWidthTrial>,
    certified: Vec<(usize, RouteGReport)>,
}

impl Trials<'_> {
    /// Fits width `m` with `starts` starts (the random draws of seed `seed_offset` after the
    /// route's); records it and keeps a certified report.
    fn run(&mut self, m: usize, starts: usize, seed_offset: u64) -> Result<bool, FitError> {
        let mut cfg = self.cfg.clone();
        cfg.max_starts = starts;
        cfg.seed = cfg.seed.wrapping_add(seed_offset);
        cfg.fit.lm.plateau = Some(Plateau {
            window: self.search.plateau_window,
            tol: 0.01,
        });
        let t0 = Instant::now();
        let rep = route_g_fit(
            self.la,
            self.span,
            m,
            self.g,
            self.h,
            self.fit,
            self.validation,
            &cfg,
        )?;
        self.done.push(FitWidthTrial {
            m,
            starts: rep.starts.len(),
            validation_error: rep.validation_error,
            certified: rep.certified,
            seconds: t0.elapsed().as_secs_f64(),
        });
        let ok = rep.certified;
        if ok {
            self.certified.push((m, rep));
        }
        Ok(ok)
    }

    /// The first width of 1, 2, …, `max` whose fit certifies: a scan with
    /// [`FitWidthSearch::trial_starts`] starts, and when none certifies a second scan from
    /// [`FitWidthSearch::retry_starts`] new starts.
    fn first_certified(&mut self, max: usize) -> Result<Option<usize>, FitError> {
        let passes = [
            (self.search.trial_starts, 0),
            (self.search.retry_starts, RETRY_SEED),
        ];
        for (starts, seed_offset) in passes {
            for m in 1..=max {
                if starts > 0 && self.run(m, starts, seed_offset)? {
                    return Ok(Some(m));
                }
            }
        }
        Ok(None)
    }

    /// Walks down from the first certified width with more starts: the decision moves to
    /// every width that certifies, and past widths that do not while the current network's
    /// outputs are dependent (it is wider than f, so m1 is lower still). Returns the width
    /// and the best validation error of the width below it.
    fn confirm(&mut self, first: usize) -> Result<(usize, f64), FitError> {
        let starts = self.search.confirm_starts.unwrap_or(self.cfg.max_starts);
        let mut m1 = first;
        for below in (1..first).rev() {
            if self.run(below, starts, CONFIRM_SEED)? {
                m1 = below;
            } else if self.independence(m1)? >= self.search.min_independence {
                return Ok((m1, self.best_error(below)));
            }
        }
        Ok((m1, self.best_error(m1 - 1)))
    }

    /// [`output_independence`] of the certified network of width `m`.
    fn independence(&self, m: usize) -> Result<f64, FitError> {
        let (_, report) = self
            .certified
            .iter()
            .rev()
            .find(|(w, _)| *w == m)
            .expect("fit_width: independence of a width that certified");
        output_independence(self.la, &report.network, self.validation.points())
    }

    /// The best validation error of width `m` (infinite for width 0 or an untried width).
    fn best_error(&self, m: usize) -> f64 {
        self.done
            .iter()
            .filter(|t| t.m == m)
            .map(|t| t.validation_error)
            .fold(f64::INFINITY, f64::min)
    }

    fn undecided(&self, why: &str) -> FitError {
        let tried: Vec<String> = self
            .done
            .iter()
            .map(|t| {
                format!(
                    "m1 = {}: {:.1e} ({} starts)",
                    t.m, t.validation_error, t.starts
                )
            })
            .collect();
        FitError::WidthUndecided {
            detail: format!(
                "{why}; best validation error per trial width (threshold {:.1e}): {}",
                self.cfg.accept_tol,
                tried.join(", ")
            ),
        }
    }
}

/// m1 by route G's fit (module docs), with `span` (d×m0, orthonormal) spanning span{a_i}.
/// Returns the certified fit at the decided width and the evidence.
///
/// # Errors
/// [`FitError::WidthUndecided`] when no width up to m0 certifies or the width below the
/// decided one is not clearly rejected; the errors of [`route_g_fit`].
#[allow(clippy::too_many_arguments)]
pub fn discover_m1_by_fit(
    la: Linalg<'_>,
    span: &Mat,
    g: Activation,
    h: Activation,
    fit: &FitData,
    validation: &FitData,
    cfg: &RouteGConfig,
    search: &FitWidthSearch,
) -> Result<(RouteGReport, FitWidthEvidence), FitError> {
    let mut trials = Trials {
        la,
        span,
        g,
        h,
        fit,
        validation,
        cfg,
        search,
        done: Vec::new(),
        certified: Vec::new(),
    };
    let Some(first) = trials.first_certified(span.ncols())? else {
        return Err(trials.undecided("no width up to m0 gives a fit that certifies"));
    };
    let (m1, below) = trials.confirm(first)?;
    if below < search.min_gap * cfg.accept_tol {
        return Err(trials.undecided(&format!(
            "the width below m1 = {m1} is rejected by less than {} times the threshold",
            search.min_gap
        )));
    }
    let index = trials
        .certified
        .iter()
        .rposition(|(m, _)| *m == m1)
        .expect("discover_m1_by_fit: the decided width certified");
    let output_independence = trials.independence(m1)?;
    let (_, report) = trials.certified.swap_remove(index);
    if output_independence < search.min_independence {
        return Err(trials.undecided(&format!(
            "the fit at m1 = {m1} certifies but its second-layer outputs are dependent (σ_min/σ_max = {output_independence:.1e} < {:.0e}): some neurons cancel or vanish, so the true width is smaller, and no smaller width could be fitted",
            search.min_independence
        )));
    }
    let evidence = FitWidthEvidence {
        m1,
        trials: trials.done,
        accept_tol: cfg.accept_tol,
        output_independence,
    };
    Ok((report, evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route_g::gaussian_points;
    use nnid_linalg::BackendKind;
    use nnid_nn_model::teacher::TeacherConfig;
    use proptest::prelude::*;

    fn data(net: &Network, n: usize, seed: u64) -> FitData {
        let x = gaussian_points(net.input_dim(), n, net.g().width(), seed);
        let v = net.values(&x);
        FitData::new(x, v).unwrap()
    }

    /// An orthonormal basis of span{a_i} (the exact span route G estimates).
    fn exact_span(la: Linalg<'_>, net: &Network) -> Mat {
        la.svd(net.a()).unwrap().u.leading_columns(net.m0())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]
        /// Exact construction: the exact span and exact answers; every decided width is the
        /// teacher's m1, its network matches f on fresh points, and a width below it was
        /// rejected by the gap (a decision may also be refused, never wrong).
        #[test]
        fn the_decided_width_is_m1(m0 in 2usize..5, m1_frac in 0.2f64..1.0, seed in 0u64..300, sigmoid in any::<bool>()) {
            let m1 = ((m0 as f64 * m1_frac).ceil() as usize).clamp(1, m0);
            let act = if sigmoid { Activation::Sigmoid } else { Activation::Tanh };
            let net = TeacherConfig::new(m0 + 2, m0, m1).activation(act).seed(seed).generate().unwrap();
            let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
            let p = (m0 + 2) * m0 + m0 * m0 + 2 * m0;
            let (fit, validation) = (data(&net, 4 * p, seed + 1), data(&net, 300, seed + 2));
            let cfg = RouteGConfig { seed, ..RouteGConfig::default() };
            let span = exact_span(la, &net);
            match discover_m1_by_fit(la, &span, act, act, &fit, &validation, &cfg, &FitWidthSearch::default()) {
                Ok((report, ev)) => {
                    prop_assert_eq!(ev.m1, m1, "trials {:?}", ev.trials);
                    prop_assert_eq!(report.network.m1(), m1);
                    prop_assert!(ev.output_independence >= FitWidthSearch::default().min_independence);
                    let fresh = data(&net, 300, seed + 3);
                    let err = fresh.relative_misfit(&report.network.values(fresh.points()));
                    prop_assert!(err < 1e-6, "fresh error {err}");
                }
                Err(e) => prop_assert!(matches!(e, FitError::WidthUndecided { .. }), "{e}"),
            }
        }
    }

    #[test]
    fn typical_teachers_are_decided() {
        let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
        for act in [Activation::Tanh, Activation::Sigmoid] {
            let net = TeacherConfig::new(8, 5, 3)
                .activation(act)
                .seed(7)
                .generate()
                .unwrap();
            let p = 8 * 5 + 5 * 5 + 10;
            let (fit, validation) = (data(&net, 4 * p, 1), data(&net, 300, 2));
            let cfg = RouteGConfig::default();
            let span = exact_span(la, &net);
            let (_, ev) = discover_m1_by_fit(
                la,
                &span,
                act,
                act,
                &fit,
                &validation,
                &cfg,
                &FitWidthSearch::default(),
            )
            .unwrap();
            assert_eq!(ev.m1, 3, "{act}: {:?}", ev.trials);
            let rejected_two = ev.trials.iter().any(|t| t.m == 2 && !t.certified);
            assert!(rejected_two, "{:?}", ev.trials);
        }
    }

    #[test]
    fn a_dependent_second_layer_is_seen() {
        let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
        let net = TeacherConfig::new(4, 3, 2).seed(3).generate().unwrap();
        let x = gaussian_points(4, 100, 1.0, 1);
        assert!(output_independence(la, &net, &x).unwrap() > 1e-2);
        // Two identical second-layer neurons: dependent outputs.
        let b = net.b();
        let twin = Mat::from_columns(3, &[b.col(0).to_vec(), b.col(0).to_vec()]);
        let tau = vec![net.tau()[0]; 2];
        let dup = Network::new(
            net.a().clone(),
            net.theta().to_vec(),
            twin,
            tau,
            net.g(),
            net.h(),
        )
        .unwrap();
        assert!(output_independence(la, &dup, &x).unwrap() < 1e-12);
    }
}
