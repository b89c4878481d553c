//! Shared helpers of the end-to-end tests in `tests/tests/`.
//!
//! Tests that run the `nnid` program live in `crates/nnid/tests/`, where cargo builds the
//! binary and names it in `CARGO_BIN_EXE_nnid`; [`nnid_bin`] is for tests here that need it
//! anyway (it must have been built, e.g. by `cargo test --workspace` or `cargo build -p nnid`).

use std::path::PathBuf;

/// The workspace root (the parent of this package's folder).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map_or(here.clone(), PathBuf::from)
}

/// `tests/scripts/network_oracle.py`: serves a network file over the subprocess oracle
/// protocol (text or `--binary`, float64 or `--float32`) without nnid.
pub fn network_oracle_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join("network_oracle.py")
}

/// A fresh, empty scratch folder for one test, in the system's temporary folder.
///
/// # Panics
/// If the folder cannot be created (a broken test environment).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnid-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Path of the `nnid` binary: `$NNID_BIN` if set, else the one next to the test executable
/// (`target/<profile>/nnid`).
///
/// # Panics
/// If neither exists, with a message saying how to build it.
pub fn nnid_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NNID_BIN") {
        return PathBuf::from(p);
    }
    let mut dir = std::env::current_exe().expect("test executable path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join(format!("nnid{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} does not exist: build it first (`cargo build -p nnid`) or set NNID_BIN",
        bin.display()
    );
    bin
}

/// Every compiled linear-algebra backend with its handle (at least one, or the test fails).
pub fn backends() -> Vec<(nnid_linalg::BackendKind, nnid_linalg::Linalg<'static>)> {
    let kinds: Vec<_> = nnid_linalg::BackendKind::compiled().collect();
    assert!(
        !kinds.is_empty(),
        "no linear-algebra backend is compiled in"
    );
    kinds
        .into_iter()
        .map(|k| (k, k.linalg().expect("compiled backend")))
        .collect()
}
