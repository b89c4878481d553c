//! What to measure: a [`Spec`] of grids, expanded into single [`Trial`]s.

use super::fit::FitParams;
use super::route::RouteParams;
use super::stages::StagesParams;
use super::student_baseline::StudentParams;
use crate::IdentifyError;
use nnid_nn_model::Activation;
use nnid_nn_model::teacher::{BSigns, TeacherConfig, WeightDist};
use serde::{Deserialize, Serialize};

/// One measurement to make on a teacher: a stage (or a chain of the paper's first stages),
/// a least-squares fit, a whole route, or the gradient-trained baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Experiment {
    /// The paper's steps 1–3 (Hessians, subspace, rank-one), each timed and compared with
    /// the truth.
    Stages(StagesParams),
    /// The norm-penalised Levenberg–Marquardt fit from a perturbed teacher.
    Fit(FitParams),
    /// A whole identification through [`crate::identify`].
    Route(RouteParams),
    /// A student of the teacher's shape trained by Adam on random queries.
    Student(StudentParams),
}

impl Experiment {
    /// A short label for progress lines and tables.
    pub fn label(&self) -> String {
        match self {
            Self::Stages(p) => format!(
                "stages(m_X×{}, ε={:e}, r={}{})",
                p.mx_factor,
                p.eps(),
                p.radius,
                if p.attribution { ", attribution" } else { "" }
            ),
            Self::Fit(p) => format!("fit(δ={})", p.perturbation),
            Self::Route(p) => format!("route({})", p.label()),
            Self::Student(p) => format!("student({} queries)", p.queries),
        }
    }
}

/// How the first-layer weights of a teacher are drawn (mirrors
/// [`nnid_nn_model::teacher::WeightDist`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// Unit-norm Gaussian columns.
    Gaussian,
    /// Rows of a random orthogonal matrix moved by `eps` and renormalised.
    PerturbedOrthogonal {
        /// Size of the perturbation.
        eps: f64,
    },
}

/// A teacher family: how A, B and the shifts are drawn (paper-spec §8).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Family {
    /// Distribution of A.
    pub weights: Weights,
    /// `true`: all entries of B positive; `false`: sign-balanced Gaussian B.
    pub positive_b: bool,
    /// θ, τ ~ U[−r, r] with this r.
    pub shift_range: f64,
}

impl Default for Family {
    /// The generic family: Gaussian A and B, balanced signs, shifts in [−0.5, 0.5].
    fn default() -> Self {
        Self {
            weights: Weights::Gaussian,
            positive_b: false,
            shift_range: 0.5,
        }
    }
}

impl Family {
    /// A short name: `gaussian`, `gaussian+B`, `orth0.1`, with `/r=...` when the shift
    /// range is not 0.5.
    pub fn name(&self) -> String {
        let mut s = match self.weights {
            Weights::Gaussian => "gaussian".to_string(),
            Weights::PerturbedOrthogonal { eps } => format!("orth{eps}"),
        };
        if self.positive_b {
            s.push_str("+B");
        }
        if (self.shift_range - 0.5).abs() > 1e-12 {
            s.push_str(&format!("/r={}", self.shift_range));
        }
        s
    }
}

/// One trial: an experiment on one teacher with one backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// What to measure.
    pub experiment: Experiment,
    /// (d, m0, m1).
    pub size: [usize; 3],
    /// g = h.
    pub activation: Activation,
    /// The teacher family.
    pub family: Family,
    /// The teacher's seed; the run's seed is the same number.
    pub seed: u64,
    /// The linear-algebra backend (`faer`, `nalgebra`, `lapack`).
    pub backend: String,
}

impl Trial {
    /// The key that identifies this trial in a results file (its canonical JSON): a rerun
    /// skips every trial whose key is already there.
    pub fn key(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The teacher's settings.
    pub fn teacher_config(&self) -> TeacherConfig {
        let [d, m0, m1] = self.size;
        let weights = match self.family.weights {
            Weights::Gaussian => WeightDist::Gaussian,
            Weights::PerturbedOrthogonal { eps } => WeightDist::PerturbedOrthogonal { eps },
        };
        let signs = if self.family.positive_b {
            BSigns::Positive
        } else {
            BSigns::Balanced
        };
        TeacherConfig::new(d, m0, m1)
            .activation(self.activation)
            .weights(weights)
            .b_signs(signs)
            .shift_range(self.family.shift_range)
            .seed(self.seed)
    }

    /// One line for progress: experiment, size, activation, family, seed, backend.
    pub fn label(&self) -> String {
        let [d, m0, m1] = self.size;
        format!(
            "{} ({d},{m0},{m1}) {} {} seed {} [{}]",
            self.experiment.label(),
            self.activation,
            self.family.name(),
            self.seed,
            self.backend
        )
    }
}

/// The seeds of a grid: an explicit list, or `count` consecutive seeds from `from`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Seeds {
    /// These seeds.
    List(Vec<u64>),
    /// `from, from + 1, …, from + count − 1`.
    Range {
        /// First seed.
        from: u64,
        /// How many.
        count: u64,
    },
}

impl Seeds {
    /// The seeds in order.
    pub fn to_vec(&self) -> Vec<u64> {
        match self {
            Self::List(v) => v.clone(),
            Self::Range { from, count } => (*from..from.saturating_add(*count)).collect(),
        }
    }
}

fn default_families() -> Vec<Family> {
    vec![Family::default()]
}

fn default_activations() -> Vec<Activation> {
    vec![Activation::Tanh]
}

fn default_backends() -> Vec<String> {
    vec!["faer".to_string()]
}

/// A cartesian product of settings. Trials come out in the order
/// size → family → activation → seed → experiment → backend, so the backends of one
/// (teacher, experiment) are adjacent and an interrupted run leaves whole teachers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// The experiments.
    pub experiments: Vec<Experiment>,
    /// The sizes (d, m0, m1).
    pub sizes: Vec<[usize; 3]>,
    /// The activations (g = h). Default `["tanh"]`.
    #[serde(default = "default_activations")]
    pub activations: Vec<Activation>,
    /// The teacher families. Default: the generic one.
    #[serde(default = "default_families")]
    pub families: Vec<Family>,
    /// The teacher seeds.
    pub seeds: Seeds,
    /// The backends. Default `["faer"]`.
    #[serde(default = "default_backends")]
    pub backends: Vec<String>,
}

impl Grid {
    /// The grid's trials, in the documented order.
    pub fn trials(&self) -> Vec<Trial> {
        let seeds = self.seeds.to_vec();
        let mut out = Vec::new();
        for &size in &self.sizes {
            for &family in &self.families {
                for &activation in &self.activations {
                    for &seed in &seeds {
                        for experiment in &self.experiments {
                            for backend in &self.backends {
                                out.push(Trial {
                                    experiment: experiment.clone(),
                                    size,
                                    activation,
                                    family,
                                    seed,
                                    backend: backend.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// What `nnid experiment --spec` reads: a list of grids.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// The grids, run in order.
    pub grids: Vec<Grid>,
}

impl Spec {
    /// Reads a spec from JSON text.
    ///
    /// # Errors
    /// [`IdentifyError::InvalidConfig`] naming the JSON problem.
    pub fn from_json(text: &str) -> Result<Self, IdentifyError> {
        serde_json::from_str(text).map_err(|e| IdentifyError::InvalidConfig {
            field: "spec",
            reason: e.to_string(),
        })
    }

    /// Every trial of every grid, in order, without duplicates (the first occurrence of a
    /// key wins).
    pub fn trials(&self) -> Vec<Trial> {
        let mut seen = std::collections::HashSet::new();
        self.grids
            .iter()
            .flat_map(Grid::trials)
            .filter(|t| seen.insert(t.key()))
            .collect()
    }
}
