//! Swapping one stage of the paper's pipeline for your own.
//!
//! Here the rank-one stage is replaced by an "ensemble" solver that runs the subspace power
//! method and projected gradient ascent on the same subspace and keeps the union of their
//! candidates (deduplicated up to sign, best objective first). Nothing else changes: the
//! sampler, the subspace estimator, the attribution and the fit are the paper's defaults.
//!
//! Run: `cargo run --release -p nnid --example swap_stage`
//!
//! The teacher is in the regime where the paper's pipeline is known to work (paper-spec §9:
//! nearly orthogonal A, small first-layer shifts, one second-layer neuron), so the run should
//! end certified.

use nnid::routes::paper::Pipeline;
use nnid::{Architecture, RunOptions, Silent, identify};
use nnid_linalg::sym::SymSubspace;
use nnid_linalg::{Linalg, dot};
use nnid_nn_model::teacher::{TeacherConfig, WeightDist};
use nnid_nn_model::{Activation, NetworkOracle};
use nnid_rank1_recovery::{
    ProjectedGradientAscent, Rank1Error, Rank1Report, Rank1Solver, SubspacePowerMethod,
};

/// Runs two solvers and merges their candidates.
struct Ensemble {
    solvers: Vec<Box<dyn Rank1Solver>>,
    /// Two candidates are the same weight when |⟨u, u'⟩| is at least this.
    same: f64,
}

impl Rank1Solver for Ensemble {
    fn name(&self) -> &'static str {
        "ensemble (spm + pga)"
    }

    fn recover(
        &self,
        la: Linalg<'_>,
        w: &SymSubspace,
        seed: u64,
    ) -> Result<Rank1Report, Rank1Error> {
        let mut reports = Vec::new();
        for (k, solver) in self.solvers.iter().enumerate() {
            reports.push(solver.recover(la, w, seed.wrapping_add(k as u64))?);
        }
        let mut merged = reports.remove(0);
        for other in reports {
            merged.starts += other.starts;
            merged.capped_runs += other.capped_runs;
            merged.iterations += other.iterations;
            merged.candidates.extend(other.candidates);
        }
        merged
            .candidates
            .sort_by(|a, b| b.objective.total_cmp(&a.objective));
        let mut kept: Vec<_> = Vec::new();
        for c in merged.candidates {
            if kept.iter().all(|k: &nnid_rank1_recovery::Candidate| {
                dot(&k.vector, &c.vector).abs() < self.same
            }) {
                kept.push(c);
            }
        }
        kept.truncate(w.dim());
        merged.candidates = kept;
        merged.solver = "ensemble (spm + pga)";
        Ok(merged)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (d, m0, m1) = (30, 10, 1);
    let teacher = TeacherConfig::new(d, m0, m1)
        .weights(WeightDist::PerturbedOrthogonal { eps: 0.1 })
        .shift_range(0.05)
        .seed(3)
        .generate()?;
    let oracle = NetworkOracle::new(teacher.clone());
    let arch = Architecture {
        d,
        m0,
        m1,
        g: Activation::Tanh,
        h: Activation::Tanh,
    };

    let ensemble = Ensemble {
        solvers: vec![
            Box::new(SubspacePowerMethod::default()),
            Box::new(ProjectedGradientAscent::default()),
        ],
        same: 0.95,
    };
    let mut pipeline = Pipeline::paper(m0, m1).with_solver(Box::new(ensemble));
    pipeline.sampler = Box::new(nnid_fd_hessian::ForwardStencil {
        eps: 1e-5,
        sampling: nnid_fd_hessian::SamplingConfig::paper(m0, m1).with_radius(0.2),
    });

    let la = Linalg::default_backend()?;
    let outcome = identify(
        la,
        &oracle,
        &arch,
        &pipeline,
        &RunOptions::default(),
        &Silent,
        Some(&teacher),
    );
    let r = &outcome.report;
    for s in &r.stages {
        println!(
            "{:<12} {:>8} queries {:>8.3} s",
            s.name, s.queries, s.seconds
        );
    }
    println!(
        "status: {:?}; total queries {}",
        r.status,
        r.total_queries()
    );
    if let Some(t) = &r.truth {
        println!(
            "first-layer weights within 1e-4: {}/{}; rel-L2 on the unit ball {:.2e}",
            t.first_layer.found, m0, t.unit_ball.rel_l2
        );
    }
    if let Some(e) = &r.error {
        println!("error: {e}");
    }
    Ok(())
}
