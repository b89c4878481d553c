//! The evidence route G's width decisions rest on, on degraded oracles (issue 10), for
//! generic teachers of one size:
//! - `span`: per teacher (seeds 1–4), the gradient span's spectrum around m0 at the
//!   noise-adapted step, next to the predicted finite-difference error (for one σ at every
//!   point, and point by point as the route decides)
//!   ([`nnid_fd_hessian::gradient_span_of_unknown_width`] without the decision);
//! - `fit M,…`: for teacher 1 and each trial width m, route G's fit from `STARTS` starts with
//!   the search's plateau stop: validation error, whether it certified, and the
//!   independence of the second-layer outputs ([`nnid_bias_fit::fit_width`]).
//!
//! `cargo run --release -p nnid --example width_evidence -- D M0 M1 tanh|sigmoid float32|SIGMA span [STEP_FACTOR]`
//! (STEP_FACTOR multiplies the noise-adapted step: what a larger step would show)
//! `cargo run --release -p nnid --example width_evidence -- D M0 M1 tanh|sigmoid float32|SIGMA fit 9,10,12 [STARTS]`

use nnid::experiment::route::OracleParams;
use nnid::noise::{NoiseFloor, estimate_noise_floor, noise_threshold};
use nnid_bias_fit::fit_width::{FitWidthSearch, output_independence};
use nnid_bias_fit::lm::Plateau;
use nnid_bias_fit::{FitData, RouteGConfig, gaussian_points, route_g_fit};
use nnid_fd_hessian::{GradientSpan, PointNoise, predicted_noise};
use nnid_fd_hessian::{GradientStencil, SpanConfig, gradient_span, noise_adapted_step};
use nnid_linalg::Linalg;
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Activation, Oracle};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// All d + 5 gradients at the noise-adapted step, undecided; with the predicted error for
/// one σ at every point and point by point (as the route decides).
fn full_span(
    la: Linalg<'_>,
    (oracle, step_factor): (&dyn Oracle, f64),
    floor: &NoiseFloor,
    seed: u64,
) -> Res<(GradientSpan, [f64; 2])> {
    let d = oracle.input_dim();
    let eps = step_factor * noise_adapted_step(floor.relative_to_spread());
    let cfg = SpanConfig::new(d)
        .with_n_grad(d + 5)
        .with_stencil(GradientStencil::Central { eps });
    let span = gradient_span(la, oracle, &cfg, seed)?;
    let per_point = floor.point_noise();
    let sigmas = |noise: PointNoise| -> Vec<f64> {
        span.value_scales.iter().map(|&v| noise.at(v)).collect()
    };
    let uniform = predicted_noise(&sigmas(PointNoise::uniform(floor.absolute)), eps, d);
    let point_by_point = predicted_noise(&sigmas(per_point), eps, d);
    Ok((span, [uniform, point_by_point]))
}

fn fit_widths(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    act: Activation,
    floor: &NoiseFloor,
    (m0, widths, starts): (usize, &[usize], usize),
) -> Res<()> {
    let (span, _) = full_span(la, (oracle, 1.0), floor, 1)?;
    let basis = span.basis.leading_columns(m0);
    let d = oracle.input_dim();
    let data = |n, seed| -> Res<FitData> {
        let x = gaussian_points(d, n, act.width(), seed);
        let v = oracle.query(&x)?;
        Ok(FitData::new(x, v)?)
    };
    let (fit, val) = (data(4 * (d * m0 + m0 * m0 + 2 * m0), 2)?, data(500, 3)?);
    let search = FitWidthSearch::default();
    for &m in widths {
        let mut cfg = RouteGConfig {
            max_starts: starts,
            seed: 4,
            ..RouteGConfig::default()
        };
        cfg.accept_tol = noise_threshold(cfg.accept_tol, Some(floor.relative));
        cfg.fit.lm.rel_tol = cfg
            .fit
            .lm
            .rel_tol
            .max(nnid::routes::gradient::LM_NOISE_FACTOR * floor.relative);
        cfg.fit.lm.plateau = Some(Plateau {
            window: search.plateau_window,
            tol: 0.01,
        });
        let t = Instant::now();
        let r = route_g_fit(la, &basis, m, act, act, &fit, &val, &cfg)?;
        let independence = output_independence(la, &r.network, val.points())?;
        println!(
            "m {m:2}: certified {} validation {:.2e} (threshold {:.1e}), independence {independence:.1e}, {} starts, {:.1} s",
            r.certified,
            r.validation_error,
            cfg.accept_tol,
            r.starts.len(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> Res<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 6 {
        return Err(
            "usage: width_evidence D M0 M1 tanh|sigmoid float32|SIGMA span|fit [WIDTHS [STARTS]]"
                .into(),
        );
    }
    let (d, m0, m1): (usize, usize, usize) = (a[0].parse()?, a[1].parse()?, a[2].parse()?);
    let act = if a[3] == "sigmoid" {
        Activation::Sigmoid
    } else {
        Activation::Tanh
    };
    let params = match a[4].as_str() {
        "float32" => OracleParams {
            float32: true,
            noise: 0.0,
        },
        s => OracleParams {
            float32: false,
            noise: s.parse()?,
        },
    };
    let la = nnid_linalg::BackendKind::default_compiled()
        .ok_or("no backend")?
        .linalg()?;
    let seeds = if a[5] == "span" { 1..=4 } else { 1..=1 };
    // `span FACTOR`: the step times FACTOR (what a larger step would show; the route uses 1).
    let step_factor: f64 = match (a[5].as_str(), a.get(6)) {
        ("span", Some(f)) => f.parse()?,
        _ => 1.0,
    };
    for seed in seeds {
        let teacher = TeacherConfig::new(d, m0, m1)
            .activation(act)
            .seed(seed)
            .generate()?;
        let oracle = params.build(&teacher, seed)?;
        let floor = estimate_noise_floor(oracle.as_ref(), 48, act.width(), seed)?;
        if a[5] == "fit" {
            let widths: Vec<usize> = a
                .get(6)
                .ok_or("fit needs widths")?
                .split(',')
                .map(str::parse)
                .collect::<Result<_, _>>()?;
            let starts = a.get(7).map_or(Ok(1), |s| s.parse())?;
            return fit_widths(la, oracle.as_ref(), act, &floor, (m0, &widths, starts));
        }
        let (span, pred) = full_span(la, (oracle.as_ref(), step_factor), &floor, seed)?;
        let s = &span.singular_values;
        let near: Vec<String> = (m0.saturating_sub(2)..(m0 + 2).min(d))
            .map(|k| format!("s_{} {:.2e}", k + 1, s[k]))
            .collect();
        let largest_noise = s.get(m0).copied().unwrap_or(0.0);
        println!(
            "seed {seed}: floor {:.1e} (spread-relative {:.1e}); predicted error {:.2e} (one σ), {:.2e} (point by point); s_(m0+1) = {:.2} / {:.2} times them, s_m0 = {:.0} / {:.0} times; {}",
            floor.absolute,
            floor.relative_to_spread(),
            pred[0],
            pred[1],
            largest_noise / pred[0],
            largest_noise / pred[1],
            s[m0 - 1] / pred[0],
            s[m0 - 1] / pred[1],
            near.join(", ")
        );
    }
    Ok(())
}
