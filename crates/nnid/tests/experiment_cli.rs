//! `nnid experiment`: one JSON line per trial, resume by key, trials on backends that are not
//! compiled in are skipped.

use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("nnid-experiment-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(spec: &PathBuf, out: &PathBuf) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nnid"))
        .args(["experiment", "--quiet", "--spec"])
        .arg(spec)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn writes_one_line_per_trial_and_resumes() {
    let dir = temp_dir("resume");
    let (spec, out) = (dir.join("spec.json"), dir.join("out.jsonl"));
    // Two seeds × two experiments on a tiny teacher.
    std::fs::write(
        &spec,
        r#"{"grids": [{"experiments": [{"kind": "stages", "stencil": "forward"}, {"kind": "route", "method": "saturation", "test_points": 500}],
                       "sizes": [[6, 3, 2]], "seeds": [1, 2], "backends": ["faer"]}]}"#,
    )
    .unwrap();
    let first = run(&spec, &out);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for l in &lines {
        assert_eq!(l["ok"], true, "{l}");
        assert!(l["key"].is_string() && l["result"].is_object());
    }
    // Rerun: everything is there, nothing is appended.
    let second = run(&spec, &out);
    assert!(second.status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    assert!(String::from_utf8_lossy(&second.stderr).contains("4 already in"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_specs_are_errors_not_panics() {
    let dir = temp_dir("bad");
    let (spec, out) = (dir.join("spec.json"), dir.join("out.jsonl"));
    std::fs::write(&spec, r#"{"grids": [{"experiments": [{"kind": "nope"}]}]}"#).unwrap();
    let o = run(&spec, &out);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nnid: error: invalid setting `spec`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
