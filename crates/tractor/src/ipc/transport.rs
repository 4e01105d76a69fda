//! One trait over the byte-stream transports, and the listener/dialer that
//! dispatch on an [`Addr`]'s kind.
//!
//! A transport only moves bytes; framing and messages live above it, so
//! TCP, TLS and UDS share every line of code except `bind`, `accept` and
//! `connect`. Whether a TCP address gets TLS is the TLS policy's call
//! ([`tls::wants_tls`]), made here for listeners and dialers alike.

use std::future::Future;
use std::io;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

use super::addr::{Addr, Proto};
use super::tls::{self, Side};
use super::{tcp, uds};

/// The read half of a connection, transport erased.
pub type BoxRead = Pin<Box<dyn AsyncRead + Send + Sync>>;
/// The write half of a connection, transport erased.
pub type BoxWrite = Pin<Box<dyn AsyncWrite + Send + Sync>>;

/// A connected stream, split into halves, with a label for its peer.
#[derive(Debug)]
pub struct Conn {
    /// Reading half.
    pub read: DebugIgnore<BoxRead>,
    /// Writing half.
    pub write: DebugIgnore<BoxWrite>,
    /// Who is on the other end, for messages a person reads
    /// (`tcp:127.0.0.1:4242`, `uds:pid 1234`).
    pub peer: String,
}

/// Wraps a value whose `Debug` output is useless.
pub struct DebugIgnore<T>(pub T);

impl<T> std::fmt::Debug for DebugIgnore<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// A byte-stream transport tractor can speak over.
pub trait Transport: Send + Sync + 'static {
    /// The bound listening socket.
    type Listener: Send + Sync + 'static;

    /// Which protocol this is.
    const PROTO: Proto;

    /// Binds `addr`; returns the listener and the address actually bound
    /// (port 0 becomes a real port).
    fn bind(addr: &Addr) -> impl Future<Output = io::Result<(Self::Listener, Addr)>> + Send;

    /// Accepts one connection.
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Conn>> + Send;

    /// Dials `addr`.
    fn connect(addr: &Addr) -> impl Future<Output = io::Result<Conn>> + Send;
}

/// A listening socket of either transport.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(<tcp::Tcp as Transport>::Listener, Addr),
    /// UDS; the socket file is removed when this is dropped.
    Uds(<uds::Uds as Transport>::Listener, Addr),
    /// TCP with mutual TLS.
    Tls(<tls::Tls as Transport>::Listener, Addr),
}

impl Listener {
    /// Binds `addr` with the transport its form names (TCP with TLS where
    /// the TLS policy says so; a non-loopback address without TLS is
    /// refused unless the policy is `insecure`).
    pub async fn bind(addr: &Addr) -> io::Result<Listener> {
        Ok(match addr.proto() {
            Proto::Tcp => match tls::wants_tls(addr, Side::Listen)? {
                Some(cfg) => {
                    let (l, a) = tls::Tls::bind_with(addr, cfg).await?;
                    Listener::Tls(l, a)
                }
                None => {
                    let (l, a) = tcp::Tcp::bind(addr).await?;
                    Listener::Tcp(l, a)
                }
            },
            Proto::Uds => {
                let (l, a) = uds::Uds::bind(addr).await?;
                Listener::Uds(l, a)
            }
        })
    }

    /// The address bound (with the real port for TCP).
    pub fn local_addr(&self) -> &Addr {
        match self {
            Listener::Tcp(_, a) | Listener::Uds(_, a) | Listener::Tls(_, a) => a,
        }
    }

    /// Accepts one connection.
    pub async fn accept(&self) -> io::Result<Conn> {
        match self {
            Listener::Tcp(l, _) => tcp::Tcp::accept(l).await,
            Listener::Uds(l, _) => uds::Uds::accept(l).await,
            Listener::Tls(l, _) => tls::Tls::accept(l).await,
        }
    }
}

/// Dials `addr` with the transport its form names (TCP with TLS where the
/// TLS policy says so).
pub async fn connect(addr: &Addr) -> io::Result<Conn> {
    match addr.proto() {
        Proto::Tcp => match tls::wants_tls(addr, Side::Dial)? {
            Some(cfg) => tls::Tls::connect_with(addr, cfg).await,
            None => tcp::Tcp::connect(addr).await,
        },
        Proto::Uds => uds::Uds::connect(addr).await,
    }
}
