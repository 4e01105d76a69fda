//! `tractor certs init|issue` and a registrar over mutual TLS on loopback
//! (`/tls`): a peer with another CA's certificate is refused with the cause
//! named by both the client and the registrar's log, which keeps serving;
//! bad input to `certs` gets a clear error. (Across two hosts:
//! `two_hosts_tls.rs`.)

mod common;

use std::path::Path;

use common::*;
use nix::sys::signal::Signal;
use tractor::ipc::Addr;

#[test]
fn certs_and_a_registrar_over_mutual_tls() {
    let (rv, reg) = session();
    let tmp = tempfile::tempdir().unwrap();
    let dir = |p: &Path| p.to_str().unwrap().to_owned();
    let (ca, rogue) = (tmp.path().join("ca"), tmp.path().join("rogue"));
    for d in [&ca, &rogue] {
        let (code, out) = tractor(&["certs", "init", &dir(d)], &rv);
        assert_eq!(code, 0, "{out}");
        let (code, out) = tractor(&["certs", "issue", "--name", "127.0.0.1", &dir(d)], &rv);
        assert_eq!(code, 0, "{out}");
    }
    // Bad input: a second CA in the same folder, a name that is no host,
    // a folder without a CA.
    let (code, out) = tractor(&["certs", "init", &dir(&ca)], &rv);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("already holds a CA"), "{out}");
    let (code, out) = tractor(&["certs", "issue", "--name", "a b", &dir(&ca)], &rv);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a host name or IP address"), "{out}");
    let (code, out) = tractor(&["certs", "issue", "--name", "x", &dir(tmp.path())], &rv);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("holds no CA"), "{out}");

    // A client that trusts our CA but shows another CA's certificate.
    let mixed = tmp.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::copy(ca.join("127.0.0.1/ca.pem"), mixed.join("ca.pem")).unwrap();
    for f in ["node.pem", "node.key"] {
        std::fs::copy(rogue.join("127.0.0.1").join(f), mixed.join(f)).unwrap();
    }

    let Addr::Tcp(sa) = reg else {
        unreachable!("session() gives a TCP registrar")
    };
    let tls_reg = Addr::Tls(sa);
    let tls_reg_s = tls_reg.to_string();
    let mut good = rv.clone();
    good.tls_dir = Some(ca.join("127.0.0.1"));
    let mut registrar = registrar(&good, &tls_reg);

    let ps = ["ps", "--registry", tls_reg_s.as_str()];
    let mut bad = rv.clone();
    bad.tls_dir = Some(mixed);
    let (code, out) = tractor(&ps, &bad);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the peer refused our certificate") && out.contains("cluster CA"),
        "{out}"
    );
    registrar
        .wait_for_line("not signed by our cluster CA", LIMIT)
        .expect("the registrar logs the refusal");
    let (code, out) = tractor(&ps, &good);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("registrar"), "{out}");

    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    drop(registrar);
    assert_clean(&rv);
}
