//! Times the rank-one search on the rows of docs/targets.md §2 (exact spans, search time only),
//! without criterion: `reps` runs per row, mean wall time per run. Run it under `perf stat -e
//! task-clock` to get CPU time on a busy machine.
//!
//! ```text
//! cargo run --release -p nnid-rank1-recovery --example timing -- [variant] [reps] [row filter]
//! ```
//!
//! Variants: `spm` (default), `pga`, and SPM with one design choice undone: `spm-restart`
//! (no deflation), `spm-random` (random starts), `spm-shift0` (no shift in the approach
//! phase), `spm-no-newton`, `spm-no-compression`.
//!
//! ```text
//! ```

use nnid_linalg::{BackendKind, Mat};
use nnid_rank1_recovery::synthetic::{entangled_vectors, exact_span, incoherent_unit_vectors, match_errors};
use nnid_rank1_recovery::{
    ProjectedGradientAscent, Rank1Solver, Shift, SpmConfig, SpmDeflation, SpmStarts, SubspacePowerMethod,
};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spm = |config: SpmConfig| -> Box<dyn Rank1Solver> { Box::new(SubspacePowerMethod::new(config)) };
    let variant = args.get(1).cloned().unwrap_or_else(|| "spm".into());
    let solver: Box<dyn Rank1Solver> = match variant.as_str() {
        "pga" => Box::new(ProjectedGradientAscent::default()),
        "spm" => spm(SpmConfig::default()),
        // Variants of the SPM measured in docs/stages/rank1.md.
        "spm-restart" => spm(SpmConfig { deflation: SpmDeflation::Restart, ..SpmConfig::default() }),
        "spm-random" => spm(SpmConfig { starts: SpmStarts::Random, ..SpmConfig::default() }),
        "spm-shift0" => spm(SpmConfig { shift: Shift::Fixed(0.0), ..SpmConfig::default() }),
        "spm-no-newton" => spm(SpmConfig { newton_at: 2.0, newton_from: 0.0, ..SpmConfig::default() }),
        "spm-no-compression" => spm(SpmConfig { range_tol: 0.0, ..SpmConfig::default() }),
        other => panic!("unknown variant {other}"),
    };
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let filter = args.get(3).cloned().unwrap_or_default();
    let rows: Vec<(&str, Mat)> = vec![
        ("independent-20-15", incoherent_unit_vectors(20, 15, 0.9, 21)),
        ("independent-50-37", incoherent_unit_vectors(50, 37, 0.9, 22)),
        ("independent-80-60", incoherent_unit_vectors(80, 60, 0.9, 23)),
        ("entangled-30-20+10", entangled_vectors(30, 20, 10, 0.9, 24)),
        ("entangled-50-30+15", entangled_vectors(50, 30, 15, 0.9, 25)),
        ("overcomplete-20-40", incoherent_unit_vectors(20, 40, 0.95, 26)),
    ];
    for kind in BackendKind::compiled() {
        let la = kind.linalg().expect("compiled backend");
        for (name, truth) in rows.iter().filter(|(n, _)| n.contains(&filter)) {
            let w = exact_span(la, truth).expect("span");
            let start = Instant::now();
            let mut worst: f64 = 0.0;
            let mut count = 0;
            let (mut iterations, mut starts) = (0, 0);
            for r in 0..reps {
                let report = solver.recover(la, &w, r as u64).expect("recover");
                iterations += report.iterations;
                starts += report.starts;
                let found: Vec<Vec<f64>> = report.candidates.iter().map(|c| c.vector.clone()).collect();
                worst = match_errors(truth, &found).into_iter().fold(worst, f64::max);
                count = count.max(found.len());
            }
            let ms = start.elapsed().as_secs_f64() / reps as f64 * 1e3;
            println!(
                "{variant} {kind} {name}: {ms:.3} ms per search, {count} of {} found, worst error {worst:.1e}, {:.0} starts, {:.0} iterations",
                truth.ncols(),
                starts as f64 / reps as f64,
                iterations as f64 / reps as f64
            );
        }
    }
}
