//! Is a Postgres server accepting connections? What `pg_isready` answers,
//! without a process per question: a readiness poll during start and
//! every `health` ask it, and spawning `pg_isready` (through Debian's
//! `pg_config` shell wrapper to find it) cost more than the answer.
//!
//! The check speaks the start of the frontend/backend protocol (v3): a
//! startup message, then the first byte of the answer. An authentication
//! request (`R`) means the server accepts connections; so does any error
//! except "the database system is starting up / shutting down / in
//! recovery" (SQLSTATE `57P03`, cannot_connect_now) — a wrong role or
//! database is still a server that answers, as `PQping` counts it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The answer of one ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ping {
    /// It accepts connections.
    Ready,
    /// It answers but refuses connections for now (starting up, shutting
    /// down, recovering): the SQLSTATE and message.
    NotNow(String),
    /// Nothing answered (refused, timed out, not Postgres).
    NoAnswer,
}

/// The startup message for `user` on `database` (protocol 3.0).
fn startup(user: &str, database: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes());
    for (k, v) in [("user", user), ("database", database)] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    msg.extend(body);
    msg
}

/// The fields of an `ErrorResponse` body: (code, value) pairs.
fn error_fields(body: &[u8]) -> Vec<(u8, String)> {
    body.split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| (f[0], String::from_utf8_lossy(&f[1..]).into_owned()))
        .collect()
}

/// Reads the server's first message: its type byte and body.
fn first_message(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if !(4..=64 * 1024).contains(&len) {
        return None;
    }
    let mut body = vec![0u8; len - 4];
    s.read_exact(&mut body).ok()?;
    Some((head[0], body))
}

/// Asks the server on `127.0.0.1:port` whether it accepts connections.
pub fn ping(port: u16, timeout: Duration) -> Ping {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, timeout) else {
        return Ping::NoAnswer;
    };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    if s.write_all(&startup("postgres", "postgres")).is_err() {
        return Ping::NoAnswer;
    }
    let answer = match first_message(&mut s) {
        Some((b'R', _)) => Ping::Ready,
        Some((b'E', body)) => {
            let fields = error_fields(&body);
            let get = |c: u8| fields.iter().find(|(k, _)| *k == c).map(|(_, v)| v.clone());
            match get(b'C') {
                Some(code) if code == "57P03" => {
                    Ping::NotNow(format!("{code}: {}", get(b'M').unwrap_or_default()))
                }
                Some(_) => Ping::Ready,
                None => Ping::NoAnswer,
            }
        }
        _ => Ping::NoAnswer,
    };
    if answer == Ping::Ready {
        // Terminate, so the server logs a clean goodbye, not an EOF.
        let _ = s.write_all(&[b'X', 0, 0, 0, 4]);
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_startup_message_is_protocol_3() {
        let m = startup("postgres", "db");
        assert_eq!(&m[..4], &(m.len() as u32).to_be_bytes());
        assert_eq!(&m[4..8], &[0, 3, 0, 0]);
        assert_eq!(&m[8..], b"user\0postgres\0database\0db\0\0");
    }

    #[test]
    fn an_error_body_splits_into_fields() {
        let body = b"SFATAL\0C57P03\0Mthe database system is starting up\0\0";
        let f = error_fields(body);
        assert_eq!(f[1], (b'C', "57P03".into()));
        assert_eq!(f[2], (b'M', "the database system is starting up".into()));
    }

    #[test]
    fn nothing_listening_is_no_answer_and_a_non_postgres_peer_too() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        // An HTTP-ish peer: answers garbage, then closes.
        let peer = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 64];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
        });
        assert_eq!(ping(port, Duration::from_secs(5)), Ping::NoAnswer);
        peer.join().unwrap();
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(ping(free, Duration::from_secs(1)), Ping::NoAnswer);
    }
}
