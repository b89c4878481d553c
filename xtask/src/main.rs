//! Project automation for nnid, run as `cargo xtask <command>` (the alias is in
//! `.cargo/config.toml`; see matklad's cargo-xtask).
//!
//! This binary *orchestrates*; measuring happens in `nnid experiment`, a hidden subcommand
//! of the `nnid` program built in release mode with exactly the backends this machine can
//! build. xtask writes an experiment spec (JSON), builds `nnid` once with
//! `$CARGO build --release -p nnid --features …`, runs
//! `target/release/nnid experiment --spec S --out R.jsonl`, reads the JSON lines back and
//! writes markdown tables and SVG plots under `docs/results/`. It never links the pipeline,
//! so it builds on a machine without OpenBLAS and compiles fast.
//!
//! | command | writes |
//! |---|---|
//! | `compare-backends [--sizes 20,50,100] [--trials N]` | `docs/results/backends.md` |
//! | `reproduce [--quick]` | `docs/results/paper.md` (`paper-quick.md` with `--quick`) |
//! | `robust [--teachers N] [--side-teachers N] [--sizes d,m0,m1/…]` | `docs/results/robust.md` |
//! | `robust --noise [--sigmas …] [--noise-size d,m0,m1] [--float32-teachers N]` | `docs/results/noise.md`, `noise.svg` |
//! | `bench [--filter F]` | `docs/results/bench.md` |
//! | `scale [--sizes d,m0,m1/…] [--teachers N]` | `docs/results/scale.md`, `scale.svg` |
//!
//! Raw results are JSON Lines under `target/xtask/`; every long run shows progress, stops
//! cleanly on Ctrl-C after the current trial (keeping and reporting partial results) and
//! continues where it stopped when rerun with the same arguments.

mod bench;
mod compare;
mod flags;
mod noise;
mod probe;
mod reproduce;
mod results;
mod robust;
mod run;
mod scale;
mod stats;
mod table;
#[cfg(test)]
mod tidy;

use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    let root = project_root();
    let result = match flags.command {
        flags::Command::CompareBackends(args) => compare::run(&root, &args),
        flags::Command::Reproduce(args) => reproduce::run(&root, &args),
        flags::Command::Robust(args) => robust::run(&root, &args),
        flags::Command::Bench(args) => bench::run(&root, &args),
        flags::Command::Scale(args) => scale::run(&root, &args),
    };
    match result {
        Ok(()) if run::interrupted() => {
            eprintln!("xtask: interrupted; the report holds the partial results (exit status 130)");
            ExitCode::from(130)
        }
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            eprintln!("xtask: error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask/ sits directly in it.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
