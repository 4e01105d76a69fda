//! Bad input on the wire: every malformed frame gets an error a person can
//! read (naming the problem and the peer), and a listener keeps serving
//! its other peers — including the golden `invalid/` frames, some of which
//! kill a Python tractor actor.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tractor::ipc::{Addr, ChanError, Channel, Listener};
use tractor::msg::{Msg, Stop};

const LIMIT: Duration = Duration::from_secs(20);

fn invalid_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/tractor/invalid")
}

fn stop() -> Msg {
    Msg::Stop(Stop {
        cid: "7e4c2f1a-9b8d-4c6e-a5f3-2d1e0c9b8a76".into(),
    })
}

/// Where a test listens: loopback TCP, or a socket in its own folder.
fn addrs(dir: &std::path::Path) -> Vec<Addr> {
    vec![
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        Addr::Uds(dir.join("listener.sock")),
    ]
}

/// An echo server: answers every valid message with itself and reports
/// every error it saw on `errors`. Serves each connection in its own task,
/// so one bad peer cannot stop the others.
async fn echo_server(
    addr: &Addr,
    max_frame: usize,
) -> (
    Addr,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::task::JoinHandle<()>,
) {
    let l = Listener::bind(addr).await.unwrap();
    let bound = l.local_addr().clone();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let Ok(conn) = l.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut chan = Channel::new(conn, max_frame);
                loop {
                    match chan.recv().await {
                        Ok(Some(m)) => {
                            if chan.send(&m).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let fatal = e.is_fatal();
                            let _ = tx.send(e.to_string());
                            if fatal {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (bound, rx, task)
}

async fn raw(addr: &Addr) -> tractor::ipc::Conn {
    tractor::ipc::connect(addr).await.unwrap()
}

/// A well-behaved client still gets its echo.
async fn still_serving(addr: &Addr) {
    let mut c = Channel::connect(addr, 1 << 20).await.unwrap();
    c.send(&stop()).await.unwrap();
    let got = tokio::time::timeout(LIMIT, c.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, Some(stop()), "the listener kept serving");
}

async fn next_error(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(LIMIT, rx.recv())
        .await
        .expect("an error is reported")
        .expect("server alive")
}

#[tokio::test]
async fn every_golden_invalid_frame_is_a_clear_error_and_the_listener_keeps_serving() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(invalid_dir().join("invalid.json")).unwrap())
            .unwrap();
    let expected: &[(&str, &str)] = &[
        (
            "truncated_body",
            "bad frame from PEER: peer hung up mid-frame: got 32 of 61 bytes",
        ),
        (
            "truncated_header",
            "bad frame from PEER: peer hung up mid-frame: got 2 of 4 bytes",
        ),
        (
            "wrong_tag_field",
            "bad message from PEER: invalid message: missing the `msg_type` tag",
        ),
        (
            "unknown_msg_type",
            "bad message from PEER: invalid `Bogus` message: unknown msg_type \"Bogus\"",
        ),
        (
            "array_encoded_struct",
            "bad message from PEER: invalid message: expected a map tagged by `msg_type`, got array",
        ),
        (
            "bad_field_type",
            "bad message from PEER: invalid `Start` message: field `kwargs`: expected map, got array",
        ),
        (
            "missing_required_field",
            "bad message from PEER: invalid `StartAck` message: missing required field `functype`",
        ),
        (
            "bad_functype",
            "bad message from PEER: invalid `StartAck` message: field `functype`: \"sync\" is not one of",
        ),
        (
            "garbage_msgpack",
            "bad message from PEER: invalid message: not valid msgpack",
        ),
        (
            "trailing_bytes",
            "bad message from PEER: invalid message: 1 trailing byte(s) after the message",
        ),
        (
            // Named by its type (read from the frame's first bytes); the
            // frame would be discarded and the connection kept, but this
            // peer then hangs up mid-frame (checked below).
            "oversized_length",
            "bad message from PEER: invalid `Stop` message: a message of 4294967295 bytes exceeds the 1048576-byte frame limit (RuntimeVars::max_frame_bytes); it was discarded unread",
        ),
        (
            "zero_length",
            "bad message from PEER: invalid message: empty frame (no msgpack object)",
        ),
    ];
    assert_eq!(
        index.as_array().unwrap().len(),
        expected.len(),
        "every invalid vector is covered"
    );
    let dir = tempfile::tempdir().unwrap();
    for addr in addrs(dir.path()) {
        let (bound, mut errors, server) = echo_server(&addr, 1 << 20).await;
        for (name, want) in expected {
            let frame = std::fs::read(invalid_dir().join(format!("{name}.frame"))).unwrap();
            let mut conn = raw(&bound).await;
            // The server labels peers by address (TCP) or pid (UDS).
            conn.write.0.write_all(&frame).await.unwrap();
            conn.write.0.shutdown().await.unwrap();
            let got = next_error(&mut errors).await;
            let (prefix, rest) = want.split_once("PEER").unwrap();
            assert!(got.starts_with(prefix), "{name}: {got}");
            // "<peer>: <what was wrong>", the peer named by address or pid.
            let (peer, tail) = got[prefix.len()..].split_once(": ").unwrap();
            assert!(
                peer.starts_with("tcp:127.0.0.1:") || peer.starts_with("uds:"),
                "{name}: {got}"
            );
            assert!(
                tail.starts_with(rest.trim_start_matches(": ")),
                "{name}: {got}"
            );
            if *name == "oversized_length" {
                let then = next_error(&mut errors).await;
                assert!(
                    then.ends_with("peer hung up mid-frame: got 61 of 4294967299 bytes"),
                    "{then}"
                );
            }
            still_serving(&bound).await;
        }
        server.abort();
    }
}

#[tokio::test]
async fn a_bad_message_inside_a_good_frame_leaves_the_connection_usable() {
    let dir = tempfile::tempdir().unwrap();
    for addr in addrs(dir.path()) {
        let (bound, mut errors, server) = echo_server(&addr, 1 << 20).await;
        let frame = std::fs::read(invalid_dir().join("bad_field_type.frame")).unwrap();
        let conn = raw(&bound).await;
        let mut chan = Channel::new(conn, 1 << 20);
        // Send the raw bad frame through the same connection, then a good one.
        {
            let mut c2 = raw(&bound).await;
            c2.write.0.write_all(&frame).await.unwrap();
            let e = next_error(&mut errors).await;
            assert!(e.contains("field `kwargs`: expected map, got array"), "{e}");
            // Same connection, next frame: still served.
            let mut good = Vec::new();
            tractor::ipc::frame::write_frame_into(&stop(), &mut good);
            c2.write.0.write_all(&good).await.unwrap();
            let mut back = Channel::new(c2, 1 << 20);
            let got = tokio::time::timeout(LIMIT, back.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, Some(stop()));
        }
        chan.send(&stop()).await.unwrap();
        assert_eq!(chan.recv().await.unwrap(), Some(stop()));
        server.abort();
    }
}

#[tokio::test]
async fn an_oversized_incoming_frame_is_reported_with_its_cid_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    for addr in addrs(dir.path()) {
        let (bound, mut errors, server) = echo_server(&addr, 1024).await;
        // A client with a bigger limit sends what the server refuses.
        let mut chan = Channel::connect(&bound, 1 << 20).await.unwrap();
        let big = Msg::Yield(tractor::msg::Payload {
            cid: "big-one".into(),
            pld: tractor::msg::Value::Binary(vec![0u8; 100_000]),
        });
        chan.send(&big).await.unwrap();
        let e = next_error(&mut errors).await;
        assert!(e.starts_with("bad message from "), "{e}");
        assert!(
            e.contains("invalid `Yield` message: a message of 100")
                && e.contains("bytes exceeds the 1024-byte frame limit"),
            "{e}"
        );
        chan.send(&stop()).await.unwrap();
        let back = tokio::time::timeout(LIMIT, chan.recv()).await.unwrap();
        assert_eq!(back.unwrap(), Some(stop()), "same connection, still served");
        server.abort();
    }
}

#[tokio::test]
async fn an_oversized_outgoing_message_is_refused_and_the_channel_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    for addr in addrs(dir.path()) {
        let (bound, _errors, server) = echo_server(&addr, 1 << 20).await;
        let mut chan = Channel::connect(&bound, 1024).await.unwrap();
        let big = Msg::Yield(tractor::msg::Payload {
            cid: "c".into(),
            pld: tractor::msg::Value::Binary(vec![0u8; 4096]),
        });
        let e = chan.send(&big).await.unwrap_err();
        assert!(matches!(e, ChanError::TooLarge { max: 1024, .. }), "{e}");
        assert!(
            e.to_string()
                .contains("exceeds the 1024-byte frame limit; not sent"),
            "{e}"
        );
        chan.send(&stop()).await.unwrap();
        assert_eq!(chan.recv().await.unwrap(), Some(stop()), "still usable");
        server.abort();
    }
}

#[tokio::test]
async fn clean_eof_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for addr in addrs(dir.path()) {
        let l = Listener::bind(&addr).await.unwrap();
        let bound = l.local_addr().clone();
        let accept = tokio::spawn(async move { Channel::new(l.accept().await.unwrap(), 1 << 20) });
        let c = Channel::connect(&bound, 1 << 20).await.unwrap();
        let mut server_side = accept.await.unwrap();
        c.send(&stop()).await.unwrap();
        c.tx.close().await;
        assert_eq!(server_side.recv().await.unwrap(), Some(stop()));
        assert_eq!(
            server_side.recv().await.unwrap(),
            None,
            "EOF at a frame boundary"
        );
    }
}
