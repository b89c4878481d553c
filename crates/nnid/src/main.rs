//! The `nnid` program.

#[cfg(not(any(feature = "faer", feature = "nalgebra", feature = "lapack")))]
compile_error!(
    "nnid needs a linear-algebra backend: enable one of the features `faer` (default), `nalgebra`, `lapack`"
);

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
