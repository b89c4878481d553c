//! Attribution accuracy of each strategy over random teachers (docs/results/attribution.md).
//!
//! For every teacher (Gaussian unit a_i and b_l, θ, τ ~ U[−0.5, 0.5]) the candidates are the
//! true vectors {a_i} ∪ {v_l(0)}, shuffled and with random signs, either exact or moved by
//! a random vector of norm δ ∈ {0.02, 0.05} and renormalised. Each strategy labels them;
//! we count the entangled weights labelled correctly (as many a_i are then wrong) and the
//! teachers split without error. The drift criterion uses [`ExactHessianProbe`]: exact
//! Hessians at 2(m0 + m1) points on a sphere of radius r around each centre, top
//! K = m0 + m1 singular vectors.
//!
//! ```text
//! cargo run --release -p nnid-attribution --example attribution_accuracy [-- --teachers N --sweep --positive-b --fd-eps E]
//! ```
//! `--teachers N`: teachers per (size, activation) cell (default 10, so 100 in all);
//! `--fd-eps E`: the probe takes forward-difference Hessians of f with step E instead of
//! exact ones;
//! `--positive-b`: all-positive second-layer weights instead of sign-balanced ones;
//! `--sweep`: also run the drift variants (centre scale, number of centres, how the
//! centres are combined, probe radius and number of Hessians).

use std::time::Instant;

use std::collections::HashMap;
use std::sync::Mutex;

use nnid_attribution::{
    Attribution, AttributionContext, CentreCombine, CorrelationCriterion, DriftConfig,
    DriftCriterion, ExactHessianProbe, Label, SubspaceProbe,
};
use nnid_linalg::sym::{SymSubspace, svec, svec_len};
use nnid_linalg::{Linalg, Mat, normalize};
use nnid_nn_model::teacher::{BSigns, TeacherConfig};
use nnid_nn_model::{Activation, Network};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

const SIZES: [(usize, usize, usize); 5] = [
    (20, 10, 5),
    (30, 20, 10),
    (40, 20, 10),
    (30, 30, 10),
    (50, 30, 15),
];
const NOISES: [f64; 3] = [0.0, 0.02, 0.05];

/// One strategy under test: the attribution and the probe its context uses (radius, and
/// m_X as a multiple of K = m0 + m1).
struct Variant {
    label: String,
    strategy: Box<dyn Attribution>,
    probe_radius: f64,
    probe_points: f64,
}

/// Like [`ExactHessianProbe`], but with forward-difference Hessians of `f` (paper-spec §2,
/// step `eps`, (d + 1)(d + 2)/2 evaluations each) instead of exact ones.
struct ForwardDifferenceProbe {
    net: Network,
    eps: f64,
    radius: f64,
    points: usize,
    k: usize,
}

impl SubspaceProbe for ForwardDifferenceProbe {
    fn subspace_at(
        &self,
        la: Linalg<'_>,
        centre: &[f64],
        seed: u64,
    ) -> nnid_attribution::Result<SymSubspace> {
        let d = centre.len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let xs: Vec<Vec<f64>> = (0..self.points)
            .map(|_| {
                let mut u: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
                normalize(&mut u);
                u.iter()
                    .zip(centre)
                    .map(|(ui, ci)| ci + self.radius * ui)
                    .collect()
            })
            .collect();
        let f = |x: &[f64], i: Option<usize>, j: Option<usize>| {
            let mut y = x.to_vec();
            i.into_iter().chain(j).for_each(|k| y[k] += self.eps);
            self.net.value(&y)
        };
        let cols: Vec<Vec<f64>> = xs
            .par_iter()
            .map(|x| {
                let f0 = f(x, None, None);
                let fi: Vec<f64> = (0..d).map(|i| f(x, Some(i), None)).collect();
                let mut h = Mat::zeros(d, d);
                for i in 0..d {
                    for j in i..d {
                        let v =
                            (f(x, Some(i), Some(j)) - fi[i] - fi[j] + f0) / (self.eps * self.eps);
                        h[(i, j)] = v;
                        h[(j, i)] = v;
                    }
                }
                svec(&h)
            })
            .collect();
        let top = la.svd_top_k(&Mat::from_columns(svec_len(d), &cols), self.k)?;
        Ok(SymSubspace::from_orthonormal(d, top.u))
    }
}

/// A probe that remembers its subspaces, so the three candidate sets of a teacher share
/// them (the centres and seeds do not depend on the candidates).
struct CachedProbe {
    inner: Box<dyn SubspaceProbe>,
    cache: Mutex<HashMap<(Vec<u64>, u64), SymSubspace>>,
}

impl SubspaceProbe for CachedProbe {
    fn subspace_at(
        &self,
        la: Linalg<'_>,
        centre: &[f64],
        seed: u64,
    ) -> nnid_attribution::Result<SymSubspace> {
        let key = (centre.iter().map(|x| x.to_bits()).collect(), seed);
        if let Some(s) = self
            .cache
            .lock()
            .map_err(|_| "poisoned")
            .ok()
            .and_then(|c| c.get(&key).cloned())
        {
            return Ok(s);
        }
        let s = self.inner.subspace_at(la, centre, seed)?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, s.clone());
        }
        Ok(s)
    }
}

/// Counts for one (variant, cell, noise).
#[derive(Clone, Copy)]
struct Tally {
    teachers: usize,
    perfect: usize,
    v_total: usize,
    v_right: usize,
    secs: f64,
    /// The smallest gap between the two groups' scores (towards the right side: positive
    /// means a threshold would separate them).
    worst_gap: f64,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            teachers: 0,
            perfect: 0,
            v_total: 0,
            v_right: 0,
            secs: 0.0,
            worst_gap: f64::INFINITY,
        }
    }
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.worst_gap = self.worst_gap.min(o.worst_gap);
        self.teachers += o.teachers;
        self.perfect += o.perfect;
        self.v_total += o.v_total;
        self.v_right += o.v_right;
        self.secs += o.secs;
    }
    fn cell(&self) -> String {
        format!(
            "{:.3} / {:.2}",
            self.v_right as f64 / self.v_total as f64,
            self.perfect as f64 / self.teachers as f64
        )
    }
}

fn variants(sweep: bool) -> Vec<Variant> {
    let drift = |config: DriftConfig, probe_radius: f64, probe_points: f64| Variant {
        label: format!(
            "drift ({} centres, scale {}, {:?}; r {probe_radius}, m_X {probe_points}K)",
            config.centres, config.centre_scale, config.combine
        ),
        strategy: Box::new(DriftCriterion::new(config)),
        probe_radius,
        probe_points,
    };
    let def = DriftConfig::default();
    let mut out = vec![
        Variant {
            label: "correlation (paper)".into(),
            strategy: Box::new(CorrelationCriterion),
            probe_radius: 1.0,
            probe_points: 2.0,
        },
        drift(def.clone(), 1.0, 2.0),
    ];
    if sweep {
        let with = |centres, centre_scale, combine| DriftConfig {
            centres,
            centre_scale,
            combine,
        };
        use CentreCombine::{Max, Mean};
        for (config, r, mx) in [
            (with(1, 1.0, Max), 1.0, 2.0),
            (with(3, 1.0, Mean), 1.0, 2.0),
            (with(10, 1.0, Mean), 1.0, 2.0),
            (with(10, 3.0, Mean), 1.0, 2.0),
            (with(10, 1.0, Max), 1.0, 2.0),
            (with(10, 2.0, Max), 1.0, 2.0),
            (with(10, 4.0, Max), 1.0, 2.0),
            (with(3, 3.0, Max), 1.0, 2.0),
            (with(5, 3.0, Max), 1.0, 2.0),
            (with(8, 3.0, Max), 1.0, 2.0),
            (with(10, 3.0, Max), 0.3, 2.0),
            (with(10, 3.0, Max), 1.0, 1.0),
            (with(10, 3.0, Max), 1.0, 0.5),
        ] {
            out.push(drift(config, r, mx));
        }
    }
    out
}

/// The candidates of one teacher: columns of {a_i} ∪ {v_l(0)}, shuffled, random signs, each
/// moved by a random vector of norm `noise` and renormalised; and which are entangled.
fn candidates(net: &Network, noise: f64, rng: &mut ChaCha8Rng) -> (Mat, Vec<bool>) {
    let d = net.input_dim();
    let v = net.entangled_weights(&vec![0.0; d]);
    let mut cols: Vec<(Vec<f64>, bool)> = net.a().columns().map(|c| (c.to_vec(), false)).collect();
    cols.extend(v.columns().map(|c| (c.to_vec(), true)));
    cols.shuffle(rng);
    let mut mats = Vec::with_capacity(cols.len());
    let mut is_v = Vec::with_capacity(cols.len());
    for (mut w, ent) in cols {
        let mut eta: Vec<f64> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
        normalize(&mut eta);
        let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
        w.iter_mut()
            .zip(&eta)
            .for_each(|(x, e)| *x = sign * (*x + noise * e));
        normalize(&mut w);
        mats.push(w);
        is_v.push(ent);
    }
    (Mat::from_columns(d, &mats), is_v)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let sweep = args.iter().any(|a| a == "--sweep");
    let fd_eps: Option<f64> = match args.iter().position(|a| a == "--fd-eps") {
        Some(i) => Some(args.get(i + 1).ok_or("--fd-eps needs a step")?.parse()?),
        None => None,
    };
    let b_signs = if args.iter().any(|a| a == "--positive-b") {
        BSigns::Positive
    } else {
        BSigns::Balanced
    };
    let teachers: usize = match args.iter().position(|a| a == "--teachers") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--teachers needs a number")?
            .parse()?,
        None => 10,
    };
    let la = Linalg::default_backend()?;
    let variants = variants(sweep);
    let cells: Vec<((usize, usize, usize), Activation)> = SIZES
        .iter()
        .flat_map(|&s| Activation::ALL.map(|g| (s, g)))
        .collect();
    let start = Instant::now();
    // tallies[variant][cell][noise]
    let mut tallies = vec![vec![[Tally::default(); 3]; cells.len()]; variants.len()];
    for (ci, &((d, m0, m1), g)) in cells.iter().enumerate() {
        let per_teacher: Vec<Vec<[Tally; 3]>> = (0..teachers)
            .into_par_iter()
            .map(|t| -> Result<Vec<[Tally; 3]>, String> {
                let seed = 1000 * ci as u64 + t as u64;
                let net = TeacherConfig::new(d, m0, m1)
                    .activation(g)
                    .b_signs(b_signs)
                    .seed(seed)
                    .generate()
                    .map_err(|e| e.to_string())?;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let sets: Vec<(Mat, Vec<bool>)> = NOISES
                    .iter()
                    .map(|&eps| candidates(&net, eps, &mut rng))
                    .collect();
                variants
                    .iter()
                    .map(|v| {
                        let k = m0 + m1;
                        let points = ((v.probe_points * k as f64).round() as usize).max(1);
                        let inner: Box<dyn SubspaceProbe> = match fd_eps {
                            Some(eps) => Box::new(ForwardDifferenceProbe {
                                net: net.clone(),
                                eps,
                                radius: v.probe_radius,
                                points,
                                k: k.min(points),
                            }),
                            None => {
                                let mut p =
                                    ExactHessianProbe::new(net.clone()).with_radius(v.probe_radius);
                                p.points = Some(points);
                                p.k = Some(k.min(points));
                                Box::new(p)
                            }
                        };
                        let probe = CachedProbe {
                            inner,
                            cache: Mutex::new(HashMap::new()),
                        };
                        let ctx = AttributionContext::new(seed)
                            .with_probe(&probe)
                            .with_activation(g);
                        let mut row = [Tally::default(); 3];
                        for (k, (cands, is_v)) in sets.iter().enumerate() {
                            let t0 = Instant::now();
                            let rep = v
                                .strategy
                                .attribute(la, cands, m0, m1, &ctx)
                                .map_err(|e| e.to_string())?;
                            let v_right = rep.entangled.iter().filter(|&&j| is_v[j]).count();
                            let side = |want_v: bool| {
                                rep.scores
                                    .iter()
                                    .zip(is_v)
                                    .filter(move |(_, v)| **v == want_v)
                                    .map(|(s, _)| *s)
                            };
                            let (hi, lo) = match rep.high_score_means {
                                Label::FirstLayer => (false, true),
                                Label::Entangled => (true, false),
                            };
                            let worst_gap = side(hi).fold(f64::INFINITY, f64::min)
                                - side(lo).fold(f64::NEG_INFINITY, f64::max);
                            row[k] = Tally {
                                teachers: 1,
                                perfect: usize::from(v_right == m1),
                                v_total: m1,
                                v_right,
                                secs: t0.elapsed().as_secs_f64(),
                                worst_gap,
                            };
                        }
                        Ok(row)
                    })
                    .collect()
            })
            .collect::<Result<_, String>>()?;
        for row in per_teacher {
            for (vi, r) in row.iter().enumerate() {
                for k in 0..3 {
                    tallies[vi][ci][k].add(r[k]);
                }
            }
        }
        eprintln!(
            "cell {}/{} done after {:.1} s",
            ci + 1,
            cells.len(),
            start.elapsed().as_secs_f64()
        );
    }

    println!(
        "Entries: share of entangled weights labelled correctly / share of teachers split without error."
    );
    println!(
        "{teachers} teachers per (size, activation) cell, {} in all; B {b_signs:?}.",
        teachers * cells.len()
    );
    match fd_eps {
        Some(eps) => println!("Probe: forward-difference Hessians, step {eps:e}."),
        None => println!("Probe: exact Hessians."),
    }
    println!(
        "Worst gap: over all teachers, the smallest (lowest first-layer score − highest entangled"
    );
    println!(
        "score), signs flipped for the correlation score; positive = a threshold separates them.\n"
    );
    println!("## Overall\n");
    println!("| strategy | exact | δ = 0.02 | δ = 0.05 | worst gap (exact) | s per teacher |");
    println!("|---|---|---|---|---|---|");
    for (vi, v) in variants.iter().enumerate() {
        let mut tot = [Tally::default(); 3];
        for cell in &tallies[vi] {
            for k in 0..3 {
                tot[k].add(cell[k]);
            }
        }
        let secs = tot.iter().map(|t| t.secs).sum::<f64>() / tot[0].teachers as f64;
        println!(
            "| {} | {} | {} | {} | {:.3} | {secs:.3} |",
            v.label,
            tot[0].cell(),
            tot[1].cell(),
            tot[2].cell(),
            tot[0].worst_gap
        );
    }
    for (vi, v) in variants.iter().enumerate().take(2) {
        println!("\n## {}\n", v.label);
        println!(
            "| (d, m0, m1) | activation | exact | δ = 0.02 | δ = 0.05 | worst gap (exact / δ = 0.05) |"
        );
        println!("|---|---|---|---|---|---|");
        for (ci, &((d, m0, m1), g)) in cells.iter().enumerate() {
            let t = &tallies[vi][ci];
            println!(
                "| ({d}, {m0}, {m1}) | {} | {} | {} | {} | {:.3} / {:.3} |",
                g.name(),
                t[0].cell(),
                t[1].cell(),
                t[2].cell(),
                t[0].worst_gap,
                t[2].worst_gap
            );
        }
    }
    eprintln!("total {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
