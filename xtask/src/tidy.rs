//! Repository conventions, checked by `cargo test -p xtask` (rust-analyzer's tidy idea):
//! every results file names the command that produced it, and every crate has crate docs.

use crate::project_root;
use std::path::{Path, PathBuf};

/// Lines at the top of a markdown results file searched for its command.
const HEADER_LINES: usize = 20;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Why a results file does not name its command, if it does not.
fn results_file_problem(path: &Path, text: &str) -> Option<String> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "md" => {
            let named = text.lines().take(HEADER_LINES).any(|l| {
                l.contains("cargo ") && (l.contains('`') || l.trim_start().starts_with("cargo "))
            });
            (!named).then(|| {
                format!(
                    "{}: no `cargo …` command in its first {HEADER_LINES} lines",
                    path.display()
                )
            })
        }
        "svg" => (!text.contains("<desc>Produced by `cargo "))
            .then(|| format!("{}: no <desc>Produced by `cargo …`</desc>", path.display())),
        "json" | "jsonl" | "csv" => None.or_else(|| {
            (!text.contains("cargo ")).then(|| {
                format!(
                    "{}: a data file must name its command (or live in target/)",
                    path.display()
                )
            })
        }),
        _ => Some(format!(
            "{}: unexpected file type in docs/results/",
            path.display()
        )),
    }
}

#[test]
fn every_results_file_names_its_command() {
    let dir = project_root().join("docs/results");
    let problems: Vec<String> = files(&dir)
        .iter()
        .filter_map(|p| results_file_problem(p, &std::fs::read_to_string(p).unwrap_or_default()))
        .collect();
    assert!(
        problems.is_empty(),
        "results files without their command:\n{}",
        problems.join("\n")
    );
}

/// The crate root of every workspace package: `src/lib.rs`, else `src/main.rs`.
fn crate_roots(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.extend(["tests", "benches", "xtask"].iter().map(|d| root.join(d)));
    dirs.into_iter()
        .filter(|d| d.join("Cargo.toml").exists())
        .filter_map(|d| {
            [d.join("src/lib.rs"), d.join("src/main.rs")]
                .into_iter()
                .find(|p| p.exists())
        })
        .collect()
}

/// Whether a crate root starts with crate docs (`//!` or `#![doc = …]`) after blank lines
/// and attributes.
fn has_crate_docs(text: &str) -> bool {
    let is_doc = |l: &str| l.starts_with("//!") || l.starts_with("#![doc");
    let skipped = |l: &str| l.is_empty() || (l.starts_with("#![") && !is_doc(l));
    text.lines()
        .map(str::trim)
        .find(|l| !skipped(l))
        .is_some_and(is_doc)
}

#[test]
fn every_crate_has_crate_docs() {
    let roots = crate_roots(&project_root());
    assert!(roots.len() >= 3, "found only {roots:?}");
    let missing: Vec<String> = roots
        .iter()
        .filter(|p| !has_crate_docs(&std::fs::read_to_string(p).unwrap_or_default()))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "crates without crate docs (`//!` at the top of lib.rs/main.rs): {missing:?}"
    );
}

#[test]
fn the_checks_can_fail() {
    assert!(results_file_problem(Path::new("x.md"), "# Title\n\nno command here\n").is_some());
    assert!(
        results_file_problem(Path::new("x.md"), "# T\n\nCommand: `cargo xtask bench`\n").is_none()
    );
    assert!(results_file_problem(Path::new("x.svg"), "<svg></svg>").is_some());
    assert!(
        results_file_problem(
            Path::new("x.svg"),
            "<svg><desc>Produced by `cargo xtask reproduce`</desc></svg>"
        )
        .is_none()
    );
    assert!(results_file_problem(Path::new("x.png"), "").is_some());
    assert!(has_crate_docs("#![allow(x)]\n\n//! Docs.\nfn main() {}"));
    assert!(has_crate_docs("#![doc = include_str!(\"../README.md\")]"));
    assert!(!has_crate_docs("fn main() {}\n//! late"));
    assert!(!has_crate_docs("// plain comment\n//! docs"));
}
