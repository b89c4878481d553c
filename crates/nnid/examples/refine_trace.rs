//! Prints the misfit trajectory of the paper pipeline's LM refinement (its default settings,
//! [`nnid::routes::paper::Refinement`]; `--no-plateau` without the plateau stop), started from the
//! network the paper's fit gave (a file written by `nnid identify --method paper
//! --no-refine --allow-partial`), on 4P fresh points of the black box `truth.json`.
//!
//! `cargo run --release -p nnid --example refine_trace -- truth.json paper.json [--no-plateau]`

use nnid::metrics::gaussian_points;
use nnid::routes::paper::Refinement;
use nnid_bias_fit::{FitData, StudentModel, fit_penalised_lm};
use nnid_nn_model::Network;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let no_plateau = args.iter().any(|a| a == "--no-plateau");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [truth, start] = files[..] else {
        return Err("usage: refine_trace TRUTH.json START.json [--no-plateau]".into());
    };
    let truth = Network::read_json(truth)?;
    let start = Network::read_json(start)?;
    let p = start.input_dim() * start.m0() + start.m0() * start.m1() + start.m0() + start.m1();
    let points = gaussian_points(truth.input_dim(), 4 * p, truth.g().width(), 5);
    let data = FitData::new(points.clone(), truth.values(&points))?;
    let kind = nnid_linalg::BackendKind::default_compiled().ok_or("no backend compiled")?;
    let la = kind.linalg()?;
    let mut cfg = Refinement::default().lm;
    if no_plateau {
        cfg.lm.plateau = None;
    }
    let rep = fit_penalised_lm(la, &data, StudentModel::from_network(&start), &cfg)?;
    for stage in &rep.stages {
        for step in &stage.lm.history {
            println!("{} {} {:.3e}", stage.name, step.iteration, step.misfit);
        }
    }
    println!("final {:.3e}", rep.fit_misfit);
    Ok(())
}
