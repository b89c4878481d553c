//! Times the rank-one search on the rows of docs/targets.md §2 and the d = 100 grid point (exact
//! spans, search time only), without criterion: 5 spans per row (seeds 21…25), `reps`
//! searches each, mean wall time per search. Run it under `perf stat -e task-clock` for CPU
//! time on a busy machine.
//!
//! ```text
//! cargo run --release -p nnid-rank1-recovery --example timing -- [variant] [reps] [row filter]
//! ```
//!
//! Variants: `spm` (default), `pga`, `pga-gamma5` (γ = 5), `pga-power` (γ = 1000), and the SPM
//! with one design choice changed: `spm-restart` (no deflation), `spm-random` (random starts),
//! `spm-shift0` (no shift in the approach phase), `spm-no-newton`, `spm-no-compression`,
//! `spm-batch4`, `spm-batch16`.

use nnid_linalg::{BackendKind, Mat};
use nnid_rank1_recovery::synthetic::{
    entangled_vectors, exact_span, incoherent_unit_vectors, match_errors,
};
use nnid_rank1_recovery::{
    PgaConfig, ProjectedGradientAscent, Rank1Solver, Shift, SpmConfig, SpmDeflation, SpmStarts,
    SubspacePowerMethod,
};
use std::time::Instant;

/// Spans per row.
const INSTANCES: u64 = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spm =
        |config: SpmConfig| -> Box<dyn Rank1Solver> { Box::new(SubspacePowerMethod::new(config)) };
    let variant = args.get(1).cloned().unwrap_or_else(|| "spm".into());
    let solver: Box<dyn Rank1Solver> = match variant.as_str() {
        "pga" => Box::new(ProjectedGradientAscent::default()),
        "pga-gamma5" => Box::new(ProjectedGradientAscent::new(PgaConfig {
            gamma: 5.0,
            ..PgaConfig::default()
        })),
        "pga-power" => Box::new(ProjectedGradientAscent::new(PgaConfig {
            gamma: 1e3,
            ..PgaConfig::default()
        })),
        "spm" => spm(SpmConfig::default()),
        // Variants of the SPM measured in docs/stages/rank1.md.
        "spm-restart" => spm(SpmConfig {
            deflation: SpmDeflation::Restart,
            ..SpmConfig::default()
        }),
        "spm-random" => spm(SpmConfig {
            starts: SpmStarts::Random,
            ..SpmConfig::default()
        }),
        "spm-shift0" => spm(SpmConfig {
            shift: Shift::Fixed(0.0),
            ..SpmConfig::default()
        }),
        "spm-no-newton" => spm(SpmConfig {
            newton_at: 2.0,
            newton_from: 0.0,
            ..SpmConfig::default()
        }),
        "spm-no-compression" => spm(SpmConfig {
            range_tol: 0.0,
            ..SpmConfig::default()
        }),
        "spm-batch4" => spm(SpmConfig {
            batch: 4,
            ..SpmConfig::default()
        }),
        "spm-batch16" => spm(SpmConfig {
            batch: 16,
            ..SpmConfig::default()
        }),
        other => panic!("unknown variant {other}"),
    };
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let filter = args.get(3).cloned().unwrap_or_default();
    type Row = (&'static str, fn(u64) -> Mat);
    let rows: Vec<Row> = vec![
        ("independent-20-15", |s| {
            incoherent_unit_vectors(20, 15, 0.9, s)
        }),
        ("independent-50-37", |s| {
            incoherent_unit_vectors(50, 37, 0.9, s)
        }),
        ("independent-80-60", |s| {
            incoherent_unit_vectors(80, 60, 0.9, s)
        }),
        ("entangled-30-20+10", |s| {
            entangled_vectors(30, 20, 10, 0.9, s)
        }),
        ("entangled-50-30+15", |s| {
            entangled_vectors(50, 30, 15, 0.9, s)
        }),
        ("overcomplete-20-40", |s| {
            incoherent_unit_vectors(20, 40, 0.95, s)
        }),
        // The issue's grid (r = 3d/4), as in benches/benches/rank1.rs.
        ("search-100-75", |s| {
            incoherent_unit_vectors(100, 75, 0.9, s)
        }),
    ];
    for kind in BackendKind::compiled() {
        let la = kind.linalg().expect("compiled backend");
        for (name, make) in rows.iter().filter(|(n, _)| n.contains(&filter)) {
            // INSTANCES spans per row (seeds 21, 22, …), `reps` searches each.
            let spans: Vec<(Mat, _)> = (0..INSTANCES)
                .map(|i| {
                    let truth = make(21 + i);
                    let w = exact_span(la, &truth).expect("span");
                    (truth, w)
                })
                .collect();
            let mut worst: f64 = 0.0;
            let mut missing = 0;
            let (mut iterations, mut starts) = (0, 0);
            let start = Instant::now();
            for (truth, w) in &spans {
                for r in 0..reps {
                    let report = solver.recover(la, w, r as u64).expect("recover");
                    iterations += report.iterations;
                    starts += report.starts;
                    let found: Vec<Vec<f64>> =
                        report.candidates.iter().map(|c| c.vector.clone()).collect();
                    worst = match_errors(truth, &found)
                        .into_iter()
                        .fold(worst, f64::max);
                    missing += truth.ncols().abs_diff(found.len());
                }
            }
            let reps = reps * INSTANCES as usize;
            let ms = start.elapsed().as_secs_f64() / reps as f64 * 1e3;
            println!(
                "{variant} {kind} {name}: {ms:.3} ms per search, {missing} missing or extra, worst error {worst:.1e}, {:.0} starts, {:.0} iterations",
                starts as f64 / reps as f64,
                iterations as f64 / reps as f64
            );
        }
    }
}
