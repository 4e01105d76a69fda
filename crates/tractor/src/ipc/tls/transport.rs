//! TCP wrapped in mutual TLS, as a [`Transport`].
//!
//! Handshakes run in their own tasks, off the accept path: a slow or
//! hostile peer cannot stall the listener, and a refused one is logged and
//! dropped while the listener keeps serving. After a successful handshake
//! the server sends one acknowledgement byte, which the dialer waits for:
//! in TLS 1.3 the client finishes its handshake *before* the server has
//! checked the client's certificate, so without it a refused client would
//! only learn so at its first read. With it, `connect` fails with the
//! reason (costs one round trip per connection, none per message).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::config::TlsConfig;
use super::errors::explain;
use super::{Side, wants_tls};
use crate::ipc::addr::{Addr, Proto};
use crate::ipc::transport::{Conn, DebugIgnore, Transport};

/// The byte a server sends once it has accepted a client's certificate.
const ACK: u8 = 0x06;
/// How long a handshake (and its acknowledgement) may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accepted connections waiting for `accept`.
const BACKLOG: usize = 64;

/// The mutual-TLS transport (TCP underneath).
#[derive(Debug)]
pub struct Tls;

/// A TLS listener: a task accepts TCP connections and runs their
/// handshakes; [`Tls::accept`] hands out the ones that succeeded. Dropping
/// it stops the task and every handshake in flight.
#[derive(Debug)]
pub struct TlsListener {
    ready: Mutex<mpsc::Receiver<Conn>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn socket_addr(addr: &Addr) -> io::Result<SocketAddr> {
    match addr {
        Addr::Tcp(sa) | Addr::Tls(sa) => Ok(*sa),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{other} is not a TCP address"),
        )),
    }
}

/// `addr` with the port the OS gave it, in the same form.
fn with_addr(addr: &Addr, sa: SocketAddr) -> Addr {
    match addr {
        Addr::Tls(_) => Addr::Tls(sa),
        _ => Addr::Tcp(sa),
    }
}

fn config_for(addr: &Addr, side: Side) -> io::Result<Arc<TlsConfig>> {
    wants_tls(addr, side)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr}: the TLS policy says plain TCP for this address"),
        )
    })
}

fn split<S>(s: S, peer: String) -> Conn
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + 'static,
{
    let (r, w) = tokio::io::split(s);
    Conn {
        read: DebugIgnore(Box::pin(r)),
        write: DebugIgnore(Box::pin(w)),
        peer,
    }
}

impl Tls {
    /// Binds `addr` with the certificates in `cfg` (whatever the policy).
    pub async fn bind_with(addr: &Addr, cfg: Arc<TlsConfig>) -> io::Result<(TlsListener, Addr)> {
        let sa = socket_addr(addr)?;
        let l = TcpListener::bind(sa)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let bound = with_addr(addr, l.local_addr()?);
        let (tx, rx) = mpsc::channel(BACKLOG);
        let acceptor = TlsAcceptor::from(cfg.server.clone());
        let task = tokio::spawn(accept_loop(l, acceptor, tx));
        Ok((
            TlsListener {
                ready: Mutex::new(rx),
                task,
            },
            bound,
        ))
    }

    /// Dials `addr` with the certificates in `cfg` (whatever the policy).
    pub async fn connect_with(addr: &Addr, cfg: Arc<TlsConfig>) -> io::Result<Conn> {
        let sa = socket_addr(addr)?;
        let tcp = TcpStream::connect(sa)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot connect to {addr}: {e}")))?;
        tcp.set_nodelay(true)?;
        let peer = format!("tls:{sa}");
        let connector = TlsConnector::from(cfg.client.clone());
        let shake = async {
            let mut s = connector.connect(sa.ip().into(), tcp).await?;
            let mut ack = [0u8; 1];
            s.read_exact(&mut ack).await?;
            if ack[0] != ACK {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("expected the TLS acknowledgement byte, got {:#04x}", ack[0]),
                ));
            }
            Ok(s)
        };
        let s = match tokio::time::timeout(HANDSHAKE_TIMEOUT, shake).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let why = explain(&e, &peer);
                tracing::warn!("{why}");
                return Err(io::Error::new(io::ErrorKind::PermissionDenied, why));
            }
            Err(_) => {
                let why = format!(
                    "TLS handshake with {peer} timed out after {HANDSHAKE_TIMEOUT:?} (does it speak TLS?)"
                );
                tracing::warn!("{why}");
                return Err(io::Error::new(io::ErrorKind::TimedOut, why));
            }
        };
        Ok(split(s, peer))
    }
}

async fn accept_loop(l: TcpListener, acceptor: TlsAcceptor, tx: mpsc::Sender<Conn>) {
    let mut shakes = JoinSet::new();
    loop {
        let (tcp, from) = tokio::select! {
            r = l.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "TLS listener: accept failed");
                    // Back off briefly on resource exhaustion (EMFILE...).
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // Reap finished handshakes so the set does not grow.
            Some(_) = shakes.join_next(), if !shakes.is_empty() => continue,
            _ = tx.closed() => return,
        };
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        shakes.spawn(async move {
            let peer = format!("tls:{from}");
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(%peer, error = %e, "TLS listener: cannot set TCP_NODELAY");
            }
            let shake = async {
                let mut s = acceptor.accept(tcp).await?;
                s.write_all(&[ACK]).await?;
                s.flush().await?;
                Ok::<_, io::Error>(s)
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, shake).await {
                Ok(Ok(s)) => {
                    let _ = tx.send(split(s, peer)).await;
                }
                Ok(Err(e)) => tracing::warn!("{}; still listening", explain(&e, &peer)),
                Err(_) => tracing::warn!(
                    "TLS handshake with {peer} timed out after {HANDSHAKE_TIMEOUT:?}; still listening"
                ),
            }
        });
    }
}

impl Transport for Tls {
    type Listener = TlsListener;
    const PROTO: Proto = Proto::Tcp;

    async fn bind(addr: &Addr) -> io::Result<(TlsListener, Addr)> {
        let cfg = config_for(addr, Side::Listen)?;
        Tls::bind_with(addr, cfg).await
    }

    async fn accept(l: &TlsListener) -> io::Result<Conn> {
        l.ready.lock().await.recv().await.ok_or_else(|| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the TLS listener's task ended")
        })
    }

    async fn connect(addr: &Addr) -> io::Result<Conn> {
        let cfg = config_for(addr, Side::Dial)?;
        Tls::connect_with(addr, cfg).await
    }
}
