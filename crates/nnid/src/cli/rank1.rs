//! `nnid rank1`: the rank-one stage alone, on a span of symmetric matrices read from a file.

use anyhow::{Context, Result};
use clap::ValueEnum;
use nnid_linalg::BackendKind;
use nnid_rank1_recovery::{
    ProjectedGradientAscent, Rank1Solver, SpanCheck, SubspacePowerMethod, matrices_from_rows,
    span_from_matrices,
};
use serde::Deserialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `nnid rank1`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Reads {\"dim\": d, \"matrices\": [M_1, …, M_K]} with each M_k a symmetric d×d \
matrix given as d rows of d numbers, orthonormalises their span Ŵ, and searches it for unit vectors \
u with u uᵀ in Ŵ, i.e. maximisers of Φ(u) = ‖P_Ŵ(u uᵀ)‖_F (1 exactly when u uᵀ ∈ Ŵ). Writes \
{\"vectors\": [...], \"objective\": [Φ, ...], \"capped\": [...], \"solver\": ..., \"starts\": n, \
\"seconds\": t}, highest Φ first; t is the time of the search alone. See docs/stages/rank1.md."
)]
pub struct Args {
    /// The span file (JSON).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// The solver: the subspace power method or the paper's projected gradient ascent.
    #[arg(long, value_enum, default_value_t = SolverArg::Spm)]
    solver: SolverArg,
    /// Random seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Linear-algebra backend (among those compiled in).
    #[arg(long, default_value = "faer")]
    backend: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SolverArg {
    /// subspace power method with deflation (Kileel and Pereira)
    Spm,
    /// the paper's projected gradient ascent from many random starts
    Pga,
}

/// The input format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanFile {
    dim: usize,
    matrices: Vec<Vec<Vec<f64>>>,
}

/// Runs `nnid rank1`.
pub fn run(args: Args) -> Result<ExitCode> {
    let kind: BackendKind = args.backend.parse()?;
    let la = kind.linalg()?;
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let file: SpanFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a span file", args.input.display()))?;
    let matrices = matrices_from_rows(file.dim, &file.matrices).context("bad matrix shape")?;
    let span =
        span_from_matrices(la, file.dim, &matrices, SpanCheck::default()).context("bad span")?;
    let solver: Box<dyn Rank1Solver> = match args.solver {
        SolverArg::Spm => Box::new(SubspacePowerMethod::default()),
        SolverArg::Pga => Box::new(ProjectedGradientAscent::default()),
    };
    let start = Instant::now();
    let report = solver.recover(la, &span, args.seed)?;
    let seconds = start.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "vectors": report.candidates.iter().map(|c| &c.vector).collect::<Vec<_>>(),
        "objective": report.candidates.iter().map(|c| c.objective).collect::<Vec<_>>(),
        "capped": report.candidates.iter().map(|c| c.capped).collect::<Vec<_>>(),
        "solver": report.solver,
        "starts": report.starts,
        "seconds": seconds,
    });
    let text = serde_json::to_string_pretty(&out)? + "\n";
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
