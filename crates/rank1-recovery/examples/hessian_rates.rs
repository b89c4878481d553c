//! Recovery rates of the rank-one stage on Hessian subspaces of random teachers (exact
//! Hessians, m_X = 2(m0 + m1) points on the sphere of radius r, Ŵ = top m0 + m1 left singular
//! vectors of the stacked svecs): the share of the a_i and of the v_l that some candidate
//! matches within 0.05 up to sign, over 10 teachers per row (seeds 0–9). Generic teachers:
//! unit Gaussian A and B, θ and τ uniform in [−0.5, 0.5], tanh (paper-spec §9).
//!
//! cargo run --release -p nnid-rank1-recovery --example hessian_rates

use nnid_linalg::sym::{SymSubspace, svec, svec_len};
use nnid_linalg::{BackendKind, Linalg, Mat};
use nnid_nn_model::teacher::{TeacherConfig, WeightDist};
use nnid_rank1_recovery::synthetic::{match_errors, random_unit_vector};
use nnid_rank1_recovery::{
    PgaConfig, ProjectedGradientAscent, Rank1Solver, SpmConfig, SubspacePowerMethod,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn hessian_span(
    la: Linalg<'_>,
    net: &nnid_nn_model::Network,
    radius: f64,
    seed: u64,
) -> SymSubspace {
    let d = net.input_dim();
    let k = net.m0() + net.m1();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cols: Vec<Vec<f64>> = (0..2 * k)
        .map(|_| {
            let x: Vec<f64> = random_unit_vector(d, &mut rng)
                .iter()
                .map(|v| v * radius)
                .collect();
            svec(&net.hessian(&x))
        })
        .collect();
    let top = la
        .svd_top_k(&Mat::from_columns(svec_len(d), &cols), k)
        .unwrap();
    SymSubspace::from_orthonormal(d, top.u)
}

fn main() {
    let la = BackendKind::Faer.linalg().unwrap();
    let po = WeightDist::PerturbedOrthogonal { eps: 0.1 };
    let rows: Vec<(&str, usize, usize, usize, WeightDist, f64, f64)> = vec![
        ("perturbed-orthogonal, |θ| ≤ 0.05", 30, 10, 1, po, 0.05, 0.1),
        ("perturbed-orthogonal, |θ| ≤ 0.05", 30, 10, 1, po, 0.05, 0.2),
        ("perturbed-orthogonal, |θ| ≤ 0.05", 30, 10, 1, po, 0.05, 0.3),
        ("perturbed-orthogonal, |θ| ≤ 0.05", 30, 10, 3, po, 0.05, 0.1),
        (
            "perturbed-orthogonal, |θ| ≤ 0.05",
            30,
            20,
            10,
            po,
            0.05,
            0.1,
        ),
        ("generic", 20, 10, 5, WeightDist::Gaussian, 0.5, 1.0),
        ("generic", 30, 20, 10, WeightDist::Gaussian, 0.5, 1.0),
        ("generic", 40, 20, 10, WeightDist::Gaussian, 0.5, 1.0),
        ("generic", 30, 30, 10, WeightDist::Gaussian, 0.5, 1.0),
        ("generic", 50, 30, 15, WeightDist::Gaussian, 0.5, 1.0),
    ];
    println!(
        "| teachers | (d, m0, m1) | r | solver | a_i within 0.05 | v_l within 0.05 | a_i within 0.3 | median Φ of candidates |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (family, d, m0, m1, dist, shift, radius) in rows {
        let spm = SubspacePowerMethod::new(SpmConfig {
            max_components: Some(m0 + m1),
            ..Default::default()
        });
        let pga = ProjectedGradientAscent::new(PgaConfig {
            max_components: Some(m0 + m1),
            ..Default::default()
        });
        for solver in [&spm as &dyn Rank1Solver, &pga] {
            let (mut a_hit, mut v_hit, mut a_near, mut a_all, mut v_all) = (0, 0, 0, 0, 0);
            let mut phis = Vec::new();
            let teachers = 10;
            for t in 0..teachers {
                let net = TeacherConfig::new(d, m0, m1)
                    .weights(dist)
                    .shift_range(shift)
                    .seed(t)
                    .generate()
                    .unwrap();
                let w = hessian_span(la, &net, radius, 1000 + t);
                let rep = solver.recover(la, &w, t).unwrap();
                let cands: Vec<Vec<f64>> =
                    rep.candidates.iter().map(|c| c.vector.clone()).collect();
                phis.extend(rep.candidates.iter().map(|c| c.objective));
                let ea = match_errors(net.a(), &cands);
                let ev = match_errors(&net.entangled_weights(&vec![0.0; d]), &cands);
                a_hit += ea.iter().filter(|&&e| e <= 0.05).count();
                a_near += ea.iter().filter(|&&e| e <= 0.3).count();
                v_hit += ev.iter().filter(|&&e| e <= 0.05).count();
                a_all += m0;
                v_all += m1;
            }
            phis.sort_by(|a, b| a.total_cmp(b));
            let med = phis.get(phis.len() / 2).copied().unwrap_or(f64::NAN);
            println!(
                "| {family} ({teachers}) | ({d}, {m0}, {m1}) | {radius} | {} | {:.0} % | {:.0} % | {:.0} % | {med:.4} |",
                solver.name(),
                100.0 * a_hit as f64 / a_all as f64,
                100.0 * v_hit as f64 / v_all as f64,
                100.0 * a_near as f64 / a_all as f64
            );
        }
    }
}
