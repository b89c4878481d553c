//! End-to-end tests of `nnid identify` against a subprocess oracle (`nnid eval`), checked
//! against the truth independently of the report.

use nnid::metrics::{match_weights, uniform_ball};
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Network};
use std::path::PathBuf;
use std::process::{Command, Output};

const NNID: &str = env!("CARGO_BIN_EXE_nnid");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnid-identify-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(NNID).args(args).output().unwrap()
}

fn identify_through_subprocess(act: Activation, seed: u64) {
    let dir = scratch(&format!("{act}-{seed}"));
    let teacher = TeacherConfig::new(12, 6, 3)
        .activation(act)
        .seed(seed)
        .generate()
        .unwrap();
    let net_path = dir.join("teacher.json");
    teacher.write_json(&net_path).unwrap();
    let out_path = dir.join("recovered.json");
    let report_path = dir.join("report.json");
    let cmd = format!("'{NNID}' eval --network '{}'", net_path.display());
    let out = run(&[
        "identify",
        "--oracle-cmd",
        &cmd,
        "--input-dim",
        "12",
        "--m0",
        "6",
        "--m1",
        "3",
        "--activation",
        act.name(),
        "--seed",
        "5",
        "--quiet",
        "--out",
        out_path.to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{act} seed {seed}: nnid identify failed: {stderr}"
    );

    // Independent check: read the recovered network and compare it with the teacher.
    let recovered = Network::read_json(&out_path).unwrap();
    let weights = match_weights(teacher.a(), recovered.a(), 1e-6);
    assert_eq!(
        weights.found, 6,
        "{act} seed {seed}: first-layer errors {:?}",
        weights.errors
    );
    let points = uniform_ball(12, 2000, 1.0, 99);
    let (y, yhat) = (teacher.values(&points), recovered.values(&points));
    let num: f64 = y
        .iter()
        .zip(&yhat)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    let den: f64 = y.iter().map(|a| a * a).sum::<f64>().sqrt();
    // The certificate accepts below 1e-9 on validation queries; the function is the same on
    // the unit ball, so the error there is of the same order (allow a factor 100).
    assert!(
        num / den < 1e-7,
        "{act} seed {seed}: rel-L2 {:.2e}",
        num / den
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["status"], "certified");
    let total = report["queries"]["total"].as_u64().unwrap();
    let per_stage: u64 = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["queries"].as_u64().unwrap())
        .sum();
    assert_eq!(total, per_stage, "the total is the sum of the stages");
    assert!(total > 0);
}

#[test]
fn identifies_a_tanh_teacher_through_a_subprocess_oracle() {
    identify_through_subprocess(Activation::Tanh, 1);
}

#[test]
fn identifies_a_sigmoid_teacher_through_a_subprocess_oracle() {
    identify_through_subprocess(Activation::Sigmoid, 2);
}

#[test]
fn an_oracle_that_dies_mid_run_is_a_clear_error() {
    let dir = scratch("dies");
    let out = run(&[
        "identify",
        "--oracle-cmd",
        "head -n 50 > /dev/null; echo 0.5",
        "--input-dim",
        "8",
        "--m0",
        "4",
        "--m1",
        "2",
        "--quiet",
        "--method",
        "saturation",
        "--out",
        dir.join("x.json").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("query"),
        "the error names the query: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(
        !dir.join("x.json").exists(),
        "no network is written when the run failed"
    );
}

#[test]
fn the_paper_pipeline_reports_an_incomplete_identification() {
    // A generic teacher: the paper's rank-one stage finds only some of the weights
    // (paper-spec §9), and the program must say so with a non-zero exit.
    let dir = scratch("paper");
    let teacher = TeacherConfig::new(10, 6, 3).seed(4).generate().unwrap();
    let net_path = dir.join("t.json");
    teacher.write_json(&net_path).unwrap();
    let report_path = dir.join("r.json");
    let out = run(&[
        "identify",
        "--network",
        net_path.to_str().unwrap(),
        "--method",
        "paper",
        "--quiet",
        "--no-refine",
        "--out",
        dir.join("x.json").to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let status = report["status"].as_str().unwrap().to_string();
    let rank1 = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "rank1")
        .unwrap();
    let (found, wanted) = (
        rank1["details"]["found"].as_u64().unwrap(),
        rank1["details"]["wanted"].as_u64().unwrap(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    if found < wanted {
        assert_eq!(status, "incomplete", "{found} of {wanted} weights found");
        assert_eq!(out.status.code(), Some(2), "incomplete → exit 2: {stderr}");
        assert!(
            stderr.contains("INCOMPLETE")
                && stderr.contains(&format!("{found} of the m0 + m1 = {wanted}")),
            "{stderr}"
        );
        assert!(!dir.join("x.json").exists());
    } else {
        let certified = status == "certified";
        assert_eq!(
            out.status.success(),
            certified,
            "exit status follows the certificate ({status}): {stderr}"
        );
    }
}

/// Bound on the B, θ and τ errors of a certified identification, after matching neurons up
/// to the symmetries. The certificate only guarantees a relative L2 error below 1e-9 on
/// validation queries, and parameter errors are that times a conditioning factor, so the
/// bound is set at 1e-8 rather than at rounding level. Measured on these two teachers: at
/// most 1.9e-13 (tanh) and 8.0e-12 (sigmoid, whose flatter slope conditions B and τ worse),
/// so the bound leaves a margin of three orders of magnitude while still failing on any
/// mismatch that the symmetry handling could cause (a wrong flip or τ shift gives O(0.1–1)).
const PARAMETER_TOL: f64 = 1e-8;

fn report_compares_parameters(act: Activation, seed: u64) {
    let dir = scratch(&format!("truth-{act}-{seed}"));
    let teacher = TeacherConfig::new(12, 6, 3)
        .activation(act)
        .seed(seed)
        .generate()
        .unwrap();
    let net_path = dir.join("teacher.json");
    teacher.write_json(&net_path).unwrap();
    let report_path = dir.join("report.json");
    let out = run(&[
        "identify",
        "--network",
        net_path.to_str().unwrap(),
        "--seed",
        "5",
        "--quiet",
        "--out",
        dir.join("recovered.json").to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{act}: nnid identify failed: {stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let truth = &report["truth"];
    assert_eq!(truth["missing_first_layer"], serde_json::json!([]), "{act}");
    let params = &truth["parameters"];
    assert_eq!(params["second_layer_errors"].as_array().unwrap().len(), 3);
    for key in ["second_layer_max_error", "theta_max_error", "tau_max_error"] {
        let e = params[key].as_f64().unwrap();
        assert!(e < PARAMETER_TOL, "{act}: {key} = {e:.2e}");
    }
    for text in [
        "no identified weight within 0.05 up to sign: none",
        "max ‖b̂_l − b_l‖",
        "max |τ̂ − τ|",
    ] {
        assert!(
            stderr.contains(text),
            "{act}: the summary shows `{text}`: {stderr}"
        );
    }
}

#[test]
fn the_report_compares_b_theta_and_tau_with_a_tanh_truth() {
    report_compares_parameters(Activation::Tanh, 3);
}

#[test]
fn the_report_compares_b_theta_and_tau_with_a_sigmoid_truth() {
    report_compares_parameters(Activation::Sigmoid, 4);
}

/// The attribution strategy the paper pipeline used, from the report of a run with `extra`
/// arguments (the teacher is one where the rank-one stage finds more than m0 candidates,
/// so the attribution stage does run).
fn paper_attribution_strategy(extra: &[&str]) -> String {
    let dir = scratch(&format!("attribution-{}", extra.len()));
    let teacher = TeacherConfig::new(10, 4, 2).seed(2).generate().unwrap();
    let net_path = dir.join("t.json");
    teacher.write_json(&net_path).unwrap();
    let report_path = dir.join("r.json");
    let mut args = vec![
        "identify",
        "--network",
        net_path.to_str().unwrap(),
        "--method",
        "paper",
        "--allow-partial",
        "--no-refine",
        "--quiet",
        "--out",
    ];
    let out_path = dir.join("x.json");
    let report_arg = report_path.to_str().unwrap();
    args.extend([out_path.to_str().unwrap(), "--report", report_arg]);
    args.extend(extra);
    let out = run(&args);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let stage = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "attribution")
        .expect("an attribution stage");
    stage["details"]["strategy"].as_str().unwrap().to_string()
}

#[test]
fn the_attribution_flag_selects_the_papers_correlation_criterion() {
    assert_eq!(paper_attribution_strategy(&[]), "drift", "the default");
    assert_eq!(
        paper_attribution_strategy(&["--attribution", "correlation"]),
        "correlation"
    );
}

/// Whether `text` looks like a complete SVG document with something drawn in it.
fn is_svg_with_marks(text: &str) -> bool {
    let head = text.trim_start();
    (head.starts_with("<svg") || head.starts_with("<?xml"))
        && text.trim_end().ends_with("</svg>")
        && ["<path", "<polyline", "<circle"]
            .iter()
            .any(|m| text.contains(m))
}

fn small_teacher(dir: &std::path::Path) -> PathBuf {
    let teacher = TeacherConfig::new(10, 6, 3).seed(4).generate().unwrap();
    let net_path = dir.join("t.json");
    teacher.write_json(&net_path).unwrap();
    net_path
}

#[test]
fn plot_writes_the_spectrum_objectives_and_stages_of_a_paper_run() {
    let dir = scratch("plot-paper");
    let net_path = small_teacher(&dir);
    let plots = dir.join("plots/nested"); // created by nnid
    let out = run(&[
        "identify",
        "--network",
        net_path.to_str().unwrap(),
        "--method",
        "paper",
        "--allow-partial",
        "--no-refine",
        "--quiet",
        "--out",
        dir.join("x.json").to_str().unwrap(),
        "--plot",
        plots.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for name in ["stages.svg", "spectrum.svg", "objectives.svg"] {
        let path = plots.join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; stderr: {stderr}", path.display()));
        assert!(is_svg_with_marks(&text), "{name} is not a drawn SVG");
        assert!(text.contains("<desc>Produced by `nnid identify"), "{name}");
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    }
    let spectrum = std::fs::read_to_string(plots.join("spectrum.svg")).unwrap();
    assert!(spectrum.contains("K = m0 + m1 = 9"), "the cut is named");
    let stages = std::fs::read_to_string(plots.join("stages.svg")).unwrap();
    for stage in [
        "hessians",
        "subspace",
        "rank1",
        "attribution",
        "fit",
        "certificate",
    ] {
        assert!(stages.contains(stage), "no bar label for {stage}");
    }
}

#[test]
fn plot_writes_only_the_stage_chart_for_a_route_without_spectrum() {
    let dir = scratch("plot-saturation");
    let net_path = small_teacher(&dir);
    let plots = dir.join("plots");
    let out = run(&[
        "identify",
        "--network",
        net_path.to_str().unwrap(),
        "--method",
        "saturation",
        "--allow-partial",
        "--quiet",
        "--out",
        dir.join("x.json").to_str().unwrap(),
        "--plot",
        plots.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c != 1), "{stderr}");
    let text = std::fs::read_to_string(plots.join("stages.svg")).unwrap();
    assert!(is_svg_with_marks(&text));
    assert!(!plots.join("spectrum.svg").exists() && !plots.join("objectives.svg").exists());
    assert!(
        stderr.contains("plots written") && !stderr.contains("spectrum.svg"),
        "{stderr}"
    );
}

#[test]
fn an_unwritable_plot_directory_is_one_clear_line_before_the_run() {
    let dir = scratch("plot-bad");
    let net_path = small_teacher(&dir);
    // A directory cannot be created under a regular file (whoever runs the test).
    let blocker = dir.join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let out = run(&[
        "identify",
        "--network",
        net_path.to_str().unwrap(),
        "--method",
        "paper",
        "--quiet",
        "--out",
        dir.join("x.json").to_str().unwrap(),
        "--plot",
        blocker.join("plots").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("nnid: error: creating the directory") && stderr.contains("plots"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
    assert!(!dir.join("x.json").exists(), "no run happened");
}

#[test]
fn widths_omitted_with_a_subprocess_oracle_are_decided_from_the_queries() {
    let dir = scratch("unknown-widths");
    let teacher = TeacherConfig::new(12, 6, 3).seed(8).generate().unwrap();
    let net_path = dir.join("teacher.json");
    teacher.write_json(&net_path).unwrap();
    let out_path = dir.join("recovered.json");
    let report_path = dir.join("report.json");
    let cmd = format!("'{NNID}' eval --network '{}'", net_path.display());
    let out = run(&[
        "identify",
        "--oracle-cmd",
        &cmd,
        "--input-dim",
        "12",
        "--quiet",
        "--out",
        out_path.to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nnid identify failed: {stderr}");
    let recovered = Network::read_json(&out_path).unwrap();
    assert_eq!((recovered.m0(), recovered.m1()), (6, 3));
    assert_eq!(match_weights(teacher.a(), recovered.a(), 1e-6).found, 6);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(
        (report["m0"].as_u64(), report["m1"].as_u64()),
        (Some(6), Some(3))
    );
    assert!(
        stderr.contains("widths_m1"),
        "the summary lists the width stage: {stderr}"
    );

    // Only `auto` decides widths: the others say what they need, in one line.
    let out = run(&[
        "identify",
        "--oracle-cmd",
        &cmd,
        "--input-dim",
        "12",
        "--method",
        "gradient",
        "--quiet",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--m0 and --m1") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
