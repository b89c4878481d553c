//! The linear-algebra operations the pipeline leans on, once per compiled backend:
//!
//! - `linalg/svd_top_k`: the stacked-Hessian SVD of paper step 2, a d(d+1)/2 × 2(m0 + m1)
//!   matrix with m0 = d/2, m1 = d/4 (d = 20, 50, 100: 210×30, 1275×74, 5050×150), of rank
//!   K = m0 + m1 plus a 10⁻⁸ noise floor, top K vectors;
//! - `linalg/eigh`, `linalg/solve_spd`, `linalg/matmul_gram` at the parameter counts
//!   P = 265 (d = 20), 800 and 2000 of the bias/weight refinement: a symmetric P×P
//!   eigendecomposition, an SPD solve with one right-hand side, and the Gram product
//!   JᵀJ of a 2P×P Jacobian.
//!
//! Inputs are built once (seeded) outside the timed code. Backends run single-threaded
//! (nnid's default, see `nnid_linalg::set_threads`); run OpenBLAS single-threaded too, or
//! the comparison is unfair, and on a virtual machine check that OpenBLAS did not fall back
//! to its generic kernels (`OPENBLAS_VERBOSE=2` prints `Core: Prescott`; then set
//! `OPENBLAS_CORETYPE=Haswell` or `SkylakeX` to match the CPU):
//!
//! ```text
//! OPENBLAS_NUM_THREADS=1 cargo bench -p nnid-benches --features nalgebra,lapack --bench linalg
//! cargo bench -p nnid-benches --bench linalg -- 'svd_top_k/.*/d=20'   # one quick slice
//! ```
//!
//! The whole run takes about 10 minutes on one core, most of it in `eigh` at P = 2000.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nnid_linalg::testing::{
    gaussian, matrix_with_spectrum, rng, spd_with_condition, symmetric_with_spectrum,
};
use nnid_linalg::{BackendKind, Mat, Op};
use std::hint::black_box;
use std::time::Duration;

const DIMS: [usize; 3] = [20, 50, 100];
const PARAMS: [usize; 3] = [265, 800, 2000];

fn backends() -> Vec<BackendKind> {
    let kinds: Vec<_> = BackendKind::compiled().collect();
    assert!(!kinds.is_empty(), "no linear-algebra backend compiled in");
    kinds
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
}

/// A d(d+1)/2 × 2(m0 + m1) matrix of rank K = m0 + m1 (singular values graded from 1 to
/// 10⁻² like the Hessian spectrum) plus a 10⁻⁸ noise floor, and K.
fn stacked_hessians(d: usize) -> (Mat, usize) {
    let (m0, m1) = (d / 2, d / 4);
    let (rows, cols, k) = (d * (d + 1) / 2, 2 * (m0 + m1), m0 + m1);
    let sigma: Vec<f64> = (0..cols)
        .map(|i| {
            if i < k {
                10f64.powf(-2.0 * i as f64 / k as f64)
            } else {
                1e-8
            }
        })
        .collect();
    (
        matrix_with_spectrum(&mut rng(d as u64), rows, cols, &sigma).a,
        k,
    )
}

fn bench_svd_top_k(c: &mut Criterion) {
    let mut group = c.benchmark_group("linalg/svd_top_k");
    configure(&mut group);
    for d in DIMS {
        let (a, k) = stacked_hessians(d);
        for kind in backends() {
            let la = kind.linalg().expect("compiled backend");
            group.bench_with_input(
                BenchmarkId::new(kind.name(), format!("d={d}")),
                &a,
                |b, a| b.iter(|| la.svd_top_k(black_box(a), k).expect("svd_top_k")),
            );
        }
    }
    group.finish();
}

fn bench_eigh(c: &mut Criterion) {
    let mut group = c.benchmark_group("linalg/eigh");
    configure(&mut group);
    for p in PARAMS {
        let values: Vec<f64> = (0..p)
            .map(|i| (i as f64 - p as f64 / 3.0) / p as f64)
            .collect();
        let a = symmetric_with_spectrum(&mut rng(p as u64), &values).a;
        for kind in backends() {
            let la = kind.linalg().expect("compiled backend");
            group.bench_with_input(
                BenchmarkId::new(kind.name(), format!("P={p}")),
                &a,
                |b, a| b.iter(|| la.eigh(black_box(a)).expect("eigh")),
            );
        }
    }
    group.finish();
}

fn bench_solve_spd(c: &mut Criterion) {
    let mut group = c.benchmark_group("linalg/solve_spd");
    configure(&mut group);
    for p in PARAMS {
        let mut r = rng(p as u64);
        let a = spd_with_condition(&mut r, p, 1e6, 1.0).a;
        let rhs = gaussian(&mut r, p, 1);
        for kind in backends() {
            let la = kind.linalg().expect("compiled backend");
            group.bench_with_input(
                BenchmarkId::new(kind.name(), format!("P={p}")),
                &(&a, &rhs),
                |b, (a, rhs)| {
                    b.iter(|| {
                        la.solve_spd(black_box(a), black_box(rhs))
                            .expect("solve_spd")
                    })
                },
            );
        }
    }
    group.finish();
}

fn bench_matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("linalg/matmul_gram");
    configure(&mut group);
    for p in PARAMS {
        let j = gaussian(&mut rng(p as u64), 2 * p, p);
        for kind in backends() {
            let la = kind.linalg().expect("compiled backend");
            group.bench_with_input(
                BenchmarkId::new(kind.name(), format!("P={p}")),
                &j,
                |b, j| b.iter(|| la.matmul(black_box(j), Op::Trans, black_box(j), Op::NoTrans)),
            );
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_svd_top_k,
    bench_eigh,
    bench_solve_spd,
    bench_matmul
);
criterion_main!(benches);
