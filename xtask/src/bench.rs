//! `cargo xtask bench`: runs the criterion benches (`cargo bench --workspace`) and collects
//! every `target/criterion/**/new/estimates.json` updated by the run into
//! docs/results/bench.md: group, id, median and spread (median absolute deviation and the
//! 95 % interval of the median), with the command.

use crate::flags::BenchArgs;
use crate::probe::{Backends, Header};
use crate::stats::secs;
use crate::table::Table;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// One benchmark's figures (criterion reports nanoseconds).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Estimate {
    /// `group_id` (e.g. `subspace/stacked_svd`).
    pub group: String,
    /// `function_id/value` (e.g. `faer/50`).
    pub id: String,
    /// criterion's `full_id` (`group/function/value`), as printed when it runs.
    pub full_id: String,
    /// Median time per iteration, seconds.
    pub median: f64,
    /// Median absolute deviation, seconds.
    pub mad: f64,
    /// 95 % confidence interval of the median, seconds.
    pub ci: (f64, f64),
}

/// Reads one benchmark directory's `benchmark.json` and `estimates.json` (under `new/`).
pub(crate) fn read_estimate(new_dir: &Path) -> Result<Estimate> {
    let bench: Value =
        serde_json::from_str(&std::fs::read_to_string(new_dir.join("benchmark.json"))?)?;
    let est: Value =
        serde_json::from_str(&std::fs::read_to_string(new_dir.join("estimates.json"))?)?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let ns = |path: &[&str]| {
        path.iter()
            .try_fold(&est, |v, k| v.get(k))
            .and_then(Value::as_f64)
            .map(|x| x * 1e-9)
            .context("estimates.json lacks a field")
    };
    let id = match (s(&bench, "function_id"), s(&bench, "value_str")) {
        (f, v) if v.is_empty() => f,
        (f, v) if f.is_empty() => v,
        (f, v) => format!("{f}/{v}"),
    };
    Ok(Estimate {
        group: s(&bench, "group_id"),
        id,
        full_id: s(&bench, "full_id"),
        median: ns(&["median", "point_estimate"])?,
        mad: ns(&["median_abs_dev", "point_estimate"])?,
        ci: (
            ns(&["median", "confidence_interval", "lower_bound"])?,
            ns(&["median", "confidence_interval", "upper_bound"])?,
        ),
    })
}

/// Every `new/` directory under `dir` holding an `estimates.json` modified at or after
/// `since` (all of them when `since` is None).
fn find_new_dirs(dir: &Path, since: Option<SystemTime>, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        if p.file_name().is_some_and(|n| n == "new") {
            let est = p.join("estimates.json");
            let fresh = std::fs::metadata(&est)
                .and_then(|m| m.modified())
                .is_ok_and(|t| since.is_none_or(|s| t >= s));
            if est.exists() && fresh {
                out.push(p);
            }
        } else {
            find_new_dirs(&p, since, out);
        }
    }
}

/// The markdown table of the estimates, sorted by group then id.
pub(crate) fn table(mut estimates: Vec<Estimate>) -> Table {
    estimates.sort_by(|a, b| {
        (a.group.as_str(), natural(&a.id)).cmp(&(b.group.as_str(), natural(&b.id)))
    });
    let mut t = Table::new([
        "group",
        "id",
        "median",
        "spread (MAD)",
        "95 % CI of the median",
    ]);
    for e in estimates {
        t.row([
            e.group,
            e.id,
            secs(e.median),
            secs(e.mad),
            format!("{} – {}", secs(e.ci.0), secs(e.ci.1)),
        ]);
    }
    t
}

/// Sort key that orders `faer/20` before `faer/100`.
fn natural(id: &str) -> Vec<(String, u64)> {
    id.split('/')
        .map(|p| {
            p.parse::<u64>()
                .map_or_else(|_| (p.to_string(), 0), |n| (String::new(), n))
        })
        .collect()
}

/// Runs the benches (unless `--collect-only`) and writes docs/results/bench.md.
///
/// # Errors
/// `cargo bench` failed or nothing was collected.
pub(crate) fn run(root: &Path, args: &BenchArgs) -> Result<()> {
    let backends = Backends::probe();
    let started = SystemTime::now();
    let mut shown = "cargo bench --workspace".to_string();
    let mut measured: HashSet<String> = HashSet::new();
    if !args.collect_only {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root)
            .args(["bench", "--workspace"])
            .env("OPENBLAS_NUM_THREADS", "1");
        // Every backend that builds here registers its ids in the benches.
        let features: Vec<String> = backends
            .available
            .iter()
            .filter(|b| **b != "faer")
            .map(|b| format!("nnid-benches/{b}"))
            .collect();
        if !features.is_empty() {
            cmd.args(["--features", &features.join(",")]);
            shown.push_str(&format!(" --features {}", features.join(",")));
        }
        if let Some(f) = &args.filter {
            cmd.args(["--", f]);
            shown.push_str(&format!(" -- {f}"));
        }
        eprintln!("xtask: running `{shown}`");
        // Criterion prints each benchmark's id on a line of its own, followed by its
        // `time:` line; those ids are the ones this run measured (other runs may write to
        // target/criterion at the same time).
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .context("starting cargo bench")?;
        let stdout = child.stdout.take().context("cargo bench: no stdout")?;
        let mut previous = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            if line.trim_start().starts_with("time:") && !previous.trim().is_empty() {
                measured.insert(previous.trim().to_string());
            } else if let Some((id, rest)) = line.split_once(" time:") {
                // Short ids share their line with `time:`.
                if rest.trim_start().starts_with('[') {
                    measured.insert(id.trim().to_string());
                }
            }
            previous = line;
        }
        let status = child.wait().context("waiting for cargo bench")?;
        if !status.success() {
            bail!("`{shown}` exited with {status}");
        }
    }
    let mut dirs = Vec::new();
    let criterion = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("criterion");
    find_new_dirs(
        &criterion,
        if args.collect_only {
            None
        } else {
            Some(started)
        },
        &mut dirs,
    );
    let estimates: Vec<Estimate> = dirs
        .iter()
        .filter_map(|d| {
            read_estimate(d)
                .map_err(|e| eprintln!("xtask: skipping {}: {e}", d.display()))
                .ok()
        })
        .filter(|e: &Estimate| args.collect_only || measured.contains(&e.full_id))
        .collect();
    if estimates.is_empty() {
        bail!("no criterion estimates found under {}", criterion.display());
    }
    let header = Header {
        title: "Criterion benchmarks".into(),
        backends: format!(
            "{} (the benches register one id per backend compiled into `nnid-benches`)",
            backends.describe()
        ),
        raw: format!(
            "`target/criterion/` ({} benchmarks{})",
            estimates.len(),
            if args.collect_only {
                ", collected from earlier runs"
            } else {
                " updated by this run"
            }
        ),
    };
    let mut doc = header.render(root);
    let how = if args.collect_only {
        "Collected from earlier `cargo bench` runs (criterion does not record their command or date; rerun `cargo xtask bench` to measure them together)".to_string()
    } else {
        format!("Benchmarks run: `{shown}`")
    };
    doc.push_str(&format!("\n{how}. The bench sources are in `benches/benches/`. Times are per iteration on a shared 2-core machine: compare ids within a group, measured in one run.\n\n"));
    doc.push_str(&table(estimates).render());
    let path = root.join("docs/results/bench.md");
    std::fs::create_dir_all(root.join("docs/results"))?;
    std::fs::write(&path, doc)?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_output_and_sorts_naturally() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        let new = dir.join("g/faer/100/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"linalg/svd","function_id":"faer","value_str":"100"}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"median":{"point_estimate":2000000.0,"confidence_interval":{"lower_bound":1900000.0,"upper_bound":2100000.0}},"median_abs_dev":{"point_estimate":50000.0}}"#,
        )
        .unwrap();
        let mut dirs = Vec::new();
        find_new_dirs(&dir, None, &mut dirs);
        assert_eq!(dirs.len(), 1);
        let e = read_estimate(&dirs[0]).unwrap();
        assert_eq!(
            (e.group.as_str(), e.id.as_str()),
            ("linalg/svd", "faer/100")
        );
        assert!((e.median - 2e-3).abs() < 1e-15 && (e.mad - 5e-5).abs() < 1e-15);
        assert_eq!(e.full_id, "");
        let other = Estimate {
            id: "faer/20".into(),
            ..e.clone()
        };
        let md = table(vec![e, other]).render();
        let (i20, i100) = (md.find("faer/20").unwrap(), md.find("faer/100").unwrap());
        assert!(i20 < i100, "{md}");
        assert!(md.contains("2.0 ms"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
