//! The measuring harness behind `nnid experiment` (and so behind `cargo xtask`): a grid of
//! trials, one teacher and one backend each, every finished trial one JSON line.
//!
//! A [`Spec`] lists grids (experiments × sizes × families × activations × seeds ×
//! backends); [`Spec::trials`] expands them. [`run_trial`] generates the trial's teacher
//! (`nnid_nn_model::teacher`, seeded), runs the experiment on the chosen backend, and returns
//! a [`TrialRecord`]: the trial, its key, whether it ran, its wall time and its result. The
//! experiments:
//!
//! - [`stages`]: the paper's steps 1–3 (and 4 on request), each timed and compared with the
//!   truth (finite-difference error of the Hessians, `‖P_W − P_Ŵ‖` and the spectrum, the
//!   rank-one candidates against a_i and v_l, the share of candidates the attribution labels
//!   correctly);
//! - [`fit`]: the norm-penalised LM from a perturbed teacher;
//! - [`route`]: a whole identification through [`crate::identify`] (any method), with the
//!   success criterion of issue 7;
//! - [`student_baseline`]: a student of the same shape trained by Adam on random queries.
//!
//! Results files are JSON Lines: one [`TrialRecord`] per line, appended and flushed as soon
//! as the trial ends, so an interrupted run keeps everything finished; [`done_keys`] reads the
//! keys already present so a rerun skips them (resume).
//!
//! A trial's seed is both the teacher's seed and the run's seed, so a trial is reproduced
//! exactly by its key.

pub mod fit;
pub mod route;
pub mod spec;
pub mod stages;
pub mod student_baseline;

pub use spec::{Experiment, Family, Grid, Seeds, Spec, Trial, Weights};

use nnid_linalg::BackendKind;
use serde::Serialize;
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

/// The harness reports errors with the pipeline's error type (it wraps every stage's).
pub type ExperimentError = crate::IdentifyError;

/// Runs `work` and returns its value with the wall time in seconds.
pub fn timed<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let value = work();
    (value, start.elapsed().as_secs_f64())
}

/// Arrays of numbers longer than this are summarised by [`compact`].
pub const MAX_ARRAY: usize = 256;

/// `value` with every array of more than [`MAX_ARRAY`] numbers replaced by
/// `{"len", "min", "max", "first": [..16]}`, so results lines stay small.
pub fn compact(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Array(items) if items.len() > MAX_ARRAY && items.iter().all(Value::is_number) => {
            let nums: Vec<f64> = items.iter().filter_map(Value::as_f64).collect();
            serde_json::json!({
                "len": items.len(),
                "min": nums.iter().copied().fold(f64::INFINITY, f64::min),
                "max": nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "first": &items[..16],
            })
        }
        Value::Array(items) => Value::Array(items.iter().map(compact).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), compact(v))).collect())
        }
        other => other.clone(),
    }
}

/// One line of a results file.
#[derive(Clone, Debug, Serialize)]
pub struct TrialRecord {
    /// [`Trial::key`]: what a rerun compares to skip the trial.
    pub key: String,
    /// The trial.
    pub trial: Trial,
    /// Whether the experiment ran to the end (a failing identification is still `ok`: its
    /// failure is in the result).
    pub ok: bool,
    /// Why it did not, when `ok` is false.
    pub error: Option<String>,
    /// Wall time of the whole trial (teacher generation and measures included).
    pub seconds: f64,
    /// The experiment's result (see each experiment's `*Result` type).
    pub result: serde_json::Value,
}

fn run_experiment(trial: &Trial) -> Result<serde_json::Value, ExperimentError> {
    let kind: BackendKind = trial.backend.parse()?;
    let la = kind.linalg()?;
    let teacher = trial.teacher_config().generate()?;
    let value = match &trial.experiment {
        Experiment::Stages(p) => serde_json::to_value(stages::run(la, &teacher, p, trial.seed)?),
        Experiment::Fit(p) => serde_json::to_value(fit::run(la, &teacher, p, trial.seed)?),
        Experiment::Route(p) => serde_json::to_value(route::run(la, &teacher, p, trial.seed)?),
        Experiment::Student(p) => {
            serde_json::to_value(student_baseline::run(la, &teacher, p, trial.seed)?)
        }
    };
    value.map_err(|e| ExperimentError::InvalidConfig {
        field: "result",
        reason: e.to_string(),
    })
}

/// Runs one trial. Errors and panics of the experiment become a record with `ok: false`,
/// so one bad trial does not end a long run.
pub fn run_trial(trial: &Trial) -> TrialRecord {
    let (outcome, seconds) =
        timed(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_experiment(trial))));
    let (ok, error, result) = match outcome {
        Ok(Ok(v)) => (true, None, v),
        Ok(Err(e)) => (false, Some(e.to_string()), serde_json::Value::Null),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            (
                false,
                Some(format!("panic: {msg}")),
                serde_json::Value::Null,
            )
        }
    };
    TrialRecord {
        key: trial.key(),
        trial: trial.clone(),
        ok,
        error,
        seconds,
        result,
    }
}

/// The keys of the records already in a results file (none when it does not exist).
/// Lines that do not parse (a line cut by a crash) are ignored; their trials run again.
///
/// # Errors
/// Reading the file failed.
pub fn done_keys(path: &Path) -> std::io::Result<HashSet<String>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(e),
    };
    let mut keys = HashSet::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
            && let Some(k) = v.get("key").and_then(serde_json::Value::as_str)
        {
            keys.insert(k.to_string());
        }
    }
    Ok(keys)
}

/// Opens a results file for appending, starting a new line if the last one was cut.
///
/// # Errors
/// Opening or repairing the file failed.
pub fn open_results(path: &Path) -> std::io::Result<std::fs::File> {
    let ends_cut = std::fs::read(path)
        .map(|b| b.last().is_some_and(|&c| c != b'\n'))
        .unwrap_or(false);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if ends_cut {
        file.write_all(b"\n")?;
    }
    Ok(file)
}

/// Appends one record as a JSON line and flushes it to the file.
///
/// # Errors
/// Writing failed.
pub fn append_record(file: &mut std::fs::File, record: &TrialRecord) -> std::io::Result<()> {
    let line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    file.write_all(line.as_bytes())?;
    file.write_all(b"\n")?;
    file.flush()?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnid_nn_model::Activation;

    fn small_grid() -> Grid {
        Grid {
            experiments: vec![
                Experiment::Stages(stages::StagesParams::default()),
                Experiment::Fit(fit::FitParams::default()),
            ],
            sizes: vec![[6, 3, 2], [8, 4, 2]],
            activations: vec![Activation::Tanh, Activation::Sigmoid],
            families: vec![Family::default()],
            seeds: Seeds::Range { from: 3, count: 2 },
            backends: vec!["faer".into(), "nalgebra".into()],
        }
    }

    #[test]
    fn grid_expands_in_order_without_duplicates() {
        let g = small_grid();
        let trials = g.trials();
        assert_eq!(trials.len(), 2 * 2 * 2 * 2 * 2);
        // Backends innermost, then experiments, then seeds.
        assert_eq!(trials[0].backend, "faer");
        assert_eq!(trials[1].backend, "nalgebra");
        assert!(matches!(trials[2].experiment, Experiment::Fit(_)));
        assert_eq!(trials[4].seed, 4);
        let spec = Spec {
            grids: vec![g.clone(), g],
        };
        assert_eq!(
            spec.trials().len(),
            trials.len(),
            "a repeated grid adds nothing"
        );
    }

    #[test]
    fn spec_round_trips_and_reads_defaults() {
        let text = r#"{"grids":[{"experiments":[{"kind":"route","method":"paper","paper":{"stencil":"forward","refine":false}},{"kind":"student","queries":100}],
            "sizes":[[20,10,5]],"seeds":[1,2]}]}"#;
        let spec = Spec::from_json(text).unwrap();
        let trials = spec.trials();
        assert_eq!(trials.len(), 4);
        assert_eq!(trials[0].backend, "faer");
        assert_eq!(trials[0].activation, Activation::Tanh);
        let Experiment::Route(r) = &trials[0].experiment else {
            panic!("route expected")
        };
        let p = r.paper.as_ref().unwrap();
        assert!(!p.refine);
        assert!((p.stages.mx_factor - 2.0).abs() < 1e-15 && (p.stages.eps() - 1e-5).abs() < 1e-20);
        let again = Spec::from_json(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(again, spec);
        assert!(Spec::from_json(r#"{"grids":[{"sizes":[]}]}"#).is_err());
    }

    #[test]
    fn compact_summarises_long_arrays_only() {
        let long: Vec<f64> = (0..300).map(f64::from).collect();
        let v = serde_json::json!({"s": long, "t": [1.0, 2.0], "n": {"u": (0..257).collect::<Vec<i32>>()}});
        let c = compact(&v);
        assert_eq!(c["s"]["len"], 300);
        assert_eq!(c["t"], serde_json::json!([1.0, 2.0]));
        assert_eq!(c["n"]["u"]["len"], 257);
    }

    #[test]
    fn results_file_resumes_and_repairs_a_cut_line() {
        let dir = std::env::temp_dir().join(format!("nnid-exp-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.jsonl");
        let trial = small_grid().trials().remove(0);
        std::fs::write(&path, "{\"key\": \"cut").unwrap();
        let mut f = open_results(&path).unwrap();
        let rec = TrialRecord {
            key: trial.key(),
            trial: trial.clone(),
            ok: true,
            error: None,
            seconds: 0.0,
            result: serde_json::Value::Null,
        };
        append_record(&mut f, &rec).unwrap();
        let keys = done_keys(&path).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains(&trial.key()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failing_trials_are_records_not_panics() {
        let mut trial = small_grid().trials().remove(0);
        trial.size = [3, 5, 2]; // m0 > d: the teacher generator refuses it
        let rec = run_trial(&trial);
        assert!(!rec.ok && rec.error.is_some(), "{rec:?}");
        trial.size = [6, 3, 2];
        trial.backend = "nosuch".into();
        assert!(!run_trial(&trial).ok);
    }

    /// Every experiment runs end to end on a tiny teacher and reports the truth-based
    /// measures (exactness of route S at this size is the route's own tests' business).
    #[test]
    fn each_experiment_runs_on_a_tiny_teacher() {
        let experiments = vec![
            Experiment::Stages(stages::StagesParams::default()),
            Experiment::Fit(fit::FitParams {
                test_points: 500,
                ..fit::FitParams::default()
            }),
            Experiment::Route(route::RouteParams {
                test_points: 500,
                ..route::RouteParams::new(route::Method::Saturation)
            }),
            Experiment::Student(student_baseline::StudentParams {
                steps: 50,
                restarts: 2,
                test_points: 500,
                ..student_baseline::StudentParams::new(200)
            }),
        ];
        for experiment in experiments {
            let trial = tiny_trial(experiment);
            let rec = run_trial(&trial);
            assert!(rec.ok, "{}: {:?}", trial.label(), rec.error);
            assert!(rec.result.is_object(), "{}", trial.label());
        }
    }

    /// A trial on the (6, 3, 2) tanh teacher of seed 1, on the default backend.
    fn tiny_trial(experiment: Experiment) -> Trial {
        Trial {
            experiment,
            size: [6, 3, 2],
            activation: Activation::Tanh,
            family: Family::default(),
            seed: 1,
            backend: BackendKind::default_compiled()
                .expect("a compiled backend")
                .name()
                .to_string(),
        }
    }

    #[test]
    fn stages_with_attribution_score_the_labels_against_the_truth() {
        let params = stages::StagesParams {
            attribution: true,
            ..stages::StagesParams::default()
        };
        let rec = run_trial(&tiny_trial(Experiment::Stages(params.clone())));
        assert!(rec.ok, "{:?}", rec.error);
        let a = &rec.result["attribution"];
        let n = a["candidates"].as_u64().unwrap();
        let correct = a["correct"].as_u64().unwrap();
        assert_eq!(
            n,
            rec.result["rank1"]["candidates"].as_u64().unwrap().min(5),
            "{a}"
        );
        assert!(correct <= n && a["entangled_correct"].as_u64() <= a["entangled"].as_u64());
        assert!(a["strategy"].is_string() && a["seconds"].as_f64().unwrap() >= 0.0);
        // Off by default, and then left out of the key and the result.
        let plain = tiny_trial(Experiment::Stages(stages::StagesParams::default()));
        assert!(!plain.key().contains("attribution"));
        assert!(
            tiny_trial(Experiment::Stages(params.clone()))
                .key()
                .contains("\"attribution\":true")
        );
        assert!(run_trial(&plain).result.get("attribution").is_none());
        // The attribution labels rank-one candidates: without them it is a clear error.
        let rec = run_trial(&tiny_trial(Experiment::Stages(stages::StagesParams {
            rank1: false,
            ..params
        })));
        assert!(!rec.ok && rec.error.unwrap().contains("attribution"));
    }
}
