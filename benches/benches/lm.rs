//! Levenberg–Marquardt on route G's student problem (spec §10.1): the normal matrix, a few
//! iterations, and (with `--features lm-crate`) the same iterations and a full solve by the
//! `levenberg-marquardt` crate (MINPACK's QR-based LM on nalgebra) for comparison.
//!
//! ```text
//! cargo bench -p nnid-benches --bench lm                         # ours only
//! cargo bench -p nnid-benches --bench lm --features lm-crate     # with the comparison
//! ```

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nnid_bias_fit::{
    FitData, FreeBlocks, LeastSquares, LmConfig, StudentProblem, gaussian_points,
    levenberg_marquardt, normal_matrix_with, seeded_start,
};
use nnid_linalg::{Linalg, Mat, Op};
use nnid_nn_model::teacher::TeacherConfig;
use std::hint::black_box;
use std::time::Duration;

const SIZES: [(usize, usize, usize); 2] = [(20, 10, 5), (30, 20, 10)];
/// Jacobian evaluations in the "iterations" benchmarks.
const ITERS: usize = 5;

/// Teacher, fit data (N = 4P points x ~ N(0, I)) and a random route-G start.
struct Setup {
    data: FitData,
    start: nnid_bias_fit::StudentModel,
}

fn setup(la: Linalg<'_>, (d, m0, m1): (usize, usize, usize)) -> Setup {
    let net = TeacherConfig::new(d, m0, m1)
        .with_seed(1)
        .generate()
        .expect("teacher");
    let pts = gaussian_points(d, 4 * net.num_params(), 1.0, 2);
    let data = FitData::new(pts.clone(), net.values(&pts)).expect("fit data");
    let span = la.qr(net.a()).expect("qr").q;
    let start = seeded_start(&span, m1, net.g(), net.h(), 3, 0);
    Setup { data, start }
}

fn label((d, m0, m1): (usize, usize, usize)) -> String {
    format!("({d},{m0},{m1})")
}

fn bench_normal_matrix(c: &mut Criterion) {
    let la = Linalg::default_backend().expect("a compiled backend");
    let mut group = c.benchmark_group("lm/normal_matrix");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for size in SIZES {
        let s = setup(la, size);
        let problem =
            StudentProblem::new(s.start.clone(), &s.data, FreeBlocks::ALL).expect("problem");
        let mut jac = Mat::zeros(problem.num_residuals(), problem.num_params());
        problem.jacobian(&problem.initial_params(), &mut jac);
        group.bench_function(BenchmarkId::new("jacobian", label(size)), |b| {
            b.iter(|| problem.jacobian(black_box(&problem.initial_params()), &mut jac))
        });
        group.bench_function(BenchmarkId::new("one_product", label(size)), |b| {
            b.iter(|| la.matmul(black_box(&jac), Op::Trans, &jac, Op::NoTrans))
        });
        group.bench_function(BenchmarkId::new("blocked_sequential", label(size)), |b| {
            b.iter(|| normal_matrix_with(la, black_box(&jac), false))
        });
        group.bench_function(BenchmarkId::new("blocked_parallel", label(size)), |b| {
            b.iter(|| normal_matrix_with(la, black_box(&jac), true))
        });
    }
    group.finish();
}

fn bench_iterations(c: &mut Criterion) {
    let la = Linalg::default_backend().expect("a compiled backend");
    let mut group = c.benchmark_group("lm/iterations5");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for size in SIZES {
        let s = setup(la, size);
        let problem =
            StudentProblem::new(s.start.clone(), &s.data, FreeBlocks::ALL).expect("problem");
        let cfg = LmConfig::default().with_max_iters(ITERS);
        let rep = levenberg_marquardt(la, &problem, problem.initial_params(), &cfg).expect("lm");
        eprintln!(
            "ours {}: cost {:.3e} -> {:.3e} after {} Jacobians",
            label(size),
            rep.initial_cost,
            rep.cost,
            rep.iterations
        );
        group.bench_function(BenchmarkId::new("ours", label(size)), |b| {
            b.iter(|| {
                levenberg_marquardt(la, &problem, problem.initial_params(), &cfg).expect("lm")
            })
        });
        #[cfg(feature = "lm-crate")]
        {
            let (_, report) = lm_crate::run(&problem, Some(ITERS));
            eprintln!(
                "lm-crate {}: cost {:.3e} after {} Jacobians",
                label(size),
                report.1,
                report.0
            );
            group.bench_function(BenchmarkId::new("lm-crate", label(size)), |b| {
                b.iter(|| lm_crate::run(&problem, Some(ITERS)))
            });
        }
    }
    group.finish();
}

/// Full solves at the smallest size (stage "all" of route G from a random start).
fn bench_solve(c: &mut Criterion) {
    let la = Linalg::default_backend().expect("a compiled backend");
    let mut group = c.benchmark_group("lm/solve");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let size = SIZES[0];
    let s = setup(la, size);
    let problem = StudentProblem::new(s.start.clone(), &s.data, FreeBlocks::ALL).expect("problem");
    let cfg = LmConfig::default();
    let rep = levenberg_marquardt(la, &problem, problem.initial_params(), &cfg).expect("lm");
    eprintln!(
        "ours {} full solve: misfit {:.1e}, {} Jacobians, stop {:?}",
        label(size),
        rep.misfit,
        rep.iterations,
        rep.stop
    );
    group.bench_function(BenchmarkId::new("ours", label(size)), |b| {
        b.iter(|| levenberg_marquardt(la, &problem, problem.initial_params(), &cfg).expect("lm"))
    });
    #[cfg(feature = "lm-crate")]
    {
        let (misfit, (jacobians, cost)) = lm_crate::run(&problem, None);
        eprintln!(
            "lm-crate {} full solve: misfit {misfit:.1e}, cost {cost:.1e}, {jacobians} Jacobians",
            label(size)
        );
        group.bench_function(BenchmarkId::new("lm-crate", label(size)), |b| {
            b.iter(|| lm_crate::run(&problem, None))
        });
    }
    group.finish();
}

#[cfg(feature = "lm-crate")]
mod lm_crate {
    //! The same problem through the `levenberg-marquardt` crate.
    use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
    use nalgebra_lm::{DMatrix, DVector, Dyn, Owned};
    use nnid_bias_fit::{LeastSquares, StudentProblem};
    use nnid_linalg::Mat;
    use std::cell::Cell;

    struct Adaptor<'a, 'b> {
        problem: &'a StudentProblem<'b>,
        p: DVector<f64>,
        jacobians: Cell<usize>,
        cap: Option<usize>,
    }

    impl LeastSquaresProblem<f64, Dyn, Dyn> for Adaptor<'_, '_> {
        type ResidualStorage = Owned<f64, Dyn>;
        type JacobianStorage = Owned<f64, Dyn, Dyn>;
        type ParameterStorage = Owned<f64, Dyn>;

        fn set_params(&mut self, x: &DVector<f64>) {
            self.p.copy_from(x);
        }
        fn params(&self) -> DVector<f64> {
            self.p.clone()
        }
        fn residuals(&self) -> Option<DVector<f64>> {
            let mut r = vec![0.0; self.problem.num_residuals()];
            self.problem.residuals(self.p.as_slice(), &mut r);
            Some(DVector::from_vec(r))
        }
        fn jacobian(&self) -> Option<DMatrix<f64>> {
            // Stop after `cap` Jacobians: the crate then ends with TerminationReason::User.
            if self.cap.is_some_and(|c| self.jacobians.get() >= c) {
                return None;
            }
            self.jacobians.set(self.jacobians.get() + 1);
            let (nr, np) = (self.problem.num_residuals(), self.problem.num_params());
            let mut j = Mat::zeros(nr, np);
            self.problem.jacobian(self.p.as_slice(), &mut j);
            Some(DMatrix::from_vec(nr, np, j.into_vec()))
        }
    }

    /// Runs the crate's LM; returns the final data misfit and (Jacobians used, cost ½‖r‖²).
    pub fn run(problem: &StudentProblem<'_>, cap: Option<usize>) -> (f64, (usize, f64)) {
        let adaptor = Adaptor {
            problem,
            p: DVector::from_vec(problem.initial_params()),
            jacobians: Cell::new(0),
            cap,
        };
        let (done, report) = LevenbergMarquardt::new().minimize(adaptor);
        let mut r = vec![0.0; problem.num_residuals()];
        problem.residuals(done.p.as_slice(), &mut r);
        (
            problem.data_misfit(&r),
            (done.jacobians.get(), report.objective_function),
        )
    }
}

criterion_group!(benches, bench_normal_matrix, bench_iterations, bench_solve);
criterion_main!(benches);
