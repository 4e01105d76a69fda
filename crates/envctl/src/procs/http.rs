//! HTTP readiness: a service is healthy when it answers HTTP, not merely
//! when its port listens (a gunicorn master listens while its workers
//! crash).

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

/// `GET url` (HTTP or HTTPS, no redirect followed); the status code, or
/// `None` if nothing answered within `timeout`. A self-signed certificate
/// is accepted: this asks whether the app answers, not who it is.
pub fn http_status(url: &str, timeout: Duration) -> Option<u16> {
    // `localhost` may resolve to ::1 first while the app listens on
    // 127.0.0.1 only: probe the address envctl gave it.
    let url = url.replacen("://localhost:", "://127.0.0.1:", 1).replacen(
        "://localhost/",
        "://127.0.0.1/",
        1,
    );
    let mut resp = agent()
        .get(&url)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()
        .ok()?;
    // Read the answer (bounded) so we never close on unread data: that
    // resets the connection and the app logs a "connection reset" for
    // every probe.
    let _ = resp
        .body_mut()
        .with_config()
        .limit(256 * 1024)
        .read_to_vec();
    Some(resp.status().as_u16())
}

/// One client for every probe: no redirects, every status is an answer
/// (not an error), certificates not verified.
fn agent() -> &'static ureq::Agent {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("envctl-health")
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .build(),
            )
            .build()
            .into()
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    /// A Python HTTP(S) server on a free port serving `dir`; its port.
    fn serve(dir: &std::path::Path, tls: Option<(&str, &str)>) -> (std::process::Child, u16) {
        let script = "import http.server,ssl,sys\n\
            s=http.server.HTTPServer(('127.0.0.1',0),http.server.SimpleHTTPRequestHandler)\n\
            if len(sys.argv)>1:\n\
            \x20c=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER);c.load_cert_chain(sys.argv[1],sys.argv[2])\n\
            \x20s.socket=c.wrap_socket(s.socket,server_side=True)\n\
            print(s.server_address[1],flush=True)\n\
            s.serve_forever()\n";
        let mut cmd = Command::new("python3");
        cmd.arg("-c").arg(script).current_dir(dir);
        if let Some((cert, key)) = tls {
            cmd.args([cert, key]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        (child, line.trim().parse().unwrap())
    }

    #[test]
    fn http_and_https_with_a_self_signed_certificate_answer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("health"), "ok").unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&c, cert.cert.pem()).unwrap();
        std::fs::write(&k, cert.key_pair.serialize_pem()).unwrap();
        let t = Duration::from_secs(10);

        let (mut plain, port) = serve(dir.path(), None);
        assert_eq!(
            http_status(&format!("http://localhost:{port}/health"), t),
            Some(200)
        );
        assert_eq!(
            http_status(&format!("http://127.0.0.1:{port}/nope"), t),
            Some(404)
        );
        let (mut tls, tls_port) =
            serve(dir.path(), Some((c.to_str().unwrap(), k.to_str().unwrap())));
        assert_eq!(
            http_status(&format!("https://127.0.0.1:{tls_port}/health"), t),
            Some(200)
        );
        // Plain HTTP to the TLS port is not an answer.
        assert_eq!(
            http_status(
                &format!("http://127.0.0.1:{tls_port}/health"),
                Duration::from_secs(2)
            ),
            None
        );
        for child in [&mut plain, &mut tls] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        // Nothing listens now.
        assert_eq!(
            http_status(&format!("http://127.0.0.1:{port}/health"), t),
            None
        );
    }
}
