//! Runs `nnid experiment` (release build) on a spec and reads its JSON lines back.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Whether Ctrl-C was pressed during a run.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// On Ctrl-C xtask only takes note: the child (same process group) gets the signal too,
/// finishes its current trial and exits, and xtask then writes the partial report.
fn install_handler() {
    HANDLER.call_once(|| {
        if let Err(e) = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst)) {
            eprintln!("xtask: could not install the Ctrl-C handler ({e}); Ctrl-C will stop xtask at once");
        }
    });
}

/// Where xtask keeps its raw results and specs: `target/xtask/`.
pub(crate) fn work_dir(root: &Path) -> Result<PathBuf> {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from).join("xtask");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Every trial is in the results file.
    Complete,
    /// Stopped by Ctrl-C; the results so far are kept.
    Interrupted,
}

/// Writes `spec` next to `out` and runs
/// `$CARGO run --release -p nnid --features <features> -- experiment --spec S --out out`
/// with `OPENBLAS_NUM_THREADS=1`.
///
/// # Errors
/// The build or the run failed (other than by Ctrl-C).
pub(crate) fn run_experiment(root: &Path, features: &str, spec: &Value, out: &Path) -> Result<Ended> {
    install_handler();
    let spec_path = out.with_extension("spec.json");
    std::fs::write(&spec_path, serde_json::to_string_pretty(spec)?).with_context(|| format!("writing {}", spec_path.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args(["run", "--release", "-p", "nnid"]);
    if !features.is_empty() {
        cmd.args(["--features", features]);
    }
    cmd.args(["--", "experiment", "--spec"]).arg(&spec_path).arg("--out").arg(out);
    cmd.env("OPENBLAS_NUM_THREADS", "1");
    eprintln!("xtask: running `cargo run --release -p nnid{} -- experiment --spec {} --out {}`", if features.is_empty() { String::new() } else { format!(" --features {features}") }, spec_path.display(), out.display());
    let status = cmd.status().context("starting cargo")?;
    if status.success() {
        return Ok(if interrupted() { Ended::Interrupted } else { Ended::Complete });
    }
    if interrupted() || status.code() == Some(130) {
        return Ok(Ended::Interrupted);
    }
    bail!("`nnid experiment` exited with {status}")
}

/// Reads every parseable record of a results file (none when it does not exist).
///
/// # Errors
/// Reading the file failed.
pub(crate) fn read_records(path: &Path) -> Result<Vec<Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| v.get("key").is_some()).collect())
}

/// Runs (unless `report_only`) and reads the records back; deletes the results first when
/// `fresh`.
///
/// # Errors
/// As [`run_experiment`] and [`read_records`].
pub(crate) fn measure(root: &Path, features: &str, spec: &Value, out: &Path, common: &crate::flags::Common) -> Result<(Vec<Value>, Ended)> {
    if common.fresh && out.exists() {
        std::fs::remove_file(out).with_context(|| format!("removing {}", out.display()))?;
    }
    let ended = if common.report_only { Ended::Complete } else { run_experiment(root, features, spec, out)? };
    Ok((read_records(out)?, ended))
}

/// A note for the report when the run was cut short.
pub(crate) fn partial_note(ended: Ended, records: usize, planned: usize) -> String {
    if ended == Ended::Interrupted || records < planned {
        format!("\n> **Partial results**: {records} of {planned} planned trials (interrupted); rerun the same command to continue.\n")
    } else {
        String::new()
    }
}
