//! Mutual TLS for TCP between hosts.
//!
//! Why: a plain TCP port beyond loopback lets anyone who reaches it call
//! every enabled function. So every TCP connection that leaves the machine,
//! in both directions, is wrapped in TLS where *both* ends present a
//! certificate signed by one cluster CA (`tractor certs init` /
//! `tractor certs issue`), and a peer whose certificate comes from another
//! CA is refused at the handshake. Loopback TCP and UDS stay plain, so local
//! Python tractor actors interoperate as before (Python has no TLS: a TLS
//! address is Rust-only).
//!
//! The policy is per process ([`install`]): the root and every child
//! install theirs from `RuntimeVars` (`tls_dir`,
//! `tls`, `insecure`), which the envelope carries to children; programs
//! that open no actor (the `tractor` CLI's queries) read it from the
//! environment on first use. [`Listener::bind`](super::Listener::bind) and
//! [`connect`](super::connect) ask [`wants_tls`] whether an address gets
//! TLS, so nothing above `ipc` changes.
//!
//! Files in a TLS folder ([`CA_FILE`], [`CERT_FILE`], [`KEY_FILE`]) are
//! read once per folder and kept.

pub mod certs;
mod config;
mod errors;
mod transport;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::RwLock;

pub use config::TlsConfig;
pub use errors::TlsError;
pub use transport::{Tls, TlsListener};

use super::addr::Addr;

/// The cluster CA's certificate in a TLS folder.
pub const CA_FILE: &str = "ca.pem";
/// This node's certificate (signed by the CA) in a TLS folder.
pub const CERT_FILE: &str = "node.pem";
/// This node's private key in a TLS folder.
pub const KEY_FILE: &str = "node.key";
/// The environment variable naming the TLS folder when the runtime-vars
/// envelope names none.
pub const TLS_DIR_ENV: &str = "TRACTOR_TLS_DIR";

/// When TCP connections use TLS.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Beyond loopback only (the default): local Python peers keep working.
    #[default]
    Auto,
    /// Every TCP connection, loopback too (benchmarks, tests, paranoia).
    /// Rust-only: Python peers cannot connect.
    Always,
    /// Never; a non-loopback address then needs `insecure`.
    Off,
}

impl std::str::FromStr for TlsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(TlsMode::Auto),
            "always" => Ok(TlsMode::Always),
            "off" => Ok(TlsMode::Off),
            other => Err(format!(
                "unknown TLS mode {other:?}: expected \"auto\", \"always\" or \"off\""
            )),
        }
    }
}

/// One process's TLS policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// The folder with [`CA_FILE`], [`CERT_FILE`] and [`KEY_FILE`].
    pub dir: Option<PathBuf>,
    /// When to use TLS.
    pub mode: TlsMode,
    /// Allows plain TCP beyond loopback when no TLS folder is set.
    pub insecure: bool,
}

impl TlsSettings {
    /// The settings in the environment's runtime-vars envelope (only its
    /// `tls_dir`, `tls` and `insecure` keys; this layer does not know
    /// `RuntimeVars`, which builds them with `TlsSettings::from_vars`); the
    /// folder falls back to `$TRACTOR_TLS_DIR`.
    pub fn from_env() -> TlsSettings {
        #[derive(Default, serde::Deserialize)]
        #[serde(default)]
        struct Envelope {
            tls_dir: Option<PathBuf>,
            tls: TlsMode,
            insecure: bool,
        }
        let e: Envelope = match std::env::var(ENVELOPE_VAR) {
            Ok(v) if !v.is_empty() => serde_json::from_str(&v).unwrap_or_default(),
            _ => Envelope::default(),
        };
        TlsSettings {
            dir: e.tls_dir.or_else(dir_from_env),
            mode: e.tls,
            insecure: e.insecure,
        }
    }
}

/// The runtime-vars envelope's environment variable (re-exported as
/// `runtime::state::ENV_VAR`).
pub(crate) const ENVELOPE_VAR: &str = "_TRACTOR_RT_VARS";

/// `$TRACTOR_TLS_DIR`, when set and not empty.
pub fn dir_from_env() -> Option<PathBuf> {
    std::env::var_os(TLS_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

static SETTINGS: RwLock<Option<TlsSettings>> = RwLock::new(None);

/// Makes `s` this process's TLS policy.
pub fn install(s: TlsSettings) {
    *SETTINGS.write().unwrap_or_else(|p| p.into_inner()) = Some(s);
}

/// This process's TLS policy: the installed one, else the one in the
/// environment's runtime-vars envelope and `$TRACTOR_TLS_DIR`.
pub fn settings() -> TlsSettings {
    if let Some(s) = SETTINGS.read().unwrap_or_else(|p| p.into_inner()).clone() {
        return s;
    }
    let s = TlsSettings::from_env();
    install(s.clone());
    s
}

/// Which end of a connection we are, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// We listen.
    Listen,
    /// We dial.
    Dial,
}

/// Whether a TCP address gets TLS under the current policy: `Ok(Some)`
/// with the loaded certificates, `Ok(None)` for plain TCP, or an error in
/// words when the address needs TLS we do not have. UDS never does.
pub fn wants_tls(addr: &Addr, side: Side) -> Result<Option<std::sync::Arc<TlsConfig>>, TlsError> {
    let (sa, explicit): (SocketAddr, bool) = match addr {
        Addr::Uds(_) => return Ok(None),
        Addr::Tcp(sa) => (*sa, false),
        Addr::Tls(sa) => (*sa, true),
    };
    let s = settings();
    let beyond_loopback = !sa.ip().is_loopback();
    let needed = explicit
        || match s.mode {
            TlsMode::Always => true,
            TlsMode::Auto => beyond_loopback,
            TlsMode::Off => false,
        };
    match (&s.dir, needed) {
        (Some(dir), true) => Ok(Some(config::load(dir)?)),
        (None, true) if s.insecure && !explicit => {
            tracing::warn!(%addr, ?side, "plain TCP beyond loopback: insecure is set and no TLS folder is");
            Ok(None)
        }
        (None, true) => Err(TlsError::NoTlsDir {
            addr: addr.to_string(),
            side,
        }),
        (_, false) if beyond_loopback && !s.insecure => Err(TlsError::TlsOff {
            addr: addr.to_string(),
            side,
        }),
        (_, false) => Ok(None),
    }
}
