//! The two transports behind one trait: UDS bind-space permissions,
//! socket clean-up and stale-socket reclaim, loopback defaults, and the
//! Aid handshake's failure cases.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use tractor::ipc::{Addr, Channel, Listener, Proto};
use tractor::msg::{Aid, Msg, Stop};

fn aid(name: &str) -> Aid {
    Aid {
        name: name.into(),
        uuid: uuid_like(name),
        pid: Some(std::process::id().into()),
        is_registrar: Some(false),
        is_probe: false,
    }
}

fn uuid_like(seed: &str) -> String {
    format!("{:0>8}-0000-4000-8000-000000000000", seed.len())
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn uds_bind_space_is_private_and_sockets_are_removed_on_close() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tractor").join("session");
    let addr = Addr::Uds(dir.join("a@1.sock"));
    let l = Listener::bind(&addr).await.unwrap();
    assert_eq!(mode(&dir), 0o700, "bind-space folder is owner-only");
    assert_eq!(mode(&dir.join("a@1.sock")), 0o600, "socket is owner-only");
    drop(l);
    assert!(
        !dir.join("a@1.sock").exists(),
        "removed when the listener closes"
    );
}

#[tokio::test]
async fn a_stale_socket_is_reclaimed_but_a_live_one_is_not_stolen() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("s.sock");
    // A socket file whose listener is gone (as after a crash).
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let addr = Addr::Uds(path.clone());
    let live = Listener::bind(&addr).await.expect("stale file reclaimed");
    let e = Listener::bind(&addr).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    assert!(
        e.to_string()
            .contains("another process is serving that socket"),
        "{e}"
    );
    drop(live);
}

#[tokio::test]
async fn default_binds_are_loopback_only() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Addr::random(Proto::Tcp, tmp.path(), "x");
    assert!(a.is_local());
    let l = Listener::bind(&a).await.unwrap();
    let Addr::Tcp(sa) = l.local_addr() else {
        unreachable!()
    };
    assert!(sa.ip().is_loopback());
    assert_ne!(sa.port(), 0, "the real port is reported");
}

async fn pair(addr: &Addr) -> (Channel, Channel) {
    let l = Listener::bind(addr).await.unwrap();
    let bound = l.local_addr().clone();
    let server = tokio::spawn(async move { Channel::new(l.accept().await.unwrap(), 1 << 20) });
    let client = Channel::connect(&bound, 1 << 20).await.unwrap();
    (client, server.await.unwrap())
}

fn both(dir: &std::path::Path) -> [Addr; 2] {
    [
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        Addr::Uds(dir.join("h.sock")),
    ]
}

#[tokio::test]
async fn handshake_exchanges_aids_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    for addr in both(tmp.path()) {
        let (mut c, mut s) = pair(&addr).await;
        let (ca, sa) = (aid("client"), aid("server"));
        let (a, b) = tokio::join!(
            c.handshake(&ca, Duration::from_secs(5)),
            s.handshake(&sa, Duration::from_secs(5))
        );
        assert_eq!(a.unwrap().name, "server");
        assert_eq!(b.unwrap().name, "client");
    }
}

#[tokio::test]
async fn handshake_failures_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    for addr in both(tmp.path()) {
        // The peer sends something that is not an Aid.
        let (mut c, s) = pair(&addr).await;
        s.send(&Msg::Stop(Stop { cid: "x".into() })).await.unwrap();
        let e = c
            .handshake(&aid("c"), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            e.to_string().ends_with("expected an Aid first, got Stop"),
            "{e}"
        );

        // The peer hangs up.
        let (mut c, s) = pair(&addr).await;
        drop(s);
        let e = c
            .handshake(&aid("c"), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("closed the connection before sending its Aid")
                || e.to_string().contains("sending to"),
            "{e}"
        );

        // The peer says nothing.
        let (mut c, _s) = pair(&addr).await;
        let e = c
            .handshake(&aid("c"), Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(e.to_string().ends_with("no Aid within 100ms"), "{e}");
    }
}
