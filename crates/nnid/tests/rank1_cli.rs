//! End-to-end tests of `nnid rank1`, run as a program: a good span file, then one file per
//! class of bad input, each of which must exit non-zero with a message naming the problem.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NNID: &str = env!("CARGO_BIN_EXE_nnid");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnid-rank1-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(NNID).args(args).output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn outer(u: &[f64]) -> Vec<Vec<f64>> {
    u.iter()
        .map(|a| u.iter().map(|b| a * b).collect())
        .collect()
}

fn combine(a: &[Vec<Vec<f64>>], coef: &[f64]) -> Vec<Vec<f64>> {
    let d = a[0].len();
    (0..d)
        .map(|i| {
            (0..d)
                .map(|j| a.iter().zip(coef).map(|(m, c)| c * m[i][j]).sum())
                .collect()
        })
        .collect()
}

/// Three unit vectors in R^5 and a span file holding three (non-orthonormal) mixtures of their
/// rank-one matrices.
fn good_span() -> (Vec<Vec<f64>>, Value) {
    let raw = [
        vec![1.0, 0.2, -0.4, 0.0, 0.3],
        vec![-0.1, 1.0, 0.5, 0.2, 0.0],
        vec![0.3, 0.0, 0.2, 1.0, -0.6],
    ];
    let w: Vec<Vec<f64>> = raw
        .iter()
        .map(|v| {
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter().map(|x| x / n).collect()
        })
        .collect();
    let r: Vec<_> = w.iter().map(|v| outer(v)).collect();
    let mats = vec![
        combine(&r, &[1.0, 2.0, 0.0]),
        combine(&r, &[0.5, -1.0, 3.0]),
        combine(&r, &[-2.0, 0.0, 1.0]),
    ];
    (w, json!({ "dim": 5, "matrices": mats }))
}

fn assert_recovered(out: &Value, truth: &[Vec<f64>]) {
    let vectors = out["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), truth.len(), "{out}");
    for w in truth {
        let best = vectors
            .iter()
            .map(|v| {
                let u: Vec<f64> = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                let minus: f64 = u.iter().zip(w).map(|(a, b)| (a - b) * (a - b)).sum();
                let plus: f64 = u.iter().zip(w).map(|(a, b)| (a + b) * (a + b)).sum();
                minus.min(plus).sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        assert!(
            best < 1e-8,
            "a true vector is {best:e} from every output: {out}"
        );
    }
    for phi in out["objective"].as_array().unwrap() {
        assert!((phi.as_f64().unwrap() - 1.0).abs() < 1e-10, "{out}");
    }
    assert!(out["seconds"].as_f64().unwrap() >= 0.0);
}

#[test]
fn a_good_span_file_gives_its_rank_ones_with_both_solvers() {
    let dir = scratch("good");
    let (truth, span) = good_span();
    let input = write(&dir, "span.json", &span.to_string());
    for solver in ["spm", "pga"] {
        let out = run(&[
            "rank1", "--input", &input, "--solver", solver, "--seed", "3",
        ]);
        assert!(
            out.status.success(),
            "{solver}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_recovered(&value, &truth);
        assert_eq!(value["solver"], solver);
    }
    // --out writes the same document to a file.
    let found = dir.join("found.json");
    let out = run(&[
        "rank1",
        "--input",
        &input,
        "--out",
        found.to_str().unwrap(),
        "--backend",
        "faer",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&found).unwrap()).unwrap();
    assert_recovered(&value, &truth);
}

/// Runs `nnid rank1` on `span` and checks that it fails with a message containing `needle`.
fn assert_refused(dir: &Path, name: &str, span: &str, needle: &str) {
    let input = write(dir, &format!("{name}.json"), span);
    let out = run(&["rank1", "--input", &input]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{name}: accepted; stdout {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(needle),
        "{name}: message {stderr:?} does not mention {needle:?}"
    );
}

#[test]
fn every_class_of_bad_input_is_refused_with_a_clear_message() {
    let dir = scratch("bad");
    let sym = json!([[1.0, 2.0], [2.0, 5.0]]);
    let other = json!([[0.0, 1.0], [1.0, 0.0]]);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not-symmetric",
            json!({"dim": 2, "matrices": [[[1.0, 2.0], [3.0, 1.0]]]}).to_string(),
            "not symmetric",
        ),
        (
            "too-few-rows",
            json!({"dim": 3, "matrices": [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]}).to_string(),
            "expected 3×3, got 2 rows",
        ),
        (
            "ragged-row",
            json!({"dim": 2, "matrices": [sym, [[1.0, 0.0], [0.0]]]}).to_string(),
            "row 1 with 1 numbers",
        ),
        (
            "huge",
            json!({"dim": 2, "matrices": [[[1e200, 0.0], [0.0, 1.0]]]}).to_string(),
            "must be finite",
        ),
        (
            "overflow",
            r#"{"dim": 2, "matrices": [[[1e400, 0.0], [0.0, 1.0]]]}"#.to_string(),
            "not a span file",
        ),
        (
            "null",
            r#"{"dim": 2, "matrices": [[[null, 0.0], [0.0, 1.0]]]}"#.to_string(),
            "not a span file",
        ),
        (
            "too-many",
            json!({"dim": 2, "matrices": [sym, other, sym, other]}).to_string(),
            "at most d(d+1)/2 = 3",
        ),
        (
            "zero",
            json!({"dim": 2, "matrices": [sym, [[0.0, 0.0], [0.0, 0.0]]]}).to_string(),
            "matrix 1 is zero",
        ),
        (
            "dependent",
            json!({"dim": 2, "matrices": [sym, [[2.0, 4.0], [4.0, 10.0]]]}).to_string(),
            "span only 1 dimensions",
        ),
        (
            "empty",
            json!({"dim": 2, "matrices": []}).to_string(),
            "empty search space",
        ),
        (
            "unknown-field",
            json!({"dim": 2, "matrices": [sym], "extra": 1}).to_string(),
            "unknown field",
        ),
        ("not-json", "{\"dim\": 2, ".to_string(), "not a span file"),
    ];
    for (name, span, needle) in cases {
        assert_refused(&dir, name, &span, needle);
    }
    // A missing file and an unknown backend.
    let out = run(&[
        "rank1",
        "--input",
        dir.join("absent.json").to_str().unwrap(),
    ]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let input = write(&dir, "ok.json", &good_span().1.to_string());
    let out = run(&["rank1", "--input", &input, "--backend", "cuda"]);
    assert!(
        !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("unknown backend `cuda`")
    );
}
