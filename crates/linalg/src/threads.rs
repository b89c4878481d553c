//! How many threads a backend may use inside one operation.
//!
//! Backends run single-threaded by default: nnid parallelises over independent items
//! (Hessian points, random starts) with rayon, and threads inside each factorisation on top
//! of that would oversubscribe the cores and make backend timings incomparable.

use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Sets how many threads a backend may use inside one operation (0 is read as 1).
///
/// - `faer` honours it on the next call (its rayon pool, `Par::rayon(n)`).
/// - `nalgebra` is always single-threaded.
/// - `lapack`: OpenBLAS chooses its thread count when the library is loaded, from the
///   environment variable `OPENBLAS_NUM_THREADS`; set `OPENBLAS_NUM_THREADS=1` (or the count
///   you want) before starting the program. This function cannot change it.
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// The thread count set by [`set_threads`] (1 unless changed).
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}
