//! One file per subcommand; this is the dispatcher.

mod call;
mod certs_init;
mod certs_issue;
mod ps;
mod registrar;
mod tree;

use tractor::RegistryAddr;
use tractor::devx::signals::Termination;

use crate::args::{CertsCommand, Cli, Command, RegistryArg};

/// How a command failed.
#[derive(Debug)]
pub enum Failure {
    /// Anything, with the message a person reads.
    Error(String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Error(e.to_string())
    }
}

/// How a command that did not fail ended.
#[derive(Debug)]
pub enum Ended {
    /// It finished its work.
    Done,
    /// A termination signal stopped it (after a clean shutdown); the
    /// process should end by that signal (see `crate::interrupt`).
    BySignal(Termination),
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> Result<Ended, Failure> {
    let mut rv = tractor::RuntimeVars::from_env().unwrap_or_default();
    rv.insecure |= cli.insecure;
    // Queries dial without an actor: they follow the same TLS policy.
    tractor::ipc::tls::install(tractor::ipc::tls::TlsSettings::from_vars(&rv));
    match cli.command {
        Command::Registrar { addr, store } => registrar::run(addr, store, rv).await,
        Command::Ps { registry, json } => {
            ps::run(&registry_addr(&registry)?, json).await?;
            Ok(Ended::Done)
        }
        Command::Call {
            name,
            target,
            kwargs,
            registry,
        } => {
            call::run(&registry_addr(&registry)?, &name, &target, &kwargs).await?;
            Ok(Ended::Done)
        }
        Command::Tree {
            registry,
            tasks,
            dump,
        } => {
            tree::run(&registry_addr(&registry)?, tasks, dump.as_deref()).await?;
            Ok(Ended::Done)
        }
        Command::Certs {
            action: CertsCommand::Init { dir },
        } => {
            certs_init::run(&dir)?;
            Ok(Ended::Done)
        }
        Command::Certs {
            action: CertsCommand::Issue { names, out, dir },
        } => {
            certs_issue::run(&dir, &names, out.as_deref())?;
            Ok(Ended::Done)
        }
    }
}

/// `--registry`, else the envelope's registry, else the default.
fn registry_addr(arg: &RegistryArg) -> Result<RegistryAddr, Failure> {
    if let Some(a) = &arg.registry {
        return Ok(a.clone());
    }
    match std::env::var(tractor::runtime::state::ENV_VAR) {
        Ok(v) if !v.is_empty() => Ok(tractor::RuntimeVars::load_from(&v)?.registry()),
        _ => Ok(RegistryAddr::Classic("/ip4/127.0.0.1/tcp/1616".parse()?)),
    }
}
