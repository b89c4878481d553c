//! Seeded random points, one RNG stream per point so results do not depend on threads.

use nnid_linalg::{Mat, normalize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The RNG of item `k` of a run with `seed`: the same seed, stream `k`.
pub(crate) fn item_rng(seed: u64, k: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(k as u64);
    rng
}

fn gaussian(rng: &mut ChaCha8Rng, d: usize) -> Vec<f64> {
    (0..d)
        .map(|_| rng.sample::<f64, _>(StandardNormal))
        .collect()
}

/// `n` points `c + r·s_j`, `s_j` uniform on the unit sphere of R^d (columns of a d×n matrix).
pub(crate) fn sphere_points(
    d: usize,
    n: usize,
    radius: f64,
    centre: Option<&[f64]>,
    seed: u64,
) -> Mat {
    let cols: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            let mut rng = item_rng(seed, j);
            let mut s = gaussian(&mut rng, d);
            normalize(&mut s);
            match centre {
                Some(c) => s.iter().zip(c).map(|(si, ci)| ci + radius * si).collect(),
                None => s.iter().map(|si| radius * si).collect(),
            }
        })
        .collect();
    Mat::from_columns(d, &cols)
}

/// `n` points `scale · N(0, I_d)` (columns of a d×n matrix).
pub(crate) fn gaussian_points(d: usize, n: usize, scale: f64, seed: u64) -> Mat {
    let cols: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            gaussian(&mut item_rng(seed, j), d)
                .into_iter()
                .map(|v| scale * v)
                .collect()
        })
        .collect();
    Mat::from_columns(d, &cols)
}
