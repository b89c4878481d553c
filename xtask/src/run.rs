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
            eprintln!(
                "xtask: could not install the Ctrl-C handler ({e}); Ctrl-C will stop xtask at once"
            );
        }
    });
}

/// Where xtask keeps its raw results and specs: `target/xtask/`.
pub(crate) fn work_dir(root: &Path) -> Result<PathBuf> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("xtask");
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

/// Builds `nnid` once (release, with the chosen features) and runs it on specs.
///
/// The binary is built at the first measurement and reused for the later ones, so the
/// phases of one command measure the same build even if sources change meanwhile.
pub(crate) struct Runner {
    root: PathBuf,
    features: String,
    binary: Option<PathBuf>,
}

impl Runner {
    /// A runner for `nnid` with these cargo features (empty: the default, faer).
    pub(crate) fn new(root: &Path, features: &str) -> Self {
        Self {
            root: root.to_path_buf(),
            features: features.to_string(),
            binary: None,
        }
    }

    /// The release `nnid` binary, built on first use.
    ///
    /// # Errors
    /// The build failed.
    pub(crate) fn binary(&mut self) -> Result<PathBuf> {
        self.build()
    }

    /// `$CARGO build --release -p nnid [--features …]`; the path of the binary.
    fn build(&mut self) -> Result<PathBuf> {
        if let Some(b) = &self.binary {
            return Ok(b.clone());
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&self.root)
            .args(["build", "--release", "-p", "nnid"]);
        if !self.features.is_empty() {
            cmd.args(["--features", &self.features]);
        }
        eprintln!(
            "xtask: building `cargo build --release -p nnid{}`",
            if self.features.is_empty() {
                String::new()
            } else {
                format!(" --features {}", self.features)
            }
        );
        let status = cmd.status().context("starting cargo")?;
        if !status.success() {
            bail!("building nnid failed ({status})");
        }
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| self.root.join("target"), PathBuf::from);
        let binary = dir
            .join("release")
            .join(format!("nnid{}", std::env::consts::EXE_SUFFIX));
        if !binary.exists() {
            bail!("the build did not produce {}", binary.display());
        }
        self.binary = Some(binary.clone());
        Ok(binary)
    }

    /// Writes `spec` next to `out` and runs `nnid experiment --spec S --out out` with
    /// `OPENBLAS_NUM_THREADS=1`.
    ///
    /// # Errors
    /// The build or the run failed (other than by Ctrl-C).
    pub(crate) fn run_experiment(&mut self, spec: &Value, out: &Path) -> Result<Ended> {
        install_handler();
        let binary = self.build()?;
        if interrupted() {
            return Ok(Ended::Interrupted);
        }
        let spec_path = out.with_extension("spec.json");
        std::fs::write(&spec_path, serde_json::to_string_pretty(spec)?)
            .with_context(|| format!("writing {}", spec_path.display()))?;
        eprintln!(
            "xtask: running `{} experiment --spec {} --out {}`",
            binary.display(),
            spec_path.display(),
            out.display()
        );
        let status = Command::new(&binary)
            .current_dir(&self.root)
            .args(["experiment", "--spec"])
            .arg(&spec_path)
            .arg("--out")
            .arg(out)
            .env("OPENBLAS_NUM_THREADS", "1")
            .status()
            .with_context(|| format!("starting {}", binary.display()))?;
        if status.success() {
            return Ok(if interrupted() {
                Ended::Interrupted
            } else {
                Ended::Complete
            });
        }
        if interrupted() || status.code() == Some(130) {
            return Ok(Ended::Interrupted);
        }
        bail!("`nnid experiment` exited with {status}")
    }

    /// Runs (unless `report_only`) and reads the records back; deletes the results first
    /// when `fresh`.
    ///
    /// # Errors
    /// As [`Runner::run_experiment`] and [`read_records`].
    pub(crate) fn measure(
        &mut self,
        spec: &Value,
        out: &Path,
        common: &crate::flags::Common,
    ) -> Result<(Vec<Value>, Ended)> {
        if common.fresh && out.exists() {
            std::fs::remove_file(out).with_context(|| format!("removing {}", out.display()))?;
        }
        let ended = if common.report_only {
            Ended::Complete
        } else {
            self.run_experiment(spec, out)?
        };
        Ok((read_records(out)?, ended))
    }
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
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("key").is_some())
        .collect())
}

/// A note for the report when the run was cut short.
pub(crate) fn partial_note(ended: Ended, records: usize, planned: usize) -> String {
    if ended == Ended::Interrupted || records < planned {
        let of = if records <= planned {
            format!(" of {planned} planned")
        } else {
            String::new()
        };
        format!(
            "\n> **Partial results**: the run was interrupted; {records} trials{of} are in this report. Rerun the same command to continue.\n"
        )
    } else {
        String::new()
    }
}
