//! `cargo xtask robust`: the table of issue 7. Every method on the same generic teachers,
//! per cell (size × family × activation): success rate, certificate agreement, errors,
//! queries against P and the paper's budget, time; and a gradient-trained student beside
//! them, trained on as many random queries as the default method used.
//!
//! Success = relative L2 error of f̂ below 1e-6 on 10⁵ points uniform in the unit ball AND
//! every a_i within 1e-4 up to sign. *Certified but wrong*: the certificate (validation
//! error < 1e-9 on fresh queries) passed although the identification is not a success: the
//! dangerous case. *Right but not certified*: a success the certificate did not vouch for.
//!
//! The paper budget is the paper's own query count: m_X(d+1)(d+2)/2 Hessian queries plus the
//! fit queries of its step 5 (counted in the `paper` runs of the cell when there are any,
//! else [`paper_fit_queries`]).
//!
//! `auto` runs on every teacher of a cell (`--teachers`); the side-by-side methods on the
//! first `--side-teachers`, the student on the first `--student-teachers`.
//!
//! The run has two phases: the methods, then the student (its query count comes from the
//! first phase). Both append to `target/xtask/robust.jsonl` and resume.

use crate::flags::{RobustArgs, parse_sizes};
use crate::probe::{Header, command_line};
use crate::results::{
    at, flag, group_by, kind, num, ok, paper_budget, paper_fit_queries, parameters, seed, size,
    size_label, spec_len, text,
};
use crate::run::{Ended, Runner, partial_note, work_dir};
use crate::stats::{count, median, rate, sci, secs};
use crate::table::Table;
use anyhow::{Result, bail};
use nnid_plot::{Panel, Series, write_svg};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The sizes of issue 7.
pub(crate) const SIZES: [[usize; 3]; 5] = [
    [20, 10, 5],
    [30, 20, 10],
    [40, 20, 10],
    [30, 30, 10],
    [50, 30, 15],
];

/// The route methods, in table order (the student is not a route).
pub(crate) const ROUTES: [&str; 5] = ["auto", "auto-widths", "saturation", "gradient", "paper"];

/// The family of a name: `generic` (sign-balanced B) or `positive` (all-positive B).
pub(crate) fn family(name: &str) -> Result<Value> {
    match name {
        "generic" => Ok(json!({"weights": "gaussian", "positive_b": false, "shift_range": 0.5})),
        "positive" => Ok(json!({"weights": "gaussian", "positive_b": true, "shift_range": 0.5})),
        other => bail!("unknown family `{other}` (generic, positive)"),
    }
}

fn family_name(r: &Value) -> &'static str {
    if flag(r, "trial.family.positive_b") {
        "positive"
    } else {
        "generic"
    }
}

pub(crate) fn route_experiment(method: &str) -> Value {
    if method == "auto-widths" {
        return json!({"kind": "route", "method": "auto", "discover_widths": true, "test_points": 100_000});
    }
    let mut e = json!({"kind": "route", "method": method, "test_points": 100_000});
    if method == "paper" {
        e["paper"] = json!({"stencil": "forward", "eps": 1e-5, "radius": 1.0, "mx_factor": 2.0, "rank1": true, "solver": "spm", "refine": true, "allow_partial": true});
    }
    e
}

/// A cell of the table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cell {
    pub size: [usize; 3],
    pub family: String,
    pub activation: String,
}

impl Cell {
    pub(crate) fn of(r: &Value) -> Self {
        Self {
            size: size(r),
            family: family_name(r).to_string(),
            activation: text(r, "trial.activation").unwrap_or("").to_string(),
        }
    }

    pub(crate) fn label(&self) -> String {
        format!(
            "{} {} {}",
            size_label(self.size),
            self.activation,
            if self.family == "positive" {
                "all-positive B"
            } else {
                "generic"
            }
        )
    }
}

/// The method of a record: the route's method, or `student`.
pub(crate) fn method(r: &Value) -> String {
    match kind(r) {
        "student" => "student".into(),
        _ if flag(r, "trial.experiment.discover_widths") => "auto-widths".into(),
        _ => text(r, "trial.experiment.method")
            .unwrap_or("?")
            .to_string(),
    }
}

/// What a method is, for the report's text.
fn describe(method: &str) -> &'static str {
    match method {
        "auto" => "nnid's default: route S, then route G if S does not certify",
        "auto-widths" => {
            "`auto` without the widths: m0 from route S's discovery, m1 from the rank condition of the second layer"
        }
        "saturation" => "route S",
        "gradient" => "route G",
        "paper" => {
            "the paper's pipeline with the penalised LM refinement, going on with random fill-ins when rank-one candidates are missing"
        }
        _ => "a network of the same shape trained by gradient descent, below",
    }
}

/// The validated settings of a run.
struct Plan {
    sizes: Vec<[usize; 3]>,
    families: Vec<(String, Value)>,
    activations: Vec<String>,
    methods: Vec<String>,
    /// Teachers per cell of `auto` (seeds 1…teachers).
    teachers: u64,
    /// Teachers per cell of the other routes (the first ones), ≤ `teachers`.
    side_teachers: u64,
    /// Teachers per cell of the student (the first ones), at most those of the reference.
    student_teachers: u64,
    /// Teachers per cell of `auto-widths` (the first ones), ≤ `teachers`.
    widths_teachers: u64,
}

impl Plan {
    fn new(args: &RobustArgs) -> Result<Self> {
        let sizes = if args.sizes.is_empty() {
            SIZES.to_vec()
        } else {
            parse_sizes(&args.sizes)?
        };
        let families = args
            .families
            .iter()
            .map(|f| Ok((f.clone(), family(f)?)))
            .collect::<Result<Vec<_>>>()?;
        for a in &args.activations {
            if !["tanh", "sigmoid"].contains(&a.as_str()) {
                bail!("unknown activation `{a}` (tanh, sigmoid)");
            }
        }
        for m in &args.methods {
            if !ROUTES.contains(&m.as_str()) && m != "student" {
                bail!(
                    "unknown method `{m}` (auto, auto-widths, saturation, gradient, paper, student)"
                );
            }
        }
        let teachers = args.teachers.unwrap_or(50);
        let mut plan = Self {
            sizes,
            families,
            activations: args.activations.clone(),
            methods: args.methods.clone(),
            teachers,
            side_teachers: args.side_teachers.unwrap_or(teachers).min(teachers),
            student_teachers: 0,
            widths_teachers: args.widths_teachers.unwrap_or(teachers).min(teachers),
        };
        // A student needs its reference's query count on the same teacher.
        plan.student_teachers = plan
            .reference()
            .map_or(0, |m| args.student_teachers.min(plan.teachers_of(m)));
        Ok(plan)
    }

    /// Teachers per cell of a method (seeds 1…this).
    fn teachers_of(&self, method: &str) -> u64 {
        match method {
            "auto" => self.teachers,
            "auto-widths" => self.widths_teachers,
            "student" => self.student_teachers,
            _ => self.side_teachers,
        }
    }

    /// The method whose query count the student gets: auto, else the first route run.
    fn reference(&self) -> Option<&'static str> {
        self.routes().first().copied()
    }

    fn routes(&self) -> Vec<&'static str> {
        ROUTES
            .iter()
            .copied()
            .filter(|m| self.methods.iter().any(|x| x == m))
            .collect()
    }

    /// Whether a record belongs to this run's report (its cell, method and teacher).
    fn contains(&self, r: &Value) -> bool {
        let m = method(r);
        self.sizes.contains(&size(r))
            && self.families.iter().any(|(n, _)| n == family_name(r))
            && self
                .activations
                .iter()
                .any(|a| Some(a.as_str()) == text(r, "trial.activation"))
            && self.methods.contains(&m)
            && (1..=self.teachers_of(&m)).contains(&seed(r))
    }

    /// The routes grouped by their teachers per cell, most teachers first (`auto` on all
    /// of them, the side-by-side routes on the first `side_teachers`; one group when these
    /// are equal). Groups with no teachers are left out.
    fn route_groups(&self) -> Vec<(u64, Vec<&'static str>)> {
        let mut groups: Vec<(u64, Vec<&'static str>)> = Vec::new();
        for m in self.routes() {
            let n = self.teachers_of(m);
            match groups.iter_mut().find(|(k, _)| *k == n) {
                Some((_, ms)) => ms.push(m),
                None => groups.push((n, vec![m])),
            }
        }
        groups.retain(|(n, _)| *n > 0);
        groups.sort_by_key(|g| std::cmp::Reverse(g.0));
        groups
    }
}

/// Phase 1: per cell, one grid per group of routes with the same teachers (auto on all of
/// them, the others on the first `side_teachers`), smallest sizes first.
fn methods_spec(plan: &Plan) -> Value {
    let groups = plan.route_groups();
    let mut grids = Vec::new();
    for &s in &plan.sizes {
        for (_, fam) in &plan.families {
            for act in &plan.activations {
                for (count, methods) in &groups {
                    let experiments: Vec<Value> =
                        methods.iter().map(|m| route_experiment(m)).collect();
                    grids.push(json!({"experiments": experiments, "sizes": [s], "families": [fam], "activations": [act], "seeds": {"from": 1, "count": count}}));
                }
            }
        }
    }
    json!({ "grids": grids })
}

/// Phase 2: a student per (cell, teacher) among the first `student_teachers`, on as many
/// queries as the reference method (auto, else the first method run) used on that teacher.
fn student_spec(records: &[Value], plan: &Plan, args: &RobustArgs) -> Value {
    let reference = plan.reference().map(str::to_string);
    let mut grids = Vec::new();
    for r in records {
        if kind(r) != "route"
            || !ok(r)
            || Some(method(r)) != reference
            || seed(r) > plan.student_teachers
            || !plan.contains(r)
        {
            continue;
        }
        let Some(q) = num(r, "result.queries") else {
            continue;
        };
        grids.push(json!({
            "experiments": [{"kind": "student", "queries": q as u64, "steps": args.student_steps, "test_points": 100_000}],
            "sizes": [size(r)], "families": [at(r, "trial.family")], "activations": [text(r, "trial.activation")], "seeds": [seed(r)],
        }));
    }
    json!({ "grids": grids })
}

/// Per-method figures of a cell.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub n: usize,
    pub success: usize,
    pub certified: usize,
    pub certified_wrong: usize,
    pub right_uncertified: usize,
    pub errors: usize,
    pub rel_l2: Vec<f64>,
    pub queries: Vec<f64>,
    pub seconds: Vec<f64>,
}

/// Figures of one method in one cell (records of that method and cell).
pub(crate) fn row(recs: &[&Value]) -> Row {
    let mut out = Row {
        n: recs.len(),
        ..Row::default()
    };
    for r in recs {
        if !ok(r) {
            out.errors += 1;
            continue;
        }
        let success = flag(r, "result.success");
        let certified = flag(r, "result.certified");
        out.success += usize::from(success);
        out.certified += usize::from(certified);
        out.certified_wrong += usize::from(certified && !success);
        out.right_uncertified += usize::from(success && !certified && kind(r) == "route");
        // No network: an infinite error (it counts in the worst case and the median).
        out.rel_l2
            .push(num(r, "result.rel_l2").unwrap_or(f64::INFINITY));
        out.queries.extend(num(r, "result.queries"));
        out.seconds.extend(num(r, "result.seconds"));
    }
    out
}

/// The paper's fit queries in a cell: the median of the `fit` stage's counted queries over
/// the cell's `paper` runs that reached it (`true`), else [`paper_fit_queries`] (`false`).
fn paper_fit(recs: &[&Value], s: [usize; 3]) -> (f64, bool) {
    let counted: Vec<f64> = recs
        .iter()
        .filter(|r| method(r) == "paper")
        .filter_map(|r| num(r, "result.queries_by_stage.fit"))
        .collect();
    if counted.is_empty() {
        (paper_fit_queries(s) as f64, false)
    } else {
        (median(&counted), true)
    }
}

/// Builds the report body and the plot from the records.
pub(crate) fn report(records: &[&Value], methods: &[String]) -> (String, Vec<Panel>) {
    let mut md = String::new();
    let cells = group_by(records.iter().copied(), Cell::of);
    let order: Vec<&str> = [
        "auto",
        "auto-widths",
        "saturation",
        "gradient",
        "paper",
        "student",
    ]
    .into_iter()
    .filter(|m| methods.iter().any(|x| x == m))
    .collect();
    let _ = writeln!(md, "\n## Success rate per cell\n");
    let mut summary =
        Table::new(std::iter::once("cell".to_string()).chain(order.iter().map(|m| m.to_string())));
    for (cell, recs) in &cells {
        let by_method = group_by(recs.iter().copied(), method);
        let mut cells_row = vec![cell.label()];
        for m in &order {
            cells_row.push(by_method.get(*m).map_or_else(
                || "—".into(),
                |rs| {
                    let r = row(rs);
                    rate(r.success, r.n)
                },
            ));
        }
        summary.row(cells_row);
    }
    let _ = writeln!(md, "{}", summary.render());
    let mut per_method: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (cell, recs) in &cells {
        let p = parameters(cell.size) as f64;
        let hessians = paper_budget(cell.size) as f64;
        let (fit, counted) = paper_fit(recs, cell.size);
        let budget = hessians + fit;
        let _ = writeln!(
            md,
            "\n## {} — P = {}, paper budget {} ({} Hessian + {} fit queries, {})\n",
            cell.label(),
            count(p),
            count(budget),
            count(hessians),
            count(fit),
            if counted {
                "fit counted in the paper runs"
            } else {
                "fit by the formula"
            }
        );
        let mut t = Table::new([
            "method",
            "success",
            "certified",
            "certified but wrong",
            "right but not certified",
            "rel-L2 median",
            "rel-L2 worst",
            "queries (median)",
            "queries / P",
            "÷ paper budget",
            "time (median)",
            "errors",
        ]);
        let by_method = group_by(recs.iter().copied(), method);
        for m in &order {
            let Some(rs) = by_method.get(*m) else {
                continue;
            };
            let r = row(rs);
            let q = median(&r.queries);
            let worst = r.rel_l2.iter().copied().fold(f64::NAN, f64::max);
            let student = *m == "student";
            t.row([
                m.to_string(),
                rate(r.success, r.n),
                if student {
                    "—".into()
                } else {
                    rate(r.certified, r.n)
                },
                if student {
                    "—".into()
                } else {
                    r.certified_wrong.to_string()
                },
                if student {
                    "—".into()
                } else {
                    r.right_uncertified.to_string()
                },
                sci(median(&r.rel_l2)),
                sci(worst),
                count(q),
                format!("{:.1}", q / p),
                format!("{:.2}", q / budget),
                secs(median(&r.seconds)),
                r.errors.to_string(),
            ]);
            if cell.activation == "tanh" && cell.family == "generic" && !q.is_nan() {
                per_method
                    .entry(m.to_string())
                    .or_default()
                    .push((p, q / p));
            }
        }
        let _ = writeln!(md, "{}", t.render());
    }
    let panel = Panel {
        title: "Queries per parameter (generic tanh teachers)".into(),
        x_label: "parameters P".into(),
        y_label: "median queries / P".into(),
        log_x: true,
        log_y: true,
        series: per_method
            .into_iter()
            .map(|(m, mut pts)| {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series::line(m, pts)
            })
            .collect(),
        ..Panel::default()
    };
    (md, vec![panel])
}

/// The methods as `` `a` ``, `` `a` and `b` ``, `` `a`, `b` and `c` ``.
fn listing<'a>(methods: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = methods.into_iter().map(|m| format!("`{m}`")).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// "the first teacher", "the first n teachers".
fn first(n: u64) -> String {
    if n == 1 {
        "the first teacher".into()
    } else {
        format!("the first {n} teachers")
    }
}

/// The report's title: the methods in the tables, "side by side" only when there are several.
fn title(plan: &Plan) -> String {
    let methods = listing(plan.methods.iter().map(String::as_str));
    if plan.methods.len() > 1 {
        format!("Identifying generic networks: {methods} side by side (issue 7)")
    } else {
        format!("Identifying generic networks with {methods} (issue 7)")
    }
}

/// The text between the header and the tables: the teachers, which method ran on how many
/// of them, the definitions of the columns and the paper budget. It names only the methods
/// of this run.
fn intro(plan: &Plan, student_steps: usize) -> String {
    let mut t = String::new();
    let families = if plan.families.len() == 2 {
        "sign-balanced B, and all-positive B"
    } else if plan.families[0].0 == "positive" {
        "all-positive B"
    } else {
        "sign-balanced B"
    };
    let drawn = plan
        .methods
        .iter()
        .map(|m| plan.teachers_of(m))
        .max()
        .unwrap_or(0);
    let _ = write!(
        t,
        "\nTeachers: unit Gaussian a_i and b_l ({families}), θ, τ ~ U[−0.5, 0.5], g = h; seeds 1…{drawn} per cell."
    );
    for (i, (n, methods)) in plan.route_groups().iter().enumerate() {
        let which = if i == 0 && *n == drawn {
            format!("every teacher of each cell (seeds 1…{n})")
        } else {
            format!("{} of each cell only (seeds 1…{n})", first(*n))
        };
        let described: Vec<String> = methods
            .iter()
            .map(|m| format!("{} ({})", listing([*m]), describe(m)))
            .collect();
        let _ = write!(t, " On {which}: {}.", described.join(", "));
    }
    if !plan.routes().is_empty() {
        t.push_str(" *success*: rel-L2 of f̂ < 1e-6 on 10⁵ points uniform in the unit ball and every a_i within 1e-4 up to sign. *certified*: validation error < 1e-9 on fresh queries (no ground truth). *certified but wrong*: certified and not a success; *right but not certified*: a success the certificate did not vouch for. Queries are every query of f, certificate included. An infinite rel-L2 means no network was produced.\n\n");
        t.push_str("*Paper budget* (each cell's heading, and the `÷ paper budget` column): the paper's own queries, m_X(d+1)(d+2)/2 Hessian queries with m_X = 2(m0 + m1), plus the fit queries of its step 5: d + 1 for the gradient at the origin that fixes the signs of the v̂_l and max(200, 20(m0 + m1)) fresh points for θ and τ (`crates/bias-fit/src/paper.rs`).");
        if plan.routes().contains(&"paper") {
            t.push_str(" The heading says where the fit figure comes from: the median count of the `fit` stage in the cell's `paper` runs, or this formula when none of them reached its fit. The `paper` method's own count is higher than the budget: it also queries the 4P points of the LM refinement and, when the rank-one stage found enough candidates to attribute, the drift attribution's probe Hessians (both ours, not the paper's; see `queries_by_stage` in the raw results).");
        } else {
            t.push_str(" The paper's pipeline did not run here: the fit figure is this formula.");
        }
        t.push('\n');
    }
    if plan.methods.iter().any(|m| m == "student") {
        let reference = plan.reference().unwrap_or("auto");
        let _ = write!(
            t,
            "\n*student*: a network of the same shape trained by plain Adam (full batch, β = (0.9, 0.999), step 1e-2 decayed to 1e-4 by a cosine schedule, {student_steps} steps) on the unpenalised mean squared error, from 3 random starts (unit columns, zero shifts), the lowest training loss kept; trained on as many random queries, uniform in the unit ball, as `{reference}` used on the same teacher; {} of each cell (`crates/nnid/src/experiment/student_baseline.rs`).\n",
            first(plan.student_teachers)
        );
    }
    t
}

/// Runs both phases and writes docs/results/robust.md.
///
/// # Errors
/// Bad arguments, the build or a run failed, or the report could not be written.
pub(crate) fn run(root: &Path, args: &RobustArgs) -> Result<()> {
    if args.noise {
        return crate::noise::run(root, args);
    }
    let plan = Plan::new(args)?;
    let name = args.name.as_deref().unwrap_or("robust");
    let out = work_dir(root)?.join(format!("{name}.jsonl"));
    let spec1 = methods_spec(&plan);
    let mut runner = Runner::new(root, "");
    let (mut records, mut ended) = runner.measure(&spec1, &out, &args.common)?;
    let mut planned = spec_len(&spec1);
    if plan.methods.iter().any(|m| m == "student") && ended == Ended::Complete {
        let spec2 = student_spec(&records, &plan, args);
        planned += spec_len(&spec2);
        if spec_len(&spec2) > 0 {
            let common = crate::flags::Common {
                fresh: false,
                ..args.common.clone()
            };
            (records, ended) = runner.measure(&spec2, &out, &common)?;
        }
    }
    let selected: Vec<&Value> = records.iter().filter(|r| plan.contains(r)).collect();
    let header = Header {
        title: title(&plan),
        backends: "faer (the default build of `nnid`)".into(),
        raw: format!(
            "`target/xtask/{name}.jsonl` ({} trials in this report)",
            selected.len()
        ),
    };
    let (body, panels) = report(&selected, &plan.methods);
    let mut doc = header.render(root);
    doc.push_str(&partial_note(ended, selected.len(), planned));
    doc.push_str(&intro(&plan, args.student_steps));
    doc.push_str(&body);
    let _ = writeln!(doc, "\n![queries per parameter]({name}-queries.svg)");
    let dir = root.join("docs/results");
    std::fs::create_dir_all(&dir)?;
    write_svg(
        &dir.join(format!("{name}-queries.svg")),
        &command_line(),
        &panels,
        1,
    )?;
    std::fs::write(dir.join(format!("{name}.md")), doc)?;
    eprintln!("xtask: wrote docs/results/{name}.md");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(method: &str, sd: u64, success: bool, certified: bool, rel_l2: Option<f64>) -> Value {
        let kind = if method == "student" {
            "student"
        } else {
            "route"
        };
        json!({"key": format!("{method}{sd}"), "ok": true,
               "trial": {"experiment": {"kind": kind, "method": method}, "size": [20, 10, 5], "seed": sd, "activation": "tanh", "family": {"positive_b": false}},
               "result": {"success": success, "certified": certified, "rel_l2": rel_l2, "queries": 2000.0, "seconds": 0.1}})
    }

    #[test]
    fn rows_count_certificate_disagreements() {
        let recs = [
            rec("auto", 1, true, true, Some(1e-14)),
            rec("auto", 2, false, true, Some(1e-3)),
            rec("auto", 3, true, false, Some(1e-8)),
            rec("auto", 4, false, false, None),
        ];
        let refs: Vec<&Value> = recs.iter().collect();
        let r = row(&refs);
        assert_eq!(
            (
                r.n,
                r.success,
                r.certified,
                r.certified_wrong,
                r.right_uncertified
            ),
            (4, 2, 2, 1, 1)
        );
        assert!(
            r.rel_l2.iter().any(|e| e.is_infinite()),
            "no network counts as an infinite error"
        );
    }

    #[test]
    fn report_tabulates_every_method_per_cell() {
        let recs = [
            rec("auto", 1, true, true, Some(1e-14)),
            rec("paper", 1, false, false, Some(0.3)),
            rec("student", 1, false, false, Some(0.02)),
        ];
        let refs: Vec<&Value> = recs.iter().collect();
        let methods: Vec<String> = ["auto", "paper", "student"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (md, panels) = report(&refs, &methods);
        assert!(
            md.contains("| (20,10,5) tanh generic | 1/1 (100 %) | 0/1 (0 %) | 0/1 (0 %) |"),
            "{md}"
        );
        assert!(
            md.contains("| student | 0/1 (0 %) | — | — | — | 2.0e-2 |"),
            "{md}"
        );
        // ÷ (6,930 Hessian + 321 fit queries by the formula: the paper record has no fit).
        assert!(
            md.contains("paper budget 7,251 (6,930 Hessian + 321 fit queries, fit by the formula)"),
            "{md}"
        );
        assert!(md.contains("| auto | 1/1 (100 %) | 1/1 (100 %) | 0 | 0 | 1.0e-14 | 1.0e-14 | 2,000 | 7.5 | 0.28 |"), "{md}");
        assert_eq!(panels[0].series.len(), 3);
    }

    fn args(methods: &[&str], teachers: u64, side: Option<u64>, student: u64) -> RobustArgs {
        RobustArgs {
            teachers: Some(teachers),
            noise: false,
            sigmas: vec![],
            noise_size: String::new(),
            float32_teachers: 0,
            name: None,
            widths_teachers: None,
            sizes: vec!["20,10,5".into()],
            methods: methods.iter().map(|m| m.to_string()).collect(),
            activations: vec!["tanh".into()],
            families: vec!["generic".into()],
            side_teachers: side,
            student_teachers: student,
            student_steps: 100,
            common: crate::flags::Common {
                report_only: true,
                fresh: false,
            },
        }
    }

    #[test]
    fn paper_fit_is_counted_when_the_paper_ran() {
        let mut paper = rec("paper", 1, false, false, Some(0.3));
        let auto = rec("auto", 1, true, true, Some(1e-14));
        assert_eq!(paper_fit(&[&auto], [20, 10, 5]), (321.0, false));
        paper["result"]["queries_by_stage"] = json!({"fit": 330, "hessians": 6930});
        assert_eq!(paper_fit(&[&auto, &paper], [20, 10, 5]), (330.0, true));
    }

    #[test]
    fn side_methods_run_on_the_first_teachers_only() {
        let all = ["auto", "saturation", "paper", "student"];
        let plan = Plan::new(&args(&all, 5, Some(2), 10)).unwrap();
        assert_eq!(
            plan.route_groups(),
            vec![(5, vec!["auto"]), (2, vec!["saturation", "paper"])]
        );
        assert_eq!(plan.student_teachers, 5, "at most the reference's teachers");
        let spec = methods_spec(&plan);
        assert_eq!(spec_len(&spec), 5 + 2 * 2);
        assert!(plan.contains(&rec("auto", 5, true, true, None)));
        assert!(plan.contains(&rec("paper", 2, true, true, None)));
        assert!(!plan.contains(&rec("paper", 3, true, true, None)));
        let text = intro(&plan, 100);
        assert!(text.contains("seeds 1…5 per cell"), "{text}");
        assert!(
            text.contains("On every teacher of each cell (seeds 1…5): `auto` ("),
            "{text}"
        );
        assert!(
            text.contains("On the first 2 teachers of each cell only (seeds 1…2): `saturation` (route S), `paper` ("),
            "{text}"
        );
        assert!(
            text.contains("as `auto` used on the same teacher; the first 5 teachers"),
            "{text}"
        );
        assert_eq!(
            title(&plan),
            "Identifying generic networks: `auto`, `saturation`, `paper` and `student` side by side (issue 7)"
        );
        // Without the flag every route runs on every teacher.
        let plan = Plan::new(&args(&all, 5, None, 1)).unwrap();
        assert_eq!(
            plan.route_groups(),
            vec![(5, vec!["auto", "saturation", "paper"])]
        );
        assert_eq!(spec_len(&methods_spec(&plan)), 3 * 5);
    }

    #[test]
    fn the_text_names_only_the_methods_run() {
        let plan = Plan::new(&args(&["auto"], 50, Some(10), 10)).unwrap();
        let text = intro(&plan, 2000);
        assert_eq!(
            title(&plan),
            "Identifying generic networks with `auto` (issue 7)"
        );
        for absent in [
            "`paper`",
            "`saturation`",
            "`gradient`",
            "student",
            "first 10",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
        assert!(
            text.contains("On every teacher of each cell (seeds 1…50): `auto` ("),
            "{text}"
        );
    }

    #[test]
    fn student_spec_follows_the_reference_method() {
        let args = args(&["paper", "student"], 3, None, 1);
        let plan = Plan::new(&args).unwrap();
        let recs = vec![
            rec("paper", 1, false, false, Some(0.3)),
            rec("paper", 2, false, false, Some(0.3)),
        ];
        let spec = student_spec(&recs, &plan, &args);
        assert_eq!(spec_len(&spec), 1, "only the first teacher gets a student");
        assert_eq!(spec["grids"][0]["experiments"][0]["queries"], 2000);
        assert!(
            Plan::new(&RobustArgs {
                methods: vec!["nope".into()],
                ..args
            })
            .is_err()
        );
    }
}
