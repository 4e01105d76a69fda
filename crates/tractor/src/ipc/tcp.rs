//! TCP transport. Nagle is off: tractor's frames are small and latency
//! matters more than packet count.
//!
//! Beyond loopback a peer can vanish without a word (its host dies, a
//! partition): TCP would then wait for it for many minutes, and so would a
//! call. Keepalive probes and `TCP_USER_TIMEOUT` make the kernel give up
//! after [`DEAD_PEER_AFTER`], the connection fails, and its calls end with
//! `PeerGone` instead of hanging.

use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::addr::{Addr, Proto};
use super::transport::{Conn, DebugIgnore, Transport};

/// The TCP transport.
#[derive(Debug)]
pub struct Tcp;

fn tcp_addr(addr: &Addr) -> io::Result<std::net::SocketAddr> {
    match addr {
        Addr::Tcp(sa) => Ok(*sa),
        Addr::Tls(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr} asks for TLS; plain TCP cannot serve it"),
        )),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{other} is not a TCP address"),
        )),
    }
}

/// How long a peer beyond loopback may leave data unacknowledged, or an
/// idle connection's keepalive probes unanswered, before the connection
/// fails.
pub const DEAD_PEER_AFTER: Duration = Duration::from_secs(10);

/// Turns on dead-peer detection for a connection beyond loopback (see the
/// module docs); loopback connections are left as they are.
pub(crate) fn detect_dead_peer(s: &TcpStream) -> io::Result<()> {
    if s.peer_addr()?.ip().is_loopback() {
        return Ok(());
    }
    let sock = socket2::SockRef::from(s);
    sock.set_tcp_keepalive(
        &socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(3))
            .with_interval(Duration::from_secs(1))
            .with_retries(5),
    )?;
    sock.set_tcp_user_timeout(Some(DEAD_PEER_AFTER))
}

fn conn(s: TcpStream) -> io::Result<Conn> {
    s.set_nodelay(true)?;
    detect_dead_peer(&s)?;
    let peer = format!("tcp:{}", s.peer_addr()?);
    // Watched for reading only: no wake-up each time the peer reads
    // what we sent (see `rdonly`).
    let (r, w) = super::rdonly::split(s.into_std()?)?;
    Ok(Conn {
        read: DebugIgnore(Box::pin(r)),
        write: DebugIgnore(Box::pin(w)),
        peer,
    })
}

impl Transport for Tcp {
    type Listener = TcpListener;
    const PROTO: Proto = Proto::Tcp;

    async fn bind(addr: &Addr) -> io::Result<(TcpListener, Addr)> {
        let sa = tcp_addr(addr)?;
        let l = TcpListener::bind(sa)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let bound = Addr::Tcp(l.local_addr()?);
        Ok((l, bound))
    }

    async fn accept(l: &TcpListener) -> io::Result<Conn> {
        let (s, _) = l.accept().await?;
        conn(s)
    }

    async fn connect(addr: &Addr) -> io::Result<Conn> {
        let sa = tcp_addr(addr)?;
        let s = TcpStream::connect(sa)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot connect to {addr}: {e}")))?;
        conn(s)
    }
}
