//! `nnid identify`: identify a black box given as a network file or a program.

use super::progress::Bars;
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use nnid::experiment::route::OracleParams;
use nnid::routes::auto::{Auto, Widths};
use nnid::routes::gradient::RouteG;
use nnid::routes::paper::Pipeline;
use nnid::routes::saturation::RouteS;
use nnid::{
    Architecture, Outcome, Report, Route, RunOptions, Status, identify, identify_discovering,
};
use nnid_attribution::CorrelationCriterion;
use nnid_linalg::BackendKind;
use nnid_nn_model::{Activation, Framing, Network, Oracle, SubprocessOracle};
use std::path::PathBuf;
use std::process::ExitCode;

/// The identification methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Method {
    /// A noise probe, route S, then route G if S does not certify (route G directly on an
    /// oracle too noisy for route S); decides the widths when they are not given (the best
    /// measured; default).
    Auto,
    /// Route S: saturation (far queries), exact second layer.
    Saturation,
    /// Route G: gradient span and multi-start penalised LM (queries near the origin).
    Gradient,
    /// The paper's pipeline (Hessians, subspace, rank-one, attribution, fit).
    Paper,
}

/// The rank-one solvers of the paper pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Solver {
    /// Subspace power method (default).
    Spm,
    /// Projected gradient ascent.
    Pga,
}

/// The attribution strategies of the paper pipeline (step 4: first layer or entangled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum AttributionArg {
    /// Drift criterion: second-centre Hessian subspaces (the measured best; default).
    Drift,
    /// The paper's correlation criterion s_k = Σ_{j≠k} ⟨w_k, w_j⟩².
    Correlation,
}

/// Options shared by `identify` and `demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct MethodArgs {
    /// Identification method.
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    pub method: Method,
    /// Linear-algebra backend (among those compiled in).
    #[arg(long, default_value = "faer")]
    pub backend: String,
    /// Rank-one solver of the paper pipeline.
    #[arg(long, value_enum, default_value_t = Solver::Spm)]
    pub solver: Solver,
    /// Attribution of the paper pipeline (docs/results/attribution.md measures both).
    #[arg(long, value_enum, default_value_t = AttributionArg::Drift)]
    pub attribution: AttributionArg,
    /// Paper pipeline: skip the Levenberg–Marquardt refinement (the paper alone).
    #[arg(long)]
    pub no_refine: bool,
    /// Paper pipeline: go on with random fill-ins when weights are missing, and exit 0 even
    /// when the result is not certified.
    #[arg(long)]
    pub allow_partial: bool,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write SVG plots of the run into this directory (created if missing): queries and
    /// time per stage, and with the paper method the Hessian spectrum and the rank-one
    /// objectives.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
}

/// Arguments of `nnid identify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Black box: a network file, used in-process only through its query interface.
    #[arg(
        long,
        conflicts_with = "oracle_cmd",
        required_unless_present = "oracle_cmd"
    )]
    network: Option<PathBuf>,
    /// Black box: a program answering one query per line (see docs/oracles.md).
    #[arg(long)]
    oracle_cmd: Option<String>,
    /// With --oracle-cmd: binary framing (d little-endian f64 per query in, one f64 per
    /// answer out; see docs/oracles.md) instead of one text line per query.
    #[arg(long, requires = "oracle_cmd")]
    binary: bool,
    /// With --oracle-cmd: give up on a batch when the program has not answered for this
    /// many seconds (default: wait forever).
    #[arg(long, requires = "oracle_cmd")]
    oracle_timeout: Option<f64>,
    /// Input dimension d (with --oracle-cmd).
    #[arg(long)]
    input_dim: Option<usize>,
    /// First hidden width m0. Omitted with --oracle-cmd (or with --discover-widths), it is
    /// decided from the queries (`--method auto` only: route S on exact answers, route G's
    /// gradient span on noisy ones); omitted with --network, it is read from the file.
    #[arg(long)]
    m0: Option<usize>,
    /// Second hidden width m1 (as --m0; on noisy answers the smallest width whose fit
    /// certifies, which costs a route G fit per width tried).
    #[arg(long)]
    m1: Option<usize>,
    /// With --network: do not read the widths from the file, decide those not given by
    /// --m0/--m1 from the queries, as for a black box of unknown widths.
    #[arg(long, requires = "network")]
    discover_widths: bool,
    /// With --network: round every answer to float32, as a float32 model would (the
    /// certificate then judges the run against the measured noise floor).
    #[arg(long, requires = "network")]
    float32: bool,
    /// With --network: add independent Gaussian noise of this standard deviation to every
    /// answer (seeded by --seed), to test identification from noisy answers.
    #[arg(long, requires = "network", value_name = "SIGMA")]
    noise: Option<f64>,
    /// Activation g = h of the black box (with --oracle-cmd).
    #[arg(long, default_value = "tanh")]
    activation: String,
    /// Where to write the identified network (JSON).
    #[arg(long, short)]
    out: PathBuf,
    /// Where to write the report (JSON).
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    method: MethodArgs,
}

/// Builds the chosen route.
pub(crate) fn route(args: &MethodArgs, arch: &Architecture) -> Box<dyn Route> {
    match args.method {
        Method::Auto => Box::new(Auto::default()),
        Method::Saturation => Box::new(RouteS::default()),
        Method::Gradient => Box::new(RouteG::default()),
        Method::Paper => {
            let mut p = Pipeline::paper(arch.m0, arch.m1);
            if args.solver == Solver::Pga {
                p = p.with_solver(Box::new(
                    nnid_rank1_recovery::ProjectedGradientAscent::default(),
                ));
            }
            if args.attribution == AttributionArg::Correlation {
                p = p.with_attribution(Box::new(CorrelationCriterion));
            }
            if args.no_refine {
                p = p.with_refinement(None);
            }
            p.allow_partial = args.allow_partial;
            Box::new(p)
        }
    }
}

/// Runs a route with progress bars and returns the outcome.
pub(crate) fn run_route(
    oracle: &dyn Oracle,
    arch: &Architecture,
    args: &MethodArgs,
    truth: Option<&Network>,
) -> Result<Outcome> {
    let kind: BackendKind = args.backend.parse()?;
    let la = kind.linalg()?;
    if let Some(dir) = &args.plot {
        // Before the run, so that a bad directory does not cost a whole identification.
        nnid::plot::create_dir(dir)?;
    }
    let route = route(args, arch);
    let options = RunOptions {
        seed: args.seed,
        ..RunOptions::default()
    };
    let bars = Bars::new(!args.quiet);
    Ok(identify(
        la,
        oracle,
        arch,
        route.as_ref(),
        &options,
        &bars,
        truth,
    ))
}

/// With `--plot DIR`: writes the run's plots and says which files were written.
pub(crate) fn write_plots(report: &Report, args: &MethodArgs) -> Result<()> {
    let Some(dir) = &args.plot else {
        return Ok(());
    };
    let program = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let files = nnid::plot::write_report_plots(report, dir, &format!("nnid {program}"))?;
    if files.is_empty() {
        eprintln!("nnid: no plots written: the run recorded no stage");
    } else {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        eprintln!("nnid: plots written: {}", names.join(", "));
    }
    Ok(())
}

/// The exit code of an outcome: 0 certified (or any network with --allow-partial), 2 not
/// certified or incomplete, 1 failed.
pub(crate) fn exit_code(outcome: &Outcome, allow_partial: bool) -> ExitCode {
    match outcome.report.status {
        Status::Certified => ExitCode::SUCCESS,
        Status::NotCertified | Status::Incomplete if allow_partial && outcome.network.is_some() => {
            ExitCode::SUCCESS
        }
        Status::NotCertified | Status::Incomplete => ExitCode::from(2),
        Status::Failed => ExitCode::FAILURE,
    }
}

/// The in-process oracle of `--network`, degraded by `--float32` and `--noise` when asked
/// (as the experiments' trials degrade theirs).
fn simulated_oracle(net: &Network, args: &Args) -> Result<Box<dyn Oracle>> {
    let degrade = OracleParams {
        float32: args.float32,
        noise: args.noise.unwrap_or(0.0),
    };
    degrade.build(net, args.method.seed).context("--noise")
}

/// The black box and what is known of it.
struct BlackBox {
    oracle: Box<dyn Oracle>,
    d: usize,
    /// The activations (g, h).
    act: (Activation, Activation),
    widths: Widths,
    truth: Option<Network>,
}

/// The black box of `--network` or `--oracle-cmd`.
fn black_box(args: &Args) -> Result<BlackBox> {
    match (&args.network, &args.oracle_cmd) {
        (Some(path), _) => {
            let net =
                Network::read_json(path).with_context(|| format!("reading {}", path.display()))?;
            let widths = if args.discover_widths {
                Widths {
                    m0: args.m0,
                    m1: args.m1,
                }
            } else {
                Widths {
                    m0: Some(args.m0.unwrap_or(net.m0())),
                    m1: Some(args.m1.unwrap_or(net.m1())),
                }
            };
            Ok(BlackBox {
                oracle: simulated_oracle(&net, args)?,
                d: net.input_dim(),
                act: (net.g(), net.h()),
                widths,
                truth: Some(net),
            })
        }
        (None, Some(cmd)) => {
            let Some(d) = args.input_dim else {
                bail!("--oracle-cmd needs --input-dim");
            };
            let framing = if args.binary {
                Framing::Binary
            } else {
                Framing::Text
            };
            let timeout = args.oracle_timeout.map(std::time::Duration::from_secs_f64);
            let oracle = SubprocessOracle::spawn_shell(cmd, d)
                .with_context(|| format!("starting `{cmd}`"))?
                .with_framing(framing)
                .with_timeout(timeout);
            Ok(BlackBox {
                oracle: Box::new(oracle),
                d,
                act: {
                    let a: Activation = args.activation.parse()?;
                    (a, a)
                },
                widths: Widths {
                    m0: args.m0,
                    m1: args.m1,
                },
                truth: None,
            })
        }
        (None, None) => bail!("give the black box with --network FILE or --oracle-cmd CMD"),
    }
}

/// Runs `auto` deciding the missing widths, with progress bars.
fn run_discovering(bb: &BlackBox, args: &MethodArgs) -> Result<Outcome> {
    if args.method != Method::Auto {
        bail!(
            "--method {} needs both widths (--m0 and --m1); only --method auto decides them from the queries",
            args.method
                .to_possible_value()
                .map_or("?".into(), |v| v.get_name().to_string())
        );
    }
    let la = args.backend.parse::<BackendKind>()?.linalg()?;
    if let Some(dir) = &args.plot {
        nnid::plot::create_dir(dir)?;
    }
    let options = RunOptions {
        seed: args.seed,
        ..RunOptions::default()
    };
    Ok(identify_discovering(
        la,
        bb.oracle.as_ref(),
        bb.d,
        bb.act,
        bb.widths,
        &Auto::default(),
        &options,
        &Bars::new(!args.quiet),
        bb.truth.as_ref(),
    ))
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let bb = black_box(&args)?;
    let outcome = match (bb.widths.m0, bb.widths.m1) {
        (Some(m0), Some(m1)) => {
            let arch = Architecture {
                d: bb.d,
                m0,
                m1,
                g: bb.act.0,
                h: bb.act.1,
            };
            run_route(bb.oracle.as_ref(), &arch, &args.method, bb.truth.as_ref())?
        }
        _ => run_discovering(&bb, &args.method)?,
    };
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&outcome.report)?;
        std::fs::write(path, text)
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    match &outcome.network {
        Some(net) => net
            .write_json(&args.out)
            .with_context(|| format!("writing {}", args.out.display()))?,
        None => eprintln!(
            "nnid: no network written: {}",
            outcome.report.error.as_deref().unwrap_or("no result")
        ),
    }
    super::summary::print(&outcome.report, false);
    write_plots(&outcome.report, &args.method)?;
    Ok(exit_code(&outcome, args.method.allow_partial))
}
