//! `nnid demo`: the main job on a built-in default.

use super::identify::{MethodArgs, exit_code, run_route, write_plots};
use anyhow::Result;
use nnid::Architecture;
use nnid_nn_model::NetworkOracle;
use nnid_nn_model::teacher::TeacherConfig;
use std::process::ExitCode;

/// Arguments of `nnid demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seed of the standard teacher.
    #[arg(long, default_value_t = 2022)]
    teacher_seed: u64,
    #[command(flatten)]
    method: MethodArgs,
}

/// Generates the standard teacher (d = 30, m0 = 20, m1 = 10, tanh/tanh, Gaussian unit rows,
/// shifts in [−0.5, 0.5]), identifies it through its query interface, and prints a report.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let teacher = TeacherConfig::new(30, 20, 10)
        .seed(args.teacher_seed)
        .generate()?;
    eprintln!(
        "nnid demo: identifying a random (d, m0, m1) = (30, 20, 10) tanh network (teacher seed {}) from black-box queries",
        args.teacher_seed
    );
    let arch = Architecture {
        d: 30,
        m0: 20,
        m1: 10,
        g: teacher.g(),
        h: teacher.h(),
    };
    let oracle = NetworkOracle::new(teacher.clone());
    let outcome = run_route(&oracle, &arch, &args.method, Some(&teacher))?;
    super::summary::print(&outcome.report, true);
    write_plots(&outcome.report, &args.method)?;
    Ok(exit_code(&outcome, args.method.allow_partial))
}
