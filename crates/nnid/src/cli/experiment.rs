//! `nnid experiment` (hidden): runs a grid of trials and appends one JSON line per finished
//! trial (the harness of `cargo xtask`; see `nnid::experiment`).
//!
//! Trials already in the output file are skipped (resume). Ctrl-C stops after the current
//! trial, keeping every finished one; a second Ctrl-C exits at once. Exit codes: 0 all done,
//! 130 interrupted, 1 error.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use nnid::experiment::{Spec, append_record, done_keys, open_results, run_trial};
use nnid_linalg::BackendKind;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Arguments of `nnid experiment`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The grid to run (JSON, see `nnid::experiment::Spec`).
    #[arg(long)]
    spec: PathBuf,
    /// Results file (JSON Lines); trials already in it are skipped.
    #[arg(long)]
    out: PathBuf,
    /// Only run trials on these backends (comma-separated); default: every backend the
    /// spec names that is compiled in.
    #[arg(long, value_delimiter = ',')]
    backend: Vec<String>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.spec)
        .with_context(|| format!("reading {}", args.spec.display()))?;
    let spec = Spec::from_json(&text)?;
    let wanted: Vec<BackendKind> = args
        .backend
        .iter()
        .map(|b| b.parse())
        .collect::<Result<_, _>>()?;
    let done = done_keys(&args.out).with_context(|| format!("reading {}", args.out.display()))?;
    let all = spec.trials();
    let mut skipped_backends = std::collections::BTreeSet::new();
    let pending: Vec<_> = all
        .iter()
        .filter(|t| !done.contains(&t.key()))
        .filter(|t| match t.backend.parse::<BackendKind>() {
            Ok(k) if !wanted.is_empty() && !wanted.contains(&k) => false,
            Ok(k) if !k.is_compiled() => {
                skipped_backends.insert(k.name());
                false
            }
            _ => true,
        })
        .cloned()
        .collect();
    for b in &skipped_backends {
        eprintln!("nnid experiment: skipping the trials on `{b}`: not compiled into this binary");
    }
    let already = all.iter().filter(|t| done.contains(&t.key())).count();
    let filtered = all.len() - already - pending.len();
    eprintln!(
        "nnid experiment: {} trials in the spec, {already} already in {}, {filtered} on other backends, {} to run",
        all.len(),
        args.out.display(),
        pending.len()
    );

    let interrupts = Arc::new(AtomicUsize::new(0));
    {
        let interrupts = Arc::clone(&interrupts);
        ctrlc::set_handler(move || {
            if interrupts.fetch_add(1, Ordering::SeqCst) >= 1 {
                eprintln!("\nnnid experiment: second interrupt, exiting now (the current trial is lost)");
                std::process::exit(130);
            }
            eprintln!("\nnnid experiment: interrupted; stopping after the current trial (Ctrl-C again to stop now)");
        })
        .context("installing the Ctrl-C handler")?;
    }

    let mut file =
        open_results(&args.out).with_context(|| format!("opening {}", args.out.display()))?;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(pending.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} trials {elapsed_precise} (eta {eta}) {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let (mut failed, mut finished) = (0usize, 0usize);
    for trial in &pending {
        if interrupts.load(Ordering::SeqCst) > 0 {
            break;
        }
        bar.set_message(trial.label());
        let record = run_trial(trial);
        if !record.ok {
            failed += 1;
            bar.suspend(|| {
                eprintln!(
                    "nnid experiment: {} failed: {}",
                    trial.label(),
                    record.error.as_deref().unwrap_or("")
                )
            });
        }
        append_record(&mut file, &record)
            .with_context(|| format!("writing {}", args.out.display()))?;
        finished += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let interrupted = interrupts.load(Ordering::SeqCst) > 0 && finished < pending.len();
    eprintln!(
        "nnid experiment: {finished} trials written to {} ({failed} with errors){}",
        args.out.display(),
        if interrupted {
            "; interrupted: rerun the same command to continue"
        } else {
            ""
        }
    );
    Ok(if interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}
