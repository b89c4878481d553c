//! The command line (clap derive).

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

/// nnid's project automation: backend comparisons, the paper's experiments, the
/// robustness grid, benchmarks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about, long_about = None)]
pub(crate) struct Xtask {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run each stage and a whole route with every compiled backend on the same teachers;
    /// write docs/results/backends.md.
    CompareBackends(CompareArgs),
    /// Rerun the paper's experiments (paper-spec §8); write docs/results/paper.md.
    Reproduce(ReproduceArgs),
    /// Success rates of every method on generic teachers (issue 7); write
    /// docs/results/robust.md.
    Robust(RobustArgs),
    /// Run the criterion benches and collect them into docs/results/bench.md.
    Bench(BenchArgs),
    /// Large networks identified end to end by `nnid identify` (issue 9); write
    /// docs/results/scale.md and scale.svg.
    Scale(ScaleArgs),
}

/// Options every measuring command has.
#[derive(Debug, Args, Clone)]
pub(crate) struct Common {
    /// Do not measure: rebuild the report from the results already in target/xtask/.
    #[arg(long)]
    pub report_only: bool,
    /// Start over: delete this command's results file first (otherwise a rerun resumes).
    #[arg(long, conflicts_with = "report_only")]
    pub fresh: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Input dimensions d; each size is (d, d/2, d/4).
    #[arg(long, value_delimiter = ',', default_value = "20,50,100")]
    pub sizes: Vec<usize>,
    /// Teachers (seeds) per size.
    #[arg(long, default_value_t = 3)]
    pub trials: u64,
    /// The least-squares fit is measured only up to this many parameters (each LM
    /// iteration costs N·P² with N = 4P).
    #[arg(long, default_value_t = 2000)]
    pub max_fit_params: usize,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct ReproduceArgs {
    /// A tiny grid that runs in a few minutes (CI); writes docs/results/paper-quick.md.
    #[arg(long)]
    pub quick: bool,
    /// Teachers per cell (default 20, or 2 with --quick).
    #[arg(long)]
    pub teachers: Option<u64>,
    /// Sizes d,m0,m1 (several separated by `/` or by repeating the flag); default the
    /// paper grid (§8), or (20,10,5) with --quick.
    #[arg(long)]
    pub sizes: Vec<String>,
    /// Only part 1, the main grid (paper, paper+refine and auto at the paper's defaults), no
    /// sweeps; writes docs/results/paper-main.md. Its trials share target/xtask/paper.jsonl
    /// with the full run, which reuses them.
    #[arg(long, conflicts_with = "quick")]
    pub main_only: bool,
    /// Teacher families of the main grid: generic (sign-balanced B), positive (all-positive
    /// B), orthogonal (nearly orthogonal A). Default all three (generic with --quick).
    #[arg(long, value_delimiter = ',')]
    pub families: Vec<String>,
    /// Activations of the main grid (g = h): tanh, sigmoid. Default both (tanh with --quick).
    #[arg(long, value_delimiter = ',')]
    pub activations: Vec<String>,
    /// `paper+refine` (minutes per teacher at (50, 30, 15)) runs on the first N teachers of
    /// each main-grid cell only; paper, auto and the stages on all of them. Default: all.
    #[arg(long)]
    pub refine_teachers: Option<u64>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct RobustArgs {
    /// Teachers per cell (default 50; with --noise, per σ of the sweep, default 20).
    #[arg(long)]
    pub teachers: Option<u64>,
    /// Issue 10 instead: noisy answers (a σ sweep at --noise-size, every route method) and
    /// float32 answers (the grid of --sizes, `auto`); writes docs/results/noise.md.
    #[arg(long)]
    pub noise: bool,
    /// With --noise: the noise levels σ of the sweep.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1e-12,1e-10,1e-8,1e-6,1e-4,1e-2"
    )]
    pub sigmas: Vec<f64>,
    /// With --noise: the size d,m0,m1 of the σ sweep.
    #[arg(long, default_value = "30,20,10")]
    pub noise_size: String,
    /// With --noise: teachers per cell of the float32 grid.
    #[arg(long, default_value_t = 10)]
    pub float32_teachers: u64,
    /// Name of this run: results in target/xtask/NAME.jsonl, report docs/results/NAME.md
    /// (and its plot). Default `robust`, or `noise` with --noise: another name keeps a
    /// partial or exploratory run from replacing the full report.
    #[arg(long)]
    pub name: Option<String>,
    /// Sizes d,m0,m1 (several separated by `/` or by repeating the flag).
    #[arg(long)]
    pub sizes: Vec<String>,
    /// Methods: auto, auto-widths (auto deciding m0 and m1 itself), saturation, gradient,
    /// paper, student.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "auto,saturation,gradient,paper,student"
    )]
    pub methods: Vec<String>,
    /// The side-by-side methods (saturation, gradient, paper) run on the first N teachers
    /// of each cell only (the paper's pipeline costs seconds per teacher); `auto` runs on
    /// all `--teachers`. Default: all of them.
    #[arg(long)]
    pub side_teachers: Option<u64>,
    /// `auto-widths` runs on the first N teachers of each cell. Default: all of them.
    #[arg(long)]
    pub widths_teachers: Option<u64>,
    /// Activations (g = h): tanh, sigmoid.
    #[arg(long, value_delimiter = ',', default_value = "tanh,sigmoid")]
    pub activations: Vec<String>,
    /// Teacher families: generic (sign-balanced B), positive (all-positive B).
    #[arg(long, value_delimiter = ',', default_value = "generic,positive")]
    pub families: Vec<String>,
    /// The gradient-trained student runs on the first N teachers of each cell (it costs
    /// minutes per teacher at the larger sizes).
    #[arg(long, default_value_t = 10)]
    pub student_teachers: u64,
    /// Adam steps per start of the student.
    #[arg(long, default_value_t = 2000)]
    pub student_steps: usize,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct ScaleArgs {
    /// Sizes d,m0,m1 (several separated by `/`); default (100,50,25), (200,100,50) with 20
    /// teachers each and (784,128,32) with 5.
    #[arg(long)]
    pub sizes: Vec<String>,
    /// Teachers per size and activation (default: 20, 20, 5 for the default sizes; 1 for
    /// sizes given with --sizes).
    #[arg(long)]
    pub teachers: Option<u64>,
    /// Activations (g = h): tanh, sigmoid.
    #[arg(long, value_delimiter = ',', default_value = "tanh,sigmoid")]
    pub activations: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Only benchmarks matching this criterion filter (passed after `--`).
    #[arg(long)]
    pub filter: Option<String>,
    /// Do not run the benches: collect what is in target/criterion.
    #[arg(long)]
    pub collect_only: bool,
}

#[cfg(test)]
impl Xtask {
    /// The arguments of `cargo xtask robust ARGS` (tests).
    pub(crate) fn try_parse_from_robust(args: &[&str]) -> RobustArgs {
        let all = ["xtask", "robust"].iter().chain(args).copied();
        match Self::try_parse_from(all)
            .expect("valid robust arguments")
            .command
        {
            Command::Robust(r) => r,
            _ => unreachable!("robust parses as robust"),
        }
    }
}

/// Parses sizes given as `d,m0,m1`, several per argument separated by `/` or `;`.
pub(crate) fn parse_sizes(args: &[String]) -> Result<Vec<[usize; 3]>> {
    let mut out = Vec::new();
    for arg in args {
        for part in arg
            .split(['/', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let nums: Vec<usize> = part
                .split(',')
                .map(|s| s.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .with_context(|| format!("size `{part}`: expected d,m0,m1"))?;
            let [d, m0, m1] = nums[..] else {
                bail!("size `{part}`: expected three numbers d,m0,m1")
            };
            if !(1 <= m1 && m1 <= m0 && m0 <= d) {
                bail!("size `{part}`: nnid needs 1 ≤ m1 ≤ m0 ≤ d");
            }
            out.push([d, m0, m1]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_every_form() {
        let s = parse_sizes(&["20,10,5/30,20,10".into(), "40,20,10".into()]).unwrap();
        assert_eq!(s, vec![[20, 10, 5], [30, 20, 10], [40, 20, 10]]);
        assert!(parse_sizes(&["20,10".into()]).is_err());
        assert!(parse_sizes(&["10,20,5".into()]).is_err());
        assert!(parse_sizes(&["a,b,c".into()]).is_err());
    }

    #[test]
    fn command_line_parses() {
        let x = Xtask::try_parse_from([
            "xtask",
            "robust",
            "--teachers",
            "2",
            "--sizes",
            "20,10,5",
            "--methods",
            "auto,paper",
        ])
        .unwrap();
        let Command::Robust(r) = x.command else {
            panic!("robust expected")
        };
        assert_eq!(r.teachers, Some(2));
        assert_eq!(r.methods, vec!["auto", "paper"]);
        assert_eq!(r.side_teachers, None);
        let x = Xtask::try_parse_from(["xtask", "robust", "--side-teachers", "3"]).unwrap();
        let Command::Robust(r) = x.command else {
            panic!("robust expected")
        };
        assert_eq!((r.teachers, r.side_teachers), (None, Some(3)));
        let x = Xtask::try_parse_from([
            "xtask",
            "compare-backends",
            "--sizes",
            "20",
            "--trials",
            "2",
        ])
        .unwrap();
        let Command::CompareBackends(c) = x.command else {
            panic!("compare expected")
        };
        assert_eq!((c.sizes, c.trials), (vec![20], 2));
    }
}
