//! What a results file must say about where it was made: the command, the date, the git
//! revision, the host, the thread settings and the backends (and why some are skipped).

use std::path::Path;
use std::process::Command;

/// The backends a release build of `nnid` can have on this machine.
#[derive(Clone, Debug)]
pub(crate) struct Backends {
    /// Backends that build here, in order (`faer` first: the reference).
    pub available: Vec<&'static str>,
    /// Backends that do not, each with the reason.
    pub skipped: Vec<(&'static str, String)>,
}

impl Backends {
    /// Probes OpenBLAS (for `lapack`): `pkg-config --exists openblas`, else the shared
    /// library in the usual Debian places.
    pub(crate) fn probe() -> Self {
        let mut skipped = Vec::new();
        let mut available = vec!["faer", "nalgebra"];
        match openblas() {
            Ok(()) => available.push("lapack"),
            Err(why) => skipped.push(("lapack", why)),
        }
        Self { available, skipped }
    }

    /// The cargo features of package `nnid` that compile these backends.
    pub(crate) fn features(&self) -> String {
        if self.available.len() == 3 {
            "nnid/all-backends".to_string()
        } else {
            self.available
                .iter()
                .map(|b| format!("nnid/{b}"))
                .collect::<Vec<_>>()
                .join(",")
        }
    }

    /// One line for a results header.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!("compiled: {}", self.available.join(", "));
        for (b, why) in &self.skipped {
            s.push_str(&format!("; skipped: {b} ({why})"));
        }
        s
    }
}

fn openblas() -> Result<(), String> {
    match Command::new("pkg-config")
        .args(["--exists", "openblas"])
        .status()
    {
        Ok(s) if s.success() => return Ok(()),
        Ok(_) => {}
        Err(_) => {
            // No pkg-config: look for the library itself.
            let found = [
                "/usr/lib/x86_64-linux-gnu/libopenblas.so",
                "/usr/lib/aarch64-linux-gnu/libopenblas.so",
                "/usr/lib/libopenblas.so",
                "/usr/local/lib/libopenblas.so",
            ]
            .iter()
            .any(|p| Path::new(p).exists());
            if found {
                return Ok(());
            }
            return Err("pkg-config is missing and no libopenblas.so was found; install with `apt-get install libopenblas-dev pkg-config`".into());
        }
    }
    Err("OpenBLAS not found (`pkg-config --exists openblas` failed); install it with `apt-get install libopenblas-dev`".into())
}

/// The command as the user typed it (`cargo xtask …`).
pub(crate) fn command_line() -> String {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect();
    format!("cargo xtask {}", args.join(" "))
}

/// The git revision, with `(uncommitted changes)` when the tree differs from it.
pub(crate) fn git_revision(root: &Path) -> String {
    let out = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match out(&["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) => {
            let dirty = out(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev} (uncommitted changes)")
            } else {
                rev
            }
        }
        None => "none (no commit yet, or not a git checkout)".to_string(),
    }
}

/// CPU model, core count and OS.
pub(crate) fn host() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The thread settings the measuring process runs with.
pub(crate) fn threads() -> String {
    let rayon =
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset (one per core)".to_string());
    format!(
        "rayon (nnid's parallel loops over points and starts): RAYON_NUM_THREADS={rayon}; backends single-threaded inside each operation (nnid-linalg default, OPENBLAS_NUM_THREADS=1 set by xtask)"
    )
}

/// Today's date and time in UTC, `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn date_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (civil-from-days).
pub(crate) fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// The header every results file starts with.
pub(crate) struct Header {
    /// Title line (without `#`).
    pub title: String,
    /// Backends line.
    pub backends: String,
    /// Where the raw results are, and how many trials.
    pub raw: String,
}

impl Header {
    /// The markdown header: title, then the command and the facts of the run.
    pub(crate) fn render(&self, root: &Path) -> String {
        format!(
            "# {}\n\nCommand: `{}`\n\n- Date: {}\n- Git revision: {}\n- Host: {}\n- Threads: {}\n- Backends: {}\n- Raw results: {}\n",
            self.title,
            command_line(),
            date_utc(),
            git_revision(root),
            host(),
            threads(),
            self.backends,
            self.raw
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_right() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn features_name_the_backends() {
        let all = Backends {
            available: vec!["faer", "nalgebra", "lapack"],
            skipped: vec![],
        };
        assert_eq!(all.features(), "nnid/all-backends");
        let some = Backends {
            available: vec!["faer", "nalgebra"],
            skipped: vec![("lapack", "no OpenBLAS".into())],
        };
        assert_eq!(some.features(), "nnid/faer,nnid/nalgebra");
        assert!(some.describe().contains("skipped: lapack (no OpenBLAS)"));
    }
}
