//! An error in any child cancels its siblings and surfaces in the parent;
//! several at once surface together.

use std::time::Duration;

use tractor::Error;

#[tractor::rpc]
async fn fail_after(ms: u64, why: String) -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Err(std::io::Error::other(why))
}

#[tractor::rpc]
async fn answer() -> u32 {
    42
}

#[tractor::test(timeout = 30)]
async fn run_in_actor_returns_results() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let a = n.run_in_actor("a", answer {}).await?;
        let b = n.run_in_actor("b", answer {}).await?;
        assert_eq!(a.result_as::<u32>().await?, 42);
        assert_eq!(b.result_as::<u32>().await?, 42);
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn one_failing_child_cancels_its_siblings() -> Result<(), Error> {
    let r = tractor::open_nursery(|n| async move {
        // A daemon that would run forever, and a one-shot actor that fails.
        n.start_actor("bystander", &[answer::NS]).await?;
        n.run_in_actor(
            "failing",
            fail_after {
                ms: 10,
                why: "disk full".into(),
            },
        )
        .await?;
        Ok(())
    })
    .await;
    let e = r.expect_err("the failure surfaces in the parent");
    let remote = e.as_remote().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(remote.src_uid().name, "failing");
    assert_eq!(remote.message(), "disk full");
    // The bystander was cancelled: the harness's /proc check proves it is gone.
    Ok(())
}

/// Says "ready" on `notify`, blocks this actor's only thread until a
/// datagram arrives on `gate`, then fails. While blocked the actor cannot
/// act on a cancel request, so once released it fails for sure.
#[tractor::rpc]
async fn fail_when_released(
    notify: std::path::PathBuf,
    gate: std::path::PathBuf,
    why: String,
) -> Result<(), std::io::Error> {
    let g = std::os::unix::net::UnixDatagram::bind(&gate)?;
    std::os::unix::net::UnixDatagram::unbound()?.send_to(b"ready", &notify)?;
    let mut buf = [0u8; 8];
    g.recv(&mut buf)?;
    Err(std::io::Error::other(why))
}

#[tractor::test(timeout = 30)]
async fn several_failures_surface_together() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let notify = dir.path().join("ready.sock");
    let ready = tokio::net::UnixDatagram::bind(&notify)?;
    let gates = [dir.path().join("f1.sock"), dir.path().join("f2.sock")];
    let r = tractor::open_nursery(|n| async move {
        for (name, gate) in ["f1", "f2"].into_iter().zip(&gates) {
            n.run_in_actor(
                name,
                fail_when_released {
                    notify: notify.clone(),
                    gate: gate.clone(),
                    why: format!("{name} failed"),
                },
            )
            .await?;
        }
        // Both are blocked; release both before either failure is seen,
        // so the second fails before its cancellation can reach it.
        let mut buf = [0u8; 8];
        for _ in 0..2 {
            ready.recv(&mut buf).await?;
        }
        let go = std::os::unix::net::UnixDatagram::unbound()?;
        for gate in &gates {
            go.send_to(b"go", gate)?;
        }
        // The failures end this body.
        std::future::pending::<Result<(), Error>>().await
    })
    .await;
    let e = r.expect_err("failures surface");
    let mut names: Vec<String> = e
        .leaves()
        .iter()
        .filter_map(|l| l.as_remote().map(|r| r.src_uid().name.clone()))
        .collect();
    names.sort();
    assert_eq!(names, ["f1", "f2"], "{e}");
    assert!(matches!(e, Error::Multi(_)), "{e}");
    assert!(
        e.to_string().starts_with("2 errors in actor nursery"),
        "{e}"
    );
    Ok(())
}

#[tractor::test(timeout = 30)]
async fn an_error_in_the_body_cancels_the_children() -> Result<(), Error> {
    let r: Result<(), Error> = tractor::open_nursery(|n| async move {
        n.start_actor("idle", &[]).await?;
        Err(Error::Config("the body gave up".into()))
    })
    .await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "runtime configuration: the body gave up"
    );
    Ok(())
}
