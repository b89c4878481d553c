//! Shared helpers of the bias-fit tests: small random teachers, Gaussian points, backends.
#![allow(dead_code)]

use nnid_linalg::{BackendKind, Linalg, Mat, normalize};
use nnid_nn_model::{Activation, Network};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Every compiled backend (at least one).
pub fn backends() -> Vec<Linalg<'static>> {
    let all: Vec<_> = BackendKind::compiled()
        .map(|k| k.linalg().unwrap())
        .collect();
    assert!(!all.is_empty(), "no linear-algebra backend compiled");
    all
}

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    Distribution::<f64>::sample(&StandardNormal, rng)
}

/// `cols` random unit vectors of length `n`, as columns.
pub fn unit_columns(n: usize, cols: usize, rng: &mut ChaCha8Rng) -> Mat {
    let cs: Vec<Vec<f64>> = (0..cols)
        .map(|_| {
            let mut v: Vec<f64> = (0..n).map(|_| gauss(rng)).collect();
            normalize(&mut v);
            v
        })
        .collect();
    Mat::from_columns(n, &cs)
}

/// The test family of spec §8: unit Gaussian columns of A and B, θ, τ ~ U[−0.5, 0.5].
pub fn random_network(d: usize, m0: usize, m1: usize, act: Activation, seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = unit_columns(d, m0, &mut rng);
    let b = unit_columns(m0, m1, &mut rng);
    let theta = (0..m0).map(|_| rng.random_range(-0.5..0.5)).collect();
    let tau = (0..m1).map(|_| rng.random_range(-0.5..0.5)).collect();
    Network::new(a, theta, b, tau, act, act).unwrap()
}

/// `n` points x ~ N(0, s²I_d), as columns.
pub fn gaussian_points(d: usize, n: usize, s: f64, seed: u64) -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Mat::from_col_major(d, n, (0..d * n).map(|_| s * gauss(&mut rng)).collect())
}

/// Adds `delta · (unit Gaussian direction)` to every column of `m`.
pub fn perturb_columns(m: &mut Mat, delta: f64, rng: &mut ChaCha8Rng) {
    for j in 0..m.ncols() {
        let mut v: Vec<f64> = (0..m.nrows()).map(|_| gauss(rng)).collect();
        normalize(&mut v);
        m.col_mut(j)
            .iter_mut()
            .zip(&v)
            .for_each(|(x, e)| *x += delta * e);
    }
}

/// Smallest distance between `u` and `±w` over the columns `w` of `m`.
pub fn min_sign_distance(u: &[f64], m: &Mat) -> f64 {
    m.columns()
        .map(|w| {
            let p: f64 = u
                .iter()
                .zip(w)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            let q: f64 = u
                .iter()
                .zip(w)
                .map(|(a, b)| (a + b).powi(2))
                .sum::<f64>()
                .sqrt();
            p.min(q)
        })
        .fold(f64::INFINITY, f64::min)
}
