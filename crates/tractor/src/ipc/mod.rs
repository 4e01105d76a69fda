//! Inter-process communication: transports, framing and channels.
//!
//! Layers, bottom up: a [`Transport`] moves bytes (TCP, TCP with mutual
//! [`tls`] beyond loopback, or UDS); [`frame`]
//! cuts them into length-prefixed frames with a size limit; a [`Channel`]
//! turns frames into [`crate::msg::Msg`]s. Nothing here knows about actors.

mod addr;
mod chan;
pub mod frame;
mod rdonly;
pub mod ringbuf;
mod tcp;
pub mod tls;
mod transport;
mod uds;

pub use addr::{Addr, AddrParseError, Proto};
pub use chan::{ChanError, ChanReceiver, ChanSender, Channel};
pub use frame::{DEFAULT_MAX_FRAME, FrameCodec, FrameError, Limits, RawFrames};
pub use tcp::Tcp;
pub use tls::{Tls, TlsMode};
pub use transport::{BoxRead, BoxWrite, Conn, DebugIgnore, Listener, Transport, connect};
pub use uds::{ChildLink, Uds, UdsListener, ensure_bind_dir};
