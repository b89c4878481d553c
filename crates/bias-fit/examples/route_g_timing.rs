//! Times route G's penalised LM (spec §10.1 step 3) on random teachers.
//!
//! ```text
//! cargo run --release -p nnid-bias-fit --example route_g_timing -- [SIZES] [TEACHERS] [SEED]
//! ```
//! SIZES is a list like `20,10,5:30,20,10` (default `20,10,5:30,20,10:50,30,15`), TEACHERS
//! the number of teachers per size (default 1; 0 times the iteration only). For each size it prints the cost of one LM
//! iteration's parts on the N×P Jacobian (N = 4P), then runs the multi-start fit with the
//! exact span of A (the gradient span is the pipeline's job) and prints time, starts,
//! iterations, the validation error and the worst a_i error up to sign.

use nnid_bias_fit::{
    FitData, FreeBlocks, LeastSquares, RouteGConfig, StudentModel, StudentProblem, route_g_fit,
};
use nnid_linalg::{Linalg, Mat, Op, normalize};
use nnid_nn_model::{Activation, Network};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::time::Instant;

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    Distribution::<f64>::sample(&StandardNormal, rng)
}

fn unit_columns(n: usize, cols: usize, rng: &mut ChaCha8Rng) -> Mat {
    let cs: Vec<Vec<f64>> = (0..cols)
        .map(|_| {
            let mut v: Vec<f64> = (0..n).map(|_| gauss(rng)).collect();
            normalize(&mut v);
            v
        })
        .collect();
    Mat::from_columns(n, &cs)
}

/// Unit Gaussian columns of A and B, shifts uniform in [−0.5, 0.5] (spec §8).
fn teacher(d: usize, m0: usize, m1: usize, seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = unit_columns(d, m0, &mut rng);
    let b = unit_columns(m0, m1, &mut rng);
    let theta = (0..m0).map(|_| rng.random_range(-0.5..0.5)).collect();
    let tau = (0..m1).map(|_| rng.random_range(-0.5..0.5)).collect();
    Network::new(a, theta, b, tau, Activation::Tanh, Activation::Tanh).expect("valid teacher")
}

fn points(d: usize, n: usize, seed: u64) -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Mat::from_col_major(d, n, (0..d * n).map(|_| gauss(&mut rng)).collect())
}

fn worst_a_error(truth: &Network, fitted: &Network) -> f64 {
    truth
        .a()
        .columns()
        .map(|ai| {
            fitted
                .a()
                .columns()
                .map(|w| {
                    let mut w = w.to_vec();
                    normalize(&mut w);
                    let p: f64 = ai.iter().zip(&w).map(|(a, b)| (a - b).powi(2)).sum();
                    let q: f64 = ai.iter().zip(&w).map(|(a, b)| (a + b).powi(2)).sum();
                    p.min(q).sqrt()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .fold(0.0, f64::max)
}

/// Times the parts of one LM iteration at a random start.
fn iteration_parts(la: Linalg<'_>, net: &Network, fit: &FitData) {
    let start = StudentModel::from_network(net);
    let problem = StudentProblem::new(start, fit, FreeBlocks::ALL).expect("problem");
    let (np, nr) = (problem.num_params(), problem.num_residuals());
    let p = problem.initial_params();
    let mut jac = Mat::zeros(nr, np);
    let best = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let t_jac = best(&mut || problem.jacobian(&p, &mut jac));
    let normal = la.matmul(&jac, Op::Trans, &jac, Op::NoTrans);
    let t_mm = best(&mut || drop(la.matmul(&jac, Op::Trans, &jac, Op::NoTrans)));
    let t_seq = best(&mut || drop(nnid_bias_fit::normal_matrix_with(la, &jac, false)));
    let t_blocked = best(&mut || drop(nnid_bias_fit::normal_matrix_with(la, &jac, true)));
    let blocked = nnid_bias_fit::normal_matrix(la, &jac);
    assert!(
        blocked.sub(&normal).max_abs() <= 1e-12 * normal.max_abs(),
        "blocked JᵀJ differs"
    );
    let mut damped = normal.clone();
    for k in 0..np {
        damped[(k, k)] *= 1.0 + 1e-3;
    }
    let rhs = Mat::from_col_major(np, 1, vec![1.0; np]);
    let t_solve = best(&mut || drop(la.solve_spd(&damped, &rhs).expect("spd")));
    let mut r = vec![0.0; nr];
    let t_res = best(&mut || problem.residuals(&p, &mut r));
    let gflop = 2.0 * nr as f64 * (np as f64).powi(2) / 1e9;
    println!(
        "  one iteration at P = {np}, N = {nr}: jacobian {:.3} s, JᵀJ {:.3} s ({gflop:.1} GFLOP, {:.1} GFLOP/s), \
         blocked JᵀJ sequential {:.3} s, parallel (used) {:.3} s, cholesky solve {:.3} s, residuals {:.4} s",
        t_jac,
        t_mm,
        gflop / t_mm,
        t_seq,
        t_blocked,
        t_solve,
        t_res
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<(usize, usize, usize)> = args
        .first()
        .map_or("20,10,5:30,20,10:50,30,15", String::as_str)
        .split(':')
        .map(|s| {
            let v: Vec<usize> = s
                .split(',')
                .map(|x| x.parse().expect("size: d,m0,m1"))
                .collect();
            (v[0], v[1], v[2])
        })
        .collect();
    let teachers: u64 = args.get(1).map_or(1, |s| s.parse().expect("teachers"));
    let seed: u64 = args.get(2).map_or(1, |s| s.parse().expect("seed"));
    let la = Linalg::default_backend().expect("a compiled backend");
    println!(
        "backend {}, rayon threads {}",
        la.name(),
        rayon::current_num_threads()
    );
    for (d, m0, m1) in sizes {
        println!("size (d, m0, m1) = ({d}, {m0}, {m1})");
        {
            let net = teacher(d, m0, m1, seed);
            let fx = points(d, 4 * net.num_params(), 1000 + seed);
            iteration_parts(
                la,
                &net,
                &FitData::new(fx.clone(), net.values(&fx)).expect("fit data"),
            );
        }
        for t in 0..teachers {
            let net = teacher(d, m0, m1, seed + t);
            let n = 4 * net.num_params();
            let fx = points(d, n, 1000 + seed + t);
            let vx = points(d, 500, 2000 + seed + t);
            let fit = FitData::new(fx.clone(), net.values(&fx)).expect("fit data");
            let val = FitData::new(vx.clone(), net.values(&vx)).expect("validation data");
            let span = la.qr(net.a()).expect("qr").q;
            let cfg = RouteGConfig::default().with_seed(seed + t);
            let clock = Instant::now();
            let rep = route_g_fit(
                la,
                &span,
                m1,
                Activation::Tanh,
                Activation::Tanh,
                &fit,
                &val,
                &cfg,
            )
            .expect("route G");
            let secs = clock.elapsed().as_secs_f64();
            let iters: usize = rep.starts.iter().map(|s| s.iterations).sum();
            let stages: Vec<String> = rep
                .fit
                .stages
                .iter()
                .map(|s| format!("{} {}", s.name, s.lm.iterations))
                .collect();
            println!(
                "  teacher {}: {:.1} s, {} start(s), {iters} LM iterations ({:.3} s/iteration; last start: {}), \
                 certified {}, validation {:.1e}, worst a_i error {:.1e}",
                seed + t,
                secs,
                rep.starts.len(),
                secs / iters.max(1) as f64,
                stages.join(", "),
                rep.certified,
                rep.validation_error,
                worst_a_error(&net, &rep.network)
            );
        }
    }
}
