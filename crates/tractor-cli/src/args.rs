//! Every command and flag, defined once: clap derives the parser, `--help`
//! and the usage errors from these definitions.

use clap::{Parser, Subcommand};
use tractor::ipc::Addr;

/// Distributed structured concurrency: run a registrar, list actors, call
/// their functions, show the actor tree.
#[derive(Debug, Parser)]
#[command(name = "tractor", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The registrar to ask: `--registry MULTIADDR`, else the one in the
/// `_TRACTOR_RT_VARS` envelope, else `/ip4/127.0.0.1/tcp/1616`.
#[derive(Debug, clap::Args)]
pub struct RegistryArg {
    /// Registrar address (multiaddr), e.g. /ip4/127.0.0.1/tcp/1616 or
    /// /unix/run/user/1000/tractor/registry@1616.sock.
    #[arg(long, value_name = "MULTIADDR")]
    pub registry: Option<Addr>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a standalone registrar until Ctrl-C.
    Registrar {
        /// Where to listen.
        #[arg(
            long,
            value_name = "MULTIADDR",
            default_value = "/ip4/127.0.0.1/tcp/1616"
        )]
        addr: Addr,
    },
    /// List the actors registered with a registrar.
    Ps {
        #[command(flatten)]
        registry: RegistryArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Call a function on a named actor and print the result as JSON.
    Call {
        /// The actor's name (or uuid).
        name: String,
        /// The function as NAMESPACE.FUNCTION (the last dot separates them),
        /// e.g. `my_crate::workers.add` or `self.cancel`.
        target: String,
        /// Keyword arguments as a JSON object.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        kwargs: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Show the parent → child structure of the registered actors.
    Tree {
        #[command(flatten)]
        registry: RegistryArg,
    },
}
