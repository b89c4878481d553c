//! Every parameter of route S's first layer, with the research notes' defaults.
//!
//! Section references are to `research/route-S-prototype.md` (§2.2 step 1 items 1–6 for
//! discovery, step 2 for the ridge polish) and `paper-spec.md` §10.2.

use crate::{Result, SaturationError};
use nnid_nn_model::Activation;

/// How the ridge polish differences `f` across the ridge (§2.2 step 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolishStencil {
    /// The notes' stencil: `c_v = [f(x + Lv) − f(x − Lv)]/(2L)` for each of the d − 1
    /// columns v of a basis of â^⊥ and `φ' = [f(x + hâ) − f(x − hâ)]/(2h)`: 2d queries per
    /// neuron, error third order in the direction error δ.
    Central,
    /// One-sided long steps with the ridge's curvature removed: `f(x)`, `f(x ± hâ)` give `φ'`
    /// and `φ''`, then `c_v = [f(x + Lv) − f(x)]/L = φ'δ_v + φ''Lδ_v²/2 + O(δ³)` is solved
    /// for δ_v to second order. d + 2 queries per neuron, also third order in δ. (Ours, not
    /// the notes'; it halves the polish's queries.)
    Forward,
}

/// Settings of discovery (§2.2 step 1) and the ridge polish (§2.2 step 2).
///
/// Saturation levels and radii are given for tanh; they are multiplied by
/// [`Activation::width`] (2 for the logistic sigmoid, whose transitions are twice as wide,
/// notes §2.1: "saturation levels doubled, so queries go twice as far").
#[derive(Clone, Debug, PartialEq)]
pub struct SaturationConfig {
    /// Line offset factor: `R = r_fac · m0 · √d · width` (item 1; §4: 3 also works, 1 does
    /// not). With m0 unknown, d stands for m0. Default 15.
    pub r_fac: f64,
    /// Grid points per line, evenly spaced over `[−t_span·R, t_span·R]` (item 1). Default 121.
    pub grid_points: usize,
    /// Half-length of a line in units of R (item 1: t runs over −3R…3R). Default 3.
    pub t_span: f64,
    /// Absolute floor of a marked grid jump |Δf| (item 2). Default 1e-7.
    pub jump_abs: f64,
    /// Relative jump threshold: an interval is marked when |Δf| ≥ max(jump_abs,
    /// jump_rel · max|Δf| on the line) (item 2). Default 1e-5.
    pub jump_rel: f64,
    /// Margin, as a fraction of the grid step, around a one-interval region inside which a
    /// predicted crossing of a known neuron skips the region (item 2). Default 0.05.
    pub skip_margin: f64,
    /// Bisection on the mid-level stops at a bracket this long in t (item 3). Default 0.25.
    pub bracket: f64,
    /// Forward-difference step of the discovery gradient (item 4, `--fwd`). Default 1e-4.
    pub fd_step: f64,
    /// Gradients shorter than this are a step's tail and are rejected (item 4). Default 1e-3.
    pub grad_floor: f64,
    /// A direction with |cos| above this to a known one is a duplicate (item 4). Default 0.99.
    pub dup_cos: f64,
    /// Optional second duplicate condition (ours, off by default): a crossing x* is a
    /// duplicate of known neuron j only if also |â_jᵀx* + θ̂_j| < dup_offset·width; beyond
    /// it neuron j is saturated at x* and the step belongs to another, nearly parallel
    /// neuron (|cos| > dup_cos). The predicted |y_j| errs by θ̂'s roughness plus
    /// ‖â_j − a_j‖·‖x*‖, a few units, so 20 is a safe value — but only while every accepted
    /// â_j is right: a direction accepted from an impure crossing (the purity test can pass by
    /// chance) is then found again as "new" when its true neuron steps on a deflated line
    /// that holds the wrong estimate. Use it for networks with nearly parallel neurons.
    /// Default `None`.
    pub dup_offset: Option<f64>,
    /// **\[design\]** A bisected crossing x* at which a known neuron j has
    /// |â_jᵀx* + θ̂_j| < `known_level`·width is dropped before its gradient (d + 1 queries):
    /// it is that neuron's crossing again (a duplicate the one-interval skip of item 2 missed,
    /// typically in a region merged with another jump) or a point where a second neuron is
    /// active (impure). A pure crossing of a new neuron needs every other |y_j| ≳ 10, so a
    /// level of 4 (θ̂ and â_jᵀx* err by about 1–2 at discovery) drops no usable crossing but
    /// ones on the margin. `None` switches it off. Default 4.
    pub known_level: Option<f64>,
    /// A deflated line's hold offset ‖K⁺(hold·s − θ̂_H)‖ may be at most this times R; beyond
    /// it (an ill-conditioned set of held directions) another subset is drawn, and after four
    /// draws a random line is used (ours; normally the offset is ≪ R). Default 1.
    pub max_hold_offset: f64,
    /// Length of the purity-test offsets v ⊥ ∇f (item 5). Default 2.
    pub purity_len: f64,
    /// Number of purity-test offsets (item 5). Default 2.
    pub purity_vectors: usize,
    /// Accept a crossing only if max_v |f(x+v) + f(x−v) − 2f(x)| / ‖∇f‖ is below this
    /// (item 5, `--fwd`). Default 1e-6.
    pub purity_tol: f64,
    /// Random far lines before deflated lines start (item 6, `--deflate 4`). Default 4.
    pub random_lines: usize,
    /// |y_j| at which deflated lines hold known neurons (item 6), times width. Default 20.
    pub hold_level: f64,
    /// Deflated lines hold at most d − this many known neurons, releasing the rest (item 6:
    /// the complement keeps ≥ 3 dimensions). Default 3.
    pub min_complement: usize,
    /// Line cap of discovery (step 1), raised to ⌈m0/8⌉ for wide layers
    /// ([`SaturationConfig::line_cap`]). Default 30.
    pub max_lines: usize,
    /// With m0 unknown: stop after this many consecutive deflated lines without a new neuron
    /// (notes §6 "discovery can run until a few deflated lines show no new jump"; ours).
    /// Default 4.
    pub quiet_lines: usize,
    /// Optional bound on ‖x‖ of every query. The route fails with
    /// [`SaturationError::RadiusTooSmall`] if it needs farther queries (paper-spec §10.3).
    /// Default `None`.
    pub max_radius: Option<f64>,
    /// Random sign patterns drawn per neuron for the ridge design point; the one with the
    /// smallest ‖x‖ is used (step 2). Default 2000.
    pub polish_patterns: usize,
    /// After the random patterns, flip single signs while ‖x‖ decreases (ours: a greedy
    /// descent from the best pattern, no queries). Default true.
    pub polish_local_search: bool,
    /// |y_j| of the other neurons at the ridge design point (step 2), times width. Default 20.
    pub polish_level: f64,
    /// The long step L across the ridge (step 2). Default 2.
    pub polish_step: f64,
    /// The step h along â for the ridge slope φ' (step 2). Default 1e-4.
    pub polish_h: f64,
    /// Which difference stencil the polish uses. Default [`PolishStencil::Central`] (the
    /// notes').
    pub polish_stencil: PolishStencil,
    /// Re-polish a neuron (with a freshly designed point) while its last correction
    /// ‖â_new − â‖ exceeds this: the result is third order in the error of the start, so a
    /// start within 1e-4 is polished to rounding in one round (ours). Default 1e-4.
    pub polish_repeat_above: f64,
    /// Polish rounds per neuron at most. Default 3.
    pub polish_max_rounds: usize,
    /// A designed point is used at once if the ridge slope |φ'| reaches this; otherwise the
    /// next best sign patterns are tried and the steepest is used (ours: the rounding error
    /// of c/φ' is about 1e-16·|f|/|φ'| per component). Default 1e-2.
    pub polish_good_slope: f64,
    /// No designed point with |φ'| at least this: [`SaturationError::FlatRidge`] (ours).
    /// Default 1e-6.
    pub polish_min_slope: f64,
    /// Design points tried per neuron before [`SaturationError::FlatRidge`] (ours). Default 4.
    pub polish_tries: usize,
    /// Upper bound on the f64 entries of one oracle batch (gradients of several crossings
    /// are batched up to this; one gradient always fits). Default 2²² (32 MiB).
    pub batch_floats: usize,
}

impl Default for SaturationConfig {
    fn default() -> Self {
        Self {
            r_fac: 15.0,
            grid_points: 121,
            t_span: 3.0,
            jump_abs: 1e-7,
            jump_rel: 1e-5,
            skip_margin: 0.05,
            bracket: 0.25,
            fd_step: 1e-4,
            grad_floor: 1e-3,
            dup_cos: 0.99,
            dup_offset: None,
            known_level: Some(4.0),
            max_hold_offset: 1.0,
            purity_len: 2.0,
            purity_vectors: 2,
            purity_tol: 1e-6,
            random_lines: 4,
            hold_level: 20.0,
            min_complement: 3,
            max_lines: 30,
            quiet_lines: 4,
            max_radius: None,
            polish_patterns: 2000,
            polish_local_search: true,
            polish_level: 20.0,
            polish_step: 2.0,
            polish_h: 1e-4,
            polish_stencil: PolishStencil::Central,
            polish_repeat_above: 1e-4,
            polish_max_rounds: 3,
            polish_good_slope: 1e-2,
            polish_min_slope: 1e-6,
            polish_tries: 4,
            batch_floats: 1 << 22,
        }
    }
}

impl SaturationConfig {
    /// The line cap for width m0 (d when unknown): `max(max_lines, ⌈m0/8⌉)`. A line's grid of
    /// `grid_points` resolves only so many steps (merged ones are examined as one), so wide
    /// layers need more lines: measured at (3072, 512, 128), deflated lines found 10–23 new
    /// neurons each, and 30 lines found 436 of 512.
    pub fn line_cap(&self, m0: Option<usize>, d: usize) -> usize {
        self.max_lines.max(m0.unwrap_or(d).div_ceil(8))
    }

    /// The offset R of the discovery lines for a network of input dimension `d` and width
    /// `m0` (the notes' `R = r_fac·m0·√d`, times [`Activation::width`]).
    pub fn line_radius(&self, d: usize, m0: usize, act: Activation) -> f64 {
        self.r_fac * m0 as f64 * (d as f64).sqrt() * act.width()
    }

    /// The farthest query of a random discovery line, `R·√(1 + t_span²)` (line points are
    /// `R·w + t·u` with w ⊥ u, |t| ≤ t_span·R).
    pub fn line_reach(&self, d: usize, m0: usize, act: Activation) -> f64 {
        self.line_radius(d, m0, act) * (1.0 + self.t_span * self.t_span).sqrt()
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`SaturationError::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("r_fac", self.r_fac),
            ("t_span", self.t_span),
            ("jump_abs", self.jump_abs),
            ("bracket", self.bracket),
            ("fd_step", self.fd_step),
            ("purity_len", self.purity_len),
            ("purity_tol", self.purity_tol),
            ("hold_level", self.hold_level),
            ("max_hold_offset", self.max_hold_offset),
            ("polish_level", self.polish_level),
            ("polish_step", self.polish_step),
            ("polish_h", self.polish_h),
        ];
        for (field, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(bad(field, value, "must be finite and > 0"));
            }
        }
        let non_negative = [
            ("jump_rel", self.jump_rel),
            ("skip_margin", self.skip_margin),
            ("grad_floor", self.grad_floor),
            ("polish_repeat_above", self.polish_repeat_above),
            ("polish_good_slope", self.polish_good_slope),
            ("polish_min_slope", self.polish_min_slope),
        ];
        for (field, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(bad(field, value, "must be finite and ≥ 0"));
            }
        }
        if !(self.dup_cos > 0.0 && self.dup_cos < 1.0) {
            return Err(bad("dup_cos", self.dup_cos, "must lie in (0, 1)"));
        }
        if self.jump_rel >= 1.0 {
            return Err(bad(
                "jump_rel",
                self.jump_rel,
                "must be < 1 (the largest jump must be marked)",
            ));
        }
        if self.skip_margin >= 0.5 {
            return Err(bad(
                "skip_margin",
                self.skip_margin,
                "must be < 0.5 of a grid step",
            ));
        }
        for (field, value) in [
            ("max_radius", self.max_radius),
            ("dup_offset", self.dup_offset),
            ("known_level", self.known_level),
        ] {
            if let Some(r) = value
                && !(r.is_finite() && r > 0.0)
            {
                return Err(bad(field, r, "must be finite and > 0"));
            }
        }
        let counts = [
            ("grid_points", self.grid_points, 3),
            ("purity_vectors", self.purity_vectors, 1),
            ("max_lines", self.max_lines, 1),
            ("quiet_lines", self.quiet_lines, 1),
            ("polish_patterns", self.polish_patterns, 1),
            ("polish_max_rounds", self.polish_max_rounds, 1),
            ("polish_tries", self.polish_tries, 1),
            ("batch_floats", self.batch_floats, 1),
        ];
        for (field, value, min) in counts {
            if value < min {
                return Err(SaturationError::InvalidConfig {
                    field,
                    value: value.to_string(),
                    reason: if min == 1 {
                        "must be ≥ 1"
                    } else {
                        "must be ≥ 3"
                    },
                });
            }
        }
        Ok(())
    }
}

fn bad(field: &'static str, value: f64, reason: &'static str) -> SaturationError {
    SaturationError::InvalidConfig {
        field,
        value: value.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_matches_the_notes() {
        let cfg = SaturationConfig::default();
        cfg.validate().unwrap();
        // §2.2 item 1: dt = 6R/120 = R/20.
        let dt = 2.0 * cfg.t_span / (cfg.grid_points - 1) as f64;
        assert!((dt - 1.0 / 20.0).abs() < 1e-15);
        // (20, 10, 5), tanh: R = 15·10·√20; the sigmoid doubles it.
        let r = cfg.line_radius(20, 10, Activation::Tanh);
        assert!((r - 150.0 * 20f64.sqrt()).abs() < 1e-9);
        let rs = cfg.line_radius(20, 10, Activation::Sigmoid);
        assert!((rs - 2.0 * r).abs() < 1e-9);
        assert!((cfg.line_reach(20, 10, Activation::Tanh) - r * 10f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(SaturationConfig, &str)> = vec![
            (
                SaturationConfig {
                    r_fac: 0.0,
                    ..Default::default()
                },
                "r_fac",
            ),
            (
                SaturationConfig {
                    bracket: f64::NAN,
                    ..Default::default()
                },
                "bracket",
            ),
            (
                SaturationConfig {
                    dup_cos: 1.0,
                    ..Default::default()
                },
                "dup_cos",
            ),
            (
                SaturationConfig {
                    grid_points: 2,
                    ..Default::default()
                },
                "grid_points",
            ),
            (
                SaturationConfig {
                    max_lines: 0,
                    ..Default::default()
                },
                "max_lines",
            ),
            (
                SaturationConfig {
                    max_radius: Some(-1.0),
                    ..Default::default()
                },
                "max_radius",
            ),
            (
                SaturationConfig {
                    jump_rel: 1.5,
                    ..Default::default()
                },
                "jump_rel",
            ),
        ];
        for (cfg, name) in cases {
            match cfg.validate() {
                Err(SaturationError::InvalidConfig { field, .. }) => assert_eq!(field, name),
                other => panic!("{name}: expected InvalidConfig, got {other:?}"),
            }
        }
    }
}
