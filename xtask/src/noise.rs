//! `cargo xtask robust --noise` (issue 10): identification from degraded answers, written to
//! docs/results/noise.md and noise.svg.
//!
//! Two parts, both through `nnid experiment` route trials whose `oracle` field degrades the
//! teacher's answers exactly as `nnid identify --float32 --noise σ` does:
//! 1. **σ sweep**: additive Gaussian noise σ ∈ `--sigmas` at `--noise-size` (default
//!    (30, 20, 10)), generic teachers, every route method (auto on every teacher, the others on
//!    the first `--side-teachers`);
//! 2. **float32**: answers rounded to float32 on the robust grid (`--sizes`, families,
//!    activations), `auto` only, on the first `--float32-teachers` teachers of each cell.

use crate::flags::{RobustArgs, parse_sizes};
use crate::probe::{Header, command_line};
use crate::results::{flag, group_by, num, seed, size, size_label, spec_len, text};
use crate::robust::{Cell, ROUTES, SIZES, method, row};
use crate::run::{Runner, partial_note, work_dir};
use crate::stats::{count, median, rate, sci, secs};
use crate::table::Table;
use anyhow::{Result, bail};
use nnid_plot::{Panel, Series, write_svg};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The validated settings of a noise run.
struct Plan {
    sweep_size: [usize; 3],
    sigmas: Vec<f64>,
    activations: Vec<String>,
    methods: Vec<&'static str>,
    teachers: u64,
    side_teachers: u64,
    grid_sizes: Vec<[usize; 3]>,
    families: Vec<Value>,
    float32_teachers: u64,
    /// `auto`, and `auto-widths` when asked for.
    float32_methods: Vec<&'static str>,
}

impl Plan {
    fn new(args: &RobustArgs) -> Result<Self> {
        let sweep = parse_sizes(std::slice::from_ref(&args.noise_size))?;
        let [sweep_size] = sweep[..] else {
            bail!("--noise-size takes one size d,m0,m1");
        };
        let grid_sizes = if args.sizes.is_empty() {
            SIZES.to_vec()
        } else {
            parse_sizes(&args.sizes)?
        };
        if args.sigmas.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            bail!("--sigmas must be positive and finite");
        }
        let families = args
            .families
            .iter()
            .map(|f| crate::robust::family(f))
            .collect::<Result<Vec<_>>>()?;
        let teachers = args.teachers.unwrap_or(20);
        Ok(Self {
            sweep_size,
            sigmas: args.sigmas.clone(),
            activations: args.activations.clone(),
            methods: ROUTES
                .iter()
                .copied()
                .filter(|m| args.methods.iter().any(|x| x == m))
                .collect(),
            teachers,
            side_teachers: args.side_teachers.unwrap_or(teachers).min(teachers),
            grid_sizes,
            families,
            float32_teachers: args.float32_teachers,
            float32_methods: ["auto", "auto-widths"]
                .into_iter()
                .filter(|m| *m == "auto" || args.methods.iter().any(|x| x == m))
                .collect(),
        })
    }

    /// Teachers of a method in the sweep.
    fn sweep_teachers(&self, method: &str) -> u64 {
        if method == "auto" {
            self.teachers
        } else {
            self.side_teachers
        }
    }
}

/// A route experiment on a degraded oracle.
fn experiment(method: &str, oracle: &Value) -> Value {
    let mut e = crate::robust::route_experiment(method);
    e["oracle"] = oracle.clone();
    e
}

fn spec(plan: &Plan) -> Value {
    let mut grids = Vec::new();
    let generic = crate::robust::family("generic").expect("a known family");
    for &sigma in &plan.sigmas {
        let oracle = json!({"noise": sigma});
        for act in &plan.activations {
            for m in &plan.methods {
                grids.push(json!({"experiments": [experiment(m, &oracle)], "sizes": [plan.sweep_size], "families": [generic], "activations": [act], "seeds": {"from": 1, "count": plan.sweep_teachers(m)}}));
            }
        }
    }
    let float32 = json!({"float32": true});
    for &s in &plan.grid_sizes {
        for fam in &plan.families {
            for act in &plan.activations {
                let runs: Vec<Value> = plan
                    .float32_methods
                    .iter()
                    .map(|m| experiment(m, &float32))
                    .collect();
                grids.push(json!({"experiments": runs, "sizes": [s], "families": [fam], "activations": [act], "seeds": {"from": 1, "count": plan.float32_teachers}}));
            }
        }
    }
    json!({ "grids": grids })
}

/// The noise level of a record (the spec's value, so that it equals the plan's bit for bit).
fn sigma_of(r: &Value) -> f64 {
    num(r, "trial.experiment.oracle.noise").unwrap_or(0.0)
}

fn is_float32(r: &Value) -> bool {
    flag(r, "trial.experiment.oracle.float32")
}

/// Queries spent on the noise itself: the probe that chooses the route and the floor the
/// certificate uses.
fn noise_queries(r: &Value) -> f64 {
    ["noise_probe", "noise_floor"]
        .iter()
        .filter_map(|s| num(r, &format!("result.queries_by_stage.{s}")))
        .sum()
}

/// Largest a_i error, ∞ when one is missing or no network came out.
fn weight_error(r: &Value) -> f64 {
    num(r, "result.a_max_error").unwrap_or(f64::INFINITY)
}

/// Certified, yet its rel-L2 against the exact teacher in the unit ball is above 3 times the
/// certificate's threshold (the accuracy the certificate vouched for, with room for the
/// change from the validation distribution to the unit ball).
fn certified_wrong(r: &Value) -> bool {
    flag(r, "result.certified")
        && match (
            num(r, "result.rel_l2"),
            num(r, "result.certificate_threshold"),
        ) {
            (Some(e), Some(t)) => e > 3.0 * t,
            _ => true,
        }
}

/// The worst rel-L2 ÷ σ over the certified runs.
fn worst_ratio(rs: &[&Value], sigma: f64) -> f64 {
    let ratios: Vec<f64> = rs
        .iter()
        .filter(|r| flag(r, "result.certified"))
        .filter_map(|r| num(r, "result.rel_l2"))
        .map(|e| e / sigma)
        .collect();
    worst(&ratios)
}

fn worst(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NAN, f64::max)
}

/// A ratio with two significant digits, "—" when there is none.
fn ratio(x: f64) -> String {
    if x.is_nan() {
        "—".into()
    } else {
        format!("{x:.2}")
    }
}

/// The sweep's columns.
const SWEEP_COLUMNS: [&str; 14] = [
    "σ",
    "method",
    "success",
    "certified",
    "certified but wrong",
    "rel-L2 median",
    "rel-L2 worst",
    "rel-L2 ÷ σ (worst certified)",
    "max a_i error median",
    "max a_i error worst",
    "queries (median)",
    "noise queries",
    "time (median)",
    "errors",
];

/// Plot points (σ, value) per method.
type SeriesByMethod = BTreeMap<String, Vec<(f64, f64)>>;

/// Medians of one (σ, method) group for the plot: rel-L2 and the largest a_i error.
type Medians = (f64, f64);

/// The table row of one (σ, method) group, and its medians.
fn sweep_row(sigma: f64, m: &str, rs: &[&Value]) -> (Vec<String>, Medians) {
    let r = row(rs);
    let w: Vec<f64> = rs.iter().map(|r| weight_error(r)).collect();
    let extra: Vec<f64> = rs.iter().map(|r| noise_queries(r)).collect();
    let cells = vec![
        format!("{sigma:.0e}"),
        m.to_string(),
        rate(r.success, r.n),
        rate(r.certified, r.n),
        rs.iter().filter(|r| certified_wrong(r)).count().to_string(),
        sci(median(&r.rel_l2)),
        sci(worst(&r.rel_l2)),
        ratio(worst_ratio(rs, sigma)),
        sci(median(&w)),
        sci(worst(&w)),
        count(median(&r.queries)),
        count(median(&extra)),
        secs(median(&r.seconds)),
        r.errors.to_string(),
    ];
    (cells, (median(&r.rel_l2), median(&w)))
}

/// A log-log panel of the medians against σ, one line per method and the line y = σ.
fn sigma_panel(title: String, y: &str, sigmas: &[f64], series: SeriesByMethod) -> Panel {
    let reference = Series::line("y = σ", sigmas.iter().map(|&s| (s, s)).collect());
    Panel {
        title,
        x_label: "noise σ".into(),
        y_label: y.into(),
        log_x: true,
        log_y: true,
        series: series
            .into_iter()
            .map(|(k, pts)| Series::line(k, pts))
            .chain([reference])
            .collect(),
        ..Panel::default()
    }
}

/// Per activation: the sweep's table (σ by σ, every method) and two panels (rel-L2 and the
/// largest a_i error against σ).
fn sweep_tables(recs: &[&Value], plan: &Plan, md: &mut String) -> Vec<Panel> {
    let mut panels = Vec::new();
    for act in &plan.activations {
        let _ = writeln!(
            md,
            "\n### {} {act}, generic teachers\n",
            size_label(plan.sweep_size)
        );
        let mut t = Table::new(SWEEP_COLUMNS);
        let (mut err, mut wt) = (SeriesByMethod::new(), SeriesByMethod::new());
        for &sigma in &plan.sigmas {
            for m in &plan.methods {
                let rs: Vec<&Value> = recs
                    .iter()
                    .copied()
                    .filter(|r| {
                        text(r, "trial.activation") == Some(act)
                            && method(r) == *m
                            && sigma_of(r).to_bits() == sigma.to_bits()
                            && seed(r) <= plan.sweep_teachers(m)
                    })
                    .collect();
                if rs.is_empty() {
                    continue;
                }
                let (cells, (e, w)) = sweep_row(sigma, m, &rs);
                t.row(cells);
                if e.is_finite() {
                    err.entry(m.to_string()).or_default().push((sigma, e));
                }
                if w.is_finite() {
                    wt.entry(m.to_string()).or_default().push((sigma, w));
                }
            }
        }
        let _ = writeln!(md, "{}", t.render());
        panels.push(sigma_panel(
            format!("rel-L2 of f̂ in the unit ball, {act} (median)"),
            "relative L2 error",
            &plan.sigmas,
            err,
        ));
        panels.push(sigma_panel(
            format!("largest a_i error, {act} (median)"),
            "max_i ‖â_i − a_i‖",
            &plan.sigmas,
            wt,
        ));
    }
    panels
}

fn float32_table(recs: &[&Value], md: &mut String) {
    let mut t = Table::new([
        "cell",
        "success",
        "certified",
        "certified but wrong",
        "rel-L2 median",
        "rel-L2 worst",
        "max a_i error worst",
        "relative floor (median)",
        "queries (median)",
        "noise queries",
        "time (median)",
        "errors",
    ]);
    let mut total = (0, 0);
    for (cell, rs) in group_by(recs.iter().copied(), Cell::of) {
        let r = row(&rs);
        total = (total.0 + r.success, total.1 + r.n);
        let w: Vec<f64> = rs.iter().map(|r| weight_error(r)).collect();
        let floors: Vec<f64> = rs
            .iter()
            .filter_map(|r| num(r, "result.relative_noise_floor"))
            .collect();
        let extra: Vec<f64> = rs.iter().map(|r| noise_queries(r)).collect();
        t.row([
            cell.label(),
            rate(r.success, r.n),
            rate(r.certified, r.n),
            rs.iter().filter(|r| certified_wrong(r)).count().to_string(),
            sci(median(&r.rel_l2)),
            sci(worst(&r.rel_l2)),
            sci(worst(&w)),
            sci(median(&floors)),
            count(median(&r.queries)),
            count(median(&extra)),
            secs(median(&r.seconds)),
            r.errors.to_string(),
        ]);
    }
    let _ = writeln!(
        md,
        "All cells: {} identified.\n\n{}",
        rate(total.0, total.1),
        t.render()
    );
}

const INTRO: &str = "\nEvery trial is a whole `nnid identify` run (the `auto` route unless the table says otherwise) on the teacher's in-process oracle, its answers degraded exactly as `nnid identify --float32 --noise σ` does (`crates/nnid/src/experiment/route.rs`). Teachers: unit Gaussian a_i and b_l, θ, τ ~ U[−0.5, 0.5], g = h. *success*: rel-L2 of f̂ < 1e-6 on 10⁵ points uniform in the unit ball (against the exact teacher) and every a_i within 1e-4 up to sign. *certified*: the certificate passed: validation error below max(1e-9, 3 × the oracle's relative noise floor), the floor estimated from the oracle's own answers (`crates/nnid/src/noise.rs`). *certified but wrong*: certified, yet its rel-L2 against the exact teacher in the unit ball is more than 3 times the certificate's threshold (the accuracy the certificate vouched for); *success* is the exact-oracle criterion of the robust grid, which no method can meet once the noise itself is above it (σ ≥ 1e-4, and the a_i at σ = 1e-6 for the logistic sigmoid). *noise queries*: the queries spent on the noise itself, the 48-query probe that chooses the route plus, when the result misses 1e-9, the certificate's 144-query floor estimate. *rel-L2 ÷ σ*: the worst certified run's error over σ, the constant C of error ≤ C·σ (the teachers' answers have RMS about 1.5 for tanh, 3 to 5 for the sigmoid, so C < 1 means an error below the relative noise). An infinite error means no network was produced.\n";

/// Runs the noise grid and writes docs/results/noise.md.
///
/// # Errors
/// Bad arguments, the build or a run failed, or the report could not be written.
pub(crate) fn run(root: &Path, args: &RobustArgs) -> Result<()> {
    let plan = Plan::new(args)?;
    let name = args.name.as_deref().unwrap_or("noise");
    let out = work_dir(root)?.join(format!("{name}.jsonl"));
    let spec = spec(&plan);
    let mut runner = Runner::new(root, "");
    let (records, ended) = runner.measure(&spec, &out, &args.common)?;
    let sweep: Vec<&Value> = records
        .iter()
        .filter(|r| size(r) == plan.sweep_size && plan.sigmas.contains(&sigma_of(r)))
        .collect();
    let float32: Vec<&Value> = records
        .iter()
        .filter(|r| {
            is_float32(r)
                && plan.float32_methods.contains(&method(r).as_str())
                && plan.grid_sizes.contains(&size(r))
                && seed(r) <= plan.float32_teachers
        })
        .collect();
    let header = Header {
        title: "Identification from noisy and float32 answers (issue 10)".into(),
        backends: "faer (the default build of `nnid`)".into(),
        raw: format!(
            "`target/xtask/{name}.jsonl` ({} trials in this report)",
            sweep.len() + float32.len()
        ),
    };
    let mut doc = header.render(root);
    doc.push_str(&partial_note(
        ended,
        sweep.len() + float32.len(),
        spec_len(&spec),
    ));
    doc.push_str(INTRO);
    let _ = writeln!(
        doc,
        "\n## 1. Additive Gaussian noise σ\n\n`auto` on teachers 1…{}, the other methods on teachers 1…{} of each σ.",
        plan.teachers, plan.side_teachers
    );
    let panels = sweep_tables(&sweep, &plan, &mut doc);
    let _ = writeln!(doc, "\n![errors against σ]({name}.svg)");
    let _ = writeln!(
        doc,
        "\n## 2. float32 answers on the robust grid\n\nTeachers 1…{} of each cell.",
        plan.float32_teachers
    );
    for m in &plan.float32_methods {
        let _ = writeln!(doc, "\n### `{m}`\n");
        let rs: Vec<&Value> = float32
            .iter()
            .copied()
            .filter(|r| method(r) == *m)
            .collect();
        float32_table(&rs, &mut doc);
    }
    let dir = root.join("docs/results");
    std::fs::create_dir_all(&dir)?;
    write_svg(
        &dir.join(format!("{name}.svg")),
        &command_line(),
        &panels,
        2,
    )?;
    std::fs::write(dir.join(format!("{name}.md")), doc)?;
    eprintln!("xtask: wrote docs/results/{name}.md");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(method: &str, sigma: f64, sd: u64, rel_l2: f64, a_err: f64) -> Value {
        json!({"key": format!("{method}{sigma}{sd}"), "ok": true,
               "trial": {"experiment": {"kind": "route", "method": method, "oracle": {"noise": sigma}}, "size": [30, 20, 10], "seed": sd, "activation": "tanh", "family": {"positive_b": false}},
               "result": {"success": rel_l2 < 1e-6, "certified": true, "rel_l2": rel_l2, "a_max_error": a_err, "queries": 5000.0, "seconds": 1.0,
                          "queries_by_stage": {"noise_probe": 48.0, "noise_floor": 144.0}}})
    }

    #[test]
    fn the_sweep_tabulates_each_sigma_and_counts_noise_queries() {
        let recs = [
            rec("auto", 1e-6, 1, 5e-7, 2e-6),
            rec("auto", 1e-6, 2, 7e-7, 3e-6),
            rec("auto", 1e-2, 1, 4e-3, 1e-2),
        ];
        let refs: Vec<&Value> = recs.iter().collect();
        let args = crate::flags::Xtask::try_parse_from_robust(&[
            "--noise",
            "--activations",
            "tanh",
            "--methods",
            "auto",
        ]);
        let plan = Plan::new(&args).unwrap();
        let mut md = String::new();
        let panels = sweep_tables(&refs, &plan, &mut md);
        assert!(md.contains("| 1e-6 | auto | 2/2 (100 %) |"), "{md}");
        assert!(md.contains("| 1e-2 | auto | 0/1 (0 %) |"), "{md}");
        // Worst error over σ: 7e-7 / 1e-6.
        assert!(md.contains("| 0.70 |"), "{md}");
        assert!(md.contains("| 192 |"), "{md}");
        assert_eq!(panels.len(), 2);
        assert_eq!(panels[0].series[0].points.len(), 2);
        assert_eq!(panels[0].series.last().unwrap().name, "y = σ");
    }
}
