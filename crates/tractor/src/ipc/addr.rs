//! Transport addresses: what a person types, and what goes on the wire.
//!
//! People type multiaddr strings (`/ip4/127.0.0.1/tcp/1616`,
//! `/unix/run/user/1000/tractor/registry@1616.sock`); the wire carries
//! Python's "unwrapped" pairs ([`WireAddr`]). [`Addr`] is the one type in
//! between, and it round-trips through both `FromStr`/`Display` and
//! [`WireAddr`].
//!
//! `/tls` after a TCP address (`/ip4/10.0.0.1/tcp/1616/tls`) asks for
//! mutual TLS on it ([`Addr::Tls`], see [`super::tls`]). The wire has no
//! such flag (Python tractor has no TLS): a TLS address goes out as its
//! plain host and port, and a peer that reads it back dials TCP, which the
//! TLS policy wraps in TLS beyond loopback anyway.
//!
//! TCP forms are parsed by the `multiaddr` crate. The `unix` protocol is a
//! *path* protocol in the multiaddr table (it takes the whole rest of the
//! string, as py-multiaddr and Python tractor read it), which the crate
//! models as a single segment; so `/unix/...` is read here directly.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use multiaddr::{Multiaddr, Protocol};

use crate::msg::WireAddr;

/// The transports tractor speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP over IPv4 or IPv6.
    Tcp,
    /// Unix-domain stream sockets.
    Uds,
}

impl Proto {
    /// The key Python tractor uses (`"tcp"`, `"uds"`).
    pub fn key(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Uds => "uds",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Proto {
    type Err = AddrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Proto::Tcp),
            "uds" | "unix" => Ok(Proto::Uds),
            other => Err(AddrParseError(format!(
                "unknown transport {other:?}: expected \"tcp\" or \"uds\""
            ))),
        }
    }
}

/// An address an actor listens on or dials.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
    /// A TCP socket address (an IP literal and a port); TLS or not is the
    /// policy's call ([`super::tls::wants_tls`]).
    Tcp(SocketAddr),
    /// A TCP socket address with mutual TLS whatever the policy (`/tls`).
    /// Rust-only: Python tractor has no TLS.
    Tls(SocketAddr),
    /// A Unix-domain socket path.
    Uds(PathBuf),
}

/// A string or wire value that is not an address we can use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AddrParseError(String);

impl Addr {
    /// The transport this address belongs to.
    pub fn proto(&self) -> Proto {
        match self {
            Addr::Tcp(_) | Addr::Tls(_) => Proto::Tcp,
            Addr::Uds(_) => Proto::Uds,
        }
    }

    /// Python tractor's default registrar address for a transport:
    /// `127.0.0.1:1616`, or `registry@1616.sock` in `bind_dir`.
    pub fn default_registrar(proto: Proto, bind_dir: &Path) -> Addr {
        match proto {
            Proto::Tcp => Addr::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1616)),
            Proto::Uds => Addr::Uds(bind_dir.join("registry@1616.sock")),
        }
    }

    /// A loopback address with a port or socket name the OS or we pick.
    pub fn random(proto: Proto, bind_dir: &Path, name: &str) -> Addr {
        match proto {
            Proto::Tcp => Addr::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)),
            Proto::Uds => Addr::uds_for(bind_dir, name, &std::process::id().to_string()),
        }
    }

    /// The UDS address `<bind_dir>/<name>@<tag>.sock` (Python's form, with
    /// the pid as the tag), with unsafe or over-long names hashed.
    pub fn uds_for(bind_dir: &Path, name: &str, tag: &str) -> Addr {
        Addr::Uds(bind_dir.join(uds_sockname(name, bind_dir, tag)))
    }

    /// The unwrapped form for the wire (a TLS address as its plain host
    /// and port: the wire has no TLS flag).
    pub fn to_wire(&self) -> WireAddr {
        match self {
            Addr::Tcp(sa) | Addr::Tls(sa) => WireAddr::Tcp {
                host: sa.ip().to_string(),
                port: sa.port(),
            },
            Addr::Uds(p) => WireAddr::Uds {
                dir: p
                    .parent()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                file: p
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            },
        }
    }

    /// Reads an unwrapped wire address.
    pub fn from_wire(w: &WireAddr) -> Result<Addr, AddrParseError> {
        match w {
            WireAddr::Tcp { host, port } => {
                let ip: IpAddr = host.parse().map_err(|_| {
                    AddrParseError(format!(
                        "TCP host {host:?} is not an IP literal (tractor does not resolve names)"
                    ))
                })?;
                Ok(Addr::Tcp(SocketAddr::new(ip, *port)))
            }
            WireAddr::Uds { dir, file } => Ok(Addr::Uds(Path::new(dir).join(file))),
        }
    }

    /// True for loopback TCP and for every UDS address.
    pub fn is_local(&self) -> bool {
        match self {
            Addr::Tcp(sa) | Addr::Tls(sa) => sa.ip().is_loopback(),
            Addr::Uds(_) => true,
        }
    }
}

/// The socket file name Python tractor gives an actor: `<name>@<pid>.sock`,
/// or a hash of the name when it would not make a safe or short enough path.
fn uds_sockname(name: &str, dir: &Path, tag: &str) -> String {
    let plain = format!("{name}@{tag}.sock");
    let unsafe_name = name.is_empty() || name.contains('/') || name.contains('\0');
    // sun_path is 108 bytes on Linux, including the terminating NUL.
    if unsafe_name || dir.join(&plain).as_os_str().len() >= 107 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        format!("actor.{:016x}@{tag}.sock", h.finish())
    } else {
        plain
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(SocketAddr::V4(a)) => write!(f, "/ip4/{}/tcp/{}", a.ip(), a.port()),
            Addr::Tcp(SocketAddr::V6(a)) => write!(f, "/ip6/{}/tcp/{}", a.ip(), a.port()),
            Addr::Tls(sa) => write!(f, "{}/tls", Addr::Tcp(*sa)),
            Addr::Uds(p) => {
                let s = p.to_string_lossy();
                write!(f, "/unix/{}", s.trim_start_matches('/'))
            }
        }
    }
}

impl FromStr for Addr {
    type Err = AddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("/unix/") {
            if rest.is_empty() {
                return Err(AddrParseError(format!("{s:?}: /unix needs a socket path")));
            }
            return Ok(Addr::Uds(PathBuf::from(format!("/{rest}"))));
        }
        let ma: Multiaddr = s.parse().map_err(|e| {
            AddrParseError(format!(
                "{s:?} is not a multiaddr ({e}); expected /ip4/HOST/tcp/PORT[/tls], /ip6/HOST/tcp/PORT[/tls] or /unix/PATH"
            ))
        })?;
        let protos: Vec<Protocol<'_>> = ma.iter().collect();
        match protos.as_slice() {
            [Protocol::Ip4(ip), Protocol::Tcp(port)] => {
                Ok(Addr::Tcp(SocketAddr::new(IpAddr::V4(*ip), *port)))
            }
            [Protocol::Ip6(ip), Protocol::Tcp(port)] => {
                Ok(Addr::Tcp(SocketAddr::new(IpAddr::V6(*ip), *port)))
            }
            [Protocol::Ip4(ip), Protocol::Tcp(port), Protocol::Tls] => {
                Ok(Addr::Tls(SocketAddr::new(IpAddr::V4(*ip), *port)))
            }
            [Protocol::Ip6(ip), Protocol::Tcp(port), Protocol::Tls] => {
                Ok(Addr::Tls(SocketAddr::new(IpAddr::V6(*ip), *port)))
            }
            _ => Err(AddrParseError(format!(
                "{s:?}: unsupported protocol combination; expected /ip4/HOST/tcp/PORT[/tls], /ip6/HOST/tcp/PORT[/tls] or /unix/PATH"
            ))),
        }
    }
}

impl serde::Serialize for Addr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Addr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiaddrs_round_trip() {
        for s in [
            "/ip4/127.0.0.1/tcp/1616",
            "/ip6/::1/tcp/80",
            "/unix/run/user/1000/tractor/registry@1616.sock",
        ] {
            let a: Addr = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
            assert_eq!(Addr::from_wire(&a.to_wire()).unwrap(), a);
        }
    }

    #[test]
    fn tls_multiaddrs_round_trip_and_go_out_as_plain_tcp() {
        for (s, plain) in [
            ("/ip4/10.0.0.1/tcp/1616/tls", "/ip4/10.0.0.1/tcp/1616"),
            ("/ip6/::1/tcp/80/tls", "/ip6/::1/tcp/80"),
        ] {
            let a: Addr = s.parse().unwrap();
            assert!(matches!(a, Addr::Tls(_)), "{a:?}");
            assert_eq!(a.to_string(), s);
            assert_eq!(a.proto(), Proto::Tcp);
            // Python reads the wire: no TLS flag there.
            assert_eq!(Addr::from_wire(&a.to_wire()).unwrap().to_string(), plain);
        }
        let e = "/ip4/10.0.0.1/tls/tcp/1".parse::<Addr>().unwrap_err();
        assert!(e.to_string().contains("/ip4/HOST/tcp/PORT[/tls]"), "{e}");
    }

    #[test]
    fn wire_forms_match_python() {
        let a: Addr = "/unix/run/user/1000/tractor/registry@1616.sock"
            .parse()
            .unwrap();
        assert_eq!(
            a.to_wire(),
            WireAddr::Uds {
                dir: "/run/user/1000/tractor".into(),
                file: "registry@1616.sock".into()
            }
        );
        let t: Addr = "/ip4/127.0.0.1/tcp/1616".parse().unwrap();
        assert_eq!(
            t.to_wire(),
            WireAddr::Tcp {
                host: "127.0.0.1".into(),
                port: 1616
            }
        );
    }

    #[test]
    fn bad_addresses_say_what_is_expected() {
        let e = "/dns/localhost/tcp/1".parse::<Addr>().unwrap_err();
        assert!(e.to_string().contains("expected /ip4/HOST/tcp/PORT"), "{e}");
        let e = "127.0.0.1:1616".parse::<Addr>().unwrap_err();
        assert!(e.to_string().contains("not a multiaddr"), "{e}");
        let e = Addr::from_wire(&WireAddr::Tcp {
            host: "localhost".into(),
            port: 1,
        })
        .unwrap_err();
        assert!(e.to_string().contains("not an IP literal"), "{e}");
    }

    #[test]
    fn long_names_are_hashed() {
        let dir = Path::new("/tmp");
        let long = "x".repeat(200);
        let Addr::Uds(p) = Addr::random(Proto::Uds, dir, &long) else {
            unreachable!()
        };
        assert!(p.as_os_str().len() < 108);
        let Addr::Uds(p) = Addr::random(Proto::Uds, dir, "a/b") else {
            unreachable!()
        };
        assert!(
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("actor.")
        );
    }
}
