//! Measures how well the paper's step 2 recovers W = span{a_i a_iᵀ, v_l v_lᵀ}: the subspace
//! error ‖P_W − P_Ŵ‖ against the number of Hessians, the step size and the radius on the
//! standard teacher (d = 30, m0 = 20, m1 = 10, tanh, Gaussian, seed 1), the cost and error of
//! the gradient-span reduction, and per-weight distances 1 − ‖P_Ŵ(w wᵀ)‖_F on generic and on
//! well-conditioned teachers. Prints the markdown tables of docs/results/subspace-error.md.
//!
//! Run: `cargo run --release -p nnid-subspace --example subspace_error`

use nnid_fd_hessian::{SamplingConfig, SpanConfig, Stencil, gradient_span, sample_hessians};
use nnid_linalg::{BackendKind, Linalg, Mat, Op};
use nnid_nn_model::teacher::{TeacherConfig, WeightDist};
use nnid_nn_model::{Network, NetworkOracle, Oracle};
use nnid_subspace::{
    StackedSvd, SubspaceEstimator, SymSubspace, distance, lift, model_subspace, model_weights,
    principal_cosines, weight_distances,
};
use std::error::Error;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

/// One estimate and its quality.
struct Outcome {
    w_hat: SymSubspace,
    dist: f64,
    a: Vec<f64>,
    v: Vec<f64>,
    ratio_at_k: Option<f64>,
    largest_gap: usize,
    queries: u64,
    hessian_err: f64,
}

/// The Hessian source of a run.
#[derive(Clone, Copy)]
enum Source {
    /// Finite differences with this stencil.
    Fd(Stencil),
    /// The analytic Hessians of the network at the same points (no finite-difference error).
    Exact,
}

fn measure(
    la: Linalg<'_>,
    net: &Network,
    w: &SymSubspace,
    hessians: &[Mat],
    queries: u64,
    hessian_err: f64,
) -> Res<Outcome> {
    let k = net.m0() + net.m1();
    let report = StackedSvd.estimate(la, hessians, k)?;
    let (a, v) = model_weights(net);
    Ok(Outcome {
        dist: distance(la, w, &report.subspace)?,
        a: weight_distances(&report.subspace, &a)?,
        v: weight_distances(&report.subspace, &v)?,
        ratio_at_k: report.gap.ratio_at_dim,
        largest_gap: report.gap.largest_gap_dim,
        w_hat: report.subspace,
        queries,
        hessian_err,
    })
}

/// m_X Hessians on the sphere of radius r, forward/central differences or exact.
fn run(
    la: Linalg<'_>,
    net: &Network,
    w: &SymSubspace,
    source: Source,
    m_x: usize,
    radius: f64,
    seed: u64,
) -> Res<Outcome> {
    let oracle = NetworkOracle::new(net.clone());
    let config = SamplingConfig::paper(net.m0(), net.m1())
        .with_count(m_x)
        .with_radius(radius);
    let stencil = match source {
        Source::Fd(s) => s,
        Source::Exact => Stencil::forward(),
    };
    let sample = sample_hessians(la, &oracle, stencil, &config, seed)?;
    let exact: Vec<Mat> = sample.points.columns().map(|x| net.hessian(x)).collect();
    let err = mean_rel_err(&sample.hessians, &exact);
    match source {
        Source::Fd(_) => measure(la, net, w, &sample.hessians, oracle.queries(), err),
        Source::Exact => measure(la, net, w, &exact, 0, 0.0),
    }
}

/// Route: gradient span, then Hessians in the m0 reduced coordinates, lifted back.
fn run_reduced(
    la: Linalg<'_>,
    net: &Network,
    w: &SymSubspace,
    stencil: Stencil,
    m_x: usize,
    seed: u64,
) -> Res<(Outcome, f64)> {
    let oracle = NetworkOracle::new(net.clone());
    let span = gradient_span(la, &oracle, &SpanConfig::new(net.m0()), seed ^ 0xabcd)?;
    let u = &span.basis;
    let config = SamplingConfig::paper(net.m0(), net.m1())
        .with_count(m_x)
        .with_basis(u.clone());
    let sample = sample_hessians(la, &oracle, stencil, &config, seed)?;
    let exact: Vec<Mat> = sample.points.columns().map(|x| net.hessian(x)).collect();
    let err = mean_rel_err(&sample.lifted(la), &exact);
    let k = net.m0() + net.m1();
    let report = StackedSvd.estimate(la, &sample.hessians, k)?;
    let lifted = lift(la, &report.subspace, u)?;
    let (a, v) = model_weights(net);
    // sin of the largest angle between span U and span A.
    let qa = la.qr(net.a())?.q;
    let cross = la.matmul(&qa, Op::Trans, u, Op::NoTrans);
    let cos_min = la.svd(&cross)?.s.last().copied().unwrap_or(0.0).min(1.0);
    let span_angle = (1.0 - cos_min * cos_min).max(0.0).sqrt();
    let out = Outcome {
        dist: distance(la, w, &lifted)?,
        a: weight_distances(&lifted, &a)?,
        v: weight_distances(&lifted, &v)?,
        ratio_at_k: report.gap.ratio_at_dim,
        largest_gap: report.gap.largest_gap_dim,
        w_hat: lifted,
        queries: oracle.queries(),
        hessian_err: err,
    };
    Ok((out, span_angle))
}

fn mean_rel_err(fd: &[Mat], exact: &[Mat]) -> f64 {
    let s: f64 = fd
        .iter()
        .zip(exact)
        .map(|(h, e)| h.sub(e).norm_fro() / e.norm_fro())
        .sum();
    s / fd.len() as f64
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[0], s[s.len() / 2], s[s.len() - 1])
}

fn ratio(o: &Outcome) -> String {
    o.ratio_at_k.map_or("–".into(), |r| format!("{r:.3}"))
}

fn standard_teacher() -> Res<Network> {
    Ok(TeacherConfig::new(30, 20, 10).seed(1).generate()?)
}

fn main() -> Res<()> {
    let t0 = Instant::now();
    let la = Linalg::default_backend()?;
    println!(
        "backend: {} (compiled: {:?})\n",
        la.name(),
        BackendKind::compiled().collect::<Vec<_>>()
    );
    let net = standard_teacher()?;
    let w = model_subspace(la, &net)?;
    let k = net.m0() + net.m1();
    let seed = 7;

    println!("### Number of Hessians (forward ε = 1e-5, r = 1)\n");
    println!(
        "| m_X | × K | queries | ‖P_W − P_Ŵ‖ (FD) | ‖P_W − P_Ŵ‖ (exact H) | s_K/s_K+1 | largest gap at | principal-angle sines < 0.1 / < 0.5 (of K) | a: median / max 1−‖P(aaᵀ)‖ | v: median / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for mult in [0.5, 1.0, 1.5, 2.0, 4.0] {
        let m_x = (mult * k as f64).round() as usize;
        match run(la, &net, &w, Source::Fd(Stencil::forward()), m_x, 1.0, seed) {
            Ok(fd) => {
                let ex = run(la, &net, &w, Source::Exact, m_x, 1.0, seed)?;
                let (a, v) = (stats(&fd.a), stats(&fd.v));
                let sines: Vec<f64> = principal_cosines(la, &w, &fd.w_hat)?
                    .iter()
                    .map(|c| (1.0 - c * c).max(0.0).sqrt())
                    .collect();
                let below = |t: f64| sines.iter().filter(|&&x| x < t).count();
                println!(
                    "| {m_x} | {mult} | {} | {:.4} | {:.4} | {} | {} | {} / {} | {:.3} / {:.3} | {:.3} / {:.3} |",
                    fd.queries,
                    fd.dist,
                    ex.dist,
                    ratio(&fd),
                    fd.largest_gap,
                    below(0.1),
                    below(0.5),
                    a.1,
                    a.2,
                    v.1,
                    v.2
                );
            }
            Err(e) => println!("| {m_x} | {mult} | – | error: {e} | | | | | | |"),
        }
    }

    println!("\n### Step size (m_X = 2K = {}, r = 1)\n", 2 * k);
    let exact = run(la, &net, &w, Source::Exact, 2 * k, 1.0, seed)?;
    println!(
        "| stencil | ε | queries | mean rel. Hessian error | ‖P_W − P_Ŵ‖ | ‖P_Ŵexact − P_Ŵ‖ |"
    );
    println!("|---|---|---|---|---|---|");
    for stencil in [Stencil::forward(), Stencil::central()] {
        for eps in [1e-2, 1e-3, 1e-4, 1e-5, 1e-6] {
            let o = run(
                la,
                &net,
                &w,
                Source::Fd(stencil.with_eps(eps)),
                2 * k,
                1.0,
                seed,
            )?;
            let to_exact = distance(la, &exact.w_hat, &o.w_hat)?;
            println!(
                "| {} | {eps:.0e} | {} | {:.2e} | {:.4} | {:.2e} |",
                stencil.name(),
                o.queries,
                o.hessian_err,
                o.dist,
                to_exact
            );
        }
    }
    println!("| exact | – | – | 0 | {:.4} | 0 |", exact.dist);

    println!("\n### Radius (forward ε = 1e-5, m_X = 2K)\n");
    println!(
        "| r | ‖P_W − P_Ŵ‖ (FD) | ‖P_W − P_Ŵ‖ (exact H) | s_K/s_K+1 | s_K / s_1 | a: median / max | v: median / max |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in [0.1, 0.25, 0.5, 1.0, 2.0] {
        let fd = run(la, &net, &w, Source::Fd(Stencil::forward()), 2 * k, r, seed)?;
        let ex = run(la, &net, &w, Source::Exact, 2 * k, r, seed)?;
        let oracle = NetworkOracle::new(net.clone());
        let config = SamplingConfig::paper(20, 10).with_radius(r);
        let s = sample_hessians(la, &oracle, Stencil::forward(), &config, seed)?;
        let sv = StackedSvd.estimate(la, &s.hessians, k)?.singular_values;
        let (a, v) = (stats(&fd.a), stats(&fd.v));
        println!(
            "| {r} | {:.4} | {:.4} | {} | {:.2e} | {:.3} / {:.3} | {:.3} / {:.3} |",
            fd.dist,
            ex.dist,
            ratio(&fd),
            sv[k - 1] / sv[0],
            a.1,
            a.2,
            v.1,
            v.2
        );
    }

    println!("\n### Gradient-span reduction (m_X = 2K, r = 1)\n");
    println!(
        "| Hessians | queries | sin∠(span U, span A) | mean rel. Hessian error | ‖P_W − P_Ŵ‖ | ‖P_Ŵfull − P_Ŵ‖ |"
    );
    println!("|---|---|---|---|---|---|");
    for stencil in [Stencil::forward(), Stencil::central()] {
        let full = run(la, &net, &w, Source::Fd(stencil), 2 * k, 1.0, seed)?;
        let (red, angle) = run_reduced(la, &net, &w, stencil, 2 * k, seed)?;
        println!(
            "| full d×d, {} | {} | – | {:.2e} | {:.4} | 0 |",
            stencil.name(),
            full.queries,
            full.hessian_err,
            full.dist
        );
        let to_full = distance(la, &full.w_hat, &red.w_hat)?;
        println!(
            "| reduced m0×m0, {} (+ {} central gradients) | {} | {angle:.1e} | {:.2e} | {:.4} | {to_full:.1e} |",
            stencil.name(),
            net.m0() + 5,
            red.queries,
            red.hessian_err,
            red.dist
        );
    }

    println!("\n### Backends (standard teacher, forward ε = 1e-5, m_X = 2K, r = 1)\n");
    println!("| backend | ‖P_W − P_Ŵ‖ | ‖P_Ŵ − P_Ŵ(first backend)‖ |");
    println!("|---|---|---|");
    let mut first: Option<SymSubspace> = None;
    for kind in BackendKind::compiled() {
        let lb = kind.linalg()?;
        let o = run(
            lb,
            &net,
            &model_subspace(lb, &net)?,
            Source::Fd(Stencil::forward()),
            2 * k,
            1.0,
            seed,
        )?;
        let agree = first
            .as_ref()
            .map_or(Ok(0.0), |f| distance(la, f, &o.w_hat))?;
        println!("| {kind} | {:.6} | {agree:.1e} |", o.dist);
        first.get_or_insert(o.w_hat);
    }

    println!(
        "\n### Generic teachers (Gaussian A and B, θ, τ ~ U[−0.5, 0.5], tanh; forward ε = 1e-5, m_X = 2K, r = 1; seeds 1–5)\n"
    );
    println!(
        "| (d, m0, m1) | ‖P_W − P_Ŵ‖ min / median / max | a: min / median / max 1−‖P(aaᵀ)‖ | a below 1e-3 / 1e-2 | v: min / median / max | v below 1e-3 / 1e-2 |"
    );
    println!("|---|---|---|---|---|---|");
    for (d, m0, m1) in [
        (20, 10, 5),
        (30, 20, 10),
        (40, 20, 10),
        (30, 30, 10),
        (50, 30, 15),
    ] {
        let (mut dists, mut all_a, mut all_v) = (Vec::new(), Vec::new(), Vec::new());
        for s in 1..=5 {
            let t = TeacherConfig::new(d, m0, m1).seed(s).generate()?;
            let wt = model_subspace(la, &t)?;
            let o = run(
                la,
                &t,
                &wt,
                Source::Fd(Stencil::forward()),
                2 * (m0 + m1),
                1.0,
                100 + s,
            )?;
            dists.push(o.dist);
            all_a.extend(o.a);
            all_v.extend(o.v);
        }
        let (dd, a, v) = (stats(&dists), stats(&all_a), stats(&all_v));
        let below = |x: &[f64]| {
            let n = |t: f64| x.iter().filter(|&&e| e < t).count();
            format!("{} / {} of {}", n(1e-3), n(1e-2), x.len())
        };
        println!(
            "| ({d}, {m0}, {m1}) | {:.3} / {:.3} / {:.3} | {:.1e} / {:.3} / {:.3} | {} | {:.1e} / {:.3} / {:.3} | {} |",
            dd.0,
            dd.1,
            dd.2,
            a.0,
            a.1,
            a.2,
            below(&all_a),
            v.0,
            v.1,
            v.2,
            below(&all_v)
        );
    }

    println!(
        "\n### Well-conditioned regime (perturbed-orthogonal A, eps = 0.1; θ, τ ~ U[−0.05, 0.05]; tanh; m_X = 2K; seeds 1–4)\n"
    );
    println!(
        "| (d, m0, m1) | r | stencil | ‖P_W − P_Ŵ‖ max | a: median / max 1−‖P(aaᵀ)‖ | ‖B_i·‖ of the worst a_i | v: median / max |"
    );
    println!("|---|---|---|---|---|---|---|");
    let sizes = [(12, 6, 1), (30, 10, 1), (30, 10, 3), (30, 20, 10)];
    for (d, m0, m1) in sizes {
        for r in [0.1, 0.2, 0.3] {
            let sources: &[(&str, Source)] = if m1 == 1 {
                &[
                    ("forward 1e-5", Source::Fd(Stencil::forward())),
                    ("central 1e-3", Source::Fd(Stencil::central())),
                    ("exact", Source::Exact),
                ]
            } else {
                &[("forward 1e-5", Source::Fd(Stencil::forward()))]
            };
            for &(name, source) in sources {
                let (mut dmax, mut all_a, mut all_v) = (0.0_f64, Vec::new(), Vec::new());
                let mut worst = (0.0_f64, 0.0_f64);
                for s in 1..=4 {
                    let t = TeacherConfig::new(d, m0, m1)
                        .weights(WeightDist::PerturbedOrthogonal { eps: 0.1 })
                        .shift_range(0.05)
                        .seed(s)
                        .generate()?;
                    let wt = model_subspace(la, &t)?;
                    let o = run(la, &t, &wt, source, 2 * (m0 + m1), r, 200 + s)?;
                    dmax = dmax.max(o.dist);
                    for (i, &e) in o.a.iter().enumerate() {
                        if e > worst.0 {
                            worst = (e, t.b().row(i).iter().map(|x| x * x).sum::<f64>().sqrt());
                        }
                    }
                    all_a.extend(o.a);
                    all_v.extend(o.v);
                }
                let (a, v) = (stats(&all_a), stats(&all_v));
                println!(
                    "| ({d}, {m0}, {m1}) | {r} | {name} | {dmax:.2e} | {:.1e} / {:.1e} | {:.3} | {:.1e} / {:.1e} |",
                    a.1, a.2, worst.1, v.1, v.2
                );
            }
        }
    }
    println!(
        "\n### Tails of the well-conditioned regime ((12, 6, 1), r = 0.2, central ε = 1e-3, teacher seeds 0–59)\n"
    );
    println!("| quantile over teachers | worst a_i: 1−‖P(aaᵀ)‖ | its ‖B_i·‖ | v: 1−‖P(vvᵀ)‖ |");
    println!("|---|---|---|---|");
    let mut rows = Vec::new();
    for s in 0..60 {
        let t = TeacherConfig::new(12, 6, 1)
            .weights(WeightDist::PerturbedOrthogonal { eps: 0.1 })
            .shift_range(0.05)
            .seed(s)
            .generate()?;
        let wt = model_subspace(la, &t)?;
        let o = run(
            la,
            &t,
            &wt,
            Source::Fd(Stencil::central()),
            14,
            0.2,
            1000 + s,
        )?;
        let (i, worst) =
            o.a.iter()
                .copied()
                .enumerate()
                .fold((0, 0.0), |b, (i, e)| if e > b.1 { (i, e) } else { b });
        rows.push((worst, t.b()[(i, 0)].abs(), o.v[0]));
    }
    rows.sort_by(|x, y| x.0.total_cmp(&y.0));
    for (name, q) in [
        ("min", 0),
        ("median", 30),
        ("90 %", 54),
        ("second largest", 58),
        ("max", 59),
    ] {
        let (e, b, v) = rows[q];
        println!("| {name} | {e:.1e} | {b:.3} | {v:.1e} |");
    }
    println!("\n(total time {:.1} s)", t0.elapsed().as_secs_f64());
    Ok(())
}
