//! HTTP readiness: a service is healthy when it answers HTTP, not merely
//! when its port listens (a gunicorn master listens while its workers
//! crash).

use std::io::{Read, Write};
use std::time::Duration;

/// The paths probed when no health URL is configured (contract §4.2).
pub const PROBE_PATHS: &[&str] = &["/api/v1/health", "/health", "/readyz", "/healthz", "/"];

/// The outcome of one health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthProbe {
    /// It answered well: (url, status).
    Healthy(String, u16),
    /// It answered, but with a server error: (url, status).
    Failing(String, u16),
    /// Nothing answered.
    NoAnswer,
}

impl HealthProbe {
    /// True for [`HealthProbe::Healthy`].
    pub fn ok(&self) -> bool {
        matches!(self, HealthProbe::Healthy(..))
    }
}

/// `GET url` over HTTP/1.0; the status code, or `None` if unreachable.
pub fn http_status(url: &str, timeout: Duration) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let (host, port) = hostport
        .rsplit_once(':')
        .map(|(h, p)| (h, p.parse().ok()))
        .unwrap_or((hostport, Some(80)));
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    let addr: std::net::SocketAddr = format!("{host}:{}", port?).parse().ok()?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n").ok()?;
    // Read the whole answer (HTTP/1.0: the server closes after it), so
    // we never close on unread data: that resets the connection and the
    // app logs a "connection reset" for every probe.
    let mut buf = Vec::new();
    let _ = s.take(256 * 1024).read_to_end(&mut buf);
    let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]).into_owned();
    head.split_whitespace().nth(1)?.parse().ok()
}

/// Checks a service once. With a configured `health_url`, only a 2xx/3xx
/// from it is healthy. Without one, the probe list is tried: a 2xx/3xx
/// from any is healthy; an app that answers every probe with 4xx (it has
/// no such routes) still answers HTTP and counts as healthy; a 5xx is
/// failing.
pub fn probe_health(port: u16, health_url: Option<&str>, timeout: Duration) -> HealthProbe {
    let good = |c: u16| (200..400).contains(&c);
    if let Some(url) = health_url {
        return match http_status(url, timeout) {
            Some(c) if good(c) => HealthProbe::Healthy(url.to_owned(), c),
            Some(c) => HealthProbe::Failing(url.to_owned(), c),
            None => HealthProbe::NoAnswer,
        };
    }
    let mut client_errors = None;
    for path in PROBE_PATHS {
        let url = format!("http://127.0.0.1:{port}{path}");
        match http_status(&url, timeout) {
            Some(c) if good(c) => return HealthProbe::Healthy(url, c),
            Some(c) if c >= 500 => return HealthProbe::Failing(url, c),
            Some(c) => client_errors = Some((url, c)),
            None => return HealthProbe::NoAnswer,
        }
    }
    match client_errors {
        Some((url, c)) => HealthProbe::Healthy(url, c),
        None => HealthProbe::NoAnswer,
    }
}
