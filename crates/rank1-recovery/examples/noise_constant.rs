//! Measures the constant C of `max_k min_± ‖û_k ∓ w_k‖ ≤ C·δ` when the orthonormal basis of an
//! exact span is perturbed by δ (see `synthetic::perturbed_span`): 20 instances per family and
//! δ, both solvers, the largest and median ratio error/δ. The figure behind `NOISE_C` in
//! tests/perturbed_spans.rs and docs/stages/rank1.md.
//!
//! ```text
//! cargo run --release -p nnid-rank1-recovery --example noise_constant
//! ```

use nnid_linalg::{BackendKind, Mat};
use nnid_rank1_recovery::synthetic::{
    entangled_vectors, incoherent_unit_vectors, match_errors, perturbed_span,
};
use nnid_rank1_recovery::{ProjectedGradientAscent, Rank1Solver, SubspacePowerMethod};

type Family = (&'static str, Box<dyn Fn(u64) -> Mat>);

fn main() {
    let la = BackendKind::default_compiled()
        .expect("a compiled backend")
        .linalg()
        .expect("backend");
    let families: Vec<Family> = vec![
        (
            "independent 10/7",
            Box::new(|s| incoherent_unit_vectors(10, 7, 0.8, s)),
        ),
        (
            "independent 20/15",
            Box::new(|s| incoherent_unit_vectors(20, 15, 0.8, s)),
        ),
        (
            "entangled 12/8+4",
            Box::new(|s| entangled_vectors(12, 8, 4, 0.9, s)),
        ),
        (
            "entangled 30/20+10",
            Box::new(|s| entangled_vectors(30, 20, 10, 0.9, s)),
        ),
        (
            "overcomplete 12/24",
            Box::new(|s| incoherent_unit_vectors(12, 24, 0.9, s)),
        ),
    ];
    let solvers: [Box<dyn Rank1Solver>; 2] = [
        Box::new(SubspacePowerMethod::default()),
        Box::new(ProjectedGradientAscent::default()),
    ];
    println!("| family | δ | spm: max C | spm: median C | pga: max C | pga: median C | misses |");
    println!("|---|---|---|---|---|---|---|");
    for (name, make) in &families {
        for delta in [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2] {
            let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            let mut misses = 0;
            for t in 0..20 {
                let truth = make(100 + t);
                let w = perturbed_span(la, &truth, delta, 7 + t).expect("span");
                for (i, solver) in solvers.iter().enumerate() {
                    let report = solver.recover(la, &w, t).expect("recover");
                    let found: Vec<Vec<f64>> =
                        report.candidates.iter().map(|c| c.vector.clone()).collect();
                    let worst = match_errors(&truth, &found).into_iter().fold(0.0, f64::max);
                    if found.len() == truth.ncols() && worst < 0.1 {
                        ratios[i].push(worst / delta);
                    } else {
                        misses += 1;
                    }
                }
            }
            let stats = |r: &mut Vec<f64>| {
                r.sort_by(|a, b| a.total_cmp(b));
                (
                    r.last().copied().unwrap_or(f64::NAN),
                    r.get(r.len() / 2).copied().unwrap_or(f64::NAN),
                )
            };
            let (s_max, s_med) = stats(&mut ratios[0]);
            let (p_max, p_med) = stats(&mut ratios[1]);
            println!(
                "| {name} | {delta:.0e} | {s_max:.2} | {s_med:.2} | {p_max:.2} | {p_med:.2} | {misses} |"
            );
        }
    }
}
