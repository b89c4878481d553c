//! The rank-one stage (paper step 3) on exact spans span{w_k w_kᵀ}: time to recover every
//! component, both solvers, every compiled backend.
//!
//! - `rank1/search`: r = 3d/4 incoherent unit vectors in R^d, d = 20, 50, 100 (the issue's
//!   grid);
//! - `rank1/targets`: the rows of docs/targets.md §2 (independent 20/15, 50/37, 80/60;
//!   entangled a_i and v_l = A G b_l at (30, 20 + 10) and (50, 30 + 15); overcomplete 20/40),
//!   whose SPM reference times the stage must beat tenfold.
//!
//! The span (an orthonormal basis, as `nnid rank1` has after reading its input) is built once
//! outside the timed code; the time is `Rank1Solver::recover` alone. Every run is checked to
//! return every component within 1e-8 and nothing else before it is timed.
//!
//! ```text
//! cargo bench -p nnid-benches --bench rank1
//! OPENBLAS_NUM_THREADS=1 cargo bench -p nnid-benches --features nalgebra,lapack --bench rank1
//! cargo bench -p nnid-benches --bench rank1 -- 'targets/spm'   # one slice
//! ```

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nnid_linalg::{BackendKind, Linalg, Mat};
use nnid_rank1_recovery::synthetic::{
    entangled_vectors, exact_span, incoherent_unit_vectors, match_errors,
};
use nnid_rank1_recovery::{ProjectedGradientAscent, Rank1Solver, SubspacePowerMethod};
use std::hint::black_box;
use std::time::Duration;

fn solvers() -> Vec<Box<dyn Rank1Solver>> {
    vec![
        Box::new(SubspacePowerMethod::default()),
        Box::new(ProjectedGradientAscent::default()),
    ]
}

/// Fails loudly unless `solver` returns exactly the columns of `truth` (up to sign, 1e-8).
fn check(la: Linalg<'_>, solver: &dyn Rank1Solver, truth: &Mat, label: &str) {
    let w = exact_span(la, truth).expect("span");
    let report = solver.recover(la, &w, 1).expect("recover");
    let found: Vec<Vec<f64>> = report.candidates.iter().map(|c| c.vector.clone()).collect();
    let worst = match_errors(truth, &found).into_iter().fold(0.0, f64::max);
    assert!(
        found.len() == truth.ncols() && worst < 1e-8,
        "{label}: {} candidates for {} components, worst error {worst:.1e}",
        found.len(),
        truth.ncols()
    );
}

fn bench_rows(c: &mut Criterion, group_name: &str, rows: &[(String, Mat)]) {
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, truth) in rows {
        for kind in BackendKind::compiled() {
            let la = kind.linalg().expect("compiled backend");
            let w = exact_span(la, truth).expect("span");
            for solver in solvers() {
                let label = format!("{}/{kind}", solver.name());
                check(la, solver.as_ref(), truth, &format!("{name} {label}"));
                group.bench_function(BenchmarkId::new(label, name), |b| {
                    b.iter(|| solver.recover(la, black_box(&w), 1).expect("recover"))
                });
            }
        }
    }
    group.finish();
}

fn search(c: &mut Criterion) {
    let rows: Vec<(String, Mat)> = [20, 50, 100]
        .iter()
        .map(|&d| {
            (
                format!("d={d}"),
                incoherent_unit_vectors(d, 3 * d / 4, 0.9, 11),
            )
        })
        .collect();
    bench_rows(c, "rank1/search", &rows);
}

fn targets(c: &mut Criterion) {
    let rows = vec![
        (
            "independent-20-15".to_string(),
            incoherent_unit_vectors(20, 15, 0.9, 21),
        ),
        (
            "independent-50-37".to_string(),
            incoherent_unit_vectors(50, 37, 0.9, 22),
        ),
        (
            "independent-80-60".to_string(),
            incoherent_unit_vectors(80, 60, 0.9, 23),
        ),
        (
            "entangled-30-20+10".to_string(),
            entangled_vectors(30, 20, 10, 0.9, 24),
        ),
        (
            "entangled-50-30+15".to_string(),
            entangled_vectors(50, 30, 15, 0.9, 25),
        ),
        (
            "overcomplete-20-40".to_string(),
            incoherent_unit_vectors(20, 40, 0.95, 26),
        ),
    ];
    bench_rows(c, "rank1/targets", &rows);
}

criterion_group!(benches, search, targets);
criterion_main!(benches);
