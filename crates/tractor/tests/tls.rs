//! Mutual TLS over loopback with TLS forced on (`TlsMode::Always`): both
//! ends authenticate against the cluster CA, a peer from another CA is
//! refused at the handshake with the cause named while the listener keeps
//! serving, and the policy refuses plain TCP beyond loopback in words.
//! (Two hosts over a veth pair: `tractor-cli/tests/two_hosts_tls.rs`.)
//!
//! The TLS policy is per process; nextest runs each test in its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tractor::ipc::tls::{self, TlsConfig, TlsMode, TlsSettings, certs};
use tractor::ipc::{Addr, Listener, Tls};

const LIMIT: Duration = Duration::from_secs(30);

/// A CA in `root/name` and a node folder for 127.0.0.1 signed by it.
fn cluster(root: &Path, name: &str) -> PathBuf {
    let ca = root.join(name);
    certs::init_ca(&ca).unwrap();
    certs::issue_node(&ca, &["127.0.0.1".into()], None).unwrap()
}

fn force_tls(dir: &Path) {
    tls::install(TlsSettings {
        dir: Some(dir.to_path_buf()),
        mode: TlsMode::Always,
        insecure: false,
    });
}

async fn echo_once(l: &Listener) {
    let mut c = tokio::time::timeout(LIMIT, l.accept())
        .await
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 4];
    c.read.0.read_exact(&mut buf).await.unwrap();
    c.write.0.write_all(&buf).await.unwrap();
    c.write.0.flush().await.unwrap();
}

async fn ping(c: &mut tractor::ipc::Conn) -> [u8; 4] {
    c.write.0.write_all(b"ping").await.unwrap();
    c.write.0.flush().await.unwrap();
    let mut buf = [0u8; 4];
    c.read.0.read_exact(&mut buf).await.unwrap();
    buf
}

#[tokio::test]
async fn loopback_tcp_speaks_mutual_tls_when_forced() {
    let tmp = tempfile::tempdir().unwrap();
    force_tls(&cluster(tmp.path(), "ca"));
    let l = Listener::bind(&"/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .await
        .unwrap();
    assert!(matches!(l, Listener::Tls(..)), "{l:?}");
    let addr = l.local_addr().clone();
    let server = tokio::spawn(async move { echo_once(&l).await });
    let mut c = tractor::ipc::connect(&addr).await.unwrap();
    assert!(c.peer.starts_with("tls:127.0.0.1:"), "{}", c.peer);
    assert_eq!(&ping(&mut c).await, b"ping");
    server.await.unwrap();
}

#[tokio::test]
async fn a_client_from_another_ca_is_refused_and_the_listener_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let good = cluster(tmp.path(), "ca");
    let rogue = cluster(tmp.path(), "rogue");
    force_tls(&good);
    let l = Listener::bind(&"/ip4/127.0.0.1/tcp/0/tls".parse().unwrap())
        .await
        .unwrap();
    let addr = l.local_addr().clone();
    assert!(matches!(addr, Addr::Tls(_)), "{addr}");

    // A client of another cluster: it does not trust our server either.
    let rogue_cfg = Arc::new(TlsConfig::read(&rogue).unwrap());
    let e = Tls::connect_with(&addr, rogue_cfg).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("the peer's certificate is not signed by our cluster CA"),
        "{msg}"
    );
    // A client that trusts our CA but shows a certificate of another: the
    // server refuses it, and the client is told why.
    let mixed = tmp.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::copy(good.join("ca.pem"), mixed.join("ca.pem")).unwrap();
    for f in ["node.pem", "node.key"] {
        std::fs::copy(rogue.join(f), mixed.join(f)).unwrap();
    }
    let mixed_cfg = Arc::new(TlsConfig::read(&mixed).unwrap());
    let e = Tls::connect_with(&addr, mixed_cfg).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("the peer refused our certificate")
            && msg.contains("not signed by the peer's cluster CA"),
        "{msg}"
    );

    // The listener still serves a good client.
    let server = tokio::spawn(async move { echo_once(&l).await });
    let mut c = tractor::ipc::connect(&addr).await.unwrap();
    assert_eq!(&ping(&mut c).await, b"ping");
    server.await.unwrap();
}

#[tokio::test]
async fn a_server_from_another_ca_is_refused_by_the_client() {
    let tmp = tempfile::tempdir().unwrap();
    let good = cluster(tmp.path(), "ca");
    let rogue = cluster(tmp.path(), "rogue");
    force_tls(&good);
    let (_l, addr) = Tls::bind_with(
        &"/ip4/127.0.0.1/tcp/0/tls".parse().unwrap(),
        Arc::new(TlsConfig::read(&rogue).unwrap()),
    )
    .await
    .unwrap();
    let e = tractor::ipc::connect(&addr).await.unwrap_err().to_string();
    assert!(
        e.contains("the peer's certificate is not signed by our cluster CA"),
        "{e}"
    );
}

#[tokio::test]
async fn beyond_loopback_plain_tcp_is_refused_in_words_unless_insecure() {
    tls::install(TlsSettings::default());
    // 0.0.0.0 reaches beyond loopback.
    let wild: Addr = "/ip4/0.0.0.0/tcp/0".parse().unwrap();
    let e = Listener::bind(&wild).await.unwrap_err().to_string();
    for words in [
        "refusing to listen on /ip4/0.0.0.0/tcp/0 without TLS",
        "TRACTOR_TLS_DIR",
        "tractor certs init",
        "--insecure",
    ] {
        assert!(e.contains(words), "{words:?} missing from: {e}");
    }
    let e = tractor::ipc::connect(&"/ip4/10.255.255.1/tcp/1".parse().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("refusing to connect to /ip4/10.255.255.1/tcp/1 without TLS"),
        "{e}"
    );
    // Loopback stays plain, as Python peers need.
    let l = Listener::bind(&"/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .await
        .unwrap();
    assert!(matches!(l, Listener::Tcp(..)), "{l:?}");
    // `/tls` without a folder is refused even with insecure.
    tls::install(TlsSettings {
        insecure: true,
        ..Default::default()
    });
    let e = Listener::bind(&"/ip4/127.0.0.1/tcp/0/tls".parse().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("without TLS"), "{e}");
    // Insecure lets a plain listener beyond loopback start.
    let l = Listener::bind(&wild).await.unwrap();
    assert!(matches!(l, Listener::Tcp(..)), "{l:?}");
}

#[tokio::test]
async fn a_broken_tls_folder_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    force_tls(tmp.path());
    let e = Listener::bind(&"/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot read ca.pem") && e.contains("tractor certs init"),
        "{e}"
    );
}
