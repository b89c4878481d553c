//! `cargo xtask compare-backends`: every stage and a whole route on the same teachers and
//! seeds with every backend that builds here; a table per stage, disagreements flagged per
//! trial against the reference backend (faer), and a plot of the time per stage.
//!
//! Expected spread (aesthetics B6): the backends compute the same stacked matrix of
//! Hessians (sampling does not touch the backend), and each SVD has a backward error of
//! about ε·√n·σ₁ (n = d(d+1)/2 rows). So the singular values may differ by
//! [`C_SPREAD`]·ε·√n·σ₁ (Weyl), and the subspace Ŵ by that over the gap s_K − s_{K+1}
//! (Wedin): δ = [`C_SPREAD`]·ε·√n·σ₁/gap, computed per trial. The subspace distance may
//! differ by δ; each rank-one weight error by δ + √ε (a maximiser of a smooth objective
//! evaluated in floating point is located to about √ε), and a weight counts as found in
//! one backend and not the other only if its error is within that of the 0.05 threshold.
//! The attribution labels each candidate first-layer or entangled; its accuracy (candidates
//! labelled as the kind of their nearest true weight) is a count, so any difference in it,
//! or in the number of candidates labelled, is a disagreement.
//! The fit and the route end in a certificate, which resolves f̂ to 1e-9: they disagree
//! when their success differs, or when both succeed with relative errors further apart
//! than that.

use crate::flags::CompareArgs;
use crate::probe::{Backends, Header, command_line};
use crate::results::{
    at, group_by, kind, num, ok, parameters, seed, size, size_label, spec_len, text,
};
use crate::run::{Runner, partial_note, work_dir};
use crate::stats::{median, min_max, pct, rate, sci, secs};
use crate::table::Table;
use anyhow::{Result, bail};
use nnid_plot::{Panel, Series, write_svg};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Constant of the expected backend spread δ = C·ε·√n·σ₁/gap (module docs): it covers
/// both backends' backward errors (each a small multiple of ε·√n·σ₁ for Householder
/// bidiagonalisation) and the √2 of Wedin's bound.
pub(crate) const C_SPREAD: f64 = 64.0;

/// Resolution of the certificate: two certified networks agree to this relative error.
pub(crate) const CERTIFICATE_RESOLUTION: f64 = 1e-9;

/// The stages of the comparison, in table order.
pub(crate) const STAGES: [&str; 6] = [
    "hessians",
    "subspace",
    "rank1",
    "attribution",
    "fit",
    "route",
];

fn stage_title(stage: &str) -> &'static str {
    match stage {
        "hessians" => {
            "Step 1: finite-difference Hessians (forward, ε = 1e-5, m_X = 2(m0+m1), r = 1)"
        }
        "subspace" => "Step 2: subspace SVD (stacked svec Hessians, K = m0 + m1)",
        "rank1" => "Step 3: rank-one candidates (subspace power method)",
        "attribution" => {
            "Step 4: attribution of the rank-one candidates (drift criterion, probe Hessians at 10 far centres)"
        }
        "fit" => {
            "Step 5: penalised Levenberg–Marquardt fit from a perturbed teacher (δ = 0.05, N = 4P)"
        }
        _ => "Whole route: `auto` (route S, route G when S does not certify)",
    }
}

/// The kind of trial a stage's numbers come from.
fn source_kind(stage: &str) -> &'static str {
    match stage {
        "hessians" | "subspace" | "rank1" | "attribution" => "stages",
        "fit" => "fit",
        _ => "route",
    }
}

/// The stage's wall time in a record.
pub(crate) fn stage_time(stage: &str, r: &Value) -> Option<f64> {
    match stage {
        "hessians" => num(r, "result.hessians.seconds"),
        "subspace" => num(r, "result.subspace.seconds"),
        "rank1" => num(r, "result.rank1.seconds"),
        "attribution" => num(r, "result.attribution.seconds"),
        _ => num(r, "result.seconds"),
    }
}

fn errors(r: &Value, path: &str) -> Vec<Option<f64>> {
    at(r, path)
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |a| a.iter().map(Value::as_f64).collect())
}

/// A count of the attribution stage of a record (`candidates`, `correct`, …).
fn labels(r: &Value, key: &str) -> Option<u64> {
    at(r, &format!("result.attribution.{key}")).and_then(Value::as_u64)
}

/// The expected spread δ of a `stages` trial (module docs), from the reference's spectrum.
pub(crate) fn expected_spread(reference: &Value) -> Option<f64> {
    let s: Vec<f64> = at(reference, "result.subspace.singular_values")?
        .as_array()?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let k = at(reference, "result.subspace.dim")?.as_u64()? as usize;
    let rows = num(reference, "result.subspace.rows")?;
    let sigma1 = *s.first()?;
    let gap = s.get(k - 1)? - s.get(k).copied().unwrap_or(0.0);
    Some(C_SPREAD * f64::EPSILON * rows.sqrt() * sigma1 / gap.max(f64::MIN_POSITIVE))
}

/// Why `other` disagrees with `reference` on `stage` beyond the expected spread, if it does.
pub(crate) fn disagreement(stage: &str, reference: &Value, other: &Value) -> Option<String> {
    if ok(reference) != ok(other) {
        return Some(format!("ran: {} vs {}", ok(reference), ok(other)));
    }
    if !ok(reference) {
        return None;
    }
    let eps = f64::EPSILON;
    match stage {
        "hessians" => {
            let (a, b) = (
                num(reference, "result.hessians.fd_error_median")?,
                num(other, "result.hessians.fd_error_median")?,
            );
            let bound = 4.0 * eps * a.abs();
            ((a - b).abs() > bound).then(|| {
                format!(
                    "FD error {} vs {} (bound {}: sampling does not use the backend)",
                    sci(a),
                    sci(b),
                    sci(bound)
                )
            })
        }
        "subspace" => {
            let delta = expected_spread(reference)?;
            let s = |r: &Value| -> Vec<f64> {
                at(r, "result.subspace.singular_values")
                    .and_then(Value::as_array)
                    .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_f64).collect())
            };
            let (sa, sb) = (s(reference), s(other));
            let rows = num(reference, "result.subspace.rows")?;
            let sv_bound = C_SPREAD * eps * rows.sqrt() * sa.first().copied().unwrap_or(0.0);
            let sv_diff = sa
                .iter()
                .zip(&sb)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            if sv_diff > sv_bound {
                return Some(format!(
                    "singular values differ by {} (bound {})",
                    sci(sv_diff),
                    sci(sv_bound)
                ));
            }
            let (a, b) = (
                num(reference, "result.subspace.distance")?,
                num(other, "result.subspace.distance")?,
            );
            ((a - b).abs() > delta)
                .then(|| format!("‖P_W − P_Ŵ‖ {} vs {} (δ = {})", sci(a), sci(b), sci(delta)))
        }
        "rank1" => {
            let tol = expected_spread(reference)? + eps.sqrt();
            for (name, path) in [
                ("a", "result.rank1.a_errors"),
                ("v", "result.rank1.v_errors"),
            ] {
                for (i, (x, y)) in errors(reference, path)
                    .into_iter()
                    .zip(errors(other, path))
                    .enumerate()
                {
                    match (x, y) {
                        (Some(x), Some(y)) if (x - y).abs() > tol => {
                            return Some(format!(
                                "{name}_{i}: error {} vs {} (bound {})",
                                sci(x),
                                sci(y),
                                sci(tol)
                            ));
                        }
                        (Some(x), Some(y))
                            if (x <= 0.05) != (y <= 0.05)
                                && (x - 0.05).abs() > tol
                                && (y - 0.05).abs() > tol =>
                        {
                            return Some(format!(
                                "{name}_{i}: found in one backend only ({} vs {})",
                                sci(x),
                                sci(y)
                            ));
                        }
                        (Some(_), None) | (None, Some(_)) => {
                            return Some(format!("{name}_{i}: a candidate in one backend only"));
                        }
                        _ => {}
                    }
                }
            }
            None
        }
        "attribution" => {
            let (na, nb) = (
                labels(reference, "candidates")?,
                labels(other, "candidates")?,
            );
            let (ca, cb) = (labels(reference, "correct")?, labels(other, "correct")?);
            (na != nb || ca != cb)
                .then(|| format!("labelled correctly: {ca} of {na} vs {cb} of {nb}"))
        }
        _ => {
            let success = |r: &Value| match stage {
                "fit" => {
                    num(r, "result.rel_l2").is_some_and(|e| e < 1e-6)
                        && num(r, "result.a_found") == Some(size(r)[1] as f64)
                }
                _ => crate::results::flag(r, "result.success"),
            };
            let (sa, sb) = (success(reference), success(other));
            if sa != sb {
                return Some(format!("success {sa} vs {sb}"));
            }
            let (a, b) = (
                num(reference, "result.rel_l2")?,
                num(other, "result.rel_l2")?,
            );
            (sa && (a - b).abs() > CERTIFICATE_RESOLUTION).then(|| {
                format!(
                    "rel-L2 {} vs {} (resolution {})",
                    sci(a),
                    sci(b),
                    sci(CERTIFICATE_RESOLUTION)
                )
            })
        }
    }
}

/// The accuracy columns of a stage: headers and the cells for a set of records.
fn accuracy(stage: &str, recs: &[&Value]) -> (Vec<&'static str>, Vec<String>) {
    let col = |path: &str| -> Vec<f64> { recs.iter().filter_map(|r| num(r, path)).collect() };
    let sum =
        |path: &str| -> usize { recs.iter().filter_map(|r| num(r, path)).sum::<f64>() as usize };
    match stage {
        "hessians" => (
            vec!["FD error (median)", "queries"],
            vec![
                sci(median(&col("result.hessians.fd_error_median"))),
                crate::stats::count(median(&col("result.hessians.queries"))),
            ],
        ),
        "subspace" => (
            vec!["‖P_W − P_Ŵ‖ (median)", "s_K/s_K+1 (median)"],
            vec![
                sci(median(&col("result.subspace.distance"))),
                format!("{:.3}", median(&col("result.subspace.gap_ratio"))),
            ],
        ),
        "rank1" => {
            let [_, m0, m1] = recs.first().map_or([0; 3], |r| size(r));
            let max_err: Vec<f64> = recs
                .iter()
                .map(|r| {
                    errors(r, "result.rank1.a_errors")
                        .into_iter()
                        .flatten()
                        .filter(|e| *e <= 0.05)
                        .fold(f64::NAN, f64::max)
                })
                .collect();
            (
                vec![
                    "a_i within 0.05",
                    "v_l within 0.05",
                    "max matched a error (median)",
                ],
                vec![
                    rate(sum("result.rank1.a_found"), m0 * recs.len()),
                    rate(sum("result.rank1.v_found"), m1 * recs.len()),
                    sci(median(&max_err)),
                ],
            )
        }
        "attribution" => {
            let teachers = recs
                .iter()
                .filter(|r| labels(r, "correct") == labels(r, "candidates"))
                .count();
            let ran = recs
                .iter()
                .filter(|r| text(r, "result.attribution.strategy").is_some_and(|s| s != "none"))
                .count();
            (
                vec![
                    "strategy ran (> m0 candidates)",
                    "labelled correctly",
                    "v_l labelled correctly",
                    "teachers without error",
                    "probe queries (median)",
                ],
                vec![
                    rate(ran, recs.len()),
                    rate(
                        sum("result.attribution.correct"),
                        sum("result.attribution.candidates"),
                    ),
                    rate(
                        sum("result.attribution.entangled_correct"),
                        sum("result.attribution.entangled"),
                    ),
                    rate(teachers, recs.len()),
                    crate::stats::count(median(&col("result.attribution.queries"))),
                ],
            )
        }
        "fit" => (
            vec![
                "rel-L2 of f̂ (median)",
                "a_i within 1e-4",
                "LM iterations (median)",
            ],
            {
                let m0 = recs.first().map_or(0, |r| size(r)[1]);
                vec![
                    sci(median(&col("result.rel_l2"))),
                    rate(sum("result.a_found"), m0 * recs.len()),
                    format!("{:.0}", median(&col("result.iterations"))),
                ]
            },
        ),
        _ => {
            let succ = recs
                .iter()
                .filter(|r| crate::results::flag(r, "result.success"))
                .count();
            (
                vec!["success", "rel-L2 of f̂ (median)", "queries (median)"],
                vec![
                    rate(succ, recs.len()),
                    sci(median(&col("result.rel_l2"))),
                    crate::stats::count(median(&col("result.queries"))),
                ],
            )
        }
    }
}

/// The spec: per size, the `stages`, `fit` (when P is small enough) and `route` grids.
fn spec(sizes: &[[usize; 3]], trials: u64, backends: &[&str], max_fit_params: usize) -> Value {
    let mut grids = Vec::new();
    for &s in sizes {
        let base = |experiment: Value| json!({"experiments": [experiment], "sizes": [s], "seeds": {"from": 1, "count": trials}, "backends": backends});
        grids.push(base(
            json!({"kind": "stages", "stencil": "forward", "attribution": true}),
        ));
        if parameters(s) <= max_fit_params {
            grids.push(base(json!({"kind": "fit", "test_points": 10_000})));
        }
        grids.push(base(
            json!({"kind": "route", "method": "auto", "test_points": 10_000}),
        ));
    }
    json!({ "grids": grids })
}

/// Runs the comparison and writes docs/results/backends.md.
///
/// # Errors
/// A bad size, the build or the run failed, or the report could not be written.
pub(crate) fn run(root: &Path, args: &CompareArgs) -> Result<()> {
    let backends = Backends::probe();
    for (b, why) in &backends.skipped {
        eprintln!("xtask: the `{b}` backend is skipped: {why}");
    }
    let mut sizes = Vec::new();
    for &d in &args.sizes {
        if d < 4 {
            bail!("size {d}: compare-backends uses (d, d/2, d/4), so d must be at least 4");
        }
        sizes.push([d, d / 2, d / 4]);
    }
    let spec = spec(
        &sizes,
        args.trials,
        &backends.available,
        args.max_fit_params,
    );
    let out = work_dir(root)?.join("backends.jsonl");
    let (records, ended) =
        Runner::new(root, &backends.features()).measure(&spec, &out, &args.common)?;
    let records: Vec<Value> = records
        .into_iter()
        .filter(|r| {
            // `stages` trials from before the attribution was measured are other trials.
            (kind(r) != "stages" || crate::results::flag(r, "trial.experiment.attribution"))
                && sizes.contains(&size(r))
                && (1..=args.trials).contains(&seed(r))
                && backends
                    .available
                    .contains(&text(r, "trial.backend").unwrap_or(""))
        })
        .collect();
    let header = Header {
        title: "Backend comparison: every stage, same teachers and seeds, every compiled backend"
            .into(),
        backends: backends.describe(),
        raw: format!(
            "`target/xtask/backends.jsonl` ({} trials in this report)",
            records.len()
        ),
    };
    let body = report(&records, &sizes, &backends.available, args.max_fit_params);
    let mut doc = header.render(root);
    doc.push_str(&partial_note(ended, records.len(), spec_len(&spec)));
    doc.push_str(&body.markdown);
    let dir = root.join("docs/results");
    std::fs::create_dir_all(&dir)?;
    write_svg(
        &dir.join("backends-time.svg"),
        &command_line(),
        &body.panels,
        3,
    )?;
    std::fs::write(dir.join("backends.md"), &doc)?;
    println!("{}", body.markdown);
    eprintln!("xtask: wrote docs/results/backends.md and docs/results/backends-time.svg");
    Ok(())
}

/// The report's body and its plot panels.
pub(crate) struct Body {
    /// Markdown after the header.
    pub markdown: String,
    /// Time per stage per backend.
    pub panels: Vec<Panel>,
}

/// Builds the tables, the flags and the plot from the records.
pub(crate) fn report(
    records: &[Value],
    sizes: &[[usize; 3]],
    backends: &[&str],
    max_fit_params: usize,
) -> Body {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\nEach size is (d, m0, m1) = (d, d/2, d/4); teachers from the generic family (unit Gaussian a_i and b_l, sign-balanced B, θ, τ ~ U[−0.5, 0.5], tanh), seeds 1…N, the same for every backend. Times are wall times of the stage alone on this shared 2-core machine: compare backends within one table, not across runs. *Spread* is min–max over the trials; *× fastest* is the backend's median time over the fastest backend's median at that size. The Hessian sampling does not call the backend at all (its times differ by noise only, and its results must agree exactly): it is listed because it is step 1 of every backend's pipeline. The attribution (step 4) labels the rank-one candidates of the same trial with the pipeline's drift criterion: its probe samples Hessians around 10 far centres (no backend) and takes an SVD at each (the backend); *labelled correctly* counts the candidates labelled as the kind (a_i or v_l) of their nearest true weight. With at most m0 candidates the pipeline labels them all a_i without running the strategy (no probe, no time): *strategy ran* counts the trials where it did. The fit runs only for P ≤ {max_fit_params} parameters (each LM iteration costs N·P² with N = 4P).\n\n\
         Disagreements are flagged per trial against the reference backend ({}) with the bound expected from ε and that trial's spectral gap (see `xtask/src/compare.rs`): δ = {C_SPREAD}·ε·√n·σ₁/(s_K − s_K+1) for the subspace (n = d(d+1)/2), δ + √ε for each rank-one weight error, and the certificate's resolution 1e-9 for the fit and the route.",
        backends.first().unwrap_or(&"faer")
    );
    let mut flagged: Vec<String> = Vec::new();
    let mut panels = Vec::new();
    for stage in STAGES {
        let recs: Vec<&Value> = records
            .iter()
            .filter(|r| {
                kind(r) == source_kind(stage)
                    && (!matches!(stage, "rank1" | "attribution")
                        || at(r, &format!("result.{stage}")).is_some_and(|v| !v.is_null()))
            })
            .collect();
        if recs.is_empty() {
            continue;
        }
        // Flags: per (size, seed), each backend against the reference.
        let mut flags: BTreeMap<([usize; 3], &str), usize> = BTreeMap::new();
        for ((s, sd), group) in group_by(recs.iter().copied(), |r| (size(r), seed(r))) {
            let by_backend: BTreeMap<&str, &Value> = group
                .iter()
                .map(|r| (text(r, "trial.backend").unwrap_or(""), *r))
                .collect();
            let Some(reference) = backends.iter().find_map(|b| by_backend.get(b)) else {
                continue;
            };
            for b in backends.iter().skip(1) {
                if let Some(other) = by_backend.get(b)
                    && let Some(why) = disagreement(stage, reference, other)
                {
                    *flags.entry((s, b)).or_default() += 1;
                    flagged.push(format!(
                        "- {stage}, {} seed {sd}, {b}: {why}",
                        size_label(s)
                    ));
                }
            }
        }
        let mut table: Option<Table> = None;
        let mut series: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        for &s in sizes {
            let at_size: Vec<&Value> = recs.iter().copied().filter(|r| size(r) == s).collect();
            if at_size.is_empty() {
                continue;
            }
            let med: BTreeMap<&str, f64> = backends
                .iter()
                .map(|b| {
                    (
                        *b,
                        median(
                            &at_size
                                .iter()
                                .filter(|r| text(r, "trial.backend") == Some(b) && ok(r))
                                .filter_map(|r| stage_time(stage, r))
                                .collect::<Vec<_>>(),
                        ),
                    )
                })
                .collect();
            let fastest = med
                .values()
                .copied()
                .filter(|v| !v.is_nan())
                .fold(f64::INFINITY, f64::min);
            for &b in backends {
                let rs: Vec<&Value> = at_size
                    .iter()
                    .copied()
                    .filter(|r| text(r, "trial.backend") == Some(b))
                    .collect();
                if rs.is_empty() {
                    continue;
                }
                let good: Vec<&Value> = rs.iter().copied().filter(|r| ok(r)).collect();
                let times: Vec<f64> = good.iter().filter_map(|r| stage_time(stage, r)).collect();
                let (lo, hi) = min_max(&times);
                let (acc_headers, acc) = accuracy(stage, &good);
                let t = table.get_or_insert_with(|| {
                    let mut h = vec![
                        "size",
                        "backend",
                        "trials",
                        "median time",
                        "spread",
                        "× fastest",
                    ];
                    h.extend(acc_headers.iter().copied());
                    h.push("flagged");
                    Table::new(h)
                });
                let mut row = vec![
                    size_label(s),
                    b.to_string(),
                    format!("{}/{}", good.len(), rs.len()),
                    secs(med[b]),
                    format!("{} – {}", secs(lo), secs(hi)),
                    format!("{:.2}", med[b] / fastest),
                ];
                row.extend(acc);
                row.push(if b == backends[0] {
                    "reference".into()
                } else {
                    flags
                        .get(&(s, b))
                        .map_or_else(|| "0".to_string(), |n| format!("**{n}**"))
                });
                t.row(row);
                series.entry(b).or_default().push((s[0] as f64, med[b]));
            }
        }
        if let Some(t) = table {
            let _ = writeln!(md, "\n## {}\n\n{}", stage_title(stage), t.render());
        }
        panels.push(Panel {
            title: stage.to_string(),
            x_label: "d".into(),
            y_label: "median seconds".into(),
            log_x: true,
            log_y: true,
            series: series
                .into_iter()
                .map(|(b, p)| Series::line(b, p))
                .collect(),
            ..Panel::default()
        });
    }
    let _ = writeln!(md, "\n## Disagreements beyond the expected spread\n");
    if flagged.is_empty() {
        let _ = writeln!(
            md,
            "None: every backend agrees with the reference on every trial within the bounds above."
        );
    } else {
        for f in &flagged {
            let _ = writeln!(md, "{f}");
        }
    }
    let _ = writeln!(
        md,
        "\n## Time per stage\n\n![median time per stage and backend](backends-time.svg)\n\nSpeed of each backend relative to the fastest, median over sizes and stages: {}.",
        speed_summary(records, backends)
    );
    Body {
        markdown: md,
        panels,
    }
}

/// `faer 1.00×, nalgebra 2.3×, …`: the median over (stage, size) of each backend's median
/// time over the fastest's.
fn speed_summary(records: &[Value], backends: &[&str]) -> String {
    let mut ratios: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for stage in STAGES {
        let recs: Vec<&Value> = records
            .iter()
            .filter(|r| kind(r) == source_kind(stage) && ok(r))
            .collect();
        for (_, group) in group_by(recs, size) {
            let med: Vec<(&str, f64)> = backends
                .iter()
                .map(|b| {
                    (
                        *b,
                        median(
                            &group
                                .iter()
                                .filter(|r| text(r, "trial.backend") == Some(b))
                                .filter_map(|r| stage_time(stage, r))
                                .collect::<Vec<_>>(),
                        ),
                    )
                })
                .collect();
            let fastest = med
                .iter()
                .map(|m| m.1)
                .filter(|v| !v.is_nan())
                .fold(f64::INFINITY, f64::min);
            for (b, m) in med {
                if !m.is_nan() && fastest > 0.0 {
                    ratios.entry(b).or_default().push(m / fastest);
                }
            }
        }
    }
    let parts: Vec<String> = backends
        .iter()
        .filter_map(|b| ratios.get(b).map(|r| format!("{b} {:.2}×", median(r))))
        .collect();
    if parts.is_empty() {
        "no data".into()
    } else {
        format!(
            "{} (share of (stage, size) cells where it is within 2× of the fastest: {})",
            parts.join(", "),
            backends
                .iter()
                .filter_map(|b| ratios.get(b).map(|r| format!(
                    "{b} {}",
                    pct(r.iter().filter(|x| **x <= 2.0).count() as f64 / r.len() as f64)
                )))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages_record(backend: &str, seed: u64, distance: f64, a_err: f64, svals: &[f64]) -> Value {
        json!({
            "key": format!("{backend}{seed}"), "ok": true, "seconds": 1.0,
            "trial": {"experiment": {"kind": "stages"}, "size": [20, 10, 5], "seed": seed, "backend": backend},
            "result": {
                "hessians": {"seconds": 0.1, "fd_error_median": 1e-5, "queries": 6930},
                "subspace": {"seconds": 0.01, "dim": 2, "rows": 210, "singular_values": svals, "distance": distance, "gap_ratio": 2.0},
                "rank1": {"seconds": 0.02, "a_found": 1, "v_found": 0, "a_errors": [a_err, null], "v_errors": [null]},
                "attribution": {"seconds": 0.03, "queries": 34650, "strategy": "drift", "candidates": 2, "correct": 2, "entangled": 1, "entangled_correct": 1}
            }
        })
    }

    #[test]
    fn spread_comes_from_the_gap() {
        let r = stages_record("faer", 1, 0.1, 0.01, &[10.0, 5.0, 1.0]);
        let delta = expected_spread(&r).unwrap();
        let want = C_SPREAD * f64::EPSILON * 210f64.sqrt() * 10.0 / 4.0;
        assert!((delta - want).abs() < 1e-12 * want);
    }

    #[test]
    fn disagreements_are_flagged_beyond_the_bound_only() {
        let reference = stages_record("faer", 1, 0.1, 0.01, &[10.0, 5.0, 1.0]);
        let close = stages_record(
            "nalgebra",
            1,
            0.1 + 1e-14,
            0.01 + 1e-12,
            &[10.0, 5.0 + 1e-15, 1.0],
        );
        assert_eq!(disagreement("subspace", &reference, &close), None);
        assert_eq!(disagreement("rank1", &reference, &close), None);
        let far = stages_record("nalgebra", 1, 0.2, 0.3, &[10.0, 5.0, 1.0]);
        assert!(
            disagreement("subspace", &reference, &far)
                .unwrap()
                .contains("‖P_W − P_Ŵ‖")
        );
        assert!(
            disagreement("rank1", &reference, &far)
                .unwrap()
                .contains("a_0")
        );
        assert_eq!(disagreement("attribution", &reference, &far), None);
        let mut mislabelled = close.clone();
        mislabelled["result"]["attribution"]["correct"] = json!(1);
        assert!(
            disagreement("attribution", &reference, &mislabelled)
                .unwrap()
                .contains("labelled correctly: 2 of 2 vs 1 of 2")
        );
        let bad_sv = stages_record("lapack", 1, 0.1, 0.01, &[10.0, 5.1, 1.0]);
        assert!(
            disagreement("subspace", &reference, &bad_sv)
                .unwrap()
                .contains("singular values")
        );
        let route = |b: &str, success: bool, e: f64| json!({"ok": true, "trial": {"size": [20, 10, 5], "backend": b}, "result": {"success": success, "rel_l2": e}});
        assert_eq!(
            disagreement(
                "route",
                &route("faer", true, 1e-14),
                &route("nalgebra", true, 3e-13)
            ),
            None
        );
        assert!(
            disagreement(
                "route",
                &route("faer", true, 1e-14),
                &route("nalgebra", false, 0.3)
            )
            .is_some()
        );
    }

    #[test]
    fn report_has_a_table_per_stage_and_lists_flags() {
        let recs = vec![
            stages_record("faer", 1, 0.1, 0.01, &[10.0, 5.0, 1.0]),
            stages_record("nalgebra", 1, 0.2, 0.01, &[10.0, 5.0, 1.0]),
        ];
        let body = report(&recs, &[[20, 10, 5]], &["faer", "nalgebra"], 2000);
        assert!(body.markdown.contains("## Step 1"));
        assert!(body.markdown.contains("## Step 2"));
        assert!(body.markdown.contains("## Step 3"));
        assert!(body.markdown.contains("## Step 4"));
        assert!(
            body.markdown
                .contains("| 1/1 (100 %) | 2/2 (100 %) | 1/1 (100 %) | 1/1 (100 %) | 34,650 |")
        );
        assert!(
            body.markdown
                .contains("- subspace, (20,10,5) seed 1, nalgebra")
        );
        assert!(body.markdown.contains("| (20,10,5) | nalgebra | 1/1 |"));
        assert_eq!(body.panels.len(), 4);
    }
}
