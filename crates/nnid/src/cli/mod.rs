//! Command-line interface: one module per subcommand.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod demo;
mod eval;
mod experiment;
mod generate;
mod identify;
mod progress;
mod rank1;
mod summary;

/// Identify the weights of a two-hidden-layer neural network from black-box queries.
#[derive(Debug, Parser)]
#[command(name = "nnid", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a random teacher network and write it as JSON.
    Generate(generate::Args),
    /// Evaluate a saved network on points read from stdin (serves as a subprocess oracle).
    Eval(eval::Args),
    /// Identify a black-box network from its queries.
    Identify(identify::Args),
    /// Identify the built-in standard teacher and print a short report.
    Demo(demo::Args),
    /// Find the rank-one matrices u uᵀ inside a span of symmetric matrices (step 3 alone).
    Rank1(rank1::Args),
    /// Run a grid of measurement trials (used by `cargo xtask`).
    #[command(hide = true)]
    Experiment(experiment::Args),
}

/// Parses the command line, runs the subcommand, and turns errors into one readable line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Identify(args) => identify::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Rank1(args) => rank1::run(args),
        Command::Experiment(args) => experiment::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("nnid: error: {}", error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line.
fn error_chain(err: &anyhow::Error) -> String {
    err.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
