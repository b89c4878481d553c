//! `nnid eval`: a saved network as a black box on stdin/stdout, speaking the subprocess
//! oracle protocol (docs/oracles.md), so a network file can serve as the oracle of another
//! program or of `nnid` itself.

use anyhow::{Context, bail};
use nnid_linalg::Mat;
use nnid_nn_model::Network;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `nnid eval` (the long help text below is shown by `nnid eval --help`).
#[derive(Debug, clap::Args)]
#[command(after_help = PROTOCOL_HELP)]
pub struct Args {
    /// The network file (JSON, see docs/file-format.md).
    #[arg(long, value_name = "FILE")]
    network: PathBuf,
    /// Binary framing: d little-endian f64 per point in, one little-endian f64 per value out.
    #[arg(long)]
    binary: bool,
}

const PROTOCOL_HELP: &str = "Protocol (docs/oracles.md): reads points from standard input and \
writes one value per point to standard output, in order, so a network file can serve as the black \
box of another program.
  Text (default): one point per line, d numbers separated by blanks; one value per line back, in \
the shortest scientific notation that reads back as the same f64 (e.g. 1.2345e-1).
  Binary (--binary): each point is d little-endian f64 (8·d bytes); each value one little-endian f64.
Output is flushed whenever no more input is waiting, so a program can send a query and wait for \
its answer. A malformed point (wrong count, not a number, NaN or infinite) stops nnid with an \
error naming its line (text) or its number counting from 1 (binary), after the values of the \
points before it.";

/// Points evaluated together (in parallel) at most, when that many are already waiting.
const MAX_BATCH: usize = 4096;

/// Runs `nnid eval`.
///
/// # Errors
/// An unreadable network file, a malformed point, or an I/O failure.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let net = Network::read_json(&args.network).map_err(|e| anyhow::anyhow!("{e}"))?;
    let reader = BufReader::with_capacity(1 << 16, std::io::stdin().lock());
    let mut out = Output {
        net: &net,
        binary: args.binary,
        points: Vec::new(),
        w: BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
    };
    let result = if args.binary {
        serve_binary(reader, &mut out)
    } else {
        serve_text(reader, &mut out)
    };
    // Whatever happened, the values of the points read before it are delivered first.
    let delivered = out.evaluate(true);
    match (result, delivered) {
        // The reader of our output has gone: nobody is left to tell.
        (Err(e), _) | (Ok(()), Err(e)) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(())) => Ok(ExitCode::SUCCESS),
    }
}

/// The pending points and where their values go.
struct Output<'a, W: Write> {
    net: &'a Network,
    binary: bool,
    /// Pending points, column-major.
    points: Vec<f64>,
    w: BufWriter<W>,
}

impl<W: Write> Output<'_, W> {
    fn push(&mut self, x: &[f64]) {
        self.points.extend_from_slice(x);
    }

    /// Evaluates and writes the pending points; flushes if `flush`.
    fn evaluate(&mut self, flush: bool) -> anyhow::Result<()> {
        let d = self.net.input_dim();
        if !self.points.is_empty() {
            let pts =
                Mat::from_col_major(d, self.points.len() / d, std::mem::take(&mut self.points));
            for v in self.net.values(&pts) {
                if self.binary {
                    self.w.write_all(&v.to_le_bytes())
                } else {
                    writeln!(self.w, "{v:e}")
                }
                .context("writing to standard output")?;
            }
        }
        if flush {
            self.w.flush().context("writing to standard output")?;
        }
        Ok(())
    }

    /// After a point: evaluate when the batch is full or no more input is waiting (then
    /// also flush, since the sender may be waiting for these answers).
    fn after_point(&mut self, input_waiting: bool) -> anyhow::Result<()> {
        let d = self.net.input_dim();
        if !input_waiting || self.points.len() >= MAX_BATCH * d {
            self.evaluate(!input_waiting)?;
        }
        Ok(())
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
    })
}

fn serve_text<R: Read, W: Write>(
    mut reader: BufReader<R>,
    out: &mut Output<'_, W>,
) -> anyhow::Result<()> {
    let d = out.net.input_dim();
    let mut line = Vec::new();
    let mut x = Vec::with_capacity(d);
    for lineno in 1.. {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .context("reading standard input")?
            == 0
        {
            return Ok(());
        }
        parse_line(&line, d, &mut x).map_err(|msg| anyhow::anyhow!("line {lineno}: {msg}"))?;
        out.push(&x);
        out.after_point(!reader.buffer().is_empty())?;
    }
    Ok(())
}

/// Parses one text point into `x`, or says what is wrong with it.
fn parse_line(line: &[u8], d: usize, x: &mut Vec<f64>) -> Result<(), String> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8 text".to_string())?;
    x.clear();
    for (k, token) in text.split_ascii_whitespace().enumerate() {
        let v: f64 = token.parse().map_err(|_| {
            let shown: String = token.chars().take(40).collect();
            format!("`{shown}` (number {}) is not a number", k + 1)
        })?;
        if !v.is_finite() {
            return Err(format!("number {} is {v}; points must be finite", k + 1));
        }
        x.push(v);
    }
    if x.len() != d {
        return Err(format!(
            "expected {d} numbers (the network's input dimension), got {}",
            x.len()
        ));
    }
    Ok(())
}

fn serve_binary<R: Read, W: Write>(
    mut reader: BufReader<R>,
    out: &mut Output<'_, W>,
) -> anyhow::Result<()> {
    let d = out.net.input_dim();
    let mut bytes = vec![0u8; 8 * d];
    let mut x = vec![0.0; d];
    for point in 1.. {
        let got = read_full(&mut reader, &mut bytes).context("reading standard input")?;
        if got == 0 {
            return Ok(());
        }
        if got < bytes.len() {
            bail!(
                "binary point {point}: input ended after {got} of its {} bytes (a point is {d} little-endian f64)",
                bytes.len()
            );
        }
        for (k, chunk) in bytes.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            x[k] = f64::from_le_bytes(b);
            if !x[k].is_finite() {
                bail!(
                    "binary point {point}: coordinate {} is {}; points must be finite",
                    k + 1,
                    x[k]
                );
            }
        }
        out.push(&x);
        out.after_point(!reader.buffer().is_empty())?;
    }
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
