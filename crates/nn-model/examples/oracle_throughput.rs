//! Throughput of the oracles on one teacher: in process, and through a subprocess with text
//! and binary framing (docs/oracles.md records the figures).
//!
//! ```sh
//! cargo build --release -p nnid
//! cargo run --release -p nnid-nn-model --example oracle_throughput -- \
//!     target/release/nnid 784 128 32 20000
//! ```
//!
//! Arguments: the program that serves a network file (called as `PROGRAM eval --network FILE
//! [--binary]`), then d, m0, m1 and the number of points. Each oracle gets the same points in
//! batches of 2,000; the answers must agree bit for bit.

use nnid_linalg::Mat;
use nnid_nn_model::teacher::TeacherConfig;
use nnid_nn_model::{Framing, NetworkOracle, Oracle, SubprocessOracle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [program, d, m0, m1, n] = args.as_slice() else {
        return Err("usage: oracle_throughput PROGRAM D M0 M1 N".into());
    };
    let (d, m0, m1, n): (usize, usize, usize, usize) =
        (d.parse()?, m0.parse()?, m1.parse()?, n.parse()?);
    let net = TeacherConfig::new(d, m0, m1).seed(1).generate()?;
    let file = std::env::temp_dir().join(format!("nnid-throughput-{}.json", std::process::id()));
    net.write_json(&file)?;
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let pts = Mat::from_fn(d, n, |_, _| rng.random_range(-1.0..1.0));
    let batch = 2000;

    let run = |name: &str, o: &dyn Oracle| -> Result<Vec<f64>, Box<dyn std::error::Error>> {
        let start = Instant::now();
        let mut out = Vec::with_capacity(n);
        for j0 in (0..n).step_by(batch) {
            let cols: Vec<usize> = (j0..(j0 + batch).min(n)).collect();
            out.extend(o.query(&pts.select_columns(&cols))?);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name:>22}: {n} points of d = {d} in {secs:.3} s = {:.1} µs per point ({:.0} points/s)",
            secs / n as f64 * 1e6,
            n as f64 / secs
        );
        Ok(out)
    };

    println!(
        "teacher (d, m0, m1) = ({d}, {m0}, {m1}), {} parameters",
        net.num_params()
    );
    let truth = run("in process", &NetworkOracle::new(net))?;
    let path = file.display().to_string();
    for (name, framing, extra) in [
        ("subprocess, text", Framing::Text, None),
        ("subprocess, binary", Framing::Binary, Some("--binary")),
    ] {
        let mut argv = vec!["eval", "--network", path.as_str()];
        argv.extend(extra);
        let o = SubprocessOracle::spawn(program, &argv, d)?.with_framing(framing);
        let got = run(name, &o)?;
        let same = got
            .iter()
            .zip(&truth)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        println!("{:>22}  answers identical to in process: {same}", "");
    }
    std::fs::remove_file(&file)?;
    Ok(())
}
