//! End-to-end tests of `nnid generate` and `nnid eval`, run as programs.
//!
//! They live in this package (not in `tests/`) because only here does cargo build the `nnid`
//! binary for the tests and name it in `CARGO_BIN_EXE_nnid`, whichever packages are tested.

use nnid_linalg::Mat;
use nnid_nn_model::{Framing, Network, NetworkOracle, Oracle, SubprocessOracle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const NNID: &str = env!("CARGO_BIN_EXE_nnid");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnid-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn nnid(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(NNID)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a failed run with exactly one `nnid: error: ...` line on stderr containing `want`.
fn assert_one_line_error(out: &Output, want: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected failure, stderr: {err}");
    assert!(
        err.starts_with("nnid: error: ") && err.ends_with('\n') && err.lines().count() == 1,
        "{err:?}"
    );
    assert!(err.contains(want), "expected `{want}` in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
}

fn generate(dir: &Path, extra: &[&str]) -> PathBuf {
    let path = dir.join("net.json");
    let mut args = vec![
        "generate",
        "--d",
        "6",
        "--m0",
        "4",
        "--m1",
        "2",
        "--seed",
        "7",
        "-o",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = nnid(&args, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    path
}

fn points(d: usize, n: usize) -> Mat {
    Mat::from_fn(d, n, |i, j| {
        ((i * 7919 + j * 104_729) % 1000) as f64 / 250.0 - 2.0 + 1e-3 / (1.0 + j as f64)
    })
}

fn text_points(pts: &Mat) -> String {
    pts.columns()
        .map(|x| {
            x.iter()
                .map(|v| format!("{v:e}"))
                .collect::<Vec<_>>()
                .join(" ")
                + "\n"
        })
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn generate_then_eval_round_trips() {
    let dir = scratch("roundtrip");
    let path = generate(
        &dir,
        &[
            "--activation",
            "sigmoid",
            "--weights",
            "orthogonal",
            "--b-signs",
            "positive",
        ],
    );
    let net = Network::read_json(&path).unwrap();
    assert_eq!((net.input_dim(), net.m0(), net.m1()), (6, 4, 2));
    assert!(net.b().as_slice().iter().all(|&v| v >= 0.0));

    // `-o -` writes the identical network to stdout.
    let out = nnid(
        &[
            "generate",
            "--d",
            "6",
            "--m0",
            "4",
            "--m1",
            "2",
            "--seed",
            "7",
            "--activation",
            "sigmoid",
            "--weights",
            "orthogonal",
            "--b-signs",
            "positive",
            "-o",
            "-",
        ],
        b"",
    );
    assert!(out.status.success());
    assert_eq!(
        Network::from_json_str(&String::from_utf8(out.stdout).unwrap()).unwrap(),
        net
    );

    // Text eval gives the in-process values exactly.
    let pts = points(6, 500);
    let out = nnid(
        &["eval", "--network", path.to_str().unwrap()],
        text_points(&pts).as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(bits(&got), bits(&net.values(&pts)));

    // So does binary eval.
    let input: Vec<u8> = pts
        .as_slice()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let out = nnid(
        &["eval", "--network", path.to_str().unwrap(), "--binary"],
        &input,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<f64> = out
        .stdout
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(bits(&got), bits(&net.values(&pts)));
}

#[test]
fn nnid_eval_as_a_subprocess_oracle_equals_the_in_process_network() {
    let dir = scratch("oracle");
    let path = generate(&dir, &[]);
    let truth = NetworkOracle::new(Network::read_json(&path).unwrap());
    let pts = points(6, 20_000);
    // The exact per-point values (the in-process oracle itself uses matrix products for
    // large batches and agrees with these to rounding only).
    let want = truth.network().values(&pts);
    for framing in [Framing::Text, Framing::Binary] {
        let mut args = vec!["eval", "--network", path.to_str().unwrap()];
        if framing == Framing::Binary {
            args.push("--binary");
        }
        // A timeout turns a missing flush in `nnid eval` into a failure instead of a hang.
        let o = SubprocessOracle::spawn(NNID, &args, 6)
            .unwrap()
            .with_framing(framing)
            .with_timeout(Some(Duration::from_secs(60)));
        assert_eq!(bits(&o.query(&pts).unwrap()), bits(&want), "{framing:?}");
        // One point at a time: nnid eval must answer (flush) before the next query comes.
        for (j, w) in want.iter().take(5).enumerate() {
            assert_eq!(
                o.query_one(pts.col(j)).unwrap().to_bits(),
                w.to_bits(),
                "{framing:?}"
            );
        }
        assert_eq!(o.queries(), 20_005);
    }
}

#[test]
fn malformed_network_files_are_one_line_errors() {
    let dir = scratch("badfile");
    let path = generate(&dir, &[]);
    let text = std::fs::read_to_string(&path).unwrap();
    let cases = [
        (
            "short-row.json",
            text.replacen("],\n      [", ", 1],\n      [", 1),
            "`layer1.weights[0]`: expected 6 entries, got 7",
        ),
        (
            "unknown.json",
            text.replacen("\"input_dim\"", "\"bias\": 0, \"input_dim\"", 1),
            "unknown field `bias`",
        ),
        (
            "relu.json",
            text.replacen("\"tanh\"", "\"relu\"", 1),
            "`layer1.activation`: unknown variant `relu`",
        ),
        (
            "huge.json",
            text.replacen("\"shifts\": [", "\"shifts\": [1e400, ", 1),
            "number out of range",
        ),
        (
            "truncated.json",
            text[..text.len() / 2].to_string(),
            "EOF while parsing",
        ),
    ];
    for (name, content, want) in cases {
        let bad = dir.join(name);
        std::fs::write(&bad, content).unwrap();
        let out = nnid(
            &["eval", "--network", bad.to_str().unwrap()],
            b"0 0 0 0 0 0\n",
        );
        assert_one_line_error(&out, want);
        assert!(stderr(&out).contains(name), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    let out = nnid(
        &[
            "eval",
            "--network",
            dir.join("missing.json").to_str().unwrap(),
        ],
        b"",
    );
    assert_one_line_error(&out, "missing.json: No such file or directory");
}

#[test]
fn malformed_queries_are_one_line_errors_after_the_good_answers() {
    let dir = scratch("badquery");
    let path = generate(&dir, &[]);
    let p = path.to_str().unwrap();
    let good = "0 0 0 0 0 0\n1 1 1 1 1 1\n";
    for (bad, want) in [
        (
            "1 2 3\n",
            "line 3: expected 6 numbers (the network's input dimension), got 3",
        ),
        ("1 2 3 4 5 6 7\n", "line 3: expected 6 numbers"),
        ("1 2 x 4 5 6\n", "line 3: `x` (number 3) is not a number"),
        (
            "1 2 3 inf 5 6\n",
            "line 3: number 4 is inf; points must be finite",
        ),
        ("\n", "line 3: expected 6 numbers"),
    ] {
        let out = nnid(
            &["eval", "--network", p],
            format!("{good}{bad}0 0 0 0 0 0\n").as_bytes(),
        );
        assert_one_line_error(&out, want);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            2,
            "answers before the bad line"
        );
    }
    let out = nnid(&["eval", "--network", p, "--binary"], &[0u8; 8 * 6 + 5]);
    assert_one_line_error(&out, "binary point 2: input ended after 5 of its 48 bytes");
    assert_eq!(out.stdout.len(), 8);
    let mut nan = vec![0u8; 8 * 6];
    nan[8..16].copy_from_slice(&f64::NAN.to_le_bytes());
    let out = nnid(&["eval", "--network", p, "--binary"], &nan);
    assert_one_line_error(&out, "binary point 1: coordinate 2 is NaN");
}

#[test]
fn oracle_errors_name_the_query() {
    let dir = scratch("oracle-errors");
    let path = generate(&dir, &[]);
    // An oracle that exits early: `head` lets three queries through.
    let cmd = format!("head -n 3 | {NNID} eval --network {}", path.display());
    let o = SubprocessOracle::spawn_shell(&cmd, 6).unwrap();
    let err = o.query(&points(6, 10)).unwrap_err().to_string();
    assert!(
        err.starts_with("query 3: the oracle stopped answering after 3 of 10 answers"),
        "{err}"
    );

    // A dimension the network does not have: nnid eval refuses the first query, and its
    // message reaches the caller through the oracle error.
    let o =
        SubprocessOracle::spawn(NNID, ["eval", "--network", path.to_str().unwrap()], 5).unwrap();
    let err = o.query(&points(5, 4)).unwrap_err().to_string();
    assert!(
        err.starts_with("query 0: the oracle stopped answering"),
        "{err}"
    );
    assert!(
        err.contains("exit status: 1") && err.contains("nnid: error: line 1: expected 6 numbers"),
        "{err}"
    );
}

#[test]
fn generate_rejects_bad_settings_with_one_line() {
    let base = ["generate", "--d", "4", "--seed", "1", "-o", "-"];
    let run = |extra: &[&str]| nnid(&[&base[..], extra].concat(), b"");
    assert_one_line_error(&run(&["--m0", "5", "--m1", "2"]), "m0 = 5 > d = 4");
    assert_one_line_error(&run(&["--m0", "3", "--m1", "4"]), "m1 = 4 > m0 = 3");
    assert_one_line_error(
        &run(&["--m0", "3", "--m1", "2", "--shift-range", "-1"]),
        "shift_range",
    );
    assert_one_line_error(
        &run(&["--m0", "3", "--m1", "2", "--orthogonal-eps", "0.1"]),
        "--orthogonal-eps applies only to --weights orthogonal",
    );
    assert_one_line_error(
        &run(&[
            "--m0",
            "3",
            "--m1",
            "2",
            "--weights",
            "orthogonal",
            "--orthogonal-eps",
            "2",
        ]),
        "perturbation must be in [0, 1)",
    );
    let out = nnid(
        &[
            "generate",
            "--d",
            "4",
            "--m0",
            "3",
            "--m1",
            "2",
            "--seed",
            "1",
            "-o",
            "/nonexistent-dir/net.json",
        ],
        b"",
    );
    assert_one_line_error(&out, "/nonexistent-dir/net.json");
    // clap's own usage errors (missing --seed, bad value) exit with status 2, no panic.
    let out = nnid(
        &["generate", "--d", "4", "--m0", "3", "--m1", "2", "-o", "-"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--seed"));
    let out = nnid(
        &[
            "generate",
            "--d",
            "4",
            "--m0",
            "3",
            "--m1",
            "2",
            "--seed",
            "1",
            "--activation",
            "relu",
            "-o",
            "-",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("possible values: tanh, sigmoid"),
        "{}",
        stderr(&out)
    );
}
