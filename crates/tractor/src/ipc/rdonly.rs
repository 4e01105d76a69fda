//! A socket watched for reading only: no wake-up each time the peer reads.
//!
//! tokio's `UnixStream`/`TcpStream` register their socket with the event
//! loop for reading *and* writing, edge-triggered. Every time the peer
//! consumes what we sent, the kernel frees send-buffer space and wakes our
//! `epoll_wait` with an `EPOLLOUT` edge nobody waits for. On a
//! request/response connection that is a second wake-up (and, on a shared
//! CPU, a second pair of context switches) per message: the profile of
//! `rpc_rtt_uds` showed each side waking twice per round trip, once for the
//! reply and once for the peer having read the request.
//!
//! Here the socket is registered for reading only. Writes go straight to
//! the socket (`send` with `MSG_NOSIGNAL`); only a write that finds the
//! send buffer full registers a duplicate of the descriptor for
//! writability, waits on it, and drops it again once a write goes through.
//! Small messages never fill the buffer, so a request/response connection
//! wakes once per message, as a blocking socket would.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

/// The two halves of a connected stream socket registered for reading
/// only (see the module docs). `S` owns the descriptor (a std
/// `UnixStream` or `TcpStream`, already non-blocking).
pub(crate) fn split<S: AsFd + AsRawFd + Send + Sync + 'static>(
    sock: S,
) -> io::Result<(ReadHalf<S>, WriteHalf<S>)> {
    let fd = Arc::new(register(sock, Interest::READABLE)?);
    Ok((
        ReadHalf { fd: fd.clone() },
        WriteHalf {
            fd,
            writable: None,
            shut: false,
        },
    ))
}

/// Registers an owned descriptor with the runtime's event loop.
fn register<T: AsFd + AsRawFd>(owner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
    // SAFETY: `owner` owns its descriptor (a std socket or an `OwnedFd`):
    // it stays open, the same file, and `as_raw_fd` returns the same
    // number for as long as the `AsyncFd` holds it.
    unsafe { AsyncFd::register_with_interest(owner, interest) }.map_err(|e| e.into())
}

/// The reading half.
pub(crate) struct ReadHalf<S: AsRawFd> {
    fd: Arc<AsyncFd<S>>,
}

/// The writing half. Dropping it shuts the write direction down (the peer
/// sees EOF), as tokio's owned write halves do.
pub(crate) struct WriteHalf<S: AsRawFd> {
    fd: Arc<AsyncFd<S>>,
    /// A duplicate of the descriptor registered for writability, only
    /// while a write is waiting for room.
    writable: Option<AsyncFd<OwnedFd>>,
    shut: bool,
}

impl<S: AsRawFd> AsyncRead for ReadHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            // SAFETY: `read` writes at most `unfilled.len()` bytes into the
            // unfilled part and never reads it; only the `n` bytes it
            // reports written are then marked initialised.
            let unfilled = unsafe { buf.unfilled_mut() };
            let want = unfilled.len();
            // SAFETY: the pointer and length describe `unfilled`, valid
            // for writes for the whole call; the descriptor is open while
            // `self.fd` lives.
            let n = unsafe {
                libc::read(
                    self.fd.get_ref().as_raw_fd(),
                    unfilled.as_mut_ptr().cast(),
                    want,
                )
            };
            if n >= 0 {
                let n = n as usize;
                if n > 0 && n < want {
                    // A short read drained the socket: wait for the next
                    // edge instead of reading again only to hear EAGAIN.
                    guard.clear_ready();
                }
                // SAFETY: `read` initialised the first `n` bytes.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => guard.clear_ready(),
                io::ErrorKind::Interrupted => {}
                _ => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<S: AsRawFd> WriteHalf<S> {
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        nix::sys::socket::send(
            self.fd.get_ref().as_raw_fd(),
            buf,
            nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
        )
        .map_err(io::Error::from)
    }
}

impl<S: AsFd + AsRawFd> AsyncWrite for WriteHalf<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.send(buf) {
                Ok(n) => {
                    // Room again: stop watching for it (no more EPOLLOUT
                    // wake-ups).
                    self.writable = None;
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            if self.writable.is_none() {
                let dup = self.fd.get_ref().as_fd().try_clone_to_owned()?;
                self.writable = Some(register(dup, Interest::WRITABLE)?);
            }
            let w = self.writable.as_ref().expect("registered above");
            let mut guard = ready!(w.poll_write_ready(cx))?;
            // Registration reports the state at that moment; an edge after
            // a full buffer means room. Either way: try again, and wait
            // for the next edge if there is still none.
            guard.clear_ready();
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}

impl<S: AsRawFd> WriteHalf<S> {
    /// Shuts the write direction down once; a peer already gone is fine.
    fn shutdown_write(&mut self) -> io::Result<()> {
        if self.shut {
            return Ok(());
        }
        self.shut = true;
        match nix::sys::socket::shutdown(
            self.fd.get_ref().as_raw_fd(),
            nix::sys::socket::Shutdown::Write,
        ) {
            Ok(()) | Err(nix::errno::Errno::ENOTCONN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl<S: AsRawFd> Drop for WriteHalf<S> {
    fn drop(&mut self) {
        let _ = self.shutdown_write();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    type Halves = (
        ReadHalf<std::os::unix::net::UnixStream>,
        WriteHalf<std::os::unix::net::UnixStream>,
    );

    fn pair() -> (Halves, Halves) {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (split(a).unwrap(), split(b).unwrap())
    }

    #[tokio::test]
    async fn bytes_cross_both_ways_and_dropping_the_writer_is_eof() {
        let ((mut ra, mut wa), (mut rb, wb)) = pair();
        wa.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        rb.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        drop(wb);
        let mut rest = Vec::new();
        assert_eq!(ra.read_to_end(&mut rest).await.unwrap(), 0, "EOF");
        drop(wa);
        assert_eq!(rb.read_to_end(&mut rest).await.unwrap(), 0, "EOF");
    }

    /// Far more than a socket buffer holds: the writer must wait for room
    /// (the lazily registered writability watch) and lose nothing.
    #[tokio::test]
    async fn a_full_send_buffer_waits_for_room_and_loses_nothing() {
        let ((_ra, mut wa), (mut rb, _wb)) = pair();
        let data: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = tokio::spawn(async move {
            wa.write_all(&data).await.unwrap();
            wa.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(30), rb.read_to_end(&mut got))
            .await
            .expect("all bytes arrive")
            .unwrap();
        writer.await.unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected);
    }

    /// The events `fd` is registered for in this process's epoll sets
    /// (from `/proc/self/fdinfo`), if it is registered.
    fn registered_events(fd: i32) -> Option<u32> {
        for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            if !target.to_string_lossy().contains("eventpoll") {
                continue;
            }
            let info = std::fs::read_to_string(format!(
                "/proc/self/fdinfo/{}",
                e.file_name().to_string_lossy()
            ))
            .unwrap_or_default();
            for line in info.lines() {
                let mut words = line.split_whitespace();
                if words.next() == Some("tfd:") && words.next() == Some(&fd.to_string()) {
                    let events = words.skip_while(|w| *w != "events:").nth(1)?;
                    return u32::from_str_radix(events, 16).ok();
                }
            }
        }
        None
    }

    /// The point of the module: the socket is not watched for
    /// writability, so the peer reading what we sent wakes nothing here.
    /// (tokio's own stream is, which is what this replaced.)
    #[tokio::test]
    async fn the_socket_is_registered_for_reading_only() {
        let out = libc::EPOLLOUT as u32;
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let fd = a.as_raw_fd();
        let (ra, _wa) = split(a).unwrap();
        let ours = registered_events(fd).expect("registered");
        assert_ne!(ours & libc::EPOLLIN as u32, 0, "watched for reading");
        assert_eq!(ours & out, 0, "not watched for writing: {ours:#x}");
        drop(ra);

        let (c, _d) = std::os::unix::net::UnixStream::pair().unwrap();
        c.set_nonblocking(true).unwrap();
        let fd = c.as_raw_fd();
        let tokio_stream = tokio::net::UnixStream::from_std(c).unwrap();
        let theirs = registered_events(fd).expect("registered");
        assert_ne!(theirs & out, 0, "tokio's stream watches writability");
        drop(tokio_stream);
    }
}
