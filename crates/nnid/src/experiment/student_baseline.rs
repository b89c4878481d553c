//! The baseline a user gets without nnid: a student network of the teacher's shape,
//! `f̂(x) = Σ_l h(b_lᵀ g(Aᵀx + θ) + τ_l)`, trained by gradient descent on random queries
//! (paper-spec §8, issue 7).
//!
//! Training: **plain Adam** (β₁ = 0.9, β₂ = 0.999, full batch) on the **unpenalised** mean
//! squared error `L = (1/2N) Σ_n (f̂(x_n) − y_n)²` over N queries x_n uniform in the unit ball
//! (the ball the test error is measured on, the most favourable choice for the student),
//! with the step size decayed from `learning_rate` to `learning_rate/100` by a cosine
//! schedule; several random starts, the one with the lowest training loss is kept. Starts:
//! random unit columns a_i and b_l (the teacher class's normalisation), θ = τ = 0. The
//! output scales of [`StudentModel`] stay at 1 (a plain network). The forward and backward
//! passes are five matrix products per step through the backend:
//!
//! ```text
//! Y = AᵀX + θ,  G = g(Y),  Z = BᵀG + τ,  f̂ = Σ_l h(Z_l·),  r = f̂ − y
//! ∂Z = h'(Z) ⊙ r/N,  ∇B = G ∂Zᵀ,  ∇τ = ∂Z 1,  ∂Y = g'(Y) ⊙ (B ∂Z),  ∇A = X ∂Yᵀ,  ∇θ = ∂Y 1
//! ```

use super::{ExperimentError, timed};
use crate::metrics::{function_error, match_weights, uniform_ball};
use nnid_bias_fit::{FitData, StudentModel};
use nnid_linalg::{Linalg, Mat, Op, normalize};
use nnid_nn_model::{Activation, Network, NetworkOracle, Oracle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

fn default_restarts() -> usize {
    3
}

fn default_steps() -> usize {
    2000
}

fn default_learning_rate() -> f64 {
    1e-2
}

fn default_test_points() -> usize {
    100_000
}

/// Settings of a `student` trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudentParams {
    /// Training queries N (the same number the method it is compared with used).
    pub queries: usize,
    /// Random starts.
    #[serde(default = "default_restarts")]
    pub restarts: usize,
    /// Adam steps per start (full batch).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// Initial step size.
    #[serde(default = "default_learning_rate")]
    pub learning_rate: f64,
    /// Test points uniform in the unit ball.
    #[serde(default = "default_test_points")]
    pub test_points: usize,
}

impl StudentParams {
    /// `queries` training queries, default training settings.
    pub fn new(queries: usize) -> Self {
        Self {
            queries,
            restarts: default_restarts(),
            steps: default_steps(),
            learning_rate: default_learning_rate(),
            test_points: default_test_points(),
        }
    }
}

/// The result of a `student` trial.
#[derive(Clone, Debug, Serialize)]
pub struct StudentResult {
    /// Wall time of the training (all starts).
    pub seconds: f64,
    /// Training queries.
    pub queries: usize,
    /// The start kept.
    pub best_start: usize,
    /// Final training loss of each start, as the relative misfit `‖f̂(X) − y‖/‖y‖`.
    pub train_misfit: Vec<f64>,
    /// Relative L2 error of the kept student in the unit ball.
    pub rel_l2: f64,
    /// Relative sup error there.
    pub rel_sup: f64,
    /// a_i within 1e-4 up to sign (after normalising the student's columns).
    pub a_found: usize,
    /// Largest a_i error.
    pub a_max_error: f64,
    /// Success by the criterion of issue 7.
    pub success: bool,
}

/// Adam's state for one parameter vector.
struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    fn new(n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    fn step(&mut self, p: &mut [f64], grad: &[f64], lr: f64) {
        self.t += 1;
        let (c1, c2) = (
            1.0 - Self::BETA1.powi(self.t),
            1.0 - Self::BETA2.powi(self.t),
        );
        for (((p, g), m), v) in p.iter_mut().zip(grad).zip(&mut self.m).zip(&mut self.v) {
            *m = Self::BETA1 * *m + (1.0 - Self::BETA1) * g;
            *v = Self::BETA2 * *v + (1.0 - Self::BETA2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + Self::EPS);
        }
    }
}

/// The loss and its gradient in the layout of [`StudentModel::params`] (output scales get
/// a zero gradient: they stay at 1).
fn loss_and_gradient(la: Linalg<'_>, model: &StudentModel, data: &FitData) -> (f64, Vec<f64>) {
    let (x, y) = (data.points(), data.values());
    let n = y.len();
    let (m0, m1) = (model.theta.len(), model.tau.len());
    // The elementwise passes cost one tanh/logistic per entry and dominate the step: they
    // run in parallel over points (columns), each entry's value and slope from one call.
    let mut pre1 = la.matmul(&model.a, Op::Trans, x, Op::NoTrans);
    let mut g1 = Mat::zeros(m0, n);
    pre1.as_mut_slice()
        .par_chunks_mut(m0)
        .zip(g1.as_mut_slice().par_chunks_mut(m0))
        .for_each(|(p, g)| {
            for ((pi, gi), theta) in p.iter_mut().zip(g.iter_mut()).zip(&model.theta) {
                let [v, d1, _, _] = model.g.derivatives(*pi + theta);
                *gi = v;
                *pi = d1;
            }
        });
    let mut pre2 = la.matmul(&model.b, Op::Trans, &g1, Op::NoTrans);
    let out: Vec<f64> = pre2
        .as_mut_slice()
        .par_chunks_mut(m1)
        .map(|z| {
            let mut sum = 0.0;
            for (zl, tau) in z.iter_mut().zip(&model.tau) {
                let [v, d1, _, _] = model.h.derivatives(*zl + tau);
                sum += v;
                *zl = d1;
            }
            sum
        })
        .collect();
    let r: Vec<f64> = out.iter().zip(y).map(|(f, y)| f - y).collect();
    let loss = 0.5 * r.iter().map(|v| v * v).sum::<f64>() / n as f64;
    // ∂Z = h'(Z) ⊙ r/N, overwriting h'(Z).
    let mut dz = pre2;
    for (k, v) in dz.as_mut_slice().iter_mut().enumerate() {
        *v *= r[k / m1] / n as f64;
    }
    let grad_b = la.matmul(&g1, Op::NoTrans, &dz, Op::Trans);
    let mut grad_tau = vec![0.0; m1];
    for (k, v) in dz.as_slice().iter().enumerate() {
        grad_tau[k % m1] += v;
    }
    let mut dy = la.matmul(&model.b, Op::NoTrans, &dz, Op::NoTrans);
    let mut grad_theta = vec![0.0; m0];
    for (k, (v, gp)) in dy
        .as_mut_slice()
        .iter_mut()
        .zip(pre1.as_slice())
        .enumerate()
    {
        *v *= gp;
        grad_theta[k % m0] += *v;
    }
    let grad_a = la.matmul(x, Op::NoTrans, &dy, Op::Trans);
    let mut grad = Vec::with_capacity(model.layout().len());
    grad.extend_from_slice(grad_a.as_slice());
    grad.extend_from_slice(&grad_theta);
    grad.extend_from_slice(grad_b.as_slice());
    grad.extend_from_slice(&grad_tau);
    grad.extend(std::iter::repeat_n(0.0, m1));
    (loss, grad)
}

fn random_unit_columns(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Mat {
    let columns: Vec<Vec<f64>> = (0..cols)
        .map(|_| {
            let mut v: Vec<f64> = (0..rows).map(|_| StandardNormal.sample(rng)).collect();
            normalize(&mut v);
            v
        })
        .collect();
    Mat::from_columns(rows, &columns)
}

/// A random start: unit columns for A and B, zero shifts, unit output scales.
pub fn random_student(
    d: usize,
    m0: usize,
    m1: usize,
    g: Activation,
    h: Activation,
    seed: u64,
) -> StudentModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = random_unit_columns(d, m0, &mut rng);
    let b = random_unit_columns(m0, m1, &mut rng);
    StudentModel {
        a,
        theta: vec![0.0; m0],
        b,
        tau: vec![0.0; m1],
        c: vec![1.0; m1],
        g,
        h,
    }
}

/// Trains one start for `steps` Adam steps; returns the model and its final loss.
pub fn train(
    la: Linalg<'_>,
    mut model: StudentModel,
    data: &FitData,
    steps: usize,
    learning_rate: f64,
) -> (StudentModel, f64) {
    let mut p = model.params();
    let mut adam = Adam::new(p.len());
    for step in 0..steps {
        let (_, grad) = loss_and_gradient(la, &model, data);
        if grad.iter().any(|g| !g.is_finite()) {
            break;
        }
        let progress = step as f64 / steps.max(1) as f64;
        let lr =
            learning_rate * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
        adam.step(&mut p, &grad, lr);
        model.set_params(&p);
    }
    let (loss, _) = loss_and_gradient(la, &model, data);
    (model, loss)
}

/// Trains the baseline on `params.queries` queries of the teacher (see the module docs).
///
/// # Errors
/// [`ExperimentError::InvalidConfig`] for zero queries or starts; oracle and model errors.
pub fn run(
    la: Linalg<'_>,
    teacher: &Network,
    params: &StudentParams,
    seed: u64,
) -> Result<StudentResult, ExperimentError> {
    if params.queries == 0 || params.restarts == 0 {
        return Err(ExperimentError::InvalidConfig {
            field: "student",
            reason: format!(
                "needs ≥ 1 query and ≥ 1 start (got {} and {})",
                params.queries, params.restarts
            ),
        });
    }
    let (d, m0, m1) = (teacher.input_dim(), teacher.m0(), teacher.m1());
    let oracle = NetworkOracle::new(teacher.clone());
    let points = uniform_ball(d, params.queries, 1.0, seed ^ 0x57D);
    let data = FitData::new(points.clone(), oracle.query(&points)?)?;
    let ((best, losses), seconds) = timed(|| {
        let mut best: Option<(StudentModel, f64, usize)> = None;
        let mut losses = Vec::with_capacity(params.restarts);
        for start in 0..params.restarts {
            let init = random_student(
                d,
                m0,
                m1,
                teacher.g(),
                teacher.h(),
                seed.wrapping_mul(31).wrapping_add(start as u64),
            );
            let (model, loss) = train(la, init, &data, params.steps, params.learning_rate);
            losses.push(data.relative_misfit(&model.values(data.points())));
            if best.as_ref().is_none_or(|b| loss < b.1) {
                best = Some((model, loss, start));
            }
        }
        (best, losses)
    });
    let (model, _, best_start) = best.ok_or_else(|| ExperimentError::InvalidConfig {
        field: "student",
        reason: "no start".into(),
    })?;
    let net = Network::new(
        model.a.clone(),
        model.theta.clone(),
        model.b.clone(),
        model.tau.clone(),
        model.g,
        model.h,
    )?;
    let test = uniform_ball(d, params.test_points, 1.0, seed ^ 0x7E57);
    let err = function_error(&net, &test, &teacher.values(&test));
    let m = match_weights(teacher.a(), net.a(), super::route::SUCCESS_WEIGHT);
    Ok(StudentResult {
        seconds,
        queries: params.queries,
        best_start,
        train_misfit: losses,
        rel_l2: err.rel_l2,
        rel_sup: err.rel_sup,
        a_found: m.found,
        a_max_error: m.max_error,
        success: m.found == m0 && err.rel_l2 < super::route::SUCCESS_REL_L2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_linalg::BackendKind;
    use nnid_nn_model::teacher::TeacherConfig;

    /// The analytic gradient against central differences of the loss, entry by entry
    /// (relative tolerance 1e-6: the differences' truncation error is O(h²) = 1e-10 times
    /// the third derivative, their rounding error ε·L/h ≈ 1e-11).
    #[test]
    fn gradient_matches_finite_differences() {
        let teacher = TeacherConfig::new(4, 3, 2).seed(5).generate().unwrap();
        let oracle = NetworkOracle::new(teacher.clone());
        let points = uniform_ball(4, 30, 1.0, 9);
        let data = FitData::new(points.clone(), oracle.query(&points).unwrap()).unwrap();
        let kinds: Vec<BackendKind> = BackendKind::compiled().collect();
        assert!(!kinds.is_empty(), "no backend compiled");
        for kind in kinds {
            let la = kind.linalg().unwrap();
            for act in Activation::ALL {
                let model = random_student(4, 3, 2, act, act, 3);
                let (_, grad) = loss_and_gradient(la, &model, &data);
                let p0 = model.params();
                let h = 1e-5;
                for k in 0..p0.len() - 2 {
                    let mut m = model.clone();
                    let mut p = p0.clone();
                    p[k] += h;
                    m.set_params(&p);
                    let (lp, _) = loss_and_gradient(la, &m, &data);
                    p[k] -= 2.0 * h;
                    m.set_params(&p);
                    let (lm, _) = loss_and_gradient(la, &m, &data);
                    let fd = (lp - lm) / (2.0 * h);
                    let scale = grad.iter().fold(0.0_f64, |s, g| s.max(g.abs()));
                    assert!(
                        (fd - grad[k]).abs() <= 1e-6 * scale,
                        "{kind} {act}: parameter {k}: analytic {} vs difference {fd}",
                        grad[k]
                    );
                }
                assert!(
                    grad[p0.len() - 2..]
                        .iter()
                        .all(|g| g.abs() < f64::MIN_POSITIVE),
                    "{kind}: output scales must get no gradient"
                );
            }
        }
    }

    /// Adam lowers the loss on a small teacher.
    #[test]
    fn training_lowers_the_loss() {
        let teacher = TeacherConfig::new(4, 3, 2).seed(2).generate().unwrap();
        let oracle = NetworkOracle::new(teacher.clone());
        let points = uniform_ball(4, 200, 1.0, 1);
        let data = FitData::new(points.clone(), oracle.query(&points).unwrap()).unwrap();
        let la = BackendKind::default_compiled().unwrap().linalg().unwrap();
        let init = random_student(4, 3, 2, Activation::Tanh, Activation::Tanh, 4);
        let (l0, _) = loss_and_gradient(la, &init, &data);
        let (_, l1) = train(la, init, &data, 300, 1e-2);
        assert!(l1 < 0.1 * l0, "loss {l0:.3e} → {l1:.3e}");
    }
}
