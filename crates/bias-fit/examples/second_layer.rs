//! Queries and time of the second-layer step (spec §10.2 step 3) with the teacher's own A.
//!
//! ```text
//! cargo run --release -p nnid-bias-fit --example second_layer -- [SEEDS] [SIZES] [ACTS]
//! cargo run --release -p nnid-bias-fit --example second_layer -- 1-3 20x10x5,30x20x10 tanh,sigmoid
//! ```
//! SEEDS is `a-b` or a comma list, SIZES `dxm0xm1` comma-separated, ACTS `tanh`, `sigmoid`
//! or both; further arguments `key=value` override settings (`hessian_points`,
//! `theta_starts`, `extra_points`, `attempts`, `scan_rounds`) or choose teachers with
//! all-positive B (`positive_b=true`). One line per teacher (and one per failed attempt),
//! then a median summary per size and activation.

use nnid_bias_fit::{SecondLayerConfig, recover_second_layer, relative_error};
use nnid_linalg::{Linalg, Mat};
use nnid_nn_model::teacher::{BSigns, TeacherConfig};
use nnid_nn_model::{Activation, NetworkOracle, Oracle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::time::Instant;

/// Mixed into the teacher seed to seed the recovery.
const RECOVER_SEED: u64 = 0x5EED_0F5E_C04D;

fn parse_seeds(s: &str) -> Vec<u64> {
    if let Some((a, b)) = s.split_once('-') {
        (a.parse().expect("seed range start")..=b.parse().expect("seed range end")).collect()
    } else {
        s.split(',').map(|v| v.parse().expect("seed")).collect()
    }
}

fn parse_sizes(s: &str) -> Vec<(usize, usize, usize)> {
    s.split(',')
        .map(|t| {
            let v: Vec<usize> = t
                .split('x')
                .map(|x| x.parse().expect("size entry"))
                .collect();
            assert_eq!(v.len(), 3, "size `{t}` is not dxm0xm1");
            (v[0], v[1], v[2])
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds = parse_seeds(args.first().map_or("1-3", String::as_str));
    let sizes = parse_sizes(
        args.get(1)
            .map_or("20x10x5,30x20x10,50x30x15", String::as_str),
    );
    let acts: Vec<Activation> = args
        .get(2)
        .map_or("tanh,sigmoid", String::as_str)
        .split(',')
        .map(|a| a.parse().expect("activation"))
        .collect();
    let la = Linalg::default_backend().expect("a linear-algebra backend");
    let mut cfg = SecondLayerConfig::default();
    let mut positive_b = false;
    for kv in args.iter().skip(3) {
        let (k, v) = kv.split_once('=').expect("override `key=value`");
        match k {
            "hessian_points" => cfg.hessian_points = v.parse().expect("hessian_points"),
            "theta_starts" => cfg.theta_starts = v.parse().expect("theta_starts"),
            "extra_points" => cfg.extra_points = v.parse().expect("extra_points"),
            "attempts" => cfg.max_attempts = v.parse().expect("attempts"),
            "scan_rounds" => cfg.theta_scan_rounds = v.parse().expect("scan_rounds"),
            "positive_b" => positive_b = v.parse().expect("positive_b: true or false"),
            other => panic!("unknown setting `{other}`"),
        }
    }
    println!("# {cfg:?}");
    println!(
        "{:>12} {:>7} {:>4} | {:>6} {:>5} {:>6} {:>6} {:>6} | {:>3} {:>8} {:>6} {:>8} {:>8} {:>8} | {:>8} {:>6}",
        "size",
        "act",
        "seed",
        "grad",
        "hess",
        "polish",
        "total",
        "q/par",
        "att",
        "θ-misfit",
        "starts",
        "jennrich",
        "ident",
        "polish",
        "rel-L2",
        "s"
    );
    for &(d, m0, m1) in &sizes {
        for &act in &acts {
            let mut rows = Vec::new();
            for &seed in &seeds {
                let signs = if positive_b {
                    BSigns::Positive
                } else {
                    BSigns::Balanced
                };
                let teacher = TeacherConfig::new(d, m0, m1)
                    .activation(act)
                    .b_signs(signs)
                    .seed(seed)
                    .generate()
                    .expect("teacher");
                let oracle = NetworkOracle::new(teacher.clone());
                let t0 = Instant::now();
                // A seed of its own: the teacher's seed would draw the gradient points from the
                // very stream that drew A (x_0 ∝ a_1 before normalisation, deep in saturation).
                let rseed = seed ^ RECOVER_SEED;
                let rep =
                    recover_second_layer(la, &oracle, teacher.a(), act, act, m1, None, &cfg, rseed)
                        .expect("second layer");
                let secs = t0.elapsed().as_secs_f64();
                assert_eq!(rep.queries.total(), oracle.queries(), "query accounting");
                let mut rng = ChaCha8Rng::seed_from_u64(999);
                let pts = unit_ball(d, 10_000, &mut rng);
                let err =
                    relative_error(&rep.network, &pts, &teacher.values(&pts)).expect("rel-L2");
                let best = rep.best();
                let q = rep.queries;
                let per_param = q.total() as f64 / (m0 + m0 * m1 + m1) as f64;
                println!(
                    "{:>12} {:>7} {:>4} | {:>6} {:>5} {:>6} {:>6} {:>6.2} | {:>3} {:>8.1e} {:>6} {:>8.1e} {:>8.1e} {:>8.1e} | {:>8.1e} {:>6.2}",
                    format!("({d},{m0},{m1})"),
                    act.name(),
                    seed,
                    q.gradients,
                    q.hessians,
                    q.polish,
                    q.total(),
                    per_param,
                    rep.attempts.len(),
                    best.theta_misfit,
                    best.theta_starts,
                    best.jennrich.map_or(f64::NAN, |j| j.score),
                    best.identity_residual,
                    rep.relative_residual,
                    err,
                    secs
                );
                for (t, a) in rep
                    .attempts
                    .iter()
                    .enumerate()
                    .filter(|(t, _)| *t != rep.best_attempt)
                {
                    println!("#   attempt {t}: {a:?}");
                }
                rows.push((q.total() as f64, err, secs, rep.attempts.len()));
            }
            let n = rows.len();
            println!(
                "# ({d},{m0},{m1}) {act}: {n} teachers, rel-L2 < 1e-8: {}/{n}, median queries {:.0} (max {:.0}), median s {:.2} (max {:.2}), extra attempts {}",
                rows.iter().filter(|r| r.1 < 1e-8).count(),
                median(rows.iter().map(|r| r.0).collect()),
                rows.iter().map(|r| r.0).fold(0.0, f64::max),
                median(rows.iter().map(|r| r.2).collect()),
                rows.iter().map(|r| r.2).fold(0.0, f64::max),
                rows.iter().map(|r| r.3 - 1).sum::<usize>(),
            );
        }
    }
}

/// n points uniform in the unit ball of R^d: Gaussian direction, radius U^(1/d).
fn unit_ball(d: usize, n: usize, rng: &mut ChaCha8Rng) -> Mat {
    let mut out = Mat::zeros(d, n);
    for c in 0..n {
        let mut v: Vec<f64> = (0..d)
            .map(|_| rng.sample::<f64, _>(StandardNormal))
            .collect();
        let norm = nnid_linalg::norm2(&v);
        let r = rng.random::<f64>().powf(1.0 / d as f64);
        v.iter_mut().for_each(|x| *x *= r / norm);
        out.col_mut(c).copy_from_slice(&v);
    }
    out
}
