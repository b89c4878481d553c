//! Solver A: the paper's projected gradient ascent on the sphere from many random starts,
//! then clustering up to sign and the a-posteriori check (paper-spec §4).
//!
//! Iteration: `u ← P_S(u + 2γ P_Ŵ(u uᵀ) u)`, i.e. the power step with the constant shift
//! `1/(2γ)`. It converges linearly; once F reaches `newton_at` (or the step falls below
//! `newton_from`) each run finishes with Newton steps on the sphere (see the pool module), so
//! exact maximisers come out to rounding error. Runs are independent: starts are processed in
//! rounds of `round` starts, each round split into chunks of `batch` starts advanced together
//! and run in parallel (rayon). Start i uses its own random stream (`seed`, stream i), and the
//! chunks are fixed by start index, so results do not depend on the number of threads.
//!
//! After each round, the runs that pass the check F ≥ `accept` are sorted by F and
//! deduplicated greedily (same vector up to sign when `|⟨u, u'⟩| ≥ dedup`). Drawing stops
//! after `max_starts` starts, or when `max_components` distinct candidates are in hand and
//! the best of them are either all exact (`1 − F ≤ exact_gap`) or all inexact: in an exact
//! span a spurious maximiser (F slightly below 1) can take the place of a component not
//! found yet, and more starts find it.

use nnid_linalg::Linalg;
use nnid_linalg::sym::SymSubspace;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::ascent::{Deflation, Shift};
use crate::kernel::Dense;
use crate::pool::{self, Driver, Finished, Next, PoolParams, Start};
use crate::report::{Rank1Report, Rejections, finalize};
use crate::synthetic::random_unit_vector;
use crate::vecops::dot;
use crate::{Rank1Error, Rank1Solver};

/// Settings of [`ProjectedGradientAscent`].
#[derive(Clone, Debug, PartialEq)]
pub struct PgaConfig {
    /// The paper's step γ: `u ← P_S(u + 2γ P_Ŵ(u uᵀ) u)` (shift `1/(2γ)`).
    pub gamma: f64,
    /// Output at most this many candidates, and stop drawing starts once this many distinct
    /// ones passed (None: the subspace dimension K).
    pub max_components: Option<usize>,
    /// Cap on random starts (None: 20·K + 50).
    pub max_starts: Option<usize>,
    /// Starts per round; the stopping rule is checked between rounds.
    pub round: usize,
    /// Starts advanced together in one chunk (one matrix product per iteration).
    pub batch: usize,
    /// Accept a run when F = Φ² is at least this (paper-spec §4: 0.95).
    pub accept: f64,
    /// Same vector up to sign when `|⟨u, u'⟩|` is at least this (0.95).
    pub dedup: f64,
    /// A run has converged when its step is below this.
    pub step_tol: f64,
    /// Iteration cap per phase of a run.
    pub max_iters: usize,
    /// Switch to Newton steps once F reaches this (above 1: never).
    pub newton_at: f64,
    /// Switch to Newton steps when the step is below this (0: never).
    pub newton_from: f64,
    /// A candidate with `1 − F` above this is weak (spec: 1e-8 marks exact rank-ones); see
    /// the stopping rule in the module docs.
    pub exact_gap: f64,
    /// Abandon a start whose objective falls below this (None: 1e-2/√d, as SPM).
    pub hopeless_below: Option<f64>,
    /// Range compression tolerance (see the crate docs; 0 disables).
    pub range_tol: f64,
}

impl Default for PgaConfig {
    fn default() -> Self {
        Self {
            gamma: 1.0,
            max_components: None,
            max_starts: None,
            round: 64,
            batch: 8,
            accept: 0.95,
            dedup: 0.95,
            step_tol: 1e-14,
            max_iters: 5000,
            newton_at: 0.8,
            newton_from: 1e-2,
            exact_gap: 1e-8,
            hopeless_below: None,
            range_tol: 1e-9,
        }
    }
}

impl PgaConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Rank1Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<(), Rank1Error> {
        let check = crate::config::Checker::new(NAME);
        check.positive("gamma", self.gamma)?;
        check.unit_interval("accept", self.accept)?;
        check.unit_interval("dedup", self.dedup)?;
        check.positive("step_tol", self.step_tol)?;
        check.non_negative("newton_at", self.newton_at)?;
        check.non_negative("newton_from", self.newton_from)?;
        check.below_one("range_tol", self.range_tol)?;
        check.below_one("exact_gap", self.exact_gap)?;
        if let Some(h) = self.hopeless_below {
            check.below_one("hopeless_below", h)?;
        }
        check.at_least_one("max_iters", self.max_iters)?;
        check.at_least_one("round", self.round)?;
        check.at_least_one("batch", self.batch)?;
        check.at_least_one("max_starts", self.max_starts.unwrap_or(1))?;
        check.at_least_one("max_components", self.max_components.unwrap_or(1))?;
        Ok(())
    }
}

const NAME: &str = "pga";

/// The paper's projected gradient ascent from many random starts (solver A); see the module
/// docs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectedGradientAscent {
    /// Its settings.
    pub config: PgaConfig,
}

impl ProjectedGradientAscent {
    /// With the given settings.
    pub fn new(config: PgaConfig) -> Self {
        Self { config }
    }
}

/// One chunk of independent starts `first..first + count`.
struct ChunkDriver {
    p: usize,
    seed: u64,
    next: usize,
    end: usize,
    runs: Vec<Finished>,
}

impl Driver for ChunkDriver {
    fn next_start(&mut self, _: &Deflation, _: usize) -> Option<Start> {
        if self.next >= self.end {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(self.next as u64);
        self.next += 1;
        Some(Start {
            u: random_unit_vector(self.p, &mut rng),
            deflate: false,
        })
    }

    fn on_done(&mut self, run: Finished, _: &mut Deflation) -> Next {
        self.runs.push(run);
        Next::Continue
    }

    fn duplicates(&self, _: &[f64], _: usize) -> (usize, bool) {
        (0, false)
    }
}

impl Rank1Solver for ProjectedGradientAscent {
    fn name(&self) -> &'static str {
        NAME
    }

    fn recover(
        &self,
        la: Linalg<'_>,
        w: &SymSubspace,
        seed: u64,
    ) -> Result<Rank1Report, Rank1Error> {
        let cfg = &self.config;
        cfg.validate()?;
        let dense = Dense::new(la, w, cfg.range_tol)?;
        let (p, k) = (dense.p(), dense.k());
        let target = cfg.max_components.unwrap_or(k);
        let max_starts = cfg.max_starts.unwrap_or(20 * k + 50);
        let shift = Shift::Fixed(0.5 / cfg.gamma);
        let params = PoolParams {
            approach_shift: shift,
            polish_shift: shift,
            switch_tol: if cfg.newton_from > 0.0 {
                cfg.newton_from
            } else {
                cfg.step_tol
            },
            newton_at: cfg.newton_at,
            newton_from: cfg.newton_from,
            step_tol: cfg.step_tol,
            max_iters: cfg.max_iters,
            hopeless_below: cfg
                .hopeless_below
                .unwrap_or(1e-2 / (dense.d() as f64).sqrt()),
            batch: cfg.batch,
        };
        let mut passed: Vec<Finished> = Vec::new();
        let mut rejected = Rejections::default();
        let (mut starts, mut capped_runs, mut iterations) = (0, 0, 0);
        let mut accepted: Vec<usize> = Vec::new();
        let weak = |f: f64| 1.0 - f > cfg.exact_gap;
        // Done when `target` distinct candidates passed and the best `target` of them are all
        // exact, or none is (an inexact span, where more starts cannot tell true from
        // spurious): in an exact span, a weak candidate among exact ones is a spurious
        // maximiser that may have displaced a component not yet found.
        let settled = |acc: &[usize], passed: &[Finished]| {
            acc.len() >= target && {
                let n_weak = acc
                    .iter()
                    .take(target)
                    .filter(|&&i| weak(passed[i].f))
                    .count();
                n_weak == 0 || n_weak == target.min(acc.len())
            }
        };
        while starts < max_starts && !settled(&accepted, &passed) {
            let end = (starts + cfg.round).min(max_starts);
            let chunks: Vec<(usize, usize)> = (starts..end)
                .step_by(cfg.batch)
                .map(|a| (a, (a + cfg.batch).min(end)))
                .collect();
            let results: Vec<Vec<Finished>> = chunks
                .par_iter()
                .map(|&(first, last)| {
                    let mut driver = ChunkDriver {
                        p,
                        seed,
                        next: first,
                        end: last,
                        runs: Vec::new(),
                    };
                    pool::run(la, &dense, params, &mut Deflation::default(), &mut driver);
                    driver.runs
                })
                .collect();
            starts = end;
            for run in results.into_iter().flatten() {
                iterations += run.iters;
                capped_runs += usize::from(run.capped);
                if run.hopeless {
                    rejected.hopeless += 1;
                } else if run.f < cfg.accept {
                    rejected.below_threshold += 1;
                } else {
                    passed.push(run);
                }
            }
            accepted = cluster(&passed, cfg.dedup);
        }
        rejected.duplicates = passed.len() - accepted.len();
        if accepted.len() > target {
            rejected.over_limit = accepted.len() - target;
            accepted.truncate(target);
        }
        let runs = accepted
            .iter()
            .map(|&i| (passed[i].u.clone(), passed[i].iters, passed[i].capped))
            .collect();
        let candidates = finalize(la, &dense, runs);
        Ok(Rank1Report {
            solver: NAME,
            accept: cfg.accept,
            candidates,
            starts,
            rejected,
            capped_runs,
            iterations,
            working_side: p,
        })
    }
}

/// Greedy deduplication in order of F (highest first): indices of the representatives.
fn cluster(runs: &[Finished], dedup: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[b].f.total_cmp(&runs[a].f).then(a.cmp(&b)));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept
            .iter()
            .all(|&j| dot(&runs[i].u, &runs[j].u).abs() < dedup)
        {
            kept.push(i);
        }
    }
    kept
}
