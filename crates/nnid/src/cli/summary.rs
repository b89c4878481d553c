//! The short human report printed after a run.

use nnid::metrics::RECOVERY_THRESHOLD;
use nnid::{Report, Status, TruthComparison};

/// Prints the summary of `report` (to stdout when `to_stdout`, else stderr).
pub(crate) fn print(report: &Report, to_stdout: bool) {
    let text = render(report);
    if to_stdout {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
}

fn render(r: &Report) -> String {
    let mut out = Vec::new();
    out.push(format!(
        "nnid: method {}, backend {}, (d, m0, m1) = ({}, {}, {}), P = {} parameters, seed {}",
        r.method, r.backend, r.d, r.m0, r.m1, r.parameters, r.seed
    ));
    out.push(format!(
        "{:<16} {:>10} {:>10} {:>12}",
        "stage", "queries", "seconds", "peak memory"
    ));
    for s in &r.stages {
        let peak = s
            .peak_rss_bytes
            .map_or_else(|| "-".to_string(), |b| format!("{:.0} MB", b as f64 / 1e6));
        out.push(format!(
            "{:<16} {:>10} {:>10.3} {:>12}",
            s.name, s.queries, s.seconds, peak
        ));
    }
    let total = r.total_queries();
    out.push(format!(
        "{:<16} {:>10} {:>10.3}   ({:.2} queries per parameter; the paper's Hessian budget is {})",
        "total",
        total,
        r.seconds.get("total").copied().unwrap_or(0.0),
        total as f64 / r.parameters as f64,
        r.paper_budget()
    ));
    if let Some(c) = &r.certificate {
        out.push(format!(
            "certificate: validation rel-L2 {:.2e} on {} fresh queries (threshold {:.0e})",
            c.validation_rel_l2, c.points, c.threshold
        ));
    }
    if let Some(t) = &r.truth {
        out.extend(truth_lines(t));
    }
    for n in &r.notes {
        out.push(format!("note: {n}"));
    }
    if let Some(e) = &r.error {
        out.push(format!("error: {e}"));
    }
    out.push(match r.status {
        Status::Certified => "result: IDENTIFIED (certified on fresh queries)".to_string(),
        Status::NotCertified => {
            "result: NOT CERTIFIED — the network does not match the black box to the threshold"
                .to_string()
        }
        Status::Incomplete => {
            "result: INCOMPLETE — the method did not find every weight".to_string()
        }
        Status::Failed => "result: FAILED".to_string(),
    });
    out.join("\n")
}

/// The comparison with the truth: first layer, missing a_i, B/θ/τ and function errors.
fn truth_lines(t: &TruthComparison) -> Vec<String> {
    let mut out = vec![format!(
        "against the truth: {}/{} first-layer weights within 1e-4 (max error {:.2e}); rel-L2 {:.2e}, rel-sup {:.2e} on {} points in the unit ball",
        t.first_layer.found,
        t.first_layer.errors.len(),
        t.first_layer.max_error,
        t.unit_ball.rel_l2,
        t.unit_ball.rel_sup,
        t.test_points
    )];
    let missing = if t.missing_first_layer.is_empty() {
        "none".to_string()
    } else {
        format!("i = {:?}", t.missing_first_layer)
    };
    out.push(format!(
        "true first-layer weights a_i with no identified weight within {RECOVERY_THRESHOLD} up to sign: {missing}"
    ));
    if let Some(p) = &t.parameters {
        out.push(format!(
            "after matching neurons up to permutation and sign: max ‖b̂_l − b_l‖ {:.2e}, max |θ̂ − θ| {:.2e}, max |τ̂ − τ| {:.2e}",
            p.second_layer_max_error, p.theta_max_error, p.tau_max_error
        ));
    }
    out
}
