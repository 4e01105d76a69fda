//! TCP transport. Nagle is off: tractor's frames are small and latency
//! matters more than packet count.

use std::io;

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

fn conn(s: TcpStream) -> io::Result<Conn> {
    s.set_nodelay(true)?;
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
