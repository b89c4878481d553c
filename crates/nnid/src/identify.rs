//! One identification run: the oracle's noise floor, a route, then the certificate, then
//! (when known) the truth.

use crate::metrics::{
    Certificate, RECOVERY_THRESHOLD, function_error, gaussian_points, match_weights,
    missing_weights, parameter_errors, uniform_ball,
};
use crate::noise::{
    MAX_CERTIFICATE_THRESHOLD, NOISE_FLOOR_FACTOR, NOISE_FLOOR_POINTS, NoiseFloor,
    estimate_noise_floor,
};
use crate::report::{Report, Status, TruthComparison};
use crate::routes::auto::{Auto, Widths};
use crate::routes::{Architecture, Route};
use crate::{IdentifyError, Progress, StageRunner};
use nnid_linalg::Linalg;
use nnid_nn_model::{Activation, Network, Oracle};

/// The certificate's acceptance threshold on the relative validation error for exact oracles
/// (paper-spec §10); a noisier oracle raises it to a multiple of its noise floor
/// ([`crate::metrics::Certificate`]).
pub const CERTIFICATE_THRESHOLD: f64 = 1e-9;

/// Settings of a run besides the route.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Seed of every random choice.
    pub seed: u64,
    /// Validation queries of the certificate (counted in the total).
    pub certificate_points: usize,
    /// The certificate's threshold on the relative validation error for an exact oracle
    /// (raised to a multiple of the noise floor when that is higher).
    pub certificate_threshold: f64,
    /// Centres of the noise-floor estimate, 6 queries each (stage `noise_floor`, run only
    /// when the result misses `certificate_threshold`); 0 turns it off, and the certificate
    /// then holds every oracle to `certificate_threshold`.
    pub noise_floor_points: usize,
    /// Test points in the unit ball for the comparison with the truth (not queries).
    pub test_points: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            certificate_points: 200,
            certificate_threshold: CERTIFICATE_THRESHOLD,
            noise_floor_points: NOISE_FLOOR_POINTS,
            test_points: 10_000,
        }
    }
}

/// The outcome of [`identify`]: the network (when one was produced) and the report.
#[derive(Debug)]
pub struct Outcome {
    /// The identified network; `None` when a stage failed before one existed.
    pub network: Option<Network>,
    /// What happened, stage by stage.
    pub report: Report,
}

impl Outcome {
    /// Whether the certificate passed.
    pub fn certified(&self) -> bool {
        self.report.status == Status::Certified
    }
}

/// Runs `route` on `oracle`, certifies the result on fresh queries against 1e-9 or, when it
/// misses that, against the oracle's noise floor estimated then (stage `noise_floor`, kept in
/// the report), whichever is higher, and compares it with
/// `truth` when given (the truth is never queried through the oracle and never used by the
/// route to decide anything). Errors of the route end up in the report (status
/// [`Status::Failed`] or [`Status::Incomplete`]), so a caller always gets the report so far.
pub fn identify(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    arch: &Architecture,
    route: &dyn Route,
    options: &RunOptions,
    progress: &dyn Progress,
    truth: Option<&Network>,
) -> Outcome {
    let report = Report::new(
        route.name(),
        la.name(),
        options.seed,
        arch.d,
        arch.m0,
        arch.m1,
    );
    let context = RunContext {
        oracle,
        options,
        progress,
        truth,
    };
    context.run(report, |runner| {
        arch.validate()?;
        check_oracle(oracle, arch.d)?;
        Ok((route.run(la, arch, options.seed, runner)?, *arch))
    })
}

/// [`identify`] with `auto` when the widths are not all known (issue 10): the widths are
/// decided from the queries ([`Auto::run_discovering`]), the report holds them and their
/// evidence, and the certificate judges the result as always.
#[allow(clippy::too_many_arguments)]
pub fn identify_discovering(
    la: Linalg<'_>,
    oracle: &dyn Oracle,
    d: usize,
    activations: (Activation, Activation),
    widths: Widths,
    auto: &Auto,
    options: &RunOptions,
    progress: &dyn Progress,
    truth: Option<&Network>,
) -> Outcome {
    let (g, h) = activations;
    let report = Report::new(
        auto.name(),
        la.name(),
        options.seed,
        d,
        widths.m0.unwrap_or(0),
        widths.m1.unwrap_or(0),
    );
    let context = RunContext {
        oracle,
        options,
        progress,
        truth,
    };
    context.run(report, |runner| {
        check_oracle(oracle, d)?;
        auto.run_discovering(la, d, g, h, widths, options.seed, runner)
    })
}

/// What every identification run shares: the oracle, the options, progress and the truth.
struct RunContext<'a> {
    oracle: &'a dyn Oracle,
    options: &'a RunOptions,
    progress: &'a dyn Progress,
    truth: Option<&'a Network>,
}

impl RunContext<'_> {
    /// Runs `work` (the route's stages), then the certificate and the truth comparison;
    /// errors end up in the report.
    fn run(
        &self,
        mut report: Report,
        work: impl FnOnce(&mut StageRunner<'_>) -> Result<(Network, Architecture), IdentifyError>,
    ) -> Outcome {
        let mut runner = StageRunner {
            oracle: self.oracle,
            progress: self.progress,
            report: &mut report,
            truth: self.truth,
        };
        let (network, arch) = match work(&mut runner) {
            Ok(done) => done,
            Err(err) => {
                report.status = if matches!(err, IdentifyError::Incomplete(_)) {
                    Status::Incomplete
                } else {
                    Status::Failed
                };
                report.error = Some(err.to_string());
                return Outcome {
                    network: None,
                    report,
                };
            }
        };
        finish(
            &mut report,
            self.oracle,
            &network,
            &arch,
            self.options,
            self.progress,
            self.truth,
        );
        Outcome {
            network: Some(network),
            report,
        }
    }
}

fn check_oracle(oracle: &dyn Oracle, d: usize) -> Result<(), IdentifyError> {
    if oracle.input_dim() == d {
        Ok(())
    } else {
        Err(IdentifyError::InvalidConfig {
            field: "input_dim",
            reason: format!(
                "the oracle takes {} inputs, the architecture says d = {d}",
                oracle.input_dim()
            ),
        })
    }
}

/// The stage `noise_floor`: [`estimate_noise_floor`] at the validation points' scale.
fn noise_floor_stage(
    runner: &mut StageRunner<'_>,
    arch: &Architecture,
    options: &RunOptions,
) -> Result<NoiseFloor, IdentifyError> {
    let oracle = runner.oracle;
    runner.run("noise_floor", || {
        let floor = estimate_noise_floor(
            oracle,
            options.noise_floor_points,
            arch.g.width(),
            options.seed ^ 0x4015E,
        )?;
        Ok((floor, serde_json::to_value(floor).unwrap_or_default()))
    })
}

/// The certificate and the truth comparison.
fn finish(
    report: &mut Report,
    oracle: &dyn Oracle,
    net: &Network,
    arch: &Architecture,
    options: &RunOptions,
    progress: &dyn Progress,
    truth: Option<&Network>,
) {
    let mut runner = StageRunner {
        oracle,
        progress,
        report,
        truth,
    };
    let validation = runner.run("certificate", || {
        let points = gaussian_points(
            oracle.input_dim(),
            options.certificate_points,
            arch.g.width(),
            options.seed ^ 0xCE27,
        );
        let y = oracle.query(&points)?;
        let c = Certificate::evaluate(net, &points, &y, options.certificate_threshold, None);
        let details = serde_json::to_value(c).unwrap_or_default();
        Ok(((c, points, y), details))
    });
    // The noise floor is estimated only when the exact-oracle threshold is missed: exact
    // oracles pay nothing for it, and the same validation answers are judged again.
    let cert = validation.map(|(c, points, y)| {
        if c.certified || options.noise_floor_points == 0 {
            return c;
        }
        match noise_floor_stage(&mut runner, arch, options) {
            Ok(floor) => {
                runner.report.noise_floor = Some(floor);
                Certificate::evaluate(
                    net,
                    &points,
                    &y,
                    options.certificate_threshold,
                    Some(&floor),
                )
            }
            Err(e) => {
                runner
                    .report
                    .notes
                    .push(format!("the noise floor could not be estimated: {e}"));
                c
            }
        }
    });
    match cert {
        Ok(c) => {
            report.status = if c.certified {
                Status::Certified
            } else {
                Status::NotCertified
            };
            if !c.certified {
                report
                    .notes
                    .push(format!("not certified: {}", threshold_reason(&c)));
            }
            report.certificate = Some(c);
        }
        Err(e) => {
            report.status = Status::Failed;
            report.error = Some(format!("certificate: {e}"));
        }
    }
    if let Some(t) = truth {
        report.truth = Some(compare_with_truth(t, net, options));
    }
}

/// Why a certificate's threshold is what it is, with the residual: one phrase for notes.
pub(crate) fn threshold_reason(c: &Certificate) -> String {
    let floor = match (c.relative_noise_floor, c.noise_floor) {
        (Some(rel), Some(abs)) => {
            format!("the oracle's noise floor {rel:.1e} relative ({abs:.1e} absolute)")
        }
        _ => "no noise floor estimated".to_string(),
    };
    let capped = c
        .relative_noise_floor
        .is_some_and(|r| NOISE_FLOOR_FACTOR * r > c.threshold);
    let basis = if capped {
        format!("the cap {MAX_CERTIFICATE_THRESHOLD}: {floor} is too high to certify more")
    } else if c.noise_limited {
        format!("{NOISE_FLOOR_FACTOR} × {floor}")
    } else {
        format!("the exact-oracle threshold; {floor}")
    };
    format!(
        "validation error {:.2e}, threshold {:.1e} ({basis})",
        c.validation_rel_l2, c.threshold
    )
}

/// Weight errors up to the model's symmetries (permutation, and the sign flip of a
/// first-layer neuron), the true a_i the identification missed, and function errors on the
/// unit ball. See [`TruthComparison`] for what is and is not compared.
pub fn compare_with_truth(truth: &Network, net: &Network, options: &RunOptions) -> TruthComparison {
    let points = uniform_ball(
        truth.input_dim(),
        options.test_points,
        1.0,
        options.seed ^ 0x7E57,
    );
    // By matrix products: at (784, 128, 32) one matrix-vector product per point made this
    // comparison 0.35 s of a 5 s run.
    let y = truth.values_fast(&points);
    TruthComparison {
        first_layer: match_weights(truth.a(), net.a(), 1e-4),
        missing_first_layer: missing_weights(truth.a(), net.a(), RECOVERY_THRESHOLD),
        parameters: parameter_errors(truth, net),
        entangled: None,
        unit_ball: function_error(net, &points, &y),
        test_points: options.test_points,
    }
}
