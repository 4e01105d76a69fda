//! Unix-domain socket transport.
//!
//! Sockets live in a per-user bind-space folder created owner-only (0700);
//! each socket file is made owner-only (0600) and removed when its listener
//! closes. A socket file left behind by a dead process is reclaimed at bind
//! time: if nothing answers a connect on it, it is stale and is replaced;
//! if something answers, the bind fails with "address in use".

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

use super::addr::{Addr, Proto};
use super::transport::{Conn, DebugIgnore, Transport};

/// The UDS transport.
#[derive(Debug)]
pub struct Uds;

/// A bound UDS listener that unlinks its socket file on drop (only if the
/// file is still the one it created).
#[derive(Debug)]
pub struct UdsListener {
    inner: UnixListener,
    path: PathBuf,
    ino: (u64, u64),
}

impl Drop for UdsListener {
    fn drop(&mut self) {
        if let Ok(md) = std::fs::symlink_metadata(&self.path)
            && (md.dev(), md.ino()) == self.ino
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn uds_path(addr: &Addr) -> io::Result<&Path> {
    match addr {
        Addr::Uds(p) => Ok(p),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{other} is not a UDS address"),
        )),
    }
}

/// Creates `dir` (and parents) owner-only if it does not exist.
pub fn ensure_bind_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create bind-space folder {}: {e}", dir.display()),
            )
        })
}

fn conn(s: UnixStream) -> io::Result<Conn> {
    let peer = match s.peer_cred().ok().and_then(|c| c.pid()) {
        Some(pid) => format!("uds:pid {pid}"),
        None => "uds:peer".to_owned(),
    };
    std_conn(s.into_std()?, peer)
}

/// One end of a connected socket pair joining a parent and an actor it
/// starts in this process (`spawn::SpawnBackend::in_process`): no
/// listener, no dial, no accept in between. Each side speaks the usual
/// protocol on its end (the `Aid` exchange first), as on a connection
/// dialled to an address.
#[derive(Debug)]
pub struct ChildLink(std::os::unix::net::UnixStream);

impl ChildLink {
    /// A connected pair: the parent's end and the child's.
    pub fn pair() -> io::Result<(ChildLink, ChildLink)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((ChildLink(a), ChildLink(b)))
    }

    /// The connection over this end, labelled `peer` in messages. Must
    /// be called inside the tokio runtime that will use it.
    pub fn into_conn(self, peer: String) -> io::Result<Conn> {
        self.0.set_nonblocking(true)?;
        std_conn(self.0, peer)
    }
}

fn std_conn(s: std::os::unix::net::UnixStream, peer: String) -> io::Result<Conn> {
    // Watched for reading only: no wake-up each time the peer reads
    // what we sent (see `rdonly`).
    let (r, w) = super::rdonly::split(s)?;
    Ok(Conn {
        read: DebugIgnore(Box::pin(r)),
        write: DebugIgnore(Box::pin(w)),
        peer,
    })
}

impl Transport for Uds {
    type Listener = UdsListener;
    const PROTO: Proto = Proto::Uds;

    /// Binds first and asks questions after: the folder is made when the
    /// bind says it is missing, and a socket file already there is looked
    /// at only when the bind says the name is taken. The usual bind is
    /// then `bind`, `chmod` and one `statx` (for the inode the drop checks),
    /// not two more `statx` ahead of it (each a few microseconds on a disk
    /// filesystem, on every actor's start).
    async fn bind(addr: &Addr) -> io::Result<(UdsListener, Addr)> {
        let path = uds_path(addr)?;
        let mut bound = UnixListener::bind(path);
        if let Err(e) = &bound
            && e.kind() == io::ErrorKind::NotFound
            && let Some(dir) = path.parent()
        {
            ensure_bind_dir(dir)?;
            bound = UnixListener::bind(path);
        }
        if let Err(e) = &bound
            && e.kind() == io::ErrorKind::AddrInUse
        {
            match UnixStream::connect(path).await {
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("cannot listen on {addr}: another process is serving that socket"),
                    ));
                }
                Err(_) => {
                    tracing::debug!(path = %path.display(), "reclaiming stale socket file");
                    std::fs::remove_file(path)?;
                    bound = UnixListener::bind(path);
                }
            }
        }
        let inner =
            bound.map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let md = std::fs::symlink_metadata(path)?;
        Ok((
            UdsListener {
                inner,
                path: path.to_path_buf(),
                ino: (md.dev(), md.ino()),
            },
            addr.clone(),
        ))
    }

    async fn accept(l: &UdsListener) -> io::Result<Conn> {
        let (s, _) = l.inner.accept().await?;
        conn(s)
    }

    async fn connect(addr: &Addr) -> io::Result<Conn> {
        let path = uds_path(addr)?;
        let s = UnixStream::connect(path)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot connect to {addr}: {e}")))?;
        conn(s)
    }
}
