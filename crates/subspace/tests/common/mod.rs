//! Shared helpers of the integration tests.
#![allow(dead_code)]

use nnid_linalg::{BackendKind, Linalg, Mat, normalize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Every compiled backend (at least one, or the test fails).
pub fn backends() -> Vec<(BackendKind, Linalg<'static>)> {
    let kinds: Vec<_> = BackendKind::compiled().collect();
    assert!(
        !kinds.is_empty(),
        "no linear-algebra backend is compiled in"
    );
    kinds
        .into_iter()
        .map(|k| (k, k.linalg().expect("compiled backend")))
        .collect()
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn gaussian(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| rng.sample::<f64, _>(StandardNormal))
        .collect()
}

/// `k` random unit vectors in R^d as columns.
pub fn unit_columns(rng: &mut ChaCha8Rng, d: usize, k: usize) -> Mat {
    let cols: Vec<Vec<f64>> = (0..k)
        .map(|_| {
            let mut v = gaussian(rng, d);
            normalize(&mut v);
            v
        })
        .collect();
    Mat::from_columns(d, &cols)
}

/// `n` symmetric matrices `Σ_k c_jk w_k w_kᵀ` with Gaussian c_jk: Hessians with no leakage.
pub fn rank1_mixtures(rng: &mut ChaCha8Rng, w: &Mat, n: usize) -> Vec<Mat> {
    let d = w.nrows();
    (0..n)
        .map(|_| {
            let c = gaussian(rng, w.ncols());
            Mat::from_fn(d, d, |i, j| {
                w.columns().zip(&c).map(|(u, ck)| ck * u[i] * u[j]).sum()
            })
        })
        .collect()
}
