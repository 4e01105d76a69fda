//! `tractor`: the command-line face of the runtime.
//!
//! Exit codes: 0 success (a registrar stopped by a remote `self.cancel`
//! included), 1 the operation failed (registrar unreachable, actor not
//! found, remote error), 2 bad usage (clap's own code). A command that runs
//! until interrupted (`tractor registrar`) and is stopped by SIGINT, SIGTERM
//! or SIGHUP shuts down cleanly and then ends by that signal: status 130,
//! 143 or 129 in a shell (see [`interrupt`]).

mod args;
mod commands;
mod interrupt;
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
    let out = rt.block_on(commands::run(cli));
    // Every task (and the signal handlers' owner) is gone before a signal
    // is re-raised.
    drop(rt);
    match out {
        Ok(commands::Ended::Done) => ExitCode::SUCCESS,
        Ok(commands::Ended::BySignal(sig)) => interrupt::die_of(sig),
        Err(commands::Failure::Error(e)) => {
            eprintln!("tractor: {e}");
            ExitCode::FAILURE
        }
    }
}
