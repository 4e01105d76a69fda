//! Cancellation as in the protocol: a cancel request, an acknowledgement,
//! a grace period, then SIGTERM and SIGKILL.

use std::path::PathBuf;
use std::time::Duration;

use tractor::Error;

#[tractor::rpc]
async fn idle() {
    std::future::pending::<()>().await;
}

/// Blocks its actor's only thread: the actor can no longer see a cancel
/// request (or a SIGTERM, which its runtime would handle) until killed.
/// Says so first on the datagram socket at `notify`.
#[tractor::rpc]
async fn wedge(notify: PathBuf) {
    let s = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    s.send_to(b"wedged", &notify).expect("notify");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[tractor::rpc]
async fn subtree(leaves: u32) -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        for i in 0..leaves {
            n.start_actor(&format!("leaf-{i}"), &[]).await?;
        }
        std::future::pending::<()>().await;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn graceful_cancel_is_acknowledged_without_escalation() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let busy = n.start_actor("busy", &[idle::NS]).await?;
        let call = busy.run(idle {});
        let cancel = async {
            n.cancel().await;
            n.escalations()
        };
        let (res, escalations) = tokio::join!(call, cancel);
        assert_eq!(escalations, 0);
        let e = res.expect_err("the running call ends with the cancel");
        let r = e.as_remote().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(r.boxed_type(), "ContextCancelled");
        assert_eq!(r.canceller().map(|u| u.name.as_str()), Some("root"));
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 60, backend = "process")]
async fn a_child_ignoring_cancel_is_terminated_then_killed() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let notify = dir.path().join("wedged.sock");
    let wedged = tokio::net::UnixDatagram::bind(&notify)?;
    tractor::open_nursery(|n| async move {
        let stuck = n.start_actor("stuck", &[wedge::NS]).await?;
        let call = stuck.run(wedge {
            notify: notify.clone(),
        });
        let cancel = async {
            // Wait until the actor is really wedged.
            let mut buf = [0u8; 16];
            let got = tokio::time::timeout(Duration::from_secs(20), wedged.recv(&mut buf)).await;
            assert!(matches!(got, Ok(Ok(6))), "the actor never wedged: {got:?}");
            n.cancel().await;
            n.escalations()
        };
        let (res, escalations) = tokio::join!(call, cancel);
        assert_eq!(escalations, 1, "SIGTERM was ignored, SIGKILL did it");
        assert!(matches!(res, Err(Error::PeerGone { .. })), "{res:?}");
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 60, backend = "thread")]
async fn a_thread_actor_ignoring_cancel_is_reported_and_abandoned() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let notify = dir.path().join("wedged.sock");
    let wedged = tokio::net::UnixDatagram::bind(&notify)?;
    let r = tractor::open_nursery(|n| async move {
        let stuck = n.start_actor("stuck", &[wedge::NS]).await?;
        let call = stuck.run(wedge {
            notify: notify.clone(),
        });
        let cancel = async {
            let mut buf = [0u8; 16];
            let got = tokio::time::timeout(Duration::from_secs(20), wedged.recv(&mut buf)).await;
            assert!(matches!(got, Ok(Ok(6))), "the actor never wedged: {got:?}");
            n.cancel().await;
            n.escalations()
        };
        tokio::select! {
            _ = call => panic!("a wedged call cannot return"),
            escalations = cancel => assert_eq!(escalations, 1),
        }
        Ok(())
    })
    .await;
    let e = r.expect_err("the abandoned actor is reported");
    assert!(
        matches!(&e, Error::Abandoned { name, .. } if name == "stuck"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("thread actor \"stuck\" ignored cancellation"),
        "{e}"
    );
    Ok(())
}

#[tractor::test(timeout = 30)]
async fn cancelling_a_middle_actor_cancels_its_subtree_first() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let mid = n.start_actor("mid", &[subtree::NS]).await?;
        let run = mid.run(subtree { leaves: 2 });
        let cancel = async {
            tractor::wait_for_actor("leaf-0").await?;
            tractor::wait_for_actor("leaf-1").await?;
            assert!(mid.cancel_actor().await?, "acknowledged");
            Ok::<_, Error>(())
        };
        let (ran, cancelled) = tokio::join!(run, cancel);
        cancelled?;
        let e = ran.expect_err("cancelled");
        assert_eq!(
            e.as_remote().map(|r| r.boxed_type()),
            Some("ContextCancelled")
        );
        Ok(())
    })
    .await?;
    // The harness's /proc check proves the leaves are gone too.
    Ok(())
}

#[tractor::test(timeout = 30)]
async fn a_dropped_nursery_kills_its_children() -> Result<(), Error> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let scope = tractor::open_nursery(|n| async move {
        n.start_actor("orphan-candidate", &[]).await?;
        let _ = ready_tx.send(());
        std::future::pending::<()>().await;
        Ok(())
    });
    tokio::select! {
        _ = scope => unreachable!("the body never returns"),
        _ = ready_rx => {}
    }
    // The nursery future is dropped here: its safety net SIGKILLs the
    // child, and the harness checks nothing is left.
    Ok(())
}
