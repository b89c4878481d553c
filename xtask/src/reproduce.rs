//! `cargo xtask reproduce [--quick]`: the paper's experiments (paper-spec §8) with our
//! pipeline, next to the figures the spec reports (§2, §8, §9), in docs/results/paper.md.
//!
//! Grids (each cell over `teachers` seeds):
//! 1. **main**: sizes × families (generic, all-positive B, nearly orthogonal A) ×
//!    activations, with the paper's defaults (m_X = 2(m0 + m1), ε = 1e-5, r = 1): the
//!    stages trial (Ŵ and rank-one against the truth), the paper pipeline without and with
//!    the refinement, and `auto` (nnid's default) beside them;
//! 2. **m_X sweep**: m_X ∈ {0.5, 1, 1.5, 2, 4}·(m0 + m1), generic tanh teachers;
//! 3. **ε × radius**: ε ∈ {1e-3, 1e-4, 1e-5} × r ∈ {0.5, 1, 2};
//! 4. **m1 = 1 regime** (§9, where the paper's method works): (30, 10, 1), nearly
//!    orthogonal A, shifts in [−0.05, 0.05], r ∈ {0.1, 0.3};
//! 5. **one-layer predecessor's setting** (§8): d = m0 = 20, m1 = 1, nearly orthogonal A,
//!    positive B, small shifts, ε = 1e-3, m_X from 10 to 40.
//!
//! `--quick` keeps one size, two teachers and fewer points per sweep (CI).

use crate::flags::{ReproduceArgs, parse_sizes};
use crate::probe::{Header, command_line};
use crate::results::{
    at, flag, group_by, kind, num, ok, paper_budget, parameters, seed, size, size_label, spec_len,
    text,
};
use crate::run::{Runner, partial_note, work_dir};
use crate::stats::{count, median, min_max, pct, rate, sci, secs};
use crate::table::Table;
use anyhow::Result;
use nnid_plot::{Panel, Series, write_svg};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;

/// The sizes of paper-spec §8.
const PAPER_SIZES: [[usize; 3]; 5] = [
    [20, 10, 5],
    [30, 20, 10],
    [40, 20, 10],
    [30, 30, 10],
    [50, 30, 15],
];

/// The grid of one run.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub sizes: Vec<[usize; 3]>,
    pub teachers: u64,
    pub families: Vec<Value>,
    pub activations: Vec<&'static str>,
    pub mx_factors: Vec<f64>,
    pub eps: Vec<f64>,
    pub radii: Vec<f64>,
    pub predecessor_mx: Vec<usize>,
    pub regime_radii: Vec<f64>,
    /// Teachers of the paper-pipeline runs in the m1 = 1 regime and the predecessor setting.
    pub side_route_teachers: u64,
    /// Run the pipeline at every m_X ≥ m0 + m1 of the predecessor setting (else at m_X = 30).
    pub predecessor_route_all: bool,
    /// Only the main grid (part 1), no sweeps.
    pub main_only: bool,
    /// Teachers of `paper+refine` in the main grid (≤ `teachers`).
    pub refine_teachers: u64,
}

/// A main-grid family by its flag name.
fn family_by_name(name: &str) -> Result<Value> {
    match name {
        "generic" => Ok(generic()),
        "positive" => Ok(positive_b()),
        "orthogonal" => Ok(orthogonal(false, 0.5)),
        other => {
            anyhow::bail!("unknown family `{other}` (expected generic, positive or orthogonal)")
        }
    }
}

/// An activation by its flag name.
fn activation_by_name(name: &str) -> Result<&'static str> {
    match name {
        "tanh" => Ok("tanh"),
        "sigmoid" => Ok("sigmoid"),
        other => anyhow::bail!("unknown activation `{other}` (expected tanh or sigmoid)"),
    }
}

/// The flag's values, or `default` when the flag was not given.
fn chosen<T>(
    given: &[String],
    default: Vec<T>,
    parse: impl Fn(&str) -> Result<T>,
) -> Result<Vec<T>> {
    if given.is_empty() {
        Ok(default)
    } else {
        given.iter().map(|g| parse(g)).collect()
    }
}

pub(crate) fn generic() -> Value {
    json!({"weights": "gaussian", "positive_b": false, "shift_range": 0.5})
}

fn positive_b() -> Value {
    json!({"weights": "gaussian", "positive_b": true, "shift_range": 0.5})
}

fn orthogonal(positive: bool, shift: f64) -> Value {
    json!({"weights": {"perturbed_orthogonal": {"eps": 0.1}}, "positive_b": positive, "shift_range": shift})
}

/// The predecessor-like setting's size and the m1 = 1 regime's size.
const PREDECESSOR: [usize; 3] = [20, 20, 1];
const REGIME: [usize; 3] = [30, 10, 1];

impl Plan {
    pub(crate) fn new(args: &ReproduceArgs) -> Result<Self> {
        let sizes = if args.sizes.is_empty() {
            if args.quick {
                vec![[20, 10, 5]]
            } else {
                PAPER_SIZES.to_vec()
            }
        } else {
            parse_sizes(&args.sizes)?
        };
        let (families, activations) = if args.quick {
            (vec![generic()], vec!["tanh"])
        } else {
            (
                vec![generic(), positive_b(), orthogonal(false, 0.5)],
                vec!["tanh", "sigmoid"],
            )
        };
        let families = chosen(&args.families, families, family_by_name)?;
        let activations = chosen(&args.activations, activations, activation_by_name)?;
        Ok(if args.quick {
            Self {
                sizes,
                teachers: args.teachers.unwrap_or(2),
                families,
                activations,
                mx_factors: vec![0.5, 1.0, 2.0, 4.0],
                eps: vec![1e-3, 1e-4, 1e-5],
                radii: vec![0.5, 1.0, 2.0],
                predecessor_mx: vec![10, 16, 20, 21, 24, 30],
                regime_radii: vec![0.1, 0.3],
                side_route_teachers: 1,
                predecessor_route_all: false,
                main_only: false,
                refine_teachers: args.teachers.unwrap_or(2),
            }
        } else {
            Self {
                sizes,
                teachers: args.teachers.unwrap_or(20),
                families,
                activations,
                mx_factors: vec![0.5, 1.0, 1.5, 2.0, 4.0],
                eps: vec![1e-3, 1e-4, 1e-5],
                radii: vec![0.5, 1.0, 2.0],
                predecessor_mx: vec![10, 12, 14, 16, 18, 20, 21, 22, 24, 30, 40],
                regime_radii: vec![0.1, 0.3],
                side_route_teachers: args.teachers.unwrap_or(20).min(5),
                predecessor_route_all: true,
                main_only: args.main_only,
                refine_teachers: args
                    .refine_teachers
                    .unwrap_or(u64::MAX)
                    .min(args.teachers.unwrap_or(20)),
            }
        })
    }
}

fn stages(mx: f64, eps: f64, r: f64) -> Value {
    json!({"kind": "stages", "stencil": "forward", "eps": eps, "radius": r, "mx_factor": mx, "rank1": true, "solver": "spm"})
}

fn paper_route(mx: f64, eps: f64, r: f64, refine: bool) -> Value {
    json!({"kind": "route", "method": "paper", "paper": {"stencil": "forward", "eps": eps, "radius": r, "mx_factor": mx, "rank1": true, "solver": "spm", "refine": refine, "allow_partial": true}, "test_points": 100_000})
}

/// The spec of a plan, smallest work first within each part.
pub(crate) fn spec(p: &Plan) -> Value {
    let seeds = json!({"from": 1, "count": p.teachers});
    let mut grids = Vec::new();
    let refine_seeds = json!({"from": 1, "count": p.refine_teachers});
    for &s in &p.sizes {
        grids.push(json!({
            "experiments": [stages(2.0, 1e-5, 1.0), paper_route(2.0, 1e-5, 1.0, false), {"kind": "route", "method": "auto", "test_points": 100_000}],
            "sizes": [s], "families": p.families, "activations": p.activations, "seeds": seeds,
        }));
        grids.push(json!({
            "experiments": [paper_route(2.0, 1e-5, 1.0, true)],
            "sizes": [s], "families": p.families, "activations": p.activations, "seeds": refine_seeds,
        }));
    }
    if p.main_only {
        return json!({ "grids": grids });
    }
    let sweep_mx: Vec<Value> = p.mx_factors.iter().map(|&m| stages(m, 1e-5, 1.0)).collect();
    let sweep_eps: Vec<Value> = p
        .eps
        .iter()
        .flat_map(|&e| p.radii.iter().map(move |&r| stages(2.0, e, r)))
        .collect();
    grids.push(
        json!({"experiments": sweep_mx, "sizes": p.sizes, "families": [generic()], "seeds": seeds}),
    );
    grids.push(json!({"experiments": sweep_eps, "sizes": p.sizes, "families": [generic()], "seeds": seeds}));
    // The m1 = 1 regime and the predecessor's setting: the stages on every teacher; the
    // paper pipeline (its fit costs seconds per run there) on `side_route_teachers` of
    // them, and in the predecessor's setting only where m_X ≥ m0 + m1 (below, step 2
    // cannot run: K > m_X).
    let route_seeds = json!({"from": 1, "count": p.side_route_teachers});
    let regime_stages: Vec<Value> = p
        .regime_radii
        .iter()
        .map(|&r| stages(2.0, 1e-5, r))
        .collect();
    let regime_routes: Vec<Value> = p
        .regime_radii
        .iter()
        .map(|&r| paper_route(2.0, 1e-5, r, false))
        .collect();
    let regime_family = [orthogonal(false, 0.05)];
    grids.push(json!({"experiments": regime_stages, "sizes": [REGIME], "families": regime_family, "seeds": seeds}));
    grids.push(json!({"experiments": regime_routes, "sizes": [REGIME], "families": regime_family, "seeds": route_seeds}));
    let k = PREDECESSOR[1] + PREDECESSOR[2];
    let factor = |m: usize| m as f64 / k as f64;
    let pred_stages: Vec<Value> = p
        .predecessor_mx
        .iter()
        .map(|&m| stages(factor(m), 1e-3, 1.0))
        .collect();
    let pred_routes: Vec<Value> = p
        .predecessor_mx
        .iter()
        .filter(|&&m| m >= k && (p.predecessor_route_all || m == k + 9))
        .map(|&m| paper_route(factor(m), 1e-3, 1.0, false))
        .collect();
    let pred_family = [orthogonal(true, 0.05)];
    grids.push(json!({"experiments": pred_stages, "sizes": [PREDECESSOR], "families": pred_family, "seeds": seeds}));
    if !pred_routes.is_empty() {
        grids.push(json!({"experiments": pred_routes, "sizes": [PREDECESSOR], "families": pred_family, "seeds": route_seeds}));
    }
    json!({ "grids": grids })
}

// ---- record accessors -------------------------------------------------------------------

fn exp_num(r: &Value, key: &str) -> f64 {
    num(r, &format!("trial.experiment.{key}"))
        .or_else(|| num(r, &format!("trial.experiment.paper.{key}")))
        .unwrap_or(f64::NAN)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1e-300)
}

fn is_default_point(r: &Value) -> bool {
    close(exp_num(r, "mx_factor"), 2.0)
        && close(exp_num(r, "eps"), 1e-5)
        && close(exp_num(r, "radius"), 1.0)
}

fn family(r: &Value) -> Value {
    at(r, "trial.family").cloned().unwrap_or(Value::Null)
}

fn activation(r: &Value) -> &str {
    text(r, "trial.activation").unwrap_or("")
}

/// `paper`, `paper+refine`, `auto`, … for route records; `stages` otherwise.
fn method(r: &Value) -> String {
    match kind(r) {
        "route" => match text(r, "trial.experiment.method") {
            Some("paper") if flag(r, "trial.experiment.paper.refine") => "paper+refine".into(),
            Some(m) => m.into(),
            None => "?".into(),
        },
        k => k.into(),
    }
}

fn family_name(f: &Value) -> String {
    let w = match at(f, "weights") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => format!(
            "orthogonal+{}",
            num(v, "perturbed_orthogonal.eps").unwrap_or(f64::NAN)
        ),
        None => "?".into(),
    };
    let b = if flag(f, "positive_b") {
        "all-positive B"
    } else {
        "sign-balanced B"
    };
    format!(
        "{w} A, {b}, shifts ±{}",
        num(f, "shift_range").unwrap_or(f64::NAN)
    )
}

/// Rank-one truth counts of a route record (the pipeline's own diagnostics).
fn route_found(r: &Value, which: &str) -> Option<f64> {
    at(r, "result.stages")?
        .as_array()?
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some("rank1"))
        .and_then(|s| at(s, "details.truth")?.get(which)?.as_f64())
}

/// Fraction found: Σ found / (teachers · count).
fn found_rate(recs: &[&Value], path: &str, per: usize) -> f64 {
    let got: Vec<f64> = recs.iter().filter_map(|r| num(r, path)).collect();
    if got.is_empty() || per == 0 {
        f64::NAN
    } else {
        got.iter().sum::<f64>() / (got.len() * per) as f64
    }
}

fn col(recs: &[&Value], path: &str) -> Vec<f64> {
    recs.iter().filter_map(|r| num(r, path)).collect()
}

// ---- the report ---------------------------------------------------------------------------

/// The report's body and its plots (file stem → panels, columns).
pub(crate) struct Body {
    pub markdown: String,
    pub plots: Vec<(String, Vec<Panel>, usize)>,
}

/// Summary figures the comparison with the paper needs.
#[derive(Default)]
struct Facts {
    generic_a: Vec<f64>,
    generic_v: Vec<f64>,
    refine_success: Vec<(String, usize, usize)>,
    regime_a: f64,
    regime_v: f64,
    predecessor_threshold: Option<usize>,
    predecessor_none_below: Option<usize>,
    fd_by_eps: Vec<(f64, f64)>,
}

fn main_tables(records: &[Value], plan: &Plan, md: &mut String, facts: &mut Facts) -> Vec<Panel> {
    let main: Vec<&Value> = records
        .iter()
        .filter(|r| {
            plan.sizes.contains(&size(r)) && is_default_point(r)
                || (kind(r) == "route"
                    && text(r, "trial.experiment.method") == Some("auto")
                    && plan.sizes.contains(&size(r)))
        })
        .collect();
    let _ = writeln!(
        md,
        "\n## 1. The paper's pipeline at its defaults, and nnid's default beside it\n"
    );
    let _ = writeln!(
        md,
        "m_X = 2(m0 + m1) Hessians by forward differences (ε = 1e-5) on the unit sphere, K = m0 + m1, subspace power method, the drift attribution, the paper's fit; *paper* stops there (random fill-ins when candidates are missing, so every run ends with a network), *paper+refine* adds the penalised LM. *a_i / v_l within 0.05*: rank-one candidates within 0.05 of a true weight up to sign (paper-spec §4). *success*: rel-L2 of f̂ < 1e-6 on 10⁵ points uniform in the unit ball and every a_i within 1e-4. Queries are every query, certificate included; the paper's Hessian budget is m_X(d+1)(d+2)/2.\n"
    );
    let mut query_series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (fam_key, fam_recs) in group_by(main.iter().copied(), |r| family(r).to_string()) {
        let fam: Value = serde_json::from_str(&fam_key).unwrap_or(Value::Null);
        for (act, recs) in group_by(fam_recs, |r| activation(r).to_string()) {
            let mut t = Table::new([
                "size",
                "method",
                "a_i within 0.05",
                "v_l within 0.05",
                "‖P_W − P_Ŵ‖ (median)",
                "rel-L2 of f̂ (median)",
                "rel-L2 (worst)",
                "success",
                "certified",
                "queries (median)",
                "÷ paper budget",
                "time (median)",
            ]);
            for (s, at_size) in group_by(recs, size) {
                let stage_recs: Vec<&Value> = at_size
                    .iter()
                    .copied()
                    .filter(|r| kind(r) == "stages" && ok(r))
                    .collect();
                let dist = median(&col(&stage_recs, "result.subspace.distance"));
                let a_stage = found_rate(&stage_recs, "result.rank1.a_found", s[1]);
                let v_stage = found_rate(&stage_recs, "result.rank1.v_found", s[2]);
                if fam == generic() && act == "tanh" && !a_stage.is_nan() {
                    facts.generic_a.push(a_stage);
                    facts.generic_v.push(v_stage);
                }
                for m in ["paper", "paper+refine", "auto"] {
                    let rs: Vec<&Value> = at_size
                        .iter()
                        .copied()
                        .filter(|r| kind(r) == "route" && method(r) == m)
                        .collect();
                    if rs.is_empty() {
                        continue;
                    }
                    let good: Vec<&Value> = rs.iter().copied().filter(|r| ok(r)).collect();
                    let succ = good.iter().filter(|r| flag(r, "result.success")).count();
                    let cert = good.iter().filter(|r| flag(r, "result.certified")).count();
                    let (a, v) = if m == "auto" {
                        ("—".to_string(), "—".to_string())
                    } else {
                        let a: Vec<f64> = good
                            .iter()
                            .filter_map(|r| route_found(r, "first_layer_within_0.05"))
                            .collect();
                        let v: Vec<f64> = good
                            .iter()
                            .filter_map(|r| route_found(r, "entangled_within_0.05"))
                            .collect();
                        let rate_of = |x: &[f64], per: usize| {
                            if x.is_empty() {
                                "—".into()
                            } else {
                                pct(x.iter().sum::<f64>() / (x.len() * per) as f64)
                            }
                        };
                        (rate_of(&a, s[1]), rate_of(&v, s[2]))
                    };
                    let q = median(&col(&good, "result.queries"));
                    if m == "paper+refine" && fam == generic() && act == "tanh" {
                        facts.refine_success.push((size_label(s), succ, good.len()));
                    }
                    if fam == generic() && act == "tanh" {
                        match query_series.iter_mut().find(|(n, _)| n == m) {
                            Some((_, p)) => p.push((s[0] as f64, q)),
                            None => query_series.push((m.to_string(), vec![(s[0] as f64, q)])),
                        }
                    }
                    t.row([
                        size_label(s),
                        m.to_string(),
                        a,
                        v,
                        if m == "auto" { "—".into() } else { sci(dist) },
                        sci(median(&col(&good, "result.rel_l2"))),
                        sci(min_max(&col(&good, "result.rel_l2")).1),
                        rate(succ, good.len()),
                        rate(cert, good.len()),
                        count(q),
                        format!("{:.2}", q / paper_budget(s) as f64),
                        secs(median(&col(&good, "result.seconds"))),
                    ]);
                }
            }
            if !t.is_empty() {
                let _ = writeln!(md, "### {} ({act})\n\n{}", family_name(&fam), t.render());
            }
        }
    }
    let budget: Vec<(f64, f64)> = plan
        .sizes
        .iter()
        .map(|&s| (s[0] as f64, paper_budget(s) as f64))
        .collect();
    let params: Vec<(f64, f64)> = plan
        .sizes
        .iter()
        .map(|&s| (s[0] as f64, parameters(s) as f64))
        .collect();
    let mut series = vec![
        Series::markers("paper's Hessian budget", budget),
        Series::markers("parameters P", params),
    ];
    series.extend(
        query_series
            .into_iter()
            .map(|(n, p)| Series::markers(format!("{n} (measured)"), p)),
    );
    vec![Panel {
        title: "Queries per identification (generic, tanh)".into(),
        x_label: "d".into(),
        y_label: "queries".into(),
        log_x: false,
        log_y: true,
        series,
        ..Panel::default()
    }]
}

fn spectra_panels(records: &[Value], plan: &Plan) -> Vec<Panel> {
    let mut panels = Vec::new();
    for &s in &plan.sizes {
        let first = records
            .iter()
            .filter(|r| {
                kind(r) == "stages"
                    && ok(r)
                    && size(r) == s
                    && is_default_point(r)
                    && family(r) == generic()
                    && activation(r) == "tanh"
            })
            .min_by_key(|r| seed(r));
        let Some(r) = first else { continue };
        let sv: Vec<f64> = at(r, "result.subspace.singular_values")
            .and_then(Value::as_array)
            .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_f64).collect());
        let s1 = sv.first().copied().unwrap_or(1.0);
        let pts = sv
            .iter()
            .enumerate()
            .map(|(k, v)| ((k + 1) as f64, v / s1))
            .collect();
        panels.push(Panel {
            title: format!("{} seed {}: σ_k/σ_1", size_label(s), seed(r)),
            x_label: "k".into(),
            y_label: "σ_k / σ_1".into(),
            log_y: true,
            series: vec![Series::line("", pts)],
            vlines: vec![(s[1] + s[2]) as f64 + 0.5],
            ..Panel::default()
        });
    }
    panels
}

fn mx_sweep(records: &[Value], plan: &Plan, md: &mut String) -> Vec<Panel> {
    let recs: Vec<&Value> = records
        .iter()
        .filter(|r| {
            kind(r) == "stages"
                && ok(r)
                && family(r) == generic()
                && activation(r) == "tanh"
                && close(exp_num(r, "eps"), 1e-5)
                && close(exp_num(r, "radius"), 1.0)
                && plan.sizes.contains(&size(r))
        })
        .collect();
    let _ = writeln!(
        md,
        "\n## 2. Error vs number of Hessians (m_X)\n\nGeneric tanh teachers, ε = 1e-5, r = 1. With m_X < m0 + m1 the subspace has dimension m_X (so ‖P_W − P_Ŵ‖ = 1) and the rank-one search runs in it.\n"
    );
    let mut t = Table::new([
        "size",
        "m_X / (m0+m1)",
        "m_X",
        "a_i within 0.05",
        "v_l within 0.05",
        "‖P_W − P_Ŵ‖ (median)",
        "min ‖P_Ŵ(a aᵀ)‖_F (median)",
        "Hessian queries",
    ]);
    let (mut pa, mut pv, mut pd) = (Vec::new(), Vec::new(), Vec::new());
    for (s, at_size) in group_by(recs, size) {
        let (mut a_pts, mut v_pts, mut d_pts) = (Vec::new(), Vec::new(), Vec::new());
        for &f in &plan.mx_factors {
            let rs: Vec<&Value> = at_size
                .iter()
                .copied()
                .filter(|r| close(exp_num(r, "mx_factor"), f))
                .collect();
            if rs.is_empty() {
                continue;
            }
            let a = found_rate(&rs, "result.rank1.a_found", s[1]);
            let v = found_rate(&rs, "result.rank1.v_found", s[2]);
            let dist = median(&col(&rs, "result.subspace.distance"));
            let min_in: Vec<f64> = rs
                .iter()
                .map(|r| {
                    at(r, "result.subspace.a_in_subspace")
                        .and_then(Value::as_array)
                        .map_or(f64::NAN, |x| {
                            x.iter()
                                .filter_map(Value::as_f64)
                                .fold(f64::INFINITY, f64::min)
                        })
                })
                .collect();
            t.row([
                size_label(s),
                format!("{f}"),
                count(median(&col(&rs, "result.hessians.count"))),
                pct(a),
                pct(v),
                sci(dist),
                format!("{:.3}", median(&min_in)),
                count(median(&col(&rs, "result.hessians.queries"))),
            ]);
            a_pts.push((f, a));
            v_pts.push((f, v));
            d_pts.push((f, dist));
        }
        pa.push(Series::line(size_label(s), a_pts));
        pv.push(Series::line(size_label(s), v_pts));
        pd.push(Series::line(size_label(s), d_pts));
    }
    let _ = writeln!(md, "{}\n![recovery vs m_X](PLOT-hessians.svg)", t.render());
    let panel = |title: &str, y: &str, log_y: bool, series| Panel {
        title: title.into(),
        x_label: "m_X / (m0 + m1)".into(),
        y_label: y.into(),
        log_y,
        series,
        vlines: vec![1.0],
        y_range: (y == "fraction").then_some((0.0, 1.0)),
        ..Panel::default()
    };
    vec![
        panel("a_i within 0.05", "fraction", false, pa),
        panel("v_l within 0.05", "fraction", false, pv),
        panel("‖P_W − P_Ŵ‖", "distance", true, pd),
    ]
}

fn eps_sweep(records: &[Value], plan: &Plan, md: &mut String, facts: &mut Facts) -> Vec<Panel> {
    let recs: Vec<&Value> = records
        .iter()
        .filter(|r| {
            kind(r) == "stages"
                && ok(r)
                && family(r) == generic()
                && activation(r) == "tanh"
                && close(exp_num(r, "mx_factor"), 2.0)
                && plan.sizes.contains(&size(r))
        })
        .collect();
    let _ = writeln!(
        md,
        "\n## 3. Error vs finite-difference step ε and sampling radius r\n\nGeneric tanh teachers, m_X = 2(m0 + m1). *FD error*: ‖Ĥ − ∇²f‖_F/‖∇²f‖_F against the exact Hessian at the same point, median over points and teachers.\n"
    );
    let mut t = Table::new([
        "size",
        "ε",
        "r",
        "FD error (median)",
        "‖P_W − P_Ŵ‖ (median)",
        "a_i within 0.05",
        "v_l within 0.05",
    ]);
    for (s, at_size) in group_by(recs.iter().copied(), size) {
        for &e in &plan.eps {
            for &r in &plan.radii {
                let rs: Vec<&Value> = at_size
                    .iter()
                    .copied()
                    .filter(|x| close(exp_num(x, "eps"), e) && close(exp_num(x, "radius"), r))
                    .collect();
                if rs.is_empty() {
                    continue;
                }
                t.row([
                    size_label(s),
                    format!("{e:e}"),
                    format!("{r}"),
                    sci(median(&col(&rs, "result.hessians.fd_error_median"))),
                    sci(median(&col(&rs, "result.subspace.distance"))),
                    pct(found_rate(&rs, "result.rank1.a_found", s[1])),
                    pct(found_rate(&rs, "result.rank1.v_found", s[2])),
                ]);
            }
        }
    }
    let _ = writeln!(md, "{}\n![error vs step size](PLOT-step.svg)", t.render());
    let (mut fd, mut dist, mut found) = (Vec::new(), Vec::new(), Vec::new());
    for &r in &plan.radii {
        let at_r: Vec<&Value> = recs
            .iter()
            .copied()
            .filter(|x| close(exp_num(x, "radius"), r))
            .collect();
        let pts = |f: &dyn Fn(&[&Value]) -> f64| -> Vec<(f64, f64)> {
            plan.eps
                .iter()
                .map(|&e| {
                    (
                        e,
                        f(&at_r
                            .iter()
                            .copied()
                            .filter(|x| close(exp_num(x, "eps"), e))
                            .collect::<Vec<_>>()),
                    )
                })
                .collect()
        };
        fd.push(Series::line(
            format!("r = {r}"),
            pts(&|v| median(&col(v, "result.hessians.fd_error_median"))),
        ));
        dist.push(Series::line(
            format!("r = {r}"),
            pts(&|v| median(&col(v, "result.subspace.distance"))),
        ));
        found.push(Series::line(
            format!("r = {r}"),
            pts(&|v| {
                let per: Vec<f64> = v
                    .iter()
                    .filter_map(|x| Some(num(x, "result.rank1.a_found")? / size(x)[1] as f64))
                    .collect();
                median(&per)
            }),
        ));
        if close(r, 1.0) {
            let d20: Vec<&Value> = at_r.iter().copied().filter(|x| size(x)[0] == 20).collect();
            facts.fd_by_eps = plan
                .eps
                .iter()
                .map(|&e| {
                    (
                        e,
                        median(&col(
                            &d20.iter()
                                .copied()
                                .filter(|x| close(exp_num(x, "eps"), e))
                                .collect::<Vec<_>>(),
                            "result.hessians.fd_error_median",
                        )),
                    )
                })
                .collect();
        }
    }
    let panel = |title: &str, y: &str, log_y: bool, series| Panel {
        title: title.into(),
        x_label: "ε".into(),
        y_label: y.into(),
        log_x: true,
        log_y,
        series,
        y_range: (y == "fraction").then_some((0.0, 1.0)),
        ..Panel::default()
    };
    vec![
        panel(
            "FD Hessian error (all sizes)",
            "relative Frobenius error",
            true,
            fd,
        ),
        panel("‖P_W − P_Ŵ‖", "distance", true, dist),
        panel("a_i within 0.05 (median share)", "fraction", false, found),
    ]
}

fn regime(records: &[Value], md: &mut String, facts: &mut Facts) {
    let recs: Vec<&Value> = records
        .iter()
        .filter(|r| size(r) == REGIME && ok(r))
        .collect();
    let _ = writeln!(
        md,
        "\n## 4. The m1 = 1 regime where the paper's method works (paper-spec §9)\n\n(d, m0, m1) = (30, 10, 1), A = orthonormal rows + 0.1 perturbation, B positive (one column), shifts in [−0.05, 0.05], m_X = 2(m0 + m1), ε = 1e-5. Steps 1–3 on every teacher; the paper pipeline without refinement on the first SIDE of them.\n"
    );
    let mut t = Table::new([
        "radius",
        "teachers",
        "a_i within 0.05",
        "v_l within 0.05",
        "‖P_W − P_Ŵ‖ (median)",
        "paper: rel-L2 of f̂ (median)",
        "paper: certified",
    ]);
    let (mut all_a, mut all_v) = (Vec::new(), Vec::new());
    for (rk, rs) in group_by(recs, |r| format!("{:.3}", exp_num(r, "radius"))) {
        let st: Vec<&Value> = rs.iter().copied().filter(|r| kind(r) == "stages").collect();
        let rt: Vec<&Value> = rs.iter().copied().filter(|r| kind(r) == "route").collect();
        let a = found_rate(&st, "result.rank1.a_found", REGIME[1]);
        let v = found_rate(&st, "result.rank1.v_found", REGIME[2]);
        all_a.push(a);
        all_v.push(v);
        let cert = rt.iter().filter(|r| flag(r, "result.certified")).count();
        t.row([
            rk,
            st.len().to_string(),
            pct(a),
            pct(v),
            sci(median(&col(&st, "result.subspace.distance"))),
            sci(median(&col(&rt, "result.rel_l2"))),
            rate(cert, rt.len()),
        ]);
    }
    facts.regime_a = median(&all_a);
    facts.regime_v = median(&all_v);
    let _ = writeln!(md, "{}", t.render());
}

fn predecessor(records: &[Value], md: &mut String, facts: &mut Facts) -> Vec<Panel> {
    let recs: Vec<&Value> = records
        .iter()
        .filter(|r| size(r) == PREDECESSOR && ok(r))
        .collect();
    let k = (PREDECESSOR[1] + PREDECESSOR[2]) as f64;
    let _ = writeln!(
        md,
        "\n## 5. The one-layer predecessor's experiment, in our model (paper-spec §8)\n\nd = m0 = 20, m1 = 1, A = orthonormal rows + 0.1 perturbation, positive B, shifts in [−0.05, 0.05], ε = 1e-3, points on the unit sphere. Steps 1–3 on every teacher; the paper pipeline without refinement (its f̂ errors) on the first SIDE teachers, at PREDMX. The predecessor (one hidden layer, d = m = 20) reports: nothing recovered for m_X ≤ 16, about half at m_X = 18, everything for m_X ≥ 20 = m, with the uniform error of f̂ dropping from 0.74 to about 0.\n"
    );
    let mut t = Table::new([
        "m_X",
        "a_i within 0.05",
        "teachers with all 20 a_i",
        "v_1 within 0.05",
        "rel-sup of f̂ (median)",
        "rel-L2 of f̂ (median)",
    ]);
    let (mut pts, mut err_pts) = (Vec::new(), Vec::new());
    let mut threshold = None;
    let mut none_below = None;
    for (mx, rs) in group_by(recs, |r| (exp_num(r, "mx_factor") * k).round() as usize) {
        let st: Vec<&Value> = rs.iter().copied().filter(|r| kind(r) == "stages").collect();
        let rt: Vec<&Value> = rs.iter().copied().filter(|r| kind(r) == "route").collect();
        let a = found_rate(&st, "result.rank1.a_found", PREDECESSOR[1]);
        let all = st
            .iter()
            .filter(|r| num(r, "result.rank1.a_found") == Some(PREDECESSOR[1] as f64))
            .count();
        if threshold.is_none() && a >= 0.9 {
            threshold = Some(mx);
        }
        if a <= 0.05 {
            none_below = Some(mx);
        }
        let sup = median(&col(&rt, "result.rel_sup"));
        t.row([
            mx.to_string(),
            pct(a),
            rate(all, st.len()),
            pct(found_rate(&st, "result.rank1.v_found", 1)),
            sci(sup),
            sci(median(&col(&rt, "result.rel_l2"))),
        ]);
        pts.push((mx as f64, a));
        err_pts.push((mx as f64, sup));
    }
    facts.predecessor_threshold = threshold;
    facts.predecessor_none_below = none_below;
    let _ = writeln!(
        md,
        "{}\n![predecessor setting](PLOT-predecessor.svg)",
        t.render()
    );
    let reported = vec![
        (10.0, 0.0),
        (16.0, 0.0),
        (18.0, 0.5),
        (20.0, 1.0),
        (40.0, 1.0),
    ];
    vec![
        Panel {
            title: "a_i within 0.05 vs m_X".into(),
            x_label: "m_X".into(),
            y_label: "fraction".into(),
            series: vec![
                Series::line("ours (d = m0 = 20, m1 = 1)", pts),
                Series::line("predecessor, reported (one layer)", reported),
            ],
            vlines: vec![20.0, 21.0],
            y_range: Some((0.0, 1.0)),
            ..Panel::default()
        },
        Panel {
            title: "rel-sup error of f̂ vs m_X".into(),
            x_label: "m_X".into(),
            y_label: "relative sup error".into(),
            log_y: true,
            series: vec![Series::line("ours", err_pts)],
            vlines: vec![20.0, 21.0],
            ..Panel::default()
        },
    ]
}

fn verdict(ours: f64, lo: f64, hi: f64) -> &'static str {
    if ours.is_nan() {
        "not measured in this run"
    } else if ours < lo {
        "below the reported range"
    } else if ours > hi {
        "above the reported range"
    } else {
        "within the reported range"
    }
}

fn comparison(md: &mut String, f: &Facts) {
    let _ = writeln!(
        md,
        "\n## 6. Next to the paper's reported numbers: where ours differ and why\n"
    );
    let (alo, ahi) = min_max(&f.generic_a);
    let (vlo, vhi) = min_max(&f.generic_v);
    let mut t = Table::new([
        "experiment",
        "reported (paper-spec)",
        "ours (this run)",
        "verdict",
    ]);
    t.row([
        "generic family, tanh, defaults: a_i with a candidate within 0.05".to_string(),
        "3–10 % (§9, exact Hessians, 10 teachers per size)".into(),
        format!("{} – {} over sizes", pct(alo), pct(ahi)),
        verdict(median(&f.generic_a), 0.03, 0.10).into(),
    ]);
    t.row([
        "same, v_l within 0.05".to_string(),
        "0–2 % (§9)".into(),
        format!("{} – {}", pct(vlo), pct(vhi)),
        verdict(median(&f.generic_v), 0.0, 0.02).into(),
    ]);
    t.row([
        "m1 = 1 regime (30,10,1), r = 0.1–0.3: a_i / v_l within 0.05".to_string(),
        "every a_i and v_l (§9, 4 teachers)".into(),
        format!("{} / {}", pct(f.regime_a), pct(f.regime_v)),
        verdict(f.regime_a.min(f.regime_v), 0.99, 1.0).into(),
    ]);
    let thr = f
        .predecessor_threshold
        .map_or_else(|| "not reached".to_string(), |m| format!("m_X = {m}"));
    t.row([
        "predecessor setting: smallest m_X recovering ≥ 90 % of the a_i".to_string(),
        "m_X = 20 = m (one-layer model; nothing for m_X ≤ 16)".into(),
        format!(
            "{thr} (≤ 5 % found up to m_X = {})",
            f.predecessor_none_below
                .map_or_else(|| "—".into(), |m| m.to_string())
        ),
        if f.predecessor_threshold.is_some_and(|m| m <= 22) {
            "close to the reported threshold"
        } else {
            "differs"
        }
        .into(),
    ]);
    let refine: Vec<String> = f
        .refine_success
        .iter()
        .map(|(s, k, n)| format!("{s}: {k}/{n}"))
        .collect();
    t.row([
        "paper candidates + penalised LM refinement: exact identifications".to_string(),
        "10/10 at (20,10,5) and (30,20,10) (§6, prototype with correlation attribution)".into(),
        if refine.is_empty() {
            "—".into()
        } else {
            refine.join(", ")
        },
        "see the table of section 1".into(),
    ]);
    for &(e, v) in &f.fd_by_eps {
        let reported = if close(e, 1e-3) {
            Some((9.6e-4, "9.6e-4"))
        } else if close(e, 1e-4) {
            Some((9.6e-5, "9.6e-5"))
        } else if close(e, 1e-5) {
            Some((2.9e-5, "2.9e-5"))
        } else {
            None
        };
        if let Some((x, s)) = reported {
            t.row([
                format!("forward-difference Hessian error at ε = {e:e} (d = 20)"),
                format!("{s} (§2, one tanh net)"),
                sci(v),
                verdict(v, x / 3.0, x * 3.0).into(),
            ]);
        }
    }
    let _ = writeln!(md, "{}", t.render());
    let _ = writeln!(
        md,
        "Why ours can differ:\n\
         - **Finite differences vs exact Hessians.** §9's recovery figures use exact Hessians; ours use the paper's forward differences (ε = 1e-5). §9 measured the difference as negligible next to the leakage of the Hessians out of W (3e-5 against 3e-2 to 5e-2), so the recovery rates should agree within the spread of a few teachers.\n\
         - **Rank-one solver and acceptance.** The authors' experiments ran their matrix iteration (solver A) from 180–200 random starts; we run the subspace power method with deflation and accept maximisers with ‖P_Ŵ(uuᵀ)‖_F ≥ 0.95. Where Ŵ is inaccurate, spurious maximisers pass that threshold and true ones may not, so counts within 0.05 depend on the solver.\n\
         - **The predecessor's model is not ours.** It has one hidden layer (W of dimension m = 20, linear output); ours has m1 = 1 tanh output neuron, so W = span{{a_i a_iᵀ, v_1 v_1ᵀ}} has dimension m0 + m1 = 21 and the threshold moves to m_X ≈ 21; the output nonlinearity also bends the Hessians away from W at first order in |x|.\n\
         - **Teachers and counts.** The spread over {{teachers}} teachers per cell is large at these rates: a difference of one found weight per teacher is 10 % at m0 = 10.\n\
         - **Sizes of the uniform error.** The predecessor reports the uniform error of f̂; we report the relative sup and L2 errors on 10⁵ points in the unit ball."
    );
}

/// Builds the whole report body from the records.
pub(crate) fn report(records: &[Value], plan: &Plan, plot_prefix: &str) -> Body {
    let mut md = String::new();
    let mut facts = Facts::default();
    let _ = writeln!(
        md,
        "\nTeachers per cell: {} (seeds 1…{}){}. The grids are described in `xtask/src/reproduce.rs`; every trial's settings are in the raw results.",
        plan.teachers,
        plan.teachers,
        if plan.refine_teachers < plan.teachers {
            format!(
                "; *paper+refine* on seeds 1…{} of each cell of section 1 where the run had not measured more (`--refine-teachers`), so its count is in its *success* column",
                plan.refine_teachers
            )
        } else {
            String::new()
        }
    );
    let queries = main_tables(records, plan, &mut md, &mut facts);
    let spectra = spectra_panels(records, plan);
    let _ = writeln!(
        md,
        "\nSingular values of the stacked Hessians (one generic tanh teacher per size, defaults); the vertical line is K = m0 + m1: the gap the paper's Step 2 relies on is weak (paper-spec §3).\n\n![singular value spectra](PLOT-spectra.svg)\n\nQueries per identification against the dimension (generic tanh teachers):\n\n![queries vs d](PLOT-queries.svg)"
    );
    let (mx, step, pred) = if plan.main_only {
        (Vec::new(), Vec::new(), Vec::new())
    } else {
        let mx = mx_sweep(records, plan, &mut md);
        let step = eps_sweep(records, plan, &mut md, &mut facts);
        regime(records, &mut md, &mut facts);
        let pred = predecessor(records, &mut md, &mut facts);
        comparison(&mut md, &facts);
        (mx, step, pred)
    };
    let pred_mx = if plan.predecessor_route_all {
        "every m_X ≥ m0 + m1 = 21".to_string()
    } else {
        "m_X = 30".to_string()
    };
    let md = md
        .replace("SIDE", &plan.side_route_teachers.to_string())
        .replace("PREDMX", &pred_mx)
        .replace("{teachers}", &plan.teachers.to_string())
        .replace("PLOT-", &format!("{plot_prefix}-"));
    let plots = vec![
        ("spectra".to_string(), spectra, 3),
        ("queries".to_string(), queries, 1),
        ("hessians".to_string(), mx, 3),
        ("step".to_string(), step, 3),
        ("predecessor".to_string(), pred, 2),
    ];
    Body {
        markdown: md,
        plots,
    }
}

/// Runs the grid and writes docs/results/paper.md (paper-quick.md with `--quick`).
///
/// # Errors
/// Bad sizes, the build or the run failed, or the report could not be written.
pub(crate) fn run(root: &Path, args: &ReproduceArgs) -> Result<()> {
    let plan = Plan::new(args)?;
    let results = if args.quick { "paper-quick" } else { "paper" };
    let name = if args.main_only {
        "paper-main"
    } else {
        results
    };
    let spec = spec(&plan);
    let out = work_dir(root)?.join(format!("{results}.jsonl"));
    let (records, ended) = Runner::new(root, "").measure(&spec, &out, &args.common)?;
    let in_plan = |r: &Value| {
        let s = size(r);
        let main_cell = plan.sizes.contains(&s)
            && plan.families.contains(&family(r))
            && plan.activations.contains(&activation(r));
        let side_cell = !plan.main_only && (s == PREDECESSOR || s == REGIME);
        (main_cell || side_cell) && (1..=plan.teachers).contains(&seed(r))
    };
    let records: Vec<Value> = records.into_iter().filter(in_plan).collect();
    let failed = records.iter().filter(|r| !ok(r)).count();
    let header = Header {
        title: format!(
            "Reproducing the paper's experiments{}",
            if args.quick {
                " (quick grid)"
            } else if args.main_only {
                ": the main grid (the paper's pipeline at its defaults, and nnid's default)"
            } else {
                ""
            }
        ),
        backends:
            "faer (the default build of `nnid`; the backends agree to rounding, see backends.md)"
                .into(),
        raw: format!(
            "`target/xtask/{results}.jsonl` ({} trials in this report, {failed} with errors)",
            records.len()
        ),
    };
    let body = report(&records, &plan, name);
    let mut doc = header.render(root);
    doc.push_str(&partial_note(ended, records.len(), spec_len(&spec)));
    doc.push_str(&body.markdown);
    let dir = root.join("docs/results");
    std::fs::create_dir_all(&dir)?;
    for (stem, panels, cols) in &body.plots {
        if !panels.is_empty() {
            write_svg(
                &dir.join(format!("{name}-{stem}.svg")),
                &command_line(),
                panels,
                *cols,
            )?;
        }
    }
    std::fs::write(dir.join(format!("{name}.md")), doc)?;
    eprintln!("xtask: wrote docs/results/{name}.md and its plots");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(quick: bool) -> ReproduceArgs {
        ReproduceArgs {
            quick,
            teachers: None,
            sizes: vec![],
            main_only: false,
            families: vec![],
            activations: vec![],
            refine_teachers: None,
            common: crate::flags::Common {
                report_only: true,
                fresh: false,
            },
        }
    }

    #[test]
    fn quick_plan_is_small_and_full_plan_is_the_paper_grid() {
        let q = Plan::new(&args(true)).unwrap();
        let n = spec_len(&spec(&q));
        assert!(n <= 80, "quick grid has {n} trials");
        let f = Plan::new(&args(false)).unwrap();
        assert_eq!(f.sizes, PAPER_SIZES.to_vec());
        assert_eq!(f.teachers, 20);
        // The default point is shared by the main grid and both sweeps: counted once, so
        // each sweep adds its other points (4 of m_X, 8 of ε × r) per size and teacher.
        let s = spec(&f);
        let main = 5 * 3 * 2 * 20 * 4;
        let sweeps = 5 * 20 * (4 + 8) + 20 * 2 + 5 * 2 + 20 * 11 + 5 * 5;
        assert_eq!(spec_len(&s), main + sweeps);
    }

    #[test]
    fn main_only_plan_is_part_one_of_the_chosen_cells() {
        let mut a = args(false);
        a.main_only = true;
        a.families = vec!["generic".into()];
        a.activations = vec!["sigmoid".into()];
        a.sizes = vec!["10,6,3/50,30,15".into()];
        let p = Plan::new(&a).unwrap();
        assert_eq!(p.families, vec![generic()]);
        assert_eq!(p.activations, vec!["sigmoid"]);
        // stages, paper, paper+refine and auto per size and teacher; nothing else.
        assert_eq!(spec_len(&spec(&p)), 2 * 20 * 4);
        a.refine_teachers = Some(5);
        let p = Plan::new(&a).unwrap();
        assert_eq!(spec_len(&spec(&p)), 2 * 20 * 3 + 2 * 5);
        a.families = vec!["generik".into()];
        let err = Plan::new(&a).unwrap_err().to_string();
        assert!(err.contains("unknown family `generik`"), "{err}");
    }

    fn stage_rec(s: [usize; 3], sd: u64, mx: f64, eps: f64, r: f64, a_found: usize) -> Value {
        json!({"key": "k", "ok": true, "trial": {"experiment": {"kind": "stages", "mx_factor": mx, "eps": eps, "radius": r}, "size": s, "seed": sd, "activation": "tanh", "family": generic()},
               "result": {"hessians": {"fd_error_median": eps, "count": 30, "queries": 1000}, "subspace": {"distance": 0.3, "singular_values": [3.0, 2.0, 1.0], "a_in_subspace": [0.9, 0.8]}, "rank1": {"a_found": a_found, "v_found": 0}}})
    }

    #[test]
    fn report_fills_the_sweeps_and_the_comparison() {
        let plan = Plan::new(&args(true)).unwrap();
        let mut recs = Vec::new();
        for &m in &plan.mx_factors {
            recs.push(stage_rec([20, 10, 5], 1, m, 1e-5, 1.0, (m * 4.0) as usize));
        }
        for &e in &plan.eps {
            recs.push(stage_rec([20, 10, 5], 1, 2.0, e, 0.5, 1));
        }
        let body = report(&recs, &plan, "paper-quick");
        let md = &body.markdown;
        assert!(md.contains("| (20,10,5) | 0.5 | 30 | 20 % |"), "{md}");
        assert!(md.contains("![recovery vs m_X](paper-quick-hessians.svg)"));
        assert!(md.contains("## 6. Next to the paper's reported numbers"));
        // a_found at the default point is 8 of 10: above §9's 3–10 %.
        assert!(
            md.contains("80 % – 80 % over sizes | above the reported range"),
            "{md}"
        );
        assert_eq!(body.plots.len(), 5);
    }
}
