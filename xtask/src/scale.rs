//! `cargo xtask scale`: the table of issue 9. Large generic teachers identified by
//! `nnid identify --network` (the in-process oracle, used only through its queries), as a
//! user runs it: wall time of the whole command, queries per parameter, time and peak
//! memory per stage (from the report), and success checked against the teacher file.
//!
//! Success = certified (validation error < 1e-9 on fresh queries, no ground truth) AND, from
//! the report's comparison with the truth, every a_i within 1e-4 up to sign and rel-L2 of f̂
//! below 1e-6 on 10⁴ points in the unit ball. Teachers: `nnid generate` (unit Gaussian rows,
//! sign-balanced B, shifts in [−0.5, 0.5]), seeds 1…N per size and activation.
//!
//! Each trial is one process, so times include start-up and the teacher's own evaluation,
//! and one trial's memory does not leak into the next. Results are JSON lines in
//! `target/xtask/scale.jsonl`; a rerun resumes.

use crate::flags::{ScaleArgs, parse_sizes};
use crate::probe::{Header, command_line};
use crate::run::{Runner, interrupted, read_records, work_dir};
use crate::stats::{count, median, rate, sci, secs};
use crate::table::Table;
use anyhow::{Context, Result};
use nnid_plot::{Panel, Series, write_svg};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The sizes of issue 9 and their default teacher counts.
const SIZES: [([usize; 3], u64); 3] = [
    ([100, 50, 25], 20),
    ([200, 100, 50], 20),
    ([784, 128, 32], 5),
];

/// The figures of the numpy prototype (../shared/targets.md, route S, tanh), for the table.
fn prototype(size: [usize; 3]) -> &'static str {
    match size {
        [100, 50, 25] => "3/3 · 4.4 q/P · ≈1 s",
        [200, 100, 50] => "2/2 · 4.0 q/P · 71–95 s",
        [784, 128, 32] => "1/1 · 3.3 q/P · 36 s",
        _ => "—",
    }
}

/// Parameters P = d·m0 + m0·m1 + m0 + m1.
fn parameters([d, m0, m1]: [usize; 3]) -> f64 {
    (d * m0 + m0 * m1 + m0 + m1) as f64
}

/// One trial to run.
struct Trial {
    size: [usize; 3],
    activation: String,
    seed: u64,
}

impl Trial {
    fn key(&self) -> String {
        let [d, m0, m1] = self.size;
        format!("{d}-{m0}-{m1}-{}-{}", self.activation, self.seed)
    }
}

/// Runs the missing trials, then writes docs/results/scale.md and scale.svg.
///
/// # Errors
/// Building or starting `nnid` failed, or a file could not be written.
pub(crate) fn run(root: &Path, args: &ScaleArgs) -> Result<()> {
    let trials = plan(args)?;
    let dir = work_dir(root)?.join("scale");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let out = work_dir(root)?.join("scale.jsonl");
    if args.common.fresh && out.exists() {
        std::fs::remove_file(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    if !args.common.report_only {
        let mut runner = Runner::new(root, "");
        let binary = runner.binary()?;
        let done: Vec<String> = read_records(&out)?
            .iter()
            .filter_map(|r| r["key"].as_str().map(str::to_string))
            .collect();
        let todo: Vec<&Trial> = trials.iter().filter(|t| !done.contains(&t.key())).collect();
        for (k, t) in todo.iter().enumerate() {
            if interrupted() {
                break;
            }
            eprintln!(
                "xtask scale: trial {}/{}: {:?} {} seed {}",
                k + 1,
                todo.len(),
                t.size,
                t.activation,
                t.seed
            );
            let record = run_trial(&binary, &dir, t)?;
            append(&out, &record)?;
        }
    }
    let records = read_records(&out)?;
    write_report(root, &records, trials.len())
}

fn plan(args: &ScaleArgs) -> Result<Vec<Trial>> {
    let sizes: Vec<([usize; 3], u64)> = if args.sizes.is_empty() {
        SIZES.to_vec()
    } else {
        parse_sizes(&args.sizes)?
            .into_iter()
            .map(|s| (s, args.teachers.unwrap_or(1)))
            .collect()
    };
    let mut trials = Vec::new();
    for (size, default_n) in sizes {
        let n = args.teachers.unwrap_or(default_n);
        for activation in &args.activations {
            for seed in 1..=n {
                trials.push(Trial {
                    size,
                    activation: activation.clone(),
                    seed,
                });
            }
        }
    }
    Ok(trials)
}

/// Generates the teacher and identifies it; the record holds the wall time, the exit
/// status and the report.
fn run_trial(binary: &Path, dir: &Path, t: &Trial) -> Result<Value> {
    let [d, m0, m1] = t.size;
    let teacher = dir.join(format!("{}-teacher.json", t.key()));
    let recovered = dir.join(format!("{}-recovered.json", t.key()));
    let report = dir.join(format!("{}-report.json", t.key()));
    let status = Command::new(binary)
        .args(["generate", "--d", &d.to_string(), "--m0", &m0.to_string()])
        .args(["--m1", &m1.to_string(), "--activation", &t.activation])
        .args(["--seed", &t.seed.to_string(), "-o"])
        .arg(&teacher)
        .status()
        .context("starting nnid generate")?;
    anyhow::ensure!(status.success(), "nnid generate failed ({status})");
    let _ = std::fs::remove_file(&report);
    let start = Instant::now();
    let status = Command::new(binary)
        .args(["identify", "--network"])
        .arg(&teacher)
        .arg("--out")
        .arg(&recovered)
        .arg("--report")
        .arg(&report)
        .args(["--quiet", "--seed", &t.seed.to_string()])
        .env("OPENBLAS_NUM_THREADS", "1")
        .status()
        .context("starting nnid identify")?;
    let wall = start.elapsed().as_secs_f64();
    let report: Value = std::fs::read_to_string(&report)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    Ok(json!({
        "key": t.key(),
        "size": t.size,
        "activation": t.activation,
        "seed": t.seed,
        "wall_seconds": wall,
        "exit_code": status.code(),
        "report": report,
    }))
}

fn append(out: &Path, record: &Value) -> Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .with_context(|| format!("opening {}", out.display()))?;
    writeln!(f, "{record}").with_context(|| format!("writing {}", out.display()))
}

/// Whether a record is a certified, verified exact identification.
fn success(r: &Value) -> bool {
    let rep = &r["report"];
    let certified = rep["status"].as_str() == Some("certified");
    let truth = &rep["truth"];
    let all_a = truth["first_layer"]["found"].as_u64() == rep["m0"].as_u64();
    let rel = truth["unit_ball"]["rel_l2"]
        .as_f64()
        .unwrap_or(f64::INFINITY);
    certified && all_a && rel < 1e-6
}

fn f(r: &Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(r, |v, k| &v[*k])
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// The stage names of the records, in the order they first appear.
fn stage_names(rs: &[&Value]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in rs {
        for s in r["report"]["stages"].as_array().into_iter().flatten() {
            if let Some(n) = s["name"].as_str()
                && !names.iter().any(|x| x == n)
            {
                names.push(n.to_string());
            }
        }
    }
    names
}

fn stage_value(r: &Value, name: &str, field: &str) -> f64 {
    r["report"]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"].as_str() == Some(name))
        .and_then(|s| s[field].as_f64())
        .unwrap_or(f64::NAN)
}

fn write_report(root: &Path, records: &[Value], planned: usize) -> Result<()> {
    let mut cells: BTreeMap<([usize; 3], String), Vec<&Value>> = BTreeMap::new();
    for r in records {
        let size: Vec<usize> = serde_json::from_value(r["size"].clone()).unwrap_or_default();
        if let [d, m0, m1] = size[..] {
            let act = r["activation"].as_str().unwrap_or("?").to_string();
            cells.entry(([d, m0, m1], act)).or_default().push(r);
        }
    }
    let mut md = Header {
        title: "Scale: large networks identified end to end (issue 9)".into(),
        backends: "faer (the default build of `nnid`)".into(),
        raw: format!(
            "`target/xtask/scale.jsonl` ({} trials in this report{})",
            records.len(),
            if records.len() < planned {
                format!(", {planned} planned: rerun to continue")
            } else {
                String::new()
            }
        ),
    }
    .render(root);
    md.push_str(DESCRIPTION);
    let mut summary = Table::new([
        "size",
        "P",
        "activation",
        "success",
        "certified",
        "queries / P (median, max)",
        "wall time (median, max)",
        "peak memory (max)",
        "rel-L2 (worst)",
        "prototype (tanh)",
    ]);
    let mut stages_md = String::new();
    for ((size, act), rs) in &cells {
        let p = parameters(*size);
        let qp: Vec<f64> = rs
            .iter()
            .map(|r| f(r, &["report", "queries", "total"]) / p)
            .collect();
        let wall: Vec<f64> = rs.iter().map(|r| f(r, &["wall_seconds"])).collect();
        let mem = rs
            .iter()
            .flat_map(|r| {
                r["report"]["stages"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|s| s["peak_rss_bytes"].as_f64())
            .fold(0.0_f64, f64::max);
        let worst = rs
            .iter()
            .map(|r| f(r, &["report", "truth", "unit_ball", "rel_l2"]))
            .fold(
                0.0_f64,
                |m, v| if v.is_nan() { f64::INFINITY } else { m.max(v) },
            );
        let ok = rs.iter().filter(|r| success(r)).count();
        let cert = rs
            .iter()
            .filter(|r| r["report"]["status"].as_str() == Some("certified"))
            .count();
        summary.row([
            format!("({},{},{})", size[0], size[1], size[2]),
            count(p),
            act.clone(),
            rate(ok, rs.len()),
            rate(cert, rs.len()),
            format!(
                "{:.2}, {:.2}",
                median(&qp),
                qp.iter().fold(0.0_f64, |m, v| m.max(*v))
            ),
            format!(
                "{}, {}",
                secs(median(&wall)),
                secs(wall.iter().fold(0.0_f64, |m, v| m.max(*v)))
            ),
            format!("{:.0} MB", mem / 1e6),
            sci(worst),
            prototype(*size).to_string(),
        ]);
        let mut t = Table::new([
            "stage",
            "queries (median)",
            "time (median)",
            "time (max)",
            "peak memory (max)",
        ]);
        for name in stage_names(rs) {
            let q: Vec<f64> = rs
                .iter()
                .map(|r| stage_value(r, &name, "queries"))
                .collect();
            let s: Vec<f64> = rs
                .iter()
                .map(|r| stage_value(r, &name, "seconds"))
                .collect();
            let m = rs
                .iter()
                .map(|r| stage_value(r, &name, "peak_rss_bytes"))
                .fold(0.0_f64, f64::max);
            t.row([
                name.clone(),
                count(median(&q)),
                secs(median(&s)),
                secs(s.iter().fold(0.0_f64, |a, v| a.max(*v))),
                format!("{:.0} MB", m / 1e6),
            ]);
        }
        let _ = write!(
            stages_md,
            "\n### ({},{},{}) {act}: per stage\n\n{}",
            size[0],
            size[1],
            size[2],
            t.render()
        );
    }
    md.push_str("\n## Summary\n\n");
    md.push_str(&summary.render());
    md.push_str("\n## Per stage\n");
    md.push_str(&stages_md);
    let svg = root.join("docs/results/scale.svg");
    write_svg(&svg, &command_line(), &plot_panels(&cells), 2)?;
    md.push_str("\n![time and queries against the number of parameters](scale.svg)\n");
    let path = root.join("docs/results/scale.md");
    std::fs::write(&path, md).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("xtask: wrote {} and {}", path.display(), svg.display());
    Ok(())
}

/// Log-log panels: median wall time and median queries against P, one series per
/// activation.
fn plot_panels(cells: &BTreeMap<([usize; 3], String), Vec<&Value>>) -> Vec<Panel> {
    let mut time: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    let mut queries: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for ((size, act), rs) in cells {
        let p = parameters(*size);
        let wall: Vec<f64> = rs.iter().map(|r| f(r, &["wall_seconds"])).collect();
        let q: Vec<f64> = rs
            .iter()
            .map(|r| f(r, &["report", "queries", "total"]))
            .collect();
        time.entry(act).or_default().push((p, median(&wall)));
        queries.entry(act).or_default().push((p, median(&q)));
    }
    let panel = |title: &str, y: &str, data: BTreeMap<&str, Vec<(f64, f64)>>| Panel {
        title: title.into(),
        x_label: "parameters P".into(),
        y_label: y.into(),
        log_x: true,
        log_y: true,
        series: data
            .into_iter()
            .map(|(act, pts)| Series::line(act, pts))
            .collect(),
        ..Panel::default()
    };
    vec![
        panel("wall time of nnid identify", "seconds (median)", time),
        panel("queries", "queries (median)", queries),
    ]
}

const DESCRIPTION: &str = "
Each trial runs `nnid generate` (unit Gaussian rows of A and B, sign-balanced B, θ, τ uniform in [−0.5, 0.5], g = h) and then `nnid identify --network TEACHER --report R` with the default method (`auto`: route S, route G if S does not certify), one process per trial: the wall time is the whole command (start-up, every query of the in-process oracle, the certificate and the comparison with the truth on 10⁴ points). *success*: certified (validation error < 1e-9 on 200 fresh queries, no ground truth) and, checked against the teacher file, every a_i within 1e-4 up to sign and rel-L2 of f̂ < 1e-6 in the unit ball. Peak memory is the process's resident high-water mark (`VmHWM`) at the end of each stage. Prototype figures: the numpy route-S prototype, single-threaded (../shared/targets.md). Queries per parameter count every query of f, certificate included.
";
