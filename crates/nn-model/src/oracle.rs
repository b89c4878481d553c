//! Black-box access to `f`: the [`Oracle`] trait and the in-process oracle.

use crate::{Network, OracleError};
use nnid_linalg::Mat;
use std::sync::atomic::{AtomicU64, Ordering};

/// Batched black-box queries of a scalar function on R^d, with an honest query counter.
///
/// `points` holds one query per column (d×n); the answer has length n, in order. Every
/// implementation counts each point it is sent (including points of a batch that fails
/// part-way, because the cost was incurred) and never answers NaN: a non-finite answer is
/// an [`OracleError::NonFiniteAnswer`].
pub trait Oracle: Send + Sync {
    /// The input dimension d.
    fn input_dim(&self) -> usize;

    /// `f` at each column of `points`.
    ///
    /// # Errors
    /// Wrong dimension, non-finite points or answers, a failing process: see [`OracleError`].
    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError>;

    /// How many points this oracle has been asked so far.
    fn queries(&self) -> u64;

    /// `f` at one point (a batch of one).
    ///
    /// # Errors
    /// As [`Oracle::query`].
    fn query_one(&self, x: &[f64]) -> Result<f64, OracleError> {
        let pts = Mat::from_col_major(x.len(), 1, x.to_vec());
        Ok(self.query(&pts)?[0])
    }
}

impl<O: Oracle + ?Sized> Oracle for &O {
    fn input_dim(&self) -> usize {
        (**self).input_dim()
    }
    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        (**self).query(points)
    }
    fn queries(&self) -> u64 {
        (**self).queries()
    }
}

impl<O: Oracle + ?Sized> Oracle for Box<O> {
    fn input_dim(&self) -> usize {
        (**self).input_dim()
    }
    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        (**self).query(points)
    }
    fn queries(&self) -> u64 {
        (**self).queries()
    }
}

/// Checks a batch against the oracle's dimension and for non-finite coordinates.
///
/// # Errors
/// [`OracleError::Dimension`] or [`OracleError::NonFiniteQuery`] naming the first bad point.
pub fn check_points(points: &Mat, d: usize) -> Result<(), OracleError> {
    if points.nrows() != d {
        return Err(OracleError::Dimension {
            index: 0,
            expected: d,
            got: points.nrows(),
        });
    }
    for (index, x) in points.columns().enumerate() {
        if let Some(coord) = x.iter().position(|v| !v.is_finite()) {
            return Err(OracleError::NonFiniteQuery {
                index,
                coord,
                value: x[coord],
            });
        }
    }
    Ok(())
}

/// Checks answers for NaN or infinity.
///
/// # Errors
/// [`OracleError::NonFiniteAnswer`] naming the first bad answer.
pub fn check_answers(values: &[f64]) -> Result<(), OracleError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(OracleError::NonFiniteAnswer {
            index,
            value: values[index],
        }),
    }
}

/// A [`Network`] evaluated in this process (in parallel over the batch), counting queries.
#[derive(Debug)]
pub struct NetworkOracle {
    net: Network,
    count: AtomicU64,
}

impl NetworkOracle {
    /// Wraps a network.
    pub fn new(net: Network) -> Self {
        Self {
            net,
            count: AtomicU64::new(0),
        }
    }

    /// The network behind the oracle (ground truth for experiments).
    pub fn network(&self) -> &Network {
        &self.net
    }
}

impl Oracle for NetworkOracle {
    fn input_dim(&self) -> usize {
        self.net.input_dim()
    }

    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        check_points(points, self.input_dim())?;
        self.count
            .fetch_add(points.ncols() as u64, Ordering::Relaxed);
        // Matrix products for large batches: equal to `Network::value` to rounding (a black
        // box on a BLAS answers the same way); see `Network::values_fast`.
        let values = self.net.values_fast(points);
        check_answers(&values)?;
        Ok(values)
    }

    fn queries(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}
