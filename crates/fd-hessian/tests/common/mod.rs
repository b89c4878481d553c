//! Shared helpers of the integration tests: random small networks, recording oracles and
//! the list of compiled backends.
#![allow(dead_code)]

use nnid_linalg::{BackendKind, Linalg, Mat, normalize};
use nnid_nn_model::{Activation, Network, NetworkOracle, Oracle, OracleError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::sync::Mutex;

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

/// A unit vector with Gaussian direction.
pub fn unit(rng: &mut ChaCha8Rng, d: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..d)
        .map(|_| rng.sample::<f64, _>(StandardNormal))
        .collect();
    normalize(&mut v);
    v
}

/// A random network: unit Gaussian columns of A and B, shifts uniform in [−0.5, 0.5].
pub fn random_network(d: usize, m0: usize, m1: usize, act: Activation, seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a_cols: Vec<Vec<f64>> = (0..m0).map(|_| unit(&mut rng, d)).collect();
    let b_cols: Vec<Vec<f64>> = (0..m1).map(|_| unit(&mut rng, m0)).collect();
    let theta = (0..m0).map(|_| rng.random_range(-0.5..0.5)).collect();
    let tau = (0..m1).map(|_| rng.random_range(-0.5..0.5)).collect();
    Network::new(
        Mat::from_columns(d, &a_cols),
        theta,
        Mat::from_columns(m0, &b_cols),
        tau,
        act,
        act,
    )
    .expect("valid random network")
}

/// A random point with ‖x‖ = r.
pub fn point(d: usize, r: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9);
    unit(&mut rng, d).into_iter().map(|v| r * v).collect()
}

/// Relative Frobenius error ‖x − y‖_F / ‖y‖_F.
pub fn rel_err(x: &Mat, y: &Mat) -> f64 {
    x.sub(y).norm_fro() / y.norm_fro()
}

/// An oracle that records the size of every batch it is sent.
pub struct Recording {
    pub inner: NetworkOracle,
    pub batches: Mutex<Vec<usize>>,
}

impl Recording {
    pub fn new(net: Network) -> Self {
        Self {
            inner: NetworkOracle::new(net),
            batches: Mutex::new(Vec::new()),
        }
    }

    pub fn batches(&self) -> Vec<usize> {
        self.batches.lock().unwrap().clone()
    }
}

impl Oracle for Recording {
    fn input_dim(&self) -> usize {
        self.inner.input_dim()
    }
    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        self.batches.lock().unwrap().push(points.ncols());
        self.inner.query(points)
    }
    fn queries(&self) -> u64 {
        self.inner.queries()
    }
}

/// An oracle that answers NaN at every query (to test error propagation).
pub struct Broken(pub usize);

impl Oracle for Broken {
    fn input_dim(&self) -> usize {
        self.0
    }
    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        Err(OracleError::NonFiniteAnswer {
            index: points.ncols() / 2,
            value: f64::NAN,
        })
    }
    fn queries(&self) -> u64 {
        0
    }
}

/// An oracle that answers one value too few.
pub struct Short(pub NetworkOracle);

impl Oracle for Short {
    fn input_dim(&self) -> usize {
        self.0.input_dim()
    }
    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        let mut v = self.0.query(points)?;
        v.pop();
        Ok(v)
    }
    fn queries(&self) -> u64 {
        self.0.queries()
    }
}
