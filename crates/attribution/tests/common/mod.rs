//! Shared constructions for the attribution tests.
#![allow(dead_code)] // each test file uses a different part

use nnid_attribution::{AttributionError, SubspaceProbe};
use nnid_linalg::sym::{SymSubspace, svec_len, svec_rank1};
use nnid_linalg::{BackendKind, Linalg, Mat, normalize};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Every compiled backend; fails the test if there is none.
pub fn backends() -> Vec<Linalg<'static>> {
    let out: Vec<_> = BackendKind::compiled()
        .map(|k| k.linalg().unwrap())
        .collect();
    assert!(!out.is_empty(), "no linear-algebra backend is compiled in");
    out
}

pub fn gaussian(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

pub fn unit(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let mut v = gaussian(rng, n);
    normalize(&mut v);
    v
}

/// m orthonormal vectors in R^d (QR of a Gaussian matrix), each moved by `eps` times a
/// random unit vector and renormalised.
pub fn perturbed_orthonormal(
    la: Linalg<'_>,
    rng: &mut ChaCha8Rng,
    d: usize,
    m: usize,
    eps: f64,
) -> Mat {
    let g = Mat::from_columns(d, &(0..m).map(|_| gaussian(rng, d)).collect::<Vec<_>>());
    let q = la.qr(&g).unwrap().q;
    let cols: Vec<Vec<f64>> = q
        .columns()
        .map(|c| {
            let e = unit(rng, d);
            let mut w: Vec<f64> = c.iter().zip(&e).map(|(x, y)| x + eps * y).collect();
            normalize(&mut w);
            w
        })
        .collect();
    Mat::from_columns(d, &cols)
}

/// Dense flat entangled weights: v_l = A c_l / ‖A c_l‖ with c_l = (±1, …, ±1)/√m0.
pub fn flat_entangled(rng: &mut ChaCha8Rng, a: &Mat, m1: usize) -> Mat {
    let m0 = a.ncols();
    let cols: Vec<Vec<f64>> = (0..m1)
        .map(|_| {
            let c: Vec<f64> = (0..m0)
                .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 } / (m0 as f64).sqrt())
                .collect();
            let mut v = a.matvec(&c);
            normalize(&mut v);
            v
        })
        .collect();
    Mat::from_columns(a.nrows(), &cols)
}

/// The columns of `a` and `v`, shuffled and with random signs; `is_v[k]` says whether
/// candidate k is entangled.
pub fn shuffled(rng: &mut ChaCha8Rng, a: &Mat, v: &Mat) -> (Mat, Vec<bool>) {
    let mut cols: Vec<(Vec<f64>, bool)> = a.columns().map(|c| (c.to_vec(), false)).collect();
    cols.extend(v.columns().map(|c| (c.to_vec(), true)));
    cols.shuffle(rng);
    let is_v = cols.iter().map(|(_, b)| *b).collect();
    let cols: Vec<Vec<f64>> = cols
        .into_iter()
        .map(|(c, _)| {
            let s = if rng.random::<bool>() { 1.0 } else { -1.0 };
            c.iter().map(|x| s * x).collect()
        })
        .collect();
    (Mat::from_columns(a.nrows(), &cols), is_v)
}

/// An orthonormal basis (svec columns) of span{w wᵀ : w a column of `vectors`}.
pub fn rank1_span(la: Linalg<'_>, vectors: &Mat) -> SymSubspace {
    let d = vectors.nrows();
    let cols: Vec<Vec<f64>> = vectors.columns().map(svec_rank1).collect();
    let q = la.qr(&Mat::from_columns(svec_len(d), &cols)).unwrap().q;
    SymSubspace::from_orthonormal(d, q)
}

/// A probe that returns span{a_i a_iᵀ} ∪ {v'_l v'_lᵀ}, where at each call (seeded) the v'_l
/// are the given v_l moved by `turn` times a random unit vector and renormalised: the
/// structure of the true Hessian subspace at a centre where the entangled weights have
/// turned.
pub struct TurningProbe<'a> {
    pub la: Linalg<'a>,
    pub a: Mat,
    pub v: Mat,
    pub turn: f64,
}

impl SubspaceProbe for TurningProbe<'_> {
    fn subspace_at(
        &self,
        _la: Linalg<'_>,
        centre: &[f64],
        seed: u64,
    ) -> Result<SymSubspace, AttributionError> {
        let d = self.a.nrows();
        assert_eq!(centre.len(), d);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut cols: Vec<Vec<f64>> = self.a.columns().map(<[f64]>::to_vec).collect();
        for v in self.v.columns() {
            let e = unit(&mut rng, d);
            let mut w: Vec<f64> = v.iter().zip(&e).map(|(x, y)| x + self.turn * y).collect();
            normalize(&mut w);
            cols.push(w);
        }
        Ok(rank1_span(self.la, &Mat::from_columns(d, &cols)))
    }
}

/// A probe that always returns the same subspace.
pub struct FixedProbe(pub SymSubspace);

impl SubspaceProbe for FixedProbe {
    fn name(&self) -> &'static str {
        "fixed"
    }
    fn subspace_at(
        &self,
        _la: Linalg<'_>,
        _centre: &[f64],
        _seed: u64,
    ) -> Result<SymSubspace, AttributionError> {
        Ok(self.0.clone())
    }
}

/// A probe that always fails.
pub struct FailingProbe;

impl SubspaceProbe for FailingProbe {
    fn subspace_at(
        &self,
        _la: Linalg<'_>,
        _centre: &[f64],
        _seed: u64,
    ) -> Result<SymSubspace, AttributionError> {
        Err(AttributionError::external(
            "sampling Hessians",
            std::io::Error::other("oracle went away"),
        ))
    }
}

/// Number of entangled candidates labelled entangled.
pub fn entangled_right(entangled: &[usize], is_v: &[bool]) -> usize {
    entangled.iter().filter(|&&k| is_v[k]).count()
}
