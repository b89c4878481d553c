//! The subspace stage (paper step 2) at d = 20, 50, 100 with m0 = d/2, m1 = d/4: the stacked
//! SVD of m_X = 2(m0 + m1) Hessians (d(d+1)/2 × m_X) for K = m0 + m1, and the quality
//! measures, for every compiled backend. The Hessians are the paper's forward differences,
//! built once outside the timed code.
//!
//! ```text
//! cargo bench -p nnid-benches --bench subspace
//! ```

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nnid_fd_hessian::{SamplingConfig, Stencil, sample_hessians};
use nnid_linalg::{BackendKind, Linalg, Mat};
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Network, NetworkOracle};
use nnid_subspace::{
    StackedSvd, SubspaceEstimator, distance, model_subspace, model_weights, weight_distances,
};
use std::hint::black_box;
use std::time::Duration;

const DIMS: [usize; 3] = [20, 50, 100];

/// The teacher and its paper-default Hessians: forward differences (ε = 1e-5) at
/// 2(m0 + m1) points on the unit sphere.
fn setup(d: usize) -> (Network, Vec<Mat>) {
    let (m0, m1) = (d / 2, d / 4);
    let net = TeacherConfig::new(d, m0, m1)
        .with_seed(1)
        .generate()
        .expect("teacher");
    let la = Linalg::default_backend().expect("a compiled backend");
    let oracle = NetworkOracle::new(net.clone());
    let config = SamplingConfig::paper(m0, m1);
    let sample = sample_hessians(la, &oracle, Stencil::forward(), &config, 2).expect("Hessians");
    (net, sample.hessians)
}

fn bench_svd(c: &mut Criterion) {
    let mut group = c.benchmark_group("subspace/stacked_svd");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for d in DIMS {
        let (net, hessians) = setup(d);
        let k = net.m0() + net.m1();
        for kind in BackendKind::compiled() {
            let la = kind.linalg().expect("compiled backend");
            group.bench_with_input(BenchmarkId::new(kind.to_string(), d), &hessians, |b, hs| {
                b.iter(|| StackedSvd.estimate(la, black_box(hs), k).expect("estimate"))
            });
        }
    }
    group.finish();
}

fn bench_measures(c: &mut Criterion) {
    let mut group = c.benchmark_group("subspace/measures");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for d in DIMS {
        let (net, hessians) = setup(d);
        let k = net.m0() + net.m1();
        let (a, v) = model_weights(&net);
        for kind in BackendKind::compiled() {
            let la: Linalg<'_> = kind.linalg().expect("compiled backend");
            let w_hat = StackedSvd
                .estimate(la, &hessians, k)
                .expect("estimate")
                .subspace;
            let w = model_subspace(la, &net).expect("W");
            group.bench_function(BenchmarkId::new(format!("distance/{kind}"), d), |b| {
                b.iter(|| distance(la, black_box(&w), &w_hat).expect("distance"))
            });
            let both = Mat::from_col_major(d, k, [a.as_slice(), v.as_slice()].concat());
            group.bench_function(
                BenchmarkId::new(format!("weight_distances/{kind}"), d),
                |b| b.iter(|| weight_distances(black_box(&w_hat), &both).expect("weights")),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_svd, bench_measures);
criterion_main!(benches);
