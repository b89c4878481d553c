//! The forward pass, the in-process oracle's whole cost: the activations on a slice
//! (`Activation::eval_in_place`, nnid's vectorisable tanh and logistic, beside the C
//! library's), and `Network::values_fast` on 1024 points at (784, 128, 32), the MNIST-width
//! size of issue 9.
//!
//! ```text
//! cargo bench -p nnid-benches --bench forward
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nnid_linalg::Mat;
use nnid_nn_model::Activation;
use nnid_nn_model::teacher::TeacherConfig;
use std::hint::black_box;
use std::time::Duration;

/// Values per activation benchmark.
const VALUES: usize = 100_000;

fn bench_activations(c: &mut Criterion) {
    let mut group = c.benchmark_group("forward/activation");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(VALUES as u64));
    let inputs: Vec<f64> = (0..VALUES)
        .map(|i| -6.0 + 12.0 * i as f64 / VALUES as f64)
        .collect();
    for act in Activation::ALL {
        group.bench_function(BenchmarkId::new("nnid", act.name()), |b| {
            b.iter(|| {
                let mut v = inputs.clone();
                act.eval_in_place(black_box(&mut v));
                v
            })
        });
        let libm = move |t: f64| match act {
            Activation::Tanh => t.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-t).exp()),
        };
        group.bench_function(BenchmarkId::new("libm", act.name()), |b| {
            b.iter(|| {
                let mut v = inputs.clone();
                v.iter_mut().for_each(|x| *x = libm(*x));
                black_box(v)
            })
        });
    }
    group.finish();
}

fn bench_values(c: &mut Criterion) {
    let mut group = c.benchmark_group("forward/values_fast");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let (d, n) = (784, 1024);
    let points = Mat::from_fn(d, n, |i, j| ((i * 31 + j * 17) % 97) as f64 / 97.0 - 0.5);
    for act in Activation::ALL {
        let net = TeacherConfig::new(d, 128, 32)
            .activation(act)
            .with_seed(1)
            .generate()
            .expect("teacher");
        group.bench_function(BenchmarkId::new("784x128x32/1024pts", act.name()), |b| {
            b.iter(|| net.values_fast(black_box(&points)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_activations, bench_values);
criterion_main!(benches);
