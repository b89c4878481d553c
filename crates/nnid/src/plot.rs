//! SVG plots of one run, drawn from its [`Report`] (`nnid identify --plot DIR`):
//!
//! | file | for | what |
//! |---|---|---|
//! | `stages.svg` | every method | queries and wall time per stage, in run order |
//! | `spectrum.svg` | `paper` | singular values of the stacked Hessians, the cut at K = m0 + m1 marked |
//! | `objectives.svg` | `paper` | the rank-one objective Φ of each candidate, and 1 − Φ on a log axis, with the acceptance threshold |
//!
//! A plot is written only when the report holds its data (a run that failed in its first
//! stage has no spectrum). The drawing itself is [`nnid_plot`]'s, shared with `cargo xtask`.

use crate::{Report, StageRecord};
use nnid_plot::{Panel, Series, write_svg};
use std::path::{Path, PathBuf};

pub use nnid_plot::{PlotError, create_dir};

/// Floor of 1 − Φ on the log panel: exact candidates reach Φ = 1 to rounding.
const ONE_MINUS_PHI_FLOOR: f64 = 1e-16;

/// Writes the plots of `report` that apply into `dir` (created if missing), each with
/// `command` in its `<desc>`, and returns the files written (none when the report has no
/// stage).
///
/// # Errors
/// [`PlotError::Io`] when the directory or a file cannot be written, [`PlotError::Draw`]
/// when plotters fails.
pub fn write_report_plots(
    report: &Report,
    dir: &Path,
    command: &str,
) -> Result<Vec<PathBuf>, PlotError> {
    create_dir(dir)?;
    let plots = [
        ("stages.svg", stage_panels(report)),
        ("spectrum.svg", spectrum_panel(report).map(|p| vec![p])),
        ("objectives.svg", objective_panels(report)),
    ];
    let mut written = Vec::new();
    for (name, panels) in plots {
        if let Some(panels) = panels {
            let path = dir.join(name);
            write_svg(&path, command, &panels, 2)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The first stage called `name`.
fn stage<'a>(report: &'a Report, name: &str) -> Option<&'a StageRecord> {
    report.stages.iter().find(|s| s.name == name)
}

/// The numbers of a detail array (non-numbers skipped).
fn numbers(stage: &StageRecord, key: &str) -> Option<Vec<f64>> {
    Some(
        stage
            .details
            .get(key)?
            .as_array()?
            .iter()
            .filter_map(serde_json::Value::as_f64)
            .collect(),
    )
}

/// Queries and seconds per stage, one bar each.
fn stage_panels(report: &Report) -> Option<Vec<Panel>> {
    if report.stages.is_empty() {
        return None;
    }
    let categories: Vec<String> = report.stages.iter().map(|s| s.name.clone()).collect();
    let bars = |value: fn(&StageRecord) -> f64| {
        vec![Series::bars(
            "",
            report
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| (i as f64, value(s)))
                .collect(),
        )]
    };
    let panel = |title: String, y_label: &str, series| Panel {
        title,
        x_label: "stage".into(),
        y_label: y_label.into(),
        series,
        categories: categories.clone(),
        ..Panel::default()
    };
    Some(vec![
        panel(
            format!(
                "Queries per stage ({}, total {})",
                report.method,
                report.total_queries()
            ),
            "queries",
            bars(|s| s.queries as f64),
        ),
        panel(
            format!(
                "Wall time per stage (total {:.3} s)",
                report.seconds.get("total").copied().unwrap_or(0.0)
            ),
            "seconds",
            bars(|s| s.seconds),
        ),
    ])
}

/// The singular values of the stacked Hessians, with the cut between s_K and s_K+1.
fn spectrum_panel(report: &Report) -> Option<Panel> {
    let subspace = stage(report, "subspace")?;
    let s = numbers(subspace, "singular_values")?;
    let k = subspace
        .details
        .get("dim")
        .and_then(serde_json::Value::as_u64)
        .map_or(report.m0 + report.m1, |k| k as usize);
    let ratio = subspace
        .details
        .get("ratio_at_dim")
        .and_then(serde_json::Value::as_f64)
        .map_or_else(String::new, |r| format!(", s_K/s_K+1 = {r:.3}"));
    Some(Panel {
        title: format!("Hessian spectrum: cut at K = m0 + m1 = {k}{ratio}"),
        x_label: "k".into(),
        y_label: "singular value s_k".into(),
        log_y: true,
        series: vec![Series::markers(
            "",
            s.iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v))
                .collect(),
        )],
        vlines: vec![k as f64 + 0.5],
        ..Panel::default()
    })
}

/// Φ per candidate and 1 − Φ on a log axis, each with the acceptance threshold.
fn objective_panels(report: &Report) -> Option<Vec<Panel>> {
    let rank1 = stage(report, "rank1")?;
    let phi = numbers(rank1, "objective")?;
    let threshold = rank1
        .details
        .get("objective_threshold")
        .and_then(serde_json::Value::as_f64);
    let wanted = rank1
        .details
        .get("wanted")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or((report.m0 + report.m1) as u64);
    let accepted = threshold.map_or_else(String::new, |t| format!(", accepted at Φ ≥ {t:.4}"));
    let points = |f: fn(f64) -> f64| -> Vec<(f64, f64)> {
        phi.iter()
            .enumerate()
            .map(|(i, &v)| ((i + 1) as f64, f(v)))
            .collect()
    };
    Some(vec![
        Panel {
            title: format!("Rank-one Φ: {} of {wanted} candidates{accepted}", phi.len()),
            x_label: "candidate".into(),
            y_label: "Φ".into(),
            series: vec![Series::markers("", points(|v| v))],
            hlines: threshold.into_iter().collect(),
            ..Panel::default()
        },
        Panel {
            title: format!("1 − Φ (floored at {ONE_MINUS_PHI_FLOOR:.0e})"),
            x_label: "candidate".into(),
            y_label: "1 − Φ".into(),
            log_y: true,
            series: vec![Series::markers(
                "",
                points(|v| (1.0 - v).max(ONE_MINUS_PHI_FLOOR)),
            )],
            hlines: threshold.map(|t| 1.0 - t).into_iter().collect(),
            ..Panel::default()
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report_with(stages: Vec<(&str, serde_json::Value)>) -> Report {
        let mut r = Report::new("paper", "faer", 1, 10, 6, 3);
        for (name, details) in stages {
            r.push_stage(StageRecord {
                name: name.into(),
                queries: 10,
                seconds: 0.5,
                details,
                peak_rss_bytes: None,
            });
        }
        r
    }

    #[test]
    fn only_the_plots_with_data_are_made() {
        let none = report_with(vec![]);
        assert!(stage_panels(&none).is_none() && spectrum_panel(&none).is_none());
        let route_s = report_with(vec![("first_layer", json!({})), ("certificate", json!({}))]);
        assert_eq!(stage_panels(&route_s).unwrap()[0].categories.len(), 2);
        assert!(spectrum_panel(&route_s).is_none() && objective_panels(&route_s).is_none());
        let paper = report_with(vec![
            (
                "subspace",
                json!({"singular_values": [3.0, 2.0, 1e-9], "dim": 2}),
            ),
            (
                "rank1",
                json!({"objective": [1.0, 0.99], "objective_threshold": 0.97, "wanted": 2}),
            ),
        ]);
        assert_eq!(spectrum_panel(&paper).unwrap().vlines, vec![2.5]);
        let obj = objective_panels(&paper).unwrap();
        assert_eq!(obj[0].hlines, vec![0.97]);
        assert_eq!(obj[1].series[0].points[0], (1.0, ONE_MINUS_PHI_FLOOR));
    }
}
