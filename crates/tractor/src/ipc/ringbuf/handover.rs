//! Handing a ring's descriptors to the other side: a one-shot Unix socket
//! in the session's bind-space folder and `SCM_RIGHTS`, which works the
//! same between processes and threads.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::{RingError, RingFds};

/// A one-shot Unix socket through which a ring's descriptors are handed
/// to the other side. Bound at once (so the peer may connect as soon as it
/// knows the path); the socket file is removed when the offer is done or
/// dropped.
#[derive(Debug)]
pub struct FdOffer {
    listener: tokio::net::UnixListener,
    path: std::path::PathBuf,
}

impl FdOffer {
    /// Binds the offer socket at `path`.
    pub fn bind(path: &Path) -> Result<FdOffer, RingError> {
        Ok(FdOffer {
            listener: tokio::net::UnixListener::bind(path)?,
            path: path.to_path_buf(),
        })
    }

    /// Waits for the peer to connect and sends it the descriptors.
    pub async fn hand_over(self, fds: RingFds) -> Result<(), RingError> {
        let (stream, _) = self.listener.accept().await?;
        // Connected: the name has served its purpose.
        let _ = std::fs::remove_file(&self.path);
        let std = stream.into_std()?;
        std.set_nonblocking(false)?;
        tokio::task::spawn_blocking(move || send_fds(std.as_raw_fd(), &fds).map(|()| drop(std)))
            .await
            .map_err(|e| RingError::Invalid(e.to_string()))??;
        Ok(())
    }
}

impl Drop for FdOffer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Connects to an offer at `path` and receives the descriptors.
pub async fn accept_fds(path: &Path) -> Result<RingFds, RingError> {
    let stream = tokio::net::UnixStream::connect(path).await?;
    let std = stream.into_std()?;
    std.set_nonblocking(false)?;
    tokio::task::spawn_blocking(move || recv_fds(std.as_raw_fd()).inspect(|_| drop(std)))
        .await
        .map_err(|e| RingError::Invalid(e.to_string()))?
}

fn send_fds(sock: RawFd, fds: &RingFds) -> Result<(), RingError> {
    use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
    let raw = [
        fds.mem.as_raw_fd(),
        fds.data_ready.as_raw_fd(),
        fds.space_ready.as_raw_fd(),
    ];
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let iov = [std::io::IoSlice::new(b"R")];
    sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None).map_err(io::Error::from)?;
    Ok(())
}

fn recv_fds(sock: RawFd) -> Result<RingFds, RingError> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 3]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let [m, d, s] = fds.as_slice()
        {
            // SAFETY: the kernel just installed these descriptors for us.
            return Ok(unsafe {
                RingFds {
                    mem: OwnedFd::from_raw_fd(*m),
                    data_ready: OwnedFd::from_raw_fd(*d),
                    space_ready: OwnedFd::from_raw_fd(*s),
                }
            });
        }
    }
    Err(RingError::Invalid("no descriptors arrived".into()))
}
