//! [`SubprocessOracle`] against small programs written inline (sh, python3, coreutils):
//! exact round trips, pipelined large batches, and every failure naming its query.
//!
//! (awk is not used for text answers: mawk reads its input in blocks and would wait for more
//! queries before answering; exactly the mistake the protocol forbids.)

use nnid_linalg::Mat;
use nnid_nn_model::{Framing, Oracle, OracleError, SubprocessOracle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

/// A python3 text-protocol program: `body` maps the query's fields `q` (strings) and its
/// index `i` to the answer printed (flushed after each line).
fn py_text(body: &str) -> String {
    format!(
        "python3 -c 'import sys\nfor i, line in enumerate(iter(sys.stdin.readline, \"\")):\n    q = line.split()\n{body}\n    sys.stdout.flush()\n'"
    )
}

/// The sum of the coordinates, left to right (as Rust's fold), printed by `repr` (exact).
fn py_sum() -> String {
    py_text("    s = 0.0\n    for v in q: s += float(v)\n    print(repr(s))")
}

/// python3, binary framing: the sum of the d = 3 coordinates.
const PY_BIN_SUM: &str = r#"python3 -c '
import struct, sys
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    b = inp.read(24)
    if len(b) < 24:
        break
    x = struct.unpack("<3d", b)
    out.write(struct.pack("<d", (x[0] + x[1]) + x[2]))
    out.flush()
'"#;

fn random_points(d: usize, n: usize, seed: u64) -> Mat {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(d, n, |_, _| rng.random_range(-2.0..2.0))
}

fn sums(points: &Mat) -> Vec<f64> {
    points
        .columns()
        .map(|x| x.iter().fold(0.0, |s, v| s + v))
        .collect()
}

fn shell(cmd: &str, d: usize, framing: Framing) -> SubprocessOracle {
    SubprocessOracle::spawn_shell(cmd, d)
        .unwrap()
        .with_framing(framing)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn text_protocol_sends_exact_numbers_and_counts_every_point() {
    // Printing q[0] echoes the first coordinate's text unchanged, so the answer is the f64 we
    // sent exactly when the text form round-trips. Include extreme and awkward values.
    let specials = [
        0.1,
        -0.0,
        1e-310,
        f64::MIN_POSITIVE,
        f64::MAX,
        -1.0 / 3.0,
        123_456_789.123_456_78,
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut values: Vec<f64> = specials.to_vec();
    values.extend((0..500).map(|_| {
        let m: f64 = rng.random_range(-1.0..1.0);
        m * 10f64.powi(rng.random_range(-300..300))
    }));
    let pts = Mat::from_fn(2, values.len(), |i, j| if i == 0 { values[j] } else { 7.0 });
    let cmd = py_text("    print(q[0])");
    let o = shell(&cmd, 2, Framing::Text);
    let got = o.query(&pts).unwrap();
    assert_eq!(bits(&got), bits(&values));
    assert_eq!(o.queries(), values.len() as u64);
    assert_eq!(o.command(), cmd);
}

#[test]
fn large_batches_are_pipelined_without_deadlock() {
    // 20,000 queries of d = 6 are about 2.5 MB each way, far beyond a pipe's buffer: this
    // only finishes if writing and reading overlap.
    let o = shell(&py_sum(), 6, Framing::Text);
    for seed in 0..2 {
        let pts = random_points(6, 20_000, seed);
        let got = o.query(&pts).unwrap();
        let want = sums(&pts);
        assert_eq!(
            bits(&got),
            bits(&want),
            "python sums in the same order as Rust"
        );
    }
    assert_eq!(o.queries(), 40_000);
    assert!(o.query(&Mat::zeros(6, 0)).unwrap().is_empty());
    assert_eq!(o.queries(), 40_000);
}

#[test]
fn spawn_without_shell_and_concurrent_callers() {
    let program = "import sys\nfor line in iter(sys.stdin.readline, \"\"):\n    print(repr(2 * float(line.split()[1])), flush=True)";
    let o = SubprocessOracle::spawn("python3", ["-c", program], 3).unwrap();
    let pts = random_points(3, 50, 5);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let got = o.query(&pts).unwrap();
                for (j, v) in got.iter().enumerate() {
                    assert_eq!(v.to_bits(), (2.0 * pts[(1, j)]).to_bits());
                }
            });
        }
    });
    assert_eq!(o.queries(), 200);
}

#[test]
fn wrong_dimension_and_non_finite_queries_are_refused_uncounted() {
    let o = shell(&py_sum(), 3, Framing::Text);
    let err = o.query(&Mat::zeros(2, 4)).unwrap_err();
    assert!(
        matches!(
            err,
            OracleError::Dimension {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{err}"
    );
    let mut pts = Mat::zeros(3, 4);
    pts[(1, 2)] = f64::NAN;
    let err = o.query(&pts).unwrap_err().to_string();
    assert!(err.contains("query 2") && err.contains("NaN"), "{err}");
    assert_eq!(o.queries(), 0);
    // The oracle is still usable.
    assert!((o.query_one(&[1.0, 2.0, 3.5]).unwrap() - 6.5).abs() < 1e-15);
}

#[test]
fn crash_mid_batch_names_the_query_and_exit_status() {
    let o = shell(
        &py_text("    if i == 3: sys.exit(3)\n    print(1)"),
        2,
        Framing::Text,
    );
    let err = o.query(&random_points(2, 10, 1)).unwrap_err();
    match &err {
        OracleError::Ended {
            index,
            answered,
            asked,
            detail,
        } => {
            assert_eq!((*index, *answered, *asked), (3, 3, 10));
            assert!(detail.contains("exit status: 3"), "{detail}");
        }
        other => panic!("expected Ended, got {other}"),
    }
    assert!(
        err.to_string()
            .starts_with("query 3: the oracle stopped answering after 3 of 10"),
        "{err}"
    );
    assert!((3..=10).contains(&o.queries()), "{}", o.queries());
    // The stream is out of step: later queries fail at once instead of hanging.
    let later = o.query(&random_points(2, 1, 2)).unwrap_err().to_string();
    assert!(
        later.contains("not usable after an earlier failure"),
        "{later}"
    );
}

#[test]
fn crash_reports_the_tail_of_stderr() {
    let script = r#"read l; echo 0.5; read l; echo "Traceback: something broke" >&2; echo "ValueError: bad input" >&2; exit 2"#;
    let o = shell(script, 1, Framing::Text);
    let err = o.query(&random_points(1, 5, 3)).unwrap_err().to_string();
    assert!(err.starts_with("query 1:"), "{err}");
    assert!(
        err.contains("exit status: 2") && err.contains("ValueError: bad input"),
        "{err}"
    );
    assert!(err.contains("Traceback: something broke |"), "{err}");
}

#[test]
fn short_answer_closed_output_and_missing_program() {
    // Answers two queries, then exits normally: a short answer.
    let o = shell(
        &py_text("    if i == 2: sys.exit(0)\n    print(1)"),
        2,
        Framing::Text,
    );
    let err = o.query(&random_points(2, 5, 4)).unwrap_err().to_string();
    assert!(
        err.contains("query 2: the oracle stopped answering after 2 of 5")
            && err.contains("exit status: 0"),
        "{err}"
    );

    // Closes its output but keeps running: stopped after a grace period, not waited for.
    let start = Instant::now();
    let o = shell("read l; echo 1; exec >&-; exec sleep 30", 1, Framing::Text);
    let err = o.query(&random_points(1, 3, 5)).unwrap_err().to_string();
    assert!(
        err.contains("query 1") && err.contains("kept running"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(15));

    let o = shell("no-such-program-nnid-test", 1, Framing::Text);
    let err = o.query(&random_points(1, 2, 6)).unwrap_err().to_string();
    assert!(
        err.contains("query 0") && err.contains("exit status: 127") && err.contains("not found"),
        "{err}"
    );

    let err = SubprocessOracle::spawn("/nonexistent/nnid-oracle", Vec::<String>::new(), 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/nonexistent/nnid-oracle") && err.contains("cannot start"),
        "{err}"
    );
    assert!(SubprocessOracle::spawn_shell("cat", 0).is_err());
}

#[test]
fn nan_and_non_number_answers_name_the_query() {
    for (answer, want) in [
        ("nan", "query 2: the oracle answered NaN"),
        ("-inf", "query 2: the oracle answered -inf"),
        (
            "hello world",
            "query 2: the oracle answered `hello world`, which is not a number",
        ),
        ("", "query 2: the oracle answered ``, which is not a number"),
        ("1 2", "query 2: the oracle answered `1 2`"),
    ] {
        let o = shell(
            &py_text(&format!("    print(\"{answer}\" if i == 2 else 1)")),
            1,
            Framing::Text,
        );
        let err = o.query(&random_points(1, 6, 7)).unwrap_err().to_string();
        assert!(err.contains(want), "answer `{answer}`: {err}");
        assert!(
            o.query(&random_points(1, 1, 8)).is_err(),
            "broken after a bad answer"
        );
    }
}

#[test]
fn binary_framing_round_trips_and_computes() {
    // d = 1 and `cat`: every answer is the query itself, bit for bit.
    let o = shell("cat", 1, Framing::Binary);
    let pts = Mat::from_col_major(1, 5, vec![0.1, -0.0, 1e-310, f64::MAX, -1.0 / 3.0]);
    assert_eq!(bits(&o.query(&pts).unwrap()), bits(pts.as_slice()));
    assert_eq!(o.framing(), Framing::Binary);
    assert_eq!(shell("cat", 1, Framing::Text).framing(), Framing::Text);

    let o = shell(PY_BIN_SUM, 3, Framing::Binary);
    let pts = random_points(3, 20_000, 9);
    assert_eq!(bits(&o.query(&pts).unwrap()), bits(&sums(&pts)));
    assert_eq!(o.queries(), 20_000);
}

#[test]
fn binary_failures_name_the_query() {
    // `head -c 24` passes three answers (d = 1) and exits.
    let o = shell("head -c 24", 1, Framing::Binary);
    let err = o.query(&random_points(1, 10, 1)).unwrap_err().to_string();
    assert!(
        err.contains("query 3: the oracle stopped answering after 3 of 10"),
        "{err}"
    );

    // `head -c 20` ends inside the third answer.
    let o = shell("head -c 20", 1, Framing::Binary);
    let err = o.query(&random_points(1, 10, 1)).unwrap_err().to_string();
    assert!(
        err.contains("query 2:") && err.contains("4 of 8 bytes"),
        "{err}"
    );

    // NaN as the second answer (bytes of 0x7ff8000000000000, little-endian).
    let o = shell(
        r"head -c 8; printf '\000\000\000\000\000\000\370\177'; cat",
        1,
        Framing::Binary,
    );
    let err = o.query(&random_points(1, 4, 2)).unwrap_err().to_string();
    assert!(err.contains("query 1: the oracle answered NaN"), "{err}");
}

#[test]
fn dropping_a_stuck_oracle_does_not_hang() {
    let start = Instant::now();
    let o = shell("exec sleep 30", 2, Framing::Text);
    drop(o);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn timeout_stops_a_silent_program_and_its_children() {
    // The shell waits for `sleep`, which holds the pipes: only killing the process group ends
    // it. Without a timeout this query would wait for 30 s.
    let start = Instant::now();
    let o = shell("read l; sleep 30; echo 1", 1, Framing::Text)
        .with_timeout(Some(Duration::from_millis(300)));
    let err = o.query(&random_points(1, 2, 1)).unwrap_err();
    assert!(
        matches!(err, OracleError::Timeout { index: 0, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("query 0: no answer within 0.3 s") && msg.contains("flush"),
        "{msg}"
    );
    assert!(o.query(&random_points(1, 1, 2)).is_err());
    drop(o);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_program_that_does_not_read_its_queries_is_stopped() {
    // `yes 1` answers without reading: a batch larger than the pipe's buffer cannot be sent,
    // although every answer arrives.
    let o = shell("exec yes 1", 10, Framing::Text);
    let err = o
        .query(&random_points(10, 20_000, 1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("without reading them all"), "{err}");

    // A small batch fits in the pipe and gets its answers, but the surplus output is noticed
    // at the next batch.
    let o = shell("exec yes 1", 1, Framing::Text);
    assert_eq!(o.query(&random_points(1, 2, 1)).unwrap(), vec![1.0, 1.0]);
    let err = o.query(&random_points(1, 2, 2)).unwrap_err().to_string();
    assert!(err.contains("output nobody asked for: `1"), "{err}");
}
