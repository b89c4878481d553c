//! Route S's first layer on random teachers: queries and time per stage, farthest query,
//! and the error of every a_i against the truth.
//!
//! ```text
//! cargo run --release -p nnid-saturation --example first_layer -- [--act tanh|sigmoid]
//!     [--seeds 1-5] [--stencil central|forward] [--rfac 15] [--repeat N] [-v] [d,m0,m1 ...]
//! ```
//! Without sizes it runs (20,10,5) (30,20,10) (50,30,15) (100,50,25) (200,100,50).
//! "ours ms" is the wall time minus the time spent inside the oracle (the teacher's own
//! evaluation), i.e. the stage's compute; run with `RAYON_NUM_THREADS=1` so that the two
//! do not overlap. `--repeat N` reruns each teacher N times (same path) and keeps the
//! fastest times; `-v` prints discovery's per-line log.

use nnid_linalg::{BackendKind, Linalg, Mat, dot};
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Network, NetworkOracle, Oracle, OracleError};
use nnid_saturation::{
    Discovery, PolishReport, PolishStencil, SaturationConfig, SaturationError, discover,
    ridge_polish,
};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Times every call of the inner oracle.
struct Timed {
    inner: NetworkOracle,
    spent: Mutex<Duration>,
}

impl Oracle for Timed {
    fn input_dim(&self) -> usize {
        self.inner.input_dim()
    }
    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        let t = Instant::now();
        let r = self.inner.query(points);
        *self.spent.lock().expect("timer lock") += t.elapsed();
        r
    }
    fn queries(&self) -> u64 {
        self.inner.queries()
    }
}

impl Timed {
    fn take(&self) -> Duration {
        std::mem::take(&mut *self.spent.lock().expect("timer lock"))
    }
}

/// max_i min_j min_± ‖â_j ∓ a_i‖ and the matching max |θ̂ − θ| (sign-matched).
fn errors(a: &Mat, theta: &[f64], truth_a: &Mat, truth_theta: &[f64]) -> (f64, f64) {
    let mut worst_a = 0.0_f64;
    let mut worst_t = 0.0_f64;
    for (ai, &ti) in truth_a.columns().zip(truth_theta) {
        let (best, bt) = a
            .columns()
            .zip(theta)
            .map(|(aj, &tj)| {
                let s = dot(aj, ai).signum();
                let e = aj
                    .iter()
                    .zip(ai)
                    .map(|(x, y)| (x - s * y).powi(2))
                    .sum::<f64>()
                    .sqrt();
                (e, (tj - s * ti).abs())
            })
            .fold((f64::INFINITY, f64::INFINITY), |b, c| {
                if c.0 < b.0 { c } else { b }
            });
        worst_a = worst_a.max(best);
        worst_t = worst_t.max(bt);
    }
    (worst_a, worst_t)
}

/// One discovery + polish with wall and own-compute times.
struct Run {
    disc: Discovery,
    pol: PolishReport,
    disc_wall: Duration,
    disc_ours: Duration,
    pol_wall: Duration,
    pol_ours: Duration,
}

fn run_once(
    la: Linalg<'_>,
    net: &Network,
    m0: usize,
    act: Activation,
    cfg: &SaturationConfig,
    seed: u64,
) -> Result<Run, String> {
    let oracle = Timed {
        inner: NetworkOracle::new(net.clone()),
        spent: Mutex::new(Duration::ZERO),
    };
    let t0 = Instant::now();
    let disc = discover(la, &oracle, Some(m0), act, cfg, seed).map_err(|e| {
        let mut msg = format!("discovery failed: {e}");
        if let SaturationError::Incomplete { log, .. } = &e {
            for (k, l) in log.iter().enumerate() {
                msg += &format!("\n    line {k}: {l:?}");
            }
        }
        msg
    })?;
    let (disc_wall, disc_oracle) = (t0.elapsed(), oracle.take());
    let t1 = Instant::now();
    let pol = ridge_polish(la, &oracle, &disc, act, cfg, seed + 1)
        .map_err(|e| format!("polish failed: {e}"))?;
    let (pol_wall, pol_oracle) = (t1.elapsed(), oracle.take());
    assert_eq!(
        disc.queries + pol.queries,
        oracle.queries(),
        "every query counted"
    );
    Ok(Run {
        disc,
        pol,
        disc_wall,
        disc_ours: disc_wall.saturating_sub(disc_oracle),
        pol_wall,
        pol_ours: pol_wall.saturating_sub(pol_oracle),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut act = Activation::Tanh;
    let mut seeds = 1..=5u64;
    let mut cfg = SaturationConfig::default();
    let mut sizes: Vec<(usize, usize, usize)> = Vec::new();
    let mut verbose = false;
    let mut repeat = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--act" => act = args.next().ok_or("--act needs a value")?.parse()?,
            "--seeds" => {
                let v = args.next().ok_or("--seeds needs a-b")?;
                let (a, b) = v.split_once('-').ok_or("--seeds a-b")?;
                seeds = a.parse()?..=b.parse()?;
            }
            "--stencil" => {
                cfg.polish_stencil = match args.next().as_deref() {
                    Some("forward") => PolishStencil::Forward,
                    _ => PolishStencil::Central,
                }
            }
            "-v" => verbose = true,
            "--repeat" => repeat = args.next().ok_or("--repeat needs a value")?.parse()?,
            "--rfac" => cfg.r_fac = args.next().ok_or("--rfac needs a value")?.parse()?,
            size => {
                let v: Vec<usize> = size.split(',').map(str::parse).collect::<Result<_, _>>()?;
                sizes.push((v[0], v[1], v[2]));
            }
        }
    }
    if sizes.is_empty() {
        sizes = vec![
            (20, 10, 5),
            (30, 20, 10),
            (50, 30, 15),
            (100, 50, 25),
            (200, 100, 50),
        ];
    }
    let la = BackendKind::default_compiled()
        .ok_or("no backend compiled")?
        .linalg()?;
    println!(
        "act {act}, stencil {:?}, r_fac {}, backend {}, rayon threads {}",
        cfg.polish_stencil,
        cfg.r_fac,
        la.name(),
        rayon::current_num_threads()
    );
    println!(
        "{:>14} {:>4} | {:>5} {:>6} {:>6} {:>6} | {:>7} {:>7} | {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>8} {:>8} {:>8}",
        "size",
        "seed",
        "lines",
        "disc q",
        "pol q",
        "q/P",
        "disc ms",
        "ours",
        "pol ms",
        "ours",
        "far disc",
        "far pol",
        "a err",
        "disc err",
        "θ err",
        "max corr",
        "rounds"
    );
    for &(d, m0, m1) in &sizes {
        for seed in seeds.clone() {
            let net = TeacherConfig::new(d, m0, m1)
                .activation(act)
                .seed(seed)
                .generate()?;
            let (ta, tt) = (net.a().clone(), net.theta().to_vec());
            let p = net.num_params();
            // Same seed, fresh oracle: every repeat takes the same path; keep the fastest.
            let mut runs = Vec::new();
            for _ in 0..repeat {
                match run_once(la, &net, m0, act, &cfg, seed) {
                    Ok(r) => runs.push(r),
                    Err(e) => {
                        println!("({d}, {m0}, {m1}) seed {seed}: {e}");
                        break;
                    }
                }
            }
            let Some(run) = runs.pop() else { continue };
            let fastest = |f: fn(&Run) -> Duration| runs.iter().map(f).fold(f(&run), Duration::min);
            let (disc_wall, disc_ours) = (fastest(|r| r.disc_wall), fastest(|r| r.disc_ours));
            let (pol_wall, pol_ours) = (fastest(|r| r.pol_wall), fastest(|r| r.pol_ours));
            let (disc, pol) = (&run.disc, &run.pol);
            let (disc_err, _) = errors(&disc.a, &disc.theta, &ta, &tt);
            if verbose {
                for (k, l) in disc.lines.iter().enumerate() {
                    println!("    line {k}: {l:?}");
                }
            }
            let (a_err, t_err) = errors(&pol.a, &pol.theta, &ta, &tt);
            let ms = |x: Duration| x.as_secs_f64() * 1e3;
            println!(
                "{:>14} {:>4} | {:>5} {:>6} {:>6} {:>6.2} | {:>7.2} {:>7.2} | {:>8.2} {:>8.2} {:>8.2e} {:>8.2e} | {:>8.1e} {:>8.1e} | {:>8.2} {:>8.1e} {:>8}",
                format!("({d},{m0},{m1})"),
                seed,
                disc.lines.len(),
                disc.queries,
                pol.queries,
                (disc.queries + pol.queries) as f64 / p as f64,
                ms(disc_wall),
                ms(disc_ours),
                ms(pol_wall),
                ms(pol_ours),
                disc.farthest,
                pol.farthest,
                a_err,
                disc_err,
                t_err,
                pol.max_last_correction(),
                pol.rounds,
            );
        }
    }
    Ok(())
}
