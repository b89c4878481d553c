//! Hessian sampling (paper step 1) at d = 20, 50, 100 with m0 = d/2, m1 = d/4: four
//! Hessians per iteration (one oracle batch each, in parallel), full d×d and reduced m0×m0,
//! forward and central stencils, plus the gradient span that the reduction needs. The
//! in-process oracle dominates; the backend only enters through the basis check, the lift
//! and the span's SVD, but every compiled backend is run.
//!
//! ```text
//! cargo bench -p nnid-benches --bench hessian
//! ```

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nnid_fd_hessian::{SamplingConfig, SpanConfig, Stencil, gradient_span, sample_hessians};
use nnid_linalg::BackendKind;
use nnid_nn_model::NetworkOracle;
use nnid_nn_model::teacher::TeacherConfig;
use std::hint::black_box;
use std::time::Duration;

const DIMS: [usize; 3] = [20, 50, 100];
/// Hessians per iteration.
const HESSIANS: usize = 4;

fn oracle(d: usize) -> NetworkOracle {
    let net = TeacherConfig::new(d, d / 2, d / 4)
        .with_seed(1)
        .generate()
        .expect("teacher");
    NetworkOracle::new(net)
}

fn bench_sampling(c: &mut Criterion) {
    let mut group = c.benchmark_group("hessian/sample4");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for d in DIMS {
        let (m0, m1) = (d / 2, d / 4);
        let oracle = oracle(d);
        let base = SamplingConfig::paper(m0, m1).with_count(HESSIANS);
        for kind in BackendKind::compiled() {
            let la = kind.linalg().expect("compiled backend");
            let span = gradient_span(la, &oracle, &SpanConfig::new(m0), 3).expect("span");
            let reduced = base.clone().with_basis(span.basis);
            for stencil in [Stencil::forward(), Stencil::central()] {
                for (mode, config) in [("full", &base), ("reduced", &reduced)] {
                    let id = BenchmarkId::new(format!("{}/{mode}/{kind}", stencil.name()), d);
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            sample_hessians(la, &oracle, stencil, black_box(config), 7)
                                .expect("sample")
                        })
                    });
                }
            }
        }
    }
    group.finish();
}

fn bench_span(c: &mut Criterion) {
    let mut group = c.benchmark_group("hessian/gradient_span");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for d in DIMS {
        let oracle = oracle(d);
        let config = SpanConfig::new(d / 2);
        for kind in BackendKind::compiled() {
            let la = kind.linalg().expect("compiled backend");
            group.bench_function(BenchmarkId::new(kind.to_string(), d), |b| {
                b.iter(|| gradient_span(la, &oracle, black_box(&config), 3).expect("span"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_sampling, bench_span);
criterion_main!(benches);
