//! Every command and flag, defined once: clap derives the parser, `--help`
//! and the usage errors from these definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tractor::ipc::Addr;
use tractor::{EtcdEndpoints, RegistryAddr};

/// Distributed structured concurrency: run a registrar, list actors, call
/// their functions, show the actor tree.
#[derive(Debug, Parser)]
#[command(name = "tractor", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Allow plain, unauthenticated TCP beyond loopback when no TLS folder
    /// (TRACTOR_TLS_DIR) is set. Anyone who reaches the port can then call
    /// every enabled function.
    #[arg(long, global = true)]
    pub insecure: bool,
}

/// The registry to ask: `--registry ADDR`, else the one in the
/// `_TRACTOR_RT_VARS` envelope, else `/ip4/127.0.0.1/tcp/1616`.
#[derive(Debug, clap::Args)]
pub struct RegistryArg {
    /// Registry address: a registrar's multiaddr, e.g.
    /// /ip4/127.0.0.1/tcp/1616 or
    /// /unix/run/user/1000/tractor/registry@1616.sock, or an etcd cluster,
    /// etcd://HOST:PORT[,HOST:PORT...].
    #[arg(long, value_name = "ADDR")]
    pub registry: Option<RegistryAddr>,
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
        /// Also keep the table in this etcd cluster
        /// (etcd://HOST:PORT[,HOST:PORT...]): actors that register here,
        /// Python ones too, are then found through etcd.
        #[arg(long, value_name = "ETCD")]
        store: Option<EtcdEndpoints>,
    },
    /// List the actors registered in a registry.
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
        /// Also show each actor's live task tree (its RPC calls, contexts,
        /// connections, nurseries and children), asked over RPC.
        #[arg(long)]
        tasks: bool,
        /// Write the tree with every actor's task tree to FILE instead of
        /// printing it.
        #[arg(long, value_name = "FILE")]
        dump: Option<PathBuf>,
    },
    /// Make the cluster CA and node certificates for mutual TLS between
    /// hosts.
    Certs {
        /// Which step.
        #[command(subcommand)]
        action: CertsCommand,
    },
}

/// `tractor certs ...`.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create a cluster CA (CA_DIR/ca.pem, CA_DIR/ca.key); refuses to
    /// replace an existing one.
    Init {
        /// The CA folder (created if missing). Keep ca.key on this machine.
        #[arg(value_name = "CA_DIR")]
        dir: PathBuf,
    },
    /// Issue a node certificate signed by the CA in CA_DIR, written as a
    /// TLS folder (ca.pem, node.pem, node.key) to copy to the host and
    /// point TRACTOR_TLS_DIR at.
    Issue {
        /// The host's IP address or DNS name, as peers dial it (repeat for
        /// more; the first names the output folder).
        #[arg(long = "name", value_name = "HOST", required = true)]
        names: Vec<String>,
        /// Where to write the TLS folder (default: CA_DIR/HOST).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The CA folder made by `tractor certs init`.
        #[arg(value_name = "CA_DIR")]
        dir: PathBuf,
    },
}
