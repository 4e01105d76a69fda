//! `tractor`: the command-line face of the runtime.
//!
//! Exit codes: 0 success (a registrar stopped by Ctrl-C included), 1 the
//! operation failed (registrar unreachable, actor not found, remote error),
//! 2 bad usage (clap's own code).

mod args;
mod commands;
mod json;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A `tractor` binary can itself be asked to run a spawned actor.
    tractor::maybe_run_child();
    let cli = args::Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tractor: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(commands::Failure::Error(e)) => {
            eprintln!("tractor: {e}");
            ExitCode::FAILURE
        }
    }
}
