//! The short human report printed after a run.

use nnid::metrics::{Certificate, RECOVERY_THRESHOLD};
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
    if let Some(f) = &r.noise_floor {
        out.push(format!(
            "noise floor: {:.1e} relative, {:.1e} absolute, from {} queries at {} points (fourth differences {:.1e}, repeats {:.1e})",
            f.relative, f.absolute, f.queries, f.points, f.stencil, f.repeat
        ));
    }
    if let Some(c) = &r.certificate {
        out.push(certificate_line(c));
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
        Status::Certified => match &r.certificate {
            Some(c) if c.noise_limited => format!(
                "result: IDENTIFIED to rel-L2 {:.1e} (certified on fresh queries against the oracle's noise floor, not to {:.0e})",
                c.accuracy, c.base_threshold
            ),
            _ => "result: IDENTIFIED (certified on fresh queries)".to_string(),
        },
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

/// The certificate: residual, threshold and what set it, and the accuracy reached. Never
/// names the exact-oracle threshold when the noise floor set a higher one.
fn certificate_line(c: &Certificate) -> String {
    let verdict = if c.certified {
        "certified"
    } else {
        "not certified"
    };
    match (c.noise_limited, c.relative_noise_floor) {
        (true, Some(floor)) => format!(
            "certificate: validation rel-L2 {:.2e} on {} fresh queries; {verdict} against the oracle's noise floor {floor:.1e} (threshold {:.1e}); accuracy reached {:.1e}",
            c.validation_rel_l2, c.points, c.threshold, c.accuracy
        ),
        (_, floor) => {
            let floor = floor.map_or_else(
                || "no noise floor estimated".to_string(),
                |f| format!("the oracle's noise floor {f:.1e}"),
            );
            format!(
                "certificate: validation rel-L2 {:.2e} on {} fresh queries (threshold {:.0e}; {floor}); {verdict}",
                c.validation_rel_l2, c.points, c.threshold
            )
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use nnid::noise::NoiseFloor;

    fn report(threshold: f64, relative_floor: f64, residual: f64) -> Report {
        let mut r = Report::new("gradient", "faer", 1, 8, 4, 2);
        r.noise_floor = Some(NoiseFloor {
            points: 24,
            queries: 144,
            step: 1e-5,
            stencil: relative_floor,
            repeat: 0.0,
            absolute: relative_floor,
            rms_value: 1.0,
            relative: relative_floor,
            spread: 1.0,
        });
        r.certificate = Some(Certificate {
            validation_rel_l2: residual,
            threshold,
            base_threshold: 1e-9,
            noise_floor: Some(relative_floor),
            relative_noise_floor: Some(relative_floor),
            noise_limited: threshold > 1e-9,
            accuracy: residual.max(relative_floor),
            points: 200,
            certified: residual < threshold,
        });
        r.status = if residual < threshold {
            Status::Certified
        } else {
            Status::NotCertified
        };
        r
    }

    #[test]
    fn a_noise_limited_certificate_names_the_floor_and_never_1e9() {
        let text = render(&report(9e-8, 3e-8, 3.2e-8));
        assert!(
            text.contains("certified against the oracle's noise floor 3.0e-8 (threshold 9.0e-8)"),
            "{text}"
        );
        assert!(text.contains("accuracy reached 3.2e-8"), "{text}");
        assert!(
            text.contains("result: IDENTIFIED to rel-L2 3.2e-8 (certified on fresh queries against the oracle's noise floor, not to 1e-9)"),
            "{text}"
        );
        assert!(text.contains("noise floor: 3.0e-8 relative"), "{text}");
        assert!(!text.contains("threshold 1e-9"), "{text}");
    }

    #[test]
    fn an_exact_oracle_keeps_the_plain_certificate() {
        let text = render(&report(1e-9, 2e-16, 1e-14));
        assert!(
            text.contains("(threshold 1e-9; the oracle's noise floor 2.0e-16); certified"),
            "{text}"
        );
        assert!(
            text.contains("result: IDENTIFIED (certified on fresh queries)"),
            "{text}"
        );
        let failed = render(&report(9e-8, 3e-8, 1e-3));
        assert!(
            failed.contains("not certified against the oracle's noise floor"),
            "{failed}"
        );
        assert!(failed.contains("result: NOT CERTIFIED"), "{failed}");
    }
}
