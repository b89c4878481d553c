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
//! Trial fits run [`FitWidthSearch::trial_starts`] starts with a plateau stop; the width
//! below the first certified one is then fitted again from [`FitWidthSearch::confirm_starts`]
//! new random starts, and the decision moves down while it certifies. The decision needs
//! that width's best validation error to be at least [`FitWidthSearch::min_gap`] times the
//! threshold, and the decided network's second-layer outputs to be independent
//! ([`output_independence`]; measured: 0.2 for fits at m1, 1e-8 to 1e-7 for certified fits
//! wider than m1, whose extra neurons cancel): otherwise [`FitError::WidthUndecided`], with
//! every trial, never a guess.

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
    /// 1e-4.
    pub min_independence: f64,
}

impl Default for FitWidthSearch {
    fn default() -> Self {
        Self {
            trial_starts: 1,
            confirm_starts: None,
            plateau_window: 40,
            min_gap: 10.0,
            min_independence: 1e-4,
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

    /// The first width of 1, 2, …, `max` whose fit certifies.
    fn first_certified(&mut self, max: usize) -> Result<Option<usize>, FitError> {
        let starts = self.search.trial_starts;
        for m in 1..=max {
            if self.run(m, starts, 0)? {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// Moves the decision down while the width below certifies with more starts; returns
    /// the final width and the best validation error of the width below it.
    fn confirm(&mut self, mut m1: usize) -> Result<(usize, f64), FitError> {
        while m1 > 1 {
            let starts = self.search.confirm_starts.unwrap_or(self.cfg.max_starts);
            if !self.run(m1 - 1, starts, CONFIRM_SEED)? {
                let below = self.best_error(m1 - 1);
                return Ok((m1, below));
            }
            m1 -= 1;
        }
        Ok((m1, f64::INFINITY))
    }

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
    let (_, report) = trials.certified.swap_remove(index);
    let output_independence = output_independence(la, &report.network, validation.points())?;
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
