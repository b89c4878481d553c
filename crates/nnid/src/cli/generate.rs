//! `nnid generate`: draw a random teacher network and write it as JSON.

use anyhow::{Context, bail};
use clap::ValueEnum;
use nnid_nn_model::Activation;
use nnid_nn_model::teacher::{BSigns, TeacherConfig, WeightDist};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `nnid generate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Draws f(x) = Σ_l h(b_lᵀ g(Aᵀx + θ) + τ_l) with unit-norm columns a_i of A and \
b_l of B, and θ, τ uniform in [-R, R]; writes it in the JSON format of docs/file-format.md. The \
same arguments always give the same network."
)]
pub struct Args {
    /// Input dimension d.
    #[arg(long, value_name = "D")]
    d: usize,
    /// First hidden width m0 (m0 ≤ d).
    #[arg(long, value_name = "M0")]
    m0: usize,
    /// Second hidden width m1 (m1 ≤ m0).
    #[arg(long, value_name = "M1")]
    m1: usize,
    /// Activation of both hidden layers (g = h).
    #[arg(long, value_enum, default_value_t = ActivationArg::Tanh)]
    activation: ActivationArg,
    /// First-layer weights: unit-norm Gaussian, or rows of a random orthogonal matrix
    /// perturbed by --orthogonal-eps.
    #[arg(long, value_enum, default_value_t = WeightsArg::Gaussian)]
    weights: WeightsArg,
    /// Norm of the random perturbation of each orthogonal row (with --weights orthogonal),
    /// in [0, 1).
    #[arg(long, value_name = "E", allow_negative_numbers = true)]
    orthogonal_eps: Option<f64>,
    /// Signs of the second-layer weights: Gaussian (balanced) or all positive.
    #[arg(long, value_enum, default_value_t = BSignsArg::Balanced)]
    b_signs: BSignsArg,
    /// The shifts θ_i and τ_l are drawn uniformly from [-R, R].
    #[arg(
        long,
        value_name = "R",
        default_value_t = 0.5,
        allow_negative_numbers = true
    )]
    shift_range: f64,
    /// Random seed.
    #[arg(long, value_name = "S")]
    seed: u64,
    /// Output file (`-` for standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
}

/// Perturbation of the orthogonal rows when --orthogonal-eps is not given (the nearly
/// orthogonal regime of paper-spec §9).
const DEFAULT_ORTHOGONAL_EPS: f64 = 0.1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ActivationArg {
    /// tanh(t)
    Tanh,
    /// the logistic sigmoid 1/(1 + e^-t)
    Sigmoid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum WeightsArg {
    /// unit-norm Gaussian vectors (uniform on the sphere)
    Gaussian,
    /// rows of a random orthogonal matrix, perturbed and renormalised
    Orthogonal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BSignsArg {
    /// Gaussian entries of both signs
    Balanced,
    /// absolute values of Gaussian entries
    Positive,
}

/// Runs `nnid generate`.
///
/// # Errors
/// Invalid sizes or settings, or an output file that cannot be written.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let weights = match (args.weights, args.orthogonal_eps) {
        (WeightsArg::Gaussian, None) => WeightDist::Gaussian,
        (WeightsArg::Gaussian, Some(_)) => {
            bail!("--orthogonal-eps applies only to --weights orthogonal")
        }
        (WeightsArg::Orthogonal, eps) => WeightDist::PerturbedOrthogonal {
            eps: eps.unwrap_or(DEFAULT_ORTHOGONAL_EPS),
        },
    };
    let activation = match args.activation {
        ActivationArg::Tanh => Activation::Tanh,
        ActivationArg::Sigmoid => Activation::Sigmoid,
    };
    let b_signs = match args.b_signs {
        BSignsArg::Balanced => BSigns::Balanced,
        BSignsArg::Positive => BSigns::Positive,
    };
    let net = TeacherConfig::new(args.d, args.m0, args.m1)
        .activation(activation)
        .weights(weights)
        .b_signs(b_signs)
        .shift_range(args.shift_range)
        .seed(args.seed)
        .generate()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.output.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        match out
            .write_all(net.to_json_string().as_bytes())
            .and_then(|()| out.flush())
        {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(e).context("writing the network to standard output");
            }
            _ => {}
        }
    } else {
        net.write_json(&args.output)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(ExitCode::SUCCESS)
}
